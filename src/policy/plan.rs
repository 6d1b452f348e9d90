//! The `plan:` section of the policy: which drift kinds a one-shot stateful apply may change
//! and how large a plan may be.

use crate::yaml::{Fields, Node, Problems};

/// What a one-shot stateful apply may change.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPolicy {
    /// Drift kinds that may be applied to a stateful one-shot.
    pub allowed_drift_kinds: Vec<String>,
    /// A plan larger than this is refused before parsing.
    pub max_bytes: u64,
}

impl Default for PlanPolicy {
    fn default() -> Self {
        PlanPolicy {
            allowed_drift_kinds: vec!["container.state.exited_success".into()],
            max_bytes: 1024 * 1024,
        }
    }
}

const KEYS: &[&str] = &["allowed_drift_kinds", "max_bytes"];

/// The drift kinds the one-shot gate knows how to check.
pub const ONE_SHOT_DRIFT_KINDS: &[&str] = &["container.state.exited_success"];

pub(super) fn read(node: &Node, out: &mut PlanPolicy, problems: &mut Problems) {
    let Some(mut f) = Fields::new(node, "plan", problems) else {
        return;
    };
    if let Some(v) = f.take("allowed_drift_kinds")
        && let Some(list) = problems.strings(v, "plan.allowed_drift_kinds")
    {
        if list.is_empty() {
            problems.push(v.span.start, "plan.allowed_drift_kinds: an empty list would make every one-shot apply a deny; remove the key to use the default");
        }
        // A stateful one-shot may be re-run only when its drift is a container that did not
        // exit successfully: the gate checks that kind field by field and knows no other, so
        // the policy cannot widen it (a free-form kind was applied unchecked before).
        for (item, kind) in v.as_seq().unwrap_or_default().iter().zip(&list) {
            if !ONE_SHOT_DRIFT_KINDS.contains(&kind.as_str()) {
                problems.push(
                    item.span.start,
                    format!(
                        "plan.allowed_drift_kinds: `{}` is not a drift kind the one-shot gate can check (known: {}); apply such a change by hand",
                        kind.escape_debug(),
                        ONE_SHOT_DRIFT_KINDS.join(", ")
                    ),
                );
            }
        }
        out.allowed_drift_kinds = list;
    }
    if let Some(v) = f.take("max_bytes")
        && let Some(n) = problems.unsigned(v, "plan.max_bytes")
    {
        if n == 0 || n > 64 * 1024 * 1024 {
            problems.push(
                v.span.start,
                "plan.max_bytes: must be between 1 and 67108864",
            );
        } else {
            out.max_bytes = n;
        }
    }
    f.finish(problems, KEYS);
}
