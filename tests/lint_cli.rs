//! `lint_workflows` as a process: discovery, exit codes, formats, policy, bad input.
mod common;
use common::{gate, run, run_in};
use std::fs;
use std::time::{Duration, Instant};

const GOOD: &str = "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - run: make\n";
const BAD: &str = "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - id: x\n        run: make\n      - run: echo ${{ steps.x.y }}\n";

fn repo(folders: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (folder, name, text) in folders {
        let d = dir.path().join(folder);
        fs::create_dir_all(&d).expect("mkdir");
        fs::write(d.join(name), text).expect("write");
    }
    dir
}

#[test]
fn discovery_uses_the_first_existing_folder_and_says_so() {
    let dir = repo(&[
        (".gitea/workflows", "ok.yml", GOOD),
        (".github/workflows", "bad.yml", BAD),
    ]);
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains(".gitea/workflows"), "{}", r.stdout);
    let dir = repo(&[
        (".forgejo/workflows", "bad.yml", BAD),
        (".gitea/workflows", "ok.yml", GOOD),
    ]);
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains(".forgejo/workflows"), "{}", r.stdout);
}

#[test]
fn discovery_lists_the_folder_recursively_like_forgejo() {
    // Forgejo lists its workflow folder recursively and keeps names ending in `.yml` or
    // `.yaml` (case-sensitive): a workflow in a subfolder runs, so it is linted.
    let dir = repo(&[
        (".forgejo/workflows", "ok.yml", GOOD),
        (".forgejo/workflows/deploy/prod", "bad.yaml", BAD),
        (".forgejo/workflows/notes", "bad.YML", BAD),
        (".forgejo/workflows/notes", "bad.yml.txt", BAD),
    ]);
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("deploy/prod/bad.yaml:8"), "{}", r.stdout);
    assert!(!r.stdout.contains("bad.YML"), "{}", r.stdout);
    assert!(r.stdout.contains("2 file(s)"), "{}", r.stdout);
    // A folder argument is listed the same way.
    let r = run(gate("lint_workflows").arg(dir.path().join(".forgejo/workflows")));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("deploy/prod/bad.yaml:8"), "{}", r.stdout);
}

#[test]
fn discovery_skips_nested_repositories_as_git_does() {
    let dir = repo(&[
        (".forgejo/workflows", "ok.yml", GOOD),
        (".forgejo/workflows/vendored", "bad.yml", BAD),
    ]);
    fs::create_dir_all(dir.path().join(".forgejo/workflows/vendored/.git")).expect("mkdir");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn a_workflow_folder_with_no_workflow_still_shadows_the_later_ones() {
    // "We have found a valid source that we will use, no matter whether it contains
    // workflows or not": Forgejo runs nothing from .github/workflows here.
    let dir = repo(&[
        (".forgejo/workflows", "README.md", "notes"),
        (".github/workflows", "ok.yml", GOOD),
    ]);
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(
        r.stderr.contains(".forgejo/workflows holds no .yml"),
        "{}",
        r.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_symlinked_workflow_is_what_git_stores_not_its_target() {
    let dir = repo(&[
        (".forgejo/workflows", "ok.yml", GOOD),
        ("elsewhere", "real.yml", GOOD),
    ]);
    std::os::unix::fs::symlink(
        "../../elsewhere/real.yml",
        dir.path().join(".forgejo/workflows/linked.yml"),
    )
    .expect("symlink");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("linked.yml:1"), "{}", r.stdout);
    assert!(r.stdout.contains("symbolic link"), "{}", r.stdout);
    // A workflow folder reached through a symbolic link is refused, not guessed at.
    let dir = repo(&[("real", "ok.yml", GOOD)]);
    fs::create_dir_all(dir.path().join(".forgejo")).expect("mkdir");
    std::os::unix::fs::symlink("../real", dir.path().join(".forgejo/workflows")).expect("symlink");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

#[test]
fn no_folder_or_no_files_is_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("no workflow folder"), "{}", r.stderr);
    // Git records no empty folder, so for Forgejo an empty one does not exist.
    fs::create_dir_all(dir.path().join(".forgejo/workflows/empty")).expect("mkdir");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("no workflow folder"), "{}", r.stderr);
    fs::write(dir.path().join(".forgejo/workflows/README.md"), "x").expect("write");
    let r = run_in(dir.path(), &mut gate("lint_workflows"));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("nothing was linted"), "{}", r.stderr);
    let r = run(gate("lint_workflows").arg(dir.path().join("missing.yml")));
    assert_eq!(r.code, 2, "{}", r.all());
}

#[test]
fn every_format_gives_the_same_exit_code() {
    let dir = repo(&[("w", "bad.yml", BAD)]);
    let file = dir.path().join("w/bad.yml");
    for format in ["text", "json", "sarif", "github"] {
        let r = run(gate("lint_workflows")
            .arg("--format")
            .arg(format)
            .arg(&file));
        assert_eq!(r.code, 1, "{format}: {}", r.all());
        assert!(
            r.stdout.contains("lint.references"),
            "{format}: {}",
            r.stdout
        );
    }
    let r = run(gate("lint_workflows")
        .args(["--format", "sarif"])
        .arg(&file));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("sarif is json");
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        8
    );
    let r = run(gate("lint_workflows").args(["--format", "json"]).arg(&file));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["outcome"], "fail");
    assert_eq!(v["reasons"][0]["location"]["line"], 8);
}

#[test]
fn text_output_shows_the_source_line_with_a_caret() {
    let dir = repo(&[("w", "bad.yml", BAD)]);
    let r = run(gate("lint_workflows").arg(dir.path().join("w/bad.yml")));
    // The verdict comes last: the findings stream out as files finish.
    assert!(
        r.stdout
            .trim_end()
            .lines()
            .last()
            .unwrap_or("")
            .starts_with("lint_workflows: FAIL"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("8 |       - run: echo ${{ steps.x.y }}"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("                      ^^^^^^^^^"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("bad.yml:8:23"), "{}", r.stdout);
}

#[test]
fn policy_levels_labels_and_invalid_policy() {
    let dir = repo(&[("w", "a.yml", GOOD)]);
    let file = dir.path().join("w/a.yml");
    let policy = dir.path().join("p.yml");
    fs::write(&policy, "lint:\n  runner_labels: [lxc-bookworm]\n").expect("write");
    let r = run(gate("lint_workflows")
        .arg("--policy")
        .arg(&policy)
        .arg(&file));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("lint.runner_label"), "{}", r.stdout);
    fs::write(
        &policy,
        "lint:\n  runner_labels: [lxc-bookworm]\n  rules:\n    lint.runner_label: warning\n",
    )
    .expect("write");
    let r = run(gate("lint_workflows")
        .arg("--policy")
        .arg(&policy)
        .arg(&file));
    assert_eq!(r.code, 0, "{}", r.all());
    fs::write(&policy, "lint:\n  runer_labels: [x]\n").expect("write");
    let r = run(gate("lint_workflows")
        .arg("--policy")
        .arg(&policy)
        .arg(&file));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.stderr.contains("p.yml:2:3"), "{}", r.stderr);
}

/// Each bad input is a finding (exit 1) with a clear message, quickly, and never a panic.
#[test]
fn bad_inputs_are_findings_not_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| dir.path().join(n);
    fs::write(p("binary.yml"), [0x7fu8, b'E', b'L', b'F', 0, 1, 2]).expect("write");
    fs::write(p("latin1.yml"), b"on: push\nname: caf\xe9\n").expect("write");
    fs::write(p("empty.yml"), b"").expect("write");
    fs::write(p("list.yml"), b"- a\n- b\n").expect("write");
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let q = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{q}, *a{q}, *a{q}, *a{q}, *a{q}, *a{q}, *a{q}, *a{q}, *a{q}, *a{q}]\n"
        ));
    }
    fs::write(p("bomb.yml"), bomb).expect("write");
    fs::write(
        p("deep.yml"),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
    )
    .expect("write");
    let block: String = (0..1_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    fs::write(p("deep-block.yml"), block).expect("write");
    let big = fs::File::create(p("big.yml")).expect("create");
    big.set_len(50 * 1024 * 1024).expect("sparse 50 MB file");
    let cases = [
        ("binary.yml", "binary"),
        ("latin1.yml", "not UTF-8"),
        ("empty.yml", "empty"),
        ("list.yml", "must be a mapping"),
        ("bomb.yml", "too many nodes"),
        ("deep.yml", "nested too deeply"),
        ("deep-block.yml", "nested too deeply"),
        ("big.yml", "larger than the limit"),
    ];
    for (name, expect) in cases {
        let start = Instant::now();
        let r = run(gate("lint_workflows").arg(p(name)));
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name} took {:?}",
            start.elapsed()
        );
        assert_eq!(r.code, 1, "{name}: {}", r.all());
        assert!(r.stdout.contains(expect), "{name}: {}", r.stdout);
        assert!(!r.all().contains("panicked"), "{name}: {}", r.all());
    }
}

#[test]
fn json_in_a_quoted_heredoc_is_info_and_passes_an_unquoted_one_fails() {
    let quoted = "on: pull_request\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - run: |\n          cat <<'EOF'\n          ${{ toJSON(github.event) }}\n          EOF\n";
    let dir = repo(&[("w", "quoted.yml", quoted)]);
    let r = run(gate("lint_workflows").arg(dir.path().join("w/quoted.yml")));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("info[lint.template_injection]") && r.stdout.contains("quoted.yml:8"),
        "{}",
        r.stdout
    );
    let unquoted = quoted.replace("<<'EOF'", "<<EOF");
    let dir = repo(&[("w", "unquoted.yml", &unquoted)]);
    let r = run(gate("lint_workflows").arg(dir.path().join("w/unquoted.yml")));
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("error[lint.template_injection]") && r.stdout.contains("unquoted.yml:8"),
        "{}",
        r.stdout
    );
}
