//! Reading what statements return.

use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Int64Type, UInt64Type};
use datafusion::common::DataFusionError;
use datafusion::prelude::SessionContext;

use super::script::StatementOutput;
use crate::error::{Error, Result};

/// The rows each `COPY` statement among `outputs` reports it wrote, in order.
pub fn copied_rows(outputs: &[StatementOutput]) -> Result<Vec<u64>> {
    let copies = outputs.iter().filter(|output| output.sql.trim_start().to_ascii_uppercase().starts_with("COPY"));
    let rows: Vec<u64> = copies.map(|copy| copied_count(&copy.batches)).collect();
    if rows.is_empty() {
        return Err(Error::Internal("a script that writes ran no COPY statement".into()));
    }
    Ok(rows)
}

/// The row count a `COPY` statement returns (its `count` column).
pub fn copied_count(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|batch| batch.column_by_name("count"))
        .map(|counts| datafusion::arrow::compute::sum(counts.as_primitive::<UInt64Type>()).unwrap_or(0))
        .sum()
}

/// The result, among a script's `outputs`, of the statement that returns exactly `columns`: statements are
/// found by what they return, not by where they stand in the script.
pub fn result_with_columns<'a>(outputs: &'a [StatementOutput], columns: &[&str]) -> Result<&'a [RecordBatch]> {
    let returns = |output: &StatementOutput| {
        output.schema.fields().iter().map(|field| field.name().as_str()).eq(columns.iter().copied())
    };
    outputs
        .iter()
        .find(|output| returns(output))
        .map(|output| &output.batches[..])
        .ok_or_else(|| Error::Internal(format!("no statement of the script returns the columns {columns:?}")))
}

/// The column `name` of `batch`; a result without it is a mistake in mlprep's scripts, reported as such.
pub fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        let found: Vec<String> = batch.schema().fields().iter().map(|field| field.name().clone()).collect();
        Error::Internal(format!("a result has no column '{name}' (it has {})", found.join(", ")))
    })
}

/// The column `name` of `batch` as text (labels may be strings of any layout, or numbers).
pub fn text_column(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    as_text(column(batch, name)?)
}

/// Any column as Utf8 text.
pub fn as_text(array: &ArrayRef) -> Result<StringArray> {
    let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}

/// The `BIGINT` column `name` of `batch`.
pub fn int64_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array> {
    let array = column(batch, name)?;
    array.as_primitive_opt::<Int64Type>().ok_or_else(|| wrong_type(name, array.data_type(), "Int64"))
}

/// The `BIGINT UNSIGNED` column `name` of `batch`.
pub fn uint64_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a UInt64Array> {
    let array = column(batch, name)?;
    array.as_primitive_opt::<UInt64Type>().ok_or_else(|| wrong_type(name, array.data_type(), "UInt64"))
}

fn wrong_type(name: &str, found: &DataType, expected: &str) -> Error {
    Error::Internal(format!("column '{name}' of a result is {found}, not {expected}"))
}

/// Runs `statements`, `concurrency` at a time (each starting as soon as one ends), and returns their results
/// in the order of the statements; adds the rows each COPY wrote to `copied` as soon as it ends.
pub async fn run_at_once(
    context: &SessionContext,
    statements: Vec<String>,
    concurrency: usize,
    copied: Option<&std::sync::atomic::AtomicU64>,
) -> Result<Vec<Vec<RecordBatch>>> {
    use futures::{StreamExt, TryStreamExt};
    let mut results: Vec<(usize, Vec<RecordBatch>)> = futures::stream::iter(statements.into_iter().enumerate())
        .map(|(index, sql)| {
            let context = context.clone();
            async move {
                let batches = context.sql(&sql).await?.collect().await?;
                if let Some(copied) = copied {
                    copied.fetch_add(copied_count(&batches), std::sync::atomic::Ordering::Relaxed);
                }
                Ok::<_, DataFusionError>((index, batches))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    results.sort_unstable_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, batches)| batches).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn output(sql: &str, batch: RecordBatch) -> StatementOutput {
        StatementOutput {
            source: "test.sql".into(),
            line: 1,
            sql: sql.into(),
            schema: batch.schema(),
            batches: vec![batch],
            elapsed: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn results_are_found_and_read_by_column_name() {
        let schema = |names: &[&str]| {
            Arc::new(Schema::new(
                names.iter().map(|name| Field::new(*name, DataType::Int64, false)).collect::<Vec<_>>(),
            ))
        };
        let ints = |value: i64| Arc::new(Int64Array::from(vec![value])) as ArrayRef;
        let a = RecordBatch::try_new(schema(&["rows", "tokens"]), vec![ints(1), ints(2)]).unwrap();
        let classes = Arc::new(Schema::new(vec![
            Field::new("class", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ]));
        let b = RecordBatch::try_new(classes, vec![Arc::new(StringArray::from(vec!["x"])), ints(3)]).unwrap();
        let outputs = [output("SELECT 1", a), output("SELECT 2", b)];
        let found = result_with_columns(&outputs, &["class", "n"]).unwrap();
        assert_eq!(text_column(&found[0], "class").unwrap().value(0), "x");
        assert_eq!(int64_column(&found[0], "n").unwrap().value(0), 3);
        // The same columns in another order are another result.
        assert!(result_with_columns(&outputs, &["tokens", "rows"]).is_err());
        let error = column(&found[0], "rows").unwrap_err().to_string();
        assert!(error.contains("no column 'rows' (it has class, n)"), "{error}");
        let error = uint64_column(&found[0], "n").unwrap_err().to_string();
        assert!(error.contains("column 'n' of a result is Int64, not UInt64"), "{error}");
    }
}
