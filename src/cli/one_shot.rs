//! `allow_one_shot_stateful_apply`: the plan, plus the same module, backup and confirm inputs.

use super::scope::DispatchArgs;
use super::{CommonArgs, Emitted, finish_with};
use crate::env::Env;
use crate::gates::host::LiveHost;
use crate::gates::one_shot;
use crate::gates::replay::ReplayV1;
use crate::model::plan;
use crate::report::{Decision, Gate, GateError, InputDigest};
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
    let mut replay = args
        .common
        .record
        .is_some()
        .then(|| ReplayV1::new(gate, &args.dispatch.raw(), &args.dispatch.modules_dir));
    let result = evaluate(args, env, replay.as_mut());
    finish_with(
        gate,
        result,
        &args.common,
        false,
        env,
        replay.as_ref().filter(|r| !r.now.is_empty()),
    )
}

fn evaluate(
    args: &Args,
    env: &dyn Env,
    mut replay: Option<&mut ReplayV1>,
) -> Result<Decision, GateError> {
    let now = crate::clock::now_or(args.common.now.as_deref())?;
    let policy = crate::policy::load(args.common.policy.as_deref(), std::path::Path::new("."))?;
    if let Some(r) = replay.as_deref_mut() {
        super::record_policy(r, &policy)?;
        // Set last: a replay section without `now` was not gathered and is not recorded.
        r.now = crate::clock::format(now);
    }
    let (inputs, event) = args.dispatch.resolve_into(env, replay.as_deref_mut())?;
    let bytes = crate::input::read_limited(&args.plan, policy.policy.plan.max_bytes, "plan")?;
    if let Some(r) = replay.as_deref_mut() {
        r.set_plan(&args.plan.display().to_string(), &bytes);
    }
    let plan_digest = InputDigest::of("plan", args.plan.display().to_string(), &bytes);
    let plan = plan::parse(&bytes)?;
    let host = LiveHost::new();
    let result = one_shot::evaluate_on(
        &one_shot::Request {
            policy: &policy,
            modules_dir: &args.dispatch.modules_dir,
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
