//! The `lint_workflows` section of the policy. Filled in by the workflow linter.
use crate::yaml::{Fields, Node, Problems};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LintPolicy {}

pub(super) fn read(node: &Node, _out: &mut LintPolicy, problems: &mut Problems) {
    if let Some(f) = Fields::new(node, "lint", problems) {
        f.finish(problems, &[]);
    }
}
