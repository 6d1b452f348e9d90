//! `lint.insecure_commands`: the `::set-env::` and `::add-path::` workflow commands. GitHub
//! turned them off because any step that prints untrusted text (a PR title in a log line, a
//! test's output) can then set environment variables such as `LD_PRELOAD` or put a folder
//! first on `PATH` for the later steps, and only honours them again when
//! `ACTIONS_ALLOW_UNSECURE_COMMANDS` is `true`. forgejo-runner honours both commands always
//! (its `act/runner/command.go` has no such switch), so on Forgejo the variable changes
//! nothing: setting it, or printing the commands from a script, says the workflow relies on
//! them. A warning, with the safe replacement: `$FORGEJO_ENV` and `$FORGEJO_PATH` files.
use super::{Ctx, Rule, Sink};
use crate::report::code::code;
use crate::yaml::Node;

code!(
    CODE,
    "lint.insecure_commands",
    Warning,
    "The workflow relies on the `::set-env::`/`::add-path::` commands (which forgejo-runner always honours), or sets `ACTIONS_ALLOW_UNSECURE_COMMANDS`, which changes nothing on Forgejo.",
    "Write variables to \"$FORGEJO_ENV\" and folders to \"$FORGEJO_PATH\" instead, and drop `ACTIONS_ALLOW_UNSECURE_COMMANDS`; never print untrusted text unescaped in a step's log."
);

pub static RULE: Rule = Rule { code: &CODE, check };

const SWITCH: &str = "ACTIONS_ALLOW_UNSECURE_COMMANDS";

fn check_env(out: &mut Sink<'_>, env: Option<&Node>) {
    for (k, v) in env.and_then(Node::as_map).unwrap_or(&[]) {
        if k.as_str().is_some_and(|n| n.eq_ignore_ascii_case(SWITCH)) {
            let value = v.as_str().unwrap_or("").trim().to_ascii_lowercase();
            if value == "false" || value.is_empty() {
                continue;
            }
            out.node(
                &CODE,
                k,
                format!("`{SWITCH}` has no effect on Forgejo: forgejo-runner honours `::set-env::` and `::add-path::` whatever it says"),
            )
            .note("a step that prints untrusted text can set variables and PATH for the steps after it");
        }
    }
}

fn check(ctx: &Ctx<'_>, out: &mut Sink<'_>) {
    check_env(out, ctx.wf.root.get("env"));
    for job in &ctx.wf.jobs {
        check_env(out, job.node.get("env"));
        for step in &job.steps {
            check_env(out, step.env);
            let (Some(run), Some(script)) = (step.run, step.run_text()) else {
                continue;
            };
            let mut offset = 0;
            for line in script.split('\n') {
                let start = offset;
                offset += line.len() + 1;
                let Some(at) = ["::set-env ", "::add-path::"]
                    .iter()
                    .find_map(|c| line.find(c))
                else {
                    continue;
                };
                let (l, c) = ctx.src.scalar_pos(run, start + at);
                out.at(
                    &CODE,
                    l,
                    c,
                    12,
                    "`::set-env::`/`::add-path::` printed here: use \"$FORGEJO_ENV\"/\"$FORGEJO_PATH\" instead",
                );
            }
        }
    }
}
