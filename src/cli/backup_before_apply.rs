//! `backup_before_apply`: take a module's backup by its class's procedure; print the backup
//! reference as the last line of text output and write `backup_ref=` to the step outputs.

use super::{CommonArgs, Emitted, finish};
use crate::backup::take;
use crate::env::Env;
use crate::model::ModuleId;
use crate::report::{Decision, Gate, GateError, InputDigest, Outcome};
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "backup_before_apply",
    version = crate::version::LONG,
    about = "Take a module's backup by its class's procedure, verify it as the gates will, write its manifest, and print the backup reference. Taken (0), could not take it (2): nothing is left under the backup's name.",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    /// Module id (directory name under --modules-dir).
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    pub module: String,
    /// Where module directories live.
    #[arg(long, value_name = "DIR", default_value = "modules")]
    pub modules_dir: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let gate = Gate::BackupBeforeApply;
    let result = evaluate(args);
    let reference = result
        .as_ref()
        .ok()
        .and_then(|d| d.facts.get("backup_ref").cloned());
    let mut out = finish(gate, result, &args.common, false, env);
    // The operator pastes exactly the last line into the dispatch form.
    if out.exit == 0
        && args.common.format == "text"
        && let Some(reference) = reference
    {
        out.stdout.push_str(&reference);
        out.stdout.push('\n');
    }
    out
}

fn evaluate(args: &Args) -> Result<Decision, GateError> {
    let now = crate::clock::now_or(args.common.now.as_deref())?;
    let module = ModuleId::parse(&args.module)?;
    let policy = crate::policy::load(args.common.policy.as_deref(), std::path::Path::new("."))?;
    let taken = take::take(&take::Request {
        policy: &policy.policy.backup,
        modules_dir: &args.modules_dir,
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
