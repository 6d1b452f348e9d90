//! Text as a person reads it, for comparing what someone wrote against a word the gates know
//! (a placeholder, a label). A leaf module beside [`crate::visible`].
//!
//! [`fold`] keeps what shows and makes alike what looks alike: characters that render as
//! nothing are dropped ([`crate::visible::is_invisible`]); every character is replaced by its
//! compatibility decomposition (Unicode NFKD: fullwidth `ＴＯＤＯ`, mathematical `𝐓𝐎𝐃𝐎`,
//! circled `ⓉⓄⒹⓄ` and ligatures become plain letters, a no-break space a space); combining
//! marks are dropped (`T́ÖDO` is `TODO`); and letters of other scripts that look like a Latin
//! letter ([`LOOK_ALIKES`]: Cyrillic, Greek, Armenian, Latin small capitals) become that letter
//! (`ТОDО` with Cyrillic `Т` and `О` is `TODO`). Letter case is kept: callers lowercase as
//! they compare. [`key`] goes further: the letters and digits of [`fold`], lowercased, nothing
//! else, so `Tier / Full`, `tier‐full ` and `TIER/FULL` have one key.

use crate::visible::is_invisible;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Letters of other scripts that look like a Latin letter, upper and lower case, with the
/// Latin letter (lower case) they are read as. Sorted by code point.
const LOOK_ALIKES: &[(char, char)] = &[
    ('\u{0131}', 'i'), // dotless i
    ('\u{0237}', 'j'), // dotless j
    ('\u{0262}', 'g'), // small capital G
    ('\u{026A}', 'i'), // small capital I
    ('\u{0274}', 'n'), // small capital N
    ('\u{0280}', 'r'), // small capital R
    ('\u{028F}', 'y'), // small capital Y
    ('\u{0299}', 'b'), // small capital B
    ('\u{029C}', 'h'), // small capital H
    ('\u{029F}', 'l'), // small capital L
    ('\u{0391}', 'a'), // Greek Alpha
    ('\u{0392}', 'b'), // Beta
    ('\u{0395}', 'e'), // Epsilon
    ('\u{0396}', 'z'), // Zeta
    ('\u{0397}', 'h'), // Eta
    ('\u{0399}', 'i'), // Iota
    ('\u{039A}', 'k'), // Kappa
    ('\u{039C}', 'm'), // Mu
    ('\u{039D}', 'n'), // Nu
    ('\u{039F}', 'o'), // Omicron
    ('\u{03A1}', 'p'), // Rho
    ('\u{03A4}', 't'), // Tau
    ('\u{03A5}', 'y'), // Upsilon
    ('\u{03A7}', 'x'), // Chi
    ('\u{03B1}', 'a'), // alpha
    ('\u{03B5}', 'e'), // epsilon
    ('\u{03B7}', 'n'), // eta
    ('\u{03B9}', 'i'), // iota
    ('\u{03BA}', 'k'), // kappa
    ('\u{03BD}', 'v'), // nu
    ('\u{03BF}', 'o'), // omicron
    ('\u{03C1}', 'p'), // rho
    ('\u{03C4}', 't'), // tau
    ('\u{03C5}', 'u'), // upsilon
    ('\u{03C7}', 'x'), // chi
    ('\u{03F2}', 'c'), // lunate sigma
    ('\u{03F3}', 'j'), // yot
    ('\u{03F9}', 'c'), // capital lunate sigma
    ('\u{0405}', 's'), // Cyrillic Dze
    ('\u{0406}', 'i'), // Byelorussian-Ukrainian I
    ('\u{0408}', 'j'), // Je
    ('\u{0410}', 'a'), // A
    ('\u{0412}', 'b'), // Ve
    ('\u{0415}', 'e'), // Ie
    ('\u{041A}', 'k'), // Ka
    ('\u{041C}', 'm'), // Em
    ('\u{041D}', 'h'), // En
    ('\u{041E}', 'o'), // O
    ('\u{0420}', 'p'), // Er
    ('\u{0421}', 'c'), // Es
    ('\u{0422}', 't'), // Te
    ('\u{0423}', 'y'), // U
    ('\u{0425}', 'x'), // Ha
    ('\u{0430}', 'a'), // a
    ('\u{0432}', 'b'), // ve
    ('\u{0435}', 'e'), // ie
    ('\u{043A}', 'k'), // ka
    ('\u{043C}', 'm'), // em
    ('\u{043D}', 'h'), // en
    ('\u{043E}', 'o'), // o
    ('\u{0440}', 'p'), // er
    ('\u{0441}', 'c'), // es
    ('\u{0442}', 't'), // te
    ('\u{0443}', 'y'), // u
    ('\u{0445}', 'x'), // ha
    ('\u{0455}', 's'), // dze
    ('\u{0456}', 'i'), // byelorussian-ukrainian i
    ('\u{0458}', 'j'), // je
    ('\u{04AE}', 'y'), // straight U
    ('\u{04AF}', 'y'), // straight u
    ('\u{04BA}', 'h'), // Shha
    ('\u{04BB}', 'h'), // shha
    ('\u{04C0}', 'l'), // palochka
    ('\u{04CF}', 'l'), // small palochka
    ('\u{0500}', 'd'), // Komi De
    ('\u{0501}', 'd'), // komi de
    ('\u{051A}', 'q'), // Qa
    ('\u{051B}', 'q'), // qa
    ('\u{051C}', 'w'), // We
    ('\u{051D}', 'w'), // we
    ('\u{057D}', 'u'), // Armenian seh
    ('\u{0585}', 'o'), // Armenian oh
    ('\u{1D00}', 'a'), // small capital A
    ('\u{1D04}', 'c'), // small capital C
    ('\u{1D05}', 'd'), // small capital D
    ('\u{1D07}', 'e'), // small capital E
    ('\u{1D0A}', 'j'), // small capital J
    ('\u{1D0B}', 'k'), // small capital K
    ('\u{1D0D}', 'm'), // small capital M
    ('\u{1D0F}', 'o'), // small capital O
    ('\u{1D18}', 'p'), // small capital P
    ('\u{1D1B}', 't'), // small capital T
    ('\u{1D1C}', 'u'), // small capital U
    ('\u{1D20}', 'v'), // small capital V
    ('\u{1D21}', 'w'), // small capital W
    ('\u{1D22}', 'z'), // small capital Z
    ('\u{A730}', 'f'), // small capital F
    ('\u{A731}', 's'), // small capital S
];

/// The Latin letter `c` looks like, if it is one of [`LOOK_ALIKES`].
fn look_alike(c: char) -> Option<char> {
    LOOK_ALIKES
        .binary_search_by_key(&c, |(from, _)| *from)
        .ok()
        .and_then(|i| LOOK_ALIKES.get(i))
        .map(|(_, to)| *to)
}

/// Append `c` as [`fold`] reads it.
fn fold_char_into(c: char, out: &mut String) {
    if c.is_ascii() {
        if !is_invisible(c) {
            out.push(c);
        }
        return;
    }
    decompose_compatible(c, |d| {
        if is_invisible(d) || is_combining_mark(d) {
            return;
        }
        out.push(look_alike(d).unwrap_or(d));
    });
}

/// `s` as a reader compares it (see the module documentation): what shows, decomposed, marks
/// dropped, look-alikes folded to Latin; case, spaces and punctuation kept.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char_into(c, &mut out);
    }
    out
}

/// The letters and digits of [`fold`]`(s)`, lowercased: nothing else.
pub fn key(s: &str) -> String {
    fold(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Placeholder words that are never real content, whatever the policy lists: markers of
/// missing text, which also make a note after a separator a placeholder (`WIP: later`).
pub const PLACEHOLDER_MARKERS: &[&str] = &[
    "todo",
    "tbd",
    "tba",
    "tbc",
    "fixme",
    "xxx",
    "wip",
    "placeholder",
];

/// Words that say nothing on their own: a block made only of these and [`PLACEHOLDER_MARKERS`] (and the
/// policy's placeholders) is empty (`n/a`, `None.`, `TBD later`, `T O D O`, `xxx`). In a
/// sentence they are content (`None of the services restart`).
pub const EMPTY_WORDS: &[&str] = &[
    "na", "none", "nil", "null", "later", "soon", "pending", "unknown", "xx", "tk", "lorem",
    "ipsum",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_the_binary_search() {
        assert!(LOOK_ALIKES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn what_looks_alike_folds_alike() {
        for s in [
            "TODO",
            "\u{FF34}\u{FF2F}\u{FF24}\u{FF2F}",
            "\u{1D413}\u{1D40E}\u{1D403}\u{1D40E}",
            "\u{24C9}\u{24C4}\u{24B9}\u{24C4}",
            "\u{0422}\u{041E}D\u{041E}",
            "\u{03A4}\u{039F}D\u{039F}",
            "T\u{0301}\u{00D6}DO",
            "T\u{200B}ODO",
        ] {
            assert_eq!(fold(s).to_lowercase(), "todo", "{s:?}");
        }
        assert_eq!(fold("n/a\u{00A0}x"), "n/a x");
        assert_eq!(key(" Tier\u{2010}/ FULL\u{00A0}"), "tierfull");
        assert_eq!(key("class/security-sensitive"), "classsecuritysensitive");
        // Letters of other scripts that look like no Latin letter are kept.
        assert_eq!(key("Проверка"), "пpobepka");
    }
}
