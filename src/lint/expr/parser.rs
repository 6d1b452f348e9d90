//! Recursive-descent parser with GitHub's operator precedence.
//!
//! Precedence, loosest first: `||`, `&&`, `== !=`, `< <= > >=`, `!`, then
//! postfix `.name` / `.*` / `[index]`, then primaries. Binary operators are
//! left-associative. Parsing is a single pass over a token vector, so time is
//! linear in the input; recursion is bounded by [`MAX_NESTING`] and the tree
//! height by [`MAX_HEIGHT`].

use super::ast::{BinaryOp, Expr, ExprError, ExprKind, Span};
use super::lexer::{Tok, Token, tokenize};

/// Maximum syntactic nesting of `(`, `[`, call argument lists and `!`.
/// Bounds parser recursion so hostile input cannot overflow the stack.
pub const MAX_NESTING: usize = 64;

/// Maximum height of the resulting tree. Long flat chains (`a || b || ...`,
/// `a.b.c...`) do not recurse while parsing but build deep trees, which the
/// derived `Drop`/`Debug`/`PartialEq` impls walk recursively.
pub const MAX_HEIGHT: usize = 256;

/// Parses `src` as one expression; all spans are offset by `base`.
pub(crate) fn parse_at(src: &str, base: usize) -> Result<Expr, ExprError> {
    let tokens = tokenize(src, base)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        nesting: 0,
    };
    if parser.peek() == &Tok::End {
        return Err(ExprError::new(
            "empty expression",
            Span::new(base, base + src.len()),
        ));
    }
    let node = parser.binary(0)?;
    let trailing = parser.current();
    if trailing.tok != Tok::End {
        return Err(ExprError::new(
            format!(
                "unexpected {} after a complete expression (missing operator?)",
                trailing.tok.describe()
            ),
            trailing.span,
        ));
    }
    Ok(node.expr)
}

/// An expression plus its tree height, so the height limit is enforced while
/// building instead of by a (recursive) pass afterwards.
struct Node {
    expr: Expr,
    height: usize,
}

/// Binary precedence levels, loosest first; level `LEVELS` is unary.
const LEVELS: usize = 4;

fn binary_op(level: usize, tok: &Tok) -> Option<BinaryOp> {
    match (level, tok) {
        (0, Tok::Or) => Some(BinaryOp::Or),
        (1, Tok::And) => Some(BinaryOp::And),
        (2, Tok::EqEq) => Some(BinaryOp::Eq),
        (2, Tok::Ne) => Some(BinaryOp::Ne),
        (3, Tok::Lt) => Some(BinaryOp::Lt),
        (3, Tok::Le) => Some(BinaryOp::Le),
        (3, Tok::Gt) => Some(BinaryOp::Gt),
        (3, Tok::Ge) => Some(BinaryOp::Ge),
        _ => None,
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    nesting: usize,
}

impl Parser {
    /// The current token; past the end this is the final `End` token.
    fn current(&self) -> Token {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .cloned()
            .unwrap_or_else(|| Token {
                tok: Tok::End,
                span: Span::default(),
            })
    }

    fn peek(&self) -> &Tok {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(&Tok::End, |t| &t.tok)
    }

    fn bump(&mut self) -> Token {
        let token = self.current();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn unexpected(&self, expected: &str) -> ExprError {
        let token = self.current();
        ExprError::new(
            format!("unexpected {}; expected {expected}", token.tok.describe()),
            token.span,
        )
    }

    fn enter(&mut self, span: Span) -> Result<(), ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(ExprError::new(
                format!("expression nested more than {MAX_NESTING} levels deep"),
                span,
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    fn node(kind: ExprKind, span: Span, child_height: usize) -> Result<Node, ExprError> {
        let height = child_height + 1;
        if height > MAX_HEIGHT {
            return Err(ExprError::new(
                format!("expression tree deeper than {MAX_HEIGHT} levels"),
                span,
            ));
        }
        Ok(Node {
            expr: Expr { kind, span },
            height,
        })
    }

    fn binary(&mut self, level: usize) -> Result<Node, ExprError> {
        if level >= LEVELS {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        while let Some(op) = binary_op(level, self.peek()) {
            let op_span = self.bump().span;
            if self.peek() == &Tok::End {
                return Err(ExprError::new(
                    format!("missing right-hand operand of `{op}`"),
                    self.current().span,
                ));
            }
            let rhs = self.binary(level + 1)?;
            let span = lhs.expr.span.to(rhs.expr.span);
            let height = lhs.height.max(rhs.height);
            let kind = ExprKind::Binary {
                op,
                op_span,
                lhs: Box::new(lhs.expr),
                rhs: Box::new(rhs.expr),
            };
            lhs = Self::node(kind, span, height)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        if self.peek() != &Tok::Not {
            return self.postfix();
        }
        let bang = self.bump().span;
        self.enter(bang)?;
        let operand = self.unary()?;
        self.leave();
        let span = bang.to(operand.expr.span);
        Self::node(ExprKind::Not(Box::new(operand.expr)), span, operand.height)
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    self.bump();
                    let name = self.current();
                    let object = Box::new(node.expr);
                    let (kind, end) = match name.tok {
                        Tok::Ident(ident) => (
                            ExprKind::Property {
                                object,
                                name: ident,
                                name_span: name.span,
                            },
                            name.span,
                        ),
                        Tok::Star => (ExprKind::Filter { object }, name.span),
                        _ => return Err(self.unexpected("a property name or `*` after `.`")),
                    };
                    self.bump();
                    let span = object_span(&kind).to(end);
                    node = Self::node(kind, span, node.height)?;
                }
                Tok::LBracket => {
                    let open = self.bump().span;
                    self.enter(open)?;
                    let index = self.binary(0)?;
                    let close = self.current();
                    if close.tok != Tok::RBracket {
                        return Err(self
                            .unexpected(&format!("`]` to close the `[` at byte {}", open.start)));
                    }
                    self.bump();
                    self.leave();
                    let span = node.expr.span.to(close.span);
                    let height = node.height.max(index.height);
                    let kind = ExprKind::Index {
                        object: Box::new(node.expr),
                        index: Box::new(index.expr),
                    };
                    node = Self::node(kind, span, height)?;
                }
                _ => return Ok(node),
            }
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let token = self.current();
        let kind = match token.tok {
            Tok::Num(n) => ExprKind::Number(n),
            Tok::Str(s) => ExprKind::String(s),
            Tok::Ident(name) => {
                self.bump();
                if self.peek() == &Tok::LParen {
                    return self.call(name, token.span);
                }
                let kind = match name.as_str() {
                    "null" => ExprKind::Null,
                    "true" => ExprKind::Bool(true),
                    "false" => ExprKind::Bool(false),
                    "NaN" => ExprKind::Number(f64::NAN),
                    "Infinity" => ExprKind::Number(f64::INFINITY),
                    _ => ExprKind::Context(name),
                };
                return Self::node(kind, token.span, 0);
            }
            Tok::LParen => return self.group(token.span),
            _ => return Err(self.unexpected("a value")),
        };
        self.bump();
        Self::node(kind, token.span, 0)
    }

    fn group(&mut self, open: Span) -> Result<Node, ExprError> {
        self.bump();
        self.enter(open)?;
        let inner = self.binary(0)?;
        let close = self.current();
        if close.tok != Tok::RParen {
            return Err(self.unexpected(&format!("`)` to close the `(` at byte {}", open.start)));
        }
        self.bump();
        self.leave();
        Self::node(
            ExprKind::Group(Box::new(inner.expr)),
            open.to(close.span),
            inner.height,
        )
    }

    /// `name(` has been seen with the cursor on `(`.
    fn call(&mut self, name: String, name_span: Span) -> Result<Node, ExprError> {
        let open = self.bump().span;
        self.enter(open)?;
        let mut args = Vec::new();
        let mut height = 0;
        if self.peek() != &Tok::RParen {
            loop {
                let arg = self.binary(0)?;
                height = height.max(arg.height);
                args.push(arg.expr);
                match self.peek() {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => break,
                    _ => {
                        return Err(
                            self.unexpected(&format!("`,` or `)` in the arguments of `{name}`"))
                        );
                    }
                }
            }
        }
        let close = self.bump().span;
        self.leave();
        let kind = ExprKind::Call {
            name,
            name_span,
            args,
        };
        Self::node(kind, name_span.to(close), height)
    }
}

/// Span of the `object` of a freshly built postfix node.
fn object_span(kind: &ExprKind) -> Span {
    match kind {
        ExprKind::Property { object, .. }
        | ExprKind::Filter { object }
        | ExprKind::Index { object, .. } => object.span,
        _ => Span::default(),
    }
}
