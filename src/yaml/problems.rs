//! The problems found while reading one YAML file, each with its position: collected, not
//! stopped at, so that a reader reports every one ("raw, then checked", as cargo-deny). The
//! document-wide YAML 1.1 checks (`yaml11`) and the field readers (`reader`) push into it.

use super::{Document, Pos};

/// One thing wrong with a YAML input, at a position.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

/// Every problem found while reading one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems {
    pub items: Vec<Problem>,
}

impl Problems {
    /// Problems whose every duplicate key is a problem (a YAML reader keeps one of the two
    /// silently, so the file means something other than what one of its lines says).
    pub fn of_duplicates(doc: &Document) -> Self {
        let mut problems = Problems::default();
        for dup in &doc.duplicates {
            problems.push(
                dup.duplicate.start,
                format!(
                    "duplicate key `{}` (first at line {})",
                    dup.key, dup.first.start.line
                ),
            );
        }
        problems
    }

    pub fn push(&mut self, pos: Pos, message: impl Into<String>) {
        self.items.push(Problem {
            pos,
            message: message.into(),
        });
    }

    /// Like `push`, unless a problem is already reported at `pos`: the document-wide checks
    /// and the readers of single fields can both find one tag or key, and it is said once.
    pub fn push_once(&mut self, pos: Pos, message: impl Into<String>) {
        if !self.items.iter().any(|p| p.pos == pos) {
            self.push(pos, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `file:line:col: message` lines, for an error message.
    pub fn render(&self, file: &str) -> String {
        self.items
            .iter()
            .map(|p| format!("{file}:{}:{}: {}", p.pos.line, p.pos.col, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}
