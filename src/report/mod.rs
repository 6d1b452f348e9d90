//! The one decision model every gate produces: an outcome, the reasons behind it, the inputs
//! it was made from and how many checks ran. Denials are data here; `GateError` is for "could
//! not evaluate".

pub(crate) mod code;
mod error;
pub mod exit;
pub mod renamed;

pub use code::{Code, NOTHING_EVALUATED, Severity, general};
pub use error::GateError;

use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Which gate made a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    AutoApplyScope,
    OneShotStatefulApply,
    CanaryRequired,
    LintWorkflows,
    RestoreDrill,
    /// A tool, not a gate: its decision records the backup it took.
    BackupBeforeApply,
}

impl Gate {
    pub const ALL: [Gate; 6] = [
        Gate::AutoApplyScope,
        Gate::OneShotStatefulApply,
        Gate::CanaryRequired,
        Gate::LintWorkflows,
        Gate::RestoreDrill,
        Gate::BackupBeforeApply,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Gate::AutoApplyScope => "auto_apply_scope",
            Gate::OneShotStatefulApply => "allow_one_shot_stateful_apply",
            Gate::CanaryRequired => "canary_required",
            Gate::LintWorkflows => "lint_workflows",
            Gate::RestoreDrill => "restore_drill",
            Gate::BackupBeforeApply => "backup_before_apply",
        }
    }

    pub fn from_name(name: &str) -> Option<Gate> {
        Gate::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// What a gate decided. `Error` means it could not decide (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Eligible,
    Blocked,
    Allow,
    Noop,
    Deny,
    Pass,
    Fail,
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Eligible,
        Outcome::Blocked,
        Outcome::Allow,
        Outcome::Noop,
        Outcome::Deny,
        Outcome::Pass,
        Outcome::Fail,
        Outcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Eligible => "eligible",
            Outcome::Blocked => "blocked",
            Outcome::Allow => "allow",
            Outcome::Noop => "noop",
            Outcome::Deny => "deny",
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// A place in an input file that a reason points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

/// One reason for (or note about) a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    /// What the reason is about: an input name, a module, a drift item, a section.
    pub subject: Option<String>,
    pub location: Option<Location>,
}

impl Reason {
    /// A reason at the code's default severity.
    pub fn new(code: &'static Code, message: impl Into<String>) -> Reason {
        Reason {
            code,
            severity: code.severity,
            message: message.into(),
            subject: None,
            location: None,
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Reason {
        self.subject = Some(subject.into());
        self
    }

    pub fn at(mut self, location: Location) -> Reason {
        self.location = Some(location);
        self
    }

    pub fn severity(mut self, severity: Severity) -> Reason {
        self.severity = severity;
        self
    }
}

/// An input a decision was made from, identified by content digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDigest {
    /// `manifest:<id>`, `plan`, `policy`, `backup`, `event`, ...
    pub name: String,
    /// A path, `-` for stdin, or `builtin` for the built-in policy.
    pub source: String,
    pub sha256: String,
    pub bytes: u64,
}

impl InputDigest {
    /// The digest of `bytes`, read as input `name` from `source`.
    pub fn of(name: impl Into<String>, source: impl Into<String>, bytes: &[u8]) -> InputDigest {
        InputDigest {
            name: name.into(),
            source: source.into(),
            sha256: crate::digest::sha256_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }
}

/// The complete result of one gate run.
#[derive(Debug, Clone)]
pub struct Decision {
    pub gate: Gate,
    pub outcome: Outcome,
    /// The module, pull request or file set the decision is about.
    pub subject: String,
    pub reasons: Vec<Reason>,
    pub inputs: Vec<InputDigest>,
    pub now: OffsetDateTime,
    /// How many checks actually evaluated something. Zero is never a pass.
    pub checks_run: usize,
    /// Extra named results (scope, backup sha256, ...), also written to `$GITHUB_OUTPUT`.
    pub facts: BTreeMap<String, String>,
}

impl Decision {
    pub fn new(gate: Gate, subject: impl Into<String>, now: OffsetDateTime) -> Decision {
        Decision {
            gate,
            outcome: Outcome::Error,
            subject: subject.into(),
            reasons: Vec::new(),
            inputs: Vec::new(),
            now,
            checks_run: 0,
            facts: BTreeMap::new(),
        }
    }

    pub fn push(&mut self, reason: Reason) {
        self.reasons.push(reason);
    }

    pub fn has_errors(&self) -> bool {
        self.reasons.iter().any(|r| r.severity == Severity::Error)
    }

    pub fn fact(&mut self, key: &str, value: impl Into<String>) {
        self.facts.insert(key.to_string(), value.into());
    }

    /// Settle the outcome: `no` when any error-level reason exists, else `yes`. A decision
    /// in which no check ran cannot be a yes: that is an evaluation error.
    pub fn settle(mut self, yes: Outcome, no: Outcome) -> Result<Decision, GateError> {
        if self.checks_run == 0 {
            return Err(GateError::new(
                &NOTHING_EVALUATED,
                format!("{}: no check ran, so nothing was decided", self.gate.name()),
            ));
        }
        self.outcome = if self.has_errors() { no } else { yes };
        Ok(self)
    }
}
