//! Only a stateful one-shot (`expected_state: exited-success`, restart absent or "no") may
//! have drift applied by this gate. With no drift there is nothing to apply and the shape does
//! not matter.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    NOT_STATEFUL,
    "one_shot.not_stateful",
    Error,
    "The module is stateless; this gate only allows applies to stateful one-shots.",
    "Stateless modules are applied after auto_apply_scope alone; do not call this gate for them."
);
code!(
    NOT_ONE_SHOT,
    "one_shot.not_one_shot",
    Error,
    "The module is stateful but not a one-shot: only a no-op plan may run.",
    "Apply this change by hand, after a backup, following the module's runbook."
);
code!(
    RESTARTS,
    "one_shot.restarts",
    Error,
    "The module expects exited-success but has a restart policy other than \"no\".",
    "A one-shot must not restart: set spec.runtime.restart: \"no\" (or remove it)."
);
code!(
    OK,
    "one_shot.ok",
    Info,
    "The module is a stateful one-shot.",
    "Nothing to do."
);

pub struct OneShotManifest;

impl Check for OneShotManifest {
    fn id(&self) -> &'static str {
        "one-shot-manifest"
    }
    fn summary(&self) -> &'static str {
        "drift is only applied to stateful one-shot modules"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&NOT_STATEFUL, &NOT_ONE_SHOT, &RESTARTS, &OK];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let Some(plan) = ctx.plan else {
            return Ran::NotApplicable;
        };
        if plan.drift.is_empty() {
            return Ran::NotApplicable;
        }
        let m = ctx.manifest;
        let subject = m.id.to_string();
        if !m.is_stateful() {
            d.push(Reason::new(&NOT_STATEFUL, format!("`{}` is stateless", m.id)).subject(subject));
        } else if m.expected_state != crate::model::ExpectedState::ExitedSuccess {
            d.push(
                Reason::new(
                    &NOT_ONE_SHOT,
                    format!(
                        "`{}` is stateful and expected to keep running; its plan has {} drift item(s)",
                        m.id,
                        plan.drift.len()
                    ),
                )
                .subject(subject),
            );
        } else if !m.is_one_shot() {
            d.push(
                Reason::new(
                    &RESTARTS,
                    format!(
                        "`{}` expects exited-success but has restart {:?}",
                        m.id,
                        m.restart.as_deref().unwrap_or_default()
                    ),
                )
                .subject(subject),
            );
        } else {
            d.push(
                Reason::new(
                    &OK,
                    format!(
                        "`{}` is a stateful one-shot (exited-success, restart {})",
                        m.id,
                        m.restart.as_deref().unwrap_or("absent")
                    ),
                )
                .subject(subject),
            );
        }
        Ran::Yes
    }
}
