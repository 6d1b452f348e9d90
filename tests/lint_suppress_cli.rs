//! `lint_workflows` as a process, with suppressions: inline comments, the policy's
//! `lint.ignore`, `--baseline` and `--write-baseline`; exit codes in every format; and the
//! property that no suppression makes an ungated apply pass.
mod common;
use common::{gate, run_in};
use std::fs;
use std::path::Path;

const UNPINNED: &str = "on: push\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - uses: actions/checkout@v4\n      - run: make\n";
const INJECTION: &str = "on: pull_request\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n";
const UNGATED: &str = "on:\n  workflow_dispatch:\n    inputs:\n      module:\n        type: string\njobs:\n  apply:\n    runs-on: platform-host\n    steps:\n      - env:\n          MODULE: ${{ inputs.module }}\n        run: platformctl apply \"$MODULE\"\n";

fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    dir
}

fn lint(dir: &Path, args: &[&str]) -> common::Run {
    run_in(dir, gate("lint_workflows").args(args))
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let r = lint(dir, &all);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.all()))
}

fn codes(doc: &serde_json::Value) -> Vec<String> {
    doc["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r["code"].as_str().expect("code").to_string())
        .collect()
}

#[test]
fn an_inline_suppression_turns_an_error_into_a_pass_in_every_format() {
    let suppressed = INJECTION.replace(
        "}}\"\n",
        "}}\" # lint_workflows: ignore[lint.template_injection] the title is only logged\n",
    );
    let dir = repo(&[(".forgejo/workflows/ci.yml", &suppressed)]);
    for format in ["text", "json", "sarif", "github"] {
        let r = lint(dir.path(), &["--format", format]);
        assert_eq!(r.code, 0, "{format}: {}", r.all());
    }
    let r = lint(dir.path(), &[]);
    assert!(
        r.stdout.contains("0 error(s), 0 warning(s), 1 suppressed"),
        "{}",
        r.stdout
    );
    let doc = json(dir.path(), &[]);
    assert_eq!(doc["facts"]["suppressed"], "1", "{doc}");
    // Without the comment the same file fails: the suppression is what passed it.
    let dir = repo(&[(".forgejo/workflows/ci.yml", INJECTION)]);
    assert_eq!(lint(dir.path(), &[]).code, 1);
}

#[test]
fn a_suppression_without_a_reason_fails_and_suppresses_nothing() {
    let bare = INJECTION.replace(
        "}}\"\n",
        "}}\" # lint_workflows: ignore[lint.template_injection]\n",
    );
    let dir = repo(&[(".forgejo/workflows/ci.yml", &bare)]);
    for format in ["text", "json", "sarif", "github"] {
        assert_eq!(lint(dir.path(), &["--format", format]).code, 1, "{format}");
    }
    let doc = json(dir.path(), &[]);
    let got = codes(&doc);
    assert!(
        got.contains(&"lint.invalid_suppression".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"lint.template_injection".to_string()),
        "{got:?}"
    );
}

#[test]
fn an_unused_suppression_is_a_warning_that_does_not_fail() {
    let unused = UNPINNED.replace(
        "run: make\n",
        "run: make # lint_workflows: ignore[lint.template_injection] nothing to hide here\n",
    );
    let dir = repo(&[(".forgejo/workflows/ci.yml", &unused)]);
    let r = lint(dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("warning[lint.unused_suppression]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ci.yml:7:"), "{}", r.stdout);
    // The policy can turn that warning off, like any rule.
    let dir = repo(&[
        (".forgejo/workflows/ci.yml", &unused),
        (
            ".forgejo/gates.yml",
            "lint:\n  rules:\n    lint.unused_suppression: off\n",
        ),
    ]);
    let r = lint(dir.path(), &[]);
    assert!(!r.stdout.contains("unused_suppression"), "{}", r.stdout);
}

#[test]
fn no_suppression_makes_an_ungated_apply_pass() {
    // Under its id and under its old spelling (an alias can do no more than the id).
    for id in ["lint.gate_wiring", "lint.gate-wiring"] {
        no_suppression_of_gate_wiring_written_as(id);
    }
}

fn no_suppression_of_gate_wiring_written_as(id: &str) {
    let gate_wiring = |r: &common::Run| r.stdout.contains("lint.gate_wiring");
    // Inline, on the line and on the step: refused, and the apply is still an error.
    for text in [
        UNGATED.replace(
            "\"$MODULE\"\n",
            &format!("\"$MODULE\" # lint_workflows: ignore[{id}] the gates run elsewhere\n"),
        ),
        UNGATED.replace(
            "      - env:\n",
            &format!(
                "      # lint_workflows: ignore[{id}] the gates run elsewhere\n      - env:\n"
            ),
        ),
        UNGATED.replace(
            "  apply:\n",
            &format!("  apply: # lint_workflows: ignore[{id}, lint.schema] elsewhere\n"),
        ),
    ] {
        let dir = repo(&[(".forgejo/workflows/deploy.yml", &text)]);
        let r = lint(dir.path(), &[]);
        assert_eq!(r.code, 1, "{id}: {}", r.all());
        assert!(gate_wiring(&r), "{}", r.stdout);
        assert!(
            r.stdout.contains("lint.invalid_suppression"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains("cannot be suppressed"), "{}", r.stdout);
    }
    // The policy: neither an ignore entry nor a level can silence it (exit 2, at the line).
    for policy in [
        format!(
            "lint:\n  ignore:\n    - path: \"**\"\n      rules: [{id}]\n      reason: elsewhere\n"
        ),
        format!("lint:\n  rules:\n    {id}: off\n"),
        format!("lint:\n  rules:\n    {id}: warning\n"),
    ] {
        let dir = repo(&[
            (".forgejo/workflows/deploy.yml", UNGATED),
            (".forgejo/gates.yml", &policy),
        ]);
        let r = lint(dir.path(), &[]);
        assert_eq!(r.code, 2, "{policy}: {}", r.all());
        assert!(r.all().contains("gates.yml:"), "{}", r.all());
        assert!(r.all().contains("lint.gate_wiring"), "{}", r.all());
    }
    // The baseline: writing one does not record it, and the run still fails.
    let dir = repo(&[(".forgejo/workflows/deploy.yml", UNGATED)]);
    let r = lint(dir.path(), &["--write-baseline", "base.yml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(gate_wiring(&r), "{}", r.stdout);
    let written = fs::read_to_string(dir.path().join("base.yml")).expect("written");
    assert!(!written.contains("gate_wiring"), "{written}");
    assert_eq!(lint(dir.path(), &["--baseline", "base.yml"]).code, 1);
    // A baseline entry written by hand for it is refused, with the fingerprint either
    // spelling would give the finding.
    for fp_rule in ["lint.gate_wiring", "lint.gate-wiring"] {
        let line = "        run: platformctl apply \"$MODULE\"";
        let fp = forgejo_gates::lint::suppress::baseline::fingerprint(fp_rule, line, 14, 17);
        let forged = format!(
            "version: 1\nfindings:\n  - {{rule: \"{id}\", path: \".forgejo/workflows/deploy.yml\", fingerprint: \"{fp}\", count: 1}}\n"
        );
        fs::write(dir.path().join("forged.yml"), forged).expect("write");
        let r = lint(dir.path(), &["--baseline", "forged.yml"]);
        assert_eq!(r.code, 2, "{}", r.all());
        assert!(r.all().contains("forged.yml:3:"), "{}", r.all());
        assert!(r.all().contains("cannot be in a baseline"), "{}", r.all());
    }
}

#[test]
fn a_policy_ignore_hides_its_rules_in_matching_files_only() {
    let policy = "lint:\n  ignore:\n    - path: .forgejo/workflows/vendored/*.yml\n      rules: [lint.template_injection]\n      reason: vendored from upstream, reviewed there\n";
    let dir = repo(&[
        (".forgejo/workflows/vendored/ci.yml", INJECTION),
        (".forgejo/gates.yml", policy),
    ]);
    let r = lint(dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("1 suppressed"), "{}", r.stdout);
    let dir = repo(&[
        (".forgejo/workflows/vendored/ci.yml", INJECTION),
        (".forgejo/workflows/own.yml", INJECTION),
        (".forgejo/gates.yml", policy),
    ]);
    let r = lint(dir.path(), &[]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stdout.contains("own.yml:6:"), "{}", r.stdout);
    assert!(!r.stdout.contains("vendored/ci.yml:6:"), "{}", r.stdout);
}

#[test]
fn an_unused_policy_ignore_is_reported_at_its_line_in_the_policy() {
    let policy = "lint:\n  ignore:\n    - path: .forgejo/workflows/*.yml\n      rules: [lint.template_injection]\n      reason: no such finding any more\n";
    let dir = repo(&[
        (".forgejo/workflows/ci.yml", UNPINNED),
        (".forgejo/gates.yml", policy),
    ]);
    let r = lint(dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("warning[lint.unused_suppression]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("gates.yml:4:15"), "{}", r.stdout);
    assert!(r.stdout.contains("— 1 file(s)"), "{}", r.stdout);
    let doc = json(dir.path(), &[]);
    assert_eq!(doc["facts"]["files"], "1", "{doc}");
}

#[test]
fn a_written_baseline_survives_unrelated_edits_and_reports_new_and_stale_findings() {
    let two = "on: pull_request\njobs:\n  a:\n    runs-on: docker\n    steps:\n      - uses: actions/checkout@v4\n      - run: echo \"${{ github.event.pull_request.title }}\"\n";
    let dir = repo(&[(".forgejo/workflows/ci.yml", two)]);
    assert_eq!(lint(dir.path(), &[]).code, 1);
    let r = lint(dir.path(), &["--write-baseline", "lint-baseline.yml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    let written = fs::read_to_string(dir.path().join("lint-baseline.yml")).expect("written");
    assert_eq!(written.matches("\n  - {rule: ").count(), 2, "{written}");
    // Writing again gives the same bytes.
    lint(dir.path(), &["--write-baseline", "lint-baseline.yml"]);
    assert_eq!(
        fs::read_to_string(dir.path().join("lint-baseline.yml")).expect("rewritten"),
        written
    );
    let r = lint(dir.path(), &["--baseline", "lint-baseline.yml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.stdout.contains("2 suppressed"), "{}", r.stdout);
    // Lines added above and a job added below: every finding moved, none is new.
    let edited = format!(
        "# CI\nenv:\n  A: b\n{two}  b:\n    runs-on: docker\n    steps:\n      - run: make\n"
    );
    fs::write(dir.path().join(".forgejo/workflows/ci.yml"), &edited).expect("write");
    let r = lint(dir.path(), &["--baseline", "lint-baseline.yml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    // A new finding is reported; the fixed one's entry is reported unused (a warning).
    let changed = edited
        .replace("      - uses: actions/checkout@v4\n", "")
        .replace("title }}", "body }}");
    fs::write(dir.path().join(".forgejo/workflows/ci.yml"), changed).expect("write");
    let r = lint(dir.path(), &["--baseline", "lint-baseline.yml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout.contains("error[lint.template_injection]"),
        "{}",
        r.stdout
    );
    // The header takes 6 lines: the entries are on lines 7 and 8, sorted by rule.
    assert!(r.stdout.contains("lint-baseline.yml:7:"), "{}", r.stdout);
    assert!(r.stdout.contains("lint-baseline.yml:8:"), "{}", r.stdout);
    let doc = json(dir.path(), &["--baseline", "lint-baseline.yml"]);
    let inputs: Vec<&str> = doc["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert!(inputs.contains(&"baseline"), "{inputs:?}");
}

#[test]
fn baseline_entries_for_files_not_linted_are_judged_only_on_a_whole_run() {
    let dir = repo(&[
        (".forgejo/workflows/a.yml", UNPINNED),
        (".forgejo/workflows/b.yml", UNPINNED),
    ]);
    assert_eq!(lint(dir.path(), &["--write-baseline", "base.yml"]).code, 0);
    // Linting one file: b.yml's entry is not judged.
    let r = lint(
        dir.path(),
        &["--baseline", "base.yml", ".forgejo/workflows/a.yml"],
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.stdout.contains("unused_suppression"), "{}", r.stdout);
    // The whole folder without b.yml: its entry is stale.
    fs::remove_file(dir.path().join(".forgejo/workflows/b.yml")).expect("rm");
    let r = lint(dir.path(), &["--baseline", "base.yml"]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("warning[lint.unused_suppression]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("b.yml"), "{}", r.stdout);
}

#[test]
fn a_bad_baseline_or_conflicting_flags_cannot_be_evaluated() {
    let dir = repo(&[(".forgejo/workflows/ci.yml", UNPINNED)]);
    fs::write(
        dir.path().join("base.yml"),
        "version: 1\nfindings:\n  - {rule: lint.unpinned_action}\n",
    )
    .expect("write");
    let r = lint(dir.path(), &["--baseline", "base.yml"]);
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.all().contains("base.yml:3:"), "{}", r.all());
    let r = lint(dir.path(), &["--baseline", "missing.yml"]);
    assert_eq!(r.code, 2, "{}", r.all());
    let r = lint(
        dir.path(),
        &["--baseline", "base.yml", "--write-baseline", "b2.yml"],
    );
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(!dir.path().join("b2.yml").exists());
}

#[test]
fn an_old_rule_id_still_suppresses_and_says_the_new_one_without_failing_the_run() {
    let suppressed = INJECTION.replace(
        "}}\"\n",
        "}}\" # lint_workflows: ignore[lint.template-injection] the title is only logged\n",
    );
    let dir = repo(&[(".forgejo/workflows/ci.yml", &suppressed)]);
    let r = lint(dir.path(), &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(
        r.stdout.contains("warning[lint.deprecated_id]"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("`lint.template-injection` is the old spelling of `lint.template_injection`"),
        "{}",
        r.stdout
    );
    let doc = json(dir.path(), &[]);
    assert_eq!(doc["facts"]["suppressed"], "1", "{doc}");
    assert_eq!(codes(&doc), ["lint.deprecated_id"], "{doc}");
    // Its level can be set like any rule's, under its own (one) spelling.
    fs::write(
        dir.path().join(".forgejo/gates.yml"),
        "lint:\n  rules:\n    lint.deprecated_id: off\n",
    )
    .expect("write");
    let doc = json(dir.path(), &[]);
    assert!(codes(&doc).is_empty(), "{doc}");
}
