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
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: word pieces are short byte strings, where it beats SipHash; no untrusted-key concern here.
#[derive(Default)]
pub struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

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

pub struct WordPieceKernel {
    word_starts: PieceTable,
    continuations: PieceTable,
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
        let mut word_starts = PieceTable::default();
        let mut continuations = PieceTable::default();
        for (piece, &id) in config.vocab {
            match piece.strip_prefix(config.continuing_subword_prefix) {
                Some(rest) if !rest.is_empty() => continuations.insert(rest.as_bytes().into(), id),
                _ => word_starts.insert(piece.as_bytes().into(), id),
            };
        }
        let longest = |table: &PieceTable| table.keys().map(|piece| piece.len()).max().unwrap_or(0);
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
            longest_start: longest(&word_starts),
            longest_continuation: longest(&continuations),
            word_starts,
            continuations,
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
                        self.push_word(&bytes[position..=position], ids);
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

    /// Greedy longest-match-first: the longest vocabulary piece at the start, then the longest `##`
    /// continuation at each following position; a word with no complete cover is one `[UNK]`.
    fn push_word(&self, word: &[u8], ids: &mut Vec<i64>) {
        if word.len() > self.max_input_chars_per_word {
            ids.push(self.unk_id);
            return;
        }
        let first_piece = ids.len();
        let mut start = 0;
        while start < word.len() {
            let (table, longest) = if start == 0 {
                (&self.word_starts, self.longest_start)
            } else {
                (&self.continuations, self.longest_continuation)
            };
            let mut end = word.len().min(start + longest);
            loop {
                if end <= start {
                    ids.truncate(first_piece);
                    ids.push(self.unk_id);
                    return;
                }
                if let Some(&id) = table.get(&word[start..end]) {
                    ids.push(i64::from(id));
                    start = end;
                    break;
                }
                end -= 1;
            }
        }
    }
}
