//! The linter's own renderers: rustc-style text with code frames, SARIF 2.1.0 and GitHub
//! workflow commands. `--format json` is the shared decision document
//! (`render::json::DecisionV1`). None of them changes the exit code.
pub mod github;
pub mod sarif;
pub mod text;

use super::FileResult;

/// What the renderers need besides the findings.
pub struct Summary<'a> {
    /// The linted workflows, then (when they have findings) the policy and the baseline.
    pub files: &'a [FileResult],
    /// How many of `files` are workflows.
    pub linted: usize,
    /// How many findings suppressions hid (comments, `lint.ignore`, the baseline).
    pub suppressed: usize,
    /// The workflow folder found by discovery, when no path was given.
    pub folder: Option<&'a str>,
    pub outcome: &'a str,
}
