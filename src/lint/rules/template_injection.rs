//! `lint.template_injection`: attacker-controlled text expanded by `${{ }}` inside a `run:`
//! script becomes shell code. Untrusted values are every event field that can hold chosen
//! text (under all four spellings of the context: `github`, `forgejo`, `forge`, `gitea`),
//! branch and tag names, free-text dispatch inputs, whole objects that contain them, and what
//! carries them on: `env:` variables, step outputs and `needs` outputs ([`crate::lint::taint`]).
//! `toJSON(...)` alone on a line of a quoted heredoc read as data cannot break out and is
//! reported as info ([`crate::lint::heredoc`]).
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{ContextRef, Expr, ExprKind, Span};
use crate::lint::heredoc;
use crate::lint::taint::text_refs;
use crate::lint::untrusted::writer_chosen;
use crate::report::code::code;

code!(
    CODE,
    "lint.template_injection",
    Error,
    "Untrusted text (a PR title, a branch name, a comment, a free-text input, ...) is pasted into a `run:` script by `${{ }}`.",
    "Pass the value through `env:` (e.g. `env: TITLE: ${{ forge.event.pull_request.title }}`) and use \"$TITLE\" in the script, quoted."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Commands that only read a here-document as data. Anything else (a shell, `python`,
/// `xargs`, `sudo`, an unknown program) may run what it reads, so JSON in it stays an error.
const DATA_READERS: &[&str] = &[
    "cat",
    "tee",
    "jq",
    "yq",
    "head",
    "tail",
    "grep",
    "wc",
    "sort",
    "base64",
    "sha256sum",
    "md5sum",
];

fn default_shell(defaults: Option<&crate::yaml::Node>) -> Option<&str> {
    defaults
        .and_then(|d| d.get("run"))
        .and_then(|r| r.get("shell"))
        .and_then(crate::yaml::Node::as_str)
}

/// The step's shell is a POSIX shell (the default, `bash` or `sh`), so heredocs mean what
/// [`heredoc`] says.
fn posix_shell(ctx: &Ctx<'_>, job: usize, step: usize) -> bool {
    let Some(j) = ctx.wf.jobs.get(job) else {
        return false;
    };
    let shell = j
        .steps
        .get(step)
        .and_then(|s| s.node.get("shell"))
        .and_then(crate::yaml::Node::as_str)
        .or_else(|| default_shell(j.node.get("defaults")))
        .or_else(|| default_shell(ctx.wf.root.get("defaults")));
    match shell {
        None => true,
        Some(s) => {
            let program = s.split_whitespace().next().unwrap_or("");
            matches!(program, "bash" | "sh") && (s.trim() == program || s.contains("{0}"))
        }
    }
}

/// True when no line of `toJSON` output can equal `delimiter`: Forgejo's runner prints JSON
/// indented by spaces, with every newline and tab inside strings escaped, so a line is
/// indented, a bracket, or one top-level scalar.
fn json_cannot_end(delimiter: &str) -> bool {
    let first = delimiter.chars().next();
    !delimiter.is_empty()
        && !first.is_some_and(|c| c.is_whitespace() || c.is_ascii_digit() || c == '"' || c == '-')
        && !matches!(
            delimiter,
            "{" | "}" | "[" | "]" | "{}" | "[]" | "true" | "false" | "null"
        )
}

/// Why `toJSON(...)` at `span` of `script` cannot break out, or `None`: it is the whole
/// expression, alone on its line, inside the body of a quoted heredoc read by a data reader,
/// with a delimiter no JSON line can equal.
fn inert_json(script: &str, span: Span, expr: &Expr, docs: &[heredoc::Heredoc]) -> Option<String> {
    let mut e = expr;
    while let ExprKind::Group(inner) = &e.kind {
        e = inner;
    }
    if !e.is_call_to("toJSON") {
        return None;
    }
    let line_start = script[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = script[span.end..]
        .find('\n')
        .map_or(script.len(), |i| span.end + i);
    let alone = script[line_start..span.start]
        .trim_matches([' ', '\t'])
        .is_empty()
        && script[span.end..line_end]
            .trim_matches([' ', '\t'])
            .is_empty();
    let doc = docs
        .iter()
        .find(|d| d.body.start <= span.start && span.end <= d.body.end)?;
    let reader = doc.command.as_deref()?;
    (alone && doc.quoted && json_cannot_end(&doc.delimiter) && DATA_READERS.contains(&reader))
        .then(|| {
            format!(
                "inside a quoted heredoc (delimiter `{}`) read by `{reader}`: the shell expands nothing in it and no line of JSON can equal the delimiter",
                doc.delimiter
            )
        })
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let flow = ctx.flow;
    for site in ctx.wf.sites.iter().filter(|s| s.is_run()) {
        let Ok(found) = &site.exprs else { continue };
        let script = site.scalar.as_str().unwrap_or("");
        let mut docs: Option<Vec<heredoc::Heredoc>> = None;
        for emb in found {
            let Ok(e) = &emb.expr else { continue };
            let tainted: Vec<(ContextRef, String)> = text_refs(e)
                .into_iter()
                .filter_map(|r| flow.why(&r, site.job, site.step).map(|w| (r, w)))
                .collect();
            let Some((first, _)) = tainted.first() else {
                continue;
            };
            let shell_ok = match (site.job, site.step) {
                (Some(j), Some(s)) => posix_shell(ctx, j, s),
                _ => false,
            };
            if shell_ok {
                let docs = docs.get_or_insert_with(|| heredoc::heredocs(script));
                if let Some(why) = inert_json(script, emb.span, e, docs) {
                    let f = out.expr(
                        &CODE,
                        site.scalar,
                        first.span,
                        format!("`{}` is expanded as JSON into a script", first.dotted()),
                    );
                    f.level = crate::report::Severity::Info;
                    f.note(why);
                    continue;
                }
            }
            for (r, why) in tainted {
                let line = ctx.src.scalar_pos(site.scalar, r.span.start).0;
                let f = out.expr(
                    &CODE,
                    site.scalar,
                    r.span,
                    format!(
                        "`{}` is expanded into the shell script at line {line}",
                        r.dotted()
                    ),
                );
                match writer_chosen(&r, ctx.wf) {
                    Some(who) => {
                        f.level = crate::report::Severity::Warning;
                        f.note(format!("{why}; {who}"));
                    }
                    None => {
                        f.note(why);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::config::LintPolicy;
    use crate::lint::lint_text;
    use crate::report::Severity;

    /// The level of each template-injection finding, by the reference it names.
    fn levels(text: &str) -> Vec<(String, Severity)> {
        lint_text("t.yml", text, &LintPolicy::default())
            .into_iter()
            .filter(|f| f.code.id == "lint.template_injection")
            .map(|f| {
                let name = f.message.split('`').nth(1).unwrap_or("").to_string();
                (name, f.level)
            })
            .collect()
    }

    const WORKFLOW: &str = r#"on:
  pull_request_target:
  push:
  workflow_dispatch:
    inputs:
      target:
        type: choice
        options: [staging, production]
      note:
        type: string
jobs:
  a:
    runs-on: docker
    env:
      TAG: ${{ github.ref_name }}
    steps:
      - run: |
          echo "${{ github.ref_name }}" "${{ forgejo.ref }}" "${{ github.base_ref }}"
          echo "${{ inputs.target }}" "${{ github.event.inputs.target }}"
          echo "${{ github.head_ref }}" "${{ inputs.note }}" "${{ github.event.pull_request.title }}"
          echo "${{ env.TAG }}"
"#;

    #[test]
    fn values_only_a_maintainer_chooses_are_warnings_the_rest_errors() {
        let got = levels(WORKFLOW);
        let level = |name: &str| {
            got.iter()
                .find(|(n, _)| n == name)
                .map(|(_, l)| *l)
                .unwrap_or_else(|| panic!("{name} not reported: {got:?}"))
        };
        for warned in [
            "github.ref_name",
            "forgejo.ref",
            "github.base_ref",
            "inputs.target",
            "github.event.inputs.target",
        ] {
            assert_eq!(level(warned), Severity::Warning, "{warned}");
        }
        for error in [
            "github.head_ref",
            "inputs.note",
            "github.event.pull_request.title",
            // Carried through `env:`, the value's chooser is not followed: still an error.
            "env.tag",
        ] {
            assert_eq!(level(error), Severity::Error, "{error}");
        }
    }

    #[test]
    fn the_same_input_typed_as_a_string_stays_an_error() {
        let text = WORKFLOW.replace("type: choice", "type: string");
        let got = levels(&text);
        assert!(
            got.iter()
                .any(|(n, l)| n == "inputs.target" && *l == Severity::Error),
            "{got:?}"
        );
    }
}
