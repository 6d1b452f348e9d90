//! `allow_one_shot_stateful_apply`: may this plan really be applied to this stateful module?
//! `allow` only for a stateful one-shot whose plan is for this module and whose every drift
//! item is allow-listed and targets the module's own service; `noop` for an empty plan.

mod drift_items;
mod one_shot_manifest;
mod plan_module;

use super::checks::{
    backup_artifact::BackupArtifact, backup_reference::BackupReference,
    confirm_phrase::ConfirmPhrase, policy_exceptions::PolicyExceptions, restore_path::RestorePath,
    risk_class::RiskClass, statefulness::Statefulness,
};
use super::host::{Host, LiveHost};
use super::{Check, Context, run_checks};
use crate::model::{DispatchInputs, Plan};
use crate::policy::LoadedPolicy;
use crate::report::{Decision, Gate, GateError, InputDigest, Outcome};
use std::path::Path;
use time::OffsetDateTime;

/// The checks of `allow_one_shot_stateful_apply`, in order.
pub static CHECKS: &[&dyn Check] = &[
    &plan_module::PlanModule,
    &one_shot_manifest::OneShotManifest,
    &drift_items::DriftItems,
    &RiskClass,
    &Statefulness,
    &RestorePath,
    &super::checks::backup_binding::BackupBinding,
    &BackupReference,
    &BackupArtifact,
    &super::checks::backup_manifest::BackupManifest,
    &super::checks::restore_drill::RestoreDrill,
    &super::checks::backup_size::BackupSize,
    &ConfirmPhrase,
    &PolicyExceptions,
];

pub struct Request<'a> {
    pub policy: &'a LoadedPolicy,
    pub modules_dir: &'a Path,
    pub inputs: &'a DispatchInputs,
    pub plan: &'a Plan,
    pub plan_digest: InputDigest,
    pub now: OffsetDateTime,
    pub event: Option<InputDigest>,
}

pub fn evaluate(req: &Request) -> Result<Decision, GateError> {
    evaluate_on(req, &LiveHost::new())
}

/// Evaluate against `host`: the live filesystem, or what a record observed.
pub fn evaluate_on(req: &Request, host: &dyn Host) -> Result<Decision, GateError> {
    let manifest = host.manifest(req.modules_dir, &req.inputs.module)?;
    let mut d = Decision::new(
        Gate::OneShotStatefulApply,
        req.inputs.module.to_string(),
        req.now,
    );
    d.inputs.push(req.policy.digest.clone());
    d.inputs.push(manifest.digest.clone());
    d.inputs.push(req.plan_digest.clone());
    if let Some(e) = &req.event {
        d.inputs.push(e.clone());
    }
    let ctx = Context {
        policy: &req.policy.policy,
        manifest: &manifest,
        inputs: req.inputs,
        now: req.now,
        modules_dir: req.modules_dir,
        plan: Some(req.plan),
        host,
    };
    run_checks(CHECKS, &ctx, &mut d);
    d.fact("module", manifest.id.to_string());
    d.fact("drift_items", req.plan.drift.len().to_string());
    let d = d.settle(Outcome::Allow, Outcome::Deny)?;
    // Nothing to apply is its own answer, but never overrides a deny.
    if d.outcome == Outcome::Allow && req.plan.drift.is_empty() {
        return Ok(Decision {
            outcome: Outcome::Noop,
            ..d
        });
    }
    Ok(d)
}
