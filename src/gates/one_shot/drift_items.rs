//! Every drift item must be of an allow-listed kind and target the module's own service.
//! Every offending item is listed, not only the first.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    KIND,
    "plan.drift.kind_not_allowed",
    Error,
    "A drift item's kind is not on the policy's allow-list for one-shot applies.",
    "Only the listed kinds (default: container.state.exited_success) may be applied this way; apply anything else by hand."
);
code!(
    FOREIGN,
    "plan.drift.foreign_service",
    Error,
    "A drift item targets a service other than the module's own.",
    "A one-shot apply may only touch the module's own service; plan and apply the other module separately."
);
code!(
    OK,
    "plan.drift.ok",
    Info,
    "Every drift item is allow-listed and targets the module's own service.",
    "Nothing to do."
);
code!(
    NOOP,
    "plan.noop",
    Info,
    "The plan has no drift: there is nothing to apply.",
    "The workflow skips the apply step (exit 3) and runs the health check as a smoke."
);

pub struct DriftItems;

impl Check for DriftItems {
    fn id(&self) -> &'static str {
        "drift-items"
    }
    fn summary(&self) -> &'static str {
        "every drift item is an allow-listed kind on the module's own service"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&KIND, &FOREIGN, &OK, &NOOP];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(plan) = ctx.plan else {
            return Ran::NotApplicable;
        };
        if plan.drift.is_empty() {
            d.push(Reason::new(&NOOP, "the plan has no drift").subject("plan"));
            return Ran::Yes;
        }
        let allowed = &ctx.policy.plan.allowed_drift_kinds;
        let own = ctx.manifest.id.as_str();
        let mut bad = false;
        for item in &plan.drift {
            let subject = format!("drift[{}]", item.index);
            if !allowed.contains(&item.kind) {
                bad = true;
                d.push(
                    Reason::new(
                        &KIND,
                        format!(
                            "drift[{}] kind {:?} is not allowed (allowed: {})",
                            item.index,
                            crate::model::truncate(&item.kind),
                            allowed.join(", ")
                        ),
                    )
                    .subject(subject.clone()),
                );
            }
            if item.service != own {
                bad = true;
                d.push(
                    Reason::new(
                        &FOREIGN,
                        format!(
                            "drift[{}] targets service {:?}, not `{own}`",
                            item.index,
                            crate::model::truncate(&item.service)
                        ),
                    )
                    .subject(subject),
                );
            }
        }
        if !bad {
            let items: Vec<String> = plan
                .drift
                .iter()
                .map(|i| {
                    format!(
                        "{} on {} ({} -> {})",
                        i.kind,
                        i.container.as_deref().unwrap_or(&i.service),
                        i.current.as_deref().unwrap_or("?"),
                        i.desired.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            d.push(Reason::new(&OK, format!("drift: {}", items.join("; "))).subject("plan"));
        }
        Ran::Yes
    }
}
