//! `GateError`: the gate could not evaluate (exit 2). Errors are errors; denials are reasons
//! in a decision.

use super::Code;

/// The gate could not evaluate (exit 2). Carries a documented code, what was wrong, and
/// optionally where (`file:line`) and the inputs' own problems, one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct GateError {
    pub code: &'static Code,
    pub message: String,
    /// Extra lines: every problem of a policy or manifest, each with its position.
    pub details: Vec<String>,
}

impl GateError {
    pub fn new(code: &'static Code, message: impl Into<String>) -> GateError {
        GateError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> GateError {
        self.details = details;
        self
    }
}

impl std::fmt::Display for GateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code.id, self.message)
    }
}

impl std::error::Error for GateError {}
