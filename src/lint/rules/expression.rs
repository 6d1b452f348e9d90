//! `lint.expression`: every `${{ }}` and `if:` is parsed. Syntax errors, unknown functions
//! and unknown contexts are findings. `forgejo`, `forge` and `gitea` are the same context as
//! `github`, and `secrets` is allowed in `if:`, as on Forgejo.
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{self, ExprKind};
use crate::report::code::code;

code!(
    CODE,
    "lint.expression",
    Error,
    "An expression does not parse, calls an unknown function or reads an unknown context.",
    "Fix the expression; see the functions and contexts Forgejo Actions provides."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Contexts Forgejo Actions provides (`jobs` only in reusable-workflow outputs).
pub const CONTEXTS: &[&str] = &[
    "github", "forgejo", "forge", "gitea", "env", "vars", "secrets", "inputs", "needs", "steps",
    "matrix", "strategy", "job", "jobs", "runner",
];

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for site in &ctx.wf.sites {
        match &site.exprs {
            Err(e) => {
                out.expr(&CODE, site.scalar, e.span, e.message.clone());
            }
            Ok(found) => {
                for emb in found {
                    if let Err(e) = &emb.expr {
                        out.expr(&CODE, site.scalar, e.span, e.message.clone());
                    }
                }
            }
        }
        if let Some(Err(e)) = &site.bare_if {
            out.expr(&CODE, site.scalar, e.span, e.message.clone());
        }
        for (e, refs) in site.parsed_refs() {
            e.walk(|node| {
                if let ExprKind::Call {
                    name, name_span, ..
                } = &node.kind
                    && !expr::is_known_function(name)
                {
                    out.expr(
                        &CODE,
                        site.scalar,
                        *name_span,
                        format!("unknown function `{name}`"),
                    )
                    .note(format!(
                        "known functions: {}",
                        expr::KNOWN_FUNCTIONS.join(", ")
                    ));
                }
            });
            for r in refs {
                if !CONTEXTS.contains(&r.root.as_str()) {
                    out.expr(
                        &CODE,
                        site.scalar,
                        r.span,
                        format!("unknown context `{}`", r.root),
                    )
                    .note(format!("contexts: {}", CONTEXTS.join(", ")));
                }
            }
        }
    }
}
