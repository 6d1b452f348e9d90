//! `lint.template-injection`: attacker-controlled text expanded by `${{ }}` inside a `run:`
//! script becomes shell code. Untrusted values are every event field that can hold chosen
//! text (under all four spellings of the context: `github`, `forgejo`, `forge`, `gitea`),
//! branch and tag names, free-text dispatch inputs, whole objects that contain them, and what
//! carries them on: `env:` variables, step outputs and `needs` outputs ([`crate::lint::taint`]).
//! `toJSON(...)` alone on a line of a quoted heredoc read as data cannot break out and is
//! reported as info ([`crate::lint::heredoc`]).
use super::{Ctx, Rule, Sink, github_alias};
use crate::lint::Level;
use crate::lint::expr::{ContextRef, Expr, ExprKind, Segment, Span};
use crate::lint::heredoc;
use crate::lint::model::Workflow;
use crate::lint::taint::{Flow, text_refs};
use crate::report::code::code;

code!(
    CODE,
    "lint.template-injection",
    Error,
    "Untrusted text (a PR title, a branch name, a comment, a free-text input, ...) is pasted into a `run:` script by `${{ }}`.",
    "Pass the value through `env:` (e.g. `env: TITLE: ${{ forge.event.pull_request.title }}`) and use \"$TITLE\" in the script, quoted."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Fields of the event payload that hold no attacker text: numbers, ids, hashes, timestamps,
/// booleans, fixed action words, and user, repository and URL names (Forgejo restricts them
/// to letters, digits, `-`, `_` and `.`). Every other field under `event` is treated as
/// chosen by whoever triggers the event (titles, bodies, messages, names and emails of
/// authors and committers, branch, tag and label names, file names, review and comment text,
/// descriptions, ... and any field this list does not know).
const SAFE_EVENT_LEAVES: &[&str] = &[
    "number",
    "id",
    "sha",
    "before",
    "after",
    "action",
    "merged",
    "draft",
    "state",
    "login",
    "username",
    "login_name",
    "private",
    "fork",
    "size",
    "forced",
    "created",
    "deleted",
    "ref_type",
    "schedule",
    "mergeable",
    "total_commits",
    "additions",
    "deletions",
    "changed_files",
    "comments",
    "timestamp",
];

fn safe_event_field(path: &[Option<String>]) -> bool {
    let Some(Some(leaf)) = path.last() else {
        return false;
    };
    let parent = path.len().checked_sub(2).and_then(|i| path[i].as_deref());
    let repo_parent = matches!(
        parent,
        Some("repository" | "repo" | "base_repo" | "head_repo")
    );
    SAFE_EVENT_LEAVES.contains(&leaf.as_str())
        || ["_sha", "_id", "_at", "_count", "_url"]
            .iter()
            .any(|s| leaf.ends_with(s))
        || leaf == "url"
        || (repo_parent && matches!(leaf.as_str(), "name" | "full_name"))
}

fn names(r: &ContextRef) -> Vec<Option<String>> {
    r.path
        .iter()
        .map(|s| match s {
            Segment::Name(n) | Segment::Index(n) => Some(n.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Why dispatch input `name` is untrusted (free text), or `None` (a boolean, a call input).
fn input_why(name: &str, wf: &Workflow<'_>) -> Option<String> {
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
    (kind != "boolean").then(|| {
        format!(
            "dispatch input `{name}` ({kind}) is text chosen by whoever dispatches the workflow"
        )
    })
}

/// Why a value `r` reads straight from the event or the inputs can only be chosen by someone
/// with write access to the repository, who can already change what this workflow runs, or
/// `None`. Such a value is a warning, not an error: it breaks the script only when a
/// maintainer gives it quotes or `$(...)`, and injects nothing its chooser could not run anyway.
///
/// - `ref`, `ref_name`, `base_ref`: branch and tag names of this repository (pushed, dispatched
///   from, released, or the base of a pull request); never the head branch of a pull request
///   (`head_ref`, chosen by its author, stays an error).
/// - a `choice` dispatch input: Forgejo offers only the options in its form, but does not check
///   a dispatched value against them (its API passes any string through); only a user with
///   write access to the repository's actions may dispatch.
pub fn writer_chosen(r: &ContextRef, wf: &Workflow<'_>) -> Option<&'static str> {
    let path = names(r);
    let first = path.first().cloned().flatten();
    let input = if github_alias(&r.root) {
        match first.as_deref() {
            Some("ref" | "ref_name" | "base_ref") => {
                return Some(
                    "only someone who can push to this repository names its branches and tags, and they can already change what this workflow runs; still, git allows quotes and `$(...)` in a name, so pass it through `env:`",
                );
            }
            Some("event") if path.get(1).cloned().flatten().as_deref() == Some("inputs") => {
                path.get(2).cloned().flatten()
            }
            _ => None,
        }
    } else if r.root == "inputs" {
        first
    } else {
        None
    };
    let name = input?;
    let choice = wf
        .dispatch_inputs
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(&name))
        .is_some_and(|i| i.kind == Some("choice"));
    choice.then_some(
        "a `choice` input: the dispatch form offers only its options, but Forgejo does not check a dispatched value against them, so a user with write access to the repository's actions can send any text through the API",
    )
}

/// Why `r` is untrusted, or `None`. A reference to an object that contains untrusted text
/// (`github.event.pull_request`, `github`) counts too: `toJSON` of it carries the title.
pub fn untrusted(r: &ContextRef, wf: &Workflow<'_>) -> Option<String> {
    let path = names(r);
    if github_alias(&r.root) {
        let whole = || {
            format!(
                "`{}` contains values controlled by whoever triggers the event (e.g. `{}.event.pull_request.title`)",
                r.dotted(),
                r.root
            )
        };
        return match path.first() {
            None | Some(None) => Some(whole()),
            Some(Some(first)) => match first.as_str() {
                "head_ref" | "base_ref" | "ref" | "ref_name" => Some(format!(
                    "`{}` is a branch or tag name: git allows `$(...)`, `;` and backquotes in it, and whoever pushes or opens the pull request chooses it",
                    r.dotted()
                )),
                "event" => match path.get(1) {
                    None | Some(None) => Some(whole()),
                    Some(Some(second)) if second == "inputs" => match path.get(2) {
                        Some(Some(name)) => input_why(name, wf),
                        _ => Some(whole()),
                    },
                    Some(Some(_)) if safe_event_field(&path) => None,
                    Some(Some(_))
                        if path.len() == 2 || path.last().is_some_and(Option::is_none) =>
                    {
                        Some(format!(
                            "`{}` is, or contains, text controlled by whoever triggers the event",
                            r.dotted()
                        ))
                    }
                    Some(Some(_)) => Some(format!(
                        "`{}` is controlled by whoever triggers the event",
                        r.dotted()
                    )),
                },
                _ => None,
            },
        };
    }
    if r.root == "inputs" {
        return input_why(path.first()?.as_deref()?, wf);
    }
    None
}

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
    let flow = Flow::build(ctx.wf);
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
                    f.level = Level::Info;
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
                        f.level = Level::Warning;
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
    use crate::lint::{Level, lint_text};
    use crate::policy::lint::LintPolicy;

    /// The level of each template-injection finding, by the reference it names.
    fn levels(text: &str) -> Vec<(String, Level)> {
        lint_text("t.yml", text, &LintPolicy::default())
            .into_iter()
            .filter(|f| f.code.id == "lint.template-injection")
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
            assert_eq!(level(warned), Level::Warning, "{warned}");
        }
        for error in [
            "github.head_ref",
            "inputs.note",
            "github.event.pull_request.title",
            // Carried through `env:`, the value's chooser is not followed: still an error.
            "env.tag",
        ] {
            assert_eq!(level(error), Level::Error, "{error}");
        }
    }

    #[test]
    fn the_same_input_typed_as_a_string_stays_an_error() {
        let text = WORKFLOW.replace("type: choice", "type: string");
        let got = levels(&text);
        assert!(
            got.iter()
                .any(|(n, l)| n == "inputs.target" && *l == Level::Error),
            "{got:?}"
        );
    }
}
