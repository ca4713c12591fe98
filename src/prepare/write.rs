//! The write step, one bucket at a time. The staged rows are in buckets of the shuffle order (step 2); each
//! bucket of each split is sorted and written by its own `COPY` of `sql/06_write.sql`, several at once, so no
//! sort holds more than a bucket and the files, read in name order, are the split in shuffle order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout::Padding;
use super::options::PrepareOptions;
use super::split::{Split, SplitReport};
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::Param;
use crate::sql::literals::quote_identifier;
use crate::sql::results::{copied_count, int64_column, run_at_once, text_column};
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

/// What `sql/06_write.sql` writes of one split.
pub(crate) struct SplitToWrite {
    pub name: String,
    /// `${pad_to}`: the length rows are padded (and truncated) to, an expression of the row's `tokens`.
    pub pad_to: String,
    /// Whether the split's rows carry their fold.
    pub folds: bool,
    /// The last bucket holding rows of the split: the buckets after it get no `COPY`.
    pub last_bucket: u64,
}

/// Runs `sql/06_write.sql` once per split and bucket, `concurrency` at a time, into `out`, and returns the rows
/// written per split. Each statement gets its own `${split}`, `${bucket}` and `${part}`, so how many run at
/// once changes nothing in the files. A held-out split takes the first rows of each class in shuffle order, so
/// its rows sit in the first buckets (none past `last_bucket`) and training's mostly in the others: the empty
/// files are removed and the rest renumbered from part-00000 in bucket order.
pub(crate) async fn write_buckets(
    runner: &ScriptRunner,
    out: &Location,
    buckets: u64,
    splits: &[SplitToWrite],
    concurrency: usize,
    copied: &std::sync::atomic::AtomicU64,
) -> Result<Vec<u64>> {
    let (name, text) = (scripts::WRITE.path, scripts::WRITE.text);
    let context = runner.context().clone();
    // The script's settings apply to the session, once, before any bucket is written.
    let (settings, copy_statements): (Vec<_>, Vec<_>) =
        split_statements(text).into_iter().partition(|statement| is_setting(&statement.text));
    for setting in &settings {
        context.sql(&substitute(&setting.text, runner.params(), name)?).await?.collect().await?;
    }
    let [copy] = copy_statements.as_slice() else {
        return Err(Error::Internal(format!("{name} has {} statements, expected one COPY", copy_statements.len())));
    };
    let mut files = Vec::new();
    let mut copies = Vec::new();
    for (number, split) in splits.iter().enumerate() {
        for bucket in 0..=split.last_bucket.min(buckets.saturating_sub(1)) {
            let mut params = runner.params().clone();
            params.extend(crate::sql::params::to_sql([
                ("split", Param::Text(split.name.clone())),
                ("pad_to", Param::Sql(split.pad_to.clone())),
                ("fold_column", Param::Sql(if split.folds { ", fold".into() } else { String::new() })),
                ("bucket", Param::Text(bucket.to_string())),
                ("part", Param::Text(part_name(bucket))),
            ]));
            files.push((number, bucket));
            copies.push(substitute(&copy.text, &params, name)?);
        }
    }
    let results = run_at_once(&context, copies, concurrency, Some(copied)).await?;
    let mut written: Vec<(usize, u64, u64)> = files
        .into_iter()
        .zip(&results)
        .map(|((split, bucket), batches)| (split, bucket, copied_count(batches)))
        .collect();
    written.sort_unstable();
    let mut totals = vec![0u64; splits.len()];
    for (number, split) in splits.iter().enumerate() {
        let files: Vec<(u64, u64)> =
            written.iter().filter(|(s, _, _)| *s == number).map(|&(_, bucket, rows)| (bucket, rows)).collect();
        totals[number] = files.iter().map(|(_, rows)| rows).sum();
        let directory = out.join(&split.name);
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

/// The number of a split file: `part-{part_name}.parquet`.
pub(crate) fn part_name(number: u64) -> String {
    format!("{number:05}")
}

/// Pads and writes every split bucket by bucket into `out`, checking that the files hold exactly the rows the
/// split counted.
pub(super) async fn write_splits(
    runner: &mut ScriptRunner,
    options: &PrepareOptions,
    out: &Location,
    buckets: u64,
    split: &Split,
    copied: &std::sync::atomic::AtomicU64,
) -> Result<()> {
    let [ids, masks, targets] = options.column_names.columns();
    runner.set_param("ids_name", Param::Identifier(ids.into()));
    runner.set_param("targets_name", Param::Identifier(targets.into()));
    let masks_column = match options.padding {
        // Every mask would be all ones.
        Padding::None => String::new(),
        _ => format!(", padded['masks'] AS {}", quote_identifier(masks)),
    };
    runner.set_param("masks_column", Param::Sql(masks_column));
    let folds = options.split.folds > 1;
    // A group's rows lie anywhere in the shuffle order: with groups every split may fill every bucket.
    let last_buckets = if options.group.is_some() { BTreeMap::new() } else { last_buckets(runner).await? };
    let to_write: Vec<SplitToWrite> = split
        .splits
        .iter()
        .enumerate()
        .map(|(number, report)| SplitToWrite {
            name: report.name.clone(),
            pad_to: match (report.padded_length, options.max_length) {
                (Some(length), _) => length.to_string(),
                // Unpadded: each row's own length, truncated to --max-length.
                (None, Some(max_length)) => format!("LEAST(tokens, {max_length})"),
                (None, None) => "tokens".into(),
            },
            // Only training has folds.
            folds: folds && number == 0,
            // Without a boundary a split has no row: bucket 0 still gets its (empty) file.
            last_bucket: match options.group {
                Some(_) => buckets.saturating_sub(1),
                None => last_buckets.get(&report.name).copied().unwrap_or(0),
            },
        })
        .collect();
    let written = write_buckets(runner, out, buckets, &to_write, options.session.partitions, copied).await?;
    check_written(&written, &split.splits)
}

/// Per split, the last bucket holding its rows (`segment_bounds` of `sql/04_split.sql`).
async fn last_buckets(runner: &mut ScriptRunner) -> Result<BTreeMap<String, u64>> {
    let batches = run_named(runner, scripts::QUERIES, "last_buckets").await?;
    let mut last = BTreeMap::new();
    for batch in &batches {
        let splits = text_column(batch, "split")?;
        let buckets = int64_column(batch, "last_bucket")?;
        for row in 0..batch.num_rows() {
            last.insert(splits.value(row).to_owned(), buckets.value(row) as u64);
        }
    }
    Ok(last)
}

/// The split files hold exactly the rows the split counted: `written` is what the `COPY` statements of
/// `sql/06_write.sql` reported, summed per split.
fn check_written(written: &[u64], splits: &[SplitReport]) -> Result<()> {
    for (split, &written) in splits.iter().zip(written) {
        if written != split.rows {
            return Err(Error::Accounting(format!(
                "the {} split has {} rows but {written} were written",
                split.name, split.rows
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(name: &str, rows: u64) -> SplitReport {
        SplitReport { name: name.into(), rows, ..Default::default() }
    }

    #[test]
    fn written_rows_must_equal_the_split_counts() {
        check_written(&[8, 2], &[split("train", 8), split("val", 2)]).unwrap();
        let error = check_written(&[8, 4], &[split("train", 8), split("val", 2)]).unwrap_err().to_string();
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
