//! What `prepare` is asked to do, and its defaults.

use std::path::PathBuf;

use crate::engine::SessionOptions;
use crate::error::{Error, Result};
use crate::input::bad_rows::OnBadRows;

use super::layout::{ColumnNames, Padding};
use super::plan::SplitPlan;

/// Everything `prepare` needs.
#[derive(Debug, Clone)]
pub struct PrepareOptions {
    pub data: PathBuf,
    pub vocab: PathBuf,
    pub out: PathBuf,
    pub seed: i64,
    /// The splits (`--test-size`, `--splits`) and folds (`--folds`).
    pub split: SplitPlan,
    /// Keep every row of a group (the values of this column) in one split and fold (`--group`).
    pub group: Option<String>,
    pub stratify: String,
    pub key: String,
    pub max_length: Option<usize>,
    /// The token rows are padded with, in place of the tokenizer's own (`--pad-token`).
    pub pad_token: Option<String>,
    /// What length each split's ids are padded to.
    pub padding: Padding,
    /// What the token and target columns are called.
    pub column_names: ColumnNames,
    pub overwrite: bool,
    /// CSV bytes per output file: the rows are staged in `ceil(input size / file_size)` buckets of the shuffle
    /// order, and each bucket is sorted and written apart, so memory is bounded by a bucket, not the input.
    pub file_size: u64,
    /// What to do with rows that cannot be prepared.
    pub on_bad_rows: OnBadRows,
    /// Before the split, leave out every row whose cleaned text a row with a smaller key has.
    pub dedupe: bool,
    /// The class indices of an earlier run (`class_to_index.json`); rows of other classes are bad rows.
    pub classes: Option<PathBuf>,
    pub session: SessionOptions,
}

/// The default of [`PrepareOptions::file_size`]: a bucket of 32 MiB of the course's CSV is about 180,000 rows,
/// which a sort holds padded in a few hundred MB.
pub const DEFAULT_FILE_SIZE: u64 = 32 << 20;

/// `prepare`'s defaults: the course's configuration (used by [`PrepareOptions::new`] and the command's flags).
pub mod defaults {
    pub const SEED: i64 = 1234;
    pub const TEST_SIZE: f64 = 0.2;
    pub const STRATIFY: &str = "tag";
    pub const KEY: &str = "id";
}

impl PrepareOptions {
    /// `prepare`'s defaults (those of `mlprep prepare`) for the given input, tokenizer and output directory.
    pub fn new(data: PathBuf, vocab: PathBuf, out: PathBuf) -> Self {
        Self {
            data,
            vocab,
            out,
            seed: defaults::SEED,
            split: SplitPlan::default(),
            group: None,
            stratify: defaults::STRATIFY.into(),
            key: defaults::KEY.into(),
            max_length: None,
            pad_token: None,
            padding: Padding::default(),
            column_names: ColumnNames::default(),
            overwrite: false,
            file_size: DEFAULT_FILE_SIZE,
            on_bad_rows: OnBadRows::Fail,
            dedupe: false,
            classes: None,
            session: SessionOptions::default(),
        }
    }

    /// Fails on values the pipeline cannot run with, before anything is read.
    pub fn validate(&self) -> Result<()> {
        if let Some(test_size) = self.split.test_size().filter(|share| !(*share > 0.0 && *share < 1.0)) {
            return Err(Error::Configuration(format!(
                "--test-size must be between 0 and 1 (exclusive), got {test_size}"
            )));
        }
        self.split.validate()?;
        if self.file_size == 0 {
            return Err(Error::Configuration("--file-size must be at least 1 byte".into()));
        }
        if self.max_length.is_some_and(|length| length < 2) {
            return Err(Error::Configuration("--max-length must be at least 2 (room for [CLS] and [SEP])".into()));
        }
        Ok(())
    }
}
