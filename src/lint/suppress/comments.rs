//! Inline suppressions: `# lint_workflows: ignore[lint.rule_id, ...] reason`, read as YAML
//! comments.
//!
//! A `#` is a comment only where a YAML reader says so: inside a quoted scalar or a block
//! scalar (a `run: |` script) it is text. Instead of re-implementing YAML's lexical rules,
//! each candidate is put to the parser: the text after the `#` is cut off and the file parsed
//! again; a comment changes nothing, text inside a scalar changes the scalar (or breaks the
//! quoting). All candidates are tried at once (one extra parse for a file that has any), and
//! only a set that changes the tree is split to find which candidates were text.
//!
//! What a comment covers: the line it is on, or, for a comment on lines of its own, the first
//! line of code below it (no blank line between). On that line, a step that starts there is
//! covered whole, and so is the value of a key written there (`run: |` covers the script, a
//! job's key the job).
use crate::report::renamed;
use crate::yaml::{Document, Node, Style, Value};

/// What a suppression comment starts with, after `#` and optional blanks.
pub const MARKER: &str = "lint_workflows:";

/// At most this many extra parses to tell comments from text in one file; candidates still
/// undecided after them are reported, never honoured.
const MAX_PARSES: usize = 64;

/// At most this many suppression comments in one file (a baseline is the tool for more);
/// the ones after are reported, never honoured. It bounds the work of matching findings.
pub const MAX_COMMENTS: usize = 1000;

/// A suppression comment, found and confirmed to be a YAML comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// 1-based line, and the column (in characters) of its `#`.
    pub line: usize,
    pub col: usize,
    /// Its length in characters (to the end of the line).
    pub len: usize,
    /// The lines whose findings it may suppress: `first..=last`.
    pub covers: (usize, usize),
    /// The parsed directive, or why it is not one (then it suppresses nothing).
    pub directive: Result<Directive, String>,
}

/// `ignore[ids] reason`.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// Each rule id (the current spelling) with its column (characters, 1-based).
    pub ids: Vec<(String, usize)>,
    pub reason: String,
    /// Ids written in an old spelling ([`crate::report::renamed`]): the old text, the current
    /// id it was read as, and its column. Each is reported as `lint.deprecated_id`.
    pub renamed: Vec<(String, &'static str, usize)>,
}

/// A `#` that looks like a suppression comment, before the parser confirmed it.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    line: usize,
    /// Byte offsets in the text: the `#`, and the end of its line.
    hash: usize,
    end: usize,
    /// True when only blanks precede the `#` on its line.
    own_line: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Comment,
    Text,
    Undecided,
}

/// Whether `s` says something: a reason has at least one letter or digit.
pub fn is_reason(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// The suppression comments of `text`, whose parsed form is `doc`, and the lines of the
/// candidates that were not decided (beyond [`MAX_COMMENTS`], or the parser could not be
/// asked about them within the budget), each with why: the caller reports them.
pub fn find(text: &str, doc: &Document, ids: &[&str]) -> (Vec<Comment>, Vec<(usize, String)>) {
    if !text.contains(MARKER) {
        return (Vec::new(), Vec::new());
    }
    let mut candidates = candidates(text);
    let mut undecided: Vec<(usize, String)> = Vec::new();
    if candidates.len() > MAX_COMMENTS {
        undecided.extend(candidates.split_off(MAX_COMMENTS).iter().map(|c| {
            (
                c.line,
                format!("more than {MAX_COMMENTS} suppression comments in one file; this one is not honoured (record such findings in a baseline instead)"),
            )
        }));
    }
    if candidates.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut verdicts = vec![Verdict::Undecided; candidates.len()];
    let all: Vec<usize> = (0..candidates.len()).collect();
    let mut budget = MAX_PARSES;
    settle(text, doc, &candidates, &all, &mut budget, &mut verdicts);
    let lines = Lines::new(text);
    let mut comments = Vec::new();
    for (c, v) in candidates.iter().zip(&verdicts) {
        match v {
            Verdict::Text => {}
            Verdict::Undecided => undecided.push((
                c.line,
                "too many suppression-like texts in this file to tell comments from scalar text; this one is not honoured".into(),
            )),
            Verdict::Comment => {
                let body = &text[c.hash..c.end];
                let col = text[lines.start(c.line)..c.hash].chars().count() + 1;
                let target = if c.own_line {
                    lines.code_below(c.line)
                } else {
                    Some(c.line)
                };
                let covers = target.map_or((c.line, c.line), |t| cover(doc, t));
                comments.push(Comment {
                    line: c.line,
                    col,
                    len: body.chars().count(),
                    covers,
                    directive: parse_directive(body, col, ids),
                });
            }
        }
    }
    (comments, undecided)
}

/// Every line's first `#` that follows a blank (or starts the line) and opens with the marker.
fn candidates(text: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let bytes = line.as_bytes();
        for (j, &b) in bytes.iter().enumerate() {
            if b != b'#' || (j > 0 && bytes[j - 1] != b' ' && bytes[j - 1] != b'\t') {
                continue;
            }
            let rest = line[j + 1..].trim_start_matches([' ', '\t']);
            if rest.starts_with(MARKER) {
                out.push(Candidate {
                    line: i + 1,
                    hash: start + j,
                    end: start + line.len(),
                    own_line: line[..j].trim_matches([' ', '\t']).is_empty(),
                });
                break;
            }
        }
        start += raw.len() + 1;
    }
    out
}

/// Decide `which` candidates: cut them all; if the tree is unchanged they are all comments,
/// else split the set in two and ask again (a single candidate that changes it is text).
fn settle(
    text: &str,
    doc: &Document,
    candidates: &[Candidate],
    which: &[usize],
    budget: &mut usize,
    verdicts: &mut [Verdict],
) {
    if which.is_empty() {
        return;
    }
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let mut cut = String::with_capacity(text.len());
    let mut at = 0;
    for &i in which {
        let c = candidates[i];
        cut.push_str(&text[at..=c.hash]);
        at = c.end;
    }
    cut.push_str(&text[at..]);
    let unchanged = crate::yaml::parse(&cut).is_ok_and(|d| same_document(doc, &d));
    if unchanged {
        for &i in which {
            verdicts[i] = Verdict::Comment;
        }
    } else if which.len() == 1 {
        verdicts[which[0]] = Verdict::Text;
    } else {
        let (a, b) = which.split_at(which.len() / 2);
        settle(text, doc, candidates, a, budget, verdicts);
        settle(text, doc, candidates, b, budget, verdicts);
    }
}

fn same_document(a: &Document, b: &Document) -> bool {
    a.document_count == b.document_count
        && match (&a.root, &b.root) {
            (Some(x), Some(y)) => same_node(x, y),
            (None, None) => true,
            _ => false,
        }
}

/// The same value, whatever the positions (cutting a comment shortens its line).
fn same_node(a: &Node, b: &Node) -> bool {
    if a.tag != b.tag || a.from_alias != b.from_alias {
        return false;
    }
    match (&a.value, &b.value) {
        (Value::Scalar { text: x, style: s }, Value::Scalar { text: y, style: t }) => {
            x == y && s == t
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_node(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k, v), (l, w))| same_node(k, l) && same_node(v, w))
        }
        _ => false,
    }
}

/// Line starts, and which lines hold only a comment or nothing.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    fn start(&self, line: usize) -> usize {
        self.starts[line - 1]
    }

    fn get(&self, line: usize) -> Option<&'a str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map_or(self.text.len(), |e| e - 1);
        Some(self.text[start..end].trim_end_matches('\r'))
    }

    /// The first line below `line` that holds code, when only comment lines come between
    /// (a blank line ends the comment's reach).
    fn code_below(&self, line: usize) -> Option<usize> {
        let mut n = line + 1;
        while let Some(l) = self.get(n) {
            let t = l.trim_matches([' ', '\t']);
            if t.is_empty() {
                return None;
            }
            if !t.starts_with('#') {
                return Some(n);
            }
            n += 1;
        }
        None
    }
}

/// The lines a suppression on `line` covers: the line, and the whole of every node that
/// starts on it as a sequence item (a step) or as the value of a key written on it.
fn cover(doc: &Document, line: usize) -> (usize, usize) {
    let mut last = line;
    if let Some(root) = &doc.root {
        let mut todo = vec![root];
        while let Some(node) = todo.pop() {
            // saphyr ends a collection or block scalar where the next token starts: never
            // before its last line, so this only skips nodes that cannot hold `line`.
            if node.span.start.line > line || node.span.end.line < line {
                continue;
            }
            match &node.value {
                // A node copied from an alias keeps its anchor's positions: it is not here.
                Value::Seq(items) => {
                    for item in items.iter().filter(|n| !n.from_alias) {
                        if item.span.start.line == line {
                            last = last.max(last_line(item));
                        }
                        todo.push(item);
                    }
                }
                Value::Map(entries) => {
                    for (k, v) in entries.iter().filter(|(_, v)| !v.from_alias) {
                        if k.span.start.line == line {
                            last = last.max(last_line(v));
                        }
                        todo.push(v);
                    }
                }
                Value::Scalar { .. } => {}
            }
        }
    }
    (line, last)
}

/// The last line a node's text is on (what an alias copies is written elsewhere).
pub(super) fn last_line(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { text, style } => {
            let end = node.span.end;
            match style {
                // saphyr ends a block scalar where the next token starts: count its lines.
                Style::Block => {
                    let lines = text.trim_end_matches('\n').matches('\n').count();
                    node.span.start.line + lines
                }
                _ => end.line,
            }
        }
        Value::Seq(items) => items
            .iter()
            .filter(|n| !n.from_alias)
            .map(last_line)
            .max()
            .unwrap_or(node.span.start.line),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                if v.from_alias {
                    last_line(k)
                } else {
                    last_line(k).max(last_line(v))
                }
            })
            .max()
            .unwrap_or(node.span.start.line),
    }
    .max(node.span.start.line)
}

/// Parse the text of a suppression comment (from its `#`). `col` is the `#`'s column.
fn parse_directive(body: &str, col: usize, ids: &[&str]) -> Result<Directive, String> {
    const FORM: &str = "write `# lint_workflows: ignore[lint.rule_id] reason`";
    let after_hash = &body[1..];
    let rest = after_hash.trim_start_matches([' ', '\t']);
    let rest = rest[MARKER.len()..].trim_start_matches([' ', '\t']);
    let Some(list) = rest.strip_prefix("ignore[") else {
        return Err(format!(
            "not a suppression this linter knows; {FORM}; this comment suppresses nothing"
        ));
    };
    let Some(close) = list.find(']') else {
        return Err(format!(
            "the rule list has no closing `]`; {FORM}; this comment suppresses nothing"
        ));
    };
    let (inside, reason) = (&list[..close], list[close + 1..].trim());
    // The column where the list starts, to point at each id.
    let list_col = col + body[..body.len() - list.len()].chars().count();
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut renamed_ids: Vec<(String, &'static str, usize)> = Vec::new();
    let mut offset = 0;
    for part in inside.split(',') {
        let id = part.trim_matches([' ', '\t']);
        let lead = part.len() - part.trim_start_matches([' ', '\t']).len();
        let id_col = list_col + inside[..offset + lead].chars().count();
        offset += part.len() + 1;
        if id.is_empty() {
            return Err(format!(
                "an empty rule id in `ignore[...]`; {FORM}; this comment suppresses nothing"
            ));
        }
        // An old spelling is read as the current id before any other check, so that it can
        // do exactly what the current id can and nothing more.
        let written = id;
        let id = match renamed::current_of(written) {
            Some(current) if ids.contains(&current) => {
                renamed_ids.push((written.to_string(), current, id_col));
                current
            }
            _ => written,
        };
        if !ids.contains(&id) {
            let full = format!("lint.{id}");
            let hint = if ids.contains(&full.as_str()) {
                format!(" (write `{full}`)")
            } else if let Some(current) = renamed::current_of(&full) {
                format!(" (write `{current}`)")
            } else {
                String::new()
            };
            return Err(format!(
                "unknown rule id `{}`{hint}; this comment suppresses nothing",
                id.escape_debug()
            ));
        }
        let shown = if written == id {
            format!("`{id}`")
        } else {
            format!("`{written}` (now `{id}`)")
        };
        if super::UNSUPPRESSIBLE.contains(&id) {
            return Err(format!(
                "{shown} cannot be suppressed ({}); this comment suppresses nothing",
                super::why_unsuppressible(id)
            ));
        }
        if out.iter().any(|(seen, _)| seen == id) {
            return Err(format!(
                "{shown} is listed twice; this comment suppresses nothing"
            ));
        }
        out.push((id.to_string(), id_col));
    }
    if !is_reason(reason) {
        return Err(format!(
            "a suppression needs a reason after `]` (say why the finding does not apply here); {FORM}; this comment suppresses nothing"
        ));
    }
    Ok(Directive {
        ids: out,
        reason: reason.to_string(),
        renamed: renamed_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &[
        "lint.template_injection",
        "lint.unpinned_action",
        "lint.gate_wiring",
    ];

    fn found(text: &str) -> (Vec<Comment>, Vec<(usize, String)>) {
        let doc = crate::yaml::parse(text).expect("test YAML parses");
        find(text, &doc, IDS)
    }

    fn ok_ids(d: &Directive) -> Vec<&str> {
        d.ids.iter().map(|(id, _)| id.as_str()).collect()
    }

    fn lines_of(comments: &[Comment]) -> Vec<usize> {
        comments.iter().map(|c| c.line).collect()
    }

    #[test]
    fn comments_are_told_from_scalar_text_by_the_parser() {
        // Three texts that look like suppressions (quoted, single-quoted, in a block script)
        // between two real comments: the split search keeps exactly the two.
        let text = "a: 1 # lint_workflows: ignore[lint.unpinned_action] real one\n\
                    b: \"x # lint_workflows: ignore[lint.unpinned_action] quoted\"\n\
                    c: 'x # lint_workflows: ignore[lint.unpinned_action] single'\n\
                    d: |\n  # lint_workflows: ignore[lint.unpinned_action] script\n  echo\n\
                    e: 2 # lint_workflows: ignore[lint.unpinned_action] real two\n";
        let (comments, undecided) = found(text);
        assert_eq!(lines_of(&comments), vec![1, 7]);
        assert!(undecided.is_empty());
        assert!(comments.iter().all(|c| c.directive.is_ok()));
    }

    #[test]
    fn a_comment_after_a_keep_block_scalar_is_a_comment() {
        // `|+` keeps trailing blank lines: a suppression less indented than the script ends it
        // and is a comment; cutting it must not be mistaken for a change of the script.
        let text = "steps:\n  - run: |+\n      echo\n\n  # lint_workflows: ignore[lint.template_injection] next step\n  - run: make\n";
        let (comments, _) = found(text);
        assert_eq!(lines_of(&comments), vec![5]);
        assert_eq!(comments[0].covers, (6, 6));
    }

    #[test]
    fn a_comment_after_a_block_indicator_covers_the_script() {
        let text = "steps:\n  - name: x\n    run: | # lint_workflows: ignore[lint.template_injection] logged\n      echo one\n      echo two\n    env: {}\n";
        let (comments, _) = found(text);
        assert_eq!(comments[0].covers, (3, 5));
    }

    #[test]
    fn own_line_comments_cover_the_step_below_unless_a_blank_line_comes_between() {
        let text = "jobs:\n  a:\n    steps:\n      # lint_workflows: ignore[lint.template_injection] r\n      # another comment\n      - name: x\n        run: |\n          echo\n      - run: y\n      # lint_workflows: ignore[lint.template_injection] r\n\n      - run: z\n";
        let (comments, _) = found(text);
        assert_eq!(comments[0].covers, (6, 8));
        assert_eq!(comments[1].covers, (10, 10));
    }

    #[test]
    fn crlf_lines_are_read() {
        let text = "a: 1 # lint_workflows: ignore[lint.unpinned_action] why\r\nb: 2\r\n";
        let (comments, _) = found(text);
        assert_eq!(lines_of(&comments), vec![1]);
        let d = comments[0].directive.as_ref().expect("valid");
        assert_eq!(d.reason, "why");
    }

    #[test]
    fn directives_are_parsed_strictly_with_columns() {
        let ok = parse_directive(
            "# lint_workflows: ignore[ lint.unpinned_action ,lint.template_injection] a reason",
            5,
            IDS,
        )
        .expect("valid");
        assert_eq!(
            ok.ids,
            vec![
                ("lint.unpinned_action".to_string(), 31),
                ("lint.template_injection".to_string(), 53),
            ]
        );
        assert_eq!(ok.reason, "a reason");
        assert!(ok.renamed.is_empty());
        let old = parse_directive(
            "# lint_workflows: ignore[lint.template-injection] a reason",
            1,
            IDS,
        )
        .expect("an old spelling is read");
        assert_eq!(ok_ids(&old), ["lint.template_injection"]);
        assert_eq!(
            old.renamed,
            [(
                "lint.template-injection".to_string(),
                "lint.template_injection",
                26
            )]
        );
        for (bad, says) in [
            (
                "# lint_workflows: ignore[lint.unpinned_action]",
                "needs a reason",
            ),
            (
                "# lint_workflows: ignore[lint.unpinned_action] ...",
                "needs a reason",
            ),
            (
                "# lint_workflows: ignore[unpinned_action] r",
                "write `lint.unpinned_action`",
            ),
            ("# lint_workflows: ignore[lint.nope] r", "unknown rule id"),
            (
                "# lint_workflows: ignore[lint.gate_wiring] r",
                "cannot be suppressed",
            ),
            // Old spellings: read as the new id, so no more than it can do.
            (
                "# lint_workflows: ignore[lint.gate-wiring] r",
                "`lint.gate-wiring` (now `lint.gate_wiring`) cannot be suppressed",
            ),
            (
                "# lint_workflows: ignore[lint.unpinned-action, lint.unpinned_action] r",
                "listed twice",
            ),
            (
                "# lint_workflows: ignore[template-injection] r",
                "write `lint.template_injection`",
            ),
            (
                "# lint_workflows: ignore[lint.unpinned-actions] r",
                "unknown rule id",
            ),
            (
                "# lint_workflows: ignore[lint.unpinned_action r",
                "no closing `]`",
            ),
            ("# lint_workflows: ignore[] r", "empty rule id"),
            (
                "# lint_workflows: ignore[lint.unpinned_action,] r",
                "empty rule id",
            ),
            (
                "# lint_workflows: skip[lint.unpinned_action] r",
                "not a suppression",
            ),
            (
                "# lint_workflows: ignore [lint.unpinned_action] r",
                "not a suppression",
            ),
        ] {
            let err = parse_directive(bad, 1, IDS).expect_err(bad);
            assert!(err.contains(says), "{bad}: {err}");
            assert!(err.contains("suppresses nothing"), "{bad}: {err}");
        }
    }

    #[test]
    fn comments_beyond_the_limit_are_reported_not_honoured() {
        let mut text = String::from("a:\n");
        for i in 0..MAX_COMMENTS + 2 {
            text.push_str(&format!(
                "  k{i}: v # lint_workflows: ignore[lint.unpinned_action] r\n"
            ));
        }
        let (comments, undecided) = found(&text);
        assert_eq!(comments.len(), MAX_COMMENTS);
        assert_eq!(undecided.len(), 2);
        assert_eq!(undecided[0].0, MAX_COMMENTS + 2);
    }

    #[test]
    fn a_file_without_the_marker_costs_no_parse() {
        // Not observable through timing; `find` must answer without candidates.
        let (comments, undecided) = found("a: 1 # ignore[lint.unpinned_action] r\n");
        assert!(comments.is_empty() && undecided.is_empty());
    }
}
