//! Reading what statements return.

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use datafusion::common::{DataFusionError, Result};
use datafusion::prelude::SessionContext;

use super::script::StatementOutput;

/// The rows each `COPY` statement among `outputs` reports it wrote, in order.
pub fn copied_rows(outputs: &[StatementOutput]) -> Result<Vec<u64>> {
    let copies = outputs.iter().filter(|output| output.sql.trim_start().to_ascii_uppercase().starts_with("COPY"));
    let rows: Vec<u64> = copies.map(|copy| copied_count(&copy.batches)).collect();
    if rows.is_empty() {
        return Err(DataFusionError::Internal("a script that writes ran no COPY statement".into()));
    }
    Ok(rows)
}

/// The row count a `COPY` statement returns.
pub fn copied_count(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter(|batch| batch.num_columns() > 0)
        .map(|batch| datafusion::arrow::compute::sum(batch.column(0).as_primitive::<UInt64Type>()).unwrap_or(0))
        .sum()
}

/// Any column as Utf8 text (labels may be strings of any layout, or numbers).
pub fn text_column(array: &ArrayRef) -> Result<StringArray> {
    let text = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().clone())
}

/// Runs `statements`, `concurrency` at a time (each starting as soon as one ends), and returns their results
/// in the order of the statements.
pub async fn run_at_once(
    context: &SessionContext,
    statements: Vec<String>,
    concurrency: usize,
) -> Result<Vec<Vec<RecordBatch>>> {
    use futures::{StreamExt, TryStreamExt};
    let mut results: Vec<(usize, Vec<RecordBatch>)> = futures::stream::iter(statements.into_iter().enumerate())
        .map(|(index, sql)| {
            let context = context.clone();
            async move { Ok::<_, DataFusionError>((index, context.sql(&sql).await?.collect().await?)) }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    results.sort_unstable_by_key(|(index, _)| *index);
    Ok(results.into_iter().map(|(_, batches)| batches).collect())
}

