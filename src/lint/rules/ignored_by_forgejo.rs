//! `lint.ignored-by-forgejo`: keys Forgejo accepts and then ignores. Not an error (the
//! workflow runs), but whoever wrote them expects an effect that never happens.
use super::{Ctx, Rule, Sink};
use crate::report::code::code;

code!(
    CODE,
    "lint.ignored-by-forgejo",
    Warning,
    "Forgejo accepts this key but ignores it.",
    "Remove the key, or get the effect another way (the message says how)."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let root = ctx.wf.root;
    for (k, _) in root.as_map().unwrap_or(&[]) {
        match k.as_str() {
            Some("permissions") => {
                out.node(&CODE, k, "`permissions` is ignored by Forgejo").note(
                    "the token's scope is fixed by Forgejo (read-only for pull requests from forks); scope secrets and tokens instead",
                );
            }
            Some("run-name") => {
                out.node(&CODE, k, "`run-name` is ignored by Forgejo").note(
                    "Forgejo names a run after the commit or pull request title; put details in step output",
                );
            }
            _ => {}
        }
    }
    for job in &ctx.wf.jobs {
        for (k, _) in job.node.as_map().unwrap_or(&[]) {
            let msg = match k.as_str() {
                Some("permissions") => (
                    "job-level `permissions` is ignored by Forgejo",
                    "the job token's scope is fixed by Forgejo",
                ),
                Some("continue-on-error") => (
                    "job-level `continue-on-error` is ignored by Forgejo: a failing job fails the run",
                    "put `continue-on-error` on the steps that may fail (step level works)",
                ),
                Some("environment") => (
                    "`environment` is ignored by Forgejo: no protection rules, approvals or environment secrets apply",
                    "protect deploys inside the job (gates that block), and keep secrets in repository or organisation secrets",
                ),
                Some("concurrency") => (
                    "job-level `concurrency` is ignored by Forgejo",
                    "use workflow-level `concurrency` (Forgejo v14 and later)",
                ),
                _ => continue,
            };
            out.node(&CODE, k, msg.0).note(msg.1);
        }
    }
}
