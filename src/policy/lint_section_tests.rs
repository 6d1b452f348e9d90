//! How the policy reader reads the `lint:` section (the section itself lives beside the
//! linter in `lint::config`; the reader calls it).

use super::parse;
use crate::lint::Level;

#[test]
fn reads_every_key() {
    let p = parse(
        "lint:\n  runner_labels: [docker]\n  max_file_bytes: 1000\n  rules:\n    lint.unpinned_action: error\n  gates:\n    apply_command: pctl apply\n",
        "p.yml",
    )
    .unwrap();
    assert_eq!(p.lint.runner_labels, vec!["docker".to_string()]);
    assert_eq!(p.lint.max_file_bytes, 1000);
    assert_eq!(p.lint.levels["lint.unpinned_action"], Level::Error);
    assert_eq!(p.lint.gates.apply_command, "pctl apply");
    assert_eq!(p.lint.gates.scope_gate, "auto_apply_scope");
}

#[test]
fn unknown_rule_and_level_are_errors() {
    let err = parse(
        "lint:\n  rules:\n    lint.nope: off\n    lint.schema: loud\n",
        "p.yml",
    )
    .unwrap_err();
    let all = err.details.join("\n");
    assert!(all.contains("lint.nope"), "{all}");
    assert!(all.contains("loud"), "{all}");
}

#[test]
fn a_plain_off_is_yaml_false_and_turns_a_rule_off() {
    for off in ["off", "Off", "no", "false", "\"off\""] {
        let p = parse(
            &format!("lint:\n  rules:\n    lint.unpinned_action: {off}\n"),
            "p.yml",
        )
        .unwrap();
        assert_eq!(p.lint.levels["lint.unpinned_action"], Level::Off, "{off}");
    }
    assert!(parse("lint:\n  rules:\n    lint.unpinned_action: on\n", "p.yml").is_err());
}

#[test]
fn invalid_file_cannot_be_turned_off() {
    assert!(parse("lint:\n  rules:\n    lint.invalid_file: off\n", "p.yml").is_err());
}

#[test]
fn gate_wiring_cannot_be_lowered_and_the_problem_names_its_line() {
    for level in ["off", "warning", "info"] {
        let err = parse(
            &format!("lint:\n  rules:\n    lint.schema: warning\n    lint.gate_wiring: {level}\n"),
            "p.yml",
        )
        .unwrap_err();
        let all = err.details.join("\n");
        assert!(all.contains("p.yml:4:23:"), "{all}");
        assert!(
            all.contains("`lint.gate_wiring` is always an error"),
            "{all}"
        );
    }
    let p = parse("lint:\n  rules:\n    lint.gate_wiring: error\n", "p.yml").unwrap();
    assert_eq!(p.lint.levels["lint.gate_wiring"], Level::Error);
}

#[test]
fn an_unknown_level_is_refused_at_its_line() {
    for bad in ["loud", "Error", "\"warn\"", "1", "[error]"] {
        let err = parse(
            &format!("lint:\n  rules:\n    lint.schema: {bad}\n"),
            "p.yml",
        )
        .unwrap_err();
        let all = err.details.join("\n");
        assert!(all.contains("p.yml:3:18:"), "{bad}: {all}");
        assert!(all.contains("lint.schema"), "{bad}: {all}");
    }
}

#[test]
fn an_old_rule_id_is_read_as_the_new_one_and_remembered_for_the_report() {
    let p = parse(
        "lint:\n  rules:\n    lint.unpinned-action: off\n  ignore:\n    - path: a.yml\n      rules: [lint.template-injection]\n      reason: vendored\n",
        "p.yml",
    )
    .unwrap();
    assert_eq!(p.lint.levels["lint.unpinned_action"], Level::Off);
    assert!(!p.lint.levels.contains_key("lint.unpinned-action"));
    assert_eq!(p.lint.ignores[0].rules[0].0, "lint.template_injection");
    let renamed: Vec<(&str, &str, usize)> = p
        .lint
        .renamed
        .iter()
        .map(|a| (a.old.as_str(), a.current, a.line))
        .collect();
    assert_eq!(
        renamed,
        [
            ("lint.unpinned-action", "lint.unpinned_action", 3),
            ("lint.template-injection", "lint.template_injection", 6),
        ]
    );
}

#[test]
fn both_spellings_of_one_rule_are_refused_and_an_unknown_old_looking_id_stays_unknown() {
    let err = parse(
        "lint:\n  rules:\n    lint.unpinned_action: error\n    lint.unpinned-action: off\n",
        "p.yml",
    )
    .unwrap_err();
    let all = err.details.join("\n");
    assert!(all.contains("keep only `lint.unpinned_action`"), "{all}");
    // Only the table's old spellings are aliases: another hyphenated id is unknown.
    for id in [
        "lint.unpinned-actions",
        "lint.Unpinned-action",
        "lint.schema-check",
    ] {
        let err = parse(&format!("lint:\n  rules:\n    {id}: off\n"), "p.yml").unwrap_err();
        assert!(err.details.join("\n").contains(id), "{id}: {err:?}");
        let err = parse(
            &format!("lint:\n  ignore:\n    - path: a.yml\n      rules: [{id}]\n      reason: r\n"),
            "p.yml",
        )
        .unwrap_err();
        assert!(
            err.details.join("\n").contains("unknown rule id"),
            "{id}: {err:?}"
        );
    }
}
