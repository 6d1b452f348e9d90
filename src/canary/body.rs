//! Reading a pull-request body as Markdown (pulldown-cmark): which canary sections it has,
//! whether each holds real text, and its `Canary status:` lines.
//!
//! A section starts at a top-level heading of any level, or at a top-level paragraph whose
//! first line is all bold (`**What changed**`, `**What changed:**`), whose text names a known
//! section (compared case-, space- and punctuation-insensitively). It ends at the next heading
//! of the same or a higher level (a bold line counts as the lowest level). Deeper headings
//! inside it are sub-headings: they do not count as content. What Forgejo does not show is
//! dropped ([`super::rendered`]: comments, tags, elements the sanitizer removes with their
//! text, characters that draw nothing); a block that is then empty, punctuation only, or
//! placeholder text ([`is_placeholder`]) is not content.

use super::rendered::HtmlScan;
use crate::visible::{is_invisible, is_visible_alphanumeric};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// A known section found in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The normalized name (see [`key`]).
    pub key: String,
    /// The heading as written (without markup).
    pub heading: String,
    pub line: usize,
    pub col: usize,
    /// Whether a content block (paragraph, list item, code block, cell, HTML block) holds real
    /// text. Once one does, nothing later in the body can undo it, so the reader stops judging
    /// the section's further blocks.
    pub filled: bool,
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
    let mut out = String::new();
    key_into(s, &mut out);
    out
}

/// [`key`] into a reused buffer (it runs for every heading and bold line).
fn key_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        // The common case, byte by byte: the same result as below, without char decoding.
        out.extend(
            s.bytes()
                .filter(u8::is_ascii_alphanumeric)
                .map(|b| char::from(b.to_ascii_lowercase())),
        );
    } else {
        out.extend(
            s.chars()
                .filter(|c| is_visible_alphanumeric(*c))
                .flat_map(char::to_lowercase),
        );
    }
}

/// A text as the placeholder test reads it: what shows, lowercased, every run of whitespace
/// one space.
#[derive(Clone)]
struct Shown<'a> {
    chars: std::str::Chars<'a>,
    lower: Option<std::char::ToLowercase>,
    after_space: bool,
}

impl<'a> Shown<'a> {
    fn new(s: &'a str) -> Shown<'a> {
        Shown {
            chars: s.chars(),
            lower: None,
            after_space: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.clone().next()
    }
}

impl Iterator for Shown<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        if let Some(lower) = &mut self.lower {
            if let Some(c) = lower.next() {
                return Some(c);
            }
            self.lower = None;
        }
        loop {
            let c = self.chars.next()?;
            if c.is_whitespace() {
                if self.after_space {
                    continue;
                }
                self.after_space = true;
                return Some(' ');
            }
            if is_invisible(c) {
                continue;
            }
            self.after_space = false;
            if c.is_ascii() {
                return Some(c.to_ascii_lowercase());
            }
            let mut lower = c.to_lowercase();
            let first = lower.next();
            self.lower = Some(lower);
            return first;
        }
    }
}

/// A placeholder from the policy as it is matched: shown text, lowercased, with the
/// punctuation and brackets around it dropped (`<fill in>` is `fill in`). Empty for a
/// placeholder without letters or digits (`-`, `...`): punctuation-only text is never
/// content anyway.
pub fn placeholder_core(p: &str) -> String {
    let shown: String = Shown::new(p).collect();
    shown
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_string()
}

/// What may follow a placeholder and still leave the block a placeholder: the rest is a note
/// about the missing text (`TODO - fill in later`, `TBD: after review`, `[TODO] write this`,
/// `TODO (later)`).
const SEPARATORS: &[char] = &[
    ':', '-', '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}',
    '=', '>', '\u{2192}', '|', '/', ';', ',', '.', '\u{2026}', '!', '?', '(', ')', '[', ']', '{',
    '}', '<',
];

/// If `text` starts with the placeholder `core`, what follows it (the placeholder must end at
/// a word boundary).
fn strip_core<'a>(text: &Shown<'a>, core: &str) -> Option<Shown<'a>> {
    if core.is_empty() {
        return None;
    }
    let mut t = text.clone();
    for want in core.chars() {
        if t.next()? != want {
            return None;
        }
    }
    if t.peek().is_some_and(char::is_alphanumeric) {
        return None;
    }
    Some(t)
}

pub use crate::folded::PLACEHOLDER_MARKERS as MARKERS;

pub use crate::folded::EMPTY_WORDS;

/// The placeholders a body is judged with: the policy's ([`placeholder_core`]) and the
/// built-in [`MARKERS`] for the separator rule, and every one of them plus [`EMPTY_WORDS`]
/// as the words a block made only of is empty (letters and digits only, lowercased).
#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    /// Longest first, so that `todo list` wins over `todo` where both are placeholders.
    cores: Vec<String>,
    words: Vec<Vec<char>>,
    longest_word: usize,
}

impl Placeholders {
    pub fn new(policy: &[String]) -> Placeholders {
        let mut cores: Vec<String> = policy.iter().map(|p| placeholder_core(p)).collect();
        cores.extend(MARKERS.iter().map(|m| m.to_string()));
        cores.sort_by_key(|c| std::cmp::Reverse(c.len()));
        cores.dedup();
        let mut words: Vec<Vec<char>> = Vec::new();
        for w in cores
            .iter()
            .map(String::as_str)
            .chain(EMPTY_WORDS.iter().copied())
        {
            let letters: Vec<char> = w.chars().filter(|c| c.is_alphanumeric()).collect();
            if !letters.is_empty() && !words.contains(&letters) {
                words.push(letters);
            }
        }
        let longest_word = words.iter().map(Vec::len).max().unwrap_or(0);
        Placeholders {
            cores,
            words,
            longest_word,
        }
    }
}

/// True when a block's text is not real content. It is read as a person reads it
/// ([`crate::folded::fold`]: fullwidth, mathematical and accented letters and Latin
/// look-alikes of other scripts are plain letters), then, after dropping what shows nothing:
/// no letter or digit at all; or its letters and digits, without the spaces and punctuation
/// between them, are placeholder words and nothing else ([`Placeholders`]: `n/a`, `T O D O`,
/// `TODO TODO later`); or it starts (after any punctuation or brackets) with a placeholder, and
/// after that comes nothing but punctuation, or a separator ([`SEPARATORS`]) and then anything
/// (a note about the placeholder), or another placeholder by the same rule. `TODO?`, `[TODO]`,
/// `(TBD)`, `TODO - fill in later`, `TBD: after review` and `todo todo` are placeholders;
/// `TBD after review by ops` (words after it, no separator) is content.
pub fn is_placeholder(text: &str, placeholders: &Placeholders) -> bool {
    let folded;
    let text = if text.is_ascii() {
        text
    } else {
        folded = crate::folded::fold(text);
        folded.as_str()
    };
    let shown = Shown::new(text);
    starts_with_placeholder(shown.clone(), &placeholders.cores)
        || only_placeholder_words(shown, placeholders)
}

/// The separator rule of [`is_placeholder`].
fn starts_with_placeholder(mut rest: Shown, cores: &[String]) -> bool {
    loop {
        // To the first letter or digit; none left means nothing but punctuation.
        let first = loop {
            match rest.peek() {
                None => return true,
                Some(c) if c.is_alphanumeric() => break c,
                Some(_) => {
                    rest.next();
                }
            }
        };
        // No placeholder starts with that letter: content, decided without trying each one
        // (most blocks of real text end here).
        if !cores.iter().any(|core| core.starts_with(first)) {
            return false;
        }
        let Some(mut after) = cores.iter().find_map(|core| strip_core(&rest, core)) else {
            return false;
        };
        while after.peek() == Some(' ') {
            after.next();
        }
        match after.peek() {
            None => return true,
            Some(c) if SEPARATORS.contains(&c) => return true,
            Some(_) => rest = after,
        }
    }
}

/// Whether the letters and digits of `shown`, read without what lies between them, split
/// into placeholder words. Read one character at a time, and given up as soon as no split
/// can go on, so real text is decided within its first few letters.
fn only_placeholder_words(shown: Shown, p: &Placeholders) -> bool {
    // Most real text is decided by its first letter, before anything is allocated.
    let mut letters_only = shown.clone().filter(|c| c.is_alphanumeric());
    match letters_only.next() {
        None => return true,
        Some(first) if !p.words.iter().any(|w| w.first() == Some(&first)) => return false,
        Some(_) => {}
    }
    // `reach[i]`: the first `i` letters split into words.
    let mut letters: Vec<char> = Vec::new();
    let mut reach: Vec<bool> = vec![true];
    for c in shown.filter(|c| c.is_alphanumeric()) {
        letters.push(c);
        let n = letters.len();
        let ends_here = p
            .words
            .iter()
            .any(|w| n >= w.len() && reach[n - w.len()] && letters[n - w.len()..] == w[..]);
        reach.push(ends_here);
        // Some word must still be able to end later: a split point within reach whose
        // letters after it begin a word.
        let alive = (n.saturating_sub(p.longest_word)..=n).any(|start| {
            reach[start]
                && p.words
                    .iter()
                    .any(|w| w.len() > n - start && w[..n - start] == letters[start..])
        });
        if !alive && !ends_here {
            return false;
        }
    }
    reach.last().copied().unwrap_or(false)
}

/// Byte offset to 1-based line and column (in characters). Only headings and status lines
/// need a position, and they come in body order, so lines are counted forward from the last
/// answer instead of indexing the whole body up front.
struct Lines<'a> {
    text: &'a str,
    /// The start of the line holding the last offset asked for, and that line's number.
    line_start: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            line_start: 0,
            line: 1,
        }
    }

    fn at(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let bytes = self.text.as_bytes();
        // An offset before the last one asked for: count again from the top.
        let between = match bytes.get(self.line_start..offset) {
            Some(between) => between,
            None => {
                self.line_start = 0;
                self.line = 1;
                bytes.get(..offset).unwrap_or_default()
            }
        };
        if let Some(last) = between.iter().rposition(|b| *b == b'\n') {
            self.line += between.iter().filter(|b| **b == b'\n').count();
            self.line_start += last + 1;
        }
        let col = self
            .text
            .get(self.line_start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0);
        (self.line, col + 1)
    }
}

/// Where we are: inside a section started at `level` (1-6 headings, 7 a bold line).
struct Open {
    index: usize,
    level: u8,
}

/// The top-level paragraph or heading being read, one inline event at a time. Its buffers
/// are reused from block to block, so reading a body allocates per section, not per block.
#[derive(Default)]
struct Inline {
    /// Whether a paragraph or heading is being read at all.
    active: bool,
    /// `Some(level)` for a heading (`u8::MAX` inside a container), `None` for a paragraph.
    heading: Option<u8>,
    /// Source offset of each line's start (headings have one line).
    line_offsets: Vec<usize>,
    /// The text; a paragraph's lines joined by `\n` (the only `\n` in it), a heading's by
    /// spaces.
    text: String,
    strong: usize,
    /// Whether the first line holds nothing but bold text (and `:`).
    first_all_bold: bool,
}

impl Inline {
    fn start(&mut self, offset: usize, heading: Option<u8>) {
        self.active = true;
        self.heading = heading;
        self.line_offsets.clear();
        self.line_offsets.push(offset);
        self.text.clear();
        self.strong = 0;
        self.first_all_bold = true;
    }

    fn on_first_line(&self) -> bool {
        self.line_offsets.len() == 1
    }

    fn strong(&mut self, start: bool) {
        if start {
            self.strong += 1;
        } else {
            self.strong = self.strong.saturating_sub(1);
        }
    }

    fn text(&mut self, t: &str) {
        if self.on_first_line()
            && self.strong == 0
            && t.chars()
                .any(|c| !c.is_whitespace() && c != ':' && !is_invisible(c))
        {
            self.first_all_bold = false;
        }
        // Line breaks are events of their own; keep `\n` meaning exactly one of them.
        // Text events are short: the slice search beats the SIMD one's set-up here.
        if t.as_bytes().contains(&b'\n') {
            self.text.push_str(&t.replace('\n', " "));
        } else {
            self.text.push_str(t);
        }
    }

    /// A line break; `next` is the source offset after it.
    fn line_break(&mut self, next: usize) {
        if self.heading.is_some() {
            self.text.push(' ');
        } else {
            self.text.push('\n');
            self.line_offsets.push(next);
        }
    }

    /// The paragraph's lines, each with its source offset.
    fn lines(&self) -> impl Iterator<Item = (&str, usize)> {
        self.text.split('\n').zip(self.line_offsets.iter().copied())
    }
}

struct Builder<'a> {
    lines: Lines<'a>,
    known: Vec<String>,
    placeholders: Placeholders,
    /// Reused by heading keys.
    scratch: String,
    out: ParsedBody,
    open: Option<Open>,
}

impl Builder<'_> {
    /// Whether a block read now can change an answer: a section is open and holds no real
    /// text yet. When not, a block's text is not collected.
    fn wants_content(&self) -> bool {
        self.open
            .as_ref()
            .and_then(|open| self.out.sections.get(open.index))
            .is_some_and(|s| !s.filled)
    }

    fn content(&mut self, text: &str) {
        if let Some(open) = &self.open
            && let Some(s) = self.out.sections.get_mut(open.index)
            && !s.filled
            && !is_placeholder(text, &self.placeholders)
        {
            s.filled = true;
        }
    }

    /// A heading-like line: a known section starts; anything else at the same or a higher
    /// level ends the open section; deeper is a sub-heading (not content).
    fn heading(&mut self, text: &str, level: u8, offset: usize) {
        key_into(text, &mut self.scratch);
        if !self.scratch.is_empty() && self.known.contains(&self.scratch) {
            let (line, col) = self.lines.at(offset);
            self.out.sections.push(Section {
                key: self.scratch.clone(),
                heading: text.trim().to_string(),
                line,
                col,
                filled: false,
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

    fn status(&mut self, line_text: &str, offset: usize) -> bool {
        let trimmed = line_text.trim_start();
        let Some((label, rest)) = trimmed.split_once(':') else {
            return false;
        };
        key_into(label, &mut self.scratch);
        if self.scratch != "canarystatus" {
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

    /// A finished top-level paragraph or heading.
    fn inline_end(&mut self, inline: &Inline) {
        let offset = inline.line_offsets.first().copied().unwrap_or(0);
        match inline.heading {
            // A heading inside a container is only ever a sub-heading.
            Some(u8::MAX) => {}
            Some(level) => {
                if !self.status(&inline.text, offset) {
                    self.heading(&inline.text, level, offset);
                }
            }
            None => self.paragraph(inline, offset),
        }
    }

    fn paragraph(&mut self, inline: &Inline, offset: usize) {
        // A status line holds a `:`; most paragraphs have none, and are not split into lines.
        if inline.text.as_bytes().contains(&b':') {
            let mut found_status = false;
            for (line, line_offset) in inline.lines() {
                found_status |= self.status(line, line_offset);
            }
            if found_status {
                return;
            }
        }
        let (first, rest) = inline
            .text
            .split_once('\n')
            .unwrap_or((inline.text.as_str(), ""));
        // Letters or digits on a first line with nothing outside bold: they are bold.
        if inline.first_all_bold && first.chars().any(is_visible_alphanumeric) {
            // A bold line: starts a section, ends a bold-started one, or is a sub-heading.
            self.heading(first, 7, offset);
            self.content(rest);
            return;
        }
        self.content(&inline.text);
    }
}

/// The Markdown extensions the body is read with, those Forgejo renders with: GFM tables,
/// strikethrough, task lists, footnotes and math (`$...$`, `$$...$$`).
pub const OPTIONS: Options = Options::ENABLE_TABLES
    .union(Options::ENABLE_STRIKETHROUGH)
    .union(Options::ENABLE_TASKLISTS)
    .union(Options::ENABLE_FOOTNOTES)
    .union(Options::ENABLE_MATH);

/// A fenced code block Forgejo renders as math (```` ```math ````).
fn is_math_block(kind: &CodeBlockKind) -> bool {
    matches!(kind, CodeBlockKind::Fenced(info)
        if info.split_whitespace().next().is_some_and(|lang| lang.eq_ignore_ascii_case("math")))
}

/// The end tags of CommonMark's HTML blocks of type 1, which end such a block in any case
/// (CommonMark 4.6, and goldmark, Forgejo's renderer); pulldown-cmark only sees them in
/// lower case.
const TYPE_1_END_TAGS: &[&str] = &["</script>", "</pre>", "</style>", "</textarea>"];

/// `body` with the type-1 end tags in lower case (same length, so offsets stay right), so that
/// an HTML block ends where Forgejo ends it: `<STYLE>x</STYLE>` must not swallow the sections
/// after it. Borrowed when there is nothing to change.
fn lowercase_type_1_end_tags(body: &str) -> std::borrow::Cow<'_, str> {
    let needs = |rest: &[u8]| {
        TYPE_1_END_TAGS.iter().any(|tag| {
            rest.get(..tag.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(tag.as_bytes()) && b != tag.as_bytes())
        })
    };
    let bytes = body.as_bytes();
    let mut changed: Option<Vec<u8>> = None;
    // A SIMD search: this pass reads every byte of the body before the parser does.
    for at in memchr::memmem::find_iter(bytes, b"</") {
        if needs(&bytes[at..]) {
            let out = changed.get_or_insert_with(|| bytes.to_vec());
            let end = bytes[at..]
                .iter()
                .position(|b| *b == b'>')
                .map_or(at, |p| at + p);
            out[at..end].make_ascii_lowercase();
        }
    }
    match changed {
        // Only ASCII letters were lowercased: still UTF-8.
        Some(out) => std::borrow::Cow::Owned(String::from_utf8(out).unwrap_or_default()),
        None => std::borrow::Cow::Borrowed(body),
    }
}

/// Parse `body`, recognising `known` section names, and judging content with `placeholders`.
pub fn parse(body: &str, known: &[String], placeholders: &[String]) -> ParsedBody {
    let body = lowercase_type_1_end_tags(body);
    let body = body.as_ref();
    let mut b = Builder {
        lines: Lines::new(body),
        known: known.iter().map(|k| key(k)).collect(),
        placeholders: Placeholders::new(placeholders),
        scratch: String::new(),
        out: ParsedBody::default(),
        open: None,
    };
    // Containers (lists, quotes, tables, ...) we are inside; only depth 0 starts sections.
    let mut depth = 0usize;
    let mut inline = Inline::default();
    // Text of the leaf block being collected inside containers (tight list items, cells).
    let mut leaf = String::new();
    // The shown text of the HTML block being read (its buffer reused from block to block),
    // and whether one is being read.
    let mut html_block = String::new();
    let mut in_html_block = false;
    // What the HTML so far hides (a comment or a dropped element left open hides what follows,
    // Markdown included, as it does on Forgejo).
    let mut scan = HtmlScan::default();
    // The shown text of one inline HTML tag (normally nothing).
    let mut inline_html = String::new();
    // How deep we are in what is not shown where it is written: a footnote definition
    // (Forgejo drops one nobody references and shows the others at the end of the
    // description, not in the section), an image (its alt text is not shown once it loads),
    // a math block (what it draws is the renderer's: `\phantom{...}` draws nothing). Math
    // inline and display (`$...$`, `$$...$$`) are events of their own and never text.
    let mut unseen = 0usize;
    let mut in_math_block = false;

    for (event, range) in Parser::new_ext(body, OPTIONS).into_offset_iter() {
        // Matched by reference: moving each event into the arms costs copies.
        match &event {
            Event::Start(Tag::FootnoteDefinition(_)) => {
                flush(&mut b, &mut leaf);
                depth += 1;
                unseen += 1;
            }
            Event::End(TagEnd::FootnoteDefinition) => {
                flush(&mut b, &mut leaf);
                depth = depth.saturating_sub(1);
                unseen = unseen.saturating_sub(1);
            }
            Event::Start(Tag::CodeBlock(kind)) if is_math_block(kind) => {
                flush(&mut b, &mut leaf);
                depth += 1;
                unseen += 1;
                in_math_block = true;
            }
            Event::End(TagEnd::CodeBlock) if in_math_block => {
                flush(&mut b, &mut leaf);
                depth = depth.saturating_sub(1);
                unseen = unseen.saturating_sub(1);
                in_math_block = false;
            }
            Event::Start(Tag::Image { .. }) => unseen += 1,
            Event::End(TagEnd::Image) => unseen = unseen.saturating_sub(1),
            Event::Text(_) | Event::Code(_) | Event::Html(_) | Event::InlineHtml(_)
                if unseen > 0 => {}
            Event::Start(Tag::Paragraph) if depth == 0 => inline.start(range.start, None),
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut b, &mut leaf);
                let level = if depth == 0 { *level as u8 } else { u8::MAX };
                inline.start(range.start, Some(level));
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_)) if inline.active => {
                inline.active = false;
                b.inline_end(&inline);
            }
            Event::Start(Tag::HtmlBlock) => {
                flush(&mut b, &mut leaf);
                html_block.clear();
                in_html_block = true;
            }
            Event::End(TagEnd::HtmlBlock) if in_html_block => {
                in_html_block = false;
                b.content(&html_block);
            }
            // Only ever inside an HTML block.
            Event::Html(h) if in_html_block => scan.feed(h, &mut html_block),
            Event::InlineHtml(h) => {
                inline_html.clear();
                scan.feed(h, &mut inline_html);
                if !inline_html.is_empty() {
                    if inline.active {
                        inline.text(&inline_html);
                    } else if b.wants_content() {
                        leaf.push_str(&inline_html);
                    }
                }
            }
            // Text inside a dropped element or an open comment does not show.
            Event::Text(_) | Event::Code(_) if scan.hidden() => {}
            Event::Start(
                Tag::List(_)
                | Tag::Item
                | Tag::BlockQuote(_)
                | Tag::Table(_)
                | Tag::TableHead
                | Tag::TableRow
                | Tag::TableCell
                | Tag::CodeBlock(_)
                | Tag::DefinitionList
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition,
            ) => {
                flush(&mut b, &mut leaf);
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
                | TagEnd::CodeBlock
                | TagEnd::DefinitionList
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            ) => {
                flush(&mut b, &mut leaf);
                depth = depth.saturating_sub(1);
            }
            Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {
                flush(&mut b, &mut leaf);
            }
            other if inline.active => match other {
                Event::Start(Tag::Strong) => inline.strong(true),
                Event::End(TagEnd::Strong) => inline.strong(false),
                Event::Text(t) | Event::Code(t) => inline.text(t),
                Event::SoftBreak | Event::HardBreak => inline.line_break(range.end),
                _ => {}
            },
            // A leaf block's text, only while it can still fill the open section.
            other if b.wants_content() => match other {
                Event::Text(t) | Event::Code(t) => leaf.push_str(t),
                Event::SoftBreak | Event::HardBreak => leaf.push('\n'),
                _ => {}
            },
            _ => {}
        }
    }
    flush(&mut b, &mut leaf);
    b.out
}

fn flush(b: &mut Builder, leaf: &mut String) {
    if !leaf.is_empty() {
        b.content(leaf);
        leaf.clear();
    }
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
        found.first().map(|s| s.filled)
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
            // Long only in punctuation and spaces: still the placeholder.
            "## What changed\nTODO!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
            "## What changed\n- TBD                                                                  .\n",
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
        // HTML is markup, not the content: its text counts, its tags and comments do not.
        assert_eq!(
            filled(
                "## What changed\n<div>the gate now reads the plan</div>\n",
                "What changed"
            ),
            Some(true)
        );
        assert_eq!(
            filled(
                "## What changed\n<details><summary>TBD</summary></details>\n",
                "What changed"
            ),
            Some(false)
        );
        assert_eq!(
            filled(
                "## What changed\n<!-- hint --> <span>real text</span>\n",
                "What changed"
            ),
            Some(true)
        );
    }

    #[test]
    fn bold_words_apart_are_one_bold_line() {
        assert_eq!(
            filled("**What** **changed**\ntext\n", "What changed"),
            Some(true)
        );
        // Other text beside the bold makes it a paragraph, not a heading.
        assert_eq!(filled("**What changed** -\ntext\n", "What changed"), None);
    }

    #[test]
    fn html_blocks_keep_their_text_and_drop_tags_and_comments() {
        assert_eq!(
            filled("## What changed\n<td>load > 0.5</td>\n", "What changed"),
            Some(true)
        );
        assert_eq!(
            filled(
                "## What changed\n<p>TBD</p><!-- fill this in -->\n",
                "What changed"
            ),
            Some(false)
        );
    }

    #[test]
    fn placeholders_match_whatever_surrounds_them() {
        let cores: Vec<String> = ph().iter().map(|p| placeholder_core(p)).collect();
        assert_eq!(cores, vec!["todo", "tbd", "", "", "fill in"]);
        let cores = Placeholders::new(&ph());
        for text in [
            "TODO?",
            "[TODO]",
            "(TBD)",
            "TODO - fill in later",
            "TODO: write this",
            "TODO (later)",
            "todo todo",
            "  [ fill   IN ]  ",
            "T\u{200B}BD",
            "",
            "...",
        ] {
            assert!(is_placeholder(text, &cores), "{text:?}");
        }
        for text in [
            "TBD after review by ops",
            "TODOS are done",
            "Fill in the form was removed",
            "TODO's replacement is the gate",
            "x TODO",
            "None of the services restart",
            "Later releases drop the flag",
            "N/A for the web tier",
            "todo1",
        ] {
            assert!(!is_placeholder(text, &cores), "{text:?}");
        }
    }

    #[test]
    fn placeholder_words_alone_are_placeholders_however_written() {
        let cores = Placeholders::new(&ph());
        for text in [
            "n/a",
            "N.A.",
            "none",
            "TBD later",
            "T O D O",
            "TODO TODO TODO later",
            "xxxx",
            "WIP: later",
            "fill in",
            "\u{FF34}\u{FF2F}\u{FF24}\u{FF2F}",
            "\u{0422}\u{041E}D\u{041E}",
        ] {
            assert!(is_placeholder(text, &cores), "{text:?}");
        }
    }

    #[test]
    fn an_upper_case_end_tag_ends_a_raw_html_block_as_on_forgejo() {
        let body = "## What changed\n<STYLE>x</Style>\n\n## Why it changed\nbecause\n";
        assert_eq!(filled(body, "What changed"), Some(false));
        assert_eq!(filled(body, "Why it changed"), Some(true));
        assert_eq!(
            lowercase_type_1_end_tags("a </SCRIPT> </b> </PRE> é"),
            "a </script> </b> </pre> é"
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
    fn a_status_line_inside_a_paragraph_reports_its_own_line() {
        let p = parse(
            "# What changed\n\nSome text\nmore text\nCanary status: passed\n",
            &known(),
            &ph(),
        );
        assert_eq!(p.status.len(), 1);
        assert_eq!((p.status[0].line, p.status[0].col), (5, 1));
        assert_eq!(p.status[0].rest, "passed");
    }

    #[test]
    fn positions_are_right_in_any_order_of_asking() {
        let text = "ab\ncdé\n\nxyz";
        let mut lines = Lines::new(text);
        assert_eq!(lines.at(text.len()), (4, 4));
        assert_eq!(lines.at(4), (2, 2));
        assert_eq!(lines.at(0), (1, 1));
        assert_eq!(lines.at(7), (2, 4));
        assert_eq!(lines.at(8), (3, 1));
        assert_eq!(lines.at(usize::MAX), (4, 4));
    }

    #[test]
    fn headings_inside_quotes_or_lists_do_not_start_sections() {
        for body in [
            "> ## What changed\n> text\n\n- **What changed**\n",
            "> **What changed**\n> text\n",
            "- **What changed**\n\n  text\n\n- more\n",
        ] {
            let p = parse(body, &known(), &ph());
            assert!(p.sections.is_empty(), "{body:?}: {:?}", p.sections);
        }
        let p = parse("> Canary status: passed\n", &known(), &ph());
        assert!(p.status.is_empty(), "{:?}", p.status);
    }

    #[test]
    fn bold_ends_where_its_markup_ends_and_lines_stay_apart() {
        // `**Note:** text` is a paragraph with a bold start, not a bold line that would close
        // the section.
        assert_eq!(
            filled(
                "**What changed**\n\n**Note:** the gate reads the plan.\n",
                "What changed"
            ),
            Some(true)
        );
        // Two lines of a list item are two words; the letters of a placeholder spread over
        // them still spell it, as `T B D` does.
        assert_eq!(
            filled("## What changed\n- TB\n  D\n", "What changed"),
            Some(false)
        );
        assert_eq!(
            filled("## What changed\n- TB\n  Dev hosts first\n", "What changed"),
            Some(true)
        );
    }

    #[test]
    fn a_status_line_or_a_placeholder_under_a_bold_line_is_not_content() {
        assert_eq!(
            filled("## What changed\nCanary status: passed\n", "What changed"),
            Some(false)
        );
        assert_eq!(
            filled("**What changed**\nTODO\n", "What changed"),
            Some(false)
        );
    }

    #[test]
    fn a_block_inside_a_container_does_not_repeat_the_paragraph_before_it() {
        // The quote and the list belong to "Why it changed" and hold placeholders only: the
        // paragraph of "What changed" before them must not be read again as their text.
        let body = "**What changed**\ntext\n\n**Why it changed**\n\n> TODO\n\n- TBD\n";
        let p = parse(body, &known(), &ph());
        assert_eq!(p.find("What changed").len(), 1, "{:?}", p.sections);
        assert_eq!(filled(body, "What changed"), Some(true));
        assert_eq!(filled(body, "Why it changed"), Some(false));
    }

    #[test]
    fn a_filled_section_does_not_fill_the_next_one() {
        // Once a section holds real text the reader stops judging its blocks; the next
        // section's blocks are judged again, in every kind of block.
        for rest in [
            "- TODO\n",
            "> TBD\n",
            "<div>TBD</div>\n",
            "<span>TODO</span> <!-- real text -->\n",
            "| TODO |\n|---|\n| - |\n",
            "```\n```\n",
            "- <span>TODO</span>\n  <style>real words</style>\n",
        ] {
            let body = format!(
                "## What changed\nreal text\n\n- more\n\n<div>more</div>\n\n## Why it changed\n{rest}"
            );
            assert_eq!(filled(&body, "What changed"), Some(true), "{body:?}");
            assert_eq!(filled(&body, "Why it changed"), Some(false), "{body:?}");
        }
        // The same blocks after one of real text: filled.
        let body = "## Why it changed\n- TODO\n- real text\n- TBD\n";
        assert_eq!(filled(body, "Why it changed"), Some(true));
    }
}
