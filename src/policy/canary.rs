//! The `canary_required` section of the policy. Filled in by the canary gate.
use crate::yaml::{Fields, Node, Problems};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CanaryPolicy {}

pub(super) fn read(node: &Node, _out: &mut CanaryPolicy, problems: &mut Problems) {
    if let Some(f) = Fields::new(node, "canary", problems) {
        f.finish(problems, &[]);
    }
}
