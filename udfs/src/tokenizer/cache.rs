//! Loading tokenizers (a BERT `vocab.txt` or a HuggingFace `tokenizer.json`), once per process.
//!
//! The `tokenizers` crate loads and validates every tokenizer and is the reference encoder. When the
//! configuration is plain BERT WordPiece (always for a `vocab.txt`; for a `tokenizer.json` when its
//! normalizer, pre-tokenizer, model and post-processor are exactly BERT's), the [`WordPieceKernel`] encodes
//! the texts it accepts and the crate handles the rest; any other configuration uses the crate alone.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use datafusion::common::{DataFusionError, Result, exec_err};
use serde_json::Value;
use tokenizers::Tokenizer;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;

use super::wordpiece::{WordPieceConfig, WordPieceKernel};
use crate::token_lists::Fit;

/// The special tokens a BERT-style encoding needs.
const REQUIRED_TOKENS: [&str; 4] = ["[CLS]", "[SEP]", "[UNK]", "[PAD]"];

/// A loaded tokenizer: the reference encoder, the fast kernel when it applies, and the special ids.
pub struct LoadedTokenizer {
    /// Where it came from, for messages: a canonical path, or `inline tokenizer (N bytes, xxh64 …)`.
    source: String,
    reference: Tokenizer,
    kernel: Option<WordPieceKernel>,
    /// Texts containing `[` go to the reference: a `tokenizer.json` may declare added tokens such as
    /// `[MASK]` that the crate matches in raw text before normalization.
    kernel_declines_brackets: bool,
    /// The id rows are padded with: `[PAD]` of a `vocab.txt`; for a `tokenizer.json`, its padding settings'
    /// pad id, or the id of `[PAD]` or `<pad>`; `None` when it has none of these.
    pad_id: Option<i64>,
    /// How many special tokens the tokenizer's template closes a sequence with (truncation keeps them).
    closing: usize,
}

/// Reusable buffers of one encoding loop.
#[derive(Default)]
pub struct EncodeScratch {
    lowered: Vec<u8>,
}

impl LoadedTokenizer {
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn pad_id(&self) -> Option<i64> {
        self.pad_id
    }

    /// How many special tokens end an encoded text (`[SEP]`: 1; none for GPT-2's template).
    pub fn closing_specials(&self) -> usize {
        self.closing
    }

    /// How rows of this tokenizer are truncated and padded; an error when it has no pad token.
    pub fn fit(&self) -> Result<Fit> {
        match self.pad_id {
            Some(pad_id) => Ok(Fit { pad_id, closing: self.closing }),
            None => exec_err!(
                "tokenizer {} has no pad token (no padding in its tokenizer.json, no [PAD] or <pad>): it cannot pad",
                self.source
            ),
        }
    }

    /// The `tokenizers` crate's tokenizer: the reference every fast-path id is checked against.
    pub fn reference(&self) -> &Tokenizer {
        &self.reference
    }

    pub fn has_fast_path(&self) -> bool {
        self.kernel.is_some()
    }

    /// Appends the ids of `text`, with the special tokens, to `ids`.
    pub fn encode_into(&self, text: &str, ids: &mut Vec<i64>, scratch: &mut EncodeScratch) -> Result<()> {
        if let Some(kernel) = &self.kernel {
            let declined = self.kernel_declines_brackets && text.as_bytes().contains(&b'[');
            if !declined && kernel.encode_into(text, ids, &mut scratch.lowered) {
                return Ok(());
            }
        }
        self.encode_with_reference_into(text, ids)
    }

    /// Appends the ids the `tokenizers` crate gives for `text`, with the special tokens.
    pub fn encode_with_reference_into(&self, text: &str, ids: &mut Vec<i64>) -> Result<()> {
        let encoding = self.reference.encode(text, true).map_err(|error| {
            DataFusionError::Execution(format!("tokenizer {}: cannot encode text: {error}", self.source))
        })?;
        ids.extend(encoding.get_ids().iter().map(|&id| i64::from(id)));
        Ok(())
    }
}

/// Loaded tokenizers by canonical path or by the hash of inline contents.
static LOADED: LazyLock<Mutex<HashMap<String, Arc<LoadedTokenizer>>>> = LazyLock::new(Default::default);

/// Which process this is, for errors: on a cluster a missing tokenizer must name the executor that
/// lacks it, and errors that come back from tasks carry no executor id of their own.
static PROCESS_LABEL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Names this process in tokenizer errors (e.g. `executor 3f2a on host-7`); set once, at start-up.
pub fn set_process_label(label: impl Into<String>) {
    let _ = PROCESS_LABEL.set(label.into());
}

fn on_this_process() -> String {
    PROCESS_LABEL.get().map_or_else(String::new, |label| format!(" on {label}"))
}

/// Whether a `tokenizer` argument holds a tokenizer itself rather than a path: a `vocab.txt` always has
/// line breaks and a `tokenizer.json` starts with `{`; a file path has neither. Shipping the contents in
/// the query lets a cluster's executors tokenize without a copy of the file.
pub fn is_inline_tokenizer(argument: &str) -> bool {
    argument.contains('\n') || argument.trim_start().starts_with('{')
}

/// The tokenizer named by `argument` (a path, or inline contents; see [`is_inline_tokenizer`]), loaded on
/// first use and shared afterwards.
pub fn load_tokenizer(argument: &str) -> Result<Arc<LoadedTokenizer>> {
    let (key, source) = if is_inline_tokenizer(argument) {
        let hash = crate::xxhash64::xxh64(argument.as_bytes(), 0);
        let source = format!("inline tokenizer ({} bytes, xxh64 {hash:016x})", argument.len());
        (format!("inline:{hash:016x}:{}", argument.len()), source)
    } else {
        let canonical = std::fs::canonicalize(argument).map_err(|error| {
            DataFusionError::Execution(format!(
                "tokenizer file '{argument}' cannot be opened{}: {error}",
                on_this_process()
            ))
        })?;
        let source = canonical.display().to_string();
        (format!("path:{source}"), source)
    };
    let mut loaded = LOADED.lock().map_err(|_| DataFusionError::Execution("tokenizer cache poisoned".into()))?;
    if let Some(tokenizer) = loaded.get(&key) {
        return Ok(Arc::clone(tokenizer));
    }
    let tokenizer = if is_inline_tokenizer(argument) {
        parse_tokenizer(&source, source.clone(), argument.as_bytes())?
    } else {
        let bytes = std::fs::read(&source).map_err(|error| {
            DataFusionError::Execution(format!(
                "tokenizer file '{argument}' cannot be read{}: {error}",
                on_this_process()
            ))
        })?;
        parse_tokenizer(argument, source, &bytes)?
    };
    let tokenizer = Arc::new(tokenizer);
    loaded.insert(key, Arc::clone(&tokenizer));
    Ok(tokenizer)
}

/// The tokenizer in `bytes`, just read from the file at the canonical path `path`, which later
/// [`load_tokenizer`] calls with that path get without reading the file again. It replaces one loaded
/// earlier from the same path: a run tokenizes with the file as it read it.
pub fn load_tokenizer_file(path: &std::path::Path, bytes: &[u8]) -> Result<Arc<LoadedTokenizer>> {
    let source = path.display().to_string();
    let tokenizer = Arc::new(parse_tokenizer(&source, source.clone(), bytes)?);
    let mut loaded = LOADED.lock().map_err(|_| DataFusionError::Execution("tokenizer cache poisoned".into()))?;
    loaded.insert(format!("path:{source}"), Arc::clone(&tokenizer));
    Ok(tokenizer)
}

/// Parses a `tokenizer.json` (it starts with `{`) or a `vocab.txt`; `name` names it in errors.
fn parse_tokenizer(name: &str, source: String, bytes: &[u8]) -> Result<LoadedTokenizer> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return exec_err!("tokenizer file '{name}' is empty");
    }
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{') {
        read_tokenizer_json(name, source, bytes)
    } else {
        read_vocab_txt(name, source, bytes)
    }
}

/// A BERT `vocab.txt`: one token per line, the line number is the id. Encoded as BERT uncased
/// (`BertTokenizer(do_lower_case=True)`): lowercase, strip accents, split punctuation, WordPiece, `[CLS] … [SEP]`.
fn read_vocab_txt(path: &str, source: String, bytes: &[u8]) -> Result<LoadedTokenizer> {
    let model_vocab = WordPiece::read_bytes(bytes)
        .map_err(|error| DataFusionError::Execution(format!("vocabulary '{path}' cannot be read: {error}")))?;
    let vocab: HashMap<String, u32> = model_vocab.iter().map(|(token, &id)| (token.clone(), id)).collect();
    let ids = special_ids(path, &vocab)?;
    let model = WordPiece::builder()
        .vocab(model_vocab)
        .unk_token("[UNK]".into())
        .build()
        .map_err(|error| DataFusionError::Execution(format!("vocabulary '{path}': {error}")))?;
    let max_input_chars_per_word = model.max_input_chars_per_word;
    let continuing_subword_prefix = model.continuing_subword_prefix.clone();
    let mut reference = Tokenizer::new(model);
    reference
        .with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .map_err(|error| DataFusionError::Execution(format!("vocabulary '{path}': {error}")))?;
    reference.with_pre_tokenizer(Some(BertPreTokenizer));
    reference.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), ids.sep), ("[CLS]".into(), ids.cls))));
    let settings = PlainBertSettings { continuing_subword_prefix, max_input_chars_per_word, lowercase: true };
    let kernel = kernel(&vocab, &ids, settings);
    Ok(LoadedTokenizer {
        source,
        reference,
        kernel: Some(kernel),
        kernel_declines_brackets: false,
        pad_id: Some(i64::from(ids.pad)),
        closing: 1,
    })
}

/// A HuggingFace `tokenizer.json` of any model the `tokenizers` crate loads (WordPiece, BPE, Unigram, ...),
/// with its own normalizer, pre-tokenizer and post-processor (its special tokens).
fn read_tokenizer_json(path: &str, source: String, bytes: &[u8]) -> Result<LoadedTokenizer> {
    let failed = |error: tokenizers::Error| DataFusionError::Execution(format!("tokenizer '{path}': {error}"));
    let mut reference = Tokenizer::from_bytes(bytes)
        .map_err(|error| DataFusionError::Execution(format!("tokenizer '{path}' cannot be loaded: {error}")))?;
    let padding_pad_id = reference.get_padding().map(|padding| i64::from(padding.pad_id));
    // Rows are truncated and padded by mlprep, to the lengths asked for, as `transformers` does when it is
    // given its own truncation and padding arguments.
    reference.with_truncation(None).map_err(failed)?;
    reference.with_padding(None);
    let pad_id = padding_pad_id
        .or_else(|| ["[PAD]", "<pad>"].iter().find_map(|token| reference.token_to_id(token)).map(i64::from));
    let closing = closing_specials(&reference).map_err(failed)?;
    let vocab = reference.get_vocab(false);
    let config: Value = serde_json::from_slice(bytes)
        .map_err(|error| DataFusionError::Execution(format!("tokenizer '{path}' is not valid JSON: {error}")))?;
    let kernel = bert_special_ids(&vocab)
        .and_then(|ids| plain_bert_settings(&config, &ids).map(|settings| kernel(&vocab, &ids, settings)));
    Ok(LoadedTokenizer { source, reference, kernel, kernel_declines_brackets: true, pad_id, closing })
}

/// How many special tokens end the encoding of a text: the closing part of the post-processor's template.
fn closing_specials(reference: &Tokenizer) -> tokenizers::Result<usize> {
    let encoding = reference.encode("a", true)?;
    Ok(encoding.get_special_tokens_mask().iter().rev().take_while(|&&special| special == 1).count())
}

/// The fast kernel for a plain BERT configuration.
fn kernel(vocab: &HashMap<String, u32>, ids: &SpecialIds, settings: PlainBertSettings) -> WordPieceKernel {
    WordPieceKernel::new(WordPieceConfig {
        vocab,
        continuing_subword_prefix: &settings.continuing_subword_prefix,
        max_input_chars_per_word: settings.max_input_chars_per_word,
        lowercase: settings.lowercase,
        unk_id: ids.unk,
        cls_id: ids.cls,
        sep_id: ids.sep,
    })
}

struct SpecialIds {
    cls: u32,
    sep: u32,
    unk: u32,
    pad: u32,
}

/// BERT's special ids, when the vocabulary has every one of them.
fn bert_special_ids(vocab: &HashMap<String, u32>) -> Option<SpecialIds> {
    Some(SpecialIds {
        cls: *vocab.get("[CLS]")?,
        sep: *vocab.get("[SEP]")?,
        unk: *vocab.get("[UNK]")?,
        pad: *vocab.get("[PAD]")?,
    })
}

fn special_ids(path: &str, vocab: &HashMap<String, u32>) -> Result<SpecialIds> {
    let missing: Vec<&str> = REQUIRED_TOKENS.into_iter().filter(|token| !vocab.contains_key(*token)).collect();
    if !missing.is_empty() {
        return exec_err!(
            "vocabulary '{path}' lacks the special token(s) {}: a BERT vocabulary needs {}",
            missing.join(", "),
            REQUIRED_TOKENS.join(", ")
        );
    }
    Ok(SpecialIds { cls: vocab["[CLS]"], sep: vocab["[SEP]"], unk: vocab["[UNK]"], pad: vocab["[PAD]"] })
}

struct PlainBertSettings {
    continuing_subword_prefix: String,
    max_input_chars_per_word: usize,
    lowercase: bool,
}

/// The kernel's settings when `config` is exactly BERT WordPiece, `None` for anything else (which then
/// runs on the `tokenizers` crate alone).
fn plain_bert_settings(config: &Value, ids: &SpecialIds) -> Option<PlainBertSettings> {
    let normalizer = &config["normalizer"];
    let lowercase = normalizer["lowercase"].as_bool()?;
    let normalizer_is_bert = normalizer["type"] == "BertNormalizer"
        && normalizer["clean_text"] == true
        && (normalizer["strip_accents"].is_null() || normalizer["strip_accents"] == lowercase);
    let pre_tokenizer_is_bert = config["pre_tokenizer"]["type"] == "BertPreTokenizer";
    let model = &config["model"];
    let model_is_wordpiece = model["type"] == "WordPiece" && model["unk_token"] == "[UNK]";
    let processor = &config["post_processor"];
    let processor_is_bert = processor["type"] == "BertProcessing"
        && processor["cls"] == serde_json::json!(["[CLS]", ids.cls])
        && processor["sep"] == serde_json::json!(["[SEP]", ids.sep]);
    let added_tokens_are_bracketed = config["added_tokens"].as_array().is_none_or(|tokens| {
        tokens.iter().all(|token| {
            token["content"].as_str().is_some_and(|content| content.starts_with('[') && content.ends_with(']'))
        })
    });
    let no_truncation_or_padding = config["truncation"].is_null() && config["padding"].is_null();
    (normalizer_is_bert
        && pre_tokenizer_is_bert
        && model_is_wordpiece
        && processor_is_bert
        && added_tokens_are_bracketed
        && no_truncation_or_padding)
        .then(|| PlainBertSettings {
            continuing_subword_prefix: model["continuing_subword_prefix"].as_str().unwrap_or("##").to_owned(),
            max_input_chars_per_word: model["max_input_chars_per_word"].as_u64().unwrap_or(100) as usize,
            lowercase,
        })
}

/// The `tokenizer` argument of a function: one tokenizer for the batch (a literal, the usual case) or
/// one path per row, each loaded once.
pub struct TokenizerArgument {
    constant: Option<Arc<LoadedTokenizer>>,
    per_row: Option<datafusion::arrow::array::ArrayRef>,
    loaded: HashMap<String, Arc<LoadedTokenizer>>,
}

impl TokenizerArgument {
    pub fn try_new(argument: &datafusion::logical_expr::ColumnarValue, function: &str) -> Result<Self> {
        use datafusion::common::ScalarValue;
        use datafusion::logical_expr::ColumnarValue;
        match argument {
            ColumnarValue::Scalar(
                ScalarValue::Utf8(path) | ScalarValue::LargeUtf8(path) | ScalarValue::Utf8View(path),
            ) => match path {
                Some(path) => Ok(Self { constant: Some(load_tokenizer(path)?), per_row: None, loaded: HashMap::new() }),
                None => exec_err!("{function}: the tokenizer path is NULL"),
            },
            ColumnarValue::Scalar(other) => exec_err!("{function}: the tokenizer must be a path, got {other}"),
            ColumnarValue::Array(paths) => {
                Ok(Self { constant: None, per_row: Some(Arc::clone(paths)), loaded: HashMap::new() })
            }
        }
    }

    /// The tokenizer for `row`.
    pub fn get(&mut self, row: usize, function: &str) -> Result<Arc<LoadedTokenizer>> {
        if let Some(tokenizer) = &self.constant {
            return Ok(Arc::clone(tokenizer));
        }
        let paths = self.per_row.as_ref().expect("either constant or per row");
        let paths = crate::common::StringColumn::try_new(paths, function)?;
        let Some(path) = paths.get(row) else {
            return exec_err!("{function}: the tokenizer path is NULL at row {row}");
        };
        if let Some(tokenizer) = self.loaded.get(path) {
            return Ok(Arc::clone(tokenizer));
        }
        let tokenizer = load_tokenizer(path)?;
        self.loaded.insert(path.to_owned(), Arc::clone(&tokenizer));
        Ok(tokenizer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab(tokens: &[&str]) -> Vec<u8> {
        tokens.iter().flat_map(|token| format!("{token}\n").into_bytes()).collect()
    }

    #[test]
    fn a_file_read_once_is_what_later_loads_of_its_path_get() {
        let directory = std::env::temp_dir().join(format!("mlprep-tokenizer-cache-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join("vocab.txt");
        let first = vocab(&["[PAD]", "[UNK]", "[CLS]", "[SEP]", "cat"]);
        std::fs::write(&path, &first).unwrap();
        let path = std::fs::canonicalize(&path).unwrap();
        let loaded = load_tokenizer_file(&path, &first).unwrap();
        // The file changes on disk: loads by path keep the tokenizer as it was read.
        std::fs::write(&path, vocab(&["[UNK]", "[PAD]", "[CLS]", "[SEP]", "dog", "cat"])).unwrap();
        let again = load_tokenizer(&path.to_string_lossy()).unwrap();
        assert!(Arc::ptr_eq(&loaded, &again));
        let mut ids = Vec::new();
        again.encode_into("cat", &mut ids, &mut EncodeScratch::default()).unwrap();
        assert_eq!(ids, [2, 4, 3]);
        // Reading the file again replaces it.
        let second = std::fs::read(&path).unwrap();
        let replaced = load_tokenizer_file(&path, &second).unwrap();
        assert_eq!(replaced.pad_id(), Some(1));
        assert!(Arc::ptr_eq(&replaced, &load_tokenizer(&path.to_string_lossy()).unwrap()));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
