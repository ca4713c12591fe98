//! The write step, one bucket at a time. The staged rows are in buckets of the shuffle order (step 2); each
//! bucket of each split is sorted and written by its own `COPY` of `sql/06_write.sql`, several at once, so no
//! sort holds more than a bucket and the files, read in name order, are the split in shuffle order.

use std::path::{Path, PathBuf};

use datafusion::arrow::array::Array;

use super::split::{Split, SplitReport};
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::Param;
use crate::sql::results::{copied_count, int64_column, run_at_once};
use crate::sql::script::substitute;
use crate::sql::scripts;
use crate::sql::scripts::run_named;
use crate::sql::{ScriptRunner, split_statements};

/// At most this many buckets (open files while staging), whatever the input size.
pub(crate) const MAX_BUCKETS: u64 = 4096;

/// The Parquet files of one split of a prepared directory, in order: read one after the other, they hold the
/// split in shuffle order.
pub fn split_files(out: &Path, split: &str) -> Result<Vec<PathBuf>> {
    let directory = out.join(split);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&directory).map_err(|error| Error::io(&directory, error))? {
        let path = entry.map_err(|error| Error::io(&directory, error))?.path();
        if path.extension().is_some_and(|extension| extension == "parquet") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Buckets for an input of `input_bytes`: one per `file_size` bytes, at least one.
pub(crate) fn bucket_count(input_bytes: u64, file_size: u64) -> u64 {
    input_bytes.div_ceil(file_size).clamp(1, MAX_BUCKETS)
}

/// Runs `sql/06_write.sql` once per bucket, `concurrency` buckets at a time, into `out`, and returns the rows
/// written per split (train, val). Each bucket's statements get their own `${bucket}` and `${part}`, so how
/// many run at once changes nothing in the files. Validation takes the first rows of each class in shuffle
/// order, so its rows sit in the first buckets and training's mostly in the others: the empty files are
/// removed and the rest renumbered from part-00000 in bucket order.
///
/// Validation holds the first rows of each class in shuffle order: no validation row lies past the bucket of
/// the last one, `last_val_bucket`, so the buckets after it get no validation `COPY` at all.
pub(crate) async fn write_buckets(
    runner: &ScriptRunner,
    out: &Location,
    buckets: u64,
    last_val_bucket: u64,
    concurrency: usize,
) -> Result<[u64; 2]> {
    let (name, text) = (scripts::WRITE.path, scripts::WRITE.text);
    let context = runner.context().clone();
    // The script's settings apply to the session, once, before any bucket is written.
    let (settings, copy_statements): (Vec<_>, Vec<_>) =
        split_statements(text).into_iter().partition(|statement| is_setting(&statement.text));
    for setting in &settings {
        context.sql(&substitute(&setting.text, runner.params(), name)?).await?.collect().await?;
    }
    let mut statements = Vec::new();
    for bucket in 0..buckets {
        let mut params = runner.params().clone();
        params.extend(crate::sql::params::to_sql([
            ("bucket", Param::Text(bucket.to_string())),
            ("part", Param::Text(part_name(bucket))),
        ]));
        let copies = copy_statements
            .iter()
            .map(|statement| substitute(&statement.text, &params, name))
            .collect::<Result<Vec<String>>>()?;
        if copies.len() != SPLITS.len() {
            return Err(Error::Internal(format!("{name} has {} statements, expected 2 COPY", copies.len())));
        }
        let val_may_have_rows = bucket <= last_val_bucket;
        for (split, sql) in copies.into_iter().enumerate() {
            if SPLITS[split] != "val" || val_may_have_rows {
                statements.push((split, bucket, sql));
            }
        }
    }
    let (files, copies): (Vec<(usize, u64)>, Vec<String>) =
        statements.into_iter().map(|(split, bucket, sql)| ((split, bucket), sql)).unzip();
    let results = run_at_once(&context, copies, concurrency).await?;
    let mut written: Vec<(usize, u64, u64)> = files
        .into_iter()
        .zip(&results)
        .map(|((split, bucket), batches)| (split, bucket, copied_count(batches)))
        .collect();
    written.sort_unstable();
    let mut totals = [0u64; 2];
    for (split, split_name) in SPLITS.iter().enumerate() {
        let files: Vec<(u64, u64)> =
            written.iter().filter(|(s, _, _)| *s == split).map(|&(_, bucket, rows)| (bucket, rows)).collect();
        totals[split] = files.iter().map(|(_, rows)| rows).sum();
        let directory = out.join(split_name);
        let file = |bucket: u64| directory.join(&format!("part-{}.parquet", part_name(bucket)));
        // A split with no rows at all keeps its first (empty) file, so every split has one.
        let keep: Vec<u64> =
            match files.iter().filter(|(_, rows)| *rows > 0).map(|(bucket, _)| *bucket).collect::<Vec<_>>() {
                kept if kept.is_empty() => vec![0],
                kept => kept,
            };
        for (bucket, _) in files.iter().filter(|(bucket, _)| !keep.contains(bucket)) {
            file(*bucket).remove_file().await?;
        }
        // Ascending, each file moves to a number no higher than its own, which is free by then.
        for (number, bucket) in keep.into_iter().enumerate() {
            if number as u64 != bucket {
                file(bucket).rename_to(&file(number as u64)).await?;
            }
        }
    }
    Ok(totals)
}

/// Whether `statement` is a `SET` of a session setting.
fn is_setting(statement: &str) -> bool {
    statement
        .split_whitespace()
        .next()
        .is_some_and(|word| word.eq_ignore_ascii_case("SET") || word.eq_ignore_ascii_case("RESET"))
}

/// The output splits, in the order of the `COPY` statements of `sql/06_write.sql`.
pub(crate) const SPLITS: [&str; 2] = ["train", "val"];

/// The number of a split file: `part-{part_name}.parquet`.
pub(crate) fn part_name(number: u64) -> String {
    format!("{number:05}")
}

/// Pads and writes both splits bucket by bucket into `out`, checking that the files hold exactly the rows the
/// split counted.
pub(super) async fn write_splits(
    runner: &mut ScriptRunner,
    out: &Location,
    buckets: u64,
    split: &Split,
    concurrency: usize,
) -> Result<()> {
    runner.set_param("train_pad_to", Param::Integer(split.train.padded_length.into()));
    runner.set_param("val_pad_to", Param::Integer(split.val.padded_length.into()));
    let last_val_bucket = last_val_bucket(runner).await?;
    let written = write_buckets(runner, out, buckets, last_val_bucket, concurrency).await?;
    check_written(&written, &split.train, &split.val)
}

/// The last bucket holding validation rows (`val_boundaries` of `sql/04_split.sql`).
async fn last_val_bucket(runner: &mut ScriptRunner) -> Result<u64> {
    let batches = run_named(runner, scripts::QUERIES, "last_val_bucket").await?;
    let Some(batch) = batches.iter().find(|batch| batch.num_rows() > 0) else { return Ok(0) };
    let values = int64_column(batch, "last_val_bucket")?;
    // Without a boundary there is no validation row: bucket 0 still gets its (empty) file.
    Ok(if values.is_valid(0) { values.value(0) as u64 } else { 0 })
}

/// The split files hold exactly the rows the split counted: `written` is what the `COPY` statements of
/// `sql/06_write.sql` reported, summed per split (train, val).
fn check_written(written: &[u64; 2], train: &SplitReport, val: &SplitReport) -> Result<()> {
    for ((split, expected), &written) in [("train", train.rows), ("val", val.rows)].into_iter().zip(written) {
        if written != expected {
            return Err(Error::Accounting(format!("the {split} split has {expected} rows but {written} were written")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(rows: u64) -> SplitReport {
        SplitReport { rows, ..Default::default() }
    }

    #[test]
    fn written_rows_must_equal_the_split_counts() {
        check_written(&[8, 2], &split(8), &split(2)).unwrap();
        let error = check_written(&[8, 4], &split(8), &split(2)).unwrap_err().to_string();
        assert!(error.contains("the val split has 2 rows but 4 were written"), "{error}");
    }

    #[test]
    fn settings_are_told_from_copies() {
        assert!(is_setting("SET datafusion.a = 1"));
        assert!(is_setting("set\n  datafusion.a = 1"));
        assert!(is_setting("RESET datafusion.a"));
        assert!(!is_setting("COPY (SELECT 1) TO 'x'"));
        assert!(!is_setting("SETTINGS"));
    }

    #[test]
    fn buckets_follow_the_input_size_only() {
        assert_eq!(bucket_count(0, 100), 1);
        assert_eq!(bucket_count(100, 100), 1);
        assert_eq!(bucket_count(101, 100), 2);
        assert_eq!(bucket_count(u64::MAX, 1), MAX_BUCKETS);
    }
}
