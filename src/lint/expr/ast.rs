//! Syntax tree, spans and errors for Actions expressions.

use std::fmt;

/// A half-open byte range `start..end` into the string that was handed to the
/// parsing function (see the module docs for which string that is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// Creates a span; `end` is clamped so the span is never inverted.
    #[must_use]
    pub const fn new(start: usize, end: usize) -> Self {
        let end = if end < start { start } else { end };
        Self { start, end }
    }

    /// Number of bytes covered.
    #[must_use]
    pub const fn len(self) -> usize {
        self.end - self.start
    }

    /// True for zero-width spans (used for "unexpected end of input" errors).
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The span moved `by` bytes to the right, e.g. to map a span relative to
    /// a YAML scalar into the whole file.
    #[must_use]
    pub const fn shifted(self, by: usize) -> Self {
        Self {
            start: self.start.saturating_add(by),
            end: self.end.saturating_add(by),
        }
    }

    /// The smallest span covering both `self` and `other`.
    #[must_use]
    pub fn to(self, other: Self) -> Self {
        Self {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// A syntax error. Parsing never panics; every malformed input ends up here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Human-readable description, without position information.
    pub message: String,
    /// Where the problem is; zero-width at the end of input for truncated
    /// expressions.
    pub span: Span,
}

impl ExprError {
    pub(crate) fn new(message: impl Into<String>, span: Span) -> Self {
        Self {
            message: message.into(),
            span,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (bytes {}..{})",
            self.message, self.span.start, self.span.end
        )
    }
}

impl std::error::Error for ExprError {}

/// Binary operators, in the order GitHub documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `&&`
    And,
    /// `||`
    Or,
}

impl BinaryOp {
    /// The operator as written in source.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::And => "&&",
            Self::Or => "||",
        }
    }
}

impl fmt::Display for BinaryOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One node of an expression tree together with the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// The node's source bytes, including parentheses for [`ExprKind::Group`]
    /// and the whole `a.b['c']` chain for access nodes.
    pub span: Span,
}

/// The shape of an [`Expr`].
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any number literal (`1`, `-2.5`, `1e3`, `0xff`, `NaN`, `Infinity`).
    /// The raw text is available through the span.
    Number(f64),
    /// A single-quoted string, already unescaped (`'it''s'` is `it's`).
    String(String),
    /// A bare identifier at the root of an access chain, i.e. a context name
    /// such as `github`, exactly as written (contexts are case-insensitive).
    Context(String),
    /// `object.name`
    Property {
        /// The expression being dereferenced.
        object: Box<Expr>,
        /// Property name as written.
        name: String,
        /// Span of `name` alone.
        name_span: Span,
    },
    /// `object[index]`
    Index {
        /// The expression being indexed.
        object: Box<Expr>,
        /// The index expression (a string literal for `a['b']`).
        index: Box<Expr>,
    },
    /// `object.*`, the object filter: every element/property value of `object`.
    Filter {
        /// The expression being filtered.
        object: Box<Expr>,
    },
    /// `name(args...)`. Function names are case-insensitive in Actions; the
    /// name is kept as written so messages can quote it.
    Call {
        /// Function name as written.
        name: String,
        /// Span of the name alone.
        name_span: Span,
        /// Arguments in order.
        args: Vec<Expr>,
    },
    /// `!operand`
    Not(Box<Expr>),
    /// `lhs op rhs`
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Span of the operator token.
        op_span: Span,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `( inner )`, kept so spans and source round-trips stay faithful.
    Group(Box<Expr>),
}

impl Expr {
    /// Direct children in source order.
    #[must_use]
    pub fn children(&self) -> Vec<&Expr> {
        match &self.kind {
            ExprKind::Null
            | ExprKind::Bool(_)
            | ExprKind::Number(_)
            | ExprKind::String(_)
            | ExprKind::Context(_) => Vec::new(),
            ExprKind::Property { object, .. } | ExprKind::Filter { object } => vec![object],
            ExprKind::Index { object, index } => vec![object, index],
            ExprKind::Call { args, .. } => args.iter().collect(),
            ExprKind::Not(inner) | ExprKind::Group(inner) => vec![inner],
            ExprKind::Binary { lhs, rhs, .. } => vec![lhs, rhs],
        }
    }

    /// Visits this node and all descendants in pre-order (source order).
    /// Iterative, so it is safe on any tree depth.
    pub fn walk<'a>(&'a self, mut visit: impl FnMut(&'a Expr)) {
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            visit(node);
            stack.extend(node.children().into_iter().rev());
        }
    }

    /// True if this node is a call to `name`, compared case-insensitively as
    /// Actions does (`startswith(...)` calls `startsWith`).
    #[must_use]
    pub fn is_call_to(&self, name: &str) -> bool {
        matches!(&self.kind, ExprKind::Call { name: n, .. } if n.eq_ignore_ascii_case(name))
    }
}
