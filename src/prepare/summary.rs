//! What `prepare` reports: per split counts, the run's report, and the files that describe the output
//! (`class_to_index.json`, `rejected.csv`, and `summary.json`, written last).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::checks::Accepted;
use super::options::PrepareOptions;
use super::plan::SplitPlan;
use super::scan::Input;
use super::split::{Split, SplitReport};
use super::vocabulary::Vocabulary;
use crate::error::{Error, Result};
use crate::input::bad_rows::{OnBadRows, counts_by_kind, write_rejected_csv};

/// What a finished run wrote.
#[derive(Debug, Clone)]
pub struct PrepareReport {
    pub out: PathBuf,
    /// Records in the input (rows read = rows in the splits + rejected + deduplicated).
    pub rows_read: u64,
    /// Rows set aside (`--on-bad-rows skip`), listed in `DIR/rejected.csv`.
    pub rows_rejected: u64,
    /// Rows left out by `--dedupe` (their cleaned text is another row's).
    pub rows_deduplicated: u64,
    /// Validation rows whose cleaned text a training row has too.
    pub val_rows_with_a_train_text: u64,
    pub class_to_index: BTreeMap<String, i64>,
    /// Training first, then the held-out splits.
    pub splits: Vec<SplitReport>,
    pub summary: Value,
    /// How long each step took.
    pub step_times: Vec<(&'static str, std::time::Duration)>,
    /// What the user should know of a run that succeeded (an earlier output that could not be removed).
    pub warnings: Vec<String>,
}

impl PrepareReport {
    /// The report of the split `name`.
    pub fn split(&self, name: &str) -> Option<&SplitReport> {
        self.splits.iter().find(|split| split.name == name)
    }

    /// Rows in all the splits.
    pub fn rows_in_splits(&self) -> u64 {
        self.splits.iter().map(|split| split.rows).sum()
    }
}

/// What `summary.json` says of the run.
pub(super) fn summary(
    options: &PrepareOptions,
    vocabulary: &Vocabulary,
    input: &Input,
    accepted: &Accepted,
    split: &Split,
) -> Value {
    json!({
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
        "group": options.group,
        "seed": options.seed,
        "test_size": options.split.test_size(),
        "split_plan": plan_json(&options.split),
        "vocab": vocabulary.name,
        "vocab_sha256": vocabulary.sha256,
        "max_length": options.max_length,
        "pad_token": options.pad_token,
        "padding": options.padding.name(),
        "column_names": options.column_names.name(),
        "file_size": options.file_size,
        "class_to_index": split.class_to_index,
        "splits": split.splits.iter().map(|report| (report.name.clone(), split_json(report, options.max_length)))
            .collect::<serde_json::Map<String, Value>>(),
        "share_per_class": options.group.as_ref().map(|_| shares(&split.splits)),
    })
}

/// Writes `class_to_index.json` and, with `--on-bad-rows skip`, `rejected.csv` into `staging`.
pub(super) fn write_side_files(
    staging: &Path,
    options: &PrepareOptions,
    accepted: &Accepted,
    split: &Split,
) -> Result<()> {
    write_json(&staging.join("class_to_index.json"), &json!(split.class_to_index))?;
    if options.on_bad_rows == OnBadRows::Skip {
        write_rejected_csv(&staging.join("rejected.csv"), &accepted.rejected)?;
    }
    Ok(())
}

/// Writes `summary.json` into `staging`: last, as it marks the directory as a complete output.
pub(super) fn write_summary(staging: &Path, summary: &Value) -> Result<()> {
    write_json(&staging.join(crate::publish::SUMMARY_FILE), summary)
}

/// Per split and class, the share of the class's rows the split got (with groups, only close to the plan's).
fn shares(splits: &[SplitReport]) -> Value {
    let mut class_rows: BTreeMap<&str, u64> = BTreeMap::new();
    for split in splits {
        for (class, rows) in &split.rows_per_class {
            *class_rows.entry(class).or_default() += rows;
        }
    }
    splits
        .iter()
        .map(|split| {
            let shares: serde_json::Map<String, Value> = class_rows
                .iter()
                .map(|(class, total)| {
                    let rows = split.rows_per_class.get(*class).copied().unwrap_or(0);
                    (class.to_string(), json!(rows as f64 / *total as f64))
                })
                .collect();
            (split.name.clone(), Value::Object(shares))
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

/// The splits in the order they take each class's rows, and the folds of training.
fn plan_json(plan: &SplitPlan) -> Value {
    json!({
        "held_out": plan.held_out.iter().map(|split| json!({ "split": split.name, "share": split.share }))
            .collect::<Vec<_>>(),
        "train": plan.train,
        "folds": (plan.folds > 1).then_some(plan.folds),
    })
}

fn split_json(report: &SplitReport, max_length: Option<usize>) -> Value {
    let mean = if report.rows == 0 { 0.0 } else { report.total_tokens as f64 / report.rows as f64 };
    let mut json = json!({
        "rows": report.rows,
        "rows_per_class": report.rows_per_class,
        "token_length": { "min": report.min_tokens, "mean": mean, "max": report.max_tokens },
        "padded_length": report.padded_length,
        "truncated": max_length.is_some_and(|length| report.max_tokens > length as i64),
        "rows_over_max_length": max_length.map(|_| report.rows_over_max_length),
    });
    if !report.rows_per_fold.is_empty() {
        let folds: serde_json::Map<String, Value> =
            report.rows_per_fold.iter().map(|(fold, classes)| (fold.to_string(), json!(classes))).collect();
        json["rows_per_fold_and_class"] = Value::Object(folds);
    }
    json
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|error| Error::Internal(error.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|error| Error::io(path, error))
}
