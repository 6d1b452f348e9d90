//! `restore_drill`: restore a backup into a scratch instance and compare it with its manifest.
//! Pass (0), fail (1: the restore failed or the content differs), could not run (2).

use super::{CommonArgs, ModuleArgs, finish};
use crate::emit::Emitted;
use crate::env::Env;
use crate::gates::restore_drill;
use crate::report::Gate;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "restore_drill",
    version = crate::version::LONG,
    about = "Restore a backup into a scratch instance and compare it with its manifest: pass (0), fail (1), could not run (2).",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    /// Absolute path of the backup (the reference printed by backup_before_apply).
    #[arg(long, value_name = "PATH", allow_hyphen_values = true)]
    pub backup_ref: String,
    #[command(flatten)]
    pub module: ModuleArgs,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let result = restore_drill::run(&restore_drill::Request {
        backup_ref: &args.backup_ref,
        module: args.module.request(&args.common),
    });
    finish(Gate::RestoreDrill, result, &args.common, false, env)
}
