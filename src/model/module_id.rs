//! Module ids: the one check (`^[a-z0-9][a-z0-9-]{0,62}$`) every id passes before a path is
//! built from it, and the truncation used to quote a refused value.

use super::MODULE_INVALID;
use crate::report::GateError;

/// A module id checked against `^[a-z0-9][a-z0-9-]{0,62}$` before any path is built from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(String);

impl ModuleId {
    pub fn parse(raw: &str) -> Result<ModuleId, GateError> {
        let bytes = raw.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 63
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if valid {
            Ok(ModuleId(raw.to_string()))
        } else {
            Err(GateError::new(
                &MODULE_INVALID,
                format!(
                    "module id {:?} is not valid: it must match ^[a-z0-9][a-z0-9-]{{0,62}}$",
                    truncate(raw)
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ModuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Hostile input is shown escaped and cut short.
pub(crate) fn truncate(raw: &str) -> String {
    let mut s: String = raw.chars().take(80).collect();
    if s.len() < raw.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_platform_ids() {
        for id in ["minio-init", "postgres", "a", "0x", &"a".repeat(63)] {
            assert!(ModuleId::parse(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn rejects_paths_case_and_length() {
        for id in [
            "../etc",
            "Minio",
            &"a".repeat(64),
            "",
            "-a",
            "a/b",
            "a b",
            "a\n",
            "mіnio",
        ] {
            assert!(ModuleId::parse(id).is_err(), "{id:?}");
        }
    }
}
