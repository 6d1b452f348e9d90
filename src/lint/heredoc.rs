//! Here-documents in a POSIX shell script, recognised as the shell reads them: `<<WORD` and
//! `<<-WORD` outside quotes and comments (not `<<<`, not a shift inside `((…))`), the
//! delimiter's quoting (any quoted or escaped character makes the body literal: no `$`,
//! backquote or `\` processing), `<<-` stripping leading tabs from each body line and from
//! the delimiter line, and the body starting after the line that holds the operator and
//! ending at the first line equal to the delimiter (or at the end of the script).
//!
//! It is deliberately small and self-contained so that it can move onto the full shell
//! parser later. What it does not understand it does not report, and callers treat text that
//! is not in a recognised quoted body as plain script (so a miss can only make a finding
//! stricter, never hide one).

use std::ops::Range;

/// One here-document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter with its quoting removed.
    pub delimiter: String,
    /// True when the delimiter was quoted or escaped: the body is passed on literally.
    pub quoted: bool,
    /// `<<-`: leading tabs are removed from body lines and the delimiter line.
    pub strip_tabs: bool,
    /// Byte range of the body in the script (whole lines, without the delimiter line).
    pub body: Range<usize>,
    /// False when the script ends before a line equal to the delimiter.
    pub terminated: bool,
    /// The first word of the simple command the operator belongs to (after variable
    /// assignments and an opening `$(`), when it is a plain word.
    pub command: Option<String>,
}

/// Every here-document of `script`, in order.
pub fn heredocs(script: &str) -> Vec<Heredoc> {
    let bytes = script.as_bytes();
    let mut out = Vec::new();
    let mut pending: Vec<Heredoc> = Vec::new();
    let mut i = 0;
    let mut line_start = 0;
    let mut word_start = true;
    let mut in_single = false;
    let mut in_double = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_single {
            if b == b'\'' {
                in_single = false;
            }
            i += 1;
            continue;
        }
        if b == b'\\' {
            // An escaped character (or a line continuation) is never an operator.
            i += 2;
            word_start = false;
            continue;
        }
        if in_double {
            if b == b'"' {
                in_double = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'\'' => in_single = true,
            b'"' => in_double = true,
            b'#' if word_start => {
                // A comment runs to the end of the line.
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') && bytes.get(i + 2) != Some(&b'<') => {
                let in_arith = script[line_start..i].contains("((");
                if !in_arith && let Some((doc, next)) = operator(script, i, line_start) {
                    pending.push(doc);
                    i = next;
                    word_start = false;
                    continue;
                }
                i += 2;
                continue;
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                // `<<<`: a here-string.
                i += 3;
                continue;
            }
            b'\n' => {
                i += 1;
                line_start = i;
                word_start = true;
                for mut doc in pending.drain(..) {
                    i = read_body(script, i, &mut doc);
                    line_start = i;
                    out.push(doc);
                }
                continue;
            }
            _ => {}
        }
        word_start = matches!(b, b' ' | b'\t' | b';' | b'&' | b'|' | b'(' | b')');
        i += 1;
    }
    // Operators on the last line with no newline after them: empty, unterminated bodies.
    for mut doc in pending {
        doc.body = script.len()..script.len();
        doc.terminated = false;
        out.push(doc);
    }
    out
}

/// Parses the operator at `at` (`<<` or `<<-`, blanks, the delimiter word). Returns the
/// here-document (body still empty) and the offset after the word.
fn operator(script: &str, at: usize, line_start: usize) -> Option<(Heredoc, usize)> {
    let bytes = script.as_bytes();
    let mut i = at + 2;
    let strip_tabs = bytes.get(i) == Some(&b'-');
    if strip_tabs {
        i += 1;
    }
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let mut delimiter = String::new();
    let mut quoted = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\'' | b'"' => {
                quoted = true;
                let close = script[i + 1..].find(b as char)? + i + 1;
                delimiter.push_str(&script[i + 1..close]);
                i = close + 1;
            }
            b'\\' => {
                quoted = true;
                let c = script[i + 1..].chars().next()?;
                delimiter.push(c);
                i += 1 + c.len_utf8();
            }
            b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => break,
            _ => {
                let c = script[i..].chars().next()?;
                delimiter.push(c);
                i += c.len_utf8();
            }
        }
    }
    if delimiter.is_empty() && !quoted {
        return None;
    }
    Some((
        Heredoc {
            delimiter,
            quoted,
            strip_tabs,
            body: 0..0,
            terminated: false,
            command: command_word(&script[line_start..at]),
        },
        i,
    ))
}

/// Reads the body starting at `start` (a line start); returns where the script continues.
fn read_body(script: &str, start: usize, doc: &mut Heredoc) -> usize {
    let mut pos = start;
    while pos < script.len() {
        let end = script[pos..].find('\n').map_or(script.len(), |n| pos + n);
        let mut line = &script[pos..end];
        if doc.strip_tabs {
            line = line.trim_start_matches('\t');
        }
        if line == doc.delimiter {
            doc.body = start..pos;
            doc.terminated = true;
            return (end + 1).min(script.len());
        }
        pos = end + 1;
    }
    doc.body = start..script.len();
    doc.terminated = false;
    script.len()
}

/// The command word of the last simple command in `before` (the text of the operator's line
/// before `<<`): skips `VAR=value` assignments and an opening `$(`.
fn command_word(before: &str) -> Option<String> {
    let last = before
        .rsplit(['|', ';', '&', '`'])
        .next()
        .unwrap_or(before)
        .rsplit("$(")
        .next()
        .unwrap_or(before);
    let mut words = last.split_whitespace();
    let word = loop {
        let w = words.next()?;
        let is_assignment = w.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !is_assignment && !w.starts_with(['<', '>']) && !w.chars().all(|c| c.is_ascii_digit()) {
            break w;
        }
    };
    word.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/'))
        .then(|| word.rsplit('/').next().unwrap_or(word).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(script: &str) -> Heredoc {
        let mut all = heredocs(script);
        assert_eq!(all.len(), 1, "{script:?}: {all:?}");
        all.remove(0)
    }

    fn body<'a>(script: &'a str, d: &Heredoc) -> &'a str {
        &script[d.body.clone()]
    }

    #[test]
    fn quoting_of_the_delimiter_decides_expansion() {
        for (s, quoted) in [
            ("cat <<'EOF'\nx\nEOF\n", true),
            ("cat <<\"EOF\"\nx\nEOF\n", true),
            ("cat <<\\EOF\nx\nEOF\n", true),
            ("cat <<E'O'F\nx\nEOF\n", true),
            ("cat <<EOF\nx\nEOF\n", false),
            ("cat << EOF\nx\nEOF\n", false),
        ] {
            let d = one(s);
            assert_eq!(d.quoted, quoted, "{s:?}");
            assert_eq!(d.delimiter, "EOF", "{s:?}");
            assert_eq!(body(s, &d), "x\n", "{s:?}");
            assert!(d.terminated);
            assert_eq!(d.command.as_deref(), Some("cat"));
        }
    }

    #[test]
    fn the_body_ends_only_at_a_line_equal_to_the_delimiter() {
        let s = "cat <<'EOF'\n EOF\nEOF \nEOFX\nEOF\necho after\n";
        let d = one(s);
        assert_eq!(body(s, &d), " EOF\nEOF \nEOFX\n");
        let s = "cat <<'EOF'\nno end\n";
        let d = one(s);
        assert!(!d.terminated);
        assert_eq!(body(s, &d), "no end\n");
    }

    #[test]
    fn dash_strips_leading_tabs_from_the_delimiter_line() {
        let s = "cat <<-'EOF'\n\tx\n\t\tEOF\necho after\n";
        let d = one(s);
        assert!(d.strip_tabs);
        assert_eq!(body(s, &d), "\tx\n");
        // Without `-`, a tab-indented delimiter does not end the body.
        let s = "cat <<'EOF'\n\tEOF\nEOF\n";
        assert_eq!(body(s, &one(s)), "\tEOF\n");
    }

    #[test]
    fn operators_in_quotes_comments_here_strings_and_arithmetic_are_not_heredocs() {
        for s in [
            "echo '<<EOF'\nEOF\n",
            "echo \"<<EOF\"\nEOF\n",
            "# cat <<EOF\nEOF\n",
            "cat <<< \"$x\"\n",
            "echo $(( 1 << 2 ))\n",
            "echo \\<<EOF\n",
        ] {
            assert!(heredocs(s).is_empty(), "{s:?}: {:?}", heredocs(s));
        }
    }

    #[test]
    fn several_on_one_line_read_their_bodies_in_order() {
        let s = "paste <<A <<'B'\na\nA\nb\nB\necho done\n";
        let all = heredocs(s);
        assert_eq!(all.len(), 2);
        assert_eq!((body(s, &all[0]), all[0].quoted), ("a\n", false));
        assert_eq!((body(s, &all[1]), all[1].quoted), ("b\n", true));
    }

    #[test]
    fn the_reading_command_is_found() {
        for (s, cmd) in [
            ("X=1 jq . <<'EOF'\n{}\nEOF\n", Some("jq")),
            ("out=$(cat <<'EOF'\nx\nEOF\n)\n", Some("cat")),
            ("echo hi | /bin/bash <<'EOF'\nx\nEOF\n", Some("bash")),
            ("tee f >/dev/null <<'EOF'\nx\nEOF\n", Some("tee")),
            ("\"$runner\" <<'EOF'\nx\nEOF\n", None),
        ] {
            assert_eq!(one(s).command.as_deref(), cmd, "{s:?}");
        }
    }

    #[test]
    fn a_body_is_not_scanned_for_operators() {
        let s = "cat <<'EOF'\necho '<<X'\ncat <<Y\nEOF\necho after\n";
        let all = heredocs(s);
        assert_eq!(all.len(), 1, "{all:?}");
    }
}
