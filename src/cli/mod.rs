//! What the binaries share: common flags, and turning a decision (or an error) into output,
//! step outputs, a record line and an exit code. Nothing here prints: it returns the text.

pub mod backup_before_apply;
pub mod canary;
pub mod decision_log;
pub mod drill;
pub mod lint;
pub mod one_shot;
pub mod scope;

use crate::env::{Env, runner_var};
use crate::render::json::DecisionV1;
use crate::render::{Format, github_output, text};
use crate::report::{Decision, Gate, GateError, Outcome, exit};
use std::path::PathBuf;

/// Flags every gate takes.
#[derive(Debug, Clone, clap::Args)]
pub struct CommonArgs {
    /// Output format; never changes the exit code.
    #[arg(long, value_name = "text|json", value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Policy file [default: .forgejo/gates.yml when present, else the built-in policy].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The clock, as RFC 3339 (for tests and replays) [default: the system clock].
    #[arg(long, value_name = "RFC3339", allow_hyphen_values = true)]
    pub now: Option<String>,
    /// Append the decision to this hash-chained log.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// The module flags `backup_before_apply` and `restore_drill` share.
#[derive(Debug, Clone, clap::Args)]
pub struct ModuleArgs {
    /// Module id (directory name under --modules-dir).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub module: String,
    /// Where module directories live.
    #[arg(long, value_name = "DIR", default_value = "modules")]
    pub modules_dir: PathBuf,
}

impl ModuleArgs {
    /// The library's request: these flags with the common clock and policy flags.
    pub fn request<'a>(&'a self, common: &'a CommonArgs) -> crate::gates::ModuleRequest<'a> {
        crate::gates::ModuleRequest {
            now: common.now.as_deref(),
            policy: common.policy.as_deref(),
            module: &self.module,
            modules_dir: &self.modules_dir,
        }
    }
}

/// What a binary prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub stdout: String,
    pub stderr: String,
    pub exit: u8,
}

/// Render, write step outputs, record, and pick the exit code. `report_only` turns a
/// `blocked` into exit 0 (and only that).
pub fn finish(
    gate: Gate,
    result: Result<Decision, GateError>,
    common: &CommonArgs,
    report_only: bool,
    env: &dyn Env,
) -> Emitted {
    finish_with(gate, result, common, report_only, env, None)
}

/// [`finish`], recording `replay` (what the decision was made from) with the decision.
pub fn finish_with(
    gate: Gate,
    result: Result<Decision, GateError>,
    common: &CommonArgs,
    report_only: bool,
    env: &dyn Env,
    replay: Option<&crate::gates::replay::ReplayV1>,
) -> Emitted {
    let format = common.format;
    let now = match &result {
        Ok(d) => d.now,
        // The clock the caller fixed, so that an error document is as reproducible as a
        // decision; the system clock only when `--now` itself is what was wrong.
        Err(_) => crate::clock::now_or(common.now.as_deref())
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc()),
    };
    let (doc, mut body, mut code, to_stderr) = match &result {
        Ok(d) => {
            let mut code = exit::code_for(d.outcome);
            if report_only && d.outcome == Outcome::Blocked {
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
    let mut stderr = String::new();
    // A decision that cannot be recorded or handed to the workflow is not acted on.
    if let Some(path) = &common.record
        && let Err(e) = crate::record::append_with(path, &doc, replay)
    {
        stderr.push_str(&text::error(gate.name(), &e));
        code = exit::COULD_NOT_EVALUATE;
    }
    match runner_var(env, "OUTPUT") {
        Ok(Some(path)) => {
            let mut out_doc = doc.clone();
            out_doc.exit_code = code;
            if let Err(e) = github_output::append(std::path::Path::new(&path), &out_doc) {
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
    if format == Format::Json {
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
    if report_only
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

/// Usage error from our own validation (clap handles its own, also with exit 2).
pub fn usage(gate: Gate, message: &str, common: &CommonArgs, env: &dyn Env) -> Emitted {
    finish(
        gate,
        Err(GateError::new(&crate::report::general::USAGE, message)),
        common,
        false,
        env,
    )
}

pub const AFTER_HELP: &str = crate::report::exit::TABLE;
