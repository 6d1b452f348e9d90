//! The baseline file: findings accepted once (`--write-baseline FILE`) and not reported again
//! (`--baseline FILE`), so that a repository can adopt the linter, or a new rule, without
//! fixing every old finding first, while every new finding is still reported.
//!
//! An entry is keyed by rule, path and a fingerprint of the finding's code: the text of its
//! line (trimmed) and the part underlined, never the line number, so that an edit elsewhere in
//! the file does not invalidate it. Identical code twice (two jobs with the same unpinned
//! `uses:` line) is one entry with a count: a third copy is reported. The file is YAML, one
//! flow mapping per line, sorted, so that a rewrite shows as a small diff.
use super::UNSUPPRESSIBLE;
use crate::digest::sha256_hex;
use crate::lint::Finding;
use crate::report::{Code, GateError, InputDigest, code::code, renamed};
use crate::yaml::{Fields, Pos, Problems};
use std::collections::BTreeMap;
use std::path::Path;

code!(
    BASELINE_INVALID,
    "lint.baseline_invalid",
    Error,
    "The --baseline file is not a baseline this linter wrote; every problem is listed with its line.",
    "Fix the listed lines, or write the file again with `lint_workflows --write-baseline FILE`."
);

/// A baseline larger than this is refused (a line per finding: far more than any repository).
pub const MAX_BASELINE_BYTES: u64 = 16 * 1024 * 1024;

/// Hex digits kept from the fingerprint's SHA-256.
const FINGERPRINT_LEN: usize = 16;

/// What identifies a recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub path: String,
    pub rule: String,
    pub fingerprint: String,
}

/// One entry of a baseline file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Key,
    pub count: usize,
    /// The message when it was recorded: for the reader, never compared.
    pub message: String,
    /// Where the entry is in the baseline file (unused entries are reported there).
    pub pos: Pos,
    /// The rule as written when it is an old spelling of `key.rule`
    /// ([`crate::report::renamed`]): the fingerprint was made with that spelling.
    pub renamed_from: Option<String>,
}

/// A baseline read from a file.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// How the file is shown in findings.
    pub file: String,
    pub text: String,
    pub digest: InputDigest,
    pub entries: Vec<Entry>,
    index: BTreeMap<Key, usize>,
    /// Whether any entry names its rule in an old spelling (then a finding is also looked up
    /// by the fingerprint that spelling gives).
    any_renamed: bool,
}

impl Baseline {
    /// The entry recorded for `key`, by index into `entries`.
    pub fn find(&self, key: &Key) -> Option<usize> {
        self.index.get(key).copied()
    }

    /// The entry recorded for `finding` (whose key is `key`, on line text `line`): by its key,
    /// or else an entry written under an old spelling of the finding's rule, whose fingerprint
    /// that spelling made (a baseline written before the rename still holds).
    pub fn find_finding(&self, key: &Key, finding: &Finding, line: &str) -> Option<usize> {
        if let Some(i) = self.find(key) {
            return Some(i);
        }
        if !self.any_renamed {
            return None;
        }
        renamed::old_spellings_of(finding.code.id).find_map(|old| {
            let old_key = Key {
                fingerprint: fingerprint(old, line, finding.col, finding.len),
                ..key.clone()
            };
            self.find(&old_key)
                .filter(|&i| self.entries[i].renamed_from.as_deref() == Some(old))
        })
    }
}

/// The fingerprint of a finding in `text`: its rule, the text of its line without the
/// indentation and trailing blanks, and the characters it underlines.
pub fn fingerprint(rule: &str, line_text: &str, col: usize, len: usize) -> String {
    let underlined: String = line_text
        .chars()
        .skip(col.saturating_sub(1))
        .take(len)
        .collect();
    let material = format!("{rule}\n{}\n{underlined}", line_text.trim());
    sha256_hex(material.as_bytes())[..FINGERPRINT_LEN].to_string()
}

/// The key of `finding`, found in the file at `path` whose lines are `lines`.
pub fn key_of(finding: &Finding, path: &str, lines: &[&str]) -> Key {
    let line = lines
        .get(finding.line.wrapping_sub(1))
        .copied()
        .unwrap_or("");
    Key {
        path: path.to_string(),
        rule: finding.code.id.to_string(),
        fingerprint: fingerprint(finding.code.id, line, finding.col, finding.len),
    }
}

/// Read and check a baseline file. Anything this build would not write is refused (exit 2)
/// with every problem at its line: a baseline that is read differently than meant could hide
/// a finding.
pub fn load(path: &Path, known: &[&Code]) -> Result<Baseline, GateError> {
    let bytes = crate::input::read_limited(path, MAX_BASELINE_BYTES, "baseline")?;
    let file = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| {
        GateError::new(
            &BASELINE_INVALID,
            format!("{file}: the baseline is not UTF-8 text"),
        )
    })?;
    let digest = InputDigest::of("baseline", file.clone(), text.as_bytes());
    let entries = parse(&text, &file, known)?;
    let any_renamed = entries.iter().any(|e| e.renamed_from.is_some());
    let index = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.key.clone(), i))
        .collect();
    Ok(Baseline {
        file,
        text,
        digest,
        entries,
        index,
        any_renamed,
    })
}

const TOP_KEYS: &[&str] = &["version", "findings"];
const ENTRY_KEYS: &[&str] = &["rule", "path", "fingerprint", "count", "message"];

/// Parse baseline text; `file` is used in messages only; a rule id must be one of `known`
/// (every code the linter emits, [`crate::lint::codes`]).
pub fn parse(text: &str, file: &str, known: &[&Code]) -> Result<Vec<Entry>, GateError> {
    let invalid = |problems: &Problems| {
        GateError::new(
            &BASELINE_INVALID,
            format!(
                "{file}: the baseline has {} problem(s); nothing was evaluated",
                problems.items.len()
            ),
        )
        .with_details(problems.render(file).lines().map(String::from).collect())
    };
    let doc = crate::yaml::parse(text).map_err(|e| {
        GateError::new(
            &BASELINE_INVALID,
            format!("{file}:{}:{}: {}", e.pos.line, e.pos.col, e.message),
        )
    })?;
    let mut problems = Problems::of_duplicates(&doc);
    let Some(root) = &doc.root else {
        problems.push(
            Pos::default(),
            "the baseline is empty; write it with --write-baseline",
        );
        return Err(invalid(&problems));
    };
    let ids: Vec<&str> = known.iter().map(|c| c.id).collect();
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
    if let Some(mut top) = Fields::new(root, "baseline", &mut problems) {
        if let Some(v) = top.require("version", &mut problems)
            && let Some(n) = problems.unsigned(v, "version")
            && n != 1
        {
            problems.push(
                v.span.start,
                format!("version: unsupported baseline version {n}; this build reads version 1"),
            );
        }
        if let Some(list) = top.require("findings", &mut problems) {
            match list.as_seq() {
                None => problems.push(list.span.start, "findings: expected a list"),
                Some(items) => {
                    for item in items {
                        if let Some(e) = read_entry(item, &ids, &mut problems) {
                            if let Some(first) = seen.get(&e.key) {
                                problems.push(
                                    e.pos,
                                    format!(
                                        "the same finding is recorded twice (first at line {first}); give one entry its count"
                                    ),
                                );
                            } else {
                                seen.insert(e.key.clone(), e.pos.line);
                                entries.push(e);
                            }
                        }
                    }
                }
            }
        }
        top.finish(&mut problems, TOP_KEYS);
    }
    crate::yaml::yaml11::document_problems(text, &doc, &mut problems);
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(invalid(&problems))
    }
}

fn read_entry(item: &crate::yaml::Node, ids: &[&str], problems: &mut Problems) -> Option<Entry> {
    let mut f = Fields::new(item, "findings[]", problems)?;
    let mut renamed_from = None;
    let rule = f.require("rule", problems).and_then(|n| {
        let written = problems.string(n, "rule")?;
        // An old spelling is read as the current id before any other check.
        let id = match renamed::current_of(&written) {
            Some(current) if ids.contains(&current) => {
                renamed_from = Some(written);
                current.to_string()
            }
            _ => written,
        };
        if !ids.contains(&id.as_str()) {
            problems.push(
                n.span.start,
                format!("rule: unknown rule id `{}`", id.escape_debug()),
            );
            None
        } else if UNSUPPRESSIBLE.contains(&id.as_str()) {
            problems.push(
                n.span.start,
                format!(
                    "rule: `{id}` cannot be in a baseline ({})",
                    super::why_unsuppressible(&id)
                ),
            );
            None
        } else {
            Some(id)
        }
    });
    let path = f.require("path", problems).and_then(|n| {
        let p = problems.string(n, "path")?;
        if p.is_empty() {
            problems.push(n.span.start, "path: must not be empty");
            return None;
        }
        Some(p)
    });
    let fingerprint = f.require("fingerprint", problems).and_then(|n| {
        let fp = problems.string(n, "fingerprint")?;
        if fp.len() != FINGERPRINT_LEN
            || !fp
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            problems.push(
                n.span.start,
                format!("fingerprint: expected {FINGERPRINT_LEN} lowercase hex digits"),
            );
            return None;
        }
        Some(fp)
    });
    let count = f.require("count", problems).and_then(|n| {
        let c = problems.unsigned(n, "count")?;
        match usize::try_from(c) {
            Ok(c) if c >= 1 => Some(c),
            _ => {
                problems.push(n.span.start, "count: at least 1");
                None
            }
        }
    });
    let message = match f.take("message") {
        Some(n) => problems.string(n, "message")?,
        None => String::new(),
    };
    f.finish(problems, ENTRY_KEYS);
    Some(Entry {
        key: Key {
            path: path?,
            rule: rule?,
            fingerprint: fingerprint?,
        },
        count: count?,
        message,
        pos: item.span.start,
        renamed_from,
    })
}

/// The text of a baseline holding `entries` (counted per key), sorted by path, rule and
/// fingerprint: the same findings always give the same bytes.
pub fn render(entries: &BTreeMap<Key, (usize, String)>) -> String {
    let mut out = String::from(
        "# lint_workflows baseline: the findings recorded here are not reported.\n\
         # Written by `lint_workflows --write-baseline FILE`, read with `--baseline FILE`.\n\
         # An entry is a rule, the workflow's path, a fingerprint of the finding's line (its text,\n\
         # not its number) and how many such findings there are; the message is for reading.\n\
         version: 1\n",
    );
    if entries.is_empty() {
        out.push_str("findings: []\n");
        return out;
    }
    out.push_str("findings:\n");
    for (key, (count, message)) in entries {
        out.push_str(&format!(
            "  - {{rule: {}, path: {}, fingerprint: {}, count: {count}, message: {}}}\n",
            quote(&key.rule),
            quote(&key.path),
            quote(&key.fingerprint),
            quote(message),
        ));
    }
    out
}

/// A YAML double-quoted scalar holding `s`, in printable ASCII: every other character is an
/// escape, so no byte of a workflow's path or message can end the line or the quoting.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push_str(&format!("\\U{:08X}", u32::from(c))),
        }
    }
    out.push('"');
    out
}

/// The codes a baseline problem is reported with (exit 2).
pub static CODES: &[&Code] = &[&BASELINE_INVALID];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &str, rule: &str) -> Key {
        Key {
            path: path.into(),
            rule: rule.into(),
            fingerprint: fingerprint(rule, "- uses: actions/checkout@v4", 9, 19),
        }
    }

    #[test]
    fn the_fingerprint_reads_the_code_not_the_line_number_or_indentation() {
        let a = fingerprint("lint.unpinned_action", "      - uses: a/b@v1", 15, 6);
        let b = fingerprint("lint.unpinned_action", "  - uses: a/b@v1  ", 11, 6);
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("lint.unpinned_action", "  - uses: a/b@v2", 11, 6)
        );
        assert_ne!(
            a,
            fingerprint("lint.template_injection", "  - uses: a/b@v1", 11, 6)
        );
        // Two findings on one line, at different places, are told apart.
        assert_ne!(
            fingerprint("lint.expression", "run: ${{ a }} ${{ b }}", 6, 8),
            fingerprint("lint.expression", "run: ${{ a }} ${{ b }}", 15, 8)
        );
    }

    #[test]
    fn written_baselines_read_back_whatever_the_path_and_message_hold() {
        let mut entries = BTreeMap::new();
        let hostile = "we\u{2028}ird \"path\"\n\t\\ \u{1F600} é.yml";
        entries.insert(
            key(hostile, "lint.unpinned_action"),
            (2, "msg: \"quoted\" # not a comment\r\n".to_string()),
        );
        entries.insert(
            key(".forgejo/workflows/a.yml", "lint.template_injection"),
            (1, String::new()),
        );
        let text = render(&entries);
        assert!(text.is_ascii(), "{text}");
        let read = parse(&text, "b.yml", &crate::lint::codes()).expect("reads back");
        assert_eq!(read.len(), 2);
        let hostile_entry = read
            .iter()
            .find(|e| e.key.path == hostile)
            .expect("hostile path kept");
        assert_eq!(hostile_entry.count, 2);
        assert_eq!(hostile_entry.message, "msg: \"quoted\" # not a comment\r\n");
        // The same findings give the same bytes.
        assert_eq!(text, render(&entries));
        assert_eq!(
            parse(&render(&BTreeMap::new()), "b.yml", &crate::lint::codes()).expect("empty reads"),
            Vec::new()
        );
    }

    #[test]
    fn anything_not_written_by_this_build_is_refused_at_its_line() {
        let fp = "0123456789abcdef";
        let entry = |extra: &str| {
            format!(
                "version: 1\nfindings:\n  - {{rule: lint.unpinned_action, path: a.yml, fingerprint: \"{fp}\", count: 1{extra}}}\n"
            )
        };
        for (text, says) in [
            (entry(", lines: 3"), "b.yml:3:"),
            ("version: 2\nfindings: []\n".to_string(), "unsupported baseline version"),
            ("findings: []\n".to_string(), "version"),
            ("version: 1\n".to_string(), "findings"),
            ("version: 1\nfindings:\n  - {rule: lint.gate_wiring, path: a.yml, fingerprint: \"0123456789abcdef\", count: 1}\n".to_string(), "cannot be in a baseline"),
            ("version: 1\nfindings:\n  - {rule: lint.invalid_file, path: a.yml, fingerprint: \"0123456789abcdef\", count: 1}\n".to_string(), "cannot be in a baseline"),
            ("version: 1\nfindings:\n  - {rule: lint.nope, path: a.yml, fingerprint: \"0123456789abcdef\", count: 1}\n".to_string(), "unknown rule id"),
            ("version: 1\nfindings:\n  - {rule: lint.unpinned_action, path: a.yml, fingerprint: \"0123\", count: 1}\n".to_string(), "hex digits"),
            ("version: 1\nfindings:\n  - {rule: lint.unpinned_action, path: a.yml, fingerprint: \"0123456789abcdef\", count: 0}\n".to_string(), "at least 1"),
            ("version: 1\nfindings:\n  - {rule: lint.unpinned_action, path: a.yml, fingerprint: \"0123456789abcdef\", count: 1}\n  - {rule: lint.unpinned_action, path: a.yml, fingerprint: \"0123456789abcdef\", count: 2}\n".to_string(), "recorded twice"),
            ("version: 1\nfindings:\n  - {rule: lint.unpinned_action, path: \"\", fingerprint: \"0123456789abcdef\", count: 1}\n".to_string(), "must not be empty"),
            ("version: 1\nfindings: {}\n".to_string(), "expected a list"),
            ("".to_string(), "empty"),
            ("version: 1\nfindings: [\n".to_string(), "b.yml:"),
        ] {
            let err = parse(&text, "b.yml", &crate::lint::codes()).expect_err(&text);
            assert_eq!(err.code.id, "lint.baseline_invalid", "{text}");
            let all = format!("{} {}", err.message, err.details.join("\n"));
            assert!(all.contains(says), "{text}: {all}");
        }
        assert!(parse(&entry(", message: hi"), "b.yml", &crate::lint::codes()).is_ok());
    }
}
