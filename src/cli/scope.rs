//! `auto_apply_scope`: dispatch mode (flags and/or the event payload) and pull-request mode
//! (`--changed-files`).

use super::{CommonArgs, Emitted, finish_with, usage};
use crate::env::Env;
use crate::gates::host::LiveHost;
use crate::gates::replay::{DigestV1, ReplayV1};
use crate::gates::{pr_scope, scope};
use crate::model::{dispatch, event};
use crate::report::{Gate, GateError, InputDigest};
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
    pub fn raw(&self) -> dispatch::RawInputs {
        dispatch::RawInputs {
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

    /// Resolve inputs from flags and, with --from-event, the event payload.
    pub fn resolve(
        &self,
        env: &dyn Env,
    ) -> Result<(dispatch::DispatchInputs, Option<InputDigest>), GateError> {
        self.resolve_into(env, None)
    }

    /// [`Self::resolve`], keeping the event's inputs in `replay`.
    pub fn resolve_into(
        &self,
        env: &dyn Env,
        replay: Option<&mut ReplayV1>,
    ) -> Result<(dispatch::DispatchInputs, Option<InputDigest>), GateError> {
        let event = match &self.from_event {
            None => None,
            Some(p) => {
                let explicit = (!p.is_empty()).then_some(std::path::Path::new(p.as_str()));
                let path = event::resolve_path(explicit, env)?;
                Some(event::load(&path)?)
            }
        };
        let event_inputs = match &event {
            Some(e) => Some(e.dispatch_inputs()?),
            None => None,
        };
        if let Some(r) = replay {
            r.event_inputs = event_inputs.clone();
            r.event = event.as_ref().map(|e| DigestV1 {
                source: e.digest.source.clone(),
                sha256: e.digest.sha256.clone(),
                bytes: e.digest.bytes,
            });
        }
        let inputs = dispatch::resolve(&self.raw(), event_inputs.as_ref())?;
        Ok((inputs, event.map(|e| e.digest)))
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
    let mut replay = (args.changed_files.is_none() && args.common.record.is_some())
        .then(|| ReplayV1::new(gate, &args.dispatch.raw(), &args.dispatch.modules_dir));
    let result = evaluate(args, env, replay.as_mut());
    finish_with(
        gate,
        result,
        &args.common,
        args.report_only,
        env,
        replay.as_ref().filter(|r| !r.now.is_empty()),
    )
}

fn evaluate(
    args: &Args,
    env: &dyn Env,
    mut replay: Option<&mut ReplayV1>,
) -> Result<crate::report::Decision, GateError> {
    let now = crate::clock::now_or(args.common.now.as_deref())?;
    if args.changed_files.is_some()
        && args.common.policy.is_none()
        && let Some(event) = crate::env::pull_request_event(env)?
    {
        return Err(GateError::new(
            &crate::report::general::USAGE,
            format!(
                "pull-request mode under a `{event}` event needs --policy FILE written from the base branch (e.g. by `canary_required collect-diff --policy-from-ref BASE --policy-output FILE`): the working tree is the branch under review, and its .forgejo/gates.yml must not decide"
            ),
        ));
    }
    let policy = crate::policy::load(args.common.policy.as_deref(), std::path::Path::new("."))?;
    if let Some(r) = replay.as_deref_mut() {
        super::record_policy(r, &policy)?;
        // Set last: a replay section without `now` was not gathered and is not recorded.
        r.now = crate::clock::format(now);
    }
    if let Some(path) = &args.changed_files {
        let bytes = crate::input::read_limited(
            path,
            pr_scope::MAX_CHANGED_FILES_BYTES,
            "changed-files list",
        )?;
        let digest = InputDigest::of("changed_files", path.display().to_string(), &bytes);
        let files = crate::gates::changed_files::parse(&bytes)?;
        return pr_scope::evaluate(&pr_scope::Request {
            policy: &policy,
            modules_dir: &args.dispatch.modules_dir,
            changed_files: &files,
            files_digest: digest,
            now,
        });
    }
    let (inputs, event) = args.dispatch.resolve_into(env, replay.as_deref_mut())?;
    let host = LiveHost::new();
    let result = scope::evaluate_on(
        &scope::Request {
            policy: &policy,
            modules_dir: &args.dispatch.modules_dir,
            inputs: &inputs,
            now,
            event,
        },
        &host,
    );
    if let Some(r) = replay {
        r.observed = host.observed();
    }
    result
}
