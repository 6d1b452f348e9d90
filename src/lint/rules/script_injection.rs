//! `lint.script_injection`: untrusted text pasted by `${{ }}` into an action input that the
//! action runs as code: the `script:` of `actions/github-script` (and its Forgejo mirrors,
//! e.g. `https://data.forgejo.org/actions/github-script`), the remote shell script of
//! `appleboy/ssh-action`, and the other inputs in [`CODE_INPUTS`]. The runner substitutes the
//! expression before the action sees the text, exactly as for `run:`, so a pull request
//! title with `'); process.exit(…) //` becomes JavaScript.
//!
//! What is untrusted, and how it travels through `env:`, step and job outputs, is the same
//! analysis as `lint.template_injection` ([`crate::lint::taint`]). `toJSON(...)` as a whole
//! expression outside any string literal of a JavaScript input is a JSON literal, which is
//! also a JavaScript literal: reported as info.
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{ExprKind, Span};
use crate::lint::taint::{Flow, text_refs};
use crate::report::Severity;
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.script_injection",
    Error,
    "Untrusted text is pasted by `${{ }}` into an action input that runs as code (`actions/github-script`'s `script`, `appleboy/ssh-action`'s `script`, ...).",
    "Pass the value through `env:` and read it from the environment in the script (`process.env.TITLE` in github-script, `$TITLE` in a shell), never paste it into the code."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// What language an input is in (for the `toJSON` exemption).
#[derive(Clone, Copy, PartialEq)]
enum Lang {
    JavaScript,
    Shell,
    Other,
}

/// Actions (`owner/repo`, any host, any ref) and their inputs that are run as code.
const CODE_INPUTS: &[(&str, &str, Lang)] = &[
    ("actions/github-script", "script", Lang::JavaScript),
    ("cardinalby/js-eval-action", "expression", Lang::JavaScript),
    ("appleboy/ssh-action", "script", Lang::Shell),
    ("garygrossgarten/github-action-ssh", "command", Lang::Shell),
    ("addnab/docker-run-action", "run", Lang::Shell),
    ("mathiasvr/command-output", "run", Lang::Shell),
    ("nick-fields/retry", "command", Lang::Shell),
    ("nick-invision/retry", "command", Lang::Shell),
    ("wandalen/wretry.action", "command", Lang::Shell),
    ("azure/cli", "inlinescript", Lang::Shell),
    ("azure/powershell", "inlinescript", Lang::Other),
    ("amadevus/pwsh-script", "script", Lang::Other),
    ("jannekem/run-python-script-action", "script", Lang::Other),
];

/// `owner/repo` of a `uses:` value in either form Forgejo accepts, lowercased.
fn action_name(uses: &str) -> Option<String> {
    let path = uses.trim().split('@').next()?;
    let path = path
        .strip_prefix("https://")
        .or_else(|| path.strip_prefix("http://"))
        .map_or(path, |rest| rest.split_once('/').map_or("", |(_, p)| p));
    let mut parts = path.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !repo.is_empty()).then(|| format!("{owner}/{repo}").to_ascii_lowercase())
}

/// True when `at` in `script` is outside every JavaScript string literal: backquotes are
/// counted over the whole prefix (template literals span lines), quotes on the same line.
fn outside_js_string(script: &str, at: usize) -> bool {
    let prefix = script.get(..at).unwrap_or("");
    let line = prefix.rsplit('\n').next().unwrap_or("");
    let count = |s: &str, c: char| s.chars().filter(|&x| x == c).count();
    count(prefix, '`') % 2 == 0 && count(line, '\'') % 2 == 0 && count(line, '"') % 2 == 0
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    for (j, job) in ctx.wf.jobs.iter().enumerate() {
        for (s, step) in job.steps.iter().enumerate() {
            let Some(name) = step.uses.and_then(Node::as_str).and_then(action_name) else {
                continue;
            };
            let Some(with) = step.node.get("with").and_then(Node::as_map) else {
                continue;
            };
            for (k, v) in with {
                let Some(key) = k.as_str() else { continue };
                let Some(&(_, _, lang)) = CODE_INPUTS
                    .iter()
                    .find(|(a, i, _)| *a == name && i.eq_ignore_ascii_case(key))
                else {
                    continue;
                };
                let Some(text) = v.as_str().filter(|t| t.contains("${{")) else {
                    continue;
                };
                report(out, ctx.flow, v, text, key, &name, lang, (j, s));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    out: &mut Sink<'_>,
    flow: &Flow<'_>,
    node: &Node,
    text: &str,
    key: &str,
    action: &str,
    lang: Lang,
    (job, step): (usize, usize),
) {
    let Ok(found) = crate::lint::expr::find_expressions(text) else {
        return;
    };
    for emb in found {
        let Ok(e) = &emb.expr else { continue };
        let tainted: Vec<_> = text_refs(e)
            .into_iter()
            .filter_map(|r| flow.why(&r, Some(job), Some(step)).map(|w| (r, w)))
            .collect();
        let Some((first, _)) = tainted.first() else {
            continue;
        };
        let mut inner = e;
        while let ExprKind::Group(g) = &inner.kind {
            inner = g;
        }
        if lang == Lang::JavaScript
            && inner.is_call_to("toJSON")
            && outside_js_string(text, emb.span.start)
        {
            let f = out.expr(
                &CODE,
                node,
                Span::new(first.span.start, first.span.end),
                format!(
                    "`{}` is pasted as JSON into the `{key}` of `{action}`",
                    first.dotted()
                ),
            );
            f.level = Severity::Info;
            f.note("outside any string literal a JSON value is a JavaScript literal, so it cannot become code");
            continue;
        }
        for (r, why) in tainted {
            out.expr(
                &CODE,
                node,
                r.span,
                format!(
                    "`{}` is pasted into the `{key}` of `{action}`, which runs it as code",
                    r.dotted()
                ),
            )
            .note(why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_read_in_both_forms() {
        assert_eq!(
            action_name("https://data.forgejo.org/actions/github-script@v7").as_deref(),
            Some("actions/github-script")
        );
        assert_eq!(
            action_name("Appleboy/SSH-Action@v1").as_deref(),
            Some("appleboy/ssh-action")
        );
        assert_eq!(action_name("./local").as_deref(), Some("./local"));
        assert_eq!(action_name("docker://alpine").as_deref(), None);
    }

    #[test]
    fn string_literals_are_seen_across_lines_for_backquotes_only() {
        assert!(outside_js_string("const a = X", 10));
        assert!(!outside_js_string("const a = 'X", 11));
        assert!(!outside_js_string("const a = `\nX", 12));
        assert!(outside_js_string("const b = 'q'\nconst a = X", 24));
    }
}
