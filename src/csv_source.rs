//! The input CSV: its columns and types, read robustly, and the file lines of given records for errors.
//!
//! DataFusion's CSV schema inference reads line by line and fails on quoted values holding newlines, so the
//! schema is inferred here from whole records (the `csv` crate's parser, arrow's type rules) and handed to
//! the `CREATE EXTERNAL TABLE` of `sql/01_register.sql`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::{DataFusionError, Result};

/// Records read to infer column types.
const INFERENCE_RECORDS: usize = 10_000;

/// A CSV file with a header, and the schema inferred from it.
#[derive(Debug, Clone)]
pub struct CsvSource {
    pub path: PathBuf,
    pub schema: Schema,
    /// The file's size in bytes.
    pub size: u64,
}

impl CsvSource {
    /// Reads the header and infers column types from the first records of `path`.
    pub fn inspect(path: &Path) -> Result<Self> {
        let metadata = std::fs::metadata(path).map_err(|error| {
            DataFusionError::Execution(format!("input CSV '{}' cannot be opened: {error}", path.display()))
        })?;
        if !metadata.is_file() {
            return Err(DataFusionError::Execution(format!("input CSV '{}' is not a file", path.display())));
        }
        if metadata.len() == 0 {
            return Err(DataFusionError::Execution(format!(
                "input CSV '{}' is empty: expected a header line and rows",
                path.display()
            )));
        }
        let file = File::open(path).map_err(|error| {
            DataFusionError::Execution(format!("input CSV '{}' cannot be opened: {error}", path.display()))
        })?;
        let (schema, records) = Format::default()
            .with_header(true)
            .infer_schema(BufReader::new(file), Some(INFERENCE_RECORDS))
            .map_err(|error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display())))?;
        if records == 0 {
            return Err(DataFusionError::Execution(format!(
                "input CSV '{}' has a header but no rows",
                path.display()
            )));
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        Ok(Self { path: absolute, schema, size: metadata.len() })
    }

    /// Fails naming the file and the columns it has when one of `columns` is missing.
    pub fn require_columns(&self, columns: &[(&str, &str)]) -> Result<()> {
        for (column, role) in columns {
            if self.schema.field_with_name(column).is_err() {
                let found: Vec<&str> = self.schema.fields().iter().map(|field| field.name().as_str()).collect();
                return Err(DataFusionError::Execution(format!(
                    "input CSV '{}' has no column '{column}' ({role}); its header has: {}",
                    self.path.display(),
                    found.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The column definitions for `CREATE EXTERNAL TABLE`, e.g. `"id" BIGINT, "title" VARCHAR`.
    pub fn column_definitions(&self) -> String {
        self.schema
            .fields()
            .iter()
            .map(|field| format!("{} {}", quote_identifier(field.name()), sql_type(field.data_type())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The 1-based file line where each record whose `column` value is one of `values` starts.
    pub fn lines_of(&self, column: &str, values: &[String]) -> Result<Vec<(String, u64)>> {
        let index = self.schema.index_of(column)?;
        let file = File::open(&self.path)
            .map_err(|error| DataFusionError::Execution(format!("'{}': {error}", self.path.display())))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(BufReader::new(file));
        reader.headers().map_err(|error| DataFusionError::Execution(format!("'{}': {error}", self.path.display())))?;
        let mut found = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => break,
            }
            if let Some(value) = record.get(index).filter(|value| values.iter().any(|wanted| wanted == value)) {
                found.push((value.to_owned(), line));
            }
        }
        Ok(found)
    }
}

/// Double-quotes an identifier so any header name (spaces, capitals) works in SQL.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Escapes text for a single-quoted SQL string literal.
pub fn quote_literal_body(text: &str) -> String {
    text.replace('\'', "''")
}

fn sql_type(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Int64 => "BIGINT",
        DataType::Float64 => "DOUBLE",
        DataType::Boolean => "BOOLEAN",
        DataType::Date32 => "DATE",
        DataType::Timestamp(_, _) => "TIMESTAMP",
        _ => "VARCHAR",
    }
}
