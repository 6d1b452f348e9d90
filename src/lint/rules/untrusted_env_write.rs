//! `lint.untrusted_env_write`: a `run:` script writes untrusted text into `$GITHUB_ENV` /
//! `$FORGEJO_ENV` (every later step then runs with attacker-chosen variables, e.g.
//! `LD_PRELOAD`) or `$GITHUB_PATH` / `$FORGEJO_PATH`. The text arrives through an `env:`
//! variable set from an untrusted expression, or through `${{ }}` on the writing line.
use super::{Ctx, Rule, Sink};
use crate::lint::expr;
use crate::lint::taint::shell_vars;
use crate::lint::untrusted::untrusted;
use crate::report::code::code;
use crate::yaml::Node;
use std::collections::HashMap;

code!(
    CODE,
    "lint.untrusted_env_write",
    Error,
    "Untrusted text is written to $GITHUB_ENV/$FORGEJO_ENV or $GITHUB_PATH/$FORGEJO_PATH.",
    "Do not export event or input text to later steps; validate it first (e.g. against a strict pattern) or pass it to each step through `env:`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

const FILES: &[&str] = &["GITHUB_ENV", "FORGEJO_ENV", "GITHUB_PATH", "FORGEJO_PATH"];

/// Names of `env:` entries in `node` whose value expands untrusted text.
fn tainted_env(node: Option<&Node>, ctx: &Ctx<'_>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in node.and_then(Node::as_map).unwrap_or(&[]) {
        let (Some(name), Some(text)) = (k.as_str(), v.as_str()) else {
            continue;
        };
        let Ok(found) = ctx.wf.expressions(text) else {
            continue;
        };
        for emb in found.iter() {
            let Ok(e) = &emb.expr else { continue };
            if let Some(r) = expr::context_refs(e)
                .iter()
                .find(|r| untrusted(r, ctx.wf).is_some())
            {
                out.insert(name.to_string(), r.dotted());
                break;
            }
        }
    }
    out
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let workflow_env = tainted_env(ctx.wf.root.get("env"), ctx);
    for job in &ctx.wf.jobs {
        let job_env = tainted_env(job.node.get("env"), ctx);
        for step in &job.steps {
            let (Some(run), Some(script)) = (step.run, step.run_text()) else {
                continue;
            };
            if !FILES.iter().any(|f| script.contains(f)) {
                continue;
            }
            let step_env = tainted_env(step.env, ctx);
            // Looked up per expanded variable: no copy of the outer scopes per step, no scan
            // of every variable per line (linear however many variables and steps).
            let lookup = |name: &str| -> Option<(String, String)> {
                [&step_env, &job_env, &workflow_env]
                    .iter()
                    .find_map(|m| m.get(name))
                    .map(|from| (name.to_string(), from.clone()))
            };
            let mut offset = 0;
            for line in script.split('\n') {
                let here = offset;
                offset += line.len() + 1;
                if !FILES.iter().any(|f| line.contains(f)) {
                    continue;
                }
                if let Some((name, from)) = shell_vars(line).into_iter().find_map(lookup) {
                    let at = line
                        .find(&format!("${name}"))
                        .or_else(|| line.find(&format!("${{{name}}}")))
                        .unwrap_or(0);
                    out.expr(&CODE, run, expr::Span::new(here + at, here + at + name.len() + 1), format!("`${name}` (set from `{from}`) is written to the environment or PATH of later steps"));
                    continue;
                }
                // `${{ }}` with untrusted text on the writing line itself.
                if let Ok(found) = expr::find_expressions(line) {
                    for emb in found {
                        let Ok(e) = &emb.expr else { continue };
                        if let Some(r) = expr::context_refs(e)
                            .into_iter()
                            .find(|r| untrusted(r, ctx.wf).is_some())
                        {
                            out.expr(
                                &CODE,
                                run,
                                r.span.shifted(here),
                                format!(
                                    "`{}` is written to the environment or PATH of later steps",
                                    r.dotted()
                                ),
                            );
                            break;
                        }
                    }
                }
            }
        }
    }
}
