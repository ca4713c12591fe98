//! The original `clean_text`, reproduced byte for byte in one pass without regular expressions.
//!
//! The original (Python, `re`) runs, in order:
//! 1. `text.lower()`
//! 2. `re.sub(r"\b(" + "|".join(STOPWORDS) + r")\b\s*", " ", text)`
//! 3. `re.sub(r"([!\"'#$%&()*\+,-./:;<=>?@\\\[\]^_`{|}~])", r" \1 ", text)`
//! 4. `re.sub("[^A-Za-z0-9]+", " ", text)`
//! 5. `re.sub(" +", " ", text)` then `text.strip()`
//! 6. `re.sub(r"http\S+", "", text)`
//!
//! Steps 3 to 5 only decide which characters separate words: after step 4 every character outside
//! `[A-Za-z0-9]`, and every removed stopword, is one space. So steps 2 to 5 reduce to one scan that copies
//! ASCII letters and digits, turns everything else (and each stopword match) into a pending separator, and
//! writes one space between kept runs. The `\s*` of step 2 swallows only whitespace, which becomes a
//! separator anyway, so it never changes the result. Step 6 runs last on the collapsed text, so a URL's
//! `https` leaves its neighbours' spaces behind (`"https://a.b"` → `" a b"`): reproduced, not fixed.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use crate::common::FnvHasher;
use crate::python_text::{is_word_char, lowercase_into};
use crate::stopwords::STOPWORDS;

/// The stopwords by their head, the part before any apostrophe (`don` for both `don` and `don't`), each
/// list in alternation order. A stopword can only match where the text's run of ASCII word characters
/// equals its head: a match must end at a word boundary, and the only non-word character inside a
/// stopword is its apostrophe. So one look-up per word replaces trying every stopword.
static STOPWORDS_BY_HEAD: LazyLock<StopwordsByHead> = LazyLock::new(|| {
    let mut heads = StopwordsByHead::default();
    for word in STOPWORDS {
        let bytes = word.as_bytes();
        debug_assert!(bytes.iter().all(|&byte| byte.is_ascii_lowercase() || byte == b'\''));
        let head = bytes.split(|&byte| byte == b'\'').next().expect("split yields at least one part");
        heads.entry(head).or_default().push(bytes);
    }
    heads
});

type StopwordsByHead = HashMap<&'static [u8], Vec<&'static [u8]>, BuildHasherDefault<FnvHasher>>;

/// Reusable buffers for cleaning many texts without allocating per text.
#[derive(Default)]
pub struct TextCleaner {
    lowered: String,
    collapsed: String,
}

impl TextCleaner {
    /// Cleans `text` as the original `clean_text` does, returning a borrow of the internal buffer.
    pub fn clean(&mut self, text: &str) -> &str {
        lowercase_into(text, &mut self.lowered);
        remove_stopwords_and_collapse(&self.lowered, &mut self.collapsed);
        remove_http_words(&mut self.collapsed);
        &self.collapsed
    }
}

/// Steps 2 to 5: stopword removal, then every run of characters outside `[a-z0-9]` becomes one space,
/// with no space at either end.
fn remove_stopwords_and_collapse(lowered: &str, out: &mut String) {
    out.clear();
    out.reserve(lowered.len());
    let bytes = lowered.as_bytes();
    let mut previous_is_word = false;
    let mut separator_pending = false;
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if !previous_is_word
            && byte.is_ascii_lowercase()
            && let Some(length) = stopword_at(lowered, position)
        {
            // Every stopword ends with a letter; `\b` guaranteed a non-word character (or the end) after it.
            separator_pending = true;
            previous_is_word = true;
            position += length;
            continue;
        }
        if byte.is_ascii() {
            if byte.is_ascii_alphanumeric() {
                if separator_pending && !out.is_empty() {
                    out.push(' ');
                }
                separator_pending = false;
                out.push(char::from(byte));
            } else {
                separator_pending = true;
            }
            previous_is_word = byte.is_ascii_alphanumeric() || byte == b'_';
            position += 1;
        } else {
            let c = lowered[position..].chars().next().expect("position is on a char boundary");
            separator_pending = true;
            previous_is_word = is_word_char(c);
            position += c.len_utf8();
        }
    }
}

/// The length of the stopword matching `\b(w1|...|wn)\b` at `position`, where `\b` already holds before it.
#[inline]
fn stopword_at(text: &str, position: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let rest = &bytes[position..];
    let run = rest.iter().position(|&byte| !(byte.is_ascii_alphanumeric() || byte == b'_')).unwrap_or(rest.len());
    let ends_at_word_boundary =
        |end: usize| text[position + end..].chars().next().is_none_or(|next| !is_word_char(next));
    // The first stopword in alternation order whose head is the run and which ends at a word boundary.
    let candidates = STOPWORDS_BY_HEAD.get(&rest[..run])?;
    candidates
        .iter()
        .find_map(|word| (rest.starts_with(word) && ends_at_word_boundary(word.len())).then_some(word.len()))
}

/// Step 6: `re.sub(r"http\S+", "", text)` on text made only of `[a-z0-9]` and single spaces.
fn remove_http_words(text: &mut String) {
    if !text.contains("http") {
        return;
    }
    let bytes = text.as_bytes();
    let mut kept = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find("http") {
        let start = search_from + offset;
        let after = start + 4;
        if after < bytes.len() && bytes[after] != b' ' {
            let end = text[after..].find(' ').map_or(bytes.len(), |space| after + space);
            kept.push_str(&text[copied_up_to..start]);
            copied_up_to = end;
            search_from = end;
        } else {
            search_from = start + 1;
        }
    }
    kept.push_str(&text[copied_up_to..]);
    *text = kept;
}

#[cfg(test)]
mod tests {
    use super::TextCleaner;

    fn clean(text: &str) -> String {
        TextCleaner::default().clean(text).to_owned()
    }

    #[test]
    fn hand_computed_cases() {
        assert_eq!(clean(""), "");
        assert_eq!(clean("The Transformer"), "transformer");
        // `don` is tried before `don't`, then the lone `t` is a stopword too.
        assert_eq!(clean("Don't stop"), "stop");
        // A stopword inside a word is kept; `\b` needs a non-word neighbour.
        assert_eq!(clean("theory another island"), "theory another island");
        // `é` is a word character for Python, so `re` in `résumé` is not a stopword; the accented letters
        // themselves are then dropped.
        assert_eq!(clean("résumé"), "r sum");
        // Decomposed: U+0301 is not a word character, so `re` is a whole word and removed.
        assert_eq!(clean("re\u{301}sume\u{301}"), "sume");
        assert_eq!(clean("C++ and C#"), "c c");
    }

    #[test]
    fn http_words_are_removed_last() {
        assert_eq!(clean("https://github.com/x"), " github com x");
        assert_eq!(clean("http"), "http");
        assert_eq!(clean("xhttpy httpx_client myhttp"), "x  client myhttp");
        assert_eq!(clean("z httphttpx b"), "z  b");
        assert_eq!(clean("see http://e.com now"), "see http e com");
    }
}
