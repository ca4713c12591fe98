//! Python's character classes, as the original's `re` and `str` methods apply them to `str` values.
//!
//! Rust's `char::is_alphanumeric` and the `regex` crate's `\w` include `Other_Alphabetic` marks (U+0345,
//! Indic vowel signs, circled letters); Python's `\w` does not. The original's
//! behaviour on such text is what the models saw, so these are Python's definitions, not Rust's.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Python's `\w` on `str` (re's `SRE_UNI_IS_WORD`): `str.isalnum()` or `_`. `isalnum` holds exactly for
/// the general categories L* (letters), Nd, Nl and No (checked over every code point against CPython 3.11).
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        UppercaseLetter
            | LowercaseLetter
            | TitlecaseLetter
            | ModifierLetter
            | OtherLetter
            | DecimalNumber
            | LetterNumber
            | OtherNumber
    )
}

/// Python's `str.lower()` into `out`: full Unicode case mapping (`İ` → `i` + U+0307, Kelvin sign → `k`).
///
/// Python also maps a word-final `Σ` to `ς` rather than `σ`; both are lowercase letters, so the difference
/// can never change what the cleaning keeps and is not reproduced.
pub fn lowercase_into(text: &str, out: &mut String) {
    out.clear();
    out.reserve(text.len());
    let mut rest = text;
    // ASCII runs are copied and lowered in bulk; only the other characters go through Unicode's mapping.
    while !rest.is_empty() {
        let ascii = rest.bytes().position(|byte| !byte.is_ascii()).unwrap_or(rest.len());
        let start = out.len();
        out.push_str(&rest[..ascii]);
        out[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_lowercase());
            rest = chars.as_str();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_characters_follow_python() {
        for c in ['a', 'Z', '0', '_', 'é', 'ß', '中', '²', '½', 'Ⅻ', 'ǅ', 'ʰ'] {
            assert!(is_word_char(c), "{c:?} is a word character in Python");
        }
        // U+0301 combining acute (Mn), U+0345 (Mn, Other_Alphabetic), U+24B6 circled A (So, Other_Alphabetic),
        // U+200B zero-width space (Cf), emoji, punctuation.
        for c in ['\u{301}', '\u{345}', '\u{24b6}', '\u{200b}', '🚀', '-', '\'', ' ', '’'] {
            assert!(!is_word_char(c), "{c:?} is not a word character in Python");
        }
    }

    #[test]
    fn lowercase_uses_full_case_mapping() {
        let mut out = String::new();
        lowercase_into("İstanbul \u{212a}elvin ÀB", &mut out);
        assert_eq!(out, "i\u{307}stanbul kelvin àb");
        lowercase_into("MiXeD ascii", &mut out);
        assert_eq!(out, "mixed ascii");
    }
}
