//! The structure of a `pg_dumpall` script, as psql reads it when it restores one: which bytes
//! are SQL, which are inside a string, a quoted name, a dollar-quoted body or a comment,
//! which lines are psql's own commands (`\connect`, `\restrict`, `\unrestrict`), and which
//! are the rows of a `COPY ... FROM stdin`, up to the `\.` that ends them.
//!
//! The completion check needs it: the last lines of a dump say it is complete only where they
//! are what pg_dumpall wrote, not the content of a table's rows or of a function's body that
//! happens to spell them, at the point where a failing dump was cut. A script that ends inside
//! any of those, or in the middle of a statement, was cut.
//!
//! The lexical rules are psql's (`psqlscan.l`) for what pg_dump writes: `--` and nested
//! `/* */` comments; `'...'` strings with `''` for a quote, and backslash escapes in `E'...'`
//! strings and, where `SET standard_conforming_strings = off;` says so, in every string;
//! `"..."` names with `""`; `$tag$ ... $tag$` bodies; a backslash outside all of those starts
//! a psql command that runs to the end of its line; a statement `COPY ... FROM stdin;` is
//! followed by rows up to a line `\.`.

use super::Refusal;
use memchr::memmem;

/// The longest psql command line kept (pg_dumpall's are a name or a key of 64 characters).
const MAX_COMMAND: usize = 4096;
/// A dollar-quote tag is a name: at most 63 bytes in PostgreSQL.
const MAX_TAG: usize = 64;
/// The bytes of a statement kept at each end, to tell a `COPY ... FROM stdin`.
const KEPT: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// SQL outside any quote or comment.
    Sql,
    /// After a `-` in SQL: a comment if another follows.
    Dash,
    /// After a `/` in SQL: a comment if `*` follows.
    Slash,
    /// A `--` comment, to the end of the line.
    LineComment,
    /// A `/* */` comment, nested `depth` deep; `star`/`slash`: the last byte was one.
    BlockComment { depth: u32, star: bool, slash: bool },
    /// A string; `escapes`: backslash escapes apply; `quote`: a `'` was just read (it ends
    /// the string unless another follows); `backslash`: the next byte is escaped.
    Str {
        escapes: bool,
        quote: bool,
        backslash: bool,
    },
    /// A quoted name; `quote`: a `"` was just read.
    Name { quote: bool },
    /// After a `$` that may open a dollar quote: the tag read so far.
    DollarTag(Vec<u8>),
    /// Inside a dollar-quoted body: looking for `$tag$`; `held`: how many of its bytes the
    /// last chunk ended with.
    Dollar { delimiter: Vec<u8>, held: usize },
    /// A psql command line, from its backslash to the end of the line.
    Command(Vec<u8>),
    /// After a `COPY ... FROM stdin;`: the rest of its line (spaces only).
    CopyLine,
    /// The rows of a COPY; `tail`: the last bytes read (at most 3), the newline before the
    /// first row included.
    CopyRows { tail: Vec<u8> },
}

/// What the script ended with.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Ended {
    /// The key of the last `\restrict` command, if any.
    pub restrict_key: Option<Vec<u8>>,
    /// The last psql command line (without its backslash), if any.
    pub last_command: Option<Vec<u8>>,
    /// Whether a statement ended after that command (or, without one, at all).
    pub statement_after_last_command: bool,
}

pub(super) struct Scanner {
    state: State,
    /// Identifier bytes right before this point (an `E` or `$` after one is part of a name).
    ident: usize,
    /// The last byte in SQL, for an `E'` prefix.
    last: u8,
    /// Whether the current statement holds anything but spaces and comments yet.
    in_statement: bool,
    head: Vec<u8>,
    tail: Vec<u8>,
    /// `standard_conforming_strings`, as the script last set it (on unless it says off).
    standard_strings: bool,
    ended: Ended,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_tag_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_tag(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner {
            state: State::Sql,
            ident: 0,
            last: b'\n',
            in_statement: false,
            head: Vec::new(),
            tail: Vec::new(),
            standard_strings: true,
            ended: Ended::default(),
        }
    }

    /// Read the next bytes of the script.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while !bytes.is_empty() {
            bytes = match &mut self.state {
                // The bulk of a dump: rows and bodies are searched, not stepped through.
                State::CopyRows { .. } => self.copy_rows(bytes),
                State::Dollar { .. } => self.dollar_body(bytes),
                _ => {
                    self.step(bytes[0])?;
                    &bytes[1..]
                }
            };
        }
        Ok(())
    }

    /// The script ends here: where it stands must be between statements.
    pub fn finish(mut self) -> Result<Ended, Refusal> {
        // A `-` or `/` at the very end is SQL, and a line comment ends with the script.
        match self.state {
            State::Dash | State::Slash => {
                self.in_statement = true;
                self.state = State::Sql;
            }
            State::LineComment => self.state = State::Sql,
            _ => {}
        }
        let cut = |what: &str| {
            Err(Refusal::incomplete(format!(
                "the dump ends {what}: it stopped part-way"
            )))
        };
        match self.state {
            State::Sql if self.in_statement => cut("in the middle of a statement"),
            State::Sql => Ok(self.ended),
            State::CopyLine | State::CopyRows { .. } => {
                cut("inside a table's rows (a COPY without its closing `\\.`)")
            }
            State::Str { .. } | State::Name { .. } => cut("inside a quoted string or name"),
            State::DollarTag(_) | State::Dollar { .. } => cut("inside a dollar-quoted body"),
            State::BlockComment { .. } => cut("inside a /* */ comment"),
            State::Command(_) => cut("inside a psql command line"),
            State::Dash | State::Slash | State::LineComment => cut("inside a comment"),
        }
    }

    fn sql_byte(&mut self, b: u8) {
        if b.is_ascii_whitespace() && !self.in_statement {
            return;
        }
        self.in_statement = true;
        if self.head.len() < KEPT {
            self.head.push(b);
        }
        self.tail.push(b);
        if self.tail.len() > KEPT {
            self.tail.remove(0);
        }
    }

    fn step(&mut self, b: u8) -> Result<(), Refusal> {
        match &mut self.state {
            State::Sql => self.sql(b)?,
            State::Dash if b == b'-' => self.state = State::LineComment,
            State::Slash if b == b'*' => {
                self.state = State::BlockComment {
                    depth: 1,
                    star: false,
                    slash: false,
                };
            }
            State::Dash => self.held_back(b'-', b)?,
            State::Slash => self.held_back(b'/', b)?,
            State::LineComment => {
                if b == b'\n' {
                    self.state = State::Sql;
                }
            }
            State::BlockComment { depth, star, slash } => {
                if *star && b == b'/' {
                    *depth -= 1;
                    *star = false;
                    if *depth == 0 {
                        self.state = State::Sql;
                        // A comment separates tokens.
                        self.ident = 0;
                        self.last = b' ';
                    }
                } else if *slash && b == b'*' {
                    *depth = depth
                        .checked_add(1)
                        .ok_or_else(|| Refusal::format("comments nested too deep"))?;
                    *slash = false;
                } else {
                    *star = b == b'*';
                    *slash = b == b'/';
                }
            }
            State::Str {
                escapes,
                quote,
                backslash,
            } => {
                if *quote {
                    if b == b'\'' {
                        // `''`: a quote inside the string.
                        *quote = false;
                        self.sql_byte(b'\'');
                    } else {
                        self.state = State::Sql;
                        self.ident = 0;
                        self.last = b'\'';
                        self.sql(b)?;
                    }
                } else if *backslash {
                    *backslash = false;
                } else if b == b'\\' && *escapes {
                    *backslash = true;
                } else if b == b'\'' {
                    *quote = true;
                    self.sql_byte(b'\'');
                }
            }
            State::Name { quote } => {
                if *quote {
                    if b == b'"' {
                        *quote = false;
                    } else {
                        self.state = State::Sql;
                        self.ident = 0;
                        self.last = b'"';
                        self.sql(b)?;
                    }
                } else if b == b'"' {
                    *quote = true;
                    self.sql_byte(b'"');
                }
            }
            State::DollarTag(tag) => {
                if b == b'$' {
                    let mut delimiter = Vec::with_capacity(tag.len() + 2);
                    delimiter.push(b'$');
                    delimiter.extend_from_slice(tag);
                    delimiter.push(b'$');
                    self.state = State::Dollar { delimiter, held: 0 };
                } else if (tag.is_empty() && is_tag_start(b)) || (!tag.is_empty() && is_tag(b)) {
                    if tag.len() >= MAX_TAG {
                        return Err(Refusal::format(
                            "a dollar-quote tag is longer than PostgreSQL allows",
                        ));
                    }
                    tag.push(b);
                } else {
                    // Not a dollar quote (`$1`, or a name's `$`): what was read is SQL.
                    let tag = std::mem::take(tag);
                    self.state = State::Sql;
                    self.sql_byte(b'$');
                    for t in tag {
                        self.sql_byte(t);
                    }
                    self.ident = 1;
                    self.last = b'$';
                    self.sql(b)?;
                }
            }
            State::Command(line) => {
                if b == b'\n' {
                    let line = std::mem::take(line);
                    self.command(line);
                    self.state = State::Sql;
                    self.ident = 0;
                    self.last = b'\n';
                } else {
                    if line.len() >= MAX_COMMAND {
                        return Err(Refusal::format(
                            "a psql command line is longer than any pg_dumpall writes",
                        ));
                    }
                    line.push(b);
                }
            }
            State::CopyLine => {
                if b == b'\n' {
                    self.state = State::CopyRows { tail: vec![b'\n'] };
                } else if !b.is_ascii_whitespace() {
                    return Err(Refusal::format(
                        "text follows `COPY ... FROM stdin;` on its line, where psql's rows begin on the next",
                    ));
                }
            }
            // Searched in `feed`, never stepped through: refused rather than guessed at.
            State::Dollar { .. } | State::CopyRows { .. } => {
                return Err(Refusal::format(
                    "the script reader lost its place (a body or COPY rows read byte by byte)",
                ));
            }
        }
        Ok(())
    }

    /// `held` (a `-` or `/` that did not open a comment) was SQL after all; then `b`.
    fn held_back(&mut self, held: u8, b: u8) -> Result<(), Refusal> {
        self.state = State::Sql;
        self.sql_byte(held);
        self.ident = 0;
        self.last = held;
        self.sql(b)
    }

    fn sql(&mut self, b: u8) -> Result<(), Refusal> {
        match b {
            b'-' => self.state = State::Dash,
            b'/' => self.state = State::Slash,
            b'\'' => {
                let prefixed = self.ident == 1 && matches!(self.last, b'e' | b'E');
                self.state = State::Str {
                    escapes: prefixed || !self.standard_strings,
                    quote: false,
                    backslash: false,
                };
                self.sql_byte(b'\'');
            }
            b'"' => {
                self.state = State::Name { quote: false };
                self.sql_byte(b'"');
            }
            b'$' if self.ident == 0 => self.state = State::DollarTag(Vec::new()),
            b'\\' => self.state = State::Command(Vec::new()),
            b';' => self.statement_end(),
            _ => {
                self.sql_byte(b);
                self.ident = if is_ident(b) { self.ident + 1 } else { 0 };
                self.last = b;
                return Ok(());
            }
        }
        self.ident = 0;
        self.last = b;
        Ok(())
    }

    fn statement_end(&mut self) {
        let head = self.head.to_ascii_uppercase();
        let tail = self.tail.to_ascii_uppercase();
        let copy_in = head.starts_with(b"COPY")
            && head.get(4).is_some_and(u8::is_ascii_whitespace)
            && tail.ends_with(b"FROM STDIN")
            && tail
                .len()
                .checked_sub(11)
                .and_then(|i| tail.get(i))
                .is_some_and(u8::is_ascii_whitespace);
        // `SET standard_conforming_strings = on|off` changes how psql reads later strings.
        if head.starts_with(b"SET STANDARD_CON") {
            if tail.ends_with(b"= OFF") || tail.ends_with(b"TO OFF") {
                self.standard_strings = false;
            } else if tail.ends_with(b"= ON") || tail.ends_with(b"TO ON") {
                self.standard_strings = true;
            }
        }
        self.in_statement = false;
        self.ended.statement_after_last_command = true;
        self.head.clear();
        self.tail.clear();
        if copy_in {
            self.state = State::CopyLine;
        }
    }

    fn command(&mut self, line: Vec<u8>) {
        if let Some(key) = line.strip_prefix(b"restrict ") {
            self.ended.restrict_key = Some(key.to_vec());
        }
        // `\connect` starts a new session: the server's default (on) applies again.
        if line.starts_with(b"connect ") || line.starts_with(b"c ") {
            self.standard_strings = true;
        }
        self.ended.last_command = Some(line);
        self.ended.statement_after_last_command = false;
    }

    /// Rows up to the line `\.` (COPY doubles every backslash in a row, so no row is one):
    /// searched for as `\n\.\n`, across the chunks.
    fn copy_rows<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        const END: &[u8] = b"\n\\.\n";
        let State::CopyRows { tail } = &mut self.state else {
            return bytes;
        };
        // A marker that begins in the bytes kept from the last chunk.
        let mut joined = tail.clone();
        joined.extend_from_slice(&bytes[..bytes.len().min(END.len() - 1)]);
        let found = memmem::find(&joined, END)
            .map(|i| i + END.len() - tail.len())
            .or_else(|| memmem::find(bytes, END).map(|i| i + END.len()));
        if let Some(after) = found {
            self.state = State::Sql;
            self.ident = 0;
            self.last = b'\n';
            return &bytes[after..];
        }
        // Keep the last three bytes read (of this chunk, or of the last one and this one).
        if bytes.len() >= END.len() - 1 {
            *tail = bytes[bytes.len() - (END.len() - 1)..].to_vec();
        } else {
            let keep = joined.len().saturating_sub(END.len() - 1);
            *tail = joined.split_off(keep);
        }
        &[]
    }

    /// A dollar-quoted body up to its `$tag$`.
    fn dollar_body<'b>(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        let State::Dollar { delimiter, held } = &mut self.state else {
            return bytes;
        };
        // The delimiter's first `held` bytes ended the last chunk: does this one finish it?
        while *held > 0 {
            let need = &delimiter[*held..];
            let n = need.len().min(bytes.len());
            if bytes[..n] == need[..n] {
                if n == need.len() {
                    let rest = &bytes[n..];
                    self.close_dollar();
                    return rest;
                }
                *held += n;
                return &[];
            }
            // Not it: the body may still end with a shorter part of the delimiter. Only the
            // bytes held are known here; each later start among them is a `$`.
            let held_bytes = delimiter[..*held].to_vec();
            *held = (1..held_bytes.len())
                .find(|&s| delimiter.starts_with(&held_bytes[s..]))
                .map_or(0, |s| held_bytes.len() - s);
        }
        if let Some(i) = memmem::find(bytes, delimiter) {
            let rest = &bytes[i + delimiter.len()..];
            self.close_dollar();
            return rest;
        }
        // The longest end of this chunk that begins the delimiter.
        let keep = (1..delimiter.len().min(bytes.len() + 1))
            .rev()
            .find(|&k| bytes.ends_with(&delimiter[..k]))
            .unwrap_or(0);
        *held = keep;
        &[]
    }

    fn close_dollar(&mut self) {
        self.state = State::Sql;
        self.sql_byte(b'$');
        self.ident = 0;
        self.last = b'$';
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scan `text` fed in pieces of `piece` bytes.
    fn scan(text: &[u8], piece: usize) -> Result<Ended, Refusal> {
        let mut s = Scanner::new();
        for chunk in text.chunks(piece.max(1)) {
            s.feed(chunk)?;
        }
        s.finish()
    }

    fn every_split(text: &[u8]) -> Result<Ended, String> {
        let whole = scan(text, text.len()).map_err(|r| r.message);
        for piece in 1..8 {
            assert_eq!(
                scan(text, piece).map_err(|r| r.message),
                whole,
                "fed {piece} bytes at a time"
            );
        }
        whole
    }

    #[test]
    fn statements_rows_and_commands_end_where_psql_ends_them() {
        let text = b"SET standard_conforming_strings = on;\n\\restrict K1\n\
            CREATE TABLE t (a text);\nCOPY public.t (a) FROM stdin;\n--\n-- x\n\\\\.\n\\.\n\
            \\unrestrict K1\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";
        let ended = every_split(text).unwrap();
        assert_eq!(ended.restrict_key.as_deref(), Some(&b"K1"[..]));
        assert_eq!(ended.last_command.as_deref(), Some(&b"unrestrict K1"[..]));
    }

    #[test]
    fn a_dump_cut_inside_rows_that_spell_the_end_is_cut() {
        let text = b"COPY public.t (a) FROM stdin;\n\\\\unrestrict K\n\n--\n-- PostgreSQL database cluster dump complete\n--\n";
        let err = every_split(text).unwrap_err();
        assert!(err.contains("inside a table's rows"), "{err}");
    }

    #[test]
    fn lines_inside_strings_bodies_and_names_are_not_commands() {
        for text in [
            &b"COMMENT ON TABLE t IS 'a\n\\unrestrict K\n--\n';\n"[..],
            b"COMMENT ON TABLE t IS 'it''s\n\\unrestrict K\n';\n",
            b"COMMENT ON TABLE t IS E'\\'\n\\unrestrict K\n';\n",
            b"CREATE FUNCTION f() RETURNS int AS $_$\n\\unrestrict K\n'$_$ LANGUAGE sql;\n",
            b"CREATE FUNCTION f() RETURNS int AS $a$ $b$ $a $a$ LANGUAGE sql;\n",
            b"CREATE TABLE \"x\n\\unrestrict K\n\"\"\" (a int);\n",
            b"/* a /* nested\n\\unrestrict K\n*/ still */ SELECT 1;\n",
        ] {
            let ended = every_split(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            assert_eq!(
                ended.last_command,
                None,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn a_script_that_stops_inside_any_quote_or_statement_is_cut() {
        for text in [
            &b"COMMENT ON TABLE t IS 'a\n\\unrestrict K\n\n--\n-- PostgreSQL database cluster dump complete\n--\n"[..],
            b"CREATE FUNCTION f() AS $$\n--\n-- PostgreSQL database cluster dump complete\n--\n",
            b"CREATE FUNCTION f() AS $body$ $$ \n--\n",
            b"CREATE TABLE \"t\n--\n",
            b"/* \n--\n-- PostgreSQL database cluster dump complete\n--\n",
            b"CREATE TABLE t (\n--\n-- PostgreSQL database cluster dump complete\n--\n",
            b"COPY t (a) FROM stdin;\n1\n",
            b"\\unrestrict K",
        ] {
            assert!(every_split(text).is_err(), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn backslashes_escape_only_in_e_strings_or_without_standard_strings() {
        // Standard strings: the backslash is a byte, the second quote ends the string.
        assert!(every_split(b"SELECT 'a\\';\n").is_ok());
        // An E string: `\'` is a quote inside it, the string goes on.
        assert!(every_split(b"SELECT E'a\\';\n").is_err());
        // A name ending in e is no E prefix.
        assert!(every_split(b"SELECT somee'a\\';\n").is_ok());
        // After `SET standard_conforming_strings = off;` every string escapes.
        assert!(every_split(b"SET standard_conforming_strings = off;\nSELECT 'a\\';\n").is_err());
        assert!(
            every_split(b"SET standard_conforming_strings = off;\n\\connect x\nSELECT 'a\\';\n")
                .is_ok()
        );
    }

    #[test]
    fn a_lone_dash_or_slash_is_sql_not_a_comment() {
        let ended = every_split(b"SELECT 1-1, 4/2, 3 - -1;\n\\unrestrict K\n").unwrap();
        assert_eq!(ended.last_command.as_deref(), Some(&b"unrestrict K"[..]));
        // Ending on one: a statement left open.
        assert!(every_split(b"SELECT 1 -").is_err());
        assert!(every_split(b"SELECT 1 /").is_err());
    }

    #[test]
    fn dollars_in_names_and_parameters_open_no_body() {
        let ended = every_split(b"SELECT a$b, $1 FROM t;\n\\unrestrict K\n").unwrap();
        assert_eq!(ended.last_command.as_deref(), Some(&b"unrestrict K"[..]));
    }

    #[test]
    fn only_copy_from_stdin_statements_have_rows() {
        // COPY to a file has no rows; the `\.` after it would be a command.
        let ended = every_split(b"COPY t TO '/x FROM stdin';\n\\unrestrict K\n").unwrap();
        assert_eq!(ended.last_command.as_deref(), Some(&b"unrestrict K"[..]));
        assert!(every_split(b"copy t from STDIN;\n\\unrestrict K\n").is_err());
        assert!(every_split(b"COPY t FROM stdin; SELECT 1;\n\\.\n").is_err());
    }
}
