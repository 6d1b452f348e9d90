//! What a reader sees of a pull-request body on Forgejo, as far as "is this section empty?"
//! needs it.
//!
//! Forgejo renders Markdown to HTML and then runs its sanitizer (bluemonday's UGC policy plus
//! Forgejo's own allow-list, `modules/markup/sanitizer_default.go`). Comments are dropped; an
//! element that is not allowed loses its tags but keeps its text, except the elements the
//! sanitizer drops together with their content: `script`, `style`, `title`, `noscript`,
//! `noembed`, `noframes`, `iframe`, `object`, `frame`, `frameset`, `nostyle`. The first seven
//! are raw-text elements for the HTML tokenizer, so everything up to their end tag is theirs,
//! Markdown included. [`HtmlScan`] follows that, across the body's HTML fragments in order.
//!
//! Characters that render as nothing ([`is_invisible`]) never count as text: control and
//! format characters (Unicode category Cc and Cf: zero-width spaces and joiners, bidi marks,
//! soft hyphen, word joiner, tag characters, BOM), the Hangul fillers (U+115F, U+1160,
//! U+3164, U+FFA0, which are letters to Unicode but draw nothing), variation selectors, the
//! combining grapheme joiner, Khmer's invisible vowels, Mongolian's free variation selectors,
//! and the braille blank U+2800. Whitespace is a separator, never content.

/// The elements the sanitizer drops with their content that the HTML tokenizer also reads as
/// raw text (nothing inside is markup until the end tag).
const RAW_HIDDEN: &[&str] = &[
    "script", "style", "title", "noscript", "noembed", "noframes", "iframe",
];

/// The other elements the sanitizer drops with their content (nested ones are counted).
const HIDDEN: &[&str] = &["object", "frame", "frameset", "nostyle"];

use crate::visible::is_invisible;

/// Named character references that render as nothing or as blank space. Every other named
/// reference is read as one symbol (never as the letters of its name), so `&hellip;` is not
/// text while `&lt;` is not a letter either.
const INVISIBLE_ENTITIES: &[&str] = &[
    "nbsp",
    "NonBreakingSpace",
    "ensp",
    "emsp",
    "emsp13",
    "emsp14",
    "numsp",
    "puncsp",
    "thinsp",
    "ThinSpace",
    "hairsp",
    "VeryThinSpace",
    "MediumSpace",
    "ZeroWidthSpace",
    "NegativeVeryThinSpace",
    "NegativeThinSpace",
    "NegativeMediumSpace",
    "NegativeThickSpace",
    "zwnj",
    "zwj",
    "lrm",
    "rlm",
    "shy",
    "NoBreak",
    "af",
    "ApplyFunction",
    "it",
    "InvisibleTimes",
    "ic",
    "InvisibleComma",
    "Tab",
    "NewLine",
];

/// The state of the HTML seen so far in the body: inside a comment, inside an element whose
/// content the sanitizer drops. Fed with every HTML fragment (blocks and inline tags) in
/// order; Markdown text read while [`HtmlScan::hidden`] is true is not shown either.
#[derive(Debug, Default)]
pub struct HtmlScan {
    /// Inside `<!-- ...` whose `-->` has not come yet.
    comment: bool,
    /// Inside a raw-text element that is dropped: its name, waiting for `</name`.
    raw: Option<&'static str>,
    /// Open elements of [`HIDDEN`].
    depth: usize,
}

impl HtmlScan {
    /// Is what comes now hidden from the reader?
    pub fn hidden(&self) -> bool {
        self.comment || self.raw.is_some() || self.depth > 0
    }

    /// Read one HTML fragment; the text it shows is appended to `out`, character references
    /// decoded (a named one that draws something becomes U+FFFD, a symbol).
    pub fn feed(&mut self, html: &str, out: &mut String) {
        let mut rest = html;
        while !rest.is_empty() {
            if self.comment {
                match memchr::memmem::find(rest.as_bytes(), b"-->") {
                    Some(end) => {
                        self.comment = false;
                        rest = &rest[end + 3..];
                    }
                    None => return,
                }
                continue;
            }
            if let Some(name) = self.raw {
                match find_end_tag(rest, name) {
                    Some(end) => {
                        self.raw = None;
                        rest = skip_tag(&rest[end..]);
                    }
                    None => return,
                }
                continue;
            }
            // ASCII bytes, so `at` is a character boundary.
            let Some(at) = memchr::memchr2(b'<', b'&', rest.as_bytes()) else {
                self.text(rest, out);
                return;
            };
            self.text(&rest[..at], out);
            rest = &rest[at..];
            if rest.starts_with('&') {
                let (decoded, len) = entity(rest);
                if !self.hidden() {
                    match decoded {
                        Some(c) => out.push(c),
                        None if len > 1 => {}
                        None => out.push('&'),
                    }
                }
                rest = &rest[len..];
                continue;
            }
            rest = self.tag(rest, out);
        }
    }

    fn text(&self, s: &str, out: &mut String) {
        if !self.hidden() {
            out.push_str(s);
        }
    }

    /// `rest` starts with `<`: read a comment or a tag, return what follows it.
    fn tag<'a>(&mut self, rest: &'a str, out: &mut String) -> &'a str {
        if let Some(after) = rest.strip_prefix("<!--") {
            self.comment = true;
            return after;
        }
        let bytes = rest.as_bytes();
        let next = bytes.get(1).copied().unwrap_or(0);
        // `<!doctype>`, `<![CDATA[`, `<?...>`: bogus comments up to `>`.
        if next == b'!' || next == b'?' {
            return skip_tag(rest);
        }
        let (closing, name_start) = if next == b'/' { (true, 2) } else { (false, 1) };
        if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            // Not a tag: a literal `<`.
            self.text("<", out);
            return &rest[1..];
        }
        let name_len = rest[name_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
            .count();
        // Compared without case and without a copy: a tag is read for every element shown.
        let name = &rest[name_start..name_start + name_len];
        let is =
            |list: &[&'static str]| list.iter().find(|n| n.eq_ignore_ascii_case(name)).copied();
        let after = skip_tag(rest);
        if closing {
            if is(HIDDEN).is_some() {
                self.depth = self.depth.saturating_sub(1);
            }
        } else if let Some(raw) = is(RAW_HIDDEN) {
            // Even `<script/>` opens one: the tokenizer ignores the slash on these.
            self.raw = Some(raw);
        } else if is(HIDDEN).is_some() && !rest[..rest.len() - after.len()].ends_with("/>") {
            self.depth = self.depth.saturating_add(1);
        }
        after
    }
}

/// Skip a tag that starts `rest`, up to and including its `>`, quotes respected. An unclosed
/// tag swallows the rest (it shows nothing).
fn skip_tag(rest: &str) -> &str {
    let mut quote: Option<u8> = None;
    for (i, b) in rest.bytes().enumerate() {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') if i > 1 => quote = Some(b),
            (None, b'>') => return &rest[i + 1..],
            _ => {}
        }
    }
    ""
}

/// Where `</name` (any case, then whitespace, `/` or `>`) starts in `s`.
fn find_end_tag(s: &str, name: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&bytes[from..], b"</").map(|i| i + from) {
        let start = i + 2;
        let end = start + name.len();
        if bytes
            .get(start..end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && bytes
                .get(end)
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b'/' || *b == b'>')
        {
            return Some(i);
        }
        from = start;
    }
    None
}

/// A character reference at the start of `s` (which starts with `&`): what it shows (`None`
/// for nothing) and how many bytes it takes. A lone `&` is `(None, 1)`: the caller keeps it.
fn entity(s: &str) -> (Option<char>, usize) {
    let bytes = s.as_bytes();
    if bytes.get(1) == Some(&b'#') {
        let (hex, digits_at) = match bytes.get(2) {
            Some(b'x' | b'X') => (true, 3),
            _ => (false, 2),
        };
        let digits = bytes[digits_at..]
            .iter()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if digits == 0 {
            return (None, 1);
        }
        let text = &s[digits_at..digits_at + digits];
        let value = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok();
        let c = value
            .and_then(char::from_u32)
            .filter(|c| *c != '\0')
            .unwrap_or('\u{FFFD}');
        let mut len = digits_at + digits;
        if bytes.get(len) == Some(&b';') {
            len += 1;
        }
        return (
            Some(c).filter(|c| !is_invisible(*c) && !c.is_whitespace()),
            len,
        );
    }
    let name_len = bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 || !bytes[1].is_ascii_alphabetic() {
        return (None, 1);
    }
    let name = &s[1..1 + name_len];
    let mut len = 1 + name_len;
    if bytes.get(len) == Some(&b';') {
        len += 1;
    }
    if INVISIBLE_ENTITIES.contains(&name) {
        (None, len)
    } else {
        (Some('\u{FFFD}'), len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visible::is_visible_alphanumeric;

    fn shown(fragments: &[&str]) -> String {
        let mut scan = HtmlScan::default();
        let mut out = String::new();
        for f in fragments {
            scan.feed(f, &mut out);
        }
        out
    }

    #[test]
    fn comments_and_dropped_elements_show_nothing() {
        assert_eq!(shown(&["<td>load > 0.5</td>"]), "load > 0.5");
        assert_eq!(shown(&["a < b"]), "a < b");
        assert_eq!(shown(&["<p>TBD</p><!-- fill this in -->"]), "TBD");
        assert_eq!(shown(&["a<!-- x -->b<!-- y\nz -->c"]), "abc");
        assert_eq!(shown(&["a<!-- never closed", "b"]), "a");
        assert_eq!(shown(&["<style>x</style>y"]), "y");
        assert_eq!(shown(&["<SCRIPT type=x>a</p>b</ScRiPt >c"]), "c");
        assert_eq!(shown(&["<style>", "hidden", "</style>", "shown"]), "shown");
        assert_eq!(shown(&["<object><object>a</object>b</object>c"]), "c");
        assert_eq!(shown(&["<div title=\"a>b\">text</div>"]), "text");
        assert_eq!(shown(&["<title>never closed", "<p>x</p>"]), "");
    }

    #[test]
    fn references_decode_and_invisible_ones_vanish() {
        assert_eq!(shown(&["&#65;&#x42;&amp;"]), "AB\u{FFFD}");
        assert_eq!(
            shown(&["&#x200B;&#8203;&nbsp;&ZeroWidthSpace;&#x3164;"]),
            ""
        );
        assert_eq!(shown(&["R&D & co"]), "R\u{FFFD} & co");
        assert_eq!(shown(&["&#xZZ;"]), "&#xZZ;");
    }

    #[test]
    fn invisible_characters() {
        for c in [
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{3164}',
            '\u{115F}',
            '\u{1160}',
            '\u{FFA0}',
            '\u{2800}',
            '\u{FE0F}',
            '\u{E0100}',
            '\u{E0041}',
            '\u{034F}',
            '\u{180E}',
            '\u{0007}',
            '\u{0085}',
        ] {
            assert!(
                is_invisible(c) || c.is_whitespace(),
                "U+{:04X} renders as nothing",
                c as u32
            );
            assert!(!is_visible_alphanumeric(c), "U+{:04X}", c as u32);
        }
        for c in ['a', 'Ü', '日', '한', '1', '-', ' ', '\n'] {
            assert!(!is_invisible(c), "{c:?}");
        }
    }
}
