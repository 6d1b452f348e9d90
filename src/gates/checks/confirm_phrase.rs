//! The confirm phrase of a stateful dispatch, compared byte for byte.

use crate::gates::{Check, Context, Ran};
use crate::report::code::code;
use crate::report::{Code, Decision, Reason};

code!(
    MISSING,
    "scope.confirm.missing",
    Error,
    "A stateful module was dispatched without stateful_confirm.",
    "Type the policy's confirm phrase (default BACKUP_DONE_F3) after the backup is taken."
);
code!(
    MISMATCH,
    "scope.confirm.mismatch",
    Error,
    "stateful_confirm is not exactly the policy's confirm phrase.",
    "Type the phrase exactly: same case, no spaces or newlines, plain ASCII letters."
);
code!(
    OK,
    "scope.confirm.ok",
    Info,
    "stateful_confirm equals the confirm phrase.",
    "Nothing to do."
);

pub struct ConfirmPhrase;

impl Check for ConfirmPhrase {
    fn id(&self) -> &'static str {
        "confirm-phrase"
    }
    fn summary(&self) -> &'static str {
        "a stateful dispatch carries the exact confirm phrase"
    }
    fn codes(&self) -> &'static [&'static Code] {
        static CODES: &[&Code] = &[&MISSING, &MISMATCH, &OK];
        CODES
    }
    fn run(&self, ctx: &Context, d: &mut Decision) -> Ran {
        if !ctx.manifest.is_stateful() {
            return Ran::NotApplicable;
        }
        let expected = &ctx.policy.dispatch.confirm_phrase;
        match &ctx.inputs.stateful_confirm {
            None => d.push(
                Reason::new(&MISSING, "stateful_confirm is empty or missing")
                    .subject("stateful_confirm"),
            ),
            Some(given) if given.as_bytes() == expected.as_bytes() => d.push(
                Reason::new(&OK, "stateful_confirm matches the policy's phrase")
                    .subject("stateful_confirm"),
            ),
            Some(given) => d.push(
                Reason::new(
                    &MISMATCH,
                    format!(
                        "stateful_confirm {:?} is not the confirm phrase{}",
                        crate::model::truncate(given),
                        hint(given, expected)
                    ),
                )
                .subject("stateful_confirm"),
            ),
        }
        Ran::Yes
    }
}

/// Say why a near miss missed, without guessing it right.
fn hint(given: &str, expected: &str) -> &'static str {
    if !given.is_ascii() {
        " (it has non-ASCII characters: a look-alike letter?)"
    } else if given.trim() == expected {
        " (it has leading or trailing whitespace or a newline)"
    } else if given.eq_ignore_ascii_case(expected) {
        " (the case differs)"
    } else {
        ""
    }
}
