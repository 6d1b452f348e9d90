//! Annotated fixtures: `tests/fixtures/lint/<rule>/{pass,fail}-*.yml`. A line ending in
//! `# <- lint.<rule>` must get a finding of that rule on that line, and no other line may;
//! a `pass-` file gets no finding of its rule at all. A line ending in `# <- info: lint.<rule>`
//! must get an info-level finding of that rule (what the rule proved harmless), and no other
//! line may. A marker on a line of its own starting with `#^` names the line above it. A
//! `policy.yml` next to the fixtures is
//! used as the policy for that rule.
use forgejo_gates::lint::{lint_text, rules::RULES};
use forgejo_gates::policy::{Policy, parse};
use forgejo_gates::report::Severity;
use std::collections::BTreeSet;
use std::path::Path;

fn expected_lines(text: &str, code: &str) -> BTreeSet<usize> {
    marked_lines(text, &format!("<- {code}"))
}

/// Lines where the rule reports at info level: what it proved harmless but still shows.
fn expected_info_lines(text: &str, code: &str) -> BTreeSet<usize> {
    marked_lines(text, &format!("<- info: {code}"))
}

/// A marker at the end of a line names that line; a line of its own starting with `#^`
/// names the line above (for lines a trailing comment would change, e.g. in a heredoc).
fn marked_lines(text: &str, marker: &str) -> BTreeSet<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with(marker))
        .map(|(i, l)| {
            if l.trim_start().starts_with("#^") {
                i
            } else {
                i + 1
            }
        })
        .collect()
}

#[test]
fn every_rule_has_pass_and_fail_fixtures_and_they_hold() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.code.id).collect();
    ids.push("lint.invalid_file");
    let mut checked = 0;
    for id in ids {
        let dir = root.join(id.trim_start_matches("lint."));
        let policy = match std::fs::read_to_string(dir.join("policy.yml")) {
            Ok(p) => parse(&p, "policy.yml").expect("fixture policy parses"),
            Err(_) => Policy::default(),
        };
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{id}: no fixture folder {}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .filter(|p| p.file_name().is_some_and(|n| n != "policy.yml"))
            .collect();
        entries.sort();
        let (mut pass, mut fail) = (0, 0);
        for path in entries {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("name")
                .to_string();
            let text = std::fs::read_to_string(&path).expect("fixture is text");
            let findings = lint_text(&name, &text, &policy.lint);
            let brief: Vec<String> = findings
                .iter()
                .map(|f| format!("{}:{} {} {}", f.line, f.col, f.code.id, f.message))
                .collect();
            let got: BTreeSet<usize> = findings
                .iter()
                .filter(|f| f.code.id == id && f.level != Severity::Info)
                .map(|f| f.line)
                .collect();
            let got_info: BTreeSet<usize> = findings
                .iter()
                .filter(|f| f.code.id == id && f.level == Severity::Info)
                .map(|f| f.line)
                .collect();
            assert_eq!(
                got_info,
                expected_info_lines(&text, id),
                "{id}/{name}: lines with info findings differ; all: {brief:#?}"
            );
            let want = expected_lines(&text, id);
            if name.starts_with("pass-") {
                pass += 1;
                assert!(
                    got.is_empty(),
                    "{id}/{name}: unexpected findings {brief:#?}"
                );
            } else {
                fail += 1;
                assert!(
                    !want.is_empty(),
                    "{id}/{name}: a fail fixture must mark its lines"
                );
                assert_eq!(
                    got, want,
                    "{id}/{name}: lines with findings differ; all: {brief:#?}"
                );
            }
            checked += 1;
        }
        assert!(
            pass > 0 && fail > 0,
            "{id}: needs at least one pass- and one fail- fixture"
        );
    }
    assert!(checked >= 24);
}

#[test]
fn forgejo_constructs_fixture_is_clean_of_every_rule_but_unpinned() {
    // Tags, not digests, for actions and images: warnings, and not what this fixture is about.
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint/schema/pass-forgejo-constructs.yml");
    let text = std::fs::read_to_string(path).expect("fixture");
    let findings = lint_text("f.yml", &text, &Policy::default().lint);
    let other: Vec<_> = findings
        .iter()
        .filter(|f| f.code.id != "lint.unpinned_action" && f.code.id != "lint.unpinned_image")
        .collect();
    assert!(other.is_empty(), "{other:#?}");
}
