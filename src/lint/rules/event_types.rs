//! `lint.event_types`: an activity type under `on.<event>.types` that the event never has on
//! Forgejo. Forgejo (`modules/actions/workflows.go`) converts its own action names to
//! GitHub's before matching (`synchronized` → `synchronize`, `label_updated` → `labeled`,
//! `label_cleared` → `unlabeled`, a review → `submitted`/`edited`, `updated` → `edited`) and
//! matches each entry as a glob, so `types: ['*']` is fine. The table below is what it sends:
//!
//! | event | types Forgejo sends | GitHub types it never sends |
//! | --- | --- | --- |
//! | `issues` | opened, edited, closed, reopened, assigned, unassigned, milestoned, demilestoned, labeled, unlabeled | deleted, transferred, pinned, unpinned, locked, unlocked, typed, untyped |
//! | `issue_comment` | created, edited, deleted | |
//! | `pull_request`, `pull_request_target` | opened, edited, closed, reopened, assigned, unassigned, synchronize, labeled, unlabeled, review_requested, review_request_removed, milestoned, demilestoned | converted_to_draft, ready_for_review, locked, unlocked, auto_merge_enabled, auto_merge_disabled, enqueued, dequeued |
//! | `pull_request_review` | submitted, edited | dismissed |
//! | `pull_request_review_comment` | created, edited | deleted |
//! | `release` | published, edited, deleted | unpublished, created, prereleased, released |
//! | `registry_package` | published | updated |
//!
//! A type that neither Forgejo nor GitHub has (a typo, or Forgejo's own payload name such as
//! `synchronized`) never matches: an error. A GitHub type that Forgejo never sends: a
//! warning (the workflow may also run on GitHub). `types:` on an event Forgejo gives no types
//! (`create`, `delete`, `fork`, `gollum`, `schedule`, `workflow_dispatch`) is ignored by
//! Forgejo: a warning. Events Forgejo never fires are not judged here.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::Severity;
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.event_types",
    Error,
    "An `on.<event>.types` entry names an activity type the event never has on Forgejo, so it never matches.",
    "Use the GitHub names Forgejo matches (e.g. `synchronize`, `labeled`); the rule's page lists the types Forgejo sends for each event."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// (event, types Forgejo sends, GitHub types Forgejo never sends).
const TYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "issues",
        &[
            "opened",
            "edited",
            "closed",
            "reopened",
            "assigned",
            "unassigned",
            "milestoned",
            "demilestoned",
            "labeled",
            "unlabeled",
        ],
        &[
            "deleted",
            "transferred",
            "pinned",
            "unpinned",
            "locked",
            "unlocked",
            "typed",
            "untyped",
        ],
    ),
    ("issue_comment", &["created", "edited", "deleted"], &[]),
    ("pull_request", PR_TYPES, PR_GITHUB_ONLY),
    ("pull_request_target", PR_TYPES, PR_GITHUB_ONLY),
    (
        "pull_request_review",
        &["submitted", "edited"],
        &["dismissed"],
    ),
    (
        "pull_request_review_comment",
        &["created", "edited"],
        &["deleted"],
    ),
    (
        "release",
        &["published", "edited", "deleted"],
        &["unpublished", "created", "prereleased", "released"],
    ),
    ("registry_package", &["published"], &["updated"]),
];

const PR_TYPES: &[&str] = &[
    "opened",
    "edited",
    "closed",
    "reopened",
    "assigned",
    "unassigned",
    "synchronize",
    "labeled",
    "unlabeled",
    "review_requested",
    "review_request_removed",
    "milestoned",
    "demilestoned",
];

const PR_GITHUB_ONLY: &[&str] = &[
    "converted_to_draft",
    "ready_for_review",
    "locked",
    "unlocked",
    "auto_merge_enabled",
    "auto_merge_disabled",
    "enqueued",
    "dequeued",
];

/// Events that take no `types:` on Forgejo (it logs and ignores them).
const NO_TYPES: &[&str] = &[
    "create",
    "delete",
    "fork",
    "gollum",
    "schedule",
    "workflow_dispatch",
];

/// Forgejo's payload names that are matched under GitHub's name.
fn github_name_of(forgejo: &str) -> Option<&'static str> {
    match forgejo {
        "synchronized" => Some("synchronize"),
        "label_updated" => Some("labeled"),
        "label_cleared" => Some("unlabeled"),
        "reviewed" => Some("submitted"),
        "updated" => Some("edited"),
        _ => None,
    }
}

/// A glob with `*` and `?` (no separators occur in type names), matched against `name`:
/// dynamic programming over (pattern, name) positions, so any pattern is O(len × len).
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    // reach[j]: the pattern read so far can match name[..j].
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for &c in pattern {
        let mut next = vec![false; name.len() + 1];
        for j in 0..=name.len() {
            match c {
                b'*' => next[j] = reach[j] || (j > 0 && next[j - 1]),
                b'?' => next[j] = j > 0 && reach[j - 1],
                _ => next[j] = j > 0 && reach[j - 1] && name[j - 1] == c,
            }
        }
        reach = next;
    }
    reach[name.len()]
}

fn matches_any(pattern: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| glob_matches(pattern.as_bytes(), n.as_bytes()))
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for event in &ctx.wf.events {
        let Some(types) = event.config.and_then(|c| c.get("types")) else {
            continue;
        };
        if types.is_null() || is_expression(types) {
            continue;
        }
        if NO_TYPES.contains(&event.name) {
            let f = out.node(
                &CODE,
                types,
                format!(
                    "Forgejo ignores `types:` on `{}`: the event has no activity types",
                    event.name
                ),
            );
            f.level = Severity::Warning;
            continue;
        }
        let Some(&(_, sent, github_only)) = TYPES.iter().find(|(e, _, _)| *e == event.name) else {
            continue;
        };
        let items: Vec<&Node> = match types.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![types],
        };
        for item in items {
            let Some(text) = item.as_str() else { continue };
            // Brackets and braces are glob syntax this rule does not evaluate.
            if is_expression(item) || text.contains(['[', '{', '\\']) || matches_any(text, sent) {
                continue;
            }
            if matches_any(text, github_only) {
                let f = out.node(
                    &CODE,
                    item,
                    format!(
                        "Forgejo never sends `{}` with type `{text}`: this entry never matches on Forgejo",
                        event.name
                    ),
                );
                f.level = Severity::Warning;
                f.note(format!("types Forgejo sends: {}", sent.join(", ")));
                continue;
            }
            let f = out.node(
                &CODE,
                item,
                format!(
                    "`{}` has no activity type `{}`: this entry never matches",
                    event.name,
                    text.escape_debug()
                ),
            );
            match github_name_of(text).filter(|g| sent.contains(g)) {
                Some(g) => f.note(format!(
                    "`{text}` is Forgejo's payload name; `types:` matches GitHub's name `{g}`"
                )),
                None => f.note(format!("types Forgejo sends: {}", sent.join(", "))),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_globs() {
        assert!(matches_any("*", PR_TYPES));
        assert!(matches_any("label*", PR_TYPES));
        assert!(matches_any("open?d", PR_TYPES));
        assert!(!matches_any("synchronized", PR_TYPES));
        assert!(!matches_any("ready_for_*", PR_TYPES));
    }
}
