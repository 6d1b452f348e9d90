//! A finding: one rule's verdict on one place in one file. Findings are data; a file that
//! cannot be read at all is an error elsewhere.

use crate::report::{Code, Severity};

/// A rule's configured level (the policy's `lint.levels`): a severity, or `Off`, whose
/// findings are dropped. A finding itself carries a [`Severity`], the type the gates use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Info,
    Off,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Off => "off",
        }
    }

    pub fn from_name(name: &str) -> Option<Level> {
        match name {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "info" => Some(Level::Info),
            "off" => Some(Level::Off),
            _ => None,
        }
    }

    pub fn of(code: &Code) -> Level {
        match code.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
            Severity::Info => Level::Info,
        }
    }

    /// The severity of a finding at this level; `None` for `Off` (the finding is dropped).
    pub fn severity(self) -> Option<Severity> {
        match self {
            Level::Error => Some(Severity::Error),
            Level::Warning => Some(Severity::Warning),
            Level::Info => Some(Severity::Info),
            Level::Off => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: &'static Code,
    /// How much it matters: the code's severity, unless the policy or the rule changed it.
    pub level: Severity,
    pub file: String,
    /// 1-based line and column (characters).
    pub line: usize,
    pub col: usize,
    /// How many characters to underline on that line (at least 1).
    pub len: usize,
    pub message: String,
    /// A note specific to this finding (the code's help is shown as well).
    pub note: Option<String>,
}
