//! The four dispatch inputs, from flags and/or the `workflow_dispatch` event payload.

use super::module_id::truncate;
use super::{BOOL_INVALID, INPUT_CONFLICT, MODULE_MISSING, ModuleId};
use crate::report::GateError;
use std::collections::BTreeMap;

/// Input names as the workflow declares them.
pub const MODULE: &str = "module";
pub const ALLOW_STATEFUL: &str = "allow_stateful";
pub const BACKUP_REF: &str = "backup_ref";
pub const STATEFUL_CONFIRM: &str = "stateful_confirm";

/// Inputs as given, before checking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawInputs {
    pub module: Option<String>,
    pub allow_stateful: Option<String>,
    pub backup_ref: Option<String>,
    pub stateful_confirm: Option<String>,
}

/// Checked inputs. Strings stay exactly as given (no trimming): the gates compare bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchInputs {
    pub module: ModuleId,
    pub allow_stateful: bool,
    pub backup_ref: Option<String>,
    pub stateful_confirm: Option<String>,
}

/// A boolean is `true` or `false`, exactly. Everything else, empty included, is an error.
pub fn parse_bool(name: &str, raw: &str) -> Result<bool, GateError> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(GateError::new(
            &BOOL_INVALID,
            format!(
                "{name} must be exactly `true` or `false`, got {:?}",
                truncate(raw)
            ),
        )),
    }
}

/// Merge flags and event inputs. The same input given both ways must agree byte for byte.
pub fn resolve(
    flags: &RawInputs,
    event: Option<&BTreeMap<String, String>>,
) -> Result<DispatchInputs, GateError> {
    let pick = |name: &str, flag: &Option<String>| -> Result<Option<String>, GateError> {
        let from_event = event.and_then(|e| e.get(name)).cloned();
        match (flag, from_event) {
            (Some(f), Some(e)) if *f != e => Err(GateError::new(
                &INPUT_CONFLICT,
                format!(
                    "`{name}` is {:?} on the command line but {:?} in the event payload",
                    truncate(f),
                    truncate(&e)
                ),
            )),
            (Some(f), _) => Ok(Some(f.clone())),
            (None, e) => Ok(e),
        }
    };
    let module = pick(MODULE, &flags.module)?;
    let allow_stateful = pick(ALLOW_STATEFUL, &flags.allow_stateful)?;
    let backup_ref = pick(BACKUP_REF, &flags.backup_ref)?;
    let stateful_confirm = pick(STATEFUL_CONFIRM, &flags.stateful_confirm)?;

    let module = match module {
        None => {
            return Err(GateError::new(
                &MODULE_MISSING,
                "no module given (--module, or the `module` dispatch input)",
            ));
        }
        Some(m) => ModuleId::parse(&m)?,
    };
    // An absent allow_stateful is false: the safe reading. An empty one is an error.
    let allow_stateful = match allow_stateful {
        None => false,
        Some(raw) => parse_bool(ALLOW_STATEFUL, &raw)?,
    };
    Ok(DispatchInputs {
        module,
        allow_stateful,
        // An empty string is how a workflow expands an unset input: treat it as absent.
        backup_ref: backup_ref.filter(|s| !s.is_empty()),
        stateful_confirm: stateful_confirm.filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(module: &str) -> RawInputs {
        RawInputs {
            module: Some(module.into()),
            ..Default::default()
        }
    }

    #[test]
    fn strict_booleans() {
        for bad in ["True", "yes", "1", "", "on", "false ", "TRUE"] {
            let err = parse_bool("allow_stateful", bad).unwrap_err();
            assert_eq!(err.code.id, "input.bool_invalid", "{bad:?}");
        }
        assert!(parse_bool("x", "true").unwrap());
        assert!(!parse_bool("x", "false").unwrap());
    }

    #[test]
    fn flag_and_event_must_agree() {
        let mut event = BTreeMap::new();
        event.insert("module".to_string(), "redis".to_string());
        let err = resolve(&raw("minio-init"), Some(&event)).unwrap_err();
        assert_eq!(err.code.id, "input.conflict");
        let ok = resolve(&raw("redis"), Some(&event)).unwrap();
        assert_eq!(ok.module.as_str(), "redis");
    }

    #[test]
    fn absent_allow_stateful_is_false() {
        let inputs = resolve(&raw("redis"), None).unwrap();
        assert!(!inputs.allow_stateful);
    }
}
