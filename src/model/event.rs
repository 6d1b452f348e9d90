//! Event payloads (`$GITHUB_EVENT_PATH`), read strictly and with a size limit: the
//! `workflow_dispatch` inputs, and the pull request of a `pull_request` event.

use super::pull_request::{PullRequest, PullRequestJson};
use crate::env::{Env, runner_var};
use crate::report::{GateError, InputDigest, general};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MAX_EVENT_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct EventPayload {
    pub value: Value,
    pub digest: InputDigest,
}

/// Where `--from-event` reads: the given path, else `$GITHUB_EVENT_PATH`/`$FORGEJO_EVENT_PATH`.
pub fn resolve_path(explicit: Option<&Path>, env: &dyn Env) -> Result<PathBuf, GateError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    match runner_var(env, "EVENT_PATH")? {
        Some(p) => Ok(PathBuf::from(p)),
        None => Err(GateError::new(
            &general::EVENT_INVALID,
            "--from-event was given without a path and neither GITHUB_EVENT_PATH nor FORGEJO_EVENT_PATH is set",
        )),
    }
}

pub fn load(path: &Path) -> Result<EventPayload, GateError> {
    let bytes = crate::input::read_limited(path, MAX_EVENT_BYTES, "event payload")?;
    let display = path.display().to_string();
    let value = crate::json::parse_strict(&bytes).map_err(|e| {
        GateError::new(
            if e.kind() == crate::json::JsonErrorKind::TooDeep {
                &crate::report::general::TOO_COMPLEX
            } else {
                &general::EVENT_INVALID
            },
            format!("event payload {display} is not valid JSON: {e}"),
        )
    })?;
    if !value.is_object() {
        return Err(GateError::new(
            &general::EVENT_INVALID,
            format!("event payload {display} is not a JSON object"),
        ));
    }
    Ok(EventPayload {
        value,
        digest: InputDigest::of("event", display, &bytes),
    })
}

impl EventPayload {
    /// The `workflow_dispatch` inputs. Forgejo sends strings; GitHub may send JSON booleans,
    /// which are kept as `true`/`false`. Any other type is refused.
    pub fn dispatch_inputs(&self) -> Result<BTreeMap<String, String>, GateError> {
        let Some(inputs) = self.value.get("inputs") else {
            return Err(GateError::new(
                &general::EVENT_INVALID,
                format!(
                    "{} has no `inputs`: it is not a workflow_dispatch payload",
                    self.digest.source
                ),
            ));
        };
        let Value::Object(map) = inputs else {
            return Err(GateError::new(
                &general::EVENT_INVALID,
                "the event's `inputs` is not an object",
            ));
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(GateError::new(
                        &general::EVENT_INVALID,
                        format!(
                            "event input `{}` is a {}, not a string",
                            k.escape_debug(),
                            type_name(v)
                        ),
                    ));
                }
            };
            out.insert(k.clone(), text);
        }
        Ok(out)
    }
}

impl EventPayload {
    /// The pull request of a `pull_request` (or `pull_request_target`) payload, read through
    /// the same mapping as an API answer ([`PullRequestJson`]). Its number must be a positive
    /// integer (`pull_request.number`, else the payload's `number`).
    pub fn pull_request(&self) -> Result<PullRequest, GateError> {
        let bad = |m: String| GateError::new(&general::EVENT_INVALID, m);
        let Some(doc) = self.value.get("pull_request").filter(|v| v.is_object()) else {
            return Err(bad(format!(
                "{} has no `pull_request` object: it is not a pull_request event payload",
                self.digest.source
            )));
        };
        let mut pr = PullRequestJson::read(doc.clone())
            .and_then(|d| d.into_model("event:pull_request.body".into()))
            .map_err(|m| bad(format!("the event's pull_request: {m}")))?;
        if doc.get("number").is_none() {
            pr.number = self.value.get("number").and_then(Value::as_u64);
        }
        match pr.number {
            Some(n) if n > 0 => Ok(pr),
            _ => Err(bad(
                "the event's pull_request.number is missing or not a positive integer".into(),
            )),
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}
