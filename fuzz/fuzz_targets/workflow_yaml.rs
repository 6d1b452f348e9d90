//! The workflow linter on arbitrary bytes (YAML, expressions, every rule), then the
//! suppression filter on its findings (comments told from scalar text, coverage, baseline keys).
#![no_main]
use forgejo_gates::lint::suppress::{self, Config, UNSUPPRESSIBLE};
use forgejo_gates::policy::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policy = Policy::default();
    let (findings, text) =
        forgejo_gates::lint::lint_bytes(".forgejo/workflows/fuzz.yml", data, &policy.lint);
    let cfg = Config {
        ignores: &policy.lint.ignores,
        levels: &policy.lint.levels,
        baseline: None,
        writing: true,
        renamed: &policy.lint.renamed,
    };
    let before = findings.len();
    let out = suppress::filter(
        ".forgejo/workflows/fuzz.yml",
        ".forgejo/workflows/fuzz.yml",
        findings,
        text.as_deref(),
        &cfg,
    );
    // What cannot be suppressed never is, and no finding is lost on the way.
    assert!(
        out.suppressed
            .iter()
            .all(|s| !UNSUPPRESSIBLE.contains(&s.finding.code.id))
    );
    let meta = out
        .kept
        .iter()
        .filter(|f| f.code.id == suppress::INVALID.id)
        .count();
    assert_eq!(out.kept.len() - meta + out.suppressed.len(), before);
});
