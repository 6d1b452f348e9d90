//! Policy exceptions that have expired, or that name a module or class they cannot apply to,
//! are reported so they get cleaned up.

use crate::gates::{Check, Context, Ran};
use crate::model::ModuleId;
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    EXPIRED,
    "policy.exception.expired",
    Warning,
    "A policy exception has passed its `expires` date and no longer applies.",
    "Remove it from the policy, or renew it with a new date and a reason."
);
code!(
    UNUSED,
    "policy.exception.unused",
    Warning,
    "A policy exception names a module that does not exist, or a class the module does not carry.",
    "Remove the exception, or fix its module or classes."
);

code!(
    TOO_FAR_AHEAD,
    "policy.exception.too_far_ahead",
    Warning,
    "A policy exception's `expires` date lies more than 366 days ahead, so it does not apply: an exception that never ends is not a dated one.",
    "Set `expires` to a date within a year, and renew it then if it is still meant."
);

pub struct PolicyExceptions;

impl Check for PolicyExceptions {
    fn id(&self) -> &'static str {
        "policy-exceptions"
    }
    fn summary(&self) -> &'static str {
        "expired and unused policy exceptions are reported"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&EXPIRED, &UNUSED, &TOO_FAR_AHEAD];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        if ctx.policy.exceptions.is_empty() {
            return Ran::NotApplicable;
        }
        let today = ctx.now.date();
        for e in &ctx.policy.exceptions {
            let subject = format!("policy exception at line {}", e.line);
            if today > e.expires {
                d.push(
                    Reason::new(
                        &EXPIRED,
                        format!("the exception for `{}` expired on {}", e.module, e.expires),
                    )
                    .subject(subject.clone()),
                );
            }
            if e.too_far_ahead(today) {
                d.push(
                    Reason::new(
                        &TOO_FAR_AHEAD,
                        format!(
                            "the exception for `{}` runs until {}, more than {} days from {today}; it does not apply",
                            e.module,
                            e.expires,
                            crate::policy::MAX_EXCEPTION_DAYS_AHEAD
                        ),
                    )
                    .subject(subject.clone()),
                );
            }
            let target = if e.module == ctx.manifest.id.as_str() {
                Some(ctx.manifest.classes.clone())
            } else {
                ModuleId::parse(&e.module)
                    .ok()
                    .and_then(|id| ctx.host.manifest(ctx.modules_dir, &id).ok())
                    .map(|m| m.classes)
            };
            match target {
                None => d.push(
                    Reason::new(
                        &UNUSED,
                        format!(
                            "the exception names `{}`, which has no valid manifest",
                            e.module
                        ),
                    )
                    .subject(subject),
                ),
                Some(classes) => {
                    for c in e.allow_classes.iter().filter(|c| !classes.contains(c)) {
                        d.push(
                            Reason::new(
                                &UNUSED,
                                format!(
                                    "the exception allows {c} for `{}`, which is not {c}",
                                    e.module
                                ),
                            )
                            .subject(subject.clone()),
                        );
                    }
                }
            }
        }
        Ran::Yes
    }
}
