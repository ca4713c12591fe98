//! SQL text for values: quoted identifiers and strings, typed literals, and `VALUES` queries that give back
//! result rows with their exact types.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema};

use super::script::ScriptRunner;
use crate::error::Result;

/// Double-quotes an identifier so any header name (spaces, capitals) works in SQL.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Escapes text for a single-quoted SQL string literal.
pub fn quote_literal_body(text: &str) -> String {
    text.replace('\'', "''")
}

/// `column[row]` as SQL that gives back the same value and type.
pub fn typed_literal(column: &ArrayRef, row: usize) -> Result<String> {
    let data_type = column.data_type();
    if column.is_null(row) {
        return Ok(format!("arrow_cast(NULL, '{data_type}')"));
    }
    let text = datafusion::arrow::compute::cast(&column.slice(row, 1), &DataType::Utf8)?;
    let text = text.as_string::<i32>().value(0);
    Ok(format!("arrow_cast('{}', '{data_type}')", text.replace('\'', "''")))
}

/// Replaces the view `name` by a view over its values (`VALUES` with exact types): a small table whose
/// size the planner then knows, so it joins by sending the table to every partition of the other side
/// instead of shuffling both by the join key.
pub async fn materialize_small_view(runner: &mut ScriptRunner, name: &str) -> Result<()> {
    let batches = runner.context().sql(&format!("SELECT * FROM {name}")).await?.collect().await?;
    let schema = runner.context().table(name).await?.schema().as_arrow().clone();
    let body = values_query(&schema, &batches)?;
    runner.context().sql(&format!("CREATE OR REPLACE VIEW {name} AS {body}")).await?.collect().await?;
    Ok(())
}

/// A query giving back the rows of `batches` (of `schema`), with their exact types: `VALUES` literals.
pub fn values_query(schema: &Schema, batches: &[RecordBatch]) -> Result<String> {
    let columns: Vec<String> = schema.fields().iter().map(|field| quote_identifier(field.name())).collect();
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let values = batch.columns().iter().map(|column| typed_literal(column, row)).collect::<Result<Vec<_>>>()?;
            rows.push(format!("({})", values.join(", ")));
        }
    }
    Ok(if rows.is_empty() {
        let nulls: Vec<String> = schema
            .fields()
            .iter()
            .map(|field| format!("arrow_cast(NULL, '{}') AS {}", field.data_type(), quote_identifier(field.name())))
            .collect();
        format!("SELECT {} WHERE false", nulls.join(", "))
    } else {
        format!("SELECT * FROM (VALUES {}) AS v({})", rows.join(", "), columns.join(", "))
    })
}
