//! The tokenizer, loaded and checked before any data is read.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::options::PrepareOptions;
use crate::engine::Cluster;
use crate::error::{Error, Result};

/// The vocabulary a run tokenizes with.
pub(super) struct Vocabulary {
    /// Its file, resolved.
    pub path: PathBuf,
    pub sha256: String,
    /// What `tokenize` is given: the path locally; on a cluster, whose executors may not have the file, the
    /// tokenizer itself.
    pub argument: String,
    /// The id of `[PAD]`.
    pub pad_id: i64,
}

/// Loads and checks the tokenizer of `--vocab`.
pub(super) fn load(options: &PrepareOptions) -> Result<Vocabulary> {
    let path = std::fs::canonicalize(&options.vocab).map_err(|error| {
        Error::input(&options.vocab, format!("tokenizer file '{}' cannot be opened: {error}", options.vocab.display()))
    })?;
    let bytes = std::fs::read(&path).map_err(|error| Error::io(&path, error))?;
    let tokenizer = mlprep_udfs::tokenizer::load_tokenizer_file(&path, &bytes)?;
    let sha256: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    let argument = match options.session.cluster {
        Cluster::Local => path.to_string_lossy().into_owned(),
        Cluster::Standalone | Cluster::Remote(_) => String::from_utf8(bytes)
            .map_err(|_| Error::input(&path, format!("tokenizer file '{}' is not UTF-8", path.display())))?,
    };
    Ok(Vocabulary { path, sha256, argument, pad_id: tokenizer.pad_id() })
}
