//! Code ids renamed to the one spelling (lowercase dotted segments, words joined by `_`): the
//! one table of old spellings, and the lookups every reader of user-written ids goes through
//! (the policy's lint section, suppression comments, baselines, decision-log records).
//!
//! An old spelling is an alias, never a second code: a reader maps it to the current id
//! before any other check, so it can do exactly what the current id can (an unsuppressible
//! rule stays unsuppressible), and reports that the spelling is old. Documented in
//! `docs/reasons/renamed.md`.

/// The last day the readers of the policy, comments and baselines accept an old spelling;
/// after it (in the release that drops the table) an old id is an unknown id, an error.
/// Decision-log records keep their old codes for ever (their hash chain covers the text):
/// `decision_log` reads them through this table whatever the date.
pub const ACCEPTED_UNTIL: &str = "2027-06-30";

/// `(old spelling, current id)`, one line per renamed code.
pub const RENAMED: &[(&str, &str)] = &[
    ("lint.baseline-invalid", "lint.baseline_invalid"),
    ("lint.container-credentials", "lint.container_credentials"),
    ("lint.dispatch-inputs", "lint.dispatch_inputs"),
    ("lint.duplicate-key", "lint.duplicate_key"),
    ("lint.event-types", "lint.event_types"),
    ("lint.function-call", "lint.function_call"),
    ("lint.gate-wiring", "lint.gate_wiring"),
    ("lint.glob-pattern", "lint.glob_pattern"),
    ("lint.if-always-true", "lint.if_always_true"),
    ("lint.ignored-by-forgejo", "lint.ignored_by_forgejo"),
    ("lint.insecure-commands", "lint.insecure_commands"),
    ("lint.invalid-file", "lint.invalid_file"),
    ("lint.invalid-suppression", "lint.invalid_suppression"),
    ("lint.matrix-exclude", "lint.matrix_exclude"),
    ("lint.needs-outputs", "lint.needs_outputs"),
    ("lint.runner-label", "lint.runner_label"),
    ("lint.script-injection", "lint.script_injection"),
    ("lint.template-injection", "lint.template_injection"),
    ("lint.unpinned-action", "lint.unpinned_action"),
    ("lint.unpinned-image", "lint.unpinned_image"),
    ("lint.untrusted-checkout", "lint.untrusted_checkout"),
    ("lint.untrusted-env-write", "lint.untrusted_env_write"),
    ("lint.unused-suppression", "lint.unused_suppression"),
    ("oneshot.not_one_shot", "one_shot.not_one_shot"),
    ("oneshot.not_stateful", "one_shot.not_stateful"),
    ("oneshot.ok", "one_shot.ok"),
    ("oneshot.restarts", "one_shot.restarts"),
];

/// The current id an old spelling stands for; `None` for anything else (a current id, an
/// unknown id: the caller judges those as before).
pub fn current_of(old: &str) -> Option<&'static str> {
    RENAMED.iter().find(|(o, _)| *o == old).map(|(_, new)| *new)
}

/// The id as the current build spells it: the current id of an old spelling, else `id`
/// unchanged.
pub fn canonical(id: &str) -> &str {
    current_of(id).unwrap_or(id)
}

/// The old spellings of a current id (none for a code never renamed).
pub fn old_spellings_of(current: &str) -> impl Iterator<Item = &'static str> + '_ {
    RENAMED
        .iter()
        .filter(move |(_, new)| *new == current)
        .map(|(old, _)| *old)
}

/// An old spelling a reader accepted as `current`, and where it was written (1-based line and
/// column in the reader's file), so that the reader's caller can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub old: String,
    pub current: &'static str,
    pub line: usize,
    pub col: usize,
}

/// What a reader says about an old spelling it accepted.
pub fn deprecation_message(old: &str, current: &str) -> String {
    format!(
        "`{old}` is the old spelling of `{current}`; write `{current}` (the old spelling is accepted until {ACCEPTED_UNTIL}, see docs/reasons/renamed.md)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_old_spelling_maps_to_one_current_id_and_is_not_itself_current() {
        for (i, (old, new)) in RENAMED.iter().enumerate() {
            assert_ne!(old, new);
            assert!(
                RENAMED[..i].iter().all(|(o, _)| o != old),
                "`{old}` is listed twice"
            );
            assert!(
                current_of(new).is_none(),
                "`{new}` is both a current id and an old spelling"
            );
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(current_of("lint.gate-wiring"), Some("lint.gate_wiring"));
        assert_eq!(current_of("oneshot.ok"), Some("one_shot.ok"));
        assert_eq!(current_of("lint.gate_wiring"), None);
        assert_eq!(current_of("lint.gate-wirin"), None);
        assert_eq!(current_of("LINT.GATE-WIRING"), None);
        assert_eq!(canonical("oneshot.restarts"), "one_shot.restarts");
        assert_eq!(canonical("lint.nope"), "lint.nope");
        assert_eq!(
            old_spellings_of("lint.gate_wiring").collect::<Vec<_>>(),
            ["lint.gate-wiring"]
        );
        assert_eq!(old_spellings_of("lint.schema").count(), 0);
    }
}
