//! Every input has a limit, and an input over it is exit 2 with its own code, in bounded time
//! and memory: a YAML alias bomb, JSON nested 10,000 deep, a 2 GiB plan on a pipe, an endless
//! event payload. Only exit codes and codes are asserted here, never timings (the figures are
//! in docs/fuzzing.md).

mod common;

use common::platform::{NOW, Platform};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

const BOMB: &str = "a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
";

fn modules_with(p: &Platform, id: &str, manifest: &str) -> std::path::PathBuf {
    let dir = p.tmp.path().join("modules");
    std::fs::create_dir_all(dir.join(id)).unwrap();
    std::fs::write(dir.join(id).join("module.yaml"), manifest).unwrap();
    dir
}

fn scope_in(p: &Platform, modules: &Path, args: &[&str]) -> common::Run {
    common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--now", NOW, "--format", "json"])
            .args(args),
    )
}

fn assert_code(out: &common::Run, code: &str) {
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains(&format!("\"code\": \"{code}\"")),
        "expected {code}: {}",
        out.all()
    );
}

#[test]
fn a_yaml_alias_bomb_manifest_is_too_complex() {
    let p = Platform::new();
    let manifest = format!("metadata:\n  name: bomb\nspec:\n  x:\n{}", indent(BOMB));
    let modules = modules_with(&p, "bomb", &manifest);
    let out = scope_in(&p, &modules, &["--module", "bomb"]);
    assert_code(&out, "input.too_complex");
    assert!(out.stdout.contains("alias"), "{}", out.stdout);
}

#[test]
fn a_yaml_manifest_nested_past_the_depth_limit_is_too_complex() {
    let p = Platform::new();
    let manifest = format!(
        "metadata:\n  name: deep\nspec: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let modules = modules_with(&p, "deep", &manifest);
    assert_code(
        &scope_in(&p, &modules, &["--module", "deep"]),
        "input.too_complex",
    );
}

#[test]
fn a_yaml_alias_bomb_policy_is_too_complex() {
    let p = Platform::new();
    let policy = p.file("bomb.yml", BOMB.as_bytes());
    let out = common::run(
        common::gate("auto_apply_scope")
            .arg("--modules-dir")
            .arg(&p.modules)
            .arg("--policy")
            .arg(&policy)
            .args(["--module", "web-app", "--format", "json"]),
    );
    assert_code(&out, "input.too_complex");
    assert!(out.stdout.contains("alias"), "{}", out.stdout);
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn deep_json() -> String {
    format!("{}{}", "[".repeat(10_000), "]".repeat(10_000))
}

#[test]
fn a_plan_nested_10000_deep_is_too_complex() {
    let p = Platform::new();
    let plan = p.file("deep.json", deep_json().as_bytes());
    let backup = p.real_backup();
    let args = Platform::dispatch_args(&backup);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend(["--format", "json"]);
    assert_code(&p.one_shot(&plan, &args), "input.too_complex");
    // The same depth inside an object that is otherwise a plan.
    let nested = format!(
        r#"{{"schema":"platformctl.plan/v1","module":"minio-init","noop":false,"drift":{}}}"#,
        deep_json()
    );
    let plan = p.file("deep2.json", nested.as_bytes());
    assert_code(&p.one_shot(&plan, &args), "input.too_complex");
}

#[test]
fn an_event_payload_nested_10000_deep_is_too_complex() {
    let p = Platform::new();
    let event = p.file(
        "event.json",
        format!("{{\"inputs\":{}}}", deep_json()).as_bytes(),
    );
    let out = p.scope(&["--from-event", event.to_str().unwrap(), "--format", "json"]);
    assert_code(&out, "input.too_complex");
}

#[test]
fn a_2_gib_plan_on_a_pipe_is_too_large_without_reading_it_all() {
    let p = Platform::new();
    let backup = p.real_backup();
    let mut cmd = common::gate("allow_one_shot_stateful_apply");
    cmd.arg("--modules-dir")
        .arg(&p.modules)
        .arg("--policy")
        .arg(&p.policy)
        .args(["--now", NOW, "--plan", "-", "--format", "json"])
        .args(Platform::dispatch_args(&backup))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b' '; 1 << 20];
        let mut written: u64 = 0;
        while written < 2 << 30 {
            // The gate stops reading at its limit and exits: the pipe breaks, writing stops.
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len() as u64;
        }
        written
    });
    let output = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    let out = common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_code(&out, "input.too_large");
    assert!(
        written < 2 << 30,
        "the gate read the whole 2 GiB ({written} bytes)"
    );
}

#[test]
fn an_endless_event_payload_is_too_large() {
    let p = Platform::new();
    let out = p.scope(&["--from-event", "/dev/zero", "--format", "json"]);
    assert_code(&out, "input.too_large");
}

#[test]
fn oversized_manifest_policy_changed_files_and_plan_are_too_large() {
    let p = Platform::new();
    let big = format!("metadata:\n  name: big\n# {}\n", "x".repeat(300 * 1024));
    let modules = modules_with(&p, "big", &big);
    assert_code(
        &scope_in(&p, &modules, &["--module", "big"]),
        "input.too_large",
    );

    let policy = p.file(
        "big-policy.yml",
        format!("# {}\n", "x".repeat(2 << 20)).as_bytes(),
    );
    let out = common::run(
        common::gate("auto_apply_scope")
            .arg("--policy")
            .arg(&policy)
            .args(["--module", "web-app", "--format", "json"]),
    );
    assert_code(&out, "input.too_large");

    let files = p.file(
        "changed.txt",
        "modules/web-app/x\n".repeat(600_000).as_bytes(),
    );
    let out = p.scope(&[
        "--changed-files",
        files.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_code(&out, "input.too_large");

    let plan = p.file(
        "big-plan.json",
        format!("{{\"pad\":\"{}\"}}", "x".repeat(2 << 20)).as_bytes(),
    );
    let backup = p.real_backup();
    let mut args = Platform::dispatch_args(&backup);
    args.extend(["--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_code(&p.one_shot(&plan, &args), "input.too_large");
}
