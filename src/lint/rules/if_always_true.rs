//! `lint.if_always_true`: a job or step `if:` holding one `${{ }}` with whitespace or a line
//! break around it, which is always true. The runner (forgejo-runner's `EvalBool`, as act's)
//! keeps the condition as one expression only when the text is exactly `${{ ... }}`; any other
//! text, even the line break a `|` or `>` block scalar ends with, turns it into
//! `format('{0}\n', ...)`, a non-empty string, so the job or step always runs. Text beside the
//! expression that is not whitespace (`${{ a }} && b`) is the same mistake and is reported by
//! `lint.expression`. Bare conditions (no `${{`) are evaluated as written and are fine in any
//! scalar style.
use super::{Ctx, Rule, Sink};
use crate::report::code::code;

code!(
    CODE,
    "lint.if_always_true",
    Error,
    "An `if:` holds `${{ }}` with whitespace or a line break around it (e.g. a `|` block scalar), which makes it a non-empty string: always true.",
    "Write the condition without `${{ }}` (`if: github.event_name == 'push'`), or on one line with nothing around it; a block scalar needs `|-` or `>-`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for site in &ctx.wf.sites {
        if !site.is_if() || site.job.is_none() {
            continue;
        }
        // Only conditions `lint.expression` accepted: one expression once trimmed.
        let Some(Ok(_)) = &site.bare_if else { continue };
        let Some(text) = site.scalar.as_str() else {
            continue;
        };
        if !text.contains("${{") || text.trim() == text {
            continue;
        }
        let why = if text.trim_end() != text && text.trim_end_matches([' ', '\t']) != text {
            "the spaces after the expression"
        } else if text.trim_end() != text {
            "the line break that ends a `|` or `>` block scalar"
        } else {
            "the whitespace before the expression"
        };
        let what = if site.step.is_some() { "step" } else { "job" };
        out.node(
            &CODE,
            site.scalar,
            format!(
                "this `if:` is always true: {why} turns it into a string, not a condition, so the {what} always runs"
            ),
        )
        .note("the runner evaluates it as `format('{0}\\n', <condition>)`, which is never empty");
    }
}
