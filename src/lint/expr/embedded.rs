//! Locating `${{ ... }}` in YAML string values and parsing `if:` conditions.

use super::ast::{Expr, ExprError, Span};
use super::parser::parse_at;

/// One `${{ ... }}` occurrence inside a larger string.
///
/// All spans, including those inside `expr` and its error, are byte offsets
/// into the `text` passed to [`find_expressions`], so a caller only needs the
/// scalar's own offset to get a file position.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// The whole `${{ ... }}`, delimiters included.
    pub span: Span,
    /// The source between `${{` and `}}`.
    pub inner: Span,
    /// The parsed expression, or why it did not parse. A bad expression does
    /// not stop the search for later ones.
    pub expr: Result<Expr, ExprError>,
}

/// Finds every `${{ ... }}` in `text` and parses each one.
///
/// A `}}` inside a single-quoted string does not close the expression, as in
/// Actions (`${{ format('}}') }}` is one expression).
///
/// # Errors
///
/// Only when the text cannot be split into expressions at all: a `${{`
/// without a closing `}}` (error on the `${{`), or a string literal left open
/// inside one (error from the quote to the end of `text`).
pub fn find_expressions(text: &str) -> Result<Vec<Embedded>, ExprError> {
    let mut found = Vec::new();
    let mut pos = 0;
    while let Some(open) = find_open(text, pos) {
        let inner_start = open + 3;
        let inner_end = find_close(text.as_bytes(), open)?;
        let inner_src = text.get(inner_start..inner_end).unwrap_or("");
        found.push(Embedded {
            span: Span::new(open, inner_end + 2),
            inner: Span::new(inner_start, inner_end),
            expr: parse_at(inner_src, inner_start),
        });
        pos = inner_end + 2;
    }
    Ok(found)
}

/// Byte offset of the first `${{` at or after byte `from`. A search for the `$` byte (memchr)
/// and a look at the two after it: this runs on every scalar of every workflow, and a
/// substring searcher costs more to set up than most scalars take to scan.
fn find_open(text: &str, mut from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    loop {
        let at = from + text.get(from..)?.find('$')?;
        if bytes.get(at + 1..at + 3) == Some(b"{{".as_slice()) {
            return Some(at);
        }
        // `$` is one byte, so the next byte starts a character.
        from = at + 1;
    }
}

/// True when `text` holds `${{` (an expression may be in it).
pub fn has_expression(text: &str) -> bool {
    find_open(text, 0).is_some()
}

/// Byte offset of the `}}` closing the `${{` at `open`, skipping quoted
/// strings. `''` needs no special case: it closes and reopens a string.
fn find_close(bytes: &[u8], open: usize) -> Result<usize, ExprError> {
    let mut string_start = None;
    let mut i = open + 3;
    while let Some(&b) = bytes.get(i) {
        match (string_start, b) {
            (Some(_), b'\'') => string_start = None,
            (None, b'\'') => string_start = Some(i),
            (None, b'}') if bytes.get(i + 1) == Some(&b'}') => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err(match string_start {
        Some(quote) => ExprError::new(
            "unterminated string literal inside `${{ }}`",
            Span::new(quote, bytes.len()),
        ),
        None => ExprError::new(
            "unterminated `${{`: no closing `}}`",
            Span::new(open, open + 3),
        ),
    })
}

/// Parses an `if:` condition, which Actions accepts both bare (`a == b`) and
/// wrapped (`${{ a == b }}`). Spans are relative to `text`.
///
/// # Errors
///
/// Syntax errors, and a condition that mixes `${{ }}` with other text (e.g.
/// `${{ a }} && b`): Actions evaluates that as a non-empty string, which is
/// always true, so it is reported rather than silently accepted. An empty
/// condition is an error too; callers that treat a missing `if:` as
/// `success()` should not call this for it.
pub fn parse_if(text: &str) -> Result<Expr, ExprError> {
    if !has_expression(text) {
        return parse_at(text, 0);
    }
    let start = text.len() - text.trim_start().len();
    let end = text.trim_end().len().max(start);
    let mut found = find_expressions(text)?;
    match found.as_slice() {
        [only] if only.span == Span::new(start, end) => found.remove(0).expr,
        _ => Err(ExprError::new(
            "`if:` condition mixes `${{ }}` with other text; Actions evaluates it as a \
             non-empty string, which is always true",
            Span::new(start, end),
        )),
    }
}
