//! Conformance on real files: `../shared/corpus/forgejo/` (workflows that ran on Forgejo)
//! must produce exactly the reviewed list in `tests/corpus/forgejo.expected`, with no
//! error-level finding on a construct Forgejo accepts; `../shared/corpus/github/` must lint
//! without a crash. The corpus is not in this repository, so every test here is ignored by a
//! plain `cargo test` and says why; `.ci/run` runs them (`-- --ignored`) and fails when they did
//! not run. Run them with `cargo test --test lint_corpus -- --include-ignored`.
use forgejo_gates::lint::{discover::workflows_in, lint_path};
use forgejo_gates::policy::Policy;
use forgejo_gates::report::Severity;
use std::path::{Path, PathBuf};

/// The corpus folder; a test that reads it fails when it is absent (it never passes unread).
fn corpus(kind: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(kind);
    assert!(
        dir.is_dir(),
        "corpus folder {} is absent: put the shared material beside the clone",
        dir.display()
    );
    dir
}

fn lint_dir(dir: &Path) -> Vec<forgejo_gates::lint::FileResult> {
    let policy = Policy::default();
    workflows_in(dir)
        .expect("corpus lists")
        .iter()
        .map(|p| lint_path(p, &policy.lint).expect("corpus file reads"))
        .collect()
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[test]
#[ignore = "reads ../shared/corpus; run by .ci/run, or with -- --include-ignored"]
fn forgejo_corpus_matches_the_reviewed_expected_list() {
    let dir = corpus("forgejo");
    let results = lint_dir(&dir);
    assert_eq!(results.len(), 62, "the corpus README says 62 files");
    let mut got: Vec<String> = results
        .iter()
        .flat_map(|r| &r.findings)
        .map(|f| {
            format!(
                "{}\t{}\t{}\t{}",
                base(&f.file),
                f.line,
                f.code.id,
                f.level.as_str()
            )
        })
        .collect();
    got.sort();
    let expected_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/forgejo.expected"),
    )
    .expect("expected list");
    let mut want: Vec<String> = expected_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(String::from)
        .collect();
    want.sort();
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nnew: {extra:#?}"
    );
}

#[test]
#[ignore = "reads ../shared/corpus; run by .ci/run, or with -- --include-ignored"]
fn forgejo_corpus_finds_the_known_bug() {
    let dir = corpus("forgejo");
    let r = lint_path(
        &dir.join("rohitkumarankam__forgejo__testing.yml"),
        &Policy::default().lint,
    )
    .expect("reads");
    let bug = r
        .findings
        .iter()
        .find(|f| f.line == 142)
        .expect("line 142 is found");
    assert_eq!(bug.code.id, "lint.references");
    assert_eq!(bug.level, Severity::Error);
    assert!(bug.message.contains("steps.run-all.all"), "{}", bug.message);
}

#[test]
#[ignore = "reads ../shared/corpus; run by .ci/run, or with -- --include-ignored"]
fn forgejo_corpus_has_no_error_on_accepted_constructs() {
    let dir = corpus("forgejo");
    // Rules whose errors would mean "Forgejo rejects this"; on files that ran on Forgejo
    // they must be silent.
    let grammar = [
        "lint.schema",
        "lint.expression",
        "lint.invalid_file",
        "lint.duplicate_key",
        "lint.dispatch_inputs",
        "lint.runner_label",
    ];
    for r in lint_dir(&dir) {
        for f in &r.findings {
            assert!(
                !grammar.contains(&f.code.id),
                "{}:{} {} {}",
                f.file,
                f.line,
                f.code.id,
                f.message
            );
            if f.code.id == "lint.unpinned_action" || f.code.id == "lint.ignored_by_forgejo" {
                assert_eq!(f.level, Severity::Warning);
            }
        }
    }
}

#[test]
#[ignore = "reads ../shared/corpus; run by .ci/run, or with -- --include-ignored"]
fn github_corpus_lints_without_a_crash() {
    let dir = corpus("github");
    let results = lint_dir(&dir);
    assert_eq!(results.len(), 107);
    // Every file parsed: none is reported unreadable.
    for r in &results {
        assert!(
            r.findings.iter().all(|f| f.code.id != "lint.invalid_file"),
            "{}",
            r.path
        );
    }
}
