//! The split step (`sql/04_split.sql`, `sql/05_examples.sql`): the stratified split, its counts and token
//! lengths, the class indices and the leakage counts, each checked against its definition.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, RecordBatch};
use serde_json::{Value, json};

use super::leakage::{find_shared_texts, text_bucket_count};
use super::options::PrepareOptions;
use super::plan::SplitPlan;
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::Param;
use crate::sql::ScriptRunner;
use crate::sql::literals::materialize_small_view;
use crate::sql::results::{int64_column, result_with_columns, text_column};
use crate::sql::scripts::{self, run_named};

/// Per split: rows, class counts (per fold too) and token lengths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitReport {
    pub name: String,
    pub rows: u64,
    pub rows_per_class: BTreeMap<String, u64>,
    /// With folds: rows per fold and class.
    pub rows_per_fold: BTreeMap<u32, BTreeMap<String, u64>>,
    pub min_tokens: i64,
    pub max_tokens: i64,
    pub total_tokens: i64,
    /// Rows longer than `--max-length`, written truncated to it (0 without it).
    pub rows_over_max_length: u64,
    /// The length the split's ids are padded to; `None` without padding (`--padding none`).
    pub padded_length: Option<i64>,
}

/// The split, as counted from its rows.
pub(super) struct Split {
    pub class_to_index: BTreeMap<String, i64>,
    /// In the plan's order: training first, then the held-out splits.
    pub splits: Vec<SplitReport>,
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
    let grouped = options.group.is_some();
    let script = if grouped { scripts::GROUP_SPLIT } else { scripts::SPLIT };
    let results = runner.run_script(script.path, script.text, None).await?;
    if grouped {
        check_groups_kept_whole(result_with_columns(&results, &["groups_split_apart"])?)?;
    }
    if let Some(classes) = known_classes {
        use_class_indices(runner, classes).await?;
    }
    materialize_split(runner, grouped).await?;
    let text_buckets = text_bucket_count(buckets);
    // Written once, even when one aggregate counts every text: the leakage queries then read a small table.
    let shared_texts = find_shared_texts(runner, work, text_buckets, rows_accepted, options.session.partitions).await?;
    runner.set_param("shared_texts", Param::Identifier(shared_texts));
    let stats = runner.run_script(scripts::EXAMPLES.path, scripts::EXAMPLES.text, None).await?;
    let class_to_index = read_class_to_index(result_with_columns(&stats, &["class", "class_index"])?)?;
    let split_counts =
        ["split", "fold", "tag", "rows", "min_tokens", "max_tokens", "total_tokens", "rows_over_max_length"];
    let mut splits = read_split_reports(&options.split, result_with_columns(&stats, &split_counts)?)?;
    let leakage = read_leakage(
        result_with_columns(&stats, &LEAKAGE_TOTALS)?,
        result_with_columns(&stats, &["text", "train_rows", "val_rows"])?,
    )?;
    check_split(&options.split, rows_accepted, &splits)?;
    if grouped {
        // Whole groups give each class only close to its share: the sizes are reported, not checked.
        check_class_indices(&class_to_index, known_classes, &splits)?;
    } else {
        check_split_sizes(&options.split, &class_to_index, known_classes, &splits)?;
    }
    let longest: Vec<i64> = splits.iter().map(|split| split.max_tokens).collect();
    for (split, length) in splits.iter_mut().zip(options.padding.lengths(options.max_length, &longest)) {
        split.padded_length = length;
    }
    Ok(Split { class_to_index, splits, leakage })
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

/// Replaces the small views of step 4 by their values and plans `examples` again over them, so that the
/// planner knows their size (the full rows meet them in a join that sends them to every partition). A view
/// captures the plans of the views it reads when it is made: `segment_bounds` is planned again over the
/// class indices' values before its own are taken, so that the targets written are the indices `prepare`
/// checks, not those of a second run of their query (on a Ballista cluster that lost an executor, a second
/// run was seen to number the classes differently). With groups (`grouped`) only the class indices are small.
pub async fn materialize_split(runner: &mut ScriptRunner, grouped: bool) -> Result<()> {
    materialize_small_view(runner, "class_to_index").await?;
    let script = if grouped { scripts::GROUP_SPLIT } else { scripts::SPLIT };
    if !grouped {
        run_named(runner, script, "segment_bounds").await?;
        materialize_small_view(runner, "segment_bounds").await?;
    }
    run_named(runner, script, "examples").await?;
    Ok(())
}

/// No group is in two segments (`groups_split_apart` of `sql/04_group_split.sql`).
fn check_groups_kept_whole(batches: &[RecordBatch]) -> Result<()> {
    let apart: i64 = batches
        .iter()
        .map(|batch| int64_column(batch, "groups_split_apart").map(|column| column.value(0)))
        .sum::<Result<_>>()?;
    if apart != 0 {
        return Err(Error::Accounting(format!("{apart} group(s) were put in more than one split or fold")));
    }
    Ok(())
}

/// Replaces the view `class_to_index` by the classes of `--classes`.
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
    Ok(())
}

/// Every class has training rows, and every accepted row is in a split.
fn check_split(plan: &SplitPlan, rows_accepted: u64, splits: &[SplitReport]) -> Result<()> {
    let train = &splits[0];
    for held_out in &splits[1..] {
        for class in held_out.rows_per_class.keys() {
            if !train.rows_per_class.contains_key(class) {
                let rows: u64 = splits.iter().filter_map(|split| split.rows_per_class.get(class)).sum();
                return Err(Error::Configuration(format!(
                    "class '{class}' has only {rows} row(s): too few to split with {} (every row would go to the \
                     held-out splits and none to {})",
                    plan.describe(),
                    plan.train
                )));
            }
        }
    }
    let rows_split: u64 = splits.iter().map(|split| split.rows).sum();
    if rows_split != rows_accepted {
        let counts: Vec<String> = splits.iter().map(|split| format!("{} {}", split.rows, split.name)).collect();
        return Err(Error::Accounting(format!("read {rows_accepted} rows but the split holds {}", counts.join(" + "))));
    }
    Ok(())
}

/// The split, checked against its definition ([`SplitPlan::segment_sizes`]): per class, each held-out split
/// and each fold has the rows the plan gives a class of its size, and the classes with training rows are
/// indexed 0..k-1 in sorted order. The counts come from the rows themselves, the boundaries and indices from
/// small aggregates computed apart; a Ballista 55 cluster that lost an executor was seen to read a re-run
/// task's shuffle output twice, which doubles an aggregate without changing the row totals, so this is where
/// such a run is caught.
fn check_split_sizes(
    plan: &SplitPlan,
    class_to_index: &BTreeMap<String, i64>,
    given_indices: Option<&BTreeMap<String, i64>>,
    splits: &[SplitReport],
) -> Result<()> {
    let classes: std::collections::BTreeSet<&String> =
        splits.iter().flat_map(|split| split.rows_per_class.keys()).collect();
    let rows_of = |split: &SplitReport, fold: Option<u32>, class: &str| {
        let counts = match fold {
            Some(fold) => split.rows_per_fold.get(&fold),
            None => Some(&split.rows_per_class),
        };
        counts.and_then(|counts| counts.get(class)).copied().unwrap_or(0)
    };
    for class in classes {
        let rows: u64 = splits.iter().map(|split| rows_of(split, None, class)).sum();
        let expected = plan.segment_sizes(rows).unwrap_or_default();
        for (segment, expected) in plan.segments().iter().zip(expected) {
            let split = splits.iter().find(|split| split.name == segment.split).expect("every split is reported");
            let found = rows_of(split, segment.fold, class);
            if found != expected {
                let part = segment.fold.map_or_else(|| format!("'{}'", segment.split), |fold| format!("fold {fold}"));
                return Err(Error::Accounting(format!(
                    "class '{class}' has {rows} rows and {found} in {part}, but {} gives it {expected}",
                    plan.describe()
                )));
            }
        }
    }
    check_class_indices(class_to_index, given_indices, splits)
}

/// The classes with training rows are indexed 0..k-1 in sorted order (or as `--classes` says).
fn check_class_indices(
    class_to_index: &BTreeMap<String, i64>,
    given_indices: Option<&BTreeMap<String, i64>>,
    splits: &[SplitReport],
) -> Result<()> {
    let expected_indices: BTreeMap<String, i64> = match given_indices {
        Some(given) => given.clone(),
        None => splits[0].rows_per_class.keys().cloned().zip(0..).collect(),
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

/// The reports of the plan's splits, in its order, from the counts per split, fold and class.
fn read_split_reports(plan: &SplitPlan, batches: &[RecordBatch]) -> Result<Vec<SplitReport>> {
    let mut reports: Vec<SplitReport> = plan
        .split_names()
        .into_iter()
        .map(|name| SplitReport { name: name.to_owned(), min_tokens: i64::MAX, ..Default::default() })
        .collect();
    for batch in batches {
        let splits = text_column(batch, "split")?;
        let folds = int64_column(batch, "fold")?;
        let classes = text_column(batch, "tag")?;
        let rows = int64_column(batch, "rows")?;
        let min_tokens = int64_column(batch, "min_tokens")?;
        let max_tokens = int64_column(batch, "max_tokens")?;
        let total_tokens = int64_column(batch, "total_tokens")?;
        let over_max_length = int64_column(batch, "rows_over_max_length")?;
        for row in 0..batch.num_rows() {
            let name = splits.value(row);
            let report = reports
                .iter_mut()
                .find(|report| report.name == name)
                .ok_or_else(|| Error::Internal(format!("the split found rows of '{name}', which the plan has not")))?;
            let (class, rows) = (classes.value(row), rows.value(row) as u64);
            report.rows += rows;
            *report.rows_per_class.entry(class.to_owned()).or_default() += rows;
            if folds.is_valid(row) {
                let fold = u32::try_from(folds.value(row)).map_err(|error| Error::Internal(error.to_string()))?;
                *report.rows_per_fold.entry(fold).or_default().entry(class.to_owned()).or_default() += rows;
            }
            report.min_tokens = report.min_tokens.min(min_tokens.value(row));
            report.max_tokens = report.max_tokens.max(max_tokens.value(row));
            report.total_tokens += total_tokens.value(row);
            report.rows_over_max_length += over_max_length.value(row) as u64;
        }
    }
    for report in &mut reports {
        if report.rows == 0 {
            report.min_tokens = 0;
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, classes: &[(&str, u64)]) -> SplitReport {
        let rows_per_class: BTreeMap<String, u64> =
            classes.iter().map(|(class, rows)| (class.to_string(), *rows)).collect();
        SplitReport { name: name.into(), rows: rows_per_class.values().sum(), rows_per_class, ..Default::default() }
    }

    #[test]
    fn split_sizes_must_follow_the_definition() {
        let plan = SplitPlan::two_way(0.2);
        let indices = BTreeMap::from([("a".to_owned(), 0), ("b".to_owned(), 1)]);
        // 10 rows -> 2 in validation, 7 rows -> ceil(1.4) = 2.
        let good = [report("train", &[("a", 8), ("b", 5)]), report("val", &[("a", 2), ("b", 2)])];
        check_split_sizes(&plan, &indices, None, &good).unwrap();
        let bad = [report("train", &[("a", 6), ("b", 5)]), report("val", &[("a", 4), ("b", 2)])];
        let error = check_split_sizes(&plan, &indices, None, &bad).unwrap_err().to_string();
        assert!(error.contains("class 'a' has 10 rows and 4 in 'val', but --test-size 0.2 gives it 2"), "{error}");
        let shifted = BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]);
        let error = check_split_sizes(&plan, &shifted, None, &good).unwrap_err().to_string();
        assert!(error.contains("are not the training classes in order"), "{error}");
    }

    #[test]
    fn fold_sizes_must_follow_the_definition() {
        let plan = SplitPlan::training_only().with_folds(3);
        let indices = BTreeMap::from([("a".to_owned(), 0)]);
        let mut train = report("train", &[("a", 10)]);
        train.rows_per_fold = [(0, 4), (1, 3), (2, 3)]
            .into_iter()
            .map(|(fold, rows)| (fold, BTreeMap::from([("a".to_owned(), rows)])))
            .collect();
        check_split_sizes(&plan, &indices, None, std::slice::from_ref(&train)).unwrap();
        train.rows_per_fold.insert(1, BTreeMap::from([("a".to_owned(), 2)]));
        train.rows_per_fold.insert(2, BTreeMap::from([("a".to_owned(), 4)]));
        let error = check_split_sizes(&plan, &indices, None, &[train]).unwrap_err().to_string();
        assert!(error.contains("class 'a' has 10 rows and 2 in fold 1, but --folds 3 gives it 3"), "{error}");
    }
}
