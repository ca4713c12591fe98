//! The split step (`sql/04_split.sql`, `sql/05_examples.sql`): the stratified split, its counts and token
//! lengths, the class indices and the leakage counts, each checked against its definition.

use std::collections::BTreeMap;

use datafusion::arrow::array::RecordBatch;
use serde_json::{Value, json};

use super::leakage::{find_shared_texts, text_bucket_count};
use super::options::PrepareOptions;
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::Param;
use crate::sql::ScriptRunner;
use crate::sql::literals::materialize_small_view;
use crate::sql::results::{int64_column, result_with_columns, text_column};
use crate::sql::scripts::{self, run_named};

/// Views of one row per class that `prepare` replaces by their values before the full rows meet them.
pub const SMALL_VIEWS: [&str; 2] = ["class_to_index", "val_boundaries"];

/// Per split: rows, class counts and token lengths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitReport {
    pub rows: u64,
    pub rows_per_class: BTreeMap<String, u64>,
    pub min_tokens: i64,
    pub max_tokens: i64,
    pub total_tokens: i64,
    pub padded_length: i64,
}

/// The split, as counted from its rows.
pub(super) struct Split {
    pub class_to_index: BTreeMap<String, i64>,
    pub train: SplitReport,
    pub val: SplitReport,
    /// The leakage counts of `summary.json`.
    pub leakage: Value,
}

/// Splits the `rows_accepted` accepted rows, counts each split, and sets each split's padded length.
pub(super) async fn split(
    runner: &mut ScriptRunner,
    options: &PrepareOptions,
    known_classes: Option<&BTreeMap<String, i64>>,
    buckets: u64,
    rows_accepted: u64,
    work: &Location,
) -> Result<Split> {
    runner.run_script(scripts::SPLIT.path, scripts::SPLIT.text, None).await?;
    if let Some(classes) = known_classes {
        use_class_indices(runner, classes).await?;
    }
    for view in SMALL_VIEWS {
        materialize_small_view(runner, view).await?;
    }
    let text_buckets = text_bucket_count(buckets);
    if text_buckets > 1 {
        run_named(runner, scripts::EXAMPLES, "examples").await?;
        let shared_texts =
            find_shared_texts(runner, work, text_buckets, rows_accepted, options.session.partitions).await?;
        runner.set_param("shared_texts", Param::Identifier(shared_texts));
    }
    let stats = runner.run_script(scripts::EXAMPLES.path, scripts::EXAMPLES.text, None).await?;
    let class_to_index = read_class_to_index(result_with_columns(&stats, &["class", "class_index"])?)?;
    let split_counts = ["split", "tag", "rows", "min_tokens", "max_tokens", "total_tokens"];
    let (mut train, mut val) = read_split_reports(result_with_columns(&stats, &split_counts)?)?;
    let leakage = read_leakage(
        result_with_columns(&stats, &LEAKAGE_TOTALS)?,
        result_with_columns(&stats, &["text", "train_rows", "val_rows"])?,
    )?;
    check_split(options, rows_accepted, &train, &val)?;
    check_split_sizes(options.test_size, &class_to_index, known_classes, &train, &val)?;
    for split in [&mut train, &mut val] {
        split.padded_length = options.max_length.map_or(split.max_tokens, |length| length as i64);
    }
    Ok(Split { class_to_index, train, val, leakage })
}

/// The leakage totals of `sql/05_examples.sql`, as `summary.json` names them.
const LEAKAGE_TOTALS: [&str; 5] = [
    "shared_texts",
    "rows_sharing_a_text",
    "texts_in_both_splits",
    "val_rows_with_a_train_text",
    "train_rows_with_a_val_text",
];

/// Cleaned texts shared by rows, and those in both splits, for `summary.json` (outputs of
/// `sql/05_examples.sql`: the totals, then the texts in both splits that most validation rows have).
fn read_leakage(totals: &[RecordBatch], texts: &[RecordBatch]) -> Result<Value> {
    let mut leakage = serde_json::Map::new();
    for batch in totals.iter().filter(|batch| batch.num_rows() > 0) {
        for name in LEAKAGE_TOTALS {
            leakage.insert(name.to_owned(), json!(int64_column(batch, name)?.value(0)));
        }
    }
    let mut examples = Vec::new();
    for batch in texts {
        let text = text_column(batch, "text")?;
        let (train, val) = (int64_column(batch, "train_rows")?, int64_column(batch, "val_rows")?);
        for row in 0..batch.num_rows() {
            examples
                .push(json!({ "text": text.value(row), "train_rows": train.value(row), "val_rows": val.value(row) }));
        }
    }
    leakage.insert("texts_in_both_splits_most_seen".into(), Value::Array(examples));
    Ok(Value::Object(leakage))
}

/// Replaces the view `class_to_index` by the classes of `--classes`, and plans `val_boundaries` again over it.
async fn use_class_indices(runner: &mut ScriptRunner, classes: &BTreeMap<String, i64>) -> Result<()> {
    let schema = runner.context().table("class_sizes").await?.schema().as_arrow().clone();
    let class_type = schema.field_with_name("class")?.data_type().clone();
    let rows: Vec<String> = classes
        .iter()
        .map(|(label, index)| {
            format!("(arrow_cast('{}', '{class_type}'), CAST({index} AS BIGINT))", label.replace('\'', "''"))
        })
        .collect();
    runner.set_param("classes", Param::Sql(format!("(VALUES {})", rows.join(", "))));
    run_named(runner, scripts::QUERIES, "given_class_to_index").await?;
    run_named(runner, scripts::SPLIT, "val_boundaries").await?;
    Ok(())
}

fn check_split(options: &PrepareOptions, rows_read: u64, train: &SplitReport, val: &SplitReport) -> Result<()> {
    for (class, &val_rows) in &val.rows_per_class {
        if !train.rows_per_class.contains_key(class) {
            return Err(Error::Configuration(format!(
                "class '{class}' has only {val_rows} row(s): too few to split with --test-size {} (every row would go \
                 to validation and none to training)",
                options.test_size
            )));
        }
    }
    if train.rows + val.rows != rows_read {
        return Err(Error::Accounting(format!(
            "read {rows_read} rows but the split holds {} train + {} val",
            train.rows, val.rows
        )));
    }
    Ok(())
}

/// The split, checked against its definition: per class, `ceil(test_size * rows)` rows in validation, and the
/// classes with training rows indexed 0..k-1 in sorted order. The counts come from the rows themselves, the
/// boundaries and indices from small aggregates computed apart; a Ballista 55 cluster that lost an executor
/// was seen to read a re-run task's shuffle output twice, which doubles an aggregate without changing the
/// row totals, so this is where such a run is caught.
fn check_split_sizes(
    test_size: f64,
    class_to_index: &BTreeMap<String, i64>,
    given_indices: Option<&BTreeMap<String, i64>>,
    train: &SplitReport,
    val: &SplitReport,
) -> Result<()> {
    let classes: std::collections::BTreeSet<&String> =
        train.rows_per_class.keys().chain(val.rows_per_class.keys()).collect();
    for class in classes {
        let train_rows = train.rows_per_class.get(class).copied().unwrap_or(0);
        let val_rows = val.rows_per_class.get(class).copied().unwrap_or(0);
        let rows = train_rows + val_rows;
        let expected = (test_size * rows as f64).ceil() as u64;
        if val_rows != expected {
            return Err(Error::Accounting(format!(
                "class '{class}' has {rows} rows and {val_rows} in validation, but ceil({test_size} * {rows}) = {expected}"
            )));
        }
    }
    let expected_indices: BTreeMap<String, i64> = match given_indices {
        Some(given) => given.clone(),
        None => train.rows_per_class.keys().cloned().zip(0..).collect(),
    };
    if *class_to_index != expected_indices {
        return Err(Error::Accounting(format!(
            "the class indices {class_to_index:?} are not the training classes in order {expected_indices:?}"
        )));
    }
    Ok(())
}

fn read_class_to_index(batches: &[RecordBatch]) -> Result<BTreeMap<String, i64>> {
    let mut classes = BTreeMap::new();
    for batch in batches {
        let names = text_column(batch, "class")?;
        let indices = int64_column(batch, "class_index")?;
        for row in 0..batch.num_rows() {
            classes.insert(names.value(row).to_owned(), indices.value(row));
        }
    }
    Ok(classes)
}

fn read_split_reports(batches: &[RecordBatch]) -> Result<(SplitReport, SplitReport)> {
    let mut train = SplitReport { min_tokens: i64::MAX, ..Default::default() };
    let mut val = SplitReport { min_tokens: i64::MAX, ..Default::default() };
    for batch in batches {
        let splits = text_column(batch, "split")?;
        let classes = text_column(batch, "tag")?;
        let rows = int64_column(batch, "rows")?;
        let min_tokens = int64_column(batch, "min_tokens")?;
        let max_tokens = int64_column(batch, "max_tokens")?;
        let total_tokens = int64_column(batch, "total_tokens")?;
        for row in 0..batch.num_rows() {
            let report = if splits.value(row) == "train" { &mut train } else { &mut val };
            report.rows += rows.value(row) as u64;
            report.rows_per_class.insert(classes.value(row).to_owned(), rows.value(row) as u64);
            report.min_tokens = report.min_tokens.min(min_tokens.value(row));
            report.max_tokens = report.max_tokens.max(max_tokens.value(row));
            report.total_tokens += total_tokens.value(row);
        }
    }
    for report in [&mut train, &mut val] {
        if report.rows == 0 {
            report.min_tokens = 0;
        }
    }
    Ok((train, val))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(classes: &[(&str, u64)]) -> SplitReport {
        let rows_per_class: BTreeMap<String, u64> =
            classes.iter().map(|(class, rows)| (class.to_string(), *rows)).collect();
        SplitReport { rows: rows_per_class.values().sum(), rows_per_class, ..Default::default() }
    }

    #[test]
    fn split_sizes_must_follow_the_definition() {
        let indices = BTreeMap::from([("a".to_owned(), 0), ("b".to_owned(), 1)]);
        // 10 rows -> 2 in validation, 7 rows -> ceil(1.4) = 2.
        check_split_sizes(0.2, &indices, None, &report(&[("a", 8), ("b", 5)]), &report(&[("a", 2), ("b", 2)])).unwrap();
        let error =
            check_split_sizes(0.2, &indices, None, &report(&[("a", 6), ("b", 5)]), &report(&[("a", 4), ("b", 2)]))
                .unwrap_err()
                .to_string();
        assert!(error.contains("class 'a' has 10 rows and 4 in validation, but ceil(0.2 * 10) = 2"), "{error}");
        let shifted = BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]);
        let error =
            check_split_sizes(0.2, &shifted, None, &report(&[("a", 8), ("b", 5)]), &report(&[("a", 2), ("b", 2)]))
                .unwrap_err()
                .to_string();
        assert!(error.contains("are not the training classes in order"), "{error}");
    }
}
