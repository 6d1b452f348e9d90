//! A workflow file's text with a line index, and the mapping from an offset inside a YAML
//! scalar's value back to a line and column in the file.
//!
//! saphyr reports where a scalar starts (for `run: |` the indicator line), but an expression
//! deep inside a block script needs its own line. The value's lines are found again in the
//! source; when that cannot be done with certainty the scalar's own start is used, so a
//! position is never invented.

use crate::yaml::{Node, Style, Value};

pub struct Source<'a> {
    pub text: &'a str,
    /// Byte offset where each line starts (line 1 at index 0); built on first use, so a file
    /// without findings (most of them) never pays for it.
    line_starts: std::cell::OnceCell<Vec<usize>>,
    /// The last position asked for inside a scalar: (scalar address, offset, newlines before
    /// it). Findings in one scalar come in increasing order, so each lookup counts only the
    /// newlines since the previous one: a script with 30,000 findings stays linear.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Source<'a> {
        Source {
            text,
            line_starts: std::cell::OnceCell::new(),
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(self.text))
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line(&self, line: usize) -> Option<&'a str> {
        let starts = self.line_starts();
        let start = *starts.get(line.checked_sub(1)?)?;
        let end = starts.get(line).copied().unwrap_or(self.text.len());
        let s = self.text.get(start..end)?;
        Some(s.trim_end_matches(['\n', '\r']))
    }

    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    /// File line and column (1-based, in characters) of byte `at` inside `node`'s value.
    pub fn scalar_pos(&self, node: &Node, at: usize) -> (usize, usize) {
        let fallback = (node.span.start.line, node.span.start.col);
        let Value::Scalar { text, style } = &node.value else {
            return fallback;
        };
        let Some(prefix) = text.get(..at) else {
            return fallback;
        };
        let key = std::ptr::from_ref(node) as usize;
        let (last_node, last_at, last_k) = self.last.get();
        let k = if last_node == key && last_at <= at {
            last_k + prefix[last_at..].matches('\n').count()
        } else {
            prefix.matches('\n').count()
        };
        self.last.set((key, at, k));
        let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
        let col_chars = prefix[line_start..].chars().count();
        let value_line = text[line_start..].split('\n').next().unwrap_or("");
        match style {
            Style::Block => {
                // saphyr starts a block scalar's span at its first content line; allow for
                // the indicator line too, and check the text is really there.
                let first = node.span.start.line;
                for line in [first + k, first + 1 + k] {
                    let Some(src) = self.line(line) else { continue };
                    if value_line.is_empty() {
                        return (first + k, 1);
                    }
                    if let Some(b) = src.find(value_line) {
                        return (line, src[..b].chars().count() + col_chars + 1);
                    }
                }
                fallback
            }
            Style::Plain | Style::Quoted => {
                if k == 0 {
                    let quote = usize::from(*style == Style::Quoted);
                    let line = node.span.start.line;
                    // Escapes in a quoted scalar would shift columns: check the text is there.
                    let expect: String = value_line.chars().skip(col_chars).take(8).collect();
                    let col = node.span.start.col + quote + col_chars;
                    if let Some(src) = self.line(line) {
                        let rest: String = src.chars().skip(col - 1).take(8).collect();
                        if rest == expect {
                            return (line, col);
                        }
                        if let Some(b) = find_fragment(src, value_line, col_chars) {
                            return (line, b);
                        }
                    }
                    fallback
                } else {
                    // A multi-line flow scalar: look for the fragment in the scalar's lines.
                    let frag: String = value_line.chars().skip(col_chars).take(24).collect();
                    for line in node.span.start.line..=node.span.end.line {
                        if let Some(src) = self.line(line)
                            && let Some(b) = src.find(frag.as_str())
                            && !frag.is_empty()
                        {
                            return (line, src[..b].chars().count() + 1);
                        }
                    }
                    fallback
                }
            }
        }
    }
}

/// Byte offset where each line of `text` starts: 0, then one past each `\n`. Eight bytes at a
/// time (a word whose newline bytes are found with bit operations): short workflow lines make
/// a memchr call per line cost more than this scan.
pub fn line_starts(text: &str) -> Vec<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let bytes = text.as_bytes();
    let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
    starts.push(0);
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        // The high bit of each byte of `x` that is zero (a newline), exactly: no carry crosses
        // a byte, since (x & 0x7f) + 0x7f stays below 0x100.
        let mut found = !(((x & LOW7) + LOW7) | x | LOW7);
        while found != 0 {
            starts.push(base + found.trailing_zeros() as usize / 8 + 1);
            found &= found - 1;
        }
        base += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b == b'\n' {
            starts.push(base + i + 1);
        }
    }
    starts
}

/// The lines of a text as [`str::lines`] yields them (split at `\n`, one `\r` before it
/// dropped, no empty line after a final `\n`), looked up by number without a `&str` per line.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            starts: line_starts(text),
        }
    }

    /// Line `index` (0-based), as `text.lines().nth(index)` gives it.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        let start = *self.starts.get(index)?;
        if start >= self.text.len() {
            return None;
        }
        let end = self
            .starts
            .get(index + 1)
            .map_or(self.text.len(), |&e| e - 1);
        let line = self.text.get(start..end)?;
        Some(if end < self.text.len() {
            line.strip_suffix('\r').unwrap_or(line)
        } else {
            line
        })
    }
}

fn find_fragment(src: &str, value_line: &str, col_chars: usize) -> Option<usize> {
    let frag: String = value_line.chars().skip(col_chars).take(24).collect();
    if frag.is_empty() {
        return None;
    }
    src.find(frag.as_str())
        .map(|b| src[..b].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    #[test]
    fn maps_offsets_inside_block_scalars_to_their_line() {
        let src = "a:\n  run: |\n    echo one\n    echo ${{ x }}\n";
        let root = parse(src).unwrap().root.unwrap();
        let run = root.get("a").unwrap().get("run").unwrap();
        let text = run.as_str().unwrap();
        let at = text.find("${{").unwrap();
        let s = Source::new(src);
        assert_eq!(s.scalar_pos(run, at), (4, 10));
    }

    #[test]
    fn line_starts_find_every_newline_at_any_alignment() {
        for text in [
            "",
            "\n",
            "a",
            "a\nb",
            "ab\n\n\ncd\n",
            "0123456\n89abcdef\n\n",
            "é\n€\n\u{1F600}\nx",
            "\n\n\n\n\n\n\n\n\n",
        ] {
            let want: Vec<usize> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            assert_eq!(line_starts(text), want, "{text:?}");
            // Every prefix too, so the newline falls at each place in a word and the remainder.
            let long = text.repeat(5);
            for end in 0..=long.len() {
                if let Some(part) = long.get(..end) {
                    let want: Vec<usize> = std::iter::once(0)
                        .chain(part.match_indices('\n').map(|(i, _)| i + 1))
                        .collect();
                    assert_eq!(line_starts(part), want, "{part:?}");
                }
            }
        }
    }

    #[test]
    fn lines_are_those_of_str_lines() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb\r\n",
            "a\r\r\nb",
            "a\rb\n\nc",
            "\r",
            "x\r",
            "\n\r\n",
            "é\n€\r\n",
        ] {
            let lines = Lines::new(text);
            let want: Vec<&str> = text.lines().collect();
            for i in 0..want.len() + 3 {
                assert_eq!(lines.get(i), want.get(i).copied(), "{text:?} line {i}");
            }
        }
    }

    #[test]
    fn maps_offsets_in_plain_and_quoted_scalars() {
        let src = "a: echo ${{ x }}\nb: \"q ${{ y }}\"\n";
        let root = parse(src).unwrap().root.unwrap();
        let s = Source::new(src);
        let a = root.get("a").unwrap();
        assert_eq!(s.scalar_pos(a, 5), (1, 9));
        let b = root.get("b").unwrap();
        assert_eq!(s.scalar_pos(b, 2), (2, 7));
    }
}
