//! Tests added for mutants that survived in the canary gate (docs/mutation-testing.md): each
//! names what the surviving mutant got away with.

mod common;

use common::{gate, git, run};
use forgejo_gates::policy::canary::{CanaryPolicy, Tier};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn full_pack() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/canary/full-pack.md"),
    )
    .expect("fixture")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// `canary_required` in files mode with an explicit policy, JSON out.
fn check(dir: &Path, body: &str, files: &[&str], labels: &str, policy: &str) -> (i32, Value) {
    let body = write(dir, "body.md", body);
    let list = write(dir, "changed.txt", &(files.join("\n") + "\n"));
    let policy = write(dir, "gates.yml", policy);
    let out = run(gate("canary_required")
        .current_dir(dir)
        .arg("--body")
        .arg(&body)
        .arg("--changed-files")
        .arg(&list)
        .arg("--policy")
        .arg(&policy)
        .args(["--labels", labels, "--format", "json"]));
    let doc = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.all()));
    (out.code, doc)
}

fn messages(doc: &Value, code: &str) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter(|r| r["code"] == code)
        .map(|r| r["message"].as_str().unwrap_or("").to_string())
        .collect()
}

/// `evaluate`: `checks_run` counts each changed file, the tier, the status line and each
/// required section (docs/canary.md), so a report says how much was looked at.
#[test]
fn checks_run_counts_files_tier_status_and_each_section() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        "compose/core/compose.yaml",
        "compose/core/README.md",
        "docs/notes.md",
    ];
    for (labels, tier) in [("tier/full", Tier::Full), ("tier/lite", Tier::Lite)] {
        let (code, doc) = check(dir.path(), &full_pack(), &files, labels, "version: 1\n");
        assert_eq!(code, 0, "{doc:#}");
        let sections = CanaryPolicy::default().sections(tier).len();
        assert_eq!(
            doc["checks_run"].as_u64(),
            Some((files.len() + 1 + 1 + sections) as u64),
            "{labels}: {doc:#}"
        );
    }
    // No risky file: only the files were checked.
    let (code, doc) = check(dir.path(), "", &["docs/notes.md"], "", "version: 1\n");
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["checks_run"].as_u64(), Some(1), "{doc:#}");
}

/// `evaluate`: the pass message counts the sections that were found filled in.
#[test]
fn a_complete_pack_says_how_many_sections_it_has() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, doc) = check(
        dir.path(),
        &full_pack(),
        &["compose/core/compose.yaml"],
        "tier/full",
        "version: 1\n",
    );
    assert_eq!(code, 0, "{doc:#}");
    let n = CanaryPolicy::default().sections(Tier::Full).len();
    assert_eq!(
        messages(&doc, "canary.pack.complete"),
        vec![format!(
            "all {n} sections of a full pack are present and filled in"
        )]
    );
}

/// `evaluate`: `canary.max_body_bytes` is the largest body read, not the first refused.
#[test]
fn a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let body = full_pack();
    let policy = format!("version: 1\ncanary:\n  max_body_bytes: {}\n", body.len());
    let (code, doc) = check(
        dir.path(),
        &body,
        &["compose/core/compose.yaml"],
        "tier/full",
        &policy,
    );
    assert_eq!(code, 0, "{doc:#}");
    let longer = format!("{body}x");
    let (code, doc) = check(
        dir.path(),
        &longer,
        &["compose/core/compose.yaml"],
        "tier/full",
        &policy,
    );
    assert_eq!(code, 2, "{doc:#}");
    assert!(doc.to_string().contains("canary.body.too_large"), "{doc:#}");
}

/// `files::MAX_DIFF_BYTES`: a large pull request read with `--git-diff` (here 12,000 files,
/// about 1.4 MB of `git diff -z` output) is read whole, not cut at some smaller bound.
#[test]
fn a_large_git_diff_is_read_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git(repo, &["init", "-q"], "");
    git(repo, &["commit", "-q", "--allow-empty", "-m", "base"], "");
    let base = git(repo, &["rev-parse", "HEAD"], "");
    // 12,000 paths that all point at one blob: a big tree without writing 12,000 files.
    let blob = git(repo, &["hash-object", "-w", "--stdin"], "x\n");
    let n = 12_000;
    let index: String = (0..n)
        .map(|i| {
            format!(
                "100644 {blob}\tcompose/services/a-rather-long-directory-name-for-the-test/file-with-a-long-name-{i:05}.yaml\n"
            )
        })
        .collect();
    git(repo, &["update-index", "--index-info"], &index);
    let tree = git(repo, &["write-tree"], "");
    let head = git(repo, &["commit-tree", &tree, "-p", &base, "-m", "many"], "");

    let body = write(repo, "body.md", &full_pack());
    let out = run(gate("canary_required")
        .current_dir(repo)
        .arg("--body")
        .arg(&body)
        .args(["--git-diff", &format!("{base}...{head}")])
        .args(["--labels", "tier/full", "--format", "json"]));
    assert_eq!(out.code, 0, "{}", out.all());
    let doc: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(doc["facts"]["changed_files"], n.to_string(), "{doc:#}");
}

/// `policy/canary.rs` `non_empty_list`: a policy's own section list and status values are
/// used, and an empty list or a blank entry is a policy error (it would require nothing).
#[test]
fn custom_sections_and_status_values_are_used_and_must_not_be_empty() {
    use forgejo_gates::policy::parse;
    let p = parse(
        "version: 1\ncanary:\n  sections:\n    lite: [Summary, Rollback plan]\n  status_values: [green, red]\n",
        "gates.yml",
    )
    .expect("a valid policy");
    assert_eq!(p.canary.lite_sections, vec!["Summary", "Rollback plan"]);
    assert_eq!(p.canary.status_values, vec!["green", "red"]);
    for bad in [
        "canary:\n  sections:\n    lite: []\n",
        "canary:\n  sections:\n    lite: [Summary, \"  \"]\n",
        "canary:\n  status_values: []\n",
        "canary:\n  status_values: [green, \"\"]\n",
    ] {
        let err = parse(&format!("version: 1\n{bad}"), "gates.yml")
            .err()
            .unwrap_or_else(|| panic!("accepted: {bad}"));
        let shown = format!("{err:?}");
        assert!(
            shown.contains("must be a non-empty list of non-empty strings"),
            "{bad}: {shown}"
        );
    }
}

/// `policy/canary.rs`: the bounds of `max_body_bytes` (1 byte to 16 MiB) and of
/// `status_context` (1 to 255 characters, not blank) are inclusive and enforced.
#[test]
fn body_limit_and_status_context_bounds() {
    use forgejo_gates::policy::parse;
    let ok = |yaml: &str| parse(&format!("version: 1\ncanary:\n{yaml}"), "gates.yml");
    let p = ok("  max_body_bytes: 16777216\n").expect("16 MiB is allowed");
    assert_eq!(p.canary.max_body_bytes, 16 * 1024 * 1024);
    for bad in ["  max_body_bytes: 16777217\n", "  max_body_bytes: 0\n"] {
        let err = ok(bad).err().unwrap_or_else(|| panic!("accepted: {bad}"));
        assert!(
            format!("{err:?}").contains("must be between 1 and 16777216"),
            "{err:?}"
        );
    }
    let context = "c".repeat(255);
    let p = ok(&format!("  status_context: {context}\n")).expect("255 characters");
    assert_eq!(p.canary.status_context, context);
    for bad in [
        format!("  status_context: {}\n", "c".repeat(256)),
        "  status_context: \"   \"\n".to_string(),
    ] {
        let err = ok(&bad).err().unwrap_or_else(|| panic!("accepted: {bad}"));
        assert!(
            format!("{err:?}").contains("must be 1 to 255 characters"),
            "{err:?}"
        );
    }
}
