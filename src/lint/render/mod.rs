//! The linter's own renderers: rustc-style text with code frames, SARIF 2.1.0 and GitHub
//! workflow commands. `--format json` is the shared decision document
//! (`render::json::DecisionV1`). None of them changes the exit code.
pub mod github;
pub mod sarif;
pub mod text;

use super::FileResult;

/// What the renderers need besides the findings.
pub struct Summary<'a> {
    pub files: &'a [FileResult],
    /// The workflow folder found by discovery, when no path was given.
    pub folder: Option<&'a str>,
    pub outcome: &'a str,
}
