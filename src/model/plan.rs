//! The plan JSON printed by `platformctl plan --json`, read strictly.

use super::{PLAN_INVALID, PLAN_NOOP_WITH_DRIFT, PLAN_SCHEMA_UNKNOWN};
use crate::report::GateError;
use serde_json::Value;

pub const SCHEMA_V1: &str = "platformctl.plan/v1";

#[derive(Debug, Clone, PartialEq)]
pub struct DriftItem {
    /// Position in the plan's `drift` list, for messages.
    pub index: usize,
    pub kind: String,
    pub service: String,
    pub container: Option<String>,
    pub current: Option<String>,
    pub desired: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub module: String,
    pub noop: bool,
    pub drift: Vec<DriftItem>,
}

const TOP_KEYS: &[&str] = &["schema", "module", "noop", "drift"];
const ITEM_KEYS: &[&str] = &["kind", "service", "container", "current", "desired"];

/// Parse plan bytes. Every structural problem is collected; any problem is an error (exit 2).
pub fn parse(bytes: &[u8]) -> Result<Plan, GateError> {
    let value = crate::json::parse_strict(bytes).map_err(|e| {
        let code = if e.kind() == crate::json::JsonErrorKind::TooDeep {
            &crate::report::general::TOO_COMPLEX
        } else {
            &PLAN_INVALID
        };
        GateError::new(code, format!("the plan is not valid JSON: {e}"))
    })?;
    let Value::Object(top) = &value else {
        return Err(GateError::new(
            &PLAN_INVALID,
            "the plan must be a JSON object",
        ));
    };
    let mut problems = Vec::new();
    for key in top.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            problems.push(format!("unknown top-level field `{}`", key.escape_debug()));
        }
    }
    match top.get("schema") {
        Some(Value::String(s)) if s == SCHEMA_V1 => {}
        Some(Value::String(s)) => {
            return Err(GateError::new(
                &PLAN_SCHEMA_UNKNOWN,
                format!(
                    "plan schema `{}` is not understood; this build reads `{SCHEMA_V1}`",
                    s.escape_debug()
                ),
            ));
        }
        _ => {
            return Err(GateError::new(
                &PLAN_SCHEMA_UNKNOWN,
                format!("the plan has no string `schema`; expected `{SCHEMA_V1}`"),
            ));
        }
    }
    let module = match top.get("module") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            problems.push("`module` must be a string".into());
            String::new()
        }
    };
    let noop = match top.get("noop") {
        Some(Value::Bool(b)) => *b,
        _ => {
            problems.push("`noop` must be a JSON boolean".into());
            false
        }
    };
    let mut drift = Vec::new();
    match top.get("drift") {
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                match read_item(index, item) {
                    Ok(d) => drift.push(d),
                    Err(mut errs) => problems.append(&mut errs),
                }
            }
        }
        _ => problems.push("`drift` must be a list".into()),
    }
    if !problems.is_empty() {
        return Err(GateError::new(
            &PLAN_INVALID,
            format!("the plan has {} problem(s)", problems.len()),
        )
        .with_details(problems));
    }
    if noop != drift.is_empty() {
        return Err(GateError::new(
            &PLAN_NOOP_WITH_DRIFT,
            format!(
                "the plan says noop: {noop} but lists {} drift item(s)",
                drift.len()
            ),
        ));
    }
    Ok(Plan {
        module,
        noop,
        drift,
    })
}

fn read_item(index: usize, item: &Value) -> Result<DriftItem, Vec<String>> {
    let Value::Object(obj) = item else {
        return Err(vec![format!("drift[{index}] must be an object")]);
    };
    let mut problems = Vec::new();
    for key in obj.keys() {
        if !ITEM_KEYS.contains(&key.as_str()) {
            problems.push(format!(
                "drift[{index}]: unknown field `{}`",
                key.escape_debug()
            ));
        }
    }
    let mut required = |key: &str| match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            problems.push(format!(
                "drift[{index}]: `{key}` must be a non-empty string"
            ));
            String::new()
        }
    };
    let kind = required("kind");
    let service = required("service");
    let mut optional = |key: &str| match obj.get(key) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(format!("drift[{index}]: `{key}` must be a string"));
            None
        }
    };
    let container = optional("container");
    let current = optional("current");
    let desired = optional("desired");
    if problems.is_empty() {
        Ok(DriftItem {
            index,
            kind,
            service,
            container,
            current,
            desired,
        })
    } else {
        Err(problems)
    }
}
