//! `decision_log replay`: re-evaluate a recorded dispatch decision with this build's checks,
//! from what the record embeds (the `replay` section of a `forgejo-gates.record/v2` line): the
//! dispatch inputs as given, the policy text, the plan, the clock, and what was observed on
//! the host (manifest texts, runbook presence, the backup artifact's facts and format verdict).
//! Host observations are facts of the past: they are judged again by today's rules and policy,
//! never looked at again on today's host.

use super::host::{Observed, RecordedHost};
use super::{one_shot, scope};
use crate::digest::sha256_hex;
use crate::model::dispatch::{self, RawInputs};
use crate::model::plan;
use crate::policy::LoadedPolicy;
use crate::report::{Decision, Gate, GateError, InputDigest, general};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const VERSION: &str = "forgejo-gates.replay/v1";

/// A plan longer than this is not embedded (the decision is then not replayable).
pub const MAX_EMBEDDED_PLAN_BYTES: usize = 1024 * 1024;

/// What a dispatch decision was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayV1 {
    pub version: String,
    pub gate: String,
    pub now: String,
    pub modules_dir: String,
    /// The four inputs as the flags gave them.
    pub flags: FlagsV1,
    /// The `workflow_dispatch` inputs of the event payload, with `--from-event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_inputs: Option<BTreeMap<String, String>>,
    /// The event payload's digest (the payload itself is not embedded; its inputs are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<DigestV1>,
    /// The policy text; absent for the built-in policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TextV1>,
    /// The plan (`allow_one_shot_stateful_apply` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<TextV1>,
    /// What the gate looked at on the host.
    pub observed: Observed,
    /// Inputs that were read but could not be embedded (too large, not UTF-8).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagsV1 {
    pub module: Option<String>,
    pub allow_stateful: Option<String>,
    pub backup_ref: Option<String>,
    pub stateful_confirm: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextV1 {
    pub source: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestV1 {
    pub source: String,
    pub sha256: String,
    pub bytes: u64,
}

impl ReplayV1 {
    pub fn new(gate: Gate, flags: &RawInputs, modules_dir: &Path) -> ReplayV1 {
        ReplayV1 {
            version: VERSION.into(),
            gate: gate.name().into(),
            now: String::new(),
            modules_dir: modules_dir.display().to_string(),
            flags: FlagsV1 {
                module: flags.module.clone(),
                allow_stateful: flags.allow_stateful.clone(),
                backup_ref: flags.backup_ref.clone(),
                stateful_confirm: flags.stateful_confirm.clone(),
            },
            event_inputs: None,
            event: None,
            policy: None,
            plan: None,
            observed: Observed::default(),
            omitted: Vec::new(),
        }
    }

    /// Embed the plan bytes, when they are text and not too large.
    pub fn set_plan(&mut self, source: &str, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.len() <= MAX_EMBEDDED_PLAN_BYTES => {
                self.plan = Some(TextV1 {
                    source: source.into(),
                    text: text.into(),
                });
            }
            _ => self.omitted.push("plan".into()),
        }
    }
}

fn not_replayable(message: impl Into<String>) -> GateError {
    GateError::new(&general::USAGE, message)
}

/// Re-run the recorded decision's gate on what the record embeds. `policy_override` replaces
/// the recorded policy (to ask "would this policy have said yes?").
pub fn replay(r: &ReplayV1, policy_override: Option<&LoadedPolicy>) -> Result<Decision, GateError> {
    if r.version != VERSION {
        return Err(not_replayable(format!(
            "replay section version {:?} is not {VERSION}",
            r.version
        )));
    }
    if let Some(what) = r.omitted.first() {
        return Err(not_replayable(format!(
            "the record does not embed the {what} (too large or not text), so it cannot be replayed"
        )));
    }
    let gate = Gate::from_name(&r.gate)
        .ok_or_else(|| not_replayable(format!("unknown gate {:?}", r.gate)))?;
    let now = crate::clock::now_or(Some(&r.now))?;
    let recorded_policy;
    let policy = match (policy_override, &r.policy) {
        (Some(p), _) => p,
        (None, None) => {
            recorded_policy = LoadedPolicy::builtin();
            &recorded_policy
        }
        (None, Some(t)) => {
            recorded_policy = LoadedPolicy {
                policy: crate::policy::parse(&t.text, &t.source)?,
                digest: InputDigest {
                    name: "policy".into(),
                    source: t.source.clone(),
                    sha256: sha256_hex(t.text.as_bytes()),
                    bytes: t.text.len() as u64,
                },
            };
            &recorded_policy
        }
    };
    let flags = RawInputs {
        module: r.flags.module.clone(),
        allow_stateful: r.flags.allow_stateful.clone(),
        backup_ref: r.flags.backup_ref.clone(),
        stateful_confirm: r.flags.stateful_confirm.clone(),
    };
    let inputs = dispatch::resolve(&flags, r.event_inputs.as_ref())?;
    let event = r.event.as_ref().map(|e| InputDigest {
        name: "event".into(),
        source: e.source.clone(),
        sha256: e.sha256.clone(),
        bytes: e.bytes,
    });
    let host = RecordedHost {
        observed: r.observed.clone(),
    };
    let modules_dir = Path::new(&r.modules_dir);
    match gate {
        Gate::AutoApplyScope => scope::evaluate_on(
            &scope::Request {
                policy,
                modules_dir,
                inputs: &inputs,
                now,
                event,
            },
            &host,
        ),
        Gate::OneShotStatefulApply => {
            let Some(p) = &r.plan else {
                return Err(not_replayable("the record embeds no plan"));
            };
            let bytes = p.text.as_bytes();
            if bytes.len() as u64 > policy.policy.plan.max_bytes {
                return Err(GateError::new(
                    &general::TOO_LARGE,
                    format!(
                        "the recorded plan is larger than the policy's plan.max_bytes ({})",
                        policy.policy.plan.max_bytes
                    ),
                ));
            }
            let parsed = plan::parse(bytes)?;
            one_shot::evaluate_on(
                &one_shot::Request {
                    policy,
                    modules_dir,
                    inputs: &inputs,
                    plan: &parsed,
                    plan_digest: InputDigest {
                        name: "plan".into(),
                        source: p.source.clone(),
                        sha256: sha256_hex(bytes),
                        bytes: bytes.len() as u64,
                    },
                    now,
                    event,
                },
                &host,
            )
        }
        other => Err(not_replayable(format!(
            "{} decisions are not replayable",
            other.name()
        ))),
    }
}

/// Put the text of a loaded policy file in a record's replay section (none for the built-in
/// policy). The file is read again and must still have the digest the decision used; a
/// policy read from standard input cannot be read again and is marked as omitted.
pub fn record_policy(
    replay: &mut ReplayV1,
    policy: &crate::policy::LoadedPolicy,
) -> Result<(), GateError> {
    if policy.digest.source == "builtin" && policy.digest.bytes == 0 {
        return Ok(());
    }
    let source = &policy.digest.source;
    if source == "-" {
        replay.omitted.push("policy".into());
        return Ok(());
    }
    let bytes = crate::input::read_limited(
        std::path::Path::new(source),
        crate::policy::MAX_POLICY_BYTES,
        "policy",
    )?;
    if crate::digest::sha256_hex(&bytes) != policy.digest.sha256 {
        return Err(GateError::new(
            &crate::report::general::RECORD_FAILED,
            format!(
                "the policy {source} changed while the gate ran; not recording a decision made from a file that is gone"
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        GateError::new(
            &crate::report::general::POLICY_INVALID,
            format!("{source} is not UTF-8"),
        )
    })?;
    replay.policy = Some(TextV1 {
        source: source.clone(),
        text,
    });
    Ok(())
}
