//! Suppression fixtures, one folder per form: `tests/fixtures/lint/suppress/{comment,policy,
//! baseline,renamed}/{pass,fail}-*.yml` (`renamed`: each form written with old rule ids).
//! Each file is linted as `.forgejo/workflows/<name>` and filtered with its folder's
//! `policy.yml` and `baseline.yml` (when present).
//!
//! Markers: a line ending in `# <- lint.<rule>` must get a finding of that rule, and a line of
//! its own starting with `#^ <- lint.<rule>` names the nearest line above it that is not such
//! a marker (several can stack). After filtering, the set of (line, rule) reported must be
//! exactly the marked set, in `fail-` files and in the folder's `policy.yml` and
//! `baseline.yml` (their unused entries). A `pass-` file must report nothing and must have
//! had at least one finding suppressed, so that it shows a suppression at work.
use forgejo_gates::lint::suppress::{self, Config, Tally, baseline};
use forgejo_gates::lint::{Finding, lint_text};
use forgejo_gates::policy::{Policy, parse};
use std::collections::BTreeSet;
use std::path::Path;

fn marks(text: &str) -> BTreeSet<(usize, String)> {
    let mut out = BTreeSet::new();
    let mut target = 0;
    for (i, line) in text.lines().enumerate() {
        let stacked = line.trim_start().starts_with("#^");
        if !stacked {
            target = i + 1;
        }
        if let Some((_, rule)) = line.rsplit_once("<- ") {
            let rule = rule.trim();
            if rule.starts_with("lint.") {
                out.insert((if stacked { target } else { i + 1 }, rule.to_string()));
            }
        }
    }
    out
}

fn got(findings: &[Finding]) -> BTreeSet<(usize, String)> {
    findings
        .iter()
        .map(|f| (f.line, f.code.id.to_string()))
        .collect()
}

fn brief(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{}:{} {} {}", f.line, f.col, f.code.id, f.message))
        .collect()
}

fn check_form(form: &str) -> (usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint/suppress")
        .join(form);
    let policy_text = std::fs::read_to_string(dir.join("policy.yml")).ok();
    let policy = match &policy_text {
        Some(p) => parse(p, "policy.yml").expect("fixture policy parses"),
        None => Policy::default(),
    };
    let base = dir.join("baseline.yml").exists().then(|| {
        baseline::load(&dir.join("baseline.yml"), &forgejo_gates::lint::codes())
            .expect("fixture baseline loads")
    });
    let cfg = Config {
        ignores: &policy.lint.ignores,
        levels: &policy.lint.levels,
        baseline: base.as_ref(),
        writing: false,
        renamed: &policy.lint.renamed,
    };
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pass-") || n.starts_with("fail-"))
        })
        .collect();
    entries.sort();
    let mut tally = Tally::default();
    let (mut pass, mut fail) = (0, 0);
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(&path).expect("fixture is text");
        let findings = lint_text(name, &text, &policy.lint);
        let key = format!(".forgejo/workflows/{name}");
        let filtered = suppress::filter(name, &key, findings, Some(&text), &cfg);
        tally.add(&filtered);
        let suppressed = filtered.suppressed.len();
        let reported = filtered.into_findings();
        if name.starts_with("pass-") {
            pass += 1;
            assert!(
                reported.is_empty(),
                "{form}/{name}: reported {:#?}",
                brief(&reported)
            );
            assert!(
                suppressed > 0,
                "{form}/{name}: a pass fixture must show a suppression at work"
            );
        } else {
            fail += 1;
            let want = marks(&text);
            assert!(
                !want.is_empty(),
                "{form}/{name}: mark the expected findings"
            );
            assert_eq!(
                got(&reported),
                want,
                "{form}/{name}: findings differ; all: {:#?}",
                brief(&reported)
            );
        }
    }
    let (policy_unused, baseline_unused) = tally.unused(&cfg, "policy.yml", true);
    assert_eq!(
        got(&policy_unused),
        policy_text.as_deref().map(marks).unwrap_or_default(),
        "{form}/policy.yml: unused entries differ: {:#?}",
        brief(&policy_unused)
    );
    assert_eq!(
        got(&baseline_unused),
        base.as_ref().map(|b| marks(&b.text)).unwrap_or_default(),
        "{form}/baseline.yml: unused entries differ: {:#?}",
        brief(&baseline_unused)
    );
    (pass, fail)
}

#[test]
fn comment_fixtures_hold() {
    let (pass, fail) = check_form("comment");
    assert!(pass >= 2 && fail >= 4, "{pass} pass, {fail} fail");
}

#[test]
fn policy_ignore_fixtures_hold() {
    let (pass, fail) = check_form("policy");
    assert!(pass >= 1 && fail >= 1, "{pass} pass, {fail} fail");
}

#[test]
fn baseline_fixtures_hold() {
    let (pass, fail) = check_form("baseline");
    assert!(pass >= 1 && fail >= 1, "{pass} pass, {fail} fail");
}

#[test]
fn old_rule_ids_in_comments_policy_and_baseline_work_as_the_new_ones_and_are_reported() {
    let (pass, fail) = check_form("renamed");
    assert!(pass >= 1 && fail >= 2, "{pass} pass, {fail} fail");
}
