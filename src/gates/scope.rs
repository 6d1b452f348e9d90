//! `auto_apply_scope` in dispatch mode: may this module be applied by the auto-apply workflow
//! with these dispatch inputs?

use super::checks::{
    backup_artifact::BackupArtifact, backup_reference::BackupReference,
    confirm_phrase::ConfirmPhrase, policy_exceptions::PolicyExceptions, restore_path::RestorePath,
    risk_class::RiskClass, statefulness::Statefulness,
};
use super::host::{Host, LiveHost};
use super::{Check, Context, run_checks};
use crate::model::{DispatchInputs, Manifest};
use crate::policy::{LoadedPolicy, Policy};
use crate::report::{Decision, Gate, GateError, InputDigest, Outcome};
use std::path::Path;
use time::OffsetDateTime;

/// The checks of `auto_apply_scope`, in the order they run and report.
pub static CHECKS: &[&dyn Check] = &[
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
    pub now: OffsetDateTime,
    pub event: Option<InputDigest>,
}

pub fn evaluate(req: &Request) -> Result<Decision, GateError> {
    evaluate_on(req, &LiveHost::new())
}

/// Evaluate against `host`: the live filesystem, or what a record observed.
pub fn evaluate_on(req: &Request, host: &dyn Host) -> Result<Decision, GateError> {
    let manifest = host.manifest(req.modules_dir, &req.inputs.module)?;
    let mut d = Decision::new(Gate::AutoApplyScope, req.inputs.module.to_string(), req.now);
    d.inputs.push(req.policy.digest.clone());
    d.inputs.push(manifest.digest.clone());
    if let Some(e) = &req.event {
        d.inputs.push(e.clone());
    }
    let ctx = Context {
        policy: &req.policy.policy,
        manifest: &manifest,
        inputs: req.inputs,
        now: req.now,
        modules_dir: req.modules_dir,
        plan: None,
        host,
    };
    run_checks(CHECKS, &ctx, &mut d);
    d.fact("module", manifest.id.to_string());
    d.fact(
        "scope",
        scope_of(&manifest, &req.policy.policy, req.now).as_str(),
    );
    d.fact("stateful", manifest.is_stateful().to_string());
    d.fact(
        "one_shot",
        (manifest.is_stateful() && manifest.is_one_shot()).to_string(),
    );
    d.settle(Outcome::Eligible, Outcome::Blocked)
}

/// How a module may reach production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Stateless, no manual class: the auto-apply workflow may apply it.
    Auto,
    /// Stateful: needs allow_stateful, a fresh backup and the confirm phrase; only a no-op plan
    /// may run unless it is a one-shot.
    Stateful,
    /// A stateful one-shot: may be re-run when its only drift is an unsuccessful exit.
    OneShot,
    /// A manual class without a live exception: applied by hand.
    Manual,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Auto => "auto",
            Scope::Stateful => "stateful",
            Scope::OneShot => "one-shot",
            Scope::Manual => "manual",
        }
    }
}

pub fn scope_of(m: &Manifest, policy: &Policy, now: OffsetDateTime) -> Scope {
    let today = now.date();
    let manual = m.classes.iter().any(|c| {
        policy.dispatch.manual_classes.contains(c)
            && !policy.exceptions.iter().any(|e| {
                e.module == m.id.as_str() && e.allow_classes.contains(c) && e.applies_on(today)
            })
    });
    if manual {
        Scope::Manual
    } else if !m.is_stateful() {
        Scope::Auto
    } else if m.is_one_shot() {
        Scope::OneShot
    } else {
        Scope::Stateful
    }
}
