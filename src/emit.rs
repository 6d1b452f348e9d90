//! What a gate's run hands on, decided here and not in the binaries' glue: the text or JSON
//! to print (and on which stream), the line appended to the decision log, the step outputs
//! written for the workflow, and the exit code. A decision that cannot be recorded or handed
//! to the workflow is not acted on (exit 2). Nothing here prints: the binary prints what
//! [`emit`] returns.

use crate::env::{Env, runner_var};
use crate::gates::replay::ReplayV1;
use crate::render::json::DecisionV1;
use crate::render::{Format, github_output, text};
use crate::report::{Decision, Gate, GateError, Outcome, exit};
use std::path::Path;

/// What a binary prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub stdout: String,
    pub stderr: String,
    pub exit: u8,
}

/// How a result is handed on, from the flags every gate takes.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub format: Format,
    /// The clock the caller fixed (`--now`), for an error document.
    pub now: Option<&'a str>,
    /// The decision log to append to (`--record`).
    pub record: Option<&'a Path>,
    /// `blocked` exits 0 (and only that): `--report-only`.
    pub report_only: bool,
}

/// Render, record (with `replay`, what the decision was made from, when the gate got as far
/// as reading its clock), write the step outputs, and pick the exit code.
pub fn emit(
    gate: Gate,
    result: Result<Decision, GateError>,
    how: &Delivery<'_>,
    env: &dyn Env,
    replay: Option<&ReplayV1>,
) -> Emitted {
    let now = match &result {
        Ok(d) => d.now,
        // The clock the caller fixed, so that an error document is as reproducible as a
        // decision; the system clock only when `--now` itself is what was wrong.
        Err(_) => crate::clock::now_or(how.now).unwrap_or_else(|_| time::OffsetDateTime::now_utc()),
    };
    let (doc, mut body, mut code, to_stderr) = match &result {
        Ok(d) => {
            let mut code = exit::code_for(d.outcome);
            if how.report_only && d.outcome == Outcome::Blocked {
                code = exit::PASS;
            }
            (
                DecisionV1::from_decision(d, code),
                text::decision(d),
                code,
                false,
            )
        }
        Err(e) => (
            DecisionV1::from_error(gate.name(), e, now),
            text::error(gate.name(), e),
            exit::COULD_NOT_EVALUATE,
            true,
        ),
    };
    let replay = replay.filter(|r| !r.now.is_empty());
    let mut stderr = String::new();
    // A decision that cannot be recorded or handed to the workflow is not acted on.
    if let Some(path) = how.record
        && let Err(e) = crate::record::append_with(path, &doc, replay)
    {
        stderr.push_str(&text::error(gate.name(), &e));
        code = exit::COULD_NOT_EVALUATE;
    }
    match runner_var(env, "OUTPUT") {
        Ok(Some(path)) => {
            let mut out_doc = doc.clone();
            out_doc.exit_code = code;
            if let Err(e) = github_output::append(Path::new(&path), &out_doc) {
                stderr.push_str(&text::error(gate.name(), &e));
                code = exit::COULD_NOT_EVALUATE;
            }
        }
        Ok(None) => {}
        Err(e) => {
            stderr.push_str(&text::error(gate.name(), &e));
            code = exit::COULD_NOT_EVALUATE;
        }
    }
    if how.format == Format::Json {
        let mut doc = doc;
        doc.exit_code = code;
        body = doc.to_pretty();
        body.push('\n');
        return Emitted {
            stdout: body,
            stderr,
            exit: code,
        };
    }
    if how.report_only
        && let Ok(d) = &result
        && d.outcome == Outcome::Blocked
    {
        body.push_str("  (--report-only: exit 0 although the outcome is blocked)\n");
    }
    if to_stderr {
        stderr.insert_str(0, &body);
        Emitted {
            stdout: String::new(),
            stderr,
            exit: code,
        }
    } else {
        Emitted {
            stdout: body,
            stderr,
            exit: code,
        }
    }
}
