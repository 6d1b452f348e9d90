//! `canary_required` from the command line: files mode, event mode, git diff, the base
//! branch's policy and `collect-diff`. Every run has a cleared environment.

mod common;

use common::{gate, run};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/canary")
        .join(name)
}

/// The platform's two real PR bodies stay in `../shared/examples/pr-bodies` (they are not
/// ours to copy). The tests that read them are ignored by a plain `cargo test`, saying why, and
/// run by `.ci/run`; run, they fail when the folder is absent (they never pass unread).
fn shared_example(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/pr-bodies");
    assert!(
        dir.is_dir(),
        "{} is absent: put the shared material beside the clone",
        dir.display()
    );
    dir.join(name)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

fn json(out: &common::Run) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()))
}

/// Subjects of the error-level reasons with `code`.
fn subjects(doc: &Value, code: &str) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code"] == code)
        .map(|r| r["subject"].as_str().unwrap_or("").to_string())
        .collect()
}

fn error_codes(doc: &Value) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["severity"] == "error")
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

fn check(body: &Path, files: &str, labels: &str) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let list = write(dir.path(), "changed.txt", files);
    run(gate("canary_required")
        .current_dir(dir.path())
        .arg("--body")
        .arg(body)
        .arg("--changed-files")
        .arg(&list)
        .args(["--labels", labels, "--format", "json"]))
}

#[test]
#[ignore = "reads ../shared/examples/pr-bodies; run by .ci/run, or with -- --include-ignored"]
fn the_full_example_passes_as_full() {
    let body = shared_example("full-minio-init-one-shot.md");
    let out = check(
        &body,
        "compose/core/compose.yaml\n.forgejo/workflows/platformctl-auto-apply.yml\ncontrol-plane/platformctl/ci/auto_apply_scope.py\n",
        "tier/full,class/security-sensitive",
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["outcome"], "pass");
    assert_eq!(doc["facts"]["tier"], "full");
    assert!(error_codes(&doc).is_empty());
    assert!(subjects(&doc, "canary.pack.complete").len() == 1);
}

#[test]
#[ignore = "reads ../shared/examples/pr-bodies; run by .ci/run, or with -- --include-ignored"]
fn the_scraped_lite_example_names_exactly_the_three_empty_sections() {
    let body = shared_example("lite-backup-before-apply-as-scraped.md");
    let out = check(
        &body,
        "scripts/cutover/backup-before-apply.sh\nscripts/cutover/README.md\n",
        "tier/lite",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["outcome"], "fail");
    assert_eq!(
        subjects(&doc, "canary.section.empty"),
        vec![
            "Known constraints",
            "Explicit out-of-scope",
            "Merge blockers"
        ]
    );
    assert_eq!(error_codes(&doc).len(), 3, "{}", out.stdout);
    assert_eq!(
        doc["facts"]["missing_sections"],
        "Known constraints, Explicit out-of-scope, Merge blockers"
    );
}

#[test]
#[ignore = "reads ../shared/examples/pr-bodies; run by .ci/run, or with -- --include-ignored"]
fn the_lite_example_filled_in_passes_as_lite() {
    let scraped = shared_example("lite-backup-before-apply-as-scraped.md");
    // Fill the three sections the scrape lost, leaving everything else as it was.
    let mut filled = String::new();
    for line in std::fs::read_to_string(&scraped).unwrap().lines() {
        filled.push_str(line);
        filled.push('\n');
        if let Some(name) = line.strip_prefix("### ")
            && [
                "Known constraints",
                "Explicit out-of-scope",
                "Merge blockers",
            ]
            .contains(&name)
        {
            filled.push_str("\n- Filled in by the author after the scrape.\n");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let body = write(dir.path(), "filled.md", &filled);
    let out = check(
        &body,
        "scripts/cutover/backup-before-apply.sh\n",
        "tier/lite",
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(json(&out)["facts"]["tier"], "lite");
}

#[test]
fn bold_headings_in_any_order_and_case_pass() {
    let out = check(
        &fixture("bold-headings-any-order.md"),
        "compose/uptime-kuma/compose.yaml\n",
        "tier/lite",
    );
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn an_unfilled_template_reports_every_section_and_the_status() {
    let out = check(
        &fixture("template-unfilled.md"),
        "schema/module.schema.json\n",
        "tier/lite",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(
        subjects(&doc, "canary.section.empty").len(),
        8,
        "{}",
        out.stdout
    );
    assert_eq!(subjects(&doc, "canary.status.invalid").len(), 1);
}

#[test]
fn text_output_names_every_missing_section_with_its_code() {
    let dir = tempfile::tempdir().unwrap();
    let body = write(dir.path(), "b.md", "## What changed\nstuff\n");
    let list = write(dir.path(), "c.txt", "compose/x/compose.yaml\n");
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .arg("--body")
        .arg(&body)
        .arg("--changed-files")
        .arg(&list));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.starts_with("canary_required: FAIL"),
        "{}",
        out.stdout
    );
    // No tier label: the default tier (full) applies, so all ten sections but one are named.
    for name in [
        "Product story",
        "Why it changed",
        "Runtime evidence",
        "Known constraints",
        "Explicit out-of-scope",
        "Requested decision",
        "Merge blockers",
        "Files touched",
        "Relevant context",
    ] {
        assert!(
            out.stdout.contains(&format!(
                "error[canary.section.missing]: section \"{name}\""
            )),
            "{name}: {}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("error[canary.status.missing]"));
    assert!(!out.stdout.contains("section \"What changed\""));
}

#[test]
fn a_pr_touching_no_risky_path_passes_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let body = write(dir.path(), "b.md", "");
    let out = check(&body, "docs/readme.md\ntests/smoke.sh\n", "");
    assert_eq!(out.code, 0, "{}", out.all());
    let doc = json(&out);
    assert_eq!(subjects(&doc, "canary.not_required").len(), 1);
    assert_eq!(doc["facts"]["tier"], "none");
    assert_eq!(doc["checks_run"], 2);
}

#[test]
fn both_tier_labels_are_a_conflict() {
    let out = check(
        &fixture("full-pack.md"),
        "compose/core/compose.yaml\n",
        "tier/lite,tier/full",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert_eq!(error_codes(&json(&out)), vec!["canary.tier.conflict"]);
}

#[test]
fn a_forcing_path_overrides_the_lite_label() {
    let out = check(
        &fixture("lite-pack.md"),
        "control-plane/platformctl/ci/auto_apply_scope.py\n",
        "tier/lite",
    );
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["facts"]["tier"], "full");
    assert_eq!(
        subjects(&doc, "canary.section.missing"),
        vec!["Files touched", "Relevant context"]
    );
}

#[test]
fn the_security_label_forces_full() {
    let out = check(
        &fixture("lite-pack.md"),
        "scripts/cutover/x.sh\n",
        "tier/lite,class/security-sensitive",
    );
    assert_eq!(out.code, 1);
    assert_eq!(json(&out)["facts"]["tier"], "full");
}

#[test]
fn an_empty_changed_files_list_cannot_be_evaluated() {
    let out = check(&fixture("lite-pack.md"), "\n\n", "tier/lite");
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("input.changed_files_invalid"),
        "{}",
        out.all()
    );
}

#[test]
fn a_body_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!("Canary status: passed\n{}", "x".repeat(1024 * 1024));
    let body = write(dir.path(), "big.md", &big);
    let out = check(&body, "compose/a.yml\n", "tier/lite");
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(
        out.stdout.contains("canary.body.too_large"),
        "{}",
        out.all()
    );
}

#[test]
fn an_invalid_policy_cannot_be_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "p.yml", "canary:\n  risky_path: []\n");
    let body = write(dir.path(), "b.md", "x");
    let list = write(dir.path(), "c.txt", "compose/a\n");
    let out = run(gate("canary_required")
        .arg("--body")
        .arg(&body)
        .arg("--changed-files")
        .arg(&list)
        .arg("--policy")
        .arg(dir.path().join("p.yml")));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("p.yml:2:3"), "{}", out.stderr);
}

#[test]
fn without_a_body_or_files_it_is_a_usage_error() {
    let out = run(gate("canary_required").args(["--changed-files", "x"]));
    assert_eq!(out.code, 2);
    let out = run(gate("canary_required").args(["--body", "x"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no changed files"), "{}", out.stderr);
}

fn git(dir: &Path, args: &[&str]) {
    common::git(dir, args, "");
}

fn rev(dir: &Path, r: &str) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", r])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A repository whose base commit has a policy that makes `docs/**` risky, and whose head
/// commit relaxes it (an attack) and renames `compose/a.yml` to `other/a.yml`.
fn repo() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(
        d,
        ".forgejo/gates.yml",
        "version: 1\ncanary:\n  risky_paths: [\"docs/**\", \"compose/**\"]\n",
    );
    write(d, "compose/a.yml", "services: {}\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = rev(d, "HEAD");
    write(
        d,
        ".forgejo/gates.yml",
        "version: 1\ncanary:\n  risky_paths: [\"nothing/**\"]\n",
    );
    write(d, "docs/readme.md", "hi\n");
    std::fs::create_dir_all(d.join("other")).unwrap();
    git(d, &["mv", "compose/a.yml", "other/a.yml"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "head"]);
    let head = rev(d, "HEAD");
    (dir, base, head)
}

#[test]
fn git_diff_counts_both_paths_of_a_rename() {
    let (dir, base, head) = repo();
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .arg("collect-diff")
        .args([
            "--git-diff",
            &format!("{base}...{head}"),
            "--output",
            "list.txt",
        ]));
    assert_eq!(out.code, 0, "{}", out.all());
    let list = std::fs::read_to_string(dir.path().join("list.txt")).unwrap();
    let mut lines: Vec<&str> = list.split_terminator('\0').collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            ".forgejo/gates.yml",
            "compose/a.yml",
            "docs/readme.md",
            "other/a.yml"
        ]
    );
}

#[test]
fn the_event_payload_is_read_and_the_policy_comes_from_the_base_commit() {
    let (dir, base, head) = repo();
    let event = std::fs::read_to_string(fixture("event-pull-request.json"))
        .unwrap()
        .replace(&"2".repeat(40), &base)
        .replace(&"1".repeat(40), &head);
    let ev = write(dir.path(), "event.json", &event);
    let list = write(dir.path(), "list.txt", "docs/readme.md\n");
    // The head's own policy says docs/** is not risky; the base's says it is: the base wins.
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .env("GITHUB_EVENT_PATH", &ev)
        .arg("--from-event")
        .arg("--changed-files")
        .arg(&list)
        .args(["--format", "json"]));
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["facts"]["pr_number"], "42");
    assert_eq!(doc["facts"]["head_sha"], head.as_str());
    assert_eq!(doc["facts"]["tier"], "lite");
    let policy = doc["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "policy")
        .unwrap();
    assert_eq!(policy["source"], format!("{base}:.forgejo/gates.yml"));
    // Explicitly naming a ref works the same; naming the head shows the difference.
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .arg("--from-event")
        .arg(&ev)
        .arg("--changed-files")
        .arg(&list)
        .args(["--policy-from-ref", &head]));
    assert_eq!(out.code, 0, "{}", out.all());
}

#[test]
fn event_mode_without_the_base_commit_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let list = write(dir.path(), "list.txt", "docs/readme.md\n");
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .arg("--from-event")
        .arg(fixture("event-pull-request.json"))
        .arg("--changed-files")
        .arg(&list));
    assert_eq!(out.code, 2, "{}", out.all());
    assert!(out.stderr.contains("canary.git.failed"), "{}", out.stderr);
}

#[test]
fn a_non_pull_request_event_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ev = write(dir.path(), "e.json", r#"{"inputs": {"module": "x"}}"#);
    let out = run(gate("canary_required").arg("--from-event").arg(&ev).args([
        "--changed-files",
        "x",
        "--policy-from-ref",
        "HEAD",
    ]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("input.event_invalid"), "{}", out.stderr);
}

#[test]
fn collect_diff_hands_the_list_and_the_base_policy_to_the_canary_job() {
    let (dir, base, head) = repo();
    let event = std::fs::read_to_string(fixture("event-pull-request.json"))
        .unwrap()
        .replace(&"2".repeat(40), &base)
        .replace(&"1".repeat(40), &head);
    let ev = write(dir.path(), "event.json", &event);
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .env("GITHUB_EVENT_PATH", &ev)
        .args(["collect-diff", "--from-event", "--output", "changed.txt"])
        .args([
            "--policy-from-ref",
            &base,
            "--policy-output",
            "base-policy.yml",
        ]));
    assert_eq!(out.code, 0, "{}", out.all());
    // The canary job: the list and the base policy are files; the checkout (--repo-dir) is
    // where the list is cross-checked against the base and head trees.
    let job = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("changed.txt"),
        job.path().join("changed.txt"),
    )
    .unwrap();
    std::fs::copy(dir.path().join("base-policy.yml"), job.path().join("p.yml")).unwrap();
    let out = run(gate("canary_required")
        .current_dir(job.path())
        .arg("--from-event")
        .arg(&ev)
        .args(["--changed-files", "changed.txt", "--policy", "p.yml"])
        .arg("--repo-dir")
        .arg(dir.path()));
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stdout.contains("docs/readme.md (docs/**)"),
        "{}",
        out.stdout
    );
}

/// `--changed-files` with raw bytes, an empty body and no labels: does the gate see the
/// risky path?
fn check_list(list: &[u8]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changed.txt");
    std::fs::write(&file, list).unwrap();
    let body = write(dir.path(), "body.md", "");
    run(gate("canary_required")
        .current_dir(dir.path())
        .arg("--body")
        .arg(&body)
        .arg("--changed-files")
        .arg(&file)
        .args(["--format", "json"]))
}

/// What `git diff --name-only` prints for a path with non-ASCII bytes (core.quotePath):
/// decoded, it is `compose/ümlaut.yaml`, a risky path. Read as text, it would match nothing.
#[test]
fn a_path_quoted_by_git_is_decoded_before_matching() {
    let out = check_list(b"\"compose/\\303\\274mlaut \\\"q\\\".yaml\"\n");
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["facts"]["risky_files"], "1", "{doc:#}");
    assert!(
        out.stdout.contains("compose/ümlaut \\\"q\\\".yaml"),
        "{}",
        out.stdout
    );
    // Quoting git never writes is refused, never taken as a path.
    for bad in [&b"\"compose/a.yaml\n"[..], b"\"compose/\\x41.yaml\"\n"] {
        let out = check_list(bad);
        assert_eq!(out.code, 2, "{bad:?}: {}", out.all());
        assert!(
            out.stdout.contains("input.changed_files_invalid"),
            "{}",
            out.all()
        );
    }
}

/// `git diff -z --name-only` output (NUL-terminated) is read as such.
#[test]
fn a_nul_separated_list_is_read() {
    let out = check_list(b"docs/a.md\0compose/x y.yaml\0");
    assert_eq!(out.code, 1, "{}", out.all());
    let doc = json(&out);
    assert_eq!(doc["facts"]["changed_files"], "2", "{doc:#}");
    assert_eq!(doc["facts"]["risky_files"], "1", "{doc:#}");
}

/// collect-diff writes the NUL-terminated list, as `git diff -z` does.
#[test]
fn collect_diff_writes_a_nul_terminated_list() {
    let (dir, base, head) = repo();
    let out = run(gate("canary_required")
        .current_dir(dir.path())
        .arg("collect-diff")
        .args([
            "--git-diff",
            &format!("{base}...{head}"),
            "--output",
            "list",
        ]));
    assert_eq!(out.code, 0, "{}", out.all());
    let list = std::fs::read(dir.path().join("list")).unwrap();
    assert!(list.ends_with(b"\0"), "{list:?}");
    assert!(!list.contains(&b'\n'), "{list:?}");
}

/// Files mode under a pull-request event: the working tree is the branch under review, so
/// its `.forgejo/gates.yml` is not read unless the caller names the base.
#[test]
fn files_mode_under_a_pull_request_event_needs_the_base_policy() {
    let (dir, base, _head) = repo();
    let list = write(dir.path(), "list.txt", "docs/readme.md\n");
    let body = write(dir.path(), "body.md", "");
    let files_mode = |extra: &[&str], event: Option<(&str, &str)>| {
        let mut cmd = gate("canary_required");
        cmd.current_dir(dir.path())
            .arg("--body")
            .arg(&body)
            .arg("--changed-files")
            .arg(&list)
            .args(extra);
        if let Some((k, v)) = event {
            cmd.env(k, v);
        }
        run(&mut cmd)
    };
    for event in [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("FORGEJO_EVENT_NAME", "pull_request_target"),
    ] {
        // The head's policy says docs/** is not risky: without the guard this passes.
        let out = files_mode(&[], Some(event));
        assert_eq!(out.code, 2, "{event:?}: {}", out.all());
        assert!(out.stderr.contains("--base-ref"), "{}", out.stderr);
        // Naming the base: its policy makes docs/** risky, and the empty body fails.
        let out = files_mode(&["--base-ref", &base], Some(event));
        assert_eq!(out.code, 1, "{event:?}: {}", out.all());
        let p = write(
            dir.path(),
            "base.yml",
            "version: 1\ncanary:\n  risky_paths: [\"docs/**\"]\n",
        );
        let out = files_mode(&["--policy", p.to_str().unwrap()], Some(event));
        assert_eq!(out.code, 1, "{event:?}: {}", out.all());
    }
    // Outside a pull-request event (a local run, a push), the working tree is the base.
    let out = files_mode(&[], Some(("GITHUB_EVENT_NAME", "push")));
    assert_eq!(out.code, 0, "{}", out.all());
}
