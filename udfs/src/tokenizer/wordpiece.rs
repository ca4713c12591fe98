//! A specialised BERT WordPiece encoder for ASCII text: the same greedy longest-match-first algorithm as
//! the `tokenizers` crate (which stays the loader, the reference and the fallback), with plain table
//! look-ups and no allocation per token.
//!
//! On ASCII, BERT's normalizer and pre-tokenizer reduce to byte rules: letters are lowercased (uncased
//! vocabularies), whitespace separates words, each ASCII punctuation character is a word of its own, and
//! accent stripping, Chinese-character spacing and Unicode punctuation have nothing to act on. Any text
//! with another byte (control characters, non-ASCII) is declined and goes to the reference tokenizer, so
//! the kernel never has to guess.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::common::FnvHasher;

type PieceTable = HashMap<Box<[u8]>, u32, BuildHasherDefault<FnvHasher>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ByteClass {
    Declined,
    Word,
    Upper,
    Space,
    Punctuation,
}

/// What the kernel needs to know about a tokenizer; see [`WordPieceKernel::new`].
pub struct WordPieceConfig<'a> {
    pub vocab: &'a HashMap<String, u32>,
    pub continuing_subword_prefix: &'a str,
    pub max_input_chars_per_word: usize,
    pub lowercase: bool,
    pub unk_id: u32,
    pub cls_id: u32,
    pub sep_id: u32,
}

/// Pieces of at most this many letters and digits are looked up by a packed key (see [`PackedPieces`]).
const PACKED_LETTERS: usize = 10;

/// Letters and digits as 6-bit symbols, 1 to 62 (0: not a letter or digit). A piece of up to
/// [`PACKED_LETTERS`] symbols packs into one `u64`, first symbol highest: since no symbol is 0, pieces of
/// different lengths never share a key, and a prefix one letter longer is `key << 6 | symbol`.
const SYMBOLS: [u8; 256] = {
    let mut symbols = [0u8; 256];
    let mut byte = 0;
    while byte < 256 {
        symbols[byte] = match byte as u8 {
            letter @ b'a'..=b'z' => letter - b'a' + 1,
            letter @ b'A'..=b'Z' => letter - b'A' + 27,
            digit @ b'0'..=b'9' => digit - b'0' + 53,
            _ => 0,
        };
        byte += 1;
    }
    symbols
};

/// Marks a continuation's key (`##` piece): packed keys use at most 60 bits.
const CONTINUATION: u64 = 1 << 63;

/// The packed key of `piece`, if it is 1 to [`PACKED_LETTERS`] letters and digits.
fn packed_key(piece: &[u8]) -> Option<u64> {
    if piece.is_empty() || piece.len() > PACKED_LETTERS {
        return None;
    }
    piece.iter().try_fold(0u64, |key, &byte| match SYMBOLS[usize::from(byte)] {
        0 => None,
        symbol => Some(key << 6 | u64::from(symbol)),
    })
}

/// An open-addressing table from packed keys to ids: one multiply and, mostly, one memory access per
/// look-up, with no key bytes to hash or compare.
struct PackedPieces {
    /// `(key, id)`; key 0 is an empty slot.
    slots: Vec<(u64, u32)>,
    shift: u32,
}

impl PackedPieces {
    fn new(pieces: &[(u64, u32)]) -> Self {
        let capacity = (pieces.len() * 2).next_power_of_two().max(16);
        let mut table = Self { slots: vec![(0, 0); capacity], shift: 64 - capacity.trailing_zeros() };
        for &(key, id) in pieces {
            let mut slot = table.slot_of(key);
            while table.slots[slot].0 != 0 {
                slot = (slot + 1) & (capacity - 1);
            }
            table.slots[slot] = (key, id);
        }
        table
    }

    #[inline]
    fn slot_of(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u32> {
        let mut slot = self.slot_of(key);
        loop {
            let (found, id) = self.slots[slot];
            if found == key {
                return Some(id);
            }
            if found == 0 {
                return None;
            }
            slot = (slot + 1) & (self.slots.len() - 1);
        }
    }
}

pub struct WordPieceKernel {
    /// Pieces of up to [`PACKED_LETTERS`] letters and digits, word starts and continuations.
    packed: PackedPieces,
    /// Longer pieces of letters and digits.
    long_starts: PieceTable,
    long_continuations: PieceTable,
    /// The id of each ASCII punctuation character that is a piece: punctuation is always a word of its own.
    punctuation: [Option<u32>; 128],
    longest_start: usize,
    longest_continuation: usize,
    max_input_chars_per_word: usize,
    byte_classes: [ByteClass; 256],
    unk_id: i64,
    cls_id: i64,
    sep_id: i64,
}

impl WordPieceKernel {
    pub fn new(config: WordPieceConfig<'_>) -> Self {
        // Only pieces the kernel's words can be made of: letters and digits (a word is a run of them), and
        // single punctuation characters. Any other piece can only match text the kernel declines.
        let mut packed = Vec::new();
        let (mut long_starts, mut long_continuations) = (PieceTable::default(), PieceTable::default());
        let mut punctuation = [None; 128];
        let (mut longest_start, mut longest_continuation) = (0, 0);
        for (piece, &id) in config.vocab {
            let (bytes, is_continuation) = match piece.strip_prefix(config.continuing_subword_prefix) {
                Some(rest) if !rest.is_empty() => (rest.as_bytes(), true),
                _ => (piece.as_bytes(), false),
            };
            if let [byte] = bytes
                && byte.is_ascii_punctuation()
            {
                if !is_continuation {
                    punctuation[usize::from(*byte)] = Some(id);
                }
                continue;
            }
            if !bytes.iter().all(|&byte| SYMBOLS[usize::from(byte)] != 0) {
                continue;
            }
            let longest = if is_continuation { &mut longest_continuation } else { &mut longest_start };
            *longest = (*longest).max(bytes.len());
            match packed_key(bytes) {
                Some(key) => packed.push((if is_continuation { key | CONTINUATION } else { key }, id)),
                None if is_continuation => drop(long_continuations.insert(bytes.into(), id)),
                None => drop(long_starts.insert(bytes.into(), id)),
            }
        }
        let mut byte_classes = [ByteClass::Declined; 256];
        for byte in 0..=255u8 {
            byte_classes[usize::from(byte)] = match byte {
                b'a'..=b'z' | b'0'..=b'9' => ByteClass::Word,
                b'A'..=b'Z' if config.lowercase => ByteClass::Upper,
                b'A'..=b'Z' => ByteClass::Word,
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => ByteClass::Space,
                _ if byte.is_ascii_punctuation() => ByteClass::Punctuation,
                _ => ByteClass::Declined,
            };
        }
        Self {
            packed: PackedPieces::new(&packed),
            long_starts,
            long_continuations,
            punctuation,
            longest_start,
            longest_continuation,
            max_input_chars_per_word: config.max_input_chars_per_word,
            byte_classes,
            unk_id: i64::from(config.unk_id),
            cls_id: i64::from(config.cls_id),
            sep_id: i64::from(config.sep_id),
        }
    }

    /// Appends `[CLS]`, the ids of `text` and `[SEP]` to `ids`, or returns `false` without touching `ids`
    /// when `text` has a byte the kernel does not handle. `lowered` is scratch space for uppercase input.
    pub fn encode_into(&self, text: &str, ids: &mut Vec<i64>, lowered: &mut Vec<u8>) -> bool {
        let mut bytes = text.as_bytes();
        let mut has_upper = false;
        for &byte in bytes {
            match self.byte_classes[usize::from(byte)] {
                ByteClass::Declined => return false,
                ByteClass::Upper => has_upper = true,
                _ => {}
            }
        }
        if has_upper {
            lowered.clear();
            lowered.extend(bytes.iter().map(u8::to_ascii_lowercase));
            bytes = lowered;
        }

        ids.push(self.cls_id);
        let mut word_start = None;
        for (position, &byte) in bytes.iter().enumerate() {
            match self.byte_classes[usize::from(byte)] {
                ByteClass::Word | ByteClass::Upper => {
                    word_start.get_or_insert(position);
                }
                class => {
                    if let Some(start) = word_start.take() {
                        self.push_word(&bytes[start..position], ids);
                    }
                    if class == ByteClass::Punctuation {
                        let known = self.punctuation[usize::from(byte)].filter(|_| self.max_input_chars_per_word > 0);
                        ids.push(known.map_or(self.unk_id, i64::from));
                    }
                }
            }
        }
        if let Some(start) = word_start {
            self.push_word(&bytes[start..], ids);
        }
        ids.push(self.sep_id);
        true
    }

    /// Greedy longest-match-first over a word of letters and digits: the longest vocabulary piece at the
    /// start, then the longest `##` continuation at each following position; a word with no complete
    /// cover is one `[UNK]`.
    fn push_word(&self, word: &[u8], ids: &mut Vec<i64>) {
        if word.len() > self.max_input_chars_per_word {
            ids.push(self.unk_id);
            return;
        }
        let first_piece = ids.len();
        let mut start = 0;
        while start < word.len() {
            match self.longest_piece_at(word, start) {
                Some((id, end)) => {
                    ids.push(i64::from(id));
                    start = end;
                }
                None => {
                    ids.truncate(first_piece);
                    ids.push(self.unk_id);
                    return;
                }
            }
        }
    }

    /// The longest piece of `word` starting at `start` (a continuation unless `start` is 0): its id and
    /// where it ends.
    #[inline]
    fn longest_piece_at(&self, word: &[u8], start: usize) -> Option<(u32, usize)> {
        let (long, longest, flag) = if start == 0 {
            (&self.long_starts, self.longest_start, 0)
        } else {
            (&self.long_continuations, self.longest_continuation, CONTINUATION)
        };
        let mut end = word.len().min(start + longest);
        while end > start + PACKED_LETTERS {
            if let Some(&id) = long.get(&word[start..end]) {
                return Some((id, end));
            }
            end -= 1;
        }
        // Keys of every prefix up to `end`, then the longest first.
        let mut keys = [0u64; PACKED_LETTERS];
        let mut key = 0;
        for (length, &byte) in word[start..end].iter().enumerate() {
            key = key << 6 | u64::from(SYMBOLS[usize::from(byte)]);
            keys[length] = key | flag;
        }
        (1..=end - start).rev().find_map(|length| self.packed.get(keys[length - 1]).map(|id| (id, start + length)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(pieces: &[&str], lowercase: bool, max_input_chars_per_word: usize) -> WordPieceKernel {
        let vocab: HashMap<String, u32> =
            pieces.iter().enumerate().map(|(id, piece)| (piece.to_string(), id as u32)).collect();
        WordPieceKernel::new(WordPieceConfig {
            vocab: &vocab,
            continuing_subword_prefix: "##",
            max_input_chars_per_word,
            lowercase,
            unk_id: 0,
            cls_id: 1,
            sep_id: 2,
        })
    }

    fn encode(kernel: &WordPieceKernel, text: &str) -> Vec<i64> {
        let mut ids = Vec::new();
        assert!(kernel.encode_into(text, &mut ids, &mut Vec::new()), "{text:?} was declined");
        ids
    }

    #[test]
    fn longest_pieces_first_over_short_and_long_pieces() {
        // ids:                 0        1        2     3       4         5        6              7
        let pieces = [
            "[UNK]",
            "[CLS]",
            "[SEP]",
            "un",
            "##able",
            "unable",
            "##s",
            "transformation",
            //   8                   9          10         11
            "##alizationally",
            "##ization",
            "token",
            "tokenization",
        ];
        let kernel = kernel(&pieces, true, 100);
        assert_eq!(encode(&kernel, "unable"), [1, 5, 2]);
        assert_eq!(encode(&kernel, "unables un"), [1, 5, 6, 3, 2]);
        // Pieces over 10 letters: a word start, and a continuation after one.
        assert_eq!(encode(&kernel, "transformation"), [1, 7, 2]);
        assert_eq!(encode(&kernel, "Transformationalizationally"), [1, 7, 8, 2]);
        assert_eq!(encode(&kernel, "tokenization tokenizations"), [1, 11, 11, 6, 2]);
        assert_eq!(encode(&kernel, "tokenizationable"), [1, 11, 4, 2]);
        // No complete cover: one [UNK] for the whole word, the next word unaffected.
        assert_eq!(encode(&kernel, "unabled token"), [1, 0, 10, 2]);
    }

    #[test]
    fn punctuation_is_a_word_of_its_own_known_or_not() {
        let kernel = kernel(&["[UNK]", "[CLS]", "[SEP]", "a", ".", "##."], true, 100);
        assert_eq!(encode(&kernel, "a.a,a"), [1, 3, 4, 3, 0, 3, 2]);
        let none_allowed = super::tests::kernel(&["[UNK]", "[CLS]", "[SEP]", "a", "."], true, 0);
        assert_eq!(encode(&none_allowed, "a."), [1, 0, 0, 2], "max_input_chars_per_word 0: every word is [UNK]");
    }

    #[test]
    fn cased_vocabularies_keep_capitals_and_words_over_the_limit_are_unknown() {
        let kernel = kernel(&["[UNK]", "[CLS]", "[SEP]", "Graph", "graph", "##Net", "##net"], false, 8);
        assert_eq!(encode(&kernel, "GraphNet graphnet"), [1, 3, 5, 4, 6, 2]);
        assert_eq!(encode(&kernel, "graphnetx"), [1, 0, 2], "9 characters, over the limit of 8");
        let mut ids = Vec::new();
        assert!(!kernel.encode_into("graph\u{e9}", &mut ids, &mut Vec::new()), "non-ASCII is declined");
        assert!(ids.is_empty());
    }
}
