//! The linter's own renderers: rustc-style text with code frames, SARIF 2.1.0 and GitHub
//! workflow commands. `--format json` is the shared decision document
//! (`render::json::DecisionV1`). None of them changes the exit code.
//!
//! Each renders in three parts so that output streams as files finish (see
//! [`crate::lint::run`]): a head once, one chunk per file (rendered on the thread that linted
//! it, while its text is there), and a tail once the verdict is known.
pub mod github;
pub mod sarif;
pub mod text;

/// What the tails need: the verdict and the counts.
pub struct Summary<'a> {
    pub outcome: &'a str,
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    /// How many findings suppressions hid (comments, `lint.ignore`, the baseline).
    pub suppressed: usize,
}
