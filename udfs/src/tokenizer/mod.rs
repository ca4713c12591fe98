//! Tokenizers: loading a BERT `vocab.txt` or a Hugging Face `tokenizer.json` once per process (`cache`),
//! the exact WordPiece fast path for plain BERT configurations (`wordpiece`), and encoding a column of
//! texts as `tokenize` and `token_count` do (`encode`).

mod cache;
pub(crate) mod encode;
mod wordpiece;

pub use cache::{
    EncodeScratch, LoadedTokenizer, is_inline_tokenizer, load_tokenizer, load_tokenizer_file, set_process_label,
};
