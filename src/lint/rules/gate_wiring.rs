//! `lint.gate-wiring`: a deploy workflow cannot bypass the platform's gates.
//!
//! A step whose script runs the apply command (policy `lint.gates.apply_command`, default
//! `platformctl apply`) must come after a blocking `auto_apply_scope` step (same job, earlier;
//! or in a job it needs), and, for stateful dispatches, after `allow_one_shot_stateful_apply`
//! with its exit 3 (noop) handled as a skip. No gate step may be softened
//! (`continue-on-error: true`, `|| true`, an `if:` that can skip it), the apply may not run
//! after a failure (`always()`, `failure()`, `cancelled()`), `environment:` is no protection,
//! the dispatch inputs are named and typed as the gates read them, and dispatch inputs never
//! reach a gate or the apply by being pasted into the script.
use super::{Ctx, Rule, Sink};
use crate::lint::expr::{self, ExprKind};
use crate::lint::model::{Step, Workflow};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.gate-wiring",
    Error,
    "The deploy workflow can apply a change without the gates being able to stop it.",
    "Run the gates as blocking steps before the apply (same job or a needed job), handle exit 3 of allow_one_shot_stateful_apply as skip, and pass dispatch inputs with --from-event or env:."
);

pub static RULE: Rule = Rule { code: &CODE, check };

/// Input names exactly as the gates read them from the event payload.
const GATE_INPUTS: &[&str] = &["module", "allow_stateful", "backup_ref", "stateful_confirm"];

/// Lines of a script that invoke `command` (as a word, not inside a longer name).
fn invoking_lines<'s>(script: &'s str, command: &str) -> Vec<&'s str> {
    script
        .lines()
        .filter(|l| {
            let code = l.split(" #").next().unwrap_or(l);
            !l.trim_start().starts_with('#')
                && code.match_indices(command).any(|(i, _)| {
                    let before = code[..i].chars().next_back();
                    let after = code[i + command.len()..].chars().next();
                    before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                        && after.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
                })
        })
        .collect()
}

fn runs(step: &Step<'_>, command: &str) -> bool {
    step.run_text()
        .is_some_and(|s| !invoking_lines(s, command).is_empty())
}

/// Ways a command's failure is swallowed on its own line.
fn softened(line: &str) -> Option<&'static str> {
    let l: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    for (pat, what) in [
        ("|| true", "`|| true`"),
        ("||true", "`|| true`"),
        ("|| :", "`|| :`"),
        ("|| exit 0", "`|| exit 0`"),
        ("|| echo", "`|| echo ...`"),
    ] {
        if l.contains(pat) {
            return Some(what);
        }
    }
    None
}

/// True when the condition lets the step run after an earlier failure.
fn runs_after_failure(node: Option<&Node>) -> Option<&'static str> {
    let text = node?.as_str()?;
    let e = expr::parse_if(text).ok()?;
    let mut found = None;
    e.walk(|n| {
        if let ExprKind::Call { name, .. } = &n.kind {
            for f in ["always", "failure", "cancelled"] {
                if name.eq_ignore_ascii_case(f) {
                    found = Some(match f {
                        "always" => "always()",
                        "failure" => "failure()",
                        _ => "cancelled()",
                    });
                }
            }
        }
    });
    found
}

/// A gate step's `if:` that could skip it (anything but `success()` or `true`).
fn may_skip(node: Option<&Node>) -> bool {
    let Some(text) = node.and_then(Node::as_str) else {
        return false;
    };
    let t = text
        .trim()
        .trim_start_matches("${{")
        .trim_end_matches("}}")
        .trim();
    !(t.is_empty() || t == "true" || t.eq_ignore_ascii_case("success()"))
}

fn handles_noop(script: &str) -> bool {
    let s: String = script.split_whitespace().collect::<Vec<_>>().join(" ");
    [
        "-eq 3", "== 3", "= 3 ", "=3 ", "\"3\"", "'3'", " 3)", "-ne 3", "!= 3",
    ]
    .iter()
    .any(|p| s.contains(p))
}

struct Found {
    job: usize,
    step: usize,
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    let wf = ctx.wf;
    let names = &ctx.policy.gates;
    let mut applies = Vec::new();
    let mut scopes = Vec::new();
    let mut one_shots = Vec::new();
    for (ji, job) in wf.jobs.iter().enumerate() {
        for (si, step) in job.steps.iter().enumerate() {
            if runs(step, &names.apply_command) {
                applies.push(Found { job: ji, step: si });
            }
            if runs(step, &names.scope_gate) {
                scopes.push(Found { job: ji, step: si });
            }
            if runs(step, &names.one_shot_gate) {
                one_shots.push(Found { job: ji, step: si });
            }
        }
    }
    if applies.is_empty() && scopes.is_empty() && one_shots.is_empty() {
        return;
    }
    // Gate steps: never softened, never pasted inputs.
    for (gate, list) in [
        (&names.scope_gate, &scopes),
        (&names.one_shot_gate, &one_shots),
    ] {
        for f in list.iter() {
            let step = &wf.jobs[f.job].steps[f.step];
            soft_gate(out, step, gate);
        }
    }
    for f in scopes.iter().chain(&one_shots).chain(&applies) {
        pasted_inputs(out, wf, f);
    }
    let stateful = wf
        .dispatch_inputs
        .iter()
        .any(|i| i.name == "allow_stateful")
        || applies.iter().any(|f| {
            wf.jobs[f.job].steps[f.step]
                .run_text()
                .is_some_and(|s| s.contains("allow_stateful") || s.contains("allow-stateful"))
        });
    for a in &applies {
        let job = &wf.jobs[a.job];
        let step = &job.steps[a.step];
        let Some(run) = step.run else { continue };
        let before = |list: &[Found]| -> Vec<(usize, usize)> {
            let needed = wf.needs_closure(a.job);
            list.iter()
                .filter(|g| (g.job == a.job && g.step < a.step) || needed.contains(&g.job))
                .map(|g| (g.job, g.step))
                .collect()
        };
        let blocking_scope: Vec<(usize, usize)> = before(&scopes)
            .into_iter()
            .filter(|(j, s)| {
                let script = wf.jobs[*j].steps[*s].run_text().unwrap_or("");
                invoking_lines(script, &names.scope_gate)
                    .iter()
                    .any(|l| !l.contains("--report-only"))
            })
            .collect();
        if blocking_scope.is_empty() {
            let msg = if before(&scopes).is_empty() {
                format!(
                    "`{}` runs without a `{}` step before it (in this job or a job it needs)",
                    names.apply_command, names.scope_gate
                )
            } else {
                format!(
                    "the only `{}` before `{}` runs with `--report-only`, which never blocks",
                    names.scope_gate, names.apply_command
                )
            };
            out.node(&CODE, run, msg);
        }
        if stateful {
            let gates = before(&one_shots);
            if gates.is_empty() {
                out.node(
                    &CODE,
                    run,
                    format!(
                        "a stateful dispatch reaches `{}` without a `{}` step before it",
                        names.apply_command, names.one_shot_gate
                    ),
                );
            } else {
                // Only the gate's own script can turn exit 3 into a skip: by the time the
                // apply's `if:` is read, a step that exited 3 has already failed the job.
                let handled = gates
                    .iter()
                    .any(|(j, s)| handles_noop(wf.jobs[*j].steps[*s].run_text().unwrap_or("")));
                if !handled {
                    let (j, s) = gates[0];
                    let gate_run = wf.jobs[j].steps[s].run.unwrap_or(run);
                    out.node(&CODE, gate_run, format!("exit 3 (`noop`) of `{}` is not handled as a skip", names.one_shot_gate))
                        .note("capture the exit code (`set +e; ...; rc=$?`), skip the apply on 3, fail on anything but 0 and 3");
                }
            }
        }
        for (cond, whose) in [
            (step.if_, "the apply step"),
            (job.node.get("if"), "the apply job"),
        ] {
            if let Some(f) = runs_after_failure(cond) {
                out.node(
                    &CODE,
                    cond.unwrap_or(run),
                    format!("{whose} has `if: {f}`, so it can run after a failed gate"),
                );
            }
        }
        let mut with_env: Vec<usize> = vec![a.job];
        with_env.extend(wf.needs_closure(a.job));
        for j in with_env {
            if let Some((k, _)) = wf.jobs[j]
                .node
                .as_map()
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("environment")))
            {
                out.node(&CODE, k, format!("job `{}` relies on `environment:`, which Forgejo ignores: it protects nothing", wf.jobs[j].id))
                    .note("the gates in the job are the protection; remove `environment:`");
            }
        }
    }
    dispatch_input_names(out, wf);
}

fn soft_gate(out: &mut Sink<'_>, step: &Step<'_>, gate: &str) {
    if let Some(c) = step.continue_on_error
        && c.as_bool() != Some(false)
    {
        out.node(
            &CODE,
            c,
            format!(
                "the `{gate}` step has `continue-on-error`, so its `no` does not stop the apply"
            ),
        );
    }
    if may_skip(step.if_)
        && let Some(i) = step.if_
    {
        out.node(
            &CODE,
            i,
            format!("the `{gate}` step has an `if:`; when it is skipped, nothing stops the apply"),
        );
    }
    if let (Some(run), Some(script)) = (step.run, step.run_text()) {
        for line in invoking_lines(script, gate) {
            if let Some(what) = softened(line) {
                out.node(
                    &CODE,
                    run,
                    format!("`{gate}` is followed by {what}, so its `no` is swallowed"),
                );
            }
        }
    }
}

fn pasted_inputs(out: &mut Sink<'_>, wf: &Workflow<'_>, f: &Found) {
    let step = &wf.jobs[f.job].steps[f.step];
    let Some(run) = step.run else { return };
    for site in wf.step_sites(f.job, f.step).filter(|s| s.is_run()) {
        for e in site.parsed() {
            for r in expr::context_refs(e) {
                let d = r.dotted();
                let is_input = r.root == "inputs"
                    || (super::github_alias(&r.root)
                        && d.split_once('.')
                            .is_some_and(|(_, rest)| rest.starts_with("event.inputs")));
                if is_input {
                    out.expr(&CODE, run, r.span, format!("`{d}` is pasted into a gate or apply script"))
                        .note("let the gate read the event payload (`--from-event`), or pass the value through `env:`");
                }
            }
        }
    }
}

fn dispatch_input_names(out: &mut Sink<'_>, wf: &Workflow<'_>) {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    for input in &wf.dispatch_inputs {
        if let Some(expected) = GATE_INPUTS.iter().find(|g| norm(g) == norm(input.name))
            && input.name != *expected
        {
            out.node(&CODE, input.key, format!("dispatch input `{}` must be named `{expected}`: that is the name the gates read", input.name));
        }
        match input.name {
            "allow_stateful" if input.kind != Some("boolean") => {
                out.node(
                    &CODE,
                    input.key,
                    "dispatch input `allow_stateful` must have `type: boolean`",
                );
            }
            "backup_ref" | "stateful_confirm" => {
                if let Some((k, _)) = input
                    .node
                    .as_map()
                    .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("default")))
                {
                    out.node(&CODE, k, format!("dispatch input `{}` must have no `default`: a default confirms nothing", input.name));
                }
            }
            _ => {}
        }
    }
}
