//! Stable reason codes. Every code is declared once, as a `Code` constant next to the check
//! that emits it, registered in `registry::all_codes`, and documented once in `docs/reasons/*.md` (a test checks both ways).

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Blocks: the gate says no (or could not evaluate, for error codes).
    Error,
    /// Reported, never blocks.
    Warning,
    /// Says why something passed, or what was checked.
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn from_name(name: &str) -> Option<Severity> {
        match name {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

/// A documented reason code.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// Dotted, stable id: `backup.ref.stale`.
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what it means.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
}

macro_rules! code {
    ($name:ident, $id:literal, $sev:ident, $summary:literal, $help:literal) => {
        pub static $name: $crate::report::Code = $crate::report::Code {
            id: $id,
            severity: $crate::report::Severity::$sev,
            summary: $summary,
            help: $help,
        };
    };
}
pub(crate) use code;

code!(
    NOTHING_EVALUATED,
    "gate.nothing_evaluated",
    Error,
    "No check ran, so the gate cannot say yes.",
    "This is a bug or a misconfiguration (an empty rule set, an empty input list); fix the inputs or report it."
);

/// Codes for "could not evaluate" (exit 2) shared by all gates.
pub mod general {
    code!(
        USAGE,
        "input.usage",
        Error,
        "The command line was not understood.",
        "Run the binary with --help and correct the flags."
    );
    code!(
        IO,
        "input.io",
        Error,
        "An input file could not be read.",
        "Check that the path exists and is readable by the runner's user."
    );
    code!(
        TOO_LARGE,
        "input.too_large",
        Error,
        "An input is larger than its size limit.",
        "Inputs this large are not expected; check that the right file was passed."
    );
    code!(
        TOO_COMPLEX,
        "input.too_complex",
        Error,
        "An input is nested deeper, or expands to more nodes, than the readers allow (a YAML alias bomb, a JSON document nested thousands deep).",
        "Inputs this deep are not expected from platformctl, Forgejo, a module manifest or a policy; check that the right file was passed."
    );
    code!(
        POLICY_INVALID,
        "policy.invalid",
        Error,
        "The policy file is not valid; every problem is listed with its line.",
        "Fix each listed line; unknown keys are errors so that a typo never silently drops a rule."
    );
    code!(
        CLOCK_INVALID,
        "input.now_invalid",
        Error,
        "--now is not an RFC 3339 timestamp.",
        "Pass a timestamp such as 2026-05-17T01:30:00Z, or leave --now out to use the system clock."
    );
    code!(
        EVENT_INVALID,
        "input.event_invalid",
        Error,
        "The event payload could not be read or is not the expected shape.",
        "Check $GITHUB_EVENT_PATH (or the path given to --from-event) and the workflow's trigger."
    );
    code!(
        RECORD_FAILED,
        "record.write_failed",
        Error,
        "The decision could not be appended to the --record log.",
        "Check the log path and its permissions; a decision that cannot be recorded is not acted on."
    );
}

pub static GENERAL: &[&Code] = &[
    &NOTHING_EVALUATED,
    &general::USAGE,
    &general::IO,
    &general::TOO_LARGE,
    &general::TOO_COMPLEX,
    &general::POLICY_INVALID,
    &general::CLOCK_INVALID,
    &general::EVENT_INVALID,
    &general::RECORD_FAILED,
];
