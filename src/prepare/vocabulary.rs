//! The tokenizer, loaded and checked before any data is read.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::options::PrepareOptions;
use super::sources::Sources;
use crate::engine::Cluster;
use crate::error::{Error, Result};

/// The vocabulary a run tokenizes with.
pub(super) struct Vocabulary {
    /// What `summary.json` records: the file, resolved, or its URL.
    pub name: String,
    pub sha256: String,
    /// What `tokenize` is given: the path locally; on a cluster, whose executors may not have the file, the
    /// tokenizer itself.
    pub argument: String,
    /// The id rows are padded with: `--pad-token`'s, or the tokenizer's own (see `LoadedTokenizer::pad_id`).
    pub pad_id: i64,
    /// How many special tokens close an encoded text (kept by truncation).
    pub closing: usize,
}

/// Loads and checks the tokenizer of `--vocab` (fetched into `work` from a store).
pub(super) async fn load(options: &PrepareOptions, sources: &Sources, work: &Path) -> Result<Vocabulary> {
    let (path, name) = sources.vocab(work).await?;
    let bytes = std::fs::read(&path).map_err(|error| Error::io(&path, error))?;
    let tokenizer = mlprep_udfs::tokenizer::load_tokenizer_file(&path, &bytes)?;
    let sha256: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    let argument = match options.session.cluster {
        Cluster::Local => path.to_string_lossy().into_owned(),
        Cluster::Standalone | Cluster::Remote(_) => String::from_utf8(bytes)
            .map_err(|_| Error::input(&path, format!("tokenizer file '{}' is not UTF-8", path.display())))?,
    };
    let pad_id = match &options.pad_token {
        Some(token) => match tokenizer.reference().token_to_id(token) {
            Some(id) => i64::from(id),
            None => {
                return Err(Error::Configuration(format!(
                    "--pad-token {token}: the tokenizer '{name}' has no such token"
                )));
            }
        },
        None => match tokenizer.pad_id() {
            Some(id) => id,
            None if options.padding == super::layout::Padding::None => 0,
            None => {
                return Err(Error::Configuration(format!(
                    "the tokenizer '{name}' has no pad token (no padding settings in it, no [PAD] or <pad>): give \
                     --pad-token, or --padding none"
                )));
            }
        },
    };
    let closing = tokenizer.closing_specials();
    if let Some(max_length) = options.max_length.filter(|length| *length <= closing) {
        return Err(Error::Configuration(format!(
            "--max-length {max_length}: the tokenizer '{name}' closes every text with {closing} special token(s), \
             which leaves no room for text"
        )));
    }
    Ok(Vocabulary { name, sha256, argument, pad_id, closing })
}
