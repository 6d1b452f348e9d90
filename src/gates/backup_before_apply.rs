//! The `backup_before_apply` tool: take a module's backup by its class's procedure, verify it
//! as the gates will, write its manifest, and decide with the backup reference as a fact.

use super::ModuleRequest;
use crate::backup::take;
use crate::report::{Decision, Gate, GateError, InputDigest, Outcome};

/// Take the module's backup and decide: taken (pass, with the reference and the manifest's
/// facts) or an error (nothing is left under the backup's name).
pub fn run(request: &ModuleRequest<'_>) -> Result<Decision, GateError> {
    let (now, module, policy) = request.resolve()?;
    let taken = take::take(&take::Request {
        policy: &policy.policy.backup,
        modules_dir: request.modules_dir,
        module: &module,
        now,
    })?;
    let mut d = Decision::new(Gate::BackupBeforeApply, module.to_string(), now);
    d.inputs.push(policy.digest.clone());
    d.inputs.push(InputDigest {
        name: "backup".into(),
        source: taken.path.clone(),
        sha256: taken.manifest.sha256.clone(),
        bytes: taken.manifest.size,
    });
    d.push(taken.reason());
    d.checks_run = 1;
    d.fact("backup_ref", taken.path.clone());
    d.fact("backup_manifest", taken.manifest_path.clone());
    d.fact("backup_sha256", taken.manifest.sha256.clone());
    d.fact("backup_bytes", taken.manifest.size.to_string());
    d.fact("backup_class", taken.manifest.class.clone());
    d.fact("procedure", taken.manifest.procedure.as_str());
    d.settle(Outcome::Pass, Outcome::Fail)
}
