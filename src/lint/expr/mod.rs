//! Parser for GitHub/Forgejo Actions expressions (`${{ ... }}`).
//!
//! The workflow linter needs to see *inside* expressions: which contexts a
//! `run:` script interpolates, whether an `if:` is well formed, which
//! functions are called. This module gives it a faithful, position-carrying
//! syntax tree without evaluating anything.
//!
//! Entry points:
//! - [`parse`] for a bare expression source;
//! - [`find_expressions`] for every `${{ ... }}` in a string value;
//! - [`parse_if`] for `if:` values, which may be bare or wrapped;
//! - [`context_refs`] to list context accesses in a parsed tree.
//!
//! **Spans** are byte ranges into the string you passed to the function that
//! produced them: for [`parse`] the expression source, for
//! [`find_expressions`] and [`parse_if`] the whole text (not the inside of the
//! `${{ }}`). Add the string's own offset in the file to get a file position.
//!
//! The parser never panics, runs in linear time, and rejects nesting deeper
//! than [`MAX_NESTING`] or trees taller than [`MAX_HEIGHT`].

mod ast;
mod embedded;
mod lexer;
mod parser;
mod refs;

#[cfg(test)]
mod tests;

pub use ast::{BinaryOp, Expr, ExprError, ExprKind, Span};
pub use embedded::{Embedded, find_expressions, has_expression, parse_if};
pub use parser::{MAX_HEIGHT, MAX_NESTING};
pub use refs::{ContextRef, Segment, context_refs};

/// Functions built into Actions (and Forgejo's runner), in their documented
/// spelling. Calls are matched case-insensitively; see [`is_known_function`].
pub const KNOWN_FUNCTIONS: &[&str] = &[
    "contains",
    "startsWith",
    "endsWith",
    "format",
    "join",
    "toJSON",
    "fromJSON",
    "hashFiles",
    "success",
    "always",
    "cancelled",
    "failure",
];

/// True if `name` is one of [`KNOWN_FUNCTIONS`], ignoring ASCII case as
/// Actions does.
#[must_use]
pub fn is_known_function(name: &str) -> bool {
    KNOWN_FUNCTIONS.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// Parses one expression (the text between `${{` and `}}`, or a bare `if:`).
/// Spans are relative to `src`.
///
/// # Errors
///
/// Any syntax error, an empty expression, or nesting beyond the limits.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    parser::parse_at(src, 0)
}
