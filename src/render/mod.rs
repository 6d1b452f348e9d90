//! Renderers: the only place a decision becomes text. The library returns strings; binaries
//! print them. The output format never changes the exit code.

pub mod github_output;
pub mod json;
pub mod text;

/// The output format of a decision (`--format`). Parsed by clap from exactly `text` or
/// `json`; anything else is a usage error, never a fallback to text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}
