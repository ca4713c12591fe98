//! Rows the pipeline leaves out, and why: records the scan rejected, keys several rows share, classes
//! `--classes` lacks, texts `--dedupe` drops. Each becomes a rejected row with its file and line, or a
//! filter of the view `accepted_rows`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use datafusion::arrow::array::{Array, RecordBatch};

use super::options::PrepareOptions;
use crate::error::{Error, Result};
use crate::input::bad_rows::{DUPLICATE_KEY, OnBadRows, RejectedRow, UNKNOWN_CLASS};
use crate::input::csv_source::CsvSource;
use crate::input::record_scan::{self, Rejection};
use crate::sql::Param;
use crate::sql::ScriptRunner;
use crate::sql::literals::typed_literal;
use crate::sql::results::{column, int64_column, text_column};
use crate::sql::scripts::{CHECKS, QUERIES, run_named};

/// Rows `accepted_rows` can leave out by key (a filter with one literal per key).
pub(crate) const MAX_LEFT_OUT_KEYS: usize = 1_000_000;

/// The scan's bad records as rejected rows; their text is read from the file only when it is kept (`skip`).
pub(crate) fn rejected_rows(
    source: &CsvSource,
    rejections: &[Rejection],
    policy: OnBadRows,
) -> Result<Vec<RejectedRow>> {
    let texts = match policy {
        OnBadRows::Skip => record_scan::record_texts(&source.files, rejections)?,
        OnBadRows::Fail => vec![String::new(); rejections.len()],
    };
    Ok(rejections
        .iter()
        .zip(texts)
        .map(|(rejection, record)| RejectedRow {
            file: source.origins[rejection.file].display().to_string(),
            line: source.position(rejection.file, rejection.line),
            kind: rejection.kind,
            reason: rejection.reason.clone(),
            record,
        })
        .collect())
}

/// Every row whose key other rows have too (view `duplicate_keys` of `sql/03_checks.sql`), with its line,
/// leaving out rows `already_rejected`.
pub(crate) async fn duplicate_key_rows(
    runner: &mut ScriptRunner,
    source: &CsvSource,
    key: &str,
    already_rejected: &[RejectedRow],
) -> Result<(Vec<String>, Vec<RejectedRow>)> {
    let batches = run_named(runner, QUERIES, "duplicate_keys").await?;
    let mut copies: HashMap<String, i64> = HashMap::new();
    let mut literals = Vec::new();
    for batch in &batches {
        let keys = text_column(batch, "key")?;
        let counts = int64_column(batch, "copies")?;
        for row in 0..batch.num_rows() {
            copies.insert(keys.value(row).to_owned(), counts.value(row));
            literals.push(typed_literal(column(batch, "key")?, row)?);
        }
    }
    if copies.is_empty() {
        return Ok((literals, Vec::new()));
    }
    let values: Vec<String> = copies.keys().cloned().collect();
    let rows_in_sql = copies.values().sum::<i64>() as u64;
    let rows = rows_with_values(
        source,
        key,
        &values,
        already_rejected,
        rows_in_sql,
        "share a key with another row",
        |value| (DUPLICATE_KEY, format!("duplicate key: {} rows have {key} = {value}", copies[value])),
    )?;
    Ok((literals, rows))
}

/// The input's rows whose `column` is one of `values` (but those `already_rejected`), as rejected rows with
/// the kind and reason `describe` gives each value. SQL counted `expected` of them: finding another number in
/// the file stops the run, so no row is ever left out unlisted.
fn rows_with_values(
    source: &CsvSource,
    column: &str,
    values: &[String],
    already_rejected: &[RejectedRow],
    expected: u64,
    what: &str,
    describe: impl Fn(&str) -> (&'static str, String),
) -> Result<Vec<RejectedRow>> {
    let listed: HashSet<(&str, u64)> = already_rejected.iter().map(|row| (row.file.as_str(), row.line)).collect();
    let found: Vec<(String, Rejection)> = source
        .records_with(column, values)?
        .into_iter()
        .filter(|(_, record)| {
            let position = source.position(record.file, record.line);
            !listed.contains(&(source.origins[record.file].to_string_lossy().as_ref(), position))
        })
        .collect();
    if found.len() as u64 != expected {
        return Err(Error::Accounting(format!("{expected} rows {what}, but {} were found in the input", found.len())));
    }
    let locations: Vec<Rejection> = found.iter().map(|(_, record)| record.clone()).collect();
    let texts = record_scan::record_texts(&source.files, &locations)?;
    Ok(found
        .into_iter()
        .zip(texts)
        .map(|((value, location), record)| {
            let (kind, reason) = describe(&value);
            RejectedRow {
                file: source.origins[location.file].display().to_string(),
                line: source.position(location.file, location.line),
                kind,
                reason,
                record,
            }
        })
        .collect())
}

/// The `key` column of the result of the statement of `sql/queries.sql` named `query`, as SQL literals of its
/// type.
pub(crate) async fn key_literals(runner: &mut ScriptRunner, query: &str) -> Result<Vec<String>> {
    let batches = run_named(runner, QUERIES, query).await?;
    let mut literals = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            literals.push(typed_literal(column(batch, "key")?, row)?);
        }
    }
    Ok(literals)
}

/// Runs the view `accepted_rows` of `sql/03_checks.sql` again, now also leaving out the rows with the
/// keys `left_out` and the classes `classes_left_out` (SQL literals), as a filter: an anti join with the view
/// `duplicate_keys` lost rows on a Ballista 55 cluster of several executors (tests/cluster.rs).
pub(crate) async fn accept_rows_without(
    runner: &mut ScriptRunner,
    left_out: &[String],
    classes_left_out: &[String],
) -> Result<()> {
    if left_out.len() > MAX_LEFT_OUT_KEYS {
        return Err(Error::Configuration(format!(
            "{} rows would be left out (duplicate keys or, with --dedupe, repeated texts): more than the {MAX_LEFT_OUT_KEYS} \
             mlprep filters by key; deduplicate the input first",
            left_out.len()
        )));
    }
    let mut conditions = Vec::new();
    if !left_out.is_empty() {
        conditions.push(format!("key NOT IN ({})", left_out.join(", ")));
    }
    if !classes_left_out.is_empty() {
        conditions.push(format!("class NOT IN ({})", classes_left_out.join(", ")));
    }
    let condition = if conditions.is_empty() { "TRUE".to_owned() } else { conditions.join(" AND ") };
    runner.set_param("left_out", Param::Sql(condition));
    run_named(runner, CHECKS, "accepted_rows").await?;
    Ok(())
}

/// The rows whose class `--classes` does not have, and those classes as SQL literals.
pub(crate) struct UnknownClasses {
    pub rows: Vec<RejectedRow>,
    pub literals: Vec<String>,
}

/// Finds the accepted rows whose class is not in `classes`, with their files and lines (rows already
/// `rejected` are not listed again).
pub(crate) async fn unknown_class_rows(
    runner: &mut ScriptRunner,
    source: &CsvSource,
    options: &PrepareOptions,
    classes: &BTreeMap<String, i64>,
    rejected: &[RejectedRow],
) -> Result<UnknownClasses> {
    let batches = run_named(runner, QUERIES, "accepted_classes").await?;
    let mut literals = Vec::new();
    let mut labels = Vec::new();
    let mut rows_in_sql = 0;
    for batch in &batches {
        let names = text_column(batch, "class")?;
        let counts = int64_column(batch, "n")?;
        for row in 0..batch.num_rows() {
            if !classes.contains_key(names.value(row)) {
                labels.push(names.value(row).to_owned());
                literals.push(typed_literal(column(batch, "class")?, row)?);
                rows_in_sql += counts.value(row) as u64;
            }
        }
    }
    if labels.is_empty() {
        return Ok(UnknownClasses { rows: Vec::new(), literals });
    }
    let classes_file = options.classes.as_deref().unwrap_or(Path::new("")).display().to_string();
    let rows = rows_with_values(
        source,
        &options.stratify,
        &labels,
        rejected,
        rows_in_sql,
        "have a class that --classes does not have",
        |label| (UNKNOWN_CLASS, format!("class '{label}' is not in {classes_file}")),
    )?;
    Ok(UnknownClasses { rows, literals })
}

/// The record scan leaves only duplicate keys for the SQL checks to find; anything else there means the scan
/// and DataFusion's reader disagree, which must stop the run rather than lose rows.
pub(crate) fn check_problems_are_duplicates(problems: &[RecordBatch]) -> Result<()> {
    let mut other = Vec::new();
    for batch in problems {
        let (kinds, problems, keys) =
            (text_column(batch, "kind")?, text_column(batch, "problem")?, text_column(batch, "key")?);
        for row in 0..batch.num_rows() {
            if kinds.value(row) != "duplicate_key" {
                other.push(format!(
                    "{} (key {})",
                    problems.value(row),
                    if keys.is_valid(row) { keys.value(row) } else { "NULL" }
                ));
            }
        }
    }
    if !other.is_empty() {
        return Err(Error::Internal(format!(
            "rows the record scan accepted have problems: {}; please report this with the input",
            other.join("; ")
        )));
    }
    Ok(())
}
