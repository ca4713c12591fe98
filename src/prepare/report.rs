//! What `prepare` reports: per split counts, the run's report, and the files that describe the output
//! (`class_to_index.json`, `rejected.csv`, `summary.json`, written last).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::checks::Accepted;
use super::options::PrepareOptions;
use super::scan::Input;
use super::split::{Split, SplitReport};
use super::vocabulary::Vocabulary;
use crate::error::{Error, Result};
use crate::input::bad_rows::{OnBadRows, counts_by_kind, write_rejected_csv};

/// What a finished run wrote.
#[derive(Debug, Clone)]
pub struct PrepareReport {
    pub out: PathBuf,
    /// Records in the input (rows read = train + val + rejected).
    pub rows_read: u64,
    /// Rows set aside (`--on-bad-rows skip`), listed in `DIR/rejected.csv`.
    pub rows_rejected: u64,
    /// Rows left out by `--dedupe` (their cleaned text is another row's).
    pub rows_deduplicated: u64,
    /// Validation rows whose cleaned text a training row has too.
    pub val_rows_with_a_train_text: u64,
    pub class_to_index: BTreeMap<String, i64>,
    pub train: SplitReport,
    pub val: SplitReport,
    pub summary: Value,
    /// How long each step took.
    pub step_times: Vec<(&'static str, std::time::Duration)>,
    /// What the user should know of a run that succeeded (an earlier output that could not be removed).
    pub warnings: Vec<String>,
}

/// Writes the files that describe the output into `staging`, `summary.json` last (it marks the directory as a
/// complete output), and returns the summary.
pub(super) fn write_description(
    staging: &Path,
    options: &PrepareOptions,
    vocabulary: &Vocabulary,
    input: &Input,
    accepted: &Accepted,
    split: &Split,
) -> Result<Value> {
    let summary = json!({
        "mlprep_version": crate::VERSION,
        "input": input.source.path.to_string_lossy(),
        "input_files": input.source.files.len(),
        "rows_read": input.records,
        "on_bad_rows": options.on_bad_rows.name(),
        "rows_rejected": accepted.rejected.len(),
        "rejected_by_reason": counts_by_kind(&accepted.rejected),
        "dedupe": options.dedupe,
        "classes": options.classes.as_ref().map(|path| path.to_string_lossy()),
        "rows_deduplicated": accepted.rows_deduplicated,
        "leakage": split.leakage,
        "key": options.key,
        "stratify": options.stratify,
        "seed": options.seed,
        "test_size": options.test_size,
        "vocab": vocabulary.name,
        "vocab_sha256": vocabulary.sha256,
        "max_length": options.max_length,
        "file_size": options.file_size,
        "class_to_index": split.class_to_index,
        "splits": {
            "train": split_json(&split.train, options.max_length),
            "val": split_json(&split.val, options.max_length),
        },
    });
    write_json(&staging.join("class_to_index.json"), &json!(split.class_to_index))?;
    if options.on_bad_rows == OnBadRows::Skip {
        write_rejected_csv(&staging.join("rejected.csv"), &accepted.rejected)?;
    }
    write_json(&staging.join(crate::publish::SUMMARY_FILE), &summary)?;
    Ok(summary)
}

fn split_json(report: &SplitReport, max_length: Option<usize>) -> Value {
    let mean = if report.rows == 0 { 0.0 } else { report.total_tokens as f64 / report.rows as f64 };
    json!({
        "rows": report.rows,
        "rows_per_class": report.rows_per_class,
        "token_length": { "min": report.min_tokens, "mean": mean, "max": report.max_tokens },
        "padded_length": report.padded_length,
        "truncated": max_length.is_some_and(|length| report.max_tokens > length as i64),
    })
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|error| Error::Internal(error.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|error| Error::io(path, error))
}
