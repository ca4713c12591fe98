//! DataFusion scalar functions that turn raw labelled text into training data, exactly as the
//! Made-With-ML course's Python pipeline does, over whole Arrow arrays:
//!
//! - `seeded_hash(seed, value, ...)`: a release-stable XXH64-based shuffle key;
//! - `clean_text(text)`: the course's cleaning, byte for byte;
//! - `tokenize(text, tokenizer[, max_length])`: ids and attention mask of a BERT `vocab.txt` or any Hugging Face
//!   `tokenizer.json` (WordPiece, byte-level BPE, Unigram), with its special tokens;
//! - `token_count(text, tokenizer)`: the number of ids `tokenize` gives;
//! - `pad_tokens(ids, length, pad_id[, closing])`: ids truncated or padded to a length, with their attention mask.
//!
//! ```no_run
//! # use datafusion::prelude::SessionContext;
//! let mut ctx = SessionContext::new();
//! mlprep_udfs::register_all(&mut ctx).unwrap();
//! ```

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::ScalarUDF;

mod clean_text;
mod common;
mod pad_tokens;
/// Python's `str.lower()` and `\w` (the original cleaner's regular expressions), for reuse and tests.
pub mod python_text;
mod seeded_hash;
mod stopwords;
mod text_cleaner;
mod token_count;
mod token_lists;
mod tokenize;
pub mod tokenizer;
mod xxhash64;

pub use stopwords::STOPWORDS;
pub use text_cleaner::TextCleaner;
pub use token_lists::tokenize_return_type;
pub use xxhash64::xxh64;

/// Every mlprep function, ready to register.
pub fn all_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        Arc::new(ScalarUDF::new_from_impl(seeded_hash::SeededHash::default())),
        Arc::new(ScalarUDF::new_from_impl(clean_text::CleanText::default())),
        Arc::new(ScalarUDF::new_from_impl(tokenize::Tokenize::default())),
        Arc::new(ScalarUDF::new_from_impl(token_count::TokenCount::default())),
        Arc::new(ScalarUDF::new_from_impl(pad_tokens::PadTokens::default())),
    ]
}

/// Registers every mlprep function with `registry` (a `SessionContext`, a `SessionState`, ...).
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for function in all_functions() {
        registry.register_udf(function)?;
    }
    Ok(())
}
