//! What the binaries share: the common flags, and handing a result to the library's
//! [`crate::emit`], which decides what is printed, recorded and written to the step outputs,
//! and the exit code. Nothing here prints.

pub mod backup_before_apply;
pub mod canary;
pub mod decision_log;
pub mod drill;
pub mod lint;
pub mod one_shot;
pub mod scope;

use crate::emit::{Delivery, Emitted, emit};
use crate::env::Env;
use crate::render::Format;
use crate::report::{Decision, Gate, GateError};
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

impl CommonArgs {
    /// How the result is handed on: these flags, and `--report-only` where the gate has it.
    pub fn delivery(&self, report_only: bool) -> Delivery<'_> {
        Delivery {
            format: self.format,
            now: self.now.as_deref(),
            record: self.record.as_deref(),
            report_only,
        }
    }
}

/// The result handed on ([`crate::emit::emit`]) with no replay recorded.
pub fn finish(
    gate: Gate,
    result: Result<Decision, GateError>,
    common: &CommonArgs,
    report_only: bool,
    env: &dyn Env,
) -> Emitted {
    emit(gate, result, &common.delivery(report_only), env, None)
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
