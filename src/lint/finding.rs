//! A finding: one rule's verdict on one place in one file. Findings are data; a file that
//! cannot be read at all is an error elsewhere.

use crate::report::Code;

/// How much a finding matters. `Off` is only a configured level: such findings are dropped.
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
            crate::report::Severity::Error => Level::Error,
            crate::report::Severity::Warning => Level::Warning,
            crate::report::Severity::Info => Level::Info,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: &'static Code,
    pub level: Level,
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
