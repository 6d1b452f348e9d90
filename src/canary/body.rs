//! Reading a pull-request body as Markdown (pulldown-cmark): which canary sections it has,
//! whether each holds real text, and its `Canary status:` lines.
//!
//! A section starts at a top-level heading of any level, or at a top-level paragraph whose
//! first line is all bold (`**What changed**`, `**What changed:**`), whose text names a known
//! section (compared case-, space- and punctuation-insensitively). It ends at the next heading
//! of the same or a higher level (a bold line counts as the lowest level). Deeper headings
//! inside it are sub-headings: they do not count as content. HTML comments and tags are
//! dropped; a block that is empty, punctuation only, or a placeholder word is not content.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// A known section found in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The normalized name (see [`key`]).
    pub key: String,
    /// The heading as written (without markup).
    pub heading: String,
    pub line: usize,
    pub col: usize,
    /// How many content blocks (paragraphs, list items, code blocks, cells) hold real text.
    pub filled_blocks: usize,
}

/// A `Canary status:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// What follows `Canary status:` on that line, trimmed.
    pub rest: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedBody {
    pub sections: Vec<Section>,
    pub status: Vec<StatusLine>,
}

impl ParsedBody {
    pub fn find(&self, name: &str) -> Vec<&Section> {
        let k = key(name);
        self.sections.iter().filter(|s| s.key == k).collect()
    }
}

/// A section name or heading, compared without case, spaces or punctuation:
/// `Explicit out-of-scope:` and `EXPLICIT OUT OF SCOPE` are the same key.
pub fn key(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// True when a block's text is not real content: empty, punctuation only, or a placeholder
/// (whole text, or a placeholder word followed by `:` such as `TODO: write this`).
pub fn is_placeholder(text: &str, placeholders: &[String]) -> bool {
    let normalized: Vec<String> = placeholders.iter().map(|p| norm(p)).collect();
    is_placeholder_norm(text, &normalized)
}

/// Lowercase, whitespace collapsed, trailing `:`/`.`/`!` dropped.
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .trim_end_matches([':', '.', '!'])
        .trim()
        .to_string()
}

/// A text longer than this cannot be a whole-text placeholder (only the `WORD:` form).
const MAX_PLACEHOLDER_TEXT: usize = 64;

fn is_placeholder_norm(text: &str, normalized: &[String]) -> bool {
    let t = text.trim();
    if !t.chars().any(|c| c.is_alphanumeric()) {
        return true;
    }
    // `TODO: ...`: a placeholder word, then a colon.
    let word_end = t
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (word, rest) = t.split_at(word_end);
    if !word.is_empty()
        && rest.trim_start().starts_with(':')
        && normalized.iter().any(|p| p.eq_ignore_ascii_case(word))
    {
        return true;
    }
    if t.len() > MAX_PLACEHOLDER_TEXT {
        return false;
    }
    let n = norm(t);
    normalized.iter().any(|p| !p.is_empty() && *p == n)
}

/// Byte offset to 1-based line and column (in characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { text, starts }
    }

    fn at(&self, offset: usize) -> (usize, usize) {
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(idx).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (idx + 1, col + 1)
    }
}

/// Inline pieces of one paragraph or heading.
#[derive(Debug)]
enum Piece {
    StrongStart,
    StrongEnd,
    Text(String),
    Html(String),
    Break,
}

/// Drops HTML comments and tags from a stream of text and HTML pieces.
#[derive(Default)]
struct HtmlStrip {
    in_comment: bool,
}

impl HtmlStrip {
    fn html(&mut self, html: &str, out: &mut String) {
        let mut rest = html;
        loop {
            if self.in_comment {
                match rest.find("-->") {
                    Some(i) => {
                        self.in_comment = false;
                        rest = &rest[i + 3..];
                    }
                    None => return,
                }
            } else {
                match rest.find("<!--") {
                    Some(i) => {
                        strip_tags(&rest[..i], out);
                        self.in_comment = true;
                        rest = &rest[i + 4..];
                    }
                    None => {
                        strip_tags(rest, out);
                        return;
                    }
                }
            }
        }
    }

    fn text(&self, text: &str, out: &mut String) {
        if !self.in_comment {
            out.push_str(text);
        }
    }
}

/// Keep the text between tags (`<b>x</b>` gives `x`; `<fill in>` gives nothing).
fn strip_tags(s: &str, out: &mut String) {
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
}

/// Where we are: inside a section started at `level` (1-6 headings, 7 a bold line).
struct Open {
    index: usize,
    level: u8,
}

struct Builder<'a> {
    lines: Lines<'a>,
    known: Vec<String>,
    placeholders: Vec<String>,
    out: ParsedBody,
    open: Option<Open>,
}

impl Builder<'_> {
    fn content(&mut self, text: &str) {
        if let Some(open) = &self.open
            && !is_placeholder_norm(text, &self.placeholders)
            && let Some(s) = self.out.sections.get_mut(open.index)
        {
            s.filled_blocks += 1;
        }
    }

    /// A heading-like line: a known section starts; anything else at the same or a higher
    /// level ends the open section; deeper is a sub-heading (not content).
    fn heading(&mut self, text: &str, level: u8, offset: usize) {
        let k = key(text);
        if !k.is_empty() && self.known.contains(&k) {
            let (line, col) = self.lines.at(offset);
            self.out.sections.push(Section {
                key: k,
                heading: text.trim().to_string(),
                line,
                col,
                filled_blocks: 0,
            });
            self.open = Some(Open {
                index: self.out.sections.len() - 1,
                level,
            });
        } else if let Some(open) = &self.open
            && level <= open.level
        {
            self.open = None;
        }
    }

    fn status(&mut self, first_line: &str, offset: usize) -> bool {
        let trimmed = first_line.trim_start();
        let Some((label, rest)) = trimmed.split_once(':') else {
            return false;
        };
        if label.len() > 40 || key(label) != "canarystatus" {
            return false;
        }
        let (line, col) = self.lines.at(offset);
        self.out.status.push(StatusLine {
            rest: rest.trim().to_string(),
            line,
            col,
        });
        true
    }

    /// A finished top-level paragraph.
    fn paragraph(&mut self, pieces: &[Piece], offset: usize) {
        let mut strip = HtmlStrip::default();
        // Split into lines, remembering whether the first line is entirely bold.
        let mut lines: Vec<String> = vec![String::new()];
        let mut first_bold = true;
        let mut first_has_bold = false;
        let mut strong = 0usize;
        for p in pieces {
            let on_first = lines.len() == 1;
            match p {
                Piece::StrongStart => {
                    strong += 1;
                    if on_first {
                        first_has_bold = true;
                    }
                }
                Piece::StrongEnd => strong = strong.saturating_sub(1),
                Piece::Break => lines.push(String::new()),
                Piece::Text(t) => {
                    if on_first
                        && strong == 0
                        && !strip.in_comment
                        && t.chars().any(|c| !c.is_whitespace() && c != ':')
                    {
                        first_bold = false;
                    }
                    if let Some(last) = lines.last_mut() {
                        strip.text(t, last);
                    }
                }
                Piece::Html(h) => {
                    if let Some(last) = lines.last_mut() {
                        strip.html(h, last);
                    }
                }
            }
        }
        let mut found_status = false;
        for l in &lines {
            found_status |= self.status(l, offset);
        }
        if found_status {
            return;
        }
        let first = lines.first().cloned().unwrap_or_default();
        if first_has_bold && first_bold && first.chars().any(|c| c.is_alphanumeric()) {
            // A bold line: starts a section, ends a bold-started one, or is a sub-heading.
            self.heading(&first, 7, offset);
            self.content(&lines.get(1..).unwrap_or_default().join("\n"));
            return;
        }
        self.content(&lines.join("\n"));
    }
}

/// Parse `body`, recognising `known` section names, and judging content with `placeholders`.
pub fn parse(body: &str, known: &[String], placeholders: &[String]) -> ParsedBody {
    let mut b = Builder {
        lines: Lines::new(body),
        known: known.iter().map(|k| key(k)).collect(),
        placeholders: placeholders.iter().map(|p| norm(p)).collect(),
        out: ParsedBody::default(),
        open: None,
    };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // Containers (lists, quotes, tables, ...) we are inside; only depth 0 starts sections.
    let mut depth = 0usize;
    // The paragraph or heading being collected, with where it started.
    let mut inline: Option<(Vec<Piece>, usize, Option<u8>)> = None;
    // Text of the leaf block being collected inside containers (tight list items, cells).
    let mut leaf = String::new();
    let mut leaf_strip = HtmlStrip::default();
    let mut html_block: Option<String> = None;

    for (event, range) in Parser::new_ext(body, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::Paragraph) if depth == 0 => {
                inline = Some((Vec::new(), range.start, None));
            }
            Event::End(TagEnd::Paragraph) if depth == 0 => {
                if let Some((pieces, offset, _)) = inline.take() {
                    b.paragraph(&pieces, offset);
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut b, &mut leaf, &mut leaf_strip);
                let lvl = level as u8;
                // A heading inside a container is only ever a sub-heading.
                let lvl = if depth == 0 { lvl } else { u8::MAX };
                inline = Some((Vec::new(), range.start, Some(lvl)));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((pieces, offset, Some(level))) = inline.take() {
                    let mut strip = HtmlStrip::default();
                    let mut text = String::new();
                    for p in &pieces {
                        match p {
                            Piece::Text(t) => strip.text(t, &mut text),
                            Piece::Html(h) => strip.html(h, &mut text),
                            Piece::Break => text.push(' '),
                            _ => {}
                        }
                    }
                    if level == u8::MAX {
                        continue;
                    }
                    if !b.status(&text, offset) {
                        b.heading(&text, level, offset);
                    }
                }
            }
            Event::Start(Tag::HtmlBlock) => {
                flush(&mut b, &mut leaf, &mut leaf_strip);
                html_block = Some(String::new());
            }
            Event::End(TagEnd::HtmlBlock) => {
                if let Some(raw) = html_block.take() {
                    let mut text = String::new();
                    HtmlStrip::default().html(&raw, &mut text);
                    b.content(&text);
                }
            }
            Event::Html(h) => {
                if let Some(raw) = html_block.as_mut() {
                    raw.push_str(&h);
                } else {
                    leaf_strip.html(&h, &mut leaf);
                }
            }
            Event::Start(
                Tag::List(_)
                | Tag::Item
                | Tag::BlockQuote(_)
                | Tag::Table(_)
                | Tag::TableHead
                | Tag::TableRow
                | Tag::TableCell
                | Tag::FootnoteDefinition(_)
                | Tag::CodeBlock(_)
                | Tag::DefinitionList
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition,
            ) => {
                flush(&mut b, &mut leaf, &mut leaf_strip);
                depth += 1;
            }
            Event::End(
                TagEnd::List(_)
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::Table
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::TableCell
                | TagEnd::FootnoteDefinition
                | TagEnd::CodeBlock
                | TagEnd::DefinitionList
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            ) => {
                flush(&mut b, &mut leaf, &mut leaf_strip);
                depth = depth.saturating_sub(1);
            }
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {
                flush(&mut b, &mut leaf, &mut leaf_strip);
            }
            other => {
                if let Some((pieces, _, _)) = inline.as_mut() {
                    match other {
                        Event::Start(Tag::Strong) => pieces.push(Piece::StrongStart),
                        Event::End(TagEnd::Strong) => pieces.push(Piece::StrongEnd),
                        Event::Text(t) | Event::Code(t) => {
                            pieces.push(Piece::Text(t.into_string()))
                        }
                        Event::InlineHtml(h) => pieces.push(Piece::Html(h.into_string())),
                        Event::SoftBreak | Event::HardBreak => pieces.push(Piece::Break),
                        _ => {}
                    }
                } else {
                    match other {
                        Event::Text(t) | Event::Code(t) => leaf_strip.text(&t, &mut leaf),
                        Event::InlineHtml(h) => leaf_strip.html(&h, &mut leaf),
                        Event::SoftBreak | Event::HardBreak => leaf.push('\n'),
                        _ => {}
                    }
                }
            }
        }
    }
    flush(&mut b, &mut leaf, &mut leaf_strip);
    b.out
}

fn flush(b: &mut Builder, leaf: &mut String, strip: &mut HtmlStrip) {
    if !leaf.is_empty() {
        b.content(leaf);
        leaf.clear();
    }
    *strip = HtmlStrip::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        crate::policy::canary::CanaryPolicy::default().sections(crate::policy::canary::Tier::Full)
    }

    fn ph() -> Vec<String> {
        crate::policy::canary::CanaryPolicy::default().placeholders
    }

    fn filled(body: &str, name: &str) -> Option<bool> {
        let p = parse(body, &known(), &ph());
        let found = p.find(name);
        found.first().map(|s| s.filled_blocks > 0)
    }

    #[test]
    fn headings_of_any_level_and_bold_lines() {
        assert_eq!(
            filled("# What changed\n\ntext\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("###### what  CHANGED:\n\ntext\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("**What changed**\n\ntext\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("**What changed:**\ntext on the next line\n", "What changed"),
            Some(true)
        );
        assert_eq!(filled("**What changed**:\n", "What changed"), Some(false));
        assert_eq!(
            filled(
                "Explicit out of scope\n---\n\n- a\n",
                "Explicit out-of-scope"
            ),
            Some(true)
        );
    }

    #[test]
    fn empty_placeholder_and_subheading_only_count_as_missing() {
        for body in [
            "## What changed\n\n## Why it changed\nx\n",
            "## What changed\nTODO\n",
            "## What changed\n- TBD\n",
            "## What changed\n\n...\n",
            "## What changed\n\n-\n",
            "## What changed\n<fill in>\n",
            "## What changed\n<!-- describe what changed -->\n",
            "## What changed\n<!--\nmulti\nline\n-->\n",
            "## What changed\n### Details\n",
            "## What changed\n**Details**\n",
            "## What changed\nTODO: write this\n",
        ] {
            assert_eq!(filled(body, "What changed"), Some(false), "{body:?}");
        }
        assert_eq!(
            filled("## What changed\n### Details\nreal text\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("## What changed\n```\ncode\n```\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("## What changed\n| a |\n|---|\n| b |\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled("## What changed\nTBD after review by ops\n", "What changed"),
            Some(true)
        );
    }

    #[test]
    fn a_higher_heading_ends_a_section() {
        let body = "### Merge blockers\n## Validation\n- passed\n";
        assert_eq!(filled(body, "Merge blockers"), Some(false));
    }

    #[test]
    fn status_lines_are_found_outside_code() {
        let p = parse(
            "Canary status: passed — ok\n\n```\nCanary status: failed\n```\n\n**Canary status:** pending\n",
            &known(),
            &ph(),
        );
        assert_eq!(p.status.len(), 2);
        assert_eq!(p.status[0].rest, "passed — ok");
        assert_eq!(p.status[0].line, 1);
        assert_eq!(p.status[1].rest, "pending");
        assert_eq!(p.status[1].line, 7);
    }

    #[test]
    fn headings_inside_quotes_or_lists_do_not_start_sections() {
        let p = parse(
            "> ## What changed\n> text\n\n- **What changed**\n",
            &known(),
            &ph(),
        );
        assert!(p.sections.is_empty());
    }
}
