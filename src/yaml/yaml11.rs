//! How a YAML 1.1 reader reads what the tree holds: PyYAML's `safe_load`, the platform's own
//! tooling. The tree is built by a YAML 1.2 parser, so wherever the two could differ this
//! module either resolves the node exactly as PyYAML does or reports a problem, so that the
//! readers of manifests and policies refuse instead of guessing.
//!
//! - [`resolve_plain`]: what an untagged plain scalar is to PyYAML (its implicit resolvers:
//!   `yes`/`on`/`no`/`off` booleans, `~` nulls, octal and sexagesimal numbers, dates, `<<`).
//! - [`document_problems`]: what makes PyYAML refuse a file, or read it differently, anywhere
//!   in it: line breaks YAML 1.2 does not know (U+0085, U+2028, U+2029), tabs (PyYAML refuses
//!   them outside quoted and block scalars; refused everywhere here), characters PyYAML
//!   refuses, a second document, an anchor defined twice or with a name PyYAML cannot scan,
//!   any tag but `!!str` on a scalar (PyYAML constructs or refuses tagged values its own way),
//!   a sequence or mapping used as a key, a plain `<<` that is not a well-formed merge, a plain
//!   `=`, and a date that does not exist.
//! - [`plain_data_problems`]: for files the gates read entirely (the policy): any merge key.
//!   In a manifest, merge keys are refused only in the mappings the gates read (`Fields`).
//!
//! The fields a reader takes are checked once more by `Problems` and `Fields` (tags, merge keys
//! and complex keys in the mappings the gates read).

use super::problems::Problems;
use super::{Document, Node, Pos, STR_TAG, Style, Value};

/// What PyYAML's implicit resolvers make of an untagged plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plain {
    Null,
    Bool(bool),
    Int,
    Float,
    Timestamp,
    /// `<<`, the merge key.
    Merge,
    /// `=`, which PyYAML's safe loader cannot construct.
    Value,
    Str,
}

impl Plain {
    /// What a reader would be told the value is.
    pub fn describe(self) -> &'static str {
        match self {
            Plain::Null => "null",
            Plain::Bool(true) => "the boolean true",
            Plain::Bool(false) => "the boolean false",
            Plain::Int => "a number",
            Plain::Float => "a floating-point number",
            Plain::Timestamp => "a date",
            Plain::Merge => "a merge key",
            Plain::Value => "the YAML 1.1 `=` value",
            Plain::Str => "a string",
        }
    }
}

/// Resolve an untagged plain scalar as PyYAML's `Resolver` does (YAML 1.1 implicit types).
pub fn resolve_plain(text: &str) -> Plain {
    let b = text.as_bytes();
    if b.is_empty() {
        return Plain::Null;
    }
    match text {
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Plain::Bool(true);
        }
        "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Plain::Bool(false);
        }
        "~" | "null" | "Null" | "NULL" => return Plain::Null,
        "<<" => return Plain::Merge,
        "=" => return Plain::Value,
        _ => {}
    }
    if is_float(b) {
        Plain::Float
    } else if is_int(b) {
        Plain::Int
    } else if timestamp_parts(b).is_some() {
        Plain::Timestamp
    } else {
        Plain::Str
    }
}

fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}

/// Length of the run at the start of `b` whose bytes satisfy `f`.
fn run(b: &[u8], f: impl Fn(u8) -> bool) -> usize {
    b.iter().take_while(|&&c| f(c)).count()
}

fn strip_sign(b: &[u8]) -> &[u8] {
    match b.first() {
        Some(b'-' | b'+') => &b[1..],
        _ => b,
    }
}

/// `(?::[0-5]?[0-9])+` at the start of `b`: how many bytes it takes, 0 when it does not match.
fn sexagesimal_groups(b: &[u8]) -> usize {
    let mut i = 0;
    while b.get(i) == Some(&b':') {
        let digits = run(&b[i + 1..], digit);
        let ok = digits == 1 || (digits == 2 && b[i + 1] <= b'5');
        if !ok {
            return 0;
        }
        i += 1 + digits;
    }
    i
}

/// `[eE][-+][0-9]+` at the start of `b`, or nothing: bytes taken, `None` for a broken one.
fn exponent(b: &[u8]) -> Option<usize> {
    match b.first() {
        None => Some(0),
        Some(b'e' | b'E') => {
            if !matches!(b.get(1), Some(b'-' | b'+')) {
                return None;
            }
            let n = run(&b[2..], digit);
            (n > 0).then_some(2 + n)
        }
        Some(_) => None,
    }
}

fn is_float(b: &[u8]) -> bool {
    let unsigned = strip_sign(b);
    let signed = unsigned.len() != b.len();
    // [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    if unsigned.first().copied().is_some_and(digit) {
        let int = run(unsigned, |c| digit(c) || c == b'_');
        let rest = &unsigned[int..];
        if rest.first() == Some(&b'.') {
            let frac = run(&rest[1..], |c| digit(c) || c == b'_');
            if exponent(&rest[1 + frac..]) == Some(rest.len() - 1 - frac) {
                return true;
            }
        }
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        let groups = sexagesimal_groups(rest);
        if groups > 0 && rest.get(groups) == Some(&b'.') {
            let tail = &rest[groups + 1..];
            if run(tail, |c| digit(c) || c == b'_') == tail.len() {
                return true;
            }
        }
    }
    // [-+]?\.(?:inf|Inf|INF)
    if matches!(unsigned, b".inf" | b".Inf" | b".INF") {
        return true;
    }
    if signed {
        return false;
    }
    // \.(?:nan|NaN|NAN) and \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    if matches!(b, b".nan" | b".NaN" | b".NAN") {
        return true;
    }
    if b.first() == Some(&b'.') && b.get(1).copied().is_some_and(digit) {
        let frac = run(&b[1..], |c| digit(c) || c == b'_');
        return exponent(&b[1 + frac..]) == Some(b.len() - 1 - frac);
    }
    false
}

fn is_int(b: &[u8]) -> bool {
    let s = strip_sign(b);
    let all = |rest: &[u8], f: &dyn Fn(u8) -> bool| !rest.is_empty() && rest.iter().all(|&c| f(c));
    if let Some(rest) = s.strip_prefix(b"0b")
        && all(rest, &|c| matches!(c, b'0' | b'1' | b'_'))
    {
        return true;
    }
    if let Some(rest) = s.strip_prefix(b"0x")
        && all(rest, &|c| c.is_ascii_hexdigit() || c == b'_')
    {
        return true;
    }
    if let Some(rest) = s.strip_prefix(b"0") {
        // `0` alone, or the octal `0[0-7_]+`.
        return rest.is_empty() || all(rest, &|c| matches!(c, b'0'..=b'7' | b'_'));
    }
    if !s.first().is_some_and(|c| matches!(c, b'1'..=b'9')) {
        return false;
    }
    let int = run(s, |c| digit(c) || c == b'_');
    int == s.len() || (int < s.len() && sexagesimal_groups(&s[int..]) == s.len() - int)
}

/// The fields of a plain scalar that PyYAML resolves to a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32)>,
    /// The offset in minutes, when one is written as `+hh[:mm]` or `-hh[:mm]`.
    offset_minutes: Option<u32>,
}

fn number(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'))
}

/// PyYAML's timestamp resolver, by hand:
/// `[0-9]{4}-[0-9]{2}-[0-9]{2}`, or `[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}` followed by `[Tt]` or
/// blanks, `[0-9]{1,2}:[0-9]{2}:[0-9]{2}`, an optional `.fraction` and an optional zone.
fn timestamp_parts(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 10 || run(b, digit) != 4 || b[4] != b'-' {
        return None;
    }
    let year = number(&b[..4]);
    let month_len = run(&b[5..], digit);
    if !(1..=2).contains(&month_len) || b.get(5 + month_len) != Some(&b'-') {
        return None;
    }
    let month = number(&b[5..5 + month_len]);
    let d0 = 6 + month_len;
    let day_len = run(&b[d0..], digit).min(3);
    if !(1..=2).contains(&day_len) {
        return None;
    }
    let day = number(&b[d0..d0 + day_len]);
    let mut rest = &b[d0 + day_len..];
    if rest.is_empty() {
        // The date-only form needs two-digit month and day.
        return (month_len == 2 && day_len == 2).then_some(Timestamp {
            year,
            month,
            day,
            time: None,
            offset_minutes: None,
        });
    }
    match rest[0] {
        b'T' | b't' => rest = &rest[1..],
        b' ' | b'\t' => rest = &rest[run(rest, |c| c == b' ' || c == b'\t')..],
        _ => return None,
    }
    let hour_len = run(rest, digit);
    if !(1..=2).contains(&hour_len)
        || rest.get(hour_len) != Some(&b':')
        || run(&rest[hour_len + 1..], digit) < 2
    {
        return None;
    }
    let hour = number(&rest[..hour_len]);
    let m0 = hour_len + 1;
    let minute = number(&rest[m0..m0 + 2]);
    if rest.get(m0 + 2) != Some(&b':') || run(&rest[m0 + 3..], digit) < 2 {
        return None;
    }
    let second = number(&rest[m0 + 3..m0 + 5]);
    rest = &rest[m0 + 5..];
    if rest.first() == Some(&b'.') {
        rest = &rest[1 + run(&rest[1..], digit)..];
    }
    rest = &rest[run(rest, |c| c == b' ' || c == b'\t')..];
    let mut offset_minutes = None;
    match rest {
        [] => {
            // A blank before nothing is not part of the pattern: `[ \t]*` must precede a zone.
            if b.last().is_some_and(|c| *c == b' ' || *c == b'\t') {
                return None;
            }
        }
        [b'Z'] => {}
        [b'-' | b'+', tail @ ..] => {
            let h = run(tail, digit);
            if !(1..=2).contains(&h) {
                return None;
            }
            let hours = number(&tail[..h]);
            let minutes = match &tail[h..] {
                [] => 0,
                [b':', m1, m2] if digit(*m1) && digit(*m2) => number(&[*m1, *m2]),
                _ => return None,
            };
            offset_minutes = Some(hours * 60 + minutes);
        }
        _ => return None,
    }
    Some(Timestamp {
        year,
        month,
        day,
        time: Some((hour, minute, second)),
        offset_minutes,
    })
}

/// Whether Python's `datetime` accepts the timestamp PyYAML builds from it.
fn timestamp_exists(t: Timestamp) -> bool {
    let leap =
        t.year.is_multiple_of(4) && (!t.year.is_multiple_of(100) || t.year.is_multiple_of(400));
    let days = match t.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    let date_ok = t.year >= 1 && (1..=days).contains(&t.day);
    let time_ok = t.time.is_none_or(|(h, m, s)| h <= 23 && m <= 59 && s <= 59);
    let zone_ok = t.offset_minutes.is_none_or(|m| m < 24 * 60);
    date_ok && time_ok && zone_ok
}

/// Every place where PyYAML would refuse the file or read it differently from the tree, in
/// the first document or in the stream as a whole.
pub fn document_problems(src: &str, doc: &Document, problems: &mut Problems) {
    characters(src, problems);
    if doc.document_count > 1 {
        problems.push(
            doc.second_document.unwrap_or_default(),
            format!(
                "the file holds {} YAML documents; it must be a single YAML document (YAML 1.1 readers refuse a stream, or read only one of them)",
                doc.document_count
            ),
        );
    }
    anchors(src, doc, problems);
    if let Some(root) = &doc.root {
        walk_entries(root, &mut |node, key_of| {
            node_problems(node, key_of, problems);
        });
    }
}

/// For a file the gates read entirely (the policy): no merge key anywhere.
pub fn plain_data_problems(doc: &Document, problems: &mut Problems) {
    let Some(root) = &doc.root else {
        return;
    };
    walk(root, &mut |node, is_key| {
        if is_key && is_merge_key(node) {
            problems.push_once(
                node.span.start,
                "a merge key (`<<`): YAML 1.1 readers merge its mapping in, the gates do not; write the keys out",
            );
        }
    });
}

/// A plain, untagged `<<`: the key YAML 1.1 readers merge mappings with.
pub fn is_merge_key(node: &Node) -> bool {
    node.tag.is_none()
        && matches!(&node.value, Value::Scalar { text, style: Style::Plain } if text == "<<")
}

/// `!!str` for `tag:yaml.org,2002:str`, `!name` for a local tag.
pub fn short_tag(tag: &str) -> String {
    match tag.strip_prefix("tag:yaml.org,2002:") {
        Some(suffix) => format!("!!{suffix}"),
        None if tag.starts_with('!') => tag.to_string(),
        None => format!("!<{tag}>"),
    }
}

/// Visit every node (keys too, with the value they key), without recursion.
fn walk<'a>(root: &'a Node, visit: &mut dyn FnMut(&'a Node, bool)) {
    walk_entries(root, &mut |node, key_of| visit(node, key_of.is_some()));
}

/// Like [`walk`], but a key comes with the value it keys.
fn walk_entries<'a>(root: &'a Node, visit: &mut dyn FnMut(&'a Node, Option<&'a Node>)) {
    let mut todo: Vec<(&Node, Option<&Node>)> = vec![(root, None)];
    while let Some((node, key_of)) = todo.pop() {
        visit(node, key_of);
        match &node.value {
            Value::Scalar { .. } => {}
            Value::Seq(items) => todo.extend(items.iter().rev().map(|n| (n, None))),
            Value::Map(entries) => {
                for (k, v) in entries.iter().rev() {
                    todo.push((v, None));
                    todo.push((k, Some(v)));
                }
            }
        }
    }
}

fn node_problems(node: &Node, key_of: Option<&Node>, problems: &mut Problems) {
    if let Some(tag) = &node.tag
        && !(tag == STR_TAG && matches!(node.value, Value::Scalar { .. }))
    {
        problems.push_once(
            node.span.start,
            format!(
                "the tag `{}`: YAML 1.1 readers construct (or refuse) a tagged value their own way, and the gates read no tag but `!!str` on text: remove it",
                short_tag(tag)
            ),
        );
    }
    if key_of.is_some() && !matches!(node.value, Value::Scalar { .. }) {
        problems.push_once(
            node.span.start,
            format!(
                "a {} used as a mapping key cannot be read by YAML 1.1 readers: use a plain string key",
                node.kind_name()
            ),
        );
    }
    if is_merge_key(node) {
        // PyYAML merges a mapping or a list of mappings, and refuses `<<` anywhere else.
        let well_formed = key_of.is_some_and(|value| match &value.value {
            Value::Map(_) => true,
            Value::Seq(items) => items.iter().all(|i| matches!(i.value, Value::Map(_))),
            Value::Scalar { .. } => false,
        });
        if !well_formed {
            problems.push_once(
                node.span.start,
                "a plain `<<` is a merge key to YAML 1.1 readers, and here it merges no mapping: quote it, or merge a mapping or a list of mappings",
            );
        }
        return;
    }
    if let Value::Scalar {
        text,
        style: Style::Plain,
    } = &node.value
        && node.tag.is_none()
    {
        // PyYAML's scanner cannot start a plain scalar with an indicator, nor with `?` or `:`
        // before a non-blank (it does in block context; it is refused everywhere here).
        let mut start = text.chars();
        let first = start.next();
        let second = start.next();
        let indicator = matches!(
            first,
            Some(
                '|' | '>'
                    | '!'
                    | '&'
                    | '*'
                    | '%'
                    | '@'
                    | '`'
                    | '\''
                    | '"'
                    | '#'
                    | ','
                    | '['
                    | ']'
                    | '{'
                    | '}'
            )
        ) || (matches!(first, Some('?' | ':'))
            && second.is_some_and(|c| !c.is_whitespace()));
        if indicator {
            problems.push_once(
                node.span.start,
                format!(
                    "`{}` starts with a character YAML 1.1 readers do not read as the start of plain text: quote it",
                    text.escape_debug()
                ),
            );
            return;
        }
        match resolve_plain(text) {
            Plain::Value => problems.push(
                node.span.start,
                "a plain `=` cannot be read by YAML 1.1 readers (it is their `value` type): quote it",
            ),
            Plain::Timestamp => {
                if let Some(t) = timestamp_parts(text.as_bytes())
                    && !timestamp_exists(t)
                {
                    problems.push(
                        node.span.start,
                        format!(
                            "`{}` is read as a date by YAML 1.1 readers, and there is no such date: quote it",
                            text.escape_debug()
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// Characters PyYAML reads as line breaks where YAML 1.2 does not, characters it refuses, and
/// tabs (PyYAML refuses a tab anywhere but in quoted text, block scalars and comments; telling
/// those apart needs a YAML 1.1 scanner, so every tab is refused, once per line).
fn characters(src: &str, problems: &mut Problems) {
    let mut line = 1usize;
    let mut col = 1usize;
    let mut tab_reported_on = 0usize;
    let mut chars = src.chars().enumerate().peekable();
    while let Some((offset, c)) = chars.next() {
        let pos = Pos { line, col, offset };
        match c {
            '\t' if tab_reported_on != line => {
                tab_reported_on = line;
                problems.push(
                    pos,
                    "a tab: YAML 1.1 readers refuse tabs outside quoted text and block scalars; indent and separate with spaces (in text, write \\t in double quotes)",
                );
            }
            '\u{85}' | '\u{2028}' | '\u{2029}' => problems.push(
                pos,
                format!(
                    "U+{:04X} is a line break to YAML 1.1 readers and not to YAML 1.2 ones, so the two read different keys here: remove it",
                    c as u32
                ),
            ),
            '\t' | '\n' | '\r' | ' '..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}' => {}
            _ => problems.push(
                pos,
                format!(
                    "U+{:04X} is a character YAML 1.1 readers refuse: remove it",
                    c as u32
                ),
            ),
        }
        match c {
            '\n' => {
                line += 1;
                col = 1;
            }
            '\r' if chars.peek().map(|(_, n)| *n) != Some('\n') => {
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
    }
}

/// An anchor defined twice (PyYAML refuses the file; a YAML 1.2 parser lets the last win), or
/// named with characters PyYAML's scanner does not accept (letters, digits, `-` and `_`).
fn anchors(src: &str, doc: &Document, problems: &mut Problems) {
    if doc.anchors.is_empty() {
        return;
    }
    // The parser counts characters; find each anchor's byte offset in one pass.
    let mut wanted: Vec<usize> = doc.anchors.iter().map(|p| p.offset).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut bytes_at = std::collections::HashMap::new();
    let mut next = wanted.iter().peekable();
    for (chars, (byte, _)) in src.char_indices().enumerate() {
        while next.peek().is_some_and(|&&w| w == chars) {
            bytes_at.insert(chars, byte);
            next.next();
        }
        if next.peek().is_none() {
            break;
        }
    }
    let mut seen: std::collections::HashMap<&str, Pos> = std::collections::HashMap::new();
    for pos in &doc.anchors {
        let name = bytes_at
            .get(&pos.offset)
            .and_then(|&b| anchor_name(&src[b..]));
        let Some(name) = name else {
            problems.push(
                *pos,
                "an anchor whose name cannot be read here: write `&name` before any tag, on the line of its node",
            );
            continue;
        };
        if !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            problems.push(
                *pos,
                format!(
                    "the anchor `{}` has characters YAML 1.1 readers refuse in a name: use letters, digits, `-` and `_`",
                    name.escape_debug()
                ),
            );
        }
        if let Some(first) = seen.get(name) {
            problems.push(
                *pos,
                format!(
                    "the anchor `{}` is defined again (first at line {}); YAML 1.1 readers refuse that, YAML 1.2 ones use the last: rename one",
                    name.escape_debug(),
                    first.line
                ),
            );
        } else {
            seen.insert(name, *pos);
        }
    }
}

/// The name of the anchor at the start of `text` (`&name`), possibly after a tag.
fn anchor_name(text: &str) -> Option<&str> {
    let ends = |c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '{' | '}');
    let mut rest = text;
    if rest.starts_with('!') {
        let tag_end = rest.find(ends).unwrap_or(rest.len());
        rest = rest[tag_end..].trim_start_matches([' ', '\t']);
    }
    let name = rest.strip_prefix('&')?;
    let end = name.find(ends).unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn plain_scalars_resolve_as_pyyaml_resolves_them() {
        let cases: &[(&str, Plain)] = &[
            ("", Plain::Null),
            ("~", Plain::Null),
            ("Null", Plain::Null),
            ("nULL", Plain::Str),
            ("yes", Plain::Bool(true)),
            ("On", Plain::Bool(true)),
            ("OFF", Plain::Bool(false)),
            ("oFF", Plain::Str),
            ("y", Plain::Str),
            ("n", Plain::Str),
            ("0", Plain::Int),
            ("010", Plain::Int),
            ("0_7", Plain::Int),
            ("08", Plain::Str),
            ("0b101", Plain::Int),
            ("0o10", Plain::Str),
            ("0x1F", Plain::Int),
            ("+12_3", Plain::Int),
            ("1:30", Plain::Int),
            ("1:60", Plain::Str),
            ("1:5:07", Plain::Int),
            ("01:30", Plain::Str),
            ("1e3", Plain::Str),
            ("1.0e+3", Plain::Float),
            ("1.0e3", Plain::Str),
            ("1.", Plain::Float),
            (".5", Plain::Float),
            ("-.5", Plain::Str),
            ("+.inf", Plain::Float),
            (".NaN", Plain::Float),
            ("-.nan", Plain::Str),
            ("1:30.5", Plain::Float),
            ("2026-05-17", Plain::Timestamp),
            ("2026-5-17", Plain::Str),
            ("2026-5-7 1:02:03", Plain::Timestamp),
            ("2001-12-14t21:59:43.10-05:00", Plain::Timestamp),
            ("2001-12-14 21:59:43.10 -5", Plain::Timestamp),
            ("2001-12-14 21:59:43.10 Z", Plain::Timestamp),
            ("2001-12-14 21:59:43 ", Plain::Str),
            ("<<", Plain::Merge),
            ("=", Plain::Value),
            ("stateless", Plain::Str),
            ("runbook.md#restore", Plain::Str),
            ("minio-init", Plain::Str),
        ];
        for (text, want) in cases {
            assert_eq!(resolve_plain(text), *want, "{text:?}");
        }
    }

    fn problems_of(src: &str) -> Vec<String> {
        let doc = parse(src).unwrap();
        let mut p = Problems::default();
        document_problems(src, &doc, &mut p);
        p.items
            .iter()
            .map(|i| format!("{}:{} {}", i.pos.line, i.pos.col, i.message))
            .collect()
    }

    #[test]
    fn a_redefined_anchor_is_found_after_non_ascii_text() {
        let found = problems_of("é: ü\na: &x 1\nb: !!str &x 2\nc: *x\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("3:4 the anchor `x`"), "{found:?}");
    }

    #[test]
    fn anchor_names_pyyaml_cannot_scan_are_found() {
        let found = problems_of("a: &x.y 1\nb: *x.y\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("`x.y`"), "{found:?}");
        assert!(problems_of("a: &x-1_B {k: v}\nb: *x-1_B\n").is_empty());
    }

    #[test]
    fn tags_keys_and_dates_pyyaml_refuses_are_found() {
        assert!(problems_of("a: !!str x\n!!str b: y\n").is_empty());
        assert_eq!(
            problems_of("a: !!int 3\nc: !!set {x}\nd: !!str [x]\n").len(),
            3
        );
        let found = problems_of("a: !foo x\n? [k]\n: v\nd: 2026-02-30\ne: =\nf: <<\ng: \"<<\"\n");
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(found[4].starts_with("6:4 a plain `<<`"), "{found:?}");
        assert!(found[0].starts_with("1:4 the tag `!foo`"), "{found:?}");
        assert!(found[1].starts_with("2:3 a sequence used as a mapping key"));
        assert!(found[2].contains("no such date"), "{found:?}");
        assert!(found[3].contains("`=`"), "{found:?}");
    }

    #[test]
    fn verbatim_and_directive_tags_resolve_to_the_same_tag() {
        let doc =
            parse("%TAG !e! tag:yaml.org,2002:\n---\na: !e!str x\nb: !<tag:yaml.org,2002:str> y\n")
                .unwrap();
        let root = doc.root.unwrap();
        assert_eq!(root.get("a").unwrap().tag.as_deref(), Some(STR_TAG));
        assert_eq!(root.get("b").unwrap().tag.as_deref(), Some(STR_TAG));
    }

    #[test]
    fn line_breaks_yaml_1_2_does_not_know_are_found() {
        let found = problems_of("a: x # c\u{2028}b: y\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("1:9 U+2028"), "{found:?}");
        assert_eq!(problems_of("a: \u{1}\n").len(), 1);
    }

    #[test]
    fn a_second_document_is_found_where_it_starts() {
        let found = problems_of("a: 1\n---\nb: 2\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("2:"), "{found:?}");
        assert!(problems_of("a: 1\n...\n").is_empty());
    }
}
