//! Which context values are controlled by whoever triggers the event: every event field that
//! can hold chosen text (under all four spellings of the context: `github`, `forgejo`,
//! `forge`, `gitea`), branch and tag names, free-text dispatch inputs, and whole objects that
//! contain them. The data-flow analysis ([`crate::lint::taint`]) starts from these sources and
//! the rules (`lint.template_injection`, `lint.untrusted_env_write`) ask it, so this sits below both.

use crate::lint::expr::{ContextRef, Segment};
use crate::lint::model::Workflow;

/// The contexts Forgejo spells four ways, folded to `github`.
pub fn github_alias(root: &str) -> bool {
    matches!(root, "github" | "forgejo" | "forge" | "gitea")
}

/// Fields of the event payload that hold no attacker text: numbers, ids, hashes, timestamps,
/// booleans, fixed action words, and user, repository and URL names (Forgejo restricts them
/// to letters, digits, `-`, `_` and `.`). Every other field under `event` is treated as
/// chosen by whoever triggers the event (titles, bodies, messages, names and emails of
/// authors and committers, branch, tag and label names, file names, review and comment text,
/// descriptions, ... and any field this list does not know).
const SAFE_EVENT_LEAVES: &[&str] = &[
    "number",
    "id",
    "sha",
    "before",
    "after",
    "action",
    "merged",
    "draft",
    "state",
    "login",
    "username",
    "login_name",
    "private",
    "fork",
    "size",
    "forced",
    "created",
    "deleted",
    "ref_type",
    "schedule",
    "mergeable",
    "total_commits",
    "additions",
    "deletions",
    "changed_files",
    "comments",
    "timestamp",
];

fn safe_event_field(path: &[Option<String>]) -> bool {
    let Some(Some(leaf)) = path.last() else {
        return false;
    };
    let parent = path.len().checked_sub(2).and_then(|i| path[i].as_deref());
    let repo_parent = matches!(
        parent,
        Some("repository" | "repo" | "base_repo" | "head_repo")
    );
    SAFE_EVENT_LEAVES.contains(&leaf.as_str())
        || ["_sha", "_id", "_at", "_count", "_url"]
            .iter()
            .any(|s| leaf.ends_with(s))
        || leaf == "url"
        || (repo_parent && matches!(leaf.as_str(), "name" | "full_name"))
        || event_repository_owner(path)
}

/// `event.repository.owner.<name>`: the owner of the repository the workflow runs in named
/// it, and can already change the workflow. A pull request's head repository is a fork, so
/// its owner is not trusted (`pull_request.head.repo.owner.*` stays untrusted).
fn event_repository_owner(path: &[Option<String>]) -> bool {
    let tail: Vec<Option<&str>> = path.iter().rev().take(4).map(|p| p.as_deref()).collect();
    matches!(
        tail.as_slice(),
        [
            Some("name" | "full_name"),
            Some("owner"),
            Some("repository"),
            Some("event")
        ]
    )
}

fn names(r: &ContextRef) -> Vec<Option<String>> {
    r.path
        .iter()
        .map(|s| match s {
            Segment::Name(n) | Segment::Index(n) => Some(n.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Why dispatch input `name` is untrusted (free text), or `None` (a boolean, a call input).
fn input_why(name: &str, wf: &Workflow<'_>) -> Option<String> {
    let find = |list: &[crate::lint::model::Input<'_>]| {
        list.iter()
            .find(|i| i.name.eq_ignore_ascii_case(name))
            .map(|i| i.kind.unwrap_or("string").to_string())
    };
    // Call inputs come from the calling workflow's code, not from a person; dispatch
    // inputs are typed by whoever dispatches. A boolean is a real boolean; every other
    // type is free text (Forgejo does not even check a `choice` against its options).
    let kind = match find(&wf.dispatch_inputs) {
        Some(kind) => kind,
        None if find(&wf.call_inputs).is_some() => return None,
        None if wf.has_event("workflow_dispatch") => "undeclared".to_string(),
        None => return None,
    };
    (kind != "boolean").then(|| {
        format!(
            "dispatch input `{name}` ({kind}) is text chosen by whoever dispatches the workflow"
        )
    })
}

/// Why a value `r` reads straight from the event or the inputs can only be chosen by someone
/// with write access to the repository, who can already change what this workflow runs, or
/// `None`. Such a value is a warning, not an error: it breaks the script only when a
/// maintainer gives it quotes or `$(...)`, and injects nothing its chooser could not run anyway.
///
/// - `ref`, `ref_name`, `base_ref`: branch and tag names of this repository (pushed, dispatched
///   from, released, or the base of a pull request); never the head branch of a pull request
///   (`head_ref`, chosen by its author, stays an error).
/// - a `choice` dispatch input: Forgejo offers only the options in its form, but does not check
///   a dispatched value against them (its API passes any string through); only a user with
///   write access to the repository's actions may dispatch.
pub fn writer_chosen(r: &ContextRef, wf: &Workflow<'_>) -> Option<&'static str> {
    let path = names(r);
    let first = path.first().cloned().flatten();
    let input = if github_alias(&r.root) {
        match first.as_deref() {
            Some("ref" | "ref_name" | "base_ref") => {
                return Some(
                    "only someone who can push to this repository names its branches and tags, and they can already change what this workflow runs; still, git allows quotes and `$(...)` in a name, so pass it through `env:`",
                );
            }
            Some("event") if path.get(1).cloned().flatten().as_deref() == Some("inputs") => {
                path.get(2).cloned().flatten()
            }
            _ => None,
        }
    } else if r.root == "inputs" {
        first
    } else {
        None
    };
    let name = input?;
    let choice = wf
        .dispatch_inputs
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(&name))
        .is_some_and(|i| i.kind == Some("choice"));
    choice.then_some(
        "a `choice` input: the dispatch form offers only its options, but Forgejo does not check a dispatched value against them, so a user with write access to the repository's actions can send any text through the API",
    )
}

/// Why `r` is untrusted, or `None`. A reference to an object that contains untrusted text
/// (`github.event.pull_request`, `github`) counts too: `toJSON` of it carries the title.
pub fn untrusted(r: &ContextRef, wf: &Workflow<'_>) -> Option<String> {
    let path = names(r);
    if github_alias(&r.root) {
        let whole = || {
            format!(
                "`{}` contains values controlled by whoever triggers the event (e.g. `{}.event.pull_request.title`)",
                r.dotted(),
                r.root
            )
        };
        return match path.first() {
            None | Some(None) => Some(whole()),
            Some(Some(first)) => match first.as_str() {
                "head_ref" | "base_ref" | "ref" | "ref_name" => Some(format!(
                    "`{}` is a branch or tag name: git allows `$(...)`, `;` and backquotes in it, and whoever pushes or opens the pull request chooses it",
                    r.dotted()
                )),
                "event" => match path.get(1) {
                    None | Some(None) => Some(whole()),
                    Some(Some(second)) if second == "inputs" => match path.get(2) {
                        Some(Some(name)) => input_why(name, wf),
                        _ => Some(whole()),
                    },
                    Some(Some(_)) if safe_event_field(&path) => None,
                    Some(Some(_))
                        if path.len() == 2 || path.last().is_some_and(Option::is_none) =>
                    {
                        Some(format!(
                            "`{}` is, or contains, text controlled by whoever triggers the event",
                            r.dotted()
                        ))
                    }
                    Some(Some(_)) => Some(format!(
                        "`{}` is controlled by whoever triggers the event",
                        r.dotted()
                    )),
                },
                _ => None,
            },
        };
    }
    if r.root == "inputs" {
        return input_why(path.first()?.as_deref()?, wf);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::safe_event_field;

    fn path(text: &str) -> Vec<Option<String>> {
        text.split('.').map(|p| Some(p.to_string())).collect()
    }

    #[test]
    fn the_event_repositorys_owner_is_trusted_a_forks_owner_is_not() {
        assert!(safe_event_field(&path("event.repository.owner.name")));
        assert!(safe_event_field(&path("event.repository.owner.full_name")));
        assert!(!safe_event_field(&path(
            "event.pull_request.head.repo.owner.full_name"
        )));
        assert!(!safe_event_field(&path(
            "event.pull_request.user.full_name"
        )));
        assert!(!safe_event_field(&path("event.repository.description")));
    }
}
