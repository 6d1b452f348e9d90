//! The gates. Each gate is an ordered, explicit list of checks; each check lives in its own
//! file with the codes it may emit. A check reports whether it evaluated anything, and a gate
//! whose checks evaluated nothing cannot say yes.

pub mod backup_before_apply;
pub mod checks;
pub mod dispatch;
pub mod host;
pub mod lint_workflows;
pub mod one_shot;
pub mod pr_scope;
pub mod replay;
pub mod restore_drill;
pub mod scope;

use crate::model::{DispatchInputs, Manifest, ModuleId, Plan};
use crate::policy::{LoadedPolicy, Policy};
use crate::report::{Code, Decision, GateError};
use std::path::Path;
use time::OffsetDateTime;

/// The inputs `backup_before_apply` and `restore_drill` share, as given on the command line:
/// the clock, the policy file and the module.
pub struct ModuleRequest<'a> {
    /// RFC 3339 [default: the system clock].
    pub now: Option<&'a str>,
    /// [default: `.forgejo/gates.yml` when present, else the built-in policy].
    pub policy: Option<&'a Path>,
    pub module: &'a str,
    pub modules_dir: &'a Path,
}

impl ModuleRequest<'_> {
    /// The clock, the module id and the policy, read in that order: the first that fails is
    /// the error.
    pub fn resolve(&self) -> Result<(OffsetDateTime, ModuleId, LoadedPolicy), GateError> {
        let now = crate::clock::now_or(self.now)?;
        let module = ModuleId::parse(self.module)?;
        let policy = crate::policy::load(self.policy, Path::new("."))?;
        Ok((now, module, policy))
    }
}

/// Everything a dispatch check may look at.
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub manifest: &'a Manifest,
    pub inputs: &'a DispatchInputs,
    pub now: OffsetDateTime,
    pub modules_dir: &'a Path,
    /// Only for `allow_one_shot_stateful_apply`.
    pub plan: Option<&'a Plan>,
    /// Where manifests, runbooks and the backup are looked at (the filesystem, or a record).
    pub host: &'a dyn host::Host,
}

/// Whether a check evaluated anything for this input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Yes,
    NotApplicable,
}

pub trait Check: Sync {
    /// Stable id, e.g. `backup-reference`.
    fn id(&self) -> &'static str;
    /// One line: what the check makes sure of.
    fn summary(&self) -> &'static str;
    /// Every code the check may emit.
    fn codes(&self) -> &'static [&'static Code];
    fn run(&self, ctx: &Context, decision: &mut Decision) -> Ran;
}

/// Run checks in order, counting those that evaluated something.
pub fn run_checks(checks: &[&dyn Check], ctx: &Context, decision: &mut Decision) {
    for check in checks {
        if check.run(ctx, decision) == Ran::Yes {
            decision.checks_run += 1;
        }
    }
}

/// The codes of a list of checks, for the code registry.
pub fn codes_of(checks: &[&dyn Check]) -> Vec<&'static Code> {
    checks
        .iter()
        .flat_map(|c| c.codes().iter().copied())
        .collect()
}
