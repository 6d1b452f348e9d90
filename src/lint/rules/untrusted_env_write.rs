//! `lint.untrusted-env-write`: a `run:` script writes untrusted text into `$GITHUB_ENV` /
//! `$FORGEJO_ENV` (every later step then runs with attacker-chosen variables, e.g.
//! `LD_PRELOAD`) or `$GITHUB_PATH` / `$FORGEJO_PATH`. The text arrives through an `env:`
//! variable set from an untrusted expression, or through `${{ }}` on the writing line.
use super::template_injection::untrusted;
use super::{Ctx, Rule, Sink};
use crate::lint::expr;
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.untrusted-env-write",
    Error,
    "Untrusted text is written to $GITHUB_ENV/$FORGEJO_ENV or $GITHUB_PATH/$FORGEJO_PATH.",
    "Do not export event or input text to later steps; validate it first (e.g. against a strict pattern) or pass it to each step through `env:`."
);

pub static RULE: Rule = Rule { code: &CODE, check };

const FILES: &[&str] = &["GITHUB_ENV", "FORGEJO_ENV", "GITHUB_PATH", "FORGEJO_PATH"];

/// Names of `env:` entries in `node` whose value expands untrusted text.
fn tainted_env(node: Option<&Node>, ctx: &Ctx<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in node.and_then(Node::as_map).unwrap_or(&[]) {
        let (Some(name), Some(text)) = (k.as_str(), v.as_str()) else {
            continue;
        };
        let Ok(found) = expr::find_expressions(text) else {
            continue;
        };
        for emb in found {
            let Ok(e) = &emb.expr else { continue };
            if let Some(r) = expr::context_refs(e)
                .iter()
                .find(|r| untrusted(r, ctx.wf).is_some())
            {
                out.push((name.to_string(), r.dotted()));
                break;
            }
        }
    }
    out
}

fn mentions_var(line: &str, name: &str) -> bool {
    line.contains(&format!("${name}")) && {
        // `$NAME` must not continue into a longer name (`$NAMES`).
        line.match_indices(&format!("${name}")).any(|(i, m)| {
            !line[i + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    } || line.contains(&format!("${{{name}}}"))
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
            let mut tainted = tainted_env(step.env, ctx);
            tainted.extend(job_env.iter().cloned());
            tainted.extend(workflow_env.iter().cloned());
            let mut offset = 0;
            for line in script.split('\n') {
                let here = offset;
                offset += line.len() + 1;
                if !FILES.iter().any(|f| line.contains(f)) {
                    continue;
                }
                if let Some((name, from)) = tainted.iter().find(|(n, _)| mentions_var(line, n)) {
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
