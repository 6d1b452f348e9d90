//! `allow_one_shot_stateful_apply`: the plan, plus the same module, backup and confirm inputs.

use super::CommonArgs;
use super::scope::DispatchArgs;
use crate::emit::{Emitted, emit};
use crate::env::Env;
use crate::gates::dispatch;
use crate::report::Gate;
use clap::Parser;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "allow_one_shot_stateful_apply",
    version = crate::version::LONG,
    about = "May this plan really be applied to this stateful module? allow (0), deny (1), could not evaluate (2), noop (3).",
    after_help = super::AFTER_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub dispatch: DispatchArgs,
    /// The plan JSON from `platformctl plan --json` (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub plan: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: &Args, env: &dyn Env) -> Emitted {
    let gate = Gate::OneShotStatefulApply;
    if let Err(e) = crate::clock::refuse_override_in_workflow(args.common.now.as_deref(), env) {
        return emit(gate, Err(e), &args.common.delivery(false), env, None);
    }
    let request = args.dispatch.request(&args.common);
    let mut replay =
        dispatch::one_shot_stateful_apply_replay(&request, args.common.record.is_some());
    let result = dispatch::one_shot_stateful_apply(&request, &args.plan, env, replay.as_mut());
    emit(
        gate,
        result,
        &args.common.delivery(false),
        env,
        replay.as_ref(),
    )
}
