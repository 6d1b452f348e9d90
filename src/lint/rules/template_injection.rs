//! `lint.template-injection`: attacker-controlled text expanded by `${{ }}` inside a `run:`
//! script becomes shell code. Untrusted values are recognised under all four spellings of
//! the context (`github`, `forgejo`, `forge`, `gitea`), including whole objects that contain
//! them (`toJSON(forge.event)`), and dispatch or call inputs that are free text.
use super::{Ctx, Rule, Sink, github_alias};
use crate::lint::expr::{self, ContextRef, Segment};
use crate::lint::model::Workflow;
use crate::report::code::code;

code!(
    CODE,
    "lint.template-injection",
    Error,
    "Untrusted text (a PR title, a branch name, a comment, a free-text input, ...) is pasted into a `run:` script by `${{ }}`.",
    "Pass the value through `env:` (e.g. `env: TITLE: ${{ forge.event.pull_request.title }}`) and use \"$TITLE\" in the script, quoted."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Paths under `github.` that carry text someone outside the team can choose (`*` is any
/// one segment).
const UNTRUSTED: &[&str] = &[
    "head_ref",
    "event.issue.title",
    "event.issue.body",
    "event.pull_request.title",
    "event.pull_request.body",
    "event.pull_request.head.ref",
    "event.pull_request.head.label",
    "event.pull_request.head.repo.default_branch",
    "event.pull_request.head.repo.description",
    "event.comment.body",
    "event.review.body",
    "event.review_comment.body",
    "event.discussion.title",
    "event.discussion.body",
    "event.pages.*.page_name",
    "event.commits.*.message",
    "event.commits.*.author.email",
    "event.commits.*.author.name",
    "event.head_commit.message",
    "event.head_commit.author.email",
    "event.head_commit.author.name",
    "event.workflow_run.head_branch",
    "event.workflow_run.display_title",
    "event.workflow_run.head_commit.message",
    "event.workflow_run.head_commit.author.email",
    "event.workflow_run.head_commit.author.name",
    "event.release.name",
    "event.release.body",
    "event.client_payload.*",
    "event.inputs.*",
];

fn names(r: &ContextRef) -> Vec<Option<String>> {
    r.path
        .iter()
        .map(|s| match s {
            Segment::Name(n) | Segment::Index(n) => Some(n.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Why `r` is untrusted, or `None`. A reference to an object that contains untrusted text
/// (`github.event.pull_request`) counts too: `toJSON` of it carries the title.
pub fn untrusted(r: &ContextRef, wf: &Workflow<'_>) -> Option<String> {
    let path = names(r);
    if github_alias(&r.root) {
        for pattern in UNTRUSTED {
            let pat: Vec<&str> = pattern.split('.').collect();
            let n = path.len().min(pat.len());
            // A dynamic segment (`[x]`, `.*`) may be any name.
            let matches = path[..n]
                .iter()
                .zip(&pat[..n])
                .all(|(seg, p)| *p == "*" || seg.as_deref().is_none_or(|s| s == *p));
            if matches {
                if path.len() >= pat.len() {
                    return Some(format!(
                        "`{}` is controlled by whoever triggers the event",
                        r.dotted()
                    ));
                }
                return Some(format!(
                    "`{}` contains values controlled by whoever triggers the event (e.g. `{}.{pattern}`)",
                    r.dotted(),
                    r.root
                ));
            }
        }
        return None;
    }
    if r.root == "inputs" {
        let name = path.first()?.as_deref()?;
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
        if kind != "boolean" {
            return Some(format!(
                "dispatch input `{name}` ({kind}) is text chosen by whoever dispatches the workflow"
            ));
        }
    }
    None
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for site in ctx.wf.sites.iter().filter(|s| s.is_run()) {
        for e in site.parsed() {
            for r in expr::context_refs(e) {
                if let Some(why) = untrusted(&r, ctx.wf) {
                    out.expr(
                        &CODE,
                        site.scalar,
                        r.span,
                        format!("`{}` is expanded into a shell script", r.dotted()),
                    )
                    .note(why);
                }
            }
        }
    }
}
