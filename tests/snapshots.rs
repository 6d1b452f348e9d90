//! Snapshot tests: what users read, pinned byte for byte. Each snapshot holds the command that
//! was run, its exit code, and what it printed: the JSON decision document of every gate binary
//! on the example platform (`fixtures/`) and the test fixtures, the linter's text, JSON, SARIF
//! and `github` outputs, and the pull-request comment `canary_required --comment` posts.
//!
//! Machine-specific text is replaced before the comparison, and only that: the temporary
//! directory (`[tmp]`), this checkout (`[repo]`), the commit the binaries were built from
//! (`[version]`) and the mock server's address (`[server]`). Every command is given `--now`,
//! and a document that could not be evaluated carries that instant too.
//!
//! A changed or missing snapshot fails the test; CI runs with `INSTA_UPDATE=no`, so nothing is
//! written there. To accept a change on purpose: `INSTA_UPDATE=always cargo test --test
//! snapshots` (or `cargo insta review`), then read every changed `.snap` before committing it.

mod common;
#[path = "canary_mock.rs"]
mod mock;

use common::platform::{CONFIRM, NOW, Platform, fixtures};
use common::{gate, run};
use mock::{Mock, Request, Response, files_page, pull};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command line as a user would type it (binary name, then the arguments).
fn command_line(cmd: &Command) -> String {
    let bin = Path::new(cmd.get_program())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut line = format!("$ {bin}");
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&a.to_string_lossy());
    }
    line
}

/// Replace what differs between machines and runs; everything else stays as printed.
fn redact(text: &str, replace: &[(&str, &str)]) -> String {
    let mut out = text.replace(forgejo_gates::version::LONG, "[version]");
    for (from, to) in replace {
        if !from.is_empty() {
            out = out.replace(from, to);
        }
    }
    out = out.replace(&repo().display().to_string(), "[repo]");
    // Who owns the backup depends on who runs the tests (root in CI, a user elsewhere).
    out = out.replace(
        &format!(", uid {}, ", test_uid()),
        ", uid [the test user], ",
    );
    let mut lines: Vec<String> = Vec::new();
    // A test policy written in the temporary directory names it, so its digest changes from
    // run to run: the two lines after its `source` are replaced.
    let mut after_tmp_policy = 0;
    for line in out.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        if trimmed.starts_with("\"source\": \"[tmp]/policy.yml\"") {
            after_tmp_policy = 2;
            lines.push(line.to_string());
            continue;
        }
        if after_tmp_policy > 0 {
            after_tmp_policy -= 1;
            if trimmed.starts_with("\"sha256\": ") {
                lines.push(format!("{indent}\"sha256\": \"[the test policy's]\","));
                continue;
            }
            if trimmed.starts_with("\"bytes\": ") {
                lines.push(format!("{indent}\"bytes\": \"[the test policy's]\""));
                continue;
            }
        }
        lines.push(line.to_string());
    }
    let mut joined = lines.join("\n");
    if out.ends_with('\n') {
        joined.push('\n');
    }
    joined
}

/// The uid that owns files the tests write.
fn test_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::metadata(dir.path()).unwrap().uid()
}

/// Run `cmd` and compare `$ command`, the exit code, stdout and stderr with the snapshot `name`.
fn check(name: &str, cmd: &mut Command, replace: &[(&str, &str)]) {
    let line = command_line(cmd);
    let out = run(cmd);
    let text = format!(
        "{line}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    );
    let text = redact(&text, replace);
    assert!(
        !text.contains("/tmp/") && !text.contains(&repo().display().to_string()),
        "a machine path is left in the snapshot {name}:\n{text}"
    );
    insta::assert_snapshot!(name, text);
}

/// A gate on the example platform: modules, the test policy, `--now` fixed, run in the
/// platform's temporary directory.
fn platform_gate(p: &Platform, bin: &str) -> Command {
    let mut cmd = gate(bin);
    cmd.arg("--modules-dir")
        .arg(&p.modules)
        .arg("--policy")
        .arg(&p.policy)
        .arg("--now")
        .arg(NOW)
        .args(["--format", "json"])
        .current_dir(p.tmp.path());
    cmd
}

fn tmp_of(p: &Platform) -> String {
    p.tmp.path().display().to_string()
}

#[test]
fn auto_apply_scope_dispatch_decisions() {
    let p = Platform::new();
    let backup = p.real_backup();
    let tmp = tmp_of(&p);
    let r = [(tmp.as_str(), "[tmp]")];
    check(
        "scope_dispatch_real_minio_init",
        platform_gate(&p, "auto_apply_scope")
            .args(["--module", "minio-init", "--allow-stateful", "--backup-ref"])
            .arg(&backup)
            .args(["--stateful-confirm", CONFIRM]),
        &r,
    );
    for module in ["web-app", "traefik", "vault", "legacy-cache", "postgres"] {
        check(
            &format!("scope_dispatch_module_{module}"),
            platform_gate(&p, "auto_apply_scope").args(["--module", module]),
            &r,
        );
    }
    check(
        "scope_dispatch_wrong_confirm",
        platform_gate(&p, "auto_apply_scope")
            .args(["--module", "minio-init", "--allow-stateful", "--backup-ref"])
            .arg(&backup)
            .args(["--stateful-confirm", "yes"]),
        &r,
    );
    check(
        "scope_dispatch_module_invalid",
        platform_gate(&p, "auto_apply_scope").args(["--module", "../etc"]),
        &r,
    );
    for event in [
        "dispatch-minio-init",
        "dispatch-traefik",
        "dispatch-web-app",
    ] {
        check(
            &format!("scope_event_{event}"),
            platform_gate(&p, "auto_apply_scope")
                .arg("--from-event")
                .arg(fixtures().join("events").join(format!("{event}.json"))),
            &r,
        );
    }
}

#[test]
fn auto_apply_scope_pull_request_decisions() {
    for list in ["pr-mixed", "pr-web-app"] {
        let mut cmd = gate("auto_apply_scope");
        cmd.current_dir(fixtures())
            .arg("--changed-files")
            .arg(format!("changed-files/{list}.txt"))
            .args(["--now", NOW, "--format", "json"]);
        check(&format!("scope_pr_{list}"), &mut cmd, &[]);
    }
}

#[test]
fn allow_one_shot_stateful_apply_decisions() {
    let p = Platform::new();
    let backup = p.real_backup();
    let tmp = tmp_of(&p);
    for plan in [
        "minio-init-exited",
        "minio-init-extra-drift",
        "minio-init-foreign-service",
        "minio-init-noop",
        "postgres-drift",
        "postgres-noop",
        "web-app-drift",
    ] {
        check(
            &format!("one_shot_plan_{plan}"),
            platform_gate(&p, "allow_one_shot_stateful_apply")
                .arg("--plan")
                .arg(Platform::plan(&format!("{plan}.json")))
                .args(["--module", "minio-init", "--allow-stateful", "--backup-ref"])
                .arg(&backup)
                .args(["--stateful-confirm", CONFIRM]),
            &[(tmp.as_str(), "[tmp]")],
        );
    }
}

/// `canary_required` in files mode on each body of `tests/fixtures/canary`.
#[test]
fn canary_required_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().display().to_string();
    let risky = dir.path().join("changed-risky.txt");
    std::fs::write(
        &risky,
        "compose/core/compose.yaml\n.forgejo/workflows/platformctl-auto-apply.yml\n",
    )
    .unwrap();
    let lite = dir.path().join("changed-lite.txt");
    std::fs::write(&lite, "compose/core/compose.yaml\n").unwrap();
    let calm = dir.path().join("changed-calm.txt");
    std::fs::write(&calm, "docs/README.md\n").unwrap();
    let cases: [(&str, &str, &Path, &str); 8] = [
        ("full_pack", "full-pack.md", &risky, "tier/full"),
        (
            "full_pack_with_evidence",
            "full-pack-with-evidence.md",
            &risky,
            "tier/full",
        ),
        ("lite_pack", "lite-pack.md", &lite, "tier/lite"),
        ("lite_pack_as_full", "lite-pack.md", &risky, "tier/full"),
        (
            "bold_headings",
            "bold-headings-any-order.md",
            &lite,
            "tier/lite",
        ),
        (
            "template_unfilled",
            "template-unfilled.md",
            &risky,
            "tier/full",
        ),
        (
            "template_unfilled_lite",
            "template-unfilled.md",
            &lite,
            "tier/lite",
        ),
        ("no_risky_path", "template-unfilled.md", &calm, ""),
    ];
    for (name, body, files, labels) in cases {
        let mut cmd = gate("canary_required");
        cmd.arg("--body")
            .arg(Path::new("tests/fixtures/canary").join(body))
            .arg("--changed-files")
            .arg(files)
            .args(["--labels", labels, "--now", NOW, "--format", "json"])
            .current_dir(repo());
        check(
            &format!("canary_{name}"),
            &mut cmd,
            &[(tmp.as_str(), "[tmp]")],
        );
    }
    // The text a user reads in the job log, for a failing pack.
    let mut cmd = gate("canary_required");
    cmd.arg("--body")
        .arg("tests/fixtures/canary/template-unfilled.md")
        .arg("--changed-files")
        .arg(&risky)
        .args(["--labels", "tier/full", "--now", NOW])
        .current_dir(repo());
    check(
        "canary_template_unfilled_text",
        &mut cmd,
        &[(tmp.as_str(), "[tmp]")],
    );
}

/// The comment `--comment` posts, and the decision beside it, against a mock Forgejo.
#[test]
fn canary_required_comments() {
    let posted: Arc<Mutex<Vec<String>>> = Arc::default();
    let body: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let (store, current) = (posted.clone(), body.clone());
    let pr = "/api/v1/repos/o/r/pulls/7";
    let m = Mock::start(
        move |req: &Request| match (req.method.as_str(), req.path()) {
            ("GET", "/api/v1/user") => Response::json(200, r#"{"id": 5, "login": "bot"}"#),
            ("GET", p) if p == pr => {
                Response::json(200, pull(7, &current.lock().unwrap(), &["tier/lite"]))
            }
            ("GET", p) if p == format!("{pr}/files") => {
                Response::json(200, files_page(&["compose/core/compose.yaml".to_string()]))
                    .with_header("X-Total-Count", "1")
            }
            ("GET", "/api/v1/repos/o/r/issues/7/comments") => Response::json(200, "[]"),
            ("POST", "/api/v1/repos/o/r/issues/7/comments") => {
                let doc: serde_json::Value = serde_json::from_str(&req.body).unwrap();
                store
                    .lock()
                    .unwrap()
                    .push(doc["body"].as_str().unwrap().to_string());
                Response::json(201, r#"{"id": 100}"#)
            }
            _ => Response::json(404, r#"{"message": "not found"}"#),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yml");
    std::fs::write(&policy, "version: 1\n").unwrap();
    let tmp = dir.path().display().to_string();
    let cases = [
        (
            "failing",
            "## What changed\nThe compose file.\n".to_string(),
        ),
        (
            "could_not_evaluate",
            format!("Canary status: passed\n\n{}", "word ".repeat(220_000)),
        ),
    ];
    for (name, text) in cases {
        *body.lock().unwrap() = text;
        posted.lock().unwrap().clear();
        let mut cmd = gate("canary_required");
        cmd.current_dir(dir.path())
            .env("GITHUB_API_URL", m.api())
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_TOKEN", "test-token-not-a-secret")
            .args(["--forgejo", "--pr", "7", "--comment", "--now", NOW])
            .args(["--format", "json", "--api-retries", "0"])
            .args([
                "--target-url",
                "https://forgejo.example/o/r/actions/runs/31",
            ])
            .arg("--policy")
            .arg(&policy);
        let r = [(tmp.as_str(), "[tmp]"), (m.addr.as_str(), "[server]")];
        check(&format!("canary_comment_{name}_decision"), &mut cmd, &r);
        let comments = posted.lock().unwrap().clone();
        assert_eq!(comments.len(), 1, "one comment posted: {comments:?}");
        insta::assert_snapshot!(format!("canary_comment_{name}"), redact(&comments[0], &r));
    }
}

#[test]
fn backup_before_apply_refusals() {
    let p = Platform::new();
    let tmp = tmp_of(&p);
    for module in ["web-app", "minio"] {
        let mut cmd = gate("backup_before_apply");
        cmd.args(["--module", module])
            .arg("--modules-dir")
            .arg(&p.modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--now", NOW, "--format", "json"])
            .current_dir(p.tmp.path());
        check(
            &format!("backup_before_apply_{module}"),
            &mut cmd,
            &[(tmp.as_str(), "[tmp]")],
        );
    }
}

#[test]
fn restore_drill_refusals() {
    let p = Platform::new();
    let tmp = tmp_of(&p);
    let backup = p.backup(
        "postgres-20260517T010847Z.sql.gz",
        &common::backup::pg_dumpall_sql_gz(),
        0o600,
    );
    for (name, module) in [("without_manifest", "postgres"), ("other_module", "redis")] {
        let mut cmd = gate("restore_drill");
        cmd.arg("--backup-ref")
            .arg(&backup)
            .args(["--module", module])
            .arg("--modules-dir")
            .arg(&p.modules)
            .arg("--policy")
            .arg(&p.policy)
            .args(["--now", NOW, "--format", "json"])
            .current_dir(p.tmp.path());
        check(
            &format!("restore_drill_{name}"),
            &mut cmd,
            &[(tmp.as_str(), "[tmp]")],
        );
    }
}

/// The linter's four formats on a few fixtures, run from the checkout with relative paths.
#[test]
fn lint_workflows_outputs() {
    let cases = [
        (
            "unpinned",
            "tests/fixtures/lint/unpinned_action/fail-tags.yml",
        ),
        (
            "injection",
            "tests/fixtures/lint/template_injection/fail-untrusted-in-run.yml",
        ),
        (
            "bypasses",
            "tests/fixtures/lint/gate_wiring/fail-bypasses.yml",
        ),
        (
            "invalid",
            "tests/fixtures/lint/invalid_file/fail-syntax.yml",
        ),
        ("pass", "tests/fixtures/lint/unpinned_action/pass-shas.yml"),
        ("schema_dir", "tests/fixtures/lint/schema"),
    ];
    for (name, path) in cases {
        for format in ["text", "json", "sarif", "github"] {
            let mut cmd = gate("lint_workflows");
            cmd.args(["--now", NOW, "--format", format, path])
                .current_dir(repo());
            check(&format!("lint_{name}_{format}"), &mut cmd, &[]);
        }
    }
}
