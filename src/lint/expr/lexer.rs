//! Tokenizer for Actions expressions.
//!
//! Works on bytes: every token boundary is an ASCII byte, so slicing the
//! source at token boundaries always lands on a `char` boundary.

use super::ast::{ExprError, Span};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Star,
    Not,
    Lt,
    Le,
    Gt,
    Ge,
    EqEq,
    Ne,
    And,
    Or,
    End,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        let s = match self {
            Self::Ident(name) => return format!("identifier `{name}`"),
            Self::Str(_) => "string literal",
            Self::Num(_) => "number literal",
            Self::LParen => "`(`",
            Self::RParen => "`)`",
            Self::LBracket => "`[`",
            Self::RBracket => "`]`",
            Self::Dot => "`.`",
            Self::Comma => "`,`",
            Self::Star => "`*`",
            Self::Not => "`!`",
            Self::Lt => "`<`",
            Self::Le => "`<=`",
            Self::Gt => "`>`",
            Self::Ge => "`>=`",
            Self::EqEq => "`==`",
            Self::Ne => "`!=`",
            Self::And => "`&&`",
            Self::Or => "`||`",
            Self::End => "end of expression",
        };
        s.to_owned()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

pub(crate) const fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

pub(crate) const fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Tokenizes `src`; spans are offset by `base`. The result always ends with
/// [`Tok::End`].
pub(crate) fn tokenize(src: &str, base: usize) -> Result<Vec<Token>, ExprError> {
    let mut lexer = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        base,
    };
    let mut out = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::End;
        out.push(token);
        if done {
            return Ok(out);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl Lexer<'_> {
    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(start + self.base, end + self.base)
    }

    fn token(&self, tok: Tok, start: usize) -> Token {
        Token {
            tok,
            span: self.span(start, self.pos),
        }
    }

    fn error(&self, message: impl Into<String>, start: usize, end: usize) -> ExprError {
        ExprError::new(message, self.span(start, end))
    }

    /// Error for the (possibly multi-byte) character at `self.pos`.
    fn unexpected_char(&self, what: &str) -> ExprError {
        let rest = self.src.get(self.pos..).unwrap_or("");
        match rest.chars().next() {
            Some(c) => self.error(
                format!("unexpected character {c:?} {what}"),
                self.pos,
                self.pos + c.len_utf8(),
            ),
            None => self.error(
                format!("unexpected end of expression {what}"),
                self.pos,
                self.pos,
            ),
        }
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek_at(0), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn next_token(&mut self) -> Result<Token, ExprError> {
        self.skip_whitespace();
        let start = self.pos;
        let Some(b) = self.peek_at(0) else {
            return Ok(self.token(Tok::End, start));
        };
        if is_ident_start(b) {
            return Ok(self.ident());
        }
        if b.is_ascii_digit() || b == b'-' {
            return self.number();
        }
        let (tok, len) = match (b, self.peek_at(1)) {
            (b'\'', _) => return self.string(),
            (b'(', _) => (Tok::LParen, 1),
            (b')', _) => (Tok::RParen, 1),
            (b'[', _) => (Tok::LBracket, 1),
            (b']', _) => (Tok::RBracket, 1),
            (b'.', _) => (Tok::Dot, 1),
            (b',', _) => (Tok::Comma, 1),
            (b'*', _) => (Tok::Star, 1),
            (b'!', Some(b'=')) => (Tok::Ne, 2),
            (b'!', _) => (Tok::Not, 1),
            (b'<', Some(b'=')) => (Tok::Le, 2),
            (b'<', _) => (Tok::Lt, 1),
            (b'>', Some(b'=')) => (Tok::Ge, 2),
            (b'>', _) => (Tok::Gt, 1),
            (b'=', Some(b'=')) => (Tok::EqEq, 2),
            (b'&', Some(b'&')) => (Tok::And, 2),
            (b'|', Some(b'|')) => (Tok::Or, 2),
            (b'=', _) => {
                return Err(self.error(
                    "expected `==` (assignment is not supported)",
                    start,
                    start + 1,
                ));
            }
            (b'&', _) => return Err(self.error("expected `&&`", start, start + 1)),
            (b'|', _) => return Err(self.error("expected `||`", start, start + 1)),
            _ => return Err(self.unexpected_char("in expression")),
        };
        self.pos += len;
        Ok(self.token(tok, start))
    }

    fn ident(&mut self) -> Token {
        let start = self.pos;
        while self.peek_at(0).is_some_and(is_ident_continue) {
            self.pos += 1;
        }
        let name = self.src.get(start..self.pos).unwrap_or("").to_owned();
        self.token(Tok::Ident(name), start)
    }

    fn digits(&mut self, pred: fn(&u8) -> bool) -> usize {
        let start = self.pos;
        while self.peek_at(0).as_ref().is_some_and(pred) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0x[0-9a-f]+ | [0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)`
    fn number(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        let negative = self.peek_at(0) == Some(b'-');
        if negative {
            self.pos += 1;
            if !self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.unexpected_char("after `-` (expected a digit)"));
            }
        }
        let value = if self.peek_at(0) == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X'))
        {
            self.pos += 2;
            let digits_start = self.pos;
            if self.digits(u8::is_ascii_hexdigit) == 0 {
                return Err(self.unexpected_char("in hex literal (expected a hex digit)"));
            }
            let magnitude = self
                .bytes
                .get(digits_start..self.pos)
                .unwrap_or(&[])
                .iter()
                .filter_map(|&b| char::from(b).to_digit(16))
                .fold(0.0_f64, |acc, d| acc * 16.0 + f64::from(d));
            if negative { -magnitude } else { magnitude }
        } else {
            self.digits(u8::is_ascii_digit);
            if self.peek_at(0) == Some(b'.') {
                self.pos += 1;
                if self.digits(u8::is_ascii_digit) == 0 {
                    return Err(self.unexpected_char("after `.` in number (expected a digit)"));
                }
            }
            if matches!(self.peek_at(0), Some(b'e' | b'E')) {
                self.pos += 1;
                if matches!(self.peek_at(0), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                if self.digits(u8::is_ascii_digit) == 0 {
                    return Err(self.unexpected_char("in exponent (expected a digit)"));
                }
            }
            let text = self.src.get(start..self.pos).unwrap_or("");
            text.parse::<f64>().map_err(|_| {
                self.error(format!("invalid number literal `{text}`"), start, self.pos)
            })?
        };
        if self
            .peek_at(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(self.unexpected_char("right after a number"));
        }
        Ok(self.token(Tok::Num(value), start))
    }

    /// `'...'` with `''` as the only escape.
    fn string(&mut self) -> Result<Token, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or(&[]);
            let Some(quote) = rest.iter().position(|&b| b == b'\'') else {
                return Err(self.error("unterminated string literal", start, self.bytes.len()));
            };
            value.push_str(self.src.get(self.pos..self.pos + quote).unwrap_or(""));
            self.pos += quote + 1;
            if self.peek_at(0) == Some(b'\'') {
                value.push('\'');
                self.pos += 1;
            } else {
                return Ok(self.token(Tok::Str(value), start));
            }
        }
    }
}
