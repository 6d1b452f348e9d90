//! A recursive-descent parser for the shell grammar workflow scripts use (POSIX sh plus the
//! bash forms seen in CI: `[[ ]]`, `(( ))`, `function`, `$'...'`, `<( )`, `|&`, `&>`).
//! It works on bytes (every delimiter is ASCII), never panics, and bounds nesting.

use super::ast::*;

/// Deepest nesting of compound commands and substitutions.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellError {
    pub message: String,
    /// Byte offset in the script.
    pub offset: usize,
}

type R<T> = Result<T, ShellError>;

struct Pending {
    delim: String,
    strip_tabs: bool,
    quoted: bool,
    slot: usize,
}

struct P<'s> {
    s: &'s [u8],
    i: usize,
    depth: usize,
    pending: Vec<Pending>,
    heredocs: Vec<Word>,
}

const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "select", "in", "function", "{", "}", "!", "[[",
];

fn is_meta(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

fn is_name(s: &str) -> bool {
    let mut c = s.bytes();
    c.next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && c.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parse a whole script.
pub fn parse(src: &str) -> Result<Script, ShellError> {
    let mut p = P {
        s: src.as_bytes(),
        i: 0,
        depth: 0,
        pending: Vec::new(),
        heredocs: Vec::new(),
    };
    let body = p.list(&[])?;
    p.skip_space();
    if p.i < p.s.len() {
        return Err(p.err(format!("unexpected `{}`", p.peek_text())));
    }
    if !p.pending.is_empty() {
        p.read_heredocs()?;
    }
    Ok(Script {
        body,
        heredocs: p.heredocs,
    })
}

impl<'s> P<'s> {
    fn err(&self, message: impl Into<String>) -> ShellError {
        ShellError {
            message: message.into(),
            offset: self.i,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn starts(&self, t: &str) -> bool {
        self.s[self.i..].starts_with(t.as_bytes())
    }

    fn peek_text(&self) -> String {
        let end = (self.i + 12).min(self.s.len());
        String::from_utf8_lossy(&self.s[self.i..end])
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        Ok(())
    }

    /// Blanks, line continuations and comments (not newlines).
    fn skip_space(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.i += 1,
                Some(b'\\') if self.at(1) == Some(b'\n') => self.i += 2,
                Some(b'#') => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.i += 1;
                    }
                }
                _ => return,
            }
        }
    }

    /// Blanks and newlines; reads pending heredoc bodies at each newline.
    fn skip_lines(&mut self) -> R<()> {
        loop {
            self.skip_space();
            if self.peek() == Some(b'\n') {
                self.i += 1;
                self.read_heredocs()?;
            } else {
                return Ok(());
            }
        }
    }

    fn read_heredocs(&mut self) -> R<()> {
        for pd in std::mem::take(&mut self.pending) {
            let start = self.i;
            let mut body_end = self.s.len();
            let mut next = self.s.len();
            let mut pos = self.i;
            while pos < self.s.len() {
                let eol = self.s[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.s.len(), |k| pos + k);
                let mut line = &self.s[pos..eol];
                if pd.strip_tabs {
                    while line.first() == Some(&b'\t') {
                        line = &line[1..];
                    }
                }
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line == pd.delim.as_bytes() {
                    body_end = pos;
                    next = (eol + 1).min(self.s.len());
                    break;
                }
                pos = eol + 1;
            }
            let text = String::from_utf8_lossy(&self.s[start..body_end]).into_owned();
            let word = if pd.quoted {
                Word {
                    parts: vec![Part::Lit(text)],
                    span: Span {
                        start,
                        end: body_end,
                    },
                    glob: false,
                }
            } else {
                // An unquoted heredoc expands `$`, `` ` `` and `\` like double quotes.
                let mut sub = P {
                    s: &self.s[..body_end],
                    i: start,
                    depth: self.depth,
                    pending: Vec::new(),
                    heredocs: Vec::new(),
                };
                let mut parts = Vec::new();
                sub.dquoted(&mut parts, None)?;
                let base = self.heredocs.len();
                // Heredocs nested in substitutions of this body get their own slots.
                let nested = std::mem::take(&mut sub.heredocs);
                let _ = base;
                self.heredocs.extend(nested);
                Word {
                    parts,
                    span: Span {
                        start,
                        end: body_end,
                    },
                    glob: false,
                }
            };
            if let Some(slot) = self.heredocs.get_mut(pd.slot) {
                *slot = word;
            }
            self.i = next;
        }
        Ok(())
    }

    /// The reserved word at the cursor, if any (only meaningful at a command's start).
    fn reserved(&self) -> Option<&'static str> {
        RESERVED.iter().copied().find(|w| {
            self.starts(w)
                && self
                    .s
                    .get(self.i + w.len())
                    .is_none_or(|&b| is_meta(b) || (*w == "}" && b == b'}'))
        })
    }

    fn expect_word(&mut self, w: &str) -> R<()> {
        self.skip_lines()?;
        if self.reserved() == Some(w) {
            self.i += w.len();
            Ok(())
        } else {
            Err(self.err(format!("expected `{w}`, found `{}`", self.peek_text())))
        }
    }

    /// A list up to EOF, `)`, `;;`-style arm ends, or one of the reserved words in `stop`.
    fn list(&mut self, stop: &[&str]) -> R<List> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.skip_lines()?;
            match self.peek() {
                None | Some(b')') => break,
                Some(b';') => {
                    if self.at(1) == Some(b';') || self.at(1) == Some(b'&') {
                        break;
                    }
                    return Err(self.err("unexpected `;`"));
                }
                _ => {}
            }
            if let Some(w) = self.reserved()
                && stop.contains(&w)
            {
                break;
            }
            let mut item = self.and_or()?;
            self.skip_space();
            match self.peek() {
                Some(b'&') if self.at(1) != Some(b'&') && self.at(1) != Some(b'>') => {
                    self.i += 1;
                    item.background = true;
                }
                Some(b';') if self.at(1) != Some(b';') && self.at(1) != Some(b'&') => {
                    self.i += 1;
                }
                _ => {}
            }
            items.push(item);
        }
        self.depth -= 1;
        Ok(List { items })
    }

    fn and_or(&mut self) -> R<AndOr> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            self.skip_space();
            let and = if self.starts("&&") {
                true
            } else if self.starts("||") {
                false
            } else {
                break;
            };
            self.i += 2;
            self.skip_lines()?;
            rest.push((and, self.pipeline()?));
        }
        Ok(AndOr {
            first,
            rest,
            background: false,
        })
    }

    fn pipeline(&mut self) -> R<Pipeline> {
        self.skip_space();
        let mut bang = false;
        while self.reserved() == Some("!") {
            self.i += 1;
            bang = !bang;
            self.skip_space();
        }
        // `time` only times the pipeline.
        if self.starts("time") && self.at(4).is_none_or(is_meta) {
            self.i += 4;
            self.skip_space();
            while self.starts("-p") && self.at(2).is_none_or(is_meta) {
                self.i += 2;
                self.skip_space();
            }
        }
        let mut cmds = vec![self.command()?];
        loop {
            self.skip_space();
            if self.peek() == Some(b'|') && self.at(1) != Some(b'|') {
                self.i += 1;
                if self.peek() == Some(b'&') {
                    self.i += 1;
                }
                self.skip_lines()?;
                cmds.push(self.command()?);
            } else {
                break;
            }
        }
        Ok(Pipeline { bang, cmds })
    }

    fn command(&mut self) -> R<Command> {
        self.skip_space();
        let start = self.i;
        let kind = match self.reserved() {
            Some("if") => {
                self.i += 2;
                let mut branches = Vec::new();
                let mut otherwise = None;
                loop {
                    let cond = self.list(&["then"])?;
                    self.expect_word("then")?;
                    let body = self.list(&["elif", "else", "fi"])?;
                    branches.push((cond, body));
                    self.skip_lines()?;
                    match self.reserved() {
                        Some("elif") => self.i += 4,
                        Some("else") => {
                            self.i += 4;
                            otherwise = Some(self.list(&["fi"])?);
                            self.expect_word("fi")?;
                            break;
                        }
                        _ => {
                            self.expect_word("fi")?;
                            break;
                        }
                    }
                }
                CommandKind::If {
                    branches,
                    otherwise,
                }
            }
            Some(w @ ("while" | "until")) => {
                self.i += w.len();
                let cond = self.list(&["do"])?;
                self.expect_word("do")?;
                let body = self.list(&["done"])?;
                self.expect_word("done")?;
                CommandKind::Loop {
                    until: w == "until",
                    cond,
                    body,
                }
            }
            Some(w @ ("for" | "select")) => {
                self.i += w.len();
                self.skip_space();
                if self.starts("((") {
                    self.arith_text()?;
                    self.skip_space();
                    if self.peek() == Some(b';') {
                        self.i += 1;
                    }
                    self.skip_lines()?;
                    let body = self.loop_body()?;
                    CommandKind::For {
                        var: String::new(),
                        words: None,
                        body,
                    }
                } else {
                    let var = self
                        .word()?
                        .and_then(|w| w.literal())
                        .filter(|v| is_name(v))
                        .ok_or_else(|| self.err("`for` needs a variable name"))?;
                    self.skip_lines()?;
                    let mut words = None;
                    if self.reserved() == Some("in") {
                        self.i += 2;
                        let mut list = Vec::new();
                        loop {
                            self.skip_space();
                            if matches!(self.peek(), Some(b';' | b'\n') | None) {
                                break;
                            }
                            match self.word()? {
                                Some(w) => list.push(w),
                                None => return Err(self.err("unexpected text in `for ... in`")),
                            }
                        }
                        words = Some(list);
                    }
                    self.skip_space();
                    if self.peek() == Some(b';') {
                        self.i += 1;
                    }
                    let body = self.loop_body()?;
                    CommandKind::For { var, words, body }
                }
            }
            Some("case") => {
                self.i += 4;
                self.skip_space();
                let word = self
                    .word()?
                    .ok_or_else(|| self.err("`case` needs a word"))?;
                self.expect_word("in")?;
                let mut arms = Vec::new();
                loop {
                    self.skip_lines()?;
                    if self.reserved() == Some("esac") {
                        self.i += 4;
                        break;
                    }
                    if self.peek().is_none() {
                        return Err(self.err("`case` without `esac`"));
                    }
                    if self.peek() == Some(b'(') {
                        self.i += 1;
                    }
                    let mut pats = Vec::new();
                    loop {
                        self.skip_space();
                        let w = self
                            .word()?
                            .ok_or_else(|| self.err("a `case` pattern was expected"))?;
                        pats.push(w);
                        self.skip_space();
                        match self.peek() {
                            Some(b'|') => self.i += 1,
                            Some(b')') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.err("a `case` pattern must end with `)`")),
                        }
                    }
                    let body = self.list(&["esac"])?;
                    arms.push((pats, body));
                    self.skip_space();
                    for end in [";;&", ";;", ";&"] {
                        if self.starts(end) {
                            self.i += end.len();
                            break;
                        }
                    }
                }
                CommandKind::Case { word, arms }
            }
            Some("{") => {
                self.i += 1;
                let body = self.list(&["}"])?;
                self.expect_word("}")?;
                CommandKind::Brace(body)
            }
            Some("[[") => {
                self.i += 2;
                let mut words = Vec::new();
                loop {
                    self.skip_lines()?;
                    if self.starts("]]") && self.at(2).is_none_or(is_meta) {
                        self.i += 2;
                        break;
                    }
                    match self.peek() {
                        None => return Err(self.err("`[[` without `]]`")),
                        Some(b'(' | b')' | b'<' | b'>' | b'&' | b'|' | b';') => {
                            self.i += 1;
                            continue;
                        }
                        _ => {}
                    }
                    match self.word()? {
                        Some(w) => words.push(w),
                        None => self.i += 1,
                    }
                }
                CommandKind::Test(words)
            }
            Some("function") => {
                self.i += 8;
                self.skip_space();
                let name = self
                    .word()?
                    .and_then(|w| w.literal())
                    .ok_or_else(|| self.err("`function` needs a name"))?;
                self.skip_space();
                if self.starts("()") {
                    self.i += 2;
                }
                self.skip_lines()?;
                let body = Box::new(self.command()?);
                CommandKind::Function { name, body }
            }
            Some(w @ ("then" | "elif" | "else" | "fi" | "do" | "done" | "esac" | "}" | "in")) => {
                return Err(self.err(format!("unexpected `{w}`")));
            }
            _ if self.starts("((") => {
                let w = self.arith_text()?;
                CommandKind::Arith(w)
            }
            _ if self.peek() == Some(b'(') => {
                self.i += 1;
                let body = self.list(&[])?;
                self.skip_lines()?;
                if self.peek() != Some(b')') {
                    return Err(self.err("`(` without `)`"));
                }
                self.i += 1;
                CommandKind::Subshell(body)
            }
            _ => return self.simple(start),
        };
        let redirects = self.redirects()?;
        Ok(Command {
            kind,
            redirects,
            span: Span { start, end: self.i },
        })
    }

    fn loop_body(&mut self) -> R<List> {
        self.skip_lines()?;
        if self.reserved() == Some("{") {
            self.i += 1;
            let body = self.list(&["}"])?;
            self.expect_word("}")?;
            return Ok(body);
        }
        self.expect_word("do")?;
        let body = self.list(&["done"])?;
        self.expect_word("done")?;
        Ok(body)
    }

    fn redirects(&mut self) -> R<Vec<Redirect>> {
        let mut out = Vec::new();
        loop {
            self.skip_space();
            match self.redirect()? {
                Some(r) => out.push(r),
                None => return Ok(out),
            }
        }
    }

    /// A redirection at the cursor (with an optional fd number before it).
    fn redirect(&mut self) -> R<Option<Redirect>> {
        let save = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if self.peek() == Some(b'{') {
            // `{fd}>file`
            if let Some(k) = self.s[self.i..].iter().position(|&b| b == b'}')
                && matches!(self.at(k + 1), Some(b'<' | b'>'))
            {
                self.i += k + 1;
            }
        }
        let fd = String::from_utf8_lossy(&self.s[save..self.i]).into_owned();
        let ops = [
            "&>>", "<<<", "<<-", "<<", ">>", "<&", ">&", "<>", ">|", "&>", "<", ">",
        ];
        let Some(op) = ops.iter().find(|o| self.starts(o)) else {
            self.i = save;
            return Ok(None);
        };
        if (*op == "<" || *op == ">") && self.at(1) == Some(b'(') {
            self.i = save;
            return Ok(None);
        }
        self.i += op.len();
        self.skip_space();
        let raw_start = self.i;
        let target = self
            .word()?
            .ok_or_else(|| self.err(format!("`{op}` needs a target")))?;
        let mut heredoc = None;
        if *op == "<<" || *op == "<<-" {
            let raw = &self.s[raw_start..self.i];
            let quoted = raw.iter().any(|b| matches!(b, b'\'' | b'"' | b'\\'));
            let delim = target
                .literal()
                .unwrap_or_else(|| String::from_utf8_lossy(raw).replace(['\'', '"', '\\'], ""));
            let slot = self.heredocs.len();
            self.heredocs.push(Word::default());
            self.pending.push(Pending {
                delim,
                strip_tabs: *op == "<<-",
                quoted,
                slot,
            });
            heredoc = Some(slot);
        }
        Ok(Some(Redirect {
            op: format!("{fd}{op}"),
            target,
            heredoc,
        }))
    }

    fn simple(&mut self, start: usize) -> R<Command> {
        let mut assigns = Vec::new();
        let mut words: Vec<Word> = Vec::new();
        let mut redirects = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None | Some(b'\n' | b';' | b'&' | b'|' | b')') => {
                    if self.peek() == Some(b'&') && self.at(1) == Some(b'>') {
                    } else {
                        break;
                    }
                }
                _ => {}
            }
            if let Some(r) = self.redirect()? {
                redirects.push(r);
                continue;
            }
            if self.peek() == Some(b'(') {
                // `name () body`: a function definition.
                if words.len() == 1 && assigns.is_empty() && self.starts_fn_parens() {
                    let name = words[0]
                        .literal()
                        .ok_or_else(|| self.err("a function name must be literal"))?;
                    self.skip_lines()?;
                    let body = Box::new(self.command()?);
                    return Ok(Command {
                        kind: CommandKind::Function { name, body },
                        redirects,
                        span: Span { start, end: self.i },
                    });
                }
                return Err(self.err("unexpected `(`"));
            }
            if words.is_empty()
                && let Some(a) = self.assignment()?
            {
                assigns.push(a);
                continue;
            }
            match self.word()? {
                Some(w) => words.push(w),
                None => return Err(self.err(format!("unexpected `{}`", self.peek_text()))),
            }
        }
        if words.is_empty() && assigns.is_empty() && redirects.is_empty() {
            return Err(self.err(format!(
                "a command was expected, found `{}`",
                self.peek_text()
            )));
        }
        Ok(Command {
            kind: CommandKind::Simple { assigns, words },
            redirects,
            span: Span { start, end: self.i },
        })
    }

    fn starts_fn_parens(&mut self) -> bool {
        let save = self.i;
        self.i += 1;
        self.skip_space();
        if self.peek() == Some(b')') {
            self.i += 1;
            true
        } else {
            self.i = save;
            false
        }
    }

    /// `NAME=value`, `NAME+=value`, `NAME=(...)` at the cursor.
    fn assignment(&mut self) -> R<Option<(String, Word)>> {
        let n = self.s[self.i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if n == 0 || self.s[self.i].is_ascii_digit() {
            return Ok(None);
        }
        let mut k = self.i + n;
        if self.s.get(k) == Some(&b'[') {
            // `a[i]=v`
            match self.s[k..].iter().position(|&b| b == b']') {
                Some(e) => k += e + 1,
                None => return Ok(None),
            }
        }
        if self.s.get(k) == Some(&b'+') {
            k += 1;
        }
        if self.s.get(k) != Some(&b'=') {
            return Ok(None);
        }
        let name = String::from_utf8_lossy(&self.s[self.i..self.i + n]).into_owned();
        self.i = k + 1;
        let start = self.i;
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut substs = Vec::new();
            loop {
                self.skip_lines()?;
                match self.peek() {
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    None => return Err(self.err("array assignment without `)`")),
                    _ => {}
                }
                match self.word()? {
                    Some(w) => substs.extend(substs_of(w)),
                    None => return Err(self.err("unexpected text in an array assignment")),
                }
            }
            return Ok(Some((
                name,
                Word {
                    parts: vec![Part::Dynamic(substs)],
                    span: Span { start, end: self.i },
                    glob: false,
                },
            )));
        }
        let w = self.word()?.unwrap_or(Word {
            parts: vec![Part::Lit(String::new())],
            span: Span { start, end: start },
            glob: false,
        });
        Ok(Some((name, w)))
    }

    /// A word at the cursor, or `None` at a metacharacter.
    fn word(&mut self) -> R<Option<Word>> {
        let start = self.i;
        let mut parts: Vec<Part> = Vec::new();
        let mut unquoted = String::new();
        while let Some(b) = self.peek() {
            match b {
                b'<' | b'>' if self.at(1) == Some(b'(') => {
                    self.i += 2;
                    let l = self.list(&[])?;
                    self.close_paren()?;
                    parts.push(Part::ProcSubst(l));
                }
                _ if is_meta(b) => break,
                b'\\' => {
                    match self.at(1) {
                        Some(b'\n') => {}
                        Some(_) => {
                            let c = self.char_at(self.i + 1);
                            push_lit(&mut parts, &c);
                        }
                        None => {}
                    }
                    self.i += 1 + self.char_len(self.i + 1);
                }
                b'\'' => {
                    self.i += 1;
                    let Some(k) = self.s[self.i..].iter().position(|&c| c == b'\'') else {
                        return Err(self.err("unterminated `'`"));
                    };
                    let t = String::from_utf8_lossy(&self.s[self.i..self.i + k]).into_owned();
                    push_lit(&mut parts, &t);
                    self.i += k + 1;
                }
                b'"' => {
                    self.i += 1;
                    self.dquoted(&mut parts, Some(b'"'))?;
                }
                b'$' if self.at(1) == Some(b'\'') => {
                    self.i += 2;
                    self.ansi_c(&mut parts)?;
                }
                b'$' if self.at(1) == Some(b'"') => {
                    self.i += 2;
                    self.dquoted(&mut parts, Some(b'"'))?;
                }
                b'$' | b'`' => self.dollar(&mut parts)?,
                _ => {
                    let c = self.char_at(self.i);
                    unquoted.push_str(&c);
                    push_lit(&mut parts, &c);
                    self.i += c.len().max(1);
                }
            }
        }
        if self.i == start {
            return Ok(None);
        }
        // Brace expansion (`{a,b}`, `{1..3}`) makes several words of one.
        if let (Some(o), Some(c)) = (unquoted.find('{'), unquoted.rfind('}'))
            && o < c
            && (unquoted[o..c].contains(',') || unquoted[o..c].contains(".."))
        {
            parts.push(Part::Dynamic(Vec::new()));
        }
        // A `*`, `?` or a `[` closed later in the word, unquoted: a pattern.
        let glob = unquoted.contains(['*', '?'])
            || unquoted
                .find('[')
                .is_some_and(|o| unquoted[o + 1..].contains(']'));
        Ok(Some(Word {
            parts,
            span: Span { start, end: self.i },
            glob,
        }))
    }

    fn char_len(&self, at: usize) -> usize {
        match self.s.get(at) {
            None => 0,
            Some(b) if *b < 0x80 => 1,
            Some(b) if *b >= 0xF0 => 4,
            Some(b) if *b >= 0xE0 => 3,
            Some(_) => 2,
        }
        .min(self.s.len().saturating_sub(at))
    }

    fn char_at(&self, at: usize) -> String {
        let n = self.char_len(at);
        String::from_utf8_lossy(&self.s[at..at + n]).into_owned()
    }

    fn close_paren(&mut self) -> R<()> {
        self.skip_lines()?;
        if self.peek() == Some(b')') {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err("`(` without `)`"))
        }
    }

    /// Inside double quotes (or an unquoted heredoc body when `end` is `None`).
    fn dquoted(&mut self, parts: &mut Vec<Part>, end: Option<u8>) -> R<()> {
        loop {
            let Some(b) = self.peek() else {
                if end.is_some() {
                    return Err(self.err("unterminated `\"`"));
                }
                return Ok(());
            };
            if Some(b) == end {
                self.i += 1;
                // `""` is an empty word, not nothing.
                if parts.is_empty() {
                    parts.push(Part::Lit(String::new()));
                }
                return Ok(());
            }
            match b {
                b'\\' => {
                    let next = self.at(1);
                    match next {
                        Some(b'\n') => self.i += 2,
                        Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                            push_lit(parts, &(c as char).to_string());
                            self.i += 2;
                        }
                        _ => {
                            push_lit(parts, "\\");
                            self.i += 1;
                        }
                    }
                }
                b'$' | b'`' => self.dollar(parts)?,
                _ => {
                    let c = self.char_at(self.i);
                    push_lit(parts, &c);
                    self.i += c.len().max(1);
                }
            }
        }
    }

    /// `$'...'`: the escapes bash decodes; anything it would decode that we do not is
    /// dynamic (it could spell a command name).
    fn ansi_c(&mut self, parts: &mut Vec<Part>) -> R<()> {
        let mut out = String::new();
        let mut dynamic = false;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated `$'`"));
            };
            self.i += 1;
            match b {
                b'\'' => break,
                b'\\' => {
                    let Some(e) = self.peek() else { continue };
                    self.i += 1;
                    match e {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'\\' | b'\'' | b'"' | b'?' => out.push(e as char),
                        b'x' => {
                            let hex: String = self.s[self.i..]
                                .iter()
                                .take(2)
                                .take_while(|c| c.is_ascii_hexdigit())
                                .map(|&c| c as char)
                                .collect();
                            self.i += hex.len();
                            match u8::from_str_radix(&hex, 16) {
                                Ok(v) if v.is_ascii() => out.push(v as char),
                                _ => dynamic = true,
                            }
                        }
                        b'0'..=b'7' => {
                            let mut oct = String::from(e as char);
                            while oct.len() < 3
                                && self.peek().is_some_and(|c| (b'0'..=b'7').contains(&c))
                            {
                                oct.push(self.s[self.i] as char);
                                self.i += 1;
                            }
                            match u8::from_str_radix(&oct, 8) {
                                Ok(v) if v.is_ascii() => out.push(v as char),
                                _ => dynamic = true,
                            }
                        }
                        _ => dynamic = true,
                    }
                }
                _ => {
                    self.i -= 1;
                    let c = self.char_at(self.i);
                    out.push_str(&c);
                    self.i += c.len().max(1);
                }
            }
        }
        if dynamic {
            parts.push(Part::Dynamic(Vec::new()));
        } else {
            push_lit(parts, &out);
        }
        Ok(())
    }

    /// `$...` or a backquote at the cursor.
    fn dollar(&mut self, parts: &mut Vec<Part>) -> R<()> {
        if self.peek() == Some(b'`') {
            self.i += 1;
            let start = self.i;
            let mut text = Vec::new();
            loop {
                match self.peek() {
                    None => return Err(self.err("unterminated `` ` ``")),
                    Some(b'`') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\\') if matches!(self.at(1), Some(b'`' | b'\\' | b'$')) => {
                        text.push(self.s[self.i + 1]);
                        self.i += 2;
                    }
                    Some(c) => {
                        text.push(c);
                        self.i += 1;
                    }
                }
            }
            let inner = String::from_utf8_lossy(&text).into_owned();
            let mut script = parse(&inner).map_err(|e| ShellError {
                message: e.message,
                offset: start + e.offset,
            })?;
            shift_list(&mut script.body, start);
            parts.push(Part::Subst(script.body));
            return Ok(());
        }
        // At `$`.
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') => {
                let w = self.arith_text_at(1)?;
                parts.push(Part::Dynamic(substs_of(w)));
            }
            Some(b'(') => {
                self.i += 2;
                self.enter()?;
                let l = self.list(&[])?;
                self.depth -= 1;
                self.close_paren()?;
                parts.push(Part::Subst(l));
            }
            Some(b'{') => {
                self.i += 2;
                let start = self.i;
                let mut substs = Vec::new();
                let mut depth = 1usize;
                let mut inner = Vec::new();
                loop {
                    match self.peek() {
                        None => return Err(self.err("unterminated `${`")),
                        Some(b'}') => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                            self.i += 1;
                        }
                        Some(b'{') => {
                            depth += 1;
                            self.i += 1;
                        }
                        Some(b'$' | b'`') => {
                            let mut ps = Vec::new();
                            self.dollar(&mut ps)?;
                            for p in ps {
                                if let Part::Subst(l) | Part::ProcSubst(l) = p {
                                    substs.push(l);
                                } else if let Part::Dynamic(ls) = p {
                                    substs.extend(ls);
                                }
                            }
                            inner.push(b'$');
                        }
                        Some(b'\'') => {
                            let k = self.s[self.i + 1..].iter().position(|&c| c == b'\'');
                            self.i += k.map_or(self.s.len() - self.i, |k| k + 2);
                            inner.push(b'\'');
                        }
                        Some(b'\\') => {
                            self.i += 2;
                            inner.push(b'\\');
                        }
                        Some(c) => {
                            inner.push(c);
                            self.i += 1;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&inner).into_owned();
                let _ = start;
                let simple = is_name(&text)
                    || (text.len() == 1 && "?#@*$!-0123456789".contains(text.as_str()))
                    || text.strip_prefix("PIPESTATUS[").is_some_and(|r| {
                        r.strip_suffix(']')
                            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    });
                if simple && substs.is_empty() {
                    parts.push(Part::Var(text));
                } else {
                    parts.push(Part::Dynamic(substs));
                }
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                self.i += 1;
                let n = self.s[self.i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                let name = String::from_utf8_lossy(&self.s[self.i..self.i + n]).into_owned();
                self.i += n;
                parts.push(Part::Var(name));
            }
            Some(c) if b"?#@*$!-0123456789".contains(&c) => {
                self.i += 2;
                parts.push(Part::Var((c as char).to_string()));
            }
            _ => {
                self.i += 1;
                push_lit(parts, "$");
            }
        }
        Ok(())
    }

    /// `((...))` at the cursor: its substitutions, as a word.
    fn arith_text(&mut self) -> R<Word> {
        self.arith_text_at(0)
    }

    /// Arithmetic starting `skip` bytes after the cursor with `((`.
    fn arith_text_at(&mut self, skip: usize) -> R<Word> {
        let start = self.i;
        self.i += skip + 2;
        let mut depth = 0usize;
        let mut substs = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unterminated `((`")),
                Some(b')') if depth == 0 && self.at(1) == Some(b')') => {
                    self.i += 2;
                    break;
                }
                Some(b'(') => {
                    depth += 1;
                    self.i += 1;
                }
                Some(b')') => {
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                }
                Some(b'$' | b'`') => {
                    let mut ps = Vec::new();
                    self.dollar(&mut ps)?;
                    for p in ps {
                        match p {
                            Part::Subst(l) | Part::ProcSubst(l) => substs.push(l),
                            Part::Dynamic(ls) => substs.extend(ls),
                            _ => {}
                        }
                    }
                }
                Some(_) => self.i += 1,
            }
        }
        Ok(Word {
            parts: vec![Part::Dynamic(substs)],
            span: Span { start, end: self.i },
            glob: false,
        })
    }
}

fn push_lit(parts: &mut Vec<Part>, t: &str) {
    if let Some(Part::Lit(s)) = parts.last_mut() {
        s.push_str(t);
    } else {
        parts.push(Part::Lit(t.to_string()));
    }
}

/// The command substitutions inside a word.
fn substs_of(w: Word) -> Vec<List> {
    let mut out = Vec::new();
    for p in w.parts {
        match p {
            Part::Subst(l) | Part::ProcSubst(l) => out.push(l),
            Part::Dynamic(ls) => out.extend(ls),
            _ => {}
        }
    }
    out
}

/// Move every span of a list parsed from a substring by `by` bytes.
fn shift_list(l: &mut List, by: usize) {
    for item in &mut l.items {
        for p in std::iter::once(&mut item.first).chain(item.rest.iter_mut().map(|(_, p)| p)) {
            for c in &mut p.cmds {
                c.span.start += by;
                c.span.end += by;
            }
        }
    }
}
