//! A stateful module (or one whose manifest does not say) is only dispatched with
//! `allow_stateful=true`; a stateless one needs no backup.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    STATELESS,
    "scope.stateless",
    Info,
    "The module is stateless: it may be applied without a backup.",
    "Nothing to do."
);
code!(
    NOT_ALLOWED,
    "scope.stateful.not_allowed",
    Error,
    "The module is stateful and the dispatch did not set allow_stateful=true.",
    "Take a backup, then dispatch with allow_stateful=true, backup_ref and stateful_confirm."
);
code!(
    ALLOWED,
    "scope.stateful.allowed",
    Info,
    "The module is stateful and the dispatch set allow_stateful=true.",
    "Nothing to do; the backup and confirm checks decide the rest."
);
code!(
    UNDECLARED,
    "scope.statefulness.undeclared",
    Warning,
    "The manifest does not declare spec.runtime.statefulness, so the module is treated as stateful.",
    "Declare `statefulness: stateless` or `statefulness: stateful` in the manifest."
);

pub struct Statefulness;

impl Check for Statefulness {
    fn id(&self) -> &'static str {
        "statefulness"
    }
    fn summary(&self) -> &'static str {
        "stateful modules need allow_stateful=true; undeclared means stateful"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&STATELESS, &NOT_ALLOWED, &ALLOWED, &UNDECLARED];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        let m = ctx.manifest;
        let subject = m.id.to_string();
        if !m.statefulness_declared {
            d.push(
                Reason::new(
                    &UNDECLARED,
                    format!(
                        "`{}` does not declare its statefulness: treated as stateful",
                        m.id
                    ),
                )
                .subject(subject.clone()),
            );
        }
        if !m.is_stateful() {
            d.push(
                Reason::new(
                    &STATELESS,
                    format!("`{}` is stateless: no backup is needed", m.id),
                )
                .subject(subject),
            );
            if ctx.inputs.backup_ref.is_some() || ctx.inputs.stateful_confirm.is_some() {
                d.fact("note", "backup inputs ignored for a stateless module");
            }
        } else if ctx.inputs.allow_stateful {
            d.push(
                Reason::new(
                    &ALLOWED,
                    format!("`{}` is stateful and allow_stateful=true", m.id),
                )
                .subject(subject),
            );
        } else {
            d.push(
                Reason::new(
                    &NOT_ALLOWED,
                    format!("`{}` is stateful but allow_stateful is false", m.id),
                )
                .subject("allow_stateful"),
            );
        }
        Ran::Yes
    }
}
