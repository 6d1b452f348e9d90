//! `lint.ignored_by_forgejo`: keys Forgejo accepts and then ignores. Not an error (the
//! workflow runs), but whoever wrote them expects an effect that never happens. Which keys
//! these are is data: the rows marked [`Status::Ignored`] in the schema's tables of the
//! workflow, of a job and of a reusable-workflow call. Their values are not checked at all
//! (Forgejo does not read them), so nothing about them is ever an error.
use super::schema::{CALL_JOB, JOB, Key, ROOT, Status};
use super::{Ctx, Rule, Sink};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.ignored_by_forgejo",
    Warning,
    "Forgejo accepts this key but ignores it.",
    "Remove the key, or get the effect another way (the message says how)."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Where a key sits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    Workflow,
    Job,
}

/// What Forgejo does instead, for each ignored key: the message and the note.
pub fn explain(key: &str, at: Level) -> Option<(&'static str, &'static str)> {
    Some(match (key, at) {
        ("permissions", Level::Workflow) => (
            "`permissions` is ignored by Forgejo",
            "the token's scope is fixed by Forgejo (read-only for pull requests from forks); scope secrets and tokens instead",
        ),
        ("permissions", Level::Job) => (
            "job-level `permissions` is ignored by Forgejo",
            "the job token's scope is fixed by Forgejo",
        ),
        ("continue-on-error", Level::Job) => (
            "job-level `continue-on-error` is ignored by Forgejo: a failing job fails the run",
            "put `continue-on-error` on the steps that may fail (step level works)",
        ),
        ("environment", Level::Job) => (
            "`environment` is ignored by Forgejo: no protection rules, approvals or environment secrets apply",
            "protect deploys inside the job (gates that block), and keep secrets in repository or organisation secrets",
        ),
        ("concurrency", Level::Job) => (
            "job-level `concurrency` is ignored by Forgejo",
            "use workflow-level `concurrency` (Forgejo v14 and later)",
        ),
        _ => return None,
    })
}

fn report(out: &mut Sink<'_>, node: &Node, table: &[Key], at: Level) {
    for (k, _) in node.as_map().unwrap_or(&[]) {
        let Some(name) = k.as_str() else { continue };
        if !table
            .iter()
            .any(|row| row.name == name && row.status == Status::Ignored)
        {
            continue;
        }
        match explain(name, at) {
            Some((message, note)) => {
                out.node(&CODE, k, message).note(note);
            }
            None => {
                out.node(&CODE, k, format!("`{name}` is ignored by Forgejo"));
            }
        }
    }
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    report(out, ctx.wf.root, ROOT, Level::Workflow);
    for job in &ctx.wf.jobs {
        let table = if job.node.get("uses").is_some() {
            CALL_JOB
        } else {
            JOB
        };
        report(out, job.node, table, Level::Job);
    }
}

#[cfg(test)]
mod tests {
    use super::{Level, explain};
    use crate::lint::rules::schema::{CALL_JOB, JOB, ROOT, Status};

    #[test]
    fn every_ignored_key_says_what_to_do_instead() {
        for (table, at) in [
            (ROOT, Level::Workflow),
            (JOB, Level::Job),
            (CALL_JOB, Level::Job),
        ] {
            for row in table.iter().filter(|r| r.status == Status::Ignored) {
                assert!(explain(row.name, at).is_some(), "{}", row.name);
            }
        }
    }
}
