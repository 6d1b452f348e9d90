//! Renderers: the only place a decision becomes text. The library returns strings; binaries
//! print them. The output format never changes the exit code.

pub mod github_output;
pub mod json;
pub mod text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}
