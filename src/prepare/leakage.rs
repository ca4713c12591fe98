//! Leakage counts in bounded memory: the cleaned texts that several rows share are found range by range of
//! the text hash, for `${shared_texts}` of `sql/05_examples.sql`.
//!
//! Counting rows per text hash over every row at once holds one entry per distinct text (~40 bytes a row):
//! the only memory of a run that grew with the input. All rows
//! of a text share its hash, so the texts are counted apart in ranges of the hash ("text buckets"): one pass
//! stages each row's text hash and split by range, then one aggregate per range, several at once, writes the
//! hashes that rows share. The result is exactly the one aggregate's, whatever the number of ranges.

use std::path::Path;

use datafusion::common::Result;

use crate::error::{accounting_error, io_error};
use crate::sql::ScriptRunner;
use crate::sql::literals::quote_literal_body;
use crate::sql::results::{copied_count, run_at_once};

/// Shuffle buckets (`--file-size` of CSV each) per range of the text hash: up to 8 buckets, small enough for
/// one aggregate, the texts are counted in one.
pub(crate) const BUCKETS_PER_TEXT_BUCKET: u64 = 8;

/// How many ranges of the text hash the texts of an input staged in `buckets` buckets are counted in.
pub(crate) fn text_bucket_count(buckets: u64) -> u64 {
    buckets.div_ceil(BUCKETS_PER_TEXT_BUCKET).max(1)
}

/// The name of the table of shared texts written by [`find_shared_texts`].
const SHARED_TEXTS_TABLE: &str = "shared_texts_by_range";

/// Counts, per text hash that several of the `rows` rows of the view `examples` share, its rows in each split,
/// in `text_buckets` ranges of the hash (`concurrency` at a time), into Parquet under `work`. Returns the
/// table holding them (columns `text_hash`, `train_rows`, `val_rows`, as the script's own aggregate).
pub(crate) async fn find_shared_texts(
    runner: &ScriptRunner,
    work: &Path,
    text_buckets: u64,
    rows: u64,
    concurrency: usize,
) -> Result<String> {
    let context = runner.context();
    let hashes = work.join("text_hashes");
    let shared = work.join("shared_texts");
    std::fs::create_dir_all(&shared).map_err(|error| io_error(&shared, error))?;
    let (hashes_location, shared_location) = (location(&hashes), location(&shared));

    // The split is a small dictionary (two values) and the hashes are random: lz4, no parallel encoding per
    // file, small row groups, as for the staged rows (sql/02_stage.sql): one open writer per range.
    let staged = context
        .sql(&format!(
            "COPY (SELECT text_hash, split, CAST(((text_hash >> 32) * {text_buckets}) >> 32 AS BIGINT) AS text_bucket \
             FROM examples) \
             TO '{hashes_location}/' STORED AS PARQUET PARTITIONED BY (text_bucket) \
             OPTIONS ('format.compression' 'lz4_raw', 'format.max_row_group_size' '65536', \
                      'format.allow_single_file_parallelism' 'false')"
        ))
        .await?
        .collect()
        .await?;
    let staged = copied_count(&staged);
    if staged != rows {
        return Err(accounting_error(format!(
            "{rows} rows were split but {staged} text hashes were staged to count the shared texts"
        )));
    }
    context
        .sql(&format!(
            "CREATE EXTERNAL TABLE text_hashes STORED AS PARQUET PARTITIONED BY (text_bucket) \
             LOCATION '{hashes_location}/'"
        ))
        .await?
        .collect()
        .await?;

    let per_range = |bucket: u64| {
        format!(
            "COPY (SELECT text_hash, SUM(CASE WHEN split = 'train' THEN 1 ELSE 0 END) AS train_rows, \
                          SUM(CASE WHEN split = 'val' THEN 1 ELSE 0 END) AS val_rows \
                   FROM text_hashes WHERE text_bucket = '{bucket}' \
                   GROUP BY text_hash HAVING COUNT(*) > 1) \
             TO '{shared_location}/part-{bucket:05}.parquet' STORED AS PARQUET"
        )
    };
    run_at_once(context, (0..text_buckets).map(per_range).collect(), concurrency).await?;
    // A range without shared texts may leave no file: the table's columns are given.
    context
        .sql(&format!(
            "CREATE EXTERNAL TABLE {SHARED_TEXTS_TABLE} (text_hash BIGINT UNSIGNED, train_rows BIGINT, \
             val_rows BIGINT) STORED AS PARQUET LOCATION '{shared_location}/'"
        ))
        .await?
        .collect()
        .await?;
    Ok(SHARED_TEXTS_TABLE.to_owned())
}

fn location(path: &Path) -> String {
    quote_literal_body(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_eight_buckets_count_texts_in_one_range() {
        assert_eq!(text_bucket_count(1), 1);
        assert_eq!(text_bucket_count(8), 1);
        assert_eq!(text_bucket_count(9), 2);
        assert_eq!(text_bucket_count(54), 7);
    }
}
