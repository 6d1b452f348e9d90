//! `backup_before_apply`: take a module's backup by its class's procedure; print the backup
//! reference as the last line of text output and write `backup_ref=` to the step outputs.

use super::{CommonArgs, ModuleArgs, finish};
use crate::emit::Emitted;
use crate::env::Env;
use crate::gates::backup_before_apply;
use crate::render::Format;
use crate::report::Gate;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "backup_before_apply",
    version = crate::version::LONG,
    about = "Take a module's backup by its class's procedure, verify it as the gates will, write its manifest, and print the backup reference. Taken (0), could not take it (2): nothing is left under the backup's name.",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub module: ModuleArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let result = backup_before_apply::run(&args.module.request(&args.common));
    let reference = result
        .as_ref()
        .ok()
        .and_then(|d| d.facts.get("backup_ref").cloned());
    let mut out = finish(Gate::BackupBeforeApply, result, &args.common, false, env);
    // The operator pastes exactly the last line into the dispatch form.
    if out.exit == 0
        && args.common.format == Format::Text
        && let Some(reference) = reference
    {
        out.stdout.push_str(&reference);
        out.stdout.push('\n');
    }
    out
}
