//! The frozen wire format: `forgejo-gates.decision/v1`. Internal types may change; these
//! structs change only with a new version string.

use crate::report::{Decision, GateError, exit};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const VERSION: &str = "forgejo-gates.decision/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DecisionV1 {
    pub version: String,
    pub gate: String,
    pub gate_version: String,
    pub outcome: String,
    pub exit_code: u8,
    pub subject: String,
    pub reasons: Vec<ReasonV1>,
    pub inputs: Vec<InputV1>,
    pub facts: BTreeMap<String, String>,
    pub now: String,
    pub checks_run: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReasonV1 {
    pub code: String,
    pub severity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<LocationV1>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub details: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LocationV1 {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InputV1 {
    pub name: String,
    pub source: String,
    pub sha256: String,
    pub bytes: u64,
}

pub fn gate_version() -> String {
    crate::version::long()
}

impl DecisionV1 {
    pub fn from_decision(d: &Decision, exit_code: u8) -> DecisionV1 {
        DecisionV1 {
            version: VERSION.into(),
            gate: d.gate.name().into(),
            gate_version: gate_version(),
            outcome: d.outcome.as_str().into(),
            exit_code,
            subject: d.subject.clone(),
            reasons: d
                .reasons
                .iter()
                .map(|r| ReasonV1 {
                    code: r.code.id.into(),
                    severity: r.severity.as_str().into(),
                    message: r.message.clone(),
                    subject: r.subject.clone(),
                    location: r.location.as_ref().map(|l| LocationV1 {
                        file: l.file.clone(),
                        line: l.line,
                        col: l.col,
                    }),
                    details: Vec::new(),
                })
                .collect(),
            inputs: d
                .inputs
                .iter()
                .map(|i| InputV1 {
                    name: i.name.clone(),
                    source: i.source.clone(),
                    sha256: i.sha256.clone(),
                    bytes: i.bytes,
                })
                .collect(),
            facts: d.facts.clone(),
            now: crate::clock::format(d.now),
            checks_run: d.checks_run,
        }
    }

    pub fn from_error(gate: &str, e: &GateError, now: time::OffsetDateTime) -> DecisionV1 {
        DecisionV1 {
            version: VERSION.into(),
            gate: gate.into(),
            gate_version: gate_version(),
            outcome: "error".into(),
            exit_code: exit::COULD_NOT_EVALUATE,
            subject: String::new(),
            reasons: vec![ReasonV1 {
                code: e.code.id.into(),
                severity: "error".into(),
                message: e.message.clone(),
                subject: None,
                location: None,
                details: e.details.clone(),
            }],
            inputs: Vec::new(),
            facts: BTreeMap::new(),
            now: crate::clock::format(now),
            checks_run: 0,
        }
    }

    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}
