//! The dispatch gates' entry points (`auto_apply_scope`, `allow_one_shot_stateful_apply`):
//! from the values of their flags to a decision. They read what the flags name (the policy,
//! the event payload, the changed-files list, the plan), refuse a pull-request run that would
//! let the branch under review choose its own policy, fill the replay section of a record
//! when one is kept, and call the gate.

use super::host::LiveHost;
use super::replay::{DigestV1, ReplayV1};
use super::{one_shot, pr_scope, scope};
use crate::env::Env;
use crate::model::changed_files;
use crate::model::{DispatchInputs, dispatch, event, plan};
use crate::policy::LoadedPolicy;
use crate::report::{Decision, Gate, GateError, InputDigest};
use std::path::Path;
use time::OffsetDateTime;

/// The dispatch inputs as the flags gave them, and where modules live.
pub struct DispatchRequest<'a> {
    pub raw: dispatch::RawInputs,
    /// `--from-event`: `None` without the flag, `Some("")` for the runner's default path.
    pub from_event: Option<&'a str>,
    pub modules_dir: &'a Path,
    /// RFC 3339 [default: the system clock].
    pub now: Option<&'a str>,
    /// [default: `.forgejo/gates.yml` when present, else the built-in policy].
    pub policy: Option<&'a Path>,
}

impl DispatchRequest<'_> {
    /// The replay section a recorded run of `gate` fills: the flags as given and where
    /// modules live (the rest is added while the gate runs).
    pub fn replay(&self, gate: Gate) -> ReplayV1 {
        ReplayV1::new(gate, &self.raw, self.modules_dir)
    }

    /// The checked dispatch inputs from the flags and, with `--from-event`, the event
    /// payload (whose inputs and digest go into `replay`).
    pub fn resolve_inputs(
        &self,
        env: &dyn Env,
        replay: Option<&mut ReplayV1>,
    ) -> Result<(DispatchInputs, Option<InputDigest>), GateError> {
        let event = match self.from_event {
            None => None,
            Some(p) => {
                let explicit = (!p.is_empty()).then_some(Path::new(p));
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
        let inputs = dispatch::resolve(&self.raw, event_inputs.as_ref())?;
        Ok((inputs, event.map(|e| e.digest)))
    }

    /// The clock and the policy, recorded in `replay` (its `now` set last: a replay section
    /// without `now` was not gathered and is not recorded).
    fn clock_and_policy(
        &self,
        replay: Option<&mut ReplayV1>,
    ) -> Result<(OffsetDateTime, LoadedPolicy), GateError> {
        let now = crate::clock::now_or(self.now)?;
        let policy = crate::policy::load(self.policy, Path::new("."))?;
        if let Some(r) = replay {
            super::replay::record_policy(r, &policy)?;
            r.now = crate::clock::format(now);
        }
        Ok((now, policy))
    }
}

/// The replay section a run of `auto_apply_scope` keeps in its record: only when the run is
/// recorded, and only in dispatch mode. A pull-request-mode run (`changed_files`) is not
/// replayable: `decision_log replay` re-evaluates dispatch decisions only.
pub fn auto_apply_scope_replay(
    request: &DispatchRequest<'_>,
    changed_files: Option<&Path>,
    recorded: bool,
) -> Option<ReplayV1> {
    (recorded && changed_files.is_none()).then(|| request.replay(Gate::AutoApplyScope))
}

/// The replay section a run of `allow_one_shot_stateful_apply` keeps: whenever it is recorded.
pub fn one_shot_stateful_apply_replay(
    request: &DispatchRequest<'_>,
    recorded: bool,
) -> Option<ReplayV1> {
    recorded.then(|| request.replay(Gate::OneShotStatefulApply))
}

/// Pull-request mode's inputs: the changed-files list, and the base commit whose manifests
/// count too (`--base-ref`).
#[derive(Debug, Clone, Copy)]
pub struct PullRequestFiles<'a> {
    pub changed_files: &'a Path,
    pub base_ref: Option<&'a str>,
}

/// `auto_apply_scope`: with `pull_request`, which modules a pull request touches (no replay
/// is kept); else whether the module may be auto-applied with these dispatch inputs.
pub fn auto_apply_scope(
    request: &DispatchRequest<'_>,
    pull_request: Option<PullRequestFiles<'_>>,
    env: &dyn Env,
    mut replay: Option<&mut ReplayV1>,
) -> Result<Decision, GateError> {
    if let Some(PullRequestFiles {
        changed_files: path,
        base_ref,
    }) = pull_request
    {
        let now = crate::clock::now_or(request.now)?;
        if request.policy.is_none()
            && let Some(event) = crate::env::pull_request_event(env)?
        {
            return Err(GateError::new(
                &crate::report::general::USAGE,
                format!(
                    "pull-request mode under a `{event}` event needs --policy FILE written from the base branch (e.g. by `canary_required collect-diff --policy-from-ref BASE --policy-output FILE`): the working tree is the branch under review, and its .forgejo/gates.yml must not decide"
                ),
            ));
        }
        if base_ref.is_none()
            && let Some(event) = crate::env::pull_request_event(env)?
        {
            return Err(GateError::new(
                &crate::report::general::USAGE,
                format!(
                    "pull-request mode under a `{event}` event needs --base-ref BASE (the pull request's base commit, in this checkout with fetch-depth: 0): the working tree is the branch under review, and its own manifests must not decide a module's scope alone"
                ),
            ));
        }
        let policy = crate::policy::load(request.policy, Path::new("."))?;
        let bytes = crate::input::read_limited(
            path,
            changed_files::MAX_CHANGED_FILES_BYTES,
            "changed-files list",
        )?;
        let digest = InputDigest::of("changed_files", path.display().to_string(), &bytes);
        let files = changed_files::parse(&bytes)?;
        return pr_scope::evaluate(&pr_scope::Request {
            policy: &policy,
            modules_dir: request.modules_dir,
            changed_files: &files,
            base_ref,
            files_digest: digest,
            now,
        });
    }
    let (now, policy) = request.clock_and_policy(replay.as_deref_mut())?;
    let (inputs, event) = request.resolve_inputs(env, replay.as_deref_mut())?;
    let host = LiveHost::new();
    let result = scope::evaluate_on(
        &scope::Request {
            policy: &policy,
            modules_dir: request.modules_dir,
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

/// `allow_one_shot_stateful_apply`: may this plan be applied to this stateful module?
pub fn one_shot_stateful_apply(
    request: &DispatchRequest<'_>,
    plan_path: &Path,
    env: &dyn Env,
    mut replay: Option<&mut ReplayV1>,
) -> Result<Decision, GateError> {
    let (now, policy) = request.clock_and_policy(replay.as_deref_mut())?;
    let (inputs, event) = request.resolve_inputs(env, replay.as_deref_mut())?;
    let bytes = crate::input::read_limited(plan_path, policy.policy.plan.max_bytes, "plan")?;
    if let Some(r) = replay.as_deref_mut() {
        r.set_plan(&plan_path.display().to_string(), &bytes);
    }
    let plan_digest = InputDigest::of("plan", plan_path.display().to_string(), &bytes);
    let plan = plan::parse(&bytes)?;
    let host = LiveHost::new();
    let result = one_shot::evaluate_on(
        &one_shot::Request {
            policy: &policy,
            modules_dir: request.modules_dir,
            inputs: &inputs,
            plan: &plan,
            plan_digest,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(modules_dir: &'a Path) -> DispatchRequest<'a> {
        DispatchRequest {
            raw: dispatch::RawInputs {
                module: Some("postgres".into()),
                allow_stateful: Some("true".into()),
                backup_ref: Some("/backups/postgres-20260517T010847Z.sql.gz".into()),
                stateful_confirm: Some("BACKUP_DONE_F3".into()),
            },
            from_event: None,
            modules_dir,
            now: None,
            policy: None,
        }
    }

    #[test]
    fn only_a_recorded_dispatch_mode_scope_run_keeps_a_replay_section() {
        let modules = Path::new("platform/modules");
        let r = request(modules);
        let replay = auto_apply_scope_replay(&r, None, true).expect("a recorded dispatch run");
        assert_eq!(replay.gate, "auto_apply_scope");
        assert_eq!(replay.modules_dir, "platform/modules");
        assert_eq!(replay.flags.module.as_deref(), Some("postgres"));
        assert_eq!(replay.flags.allow_stateful.as_deref(), Some("true"));
        assert_eq!(
            replay.flags.backup_ref.as_deref(),
            Some("/backups/postgres-20260517T010847Z.sql.gz")
        );
        assert_eq!(
            replay.flags.stateful_confirm.as_deref(),
            Some("BACKUP_DONE_F3")
        );
        // Filled while the gate runs, not before.
        assert_eq!(replay.now, "");
        // Pull-request mode is not replayed, recorded or not; nothing unrecorded is kept.
        let changed = Path::new("changed.txt");
        assert_eq!(auto_apply_scope_replay(&r, Some(changed), true), None);
        assert_eq!(auto_apply_scope_replay(&r, Some(changed), false), None);
        assert_eq!(auto_apply_scope_replay(&r, None, false), None);
    }

    #[test]
    fn a_recorded_one_shot_run_keeps_a_replay_section_of_its_own_gate() {
        let modules = Path::new("modules");
        let r = request(modules);
        let replay = one_shot_stateful_apply_replay(&r, true).expect("a recorded run");
        assert_eq!(replay.gate, "allow_one_shot_stateful_apply");
        assert_eq!(replay.flags.module.as_deref(), Some("postgres"));
        assert_eq!(one_shot_stateful_apply_replay(&r, false), None);
    }
}
