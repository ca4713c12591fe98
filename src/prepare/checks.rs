//! The checks step (`sql/03_checks.sql`): rows of duplicate keys, of classes `--classes` lacks, and (with
//! `--dedupe`) of repeated texts are set aside or stop the run; the rest are the accepted rows.

use std::collections::BTreeMap;

use super::left_out::{
    accept_rows_without, check_problems_are_duplicates, duplicate_key_rows, key_literals, unknown_class_rows,
};
use super::options::PrepareOptions;
use super::scan::Input;
use crate::error::{Error, Result};
use crate::input::bad_rows::{OnBadRows, RejectedRow, bad_rows_error};
use crate::sql::Param;
use crate::sql::ScriptRunner;
use crate::sql::literals::values_query;
use crate::sql::results::run_at_once;
use crate::sql::scripts::{self, named_sql, run_named};

/// The rows the split takes, and those left out.
pub(super) struct Accepted {
    pub rows: u64,
    /// Every row set aside (bad records, duplicate keys, unknown classes), in file and line order.
    pub rejected: Vec<RejectedRow>,
    pub rows_deduplicated: u64,
}

/// Runs the checks over the `rows_staged` staged rows (in `buckets` buckets).
pub(super) async fn accept(
    runner: &mut ScriptRunner,
    options: &PrepareOptions,
    input: &Input,
    known_classes: Option<&BTreeMap<String, i64>>,
    buckets: u64,
    rows_staged: u64,
) -> Result<Accepted> {
    let source = &input.source;
    let mut rejected = input.rejected.clone();
    let duplicate_keys_query = duplicate_keys_by_bucket(runner, buckets, options.session.partitions).await?;
    runner.set_param("duplicate_keys", Param::Sql(duplicate_keys_query));
    let checks = runner.run_script(scripts::CHECKS.path, scripts::CHECKS.text, None).await?;
    let problems = checks.last().map_or(&[][..], |output| &output.batches[..]);
    let (duplicate_keys, duplicates) = duplicate_key_rows(runner, source, &options.key, &rejected).await?;
    check_problems_are_duplicates(problems)?;
    if options.on_bad_rows == OnBadRows::Fail && !duplicates.is_empty() {
        return Err(bad_rows_error(&source.path, &duplicates));
    }
    let rows_with_duplicate_keys = duplicates.len() as u64;
    rejected.extend(duplicates);
    rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    accept_rows_without(runner, &duplicate_keys, &[]).await?;
    let mut unknown_classes = Vec::new();
    let mut rows_with_unknown_class = 0;
    if let Some(classes) = known_classes {
        let unknown = unknown_class_rows(runner, source, options, classes, &rejected).await?;
        if options.on_bad_rows == OnBadRows::Fail && !unknown.rows.is_empty() {
            return Err(bad_rows_error(&source.path, &unknown.rows));
        }
        rows_with_unknown_class = unknown.rows.len() as u64;
        unknown_classes = unknown.literals;
        rejected.extend(unknown.rows);
        rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        accept_rows_without(runner, &duplicate_keys, &unknown_classes).await?;
    }
    let mut rows_deduplicated = 0;
    if options.dedupe {
        // The script's view was planned over the accepted rows before the duplicate keys left them.
        run_named(runner, scripts::CHECKS, "duplicate_texts").await?;
        let repeated = key_literals(runner, "duplicate_texts").await?;
        rows_deduplicated = repeated.len() as u64;
        accept_rows_without(runner, &[duplicate_keys, repeated].concat(), &unknown_classes).await?;
    }
    let rows = rows_staged - rows_with_duplicate_keys - rows_with_unknown_class - rows_deduplicated;
    if rows == 0 {
        return Err(Error::input(
            &source.path,
            format!(
                "no row of input CSV '{}' is left to prepare: of {} rows, {} were set aside and {rows_deduplicated} \
             left out by --dedupe; nothing was written",
                source.path.display(),
                input.records,
                rejected.len()
            ),
        ));
    }
    Ok(Accepted { rows, rejected, rows_deduplicated })
}

/// The keys several staged rows share, and how many share each, found bucket by bucket (`concurrency`
/// buckets at a time): all rows of a key have its shuffle hash, so its bucket, and no aggregate holds more
/// than one bucket's keys (over every key at once, it was a large run's memory peak). As a query for
/// `${duplicate_keys}` of `sql/03_checks.sql`.
async fn duplicate_keys_by_bucket(runner: &ScriptRunner, buckets: u64, concurrency: usize) -> Result<String> {
    let context = runner.context();
    let statements = (0..buckets)
        .map(|bucket| {
            named_sql(
                runner,
                scripts::QUERIES,
                "duplicate_keys_in_bucket",
                &[("bucket", Param::Text(bucket.to_string()))],
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let schema = context.sql(&statements[0]).await?.schema().as_arrow().clone();
    let found = run_at_once(context, statements, concurrency, None).await?;
    values_query(&schema, &found.concat()).map(|query| format!("({query})"))
}
