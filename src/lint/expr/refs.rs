//! Extracting context accesses (`github.event.issue.title`) from a tree.

use super::ast::{Expr, ExprKind, Span};
use super::lexer::{is_ident_continue, is_ident_start};

/// One step of a context access path after the root name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// `.name`, as written.
    Name(String),
    /// `['key']`: a string-literal index, as written.
    Index(String),
    /// `[0]`: a non-negative integer literal index.
    Element(u64),
    /// `.*`: the object filter.
    Wildcard,
    /// `[expr]` with a computed index; the key is unknown statically.
    Dynamic,
}

/// A maximal access chain rooted at a context name, e.g. the whole of
/// `github.event.pull_request.title` (not each of its prefixes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContextRef {
    /// The context name, ASCII-lowercased (`GitHub` and `github` are the same
    /// context in Actions).
    pub root: String,
    /// Segments after the root, names as written.
    pub path: Vec<Segment>,
    /// The whole chain, root to last segment.
    pub span: Span,
}

impl ContextRef {
    /// Normalised dotted form for matching, e.g. `github.event.commits.*.message`.
    ///
    /// Everything is lowercased (property access is case-insensitive in
    /// Actions), identifier-like string indexes render as `.key` so
    /// `github['event']` equals `github.event`, other string indexes as
    /// `['key']`, integer indexes as `[0]` and computed indexes as `[?]`.
    #[must_use]
    pub fn dotted(&self) -> String {
        let mut out = self.root.clone();
        for segment in &self.path {
            match segment {
                Segment::Name(name) => {
                    out.push('.');
                    out.push_str(&name.to_ascii_lowercase());
                }
                Segment::Index(key) if is_identifier(key) => {
                    out.push('.');
                    out.push_str(&key.to_ascii_lowercase());
                }
                Segment::Index(key) => {
                    out.push_str("['");
                    out.push_str(&key.to_ascii_lowercase().replace('\'', "''"));
                    out.push_str("']");
                }
                Segment::Element(n) => {
                    out.push('[');
                    out.push_str(&n.to_string());
                    out.push(']');
                }
                Segment::Wildcard => out.push_str(".*"),
                Segment::Dynamic => out.push_str("[?]"),
            }
        }
        out
    }
}

fn is_identifier(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(|&b| is_ident_start(b)) && bytes.iter().all(|&b| is_ident_continue(b))
}

/// Largest integer an `f64` holds exactly; bigger "indexes" are treated as dynamic.
const MAX_EXACT_INDEX: f64 = 9_007_199_254_740_992.0;

fn index_segment(index: &Expr) -> Segment {
    match &index.kind {
        ExprKind::String(key) => Segment::Index(key.clone()),
        ExprKind::Number(n) if n.fract() == 0.0 && (0.0..=MAX_EXACT_INDEX).contains(n) => {
            // Exact: `n` is a non-negative integer below 2^53.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Segment::Element(*n as u64)
        }
        _ => Segment::Dynamic,
    }
}

/// Every context access in `expr`, including those inside function
/// arguments and computed indexes, ordered by position.
///
/// Accesses whose root is not a context (`fromJSON(x).a`) are not reported,
/// but contexts inside them (`x`) are.
#[must_use]
pub fn context_refs(expr: &Expr) -> Vec<ContextRef> {
    let mut refs = Vec::new();
    let mut stack = vec![expr];
    while let Some(node) = stack.pop() {
        if !matches!(
            node.kind,
            ExprKind::Context(_)
                | ExprKind::Property { .. }
                | ExprKind::Index { .. }
                | ExprKind::Filter { .. }
        ) {
            stack.extend(node.children());
            continue;
        }
        let mut path = Vec::new();
        let mut base = node;
        loop {
            match &base.kind {
                ExprKind::Property { object, name, .. } => {
                    path.push(Segment::Name(name.clone()));
                    base = object;
                }
                ExprKind::Filter { object } => {
                    path.push(Segment::Wildcard);
                    base = object;
                }
                ExprKind::Index { object, index } => {
                    path.push(index_segment(index));
                    stack.push(index);
                    base = object;
                }
                _ => break,
            }
        }
        if let ExprKind::Context(name) = &base.kind {
            path.reverse();
            refs.push(ContextRef {
                root: name.to_ascii_lowercase(),
                path,
                span: node.span,
            });
        } else {
            stack.push(base);
        }
    }
    refs.sort_by_key(|r| (r.span.start, r.span.end));
    refs
}
