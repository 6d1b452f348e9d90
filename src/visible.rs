//! Characters that render as nothing on Forgejo (and are not whitespace): control and format
//! characters (Unicode Cc and Cf), the Hangul fillers, variation selectors, the combining
//! grapheme joiner, Khmer's invisible vowels, Mongolian's free variation selectors and the
//! braille blank. A leaf module: the canary body reader uses it to tell shown text from
//! hidden text, and the policy reader to refuse a section name with no letter or digit.

/// Format characters (Unicode 15.1, General_Category=Cf), as inclusive ranges.
const FORMAT: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

/// Other characters that draw nothing on their own.
const BLANK: &[(u32, u32)] = &[
    // Combining grapheme joiner.
    (0x034F, 0x034F),
    // Hangul choseong and jungseong fillers.
    (0x115F, 0x1160),
    // Khmer inherent vowels.
    (0x17B4, 0x17B5),
    // Mongolian free variation selectors.
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    // Braille pattern blank.
    (0x2800, 0x2800),
    // Hangul filler.
    (0x3164, 0x3164),
    // Variation selectors.
    (0xFE00, 0xFE0F),
    // Halfwidth Hangul filler.
    (0xFFA0, 0xFFA0),
    // Variation selectors supplement.
    (0xE0100, 0xE01EF),
];

fn in_ranges(c: char, ranges: &[(u32, u32)]) -> bool {
    let c = c as u32;
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// Does `c` render as nothing (and is not whitespace)?
pub fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control() && !c.is_ascii_whitespace();
    }
    if c.is_whitespace() {
        return false;
    }
    c.is_control() || in_ranges(c, FORMAT) || in_ranges(c, BLANK)
}

/// Is `c` a letter or digit that shows?
pub fn is_visible_alphanumeric(c: char) -> bool {
    c.is_alphanumeric() && !is_invisible(c)
}
