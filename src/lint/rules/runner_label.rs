//! `lint.runner_label`: a `runs-on` label the instance does not have, so the job would wait
//! for a runner forever. Only checked when the policy lists the instance's labels
//! (`lint.runner_labels`); labels are whatever the admin configured.
use super::{Ctx, Rule, Sink, is_expression};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.runner_label",
    Error,
    "A `runs-on` label is not one of the instance's runner labels (from the policy).",
    "Use a label from `lint.runner_labels`, or add the new label to the policy once a runner carries it."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let known = &ctx.policy.runner_labels;
    if known.is_empty() {
        return;
    }
    for job in &ctx.wf.jobs {
        let Some(v) = job.node.get("runs-on") else {
            continue;
        };
        let target = v.get("labels").unwrap_or(v);
        let labels: Vec<&Node> = match target.as_seq() {
            Some(items) => items.iter().collect(),
            None => vec![target],
        };
        for label in labels {
            let Some(text) = label.as_str() else { continue };
            if is_expression(label) || label.is_null() {
                continue;
            }
            if !known.iter().any(|k| k == text) {
                out.node(
                    &CODE,
                    label,
                    format!("no runner has the label `{}`", text.escape_debug()),
                )
                .note(format!("known labels: {}", known.join(", ")));
            }
        }
    }
}
