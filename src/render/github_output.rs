//! `$GITHUB_OUTPUT` (or `$FORGEJO_OUTPUT`): `outcome=...` and the other useful fields, one
//! `key=value` line each. Values are single-line by construction: anything hostile that could
//! start a new output line is escaped.

use crate::render::json::DecisionV1;
use crate::report::{GateError, general};
use std::io::Write;
use std::path::Path;

pub fn lines(doc: &DecisionV1) -> String {
    let mut out = String::new();
    let mut put = |k: &str, v: &str| {
        out.push_str(k);
        out.push('=');
        out.push_str(&one_line(v));
        out.push('\n');
    };
    put("outcome", &doc.outcome);
    put("exit_code", &doc.exit_code.to_string());
    put("gate", &doc.gate);
    put("checks_run", &doc.checks_run.to_string());
    let codes: Vec<&str> = doc
        .reasons
        .iter()
        .filter(|r| r.severity == "error")
        .map(|r| r.code.as_str())
        .collect();
    put("blocking_codes", &codes.join(","));
    for (k, v) in &doc.facts {
        if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            put(k, v);
        }
    }
    out
}

fn one_line(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub fn append(path: &Path, doc: &DecisionV1) -> Result<(), GateError> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| {
            GateError::new(
                &general::IO,
                format!("cannot open the step output file {}: {e}", path.display()),
            )
        })?;
    f.write_all(lines(doc).as_bytes()).map_err(|e| {
        GateError::new(
            &general::IO,
            format!("cannot write the step output file {}: {e}", path.display()),
        )
    })
}
