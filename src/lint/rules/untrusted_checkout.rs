//! `lint.untrusted_checkout`: a `pull_request_target` job that checks out the pull request's
//! code and then runs something. On Forgejo, `pull_request_target` runs the workflow of the
//! *base* branch with the repository's secrets and token and without the approval that fork
//! pull requests need (Forgejo's `pull_request_target` support, inherited from Gitea); once
//! the job checks out the head of the pull request, any later step that builds, installs or
//! runs that tree runs the author's code with those secrets (and `actions/checkout` leaves the
//! token in `.git/config` by default).
//!
//! A checkout of the pull request is `actions/checkout` (on any host, so the full-URL form
//! `https://data.forgejo.org/actions/checkout@v6` too) whose `ref:` or `repository:` names the head (`head.sha`,
//! `head.ref`, `head_ref`, `merge_commit_sha`, `refs/pull/<n>/...`), directly or through one
//! `env:` variable, or a `git fetch|checkout|pull|switch|clone|worktree` line of a `run:`
//! script naming it (also `$GITHUB_HEAD_REF`/`$FORGEJO_HEAD_REF`). An error when a later step
//! runs (a `run:` or an action other than a checkout); a warning when nothing runs after it.
//! `workflow_run` jobs are checked the same way at warning level: Forgejo does not fire
//! `workflow_run` (it is not among the events its `modules/actions/workflows.go` matches).
//! A field of one event's payload is empty under the other, so a `workflow_run.head_sha`
//! checkout is judged under `workflow_run` and a `pull_request.head.sha` one under
//! `pull_request_target`.
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{self, Segment};
use crate::lint::model::{Job, Step};
use crate::lint::untrusted::github_alias;
use crate::report::Severity;
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.untrusted_checkout",
    Error,
    "A `pull_request_target` job checks out the pull request's code and runs it with the repository's secrets and token.",
    "Run untrusted code under `pull_request` (no secrets for forks, approval needed), or keep the base revision checked out in the `pull_request_target` job and never build, install or execute the head's files there."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// True for `actions/checkout` under any host (`owner/repo@ref` or a full URL).
pub fn is_checkout(uses: &str) -> bool {
    let path = uses.trim().split('@').next().unwrap_or("");
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let (Some(repo), Some(owner)) = (parts.next(), parts.next()) else {
        return false;
    };
    repo.eq_ignore_ascii_case("checkout") && owner.eq_ignore_ascii_case("actions")
}

/// Why the `${{ }}` expressions of `text` name the pull request's head, or `None`.
fn names_head(text: &str) -> Option<String> {
    let found = expr::find_expressions(text).ok()?;
    for emb in found {
        let Ok(e) = &emb.expr else { continue };
        for r in expr::context_refs(e) {
            if !github_alias(&r.root) {
                continue;
            }
            let path: Vec<String> = r
                .path
                .iter()
                .map(|s| match s {
                    Segment::Name(n) | Segment::Index(n) => n.to_ascii_lowercase(),
                    _ => String::new(),
                })
                .collect();
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let head = match p.as_slice() {
                ["head_ref", ..] => true,
                ["event", "pull_request", "head", ..] => true,
                ["event", "pull_request", "merge_commit_sha"] => true,
                ["event", "workflow_run", second, ..] => second.starts_with("head"),
                ["event", "number"] | ["event", "pull_request", "number"] => {
                    text.contains("refs/pull/") || text.contains("pull/")
                }
                _ => false,
            };
            if head {
                return Some(format!("`{}`", r.dotted()));
            }
        }
    }
    None
}

/// The value of env variable `name` visible at a step (step, job, workflow `env:`).
fn env_value<'a>(ctx: &Ctx<'a>, job: &Job<'a>, step: &Step<'a>, name: &str) -> Option<&'a str> {
    [step.env, job.node.get("env"), ctx.wf.root.get("env")]
        .into_iter()
        .flatten()
        .find_map(|env| env.get(name))
        .and_then(Node::as_str)
}

/// Why `text` (a `with:` value or a script line) names the head, following `env.X` and
/// `$X` one level into the `env:` values visible at the step.
fn head_in<'a>(ctx: &Ctx<'a>, job: &Job<'a>, step: &Step<'a>, text: &str) -> Option<String> {
    if let Some(why) = names_head(text) {
        return Some(why);
    }
    for var in ["GITHUB_HEAD_REF", "FORGEJO_HEAD_REF"] {
        if text.contains(&format!("${var}")) || text.contains(&format!("${{{var}")) {
            return Some(format!("`${var}`"));
        }
    }
    // `${{ env.X }}` and `$X` where X is set from the head.
    let mut names: Vec<String> = crate::lint::taint::shell_vars(text)
        .into_iter()
        .map(String::from)
        .collect();
    if let Ok(found) = expr::find_expressions(text) {
        for emb in found {
            let Ok(e) = &emb.expr else { continue };
            for r in expr::context_refs(e) {
                if let (true, Some(Segment::Name(n) | Segment::Index(n))) =
                    (r.root == "env", r.path.first())
                {
                    names.push(n.clone());
                }
            }
        }
    }
    names.into_iter().find_map(|n| {
        let value = env_value(ctx, job, step, &n)?;
        names_head(value).map(|why| format!("`{n}` (set from {why})"))
    })
}

const GIT_FETCHES: &[&str] = &[
    "git fetch",
    "git checkout",
    "git pull",
    "git switch",
    "git clone",
    "git worktree",
];

/// Where step `step` checks out the head: the node to report and why.
fn checkout_of_head<'a>(
    ctx: &Ctx<'a>,
    job: &Job<'a>,
    step: &Step<'a>,
) -> Option<(&'a Node, Option<usize>, String, bool)> {
    if let Some(uses) = step.uses.and_then(Node::as_str)
        && is_checkout(uses)
    {
        let with = step.node.get("with")?;
        for key in ["ref", "repository"] {
            if let Some(v) = with.get(key)
                && let Some(why) = v.as_str().and_then(|t| head_in(ctx, job, step, t))
            {
                return Some((v, None, format!("`{key}:` names the head ({why})"), false));
            }
        }
        return None;
    }
    let run = step.run?;
    let script = run.as_str()?;
    let lines: Vec<&str> = script.split('\n').collect();
    let mut offset = 0;
    for (i, line) in lines.iter().enumerate() {
        let at = offset;
        offset += line.len() + 1;
        let code = line.split(" #").next().unwrap_or(line);
        if !GIT_FETCHES.iter().any(|g| code.contains(g)) {
            continue;
        }
        let why = if code.contains("refs/pull/") {
            Some("`refs/pull/`".to_string())
        } else {
            head_in(ctx, job, step, code)
        };
        if let Some(why) = why {
            // Lines after it that are not git commands run what was checked out.
            let runs_more = lines[i + 1..].iter().any(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && !t.starts_with("git ")
            });
            let indent = line.len() - line.trim_start().len();
            return Some((
                run,
                Some(at + indent),
                format!("a `git` command names the head ({why})"),
                runs_more,
            ));
        }
    }
    None
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let target = ctx.wf.has_event("pull_request_target");
    let workflow_run = ctx.wf.has_event("workflow_run");
    if !target && !workflow_run {
        return;
    }
    for job in &ctx.wf.jobs {
        for (i, step) in job.steps.iter().enumerate() {
            let Some((node, at, why, runs_in_step)) = checkout_of_head(ctx, job, step) else {
                continue;
            };
            // A `workflow_run` field is empty under `pull_request_target` and the other way
            // round: judge the checkout under the event whose payload it reads.
            let reads_run = why.contains(".event.workflow_run.");
            let reads_pr = !reads_run && !why.contains("`refs/pull/`");
            let target = target && !reads_run;
            if !target && (!workflow_run || reads_pr) {
                continue;
            }
            let event = if target {
                "pull_request_target"
            } else {
                "workflow_run"
            };
            let later = job.steps[i + 1..].iter().find(|s| {
                s.run.is_some()
                    || s.uses
                        .and_then(Node::as_str)
                        .is_some_and(|u| !is_checkout(u))
            });
            let runs = later.is_some() || runs_in_step;
            let message = if runs {
                format!(
                    "job `{}` runs on `{event}` and checks out the pull request's code: {why}; {}",
                    job.id,
                    match later {
                        Some(s) => format!(
                            "the step at line {} then runs with the repository's secrets and token",
                            s.node.span.start.line
                        ),
                        None => "the rest of the script then runs with the repository's secrets and token".into(),
                    }
                )
            } else {
                format!(
                    "job `{}` runs on `{event}` and checks out the pull request's code: {why}",
                    job.id
                )
            };
            let f = match at {
                Some(at) => {
                    let (line, col) = ctx.src.scalar_pos(node, at);
                    let len = ctx.src.line(line).map_or(1, |l| {
                        l.chars().count().saturating_sub(col.saturating_sub(1))
                    });
                    out.at(&CODE, line, col, len, message)
                }
                None => out.node(&CODE, node, message),
            };
            f.note(if target {
                "on Forgejo `pull_request_target` runs the base branch's workflow with secrets and a token, with no approval for forks; anything that builds, installs or executes the checked-out tree runs the pull request author's code"
            } else {
                "Forgejo does not fire `workflow_run` today; where it is fired, the job runs with secrets on code from the triggering run"
            });
            if !runs || !target {
                f.level = Severity::Warning;
            }
        }
    }
}
