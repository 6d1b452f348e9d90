//! Tests added for mutants that survived in the canary gate (docs/mutation-testing.md): each
//! names what the surviving mutant got away with.

mod common;

use common::{gate, run};
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
