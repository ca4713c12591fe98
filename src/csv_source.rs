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

use crate::csv_scan::{CheckedColumn, Rejection};

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
        let sample = inference_sample(path)?;
        let (schema, records) = Format::default()
            .with_header(true)
            .infer_schema(&sample[..], Some(INFERENCE_RECORDS))
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

    /// The column definitions for `CREATE EXTERNAL TABLE`, e.g. `"id" BIGINT, "title" VARCHAR`: the columns
    /// in `typed` with their inferred types, every other column as text (the pipeline reads no other column
    /// as anything but text, so a value there can never stop the run).
    pub fn column_definitions(&self, typed: &[&str]) -> String {
        self.schema
            .fields()
            .iter()
            .map(|field| {
                let data_type = if typed.contains(&field.name().as_str()) { sql_type(field.data_type()) } else { "VARCHAR" };
                format!("{} {data_type}", quote_identifier(field.name()))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The key and class columns, whose every value the record scan checks.
    pub fn checked_columns(&self, key: &str, class: &str) -> Result<Vec<CheckedColumn>> {
        [(key, "key"), (class, "class")]
            .into_iter()
            .map(|(name, role)| {
                let index = self.schema.index_of(name)?;
                let data_type = self.schema.field(index).data_type().clone();
                Ok(CheckedColumn { index, name: name.to_owned(), data_type, role })
            })
            .collect()
    }

    /// Every record whose `column` value is one of `values`: the value, and where the record is in the file.
    pub fn records_with(&self, column: &str, values: &[String]) -> Result<Vec<(String, Rejection)>> {
        let index = self.schema.index_of(column)?;
        let wanted: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
        let io = |error: csv::Error| DataFusionError::Execution(format!("'{}': {error}", self.path.display()));
        let file = File::open(&self.path)
            .map_err(|error| DataFusionError::Execution(format!("'{}': {error}", self.path.display())))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(BufReader::new(file));
        reader.byte_headers().map_err(io)?;
        let mut found = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).map_err(io)? {
            let Some(value) = record.get(index).and_then(|value| std::str::from_utf8(value).ok()) else { continue };
            if wanted.contains(value) {
                let position = record.position().expect("the csv reader records positions");
                let location = Rejection {
                    line: position.line(),
                    kind: "",
                    reason: String::new(),
                    start: position.byte(),
                    end: reader.position().byte(),
                };
                found.push((value.to_owned(), location));
            }
        }
        Ok(found)
    }
}

/// The header and the first records that have as many fields as the header and are UTF-8, as CSV: what
/// the types are inferred from. Bad records are the record scan's to report, with their lines.
fn inference_sample(path: &Path) -> Result<Vec<u8>> {
    let error = |error: csv::Error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display()));
    let file = File::open(path)
        .map_err(|error| DataFusionError::Execution(format!("input CSV '{}' cannot be opened: {error}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(BufReader::new(file));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut record = csv::ByteRecord::new();
    let mut header_fields = None;
    let mut kept = 0;
    while kept < INFERENCE_RECORDS && reader.read_byte_record(&mut record).map_err(error)? {
        match header_fields {
            None => header_fields = Some(record.len()),
            Some(fields) if record.len() != fields || std::str::from_utf8(record.as_slice()).is_err() => continue,
            Some(_) => kept += 1,
        }
        writer.write_byte_record(&record).map_err(error)?;
    }
    writer.into_inner().map_err(|error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display())))
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
