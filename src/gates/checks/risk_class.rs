//! Modules carrying a manual class (security-sensitive, public-edge, auth) stay manual unless
//! a dated, explained policy exception says otherwise.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    MANUAL,
    "scope.class.manual",
    Error,
    "The module carries a risk class that the policy keeps manual.",
    "Apply it by hand, or add a policy exception with `module`, `allow_classes`, `reason` and `expires`."
);
code!(
    EXCEPTION_APPLIED,
    "scope.class.exception",
    Warning,
    "A manual class was allowed by a policy exception.",
    "Nothing to do while the exception is meant; it ends on its `expires` date."
);
code!(
    NO_MANUAL_CLASS,
    "scope.class.none",
    Info,
    "The module carries no class that the policy keeps manual.",
    "Nothing to do."
);

pub struct RiskClass;

impl Check for RiskClass {
    fn id(&self) -> &'static str {
        "risk-class"
    }
    fn summary(&self) -> &'static str {
        "modules with a manual risk class are not auto-applied without a live exception"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&MANUAL, &EXCEPTION_APPLIED, &NO_MANUAL_CLASS];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let m = ctx.manifest;
        let manual: Vec<&String> = m
            .classes
            .iter()
            .filter(|c| ctx.policy.dispatch.manual_classes.contains(c))
            .collect();
        if manual.is_empty() {
            let classes = if m.classes.is_empty() {
                "none".to_string()
            } else {
                m.classes.join(", ")
            };
            d.push(
                Reason::new(
                    &NO_MANUAL_CLASS,
                    format!(
                        "classes of `{}`: {classes}; none is kept manual by the policy ({})",
                        m.id,
                        ctx.policy.dispatch.manual_classes.join(", ")
                    ),
                )
                .subject(m.id.to_string()),
            );
            return Ran::Yes;
        }
        let today = ctx.now.date();
        for class in manual {
            let live = ctx.policy.exceptions.iter().find(|e| {
                e.module == m.id.as_str() && e.allow_classes.contains(class) && e.applies_on(today)
            });
            match live {
                Some(e) => d.push(
                    Reason::new(
                        &EXCEPTION_APPLIED,
                        format!(
                            "`{}` is {class}, allowed by the policy exception at line {} until {} ({})",
                            m.id, e.line, e.expires, e.reason
                        ),
                    )
                    .subject(m.id.to_string()),
                ),
                None => d.push(
                    Reason::new(
                        &MANUAL,
                        format!(
                            "`{}` is {class}: the policy keeps {class} modules manual",
                            m.id
                        ),
                    )
                    .subject(m.id.to_string()),
                ),
            }
        }
        Ran::Yes
    }
}
