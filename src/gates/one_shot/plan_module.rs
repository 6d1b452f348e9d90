//! The plan must be for the dispatched module.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    MISMATCH,
    "plan.module_mismatch",
    Error,
    "The plan is for a different module than the one dispatched.",
    "Plan the dispatched module (`platformctl plan --json <module>`) and pass that plan."
);
code!(
    OK,
    "plan.module_ok",
    Info,
    "The plan is for the dispatched module.",
    "Nothing to do."
);

pub struct PlanModule;

impl Check for PlanModule {
    fn id(&self) -> &'static str {
        "plan-module"
    }
    fn summary(&self) -> &'static str {
        "the plan's module is the dispatched module"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&MISMATCH, &OK];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(plan) = ctx.plan else {
            return Ran::NotApplicable;
        };
        if plan.module == ctx.inputs.module.as_str() {
            d.push(Reason::new(&OK, format!("the plan is for `{}`", plan.module)).subject("plan"));
        } else {
            d.push(
                Reason::new(
                    &MISMATCH,
                    format!(
                        "the plan is for {:?}, but `{}` was dispatched",
                        crate::model::truncate(&plan.module),
                        ctx.inputs.module
                    ),
                )
                .subject("plan"),
            );
        }
        Ran::Yes
    }
}
