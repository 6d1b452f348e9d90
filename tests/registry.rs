//! The registries keep their promises: every reason code is documented once, ids are unique
//! and have the one spelling, every documented code exists, every old spelling is an alias of
//! a code (and documented), and the example policy is the built-in policy.

use forgejo_gates::registry::all_codes;
use std::collections::BTreeMap;

fn documented() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reasons");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            if let Some(id) = line.strip_prefix("### `").and_then(|l| l.strip_suffix('`')) {
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                if let Some(first) = out.insert(id.to_string(), file.clone()) {
                    panic!("`{id}` is documented twice: {first} and {file}");
                }
            }
        }
    }
    out
}

#[test]
fn every_code_has_one_doc_entry_and_every_entry_a_code() {
    let docs = documented();
    let codes = all_codes();
    assert!(codes.len() > 50, "the registry lists {} codes", codes.len());
    for code in &codes {
        assert!(
            docs.contains_key(code.id),
            "`{}` has no entry in docs/reasons/",
            code.id
        );
        assert!(
            !code.summary.is_empty() && !code.help.is_empty(),
            "`{}` lacks text",
            code.id
        );
    }
    for (id, file) in &docs {
        assert!(
            codes.iter().any(|c| c.id == id),
            "docs/reasons/{file} documents `{id}`, which no gate emits"
        );
    }
}

/// The one spelling of a code id: lowercase ASCII segments separated by `.`, each starting
/// with a letter, words inside a segment joined by `_` (`lint.gate_wiring`, `one_shot.ok`).
/// Written out by hand rather than with a regex crate: `^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`.
fn is_one_spelling(id: &str) -> bool {
    let segments: Vec<&str> = id.split('.').collect();
    segments.len() >= 2
        && segments.iter().all(|s| {
            s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

#[test]
fn the_spelling_rule_refuses_the_second_spellings() {
    for good in [
        "lint.gate_wiring",
        "one_shot.ok",
        "backup.ref.timestamp_invalid",
        "a.b2",
    ] {
        assert!(is_one_spelling(good), "{good}");
    }
    for bad in [
        "lint.gate-wiring",
        "oneshot",
        "Lint.schema",
        "lint..schema",
        "lint.schema.",
        ".lint",
        "lint._x",
        "lint.2x",
        "lint.gate wiring",
        "lint.gaté",
    ] {
        assert!(!is_one_spelling(bad), "{bad}");
    }
}

#[test]
fn code_ids_are_unique_and_have_one_spelling() {
    let mut seen = BTreeMap::new();
    for code in all_codes() {
        if let Some(prev) = seen.insert(code.id, code) {
            panic!("two different codes share the id `{}`: {prev:?}", code.id);
        }
        assert!(
            is_one_spelling(code.id),
            "`{}` is not spelled as every code is: lowercase dotted segments, words joined by `_` \
             (docs/reasons/renamed.md)",
            code.id
        );
    }
}

#[test]
fn check_ids_are_unique_per_gate() {
    use forgejo_gates::gates::{one_shot, scope};
    for checks in [scope::CHECKS, one_shot::CHECKS] {
        assert!(!checks.is_empty());
        let mut ids: Vec<&str> = checks.iter().map(|c| c.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), checks.len());
    }
}

#[test]
fn the_example_policy_is_the_built_in_policy() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.example.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = forgejo_gates::policy::parse(&text, "policy.example.yml").unwrap();
    assert_eq!(parsed, forgejo_gates::policy::Policy::default());
}

#[test]
fn every_old_spelling_is_a_second_spelling_of_a_registered_code_and_documented() {
    use forgejo_gates::report::renamed::RENAMED;
    let codes = all_codes();
    for (old, new) in RENAMED {
        assert!(
            codes.iter().any(|c| c.id == *new),
            "`{old}` is an alias of `{new}`, which no gate emits"
        );
        assert!(
            !codes.iter().any(|c| c.id == *old),
            "`{old}` is both an old spelling and a code"
        );
        assert_ne!(old, new);
    }
    // docs/reasons/renamed.md's table is the table.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reasons/renamed.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let documented: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", old, new, ""] if old.starts_with('`') && new.starts_with('`') => Some((
                    old.trim_matches('`').to_string(),
                    new.trim_matches('`').to_string(),
                )),
                _ => None,
            }
        })
        .collect();
    let table: Vec<(String, String)> = RENAMED
        .iter()
        .map(|(o, n)| (o.to_string(), n.to_string()))
        .collect();
    assert_eq!(
        documented, table,
        "docs/reasons/renamed.md differs from the alias table"
    );
}
