//! `auto_apply_scope`: dispatch mode (flags and/or the event payload) and pull-request mode
//! (`--changed-files`).

use super::{CommonArgs, usage};
use crate::emit::{Emitted, emit};
use crate::env::Env;
use crate::gates::dispatch::{self, DispatchRequest};
use crate::model::dispatch::RawInputs;
use crate::report::Gate;
use clap::Parser;
use std::path::PathBuf;

/// The four dispatch inputs, as flags, plus where modules live.
#[derive(Debug, Clone, clap::Args)]
pub struct DispatchArgs {
    /// Module id (directory name under --modules-dir).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub module: Option<String>,
    /// `--allow-stateful` alone means true; `--allow-stateful=true|false` is accepted too.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", allow_hyphen_values = true)]
    pub allow_stateful: Option<String>,
    /// Absolute path of the backup taken for this change.
    #[arg(long, value_name = "PATH", allow_hyphen_values = true)]
    pub backup_ref: Option<String>,
    /// The confirm phrase (default policy: BACKUP_DONE_F3).
    #[arg(long, value_name = "PHRASE", allow_hyphen_values = true)]
    pub stateful_confirm: Option<String>,
    /// Read the dispatch inputs from the workflow_dispatch event payload
    /// [default path: $GITHUB_EVENT_PATH, else $FORGEJO_EVENT_PATH].
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "")]
    pub from_event: Option<String>,
    /// Where module directories live.
    #[arg(long, value_name = "DIR", default_value = "modules")]
    pub modules_dir: PathBuf,
}

impl DispatchArgs {
    pub fn raw(&self) -> RawInputs {
        RawInputs {
            module: self.module.clone(),
            allow_stateful: self.allow_stateful.clone(),
            backup_ref: self.backup_ref.clone(),
            stateful_confirm: self.stateful_confirm.clone(),
        }
    }

    fn any_input_flag(&self) -> bool {
        self.module.is_some()
            || self.allow_stateful.is_some()
            || self.backup_ref.is_some()
            || self.stateful_confirm.is_some()
            || self.from_event.is_some()
    }

    /// The library's request: these flags with the common clock and policy flags.
    pub fn request<'a>(&'a self, common: &'a CommonArgs) -> DispatchRequest<'a> {
        DispatchRequest {
            raw: self.raw(),
            from_event: self.from_event.as_deref(),
            modules_dir: &self.modules_dir,
            now: common.now.as_deref(),
            policy: common.policy.as_deref(),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "auto_apply_scope",
    version = crate::version::LONG,
    about = "May this module be auto-applied with these dispatch inputs? On a pull request: which modules does it touch, in which scope?",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub dispatch: DispatchArgs,
    /// Pull-request mode: the changed files (`-` for stdin), as `git diff -z --name-only`
    /// writes them (NUL-terminated), or one per line as `git diff --name-only` writes them
    /// (quoted paths decoded). `--modules-dir` is then relative to the repository root.
    #[arg(long, value_name = "FILE|-")]
    pub changed_files: Option<PathBuf>,
    /// Pull-request mode: the base commit (in the checkout at `.`); each touched module is
    /// judged by the stricter of its manifest there and in the working tree. Required under a
    /// pull-request event.
    #[arg(long, value_name = "REV", requires = "changed_files")]
    pub base_ref: Option<String>,
    /// Exit 0 on `blocked` (for reporting on pull requests). Never turns an error into 0.
    #[arg(long, conflicts_with = "fail_on_blocked")]
    pub report_only: bool,
    /// Exit 1 on `blocked` (the default; accepted for the existing workflow).
    #[arg(long)]
    pub fail_on_blocked: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let gate = Gate::AutoApplyScope;
    if args.changed_files.is_some() && args.dispatch.any_input_flag() {
        return usage(
            gate,
            "--changed-files (pull-request mode) cannot be combined with dispatch inputs",
            &args.common,
            env,
        );
    }
    if let Err(e) = crate::clock::refuse_override_in_workflow(args.common.now.as_deref(), env) {
        return emit(gate, Err(e), &args.common.delivery(false), env, None);
    }
    let request = args.dispatch.request(&args.common);
    let changed_files = args.changed_files.as_deref();
    let mut replay =
        dispatch::auto_apply_scope_replay(&request, changed_files, args.common.record.is_some());
    let pull_request = changed_files.map(|path| dispatch::PullRequestFiles {
        changed_files: path,
        base_ref: args.base_ref.as_deref(),
    });
    let result = dispatch::auto_apply_scope(&request, pull_request, env, replay.as_mut());
    emit(
        gate,
        result,
        &args.common.delivery(args.report_only),
        env,
        replay.as_ref(),
    )
}
