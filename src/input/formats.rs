//! Inputs that are not CSV: Parquet (`.parquet`) and JSON Lines (`.jsonl`, `.ndjson`). Each file is written as
//! CSV into the work directory (arrow's CSV writer, every column of a type CSV can hold), and everything after
//! that reads the CSV, as it does a decompressed file: the same checks and bad-row policy, and the same output as
//! the CSV of the same rows. Positions in messages are those of the original file: JSON Lines lines, Parquet rows.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader};
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::arrow::json::ReaderBuilder;
use datafusion::arrow::json::reader::infer_json_schema_from_iterator;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::compression::{Compression, plain_name};
use crate::error::{Error, Result};

/// Rows converted at a time.
const BATCH_ROWS: usize = 8192;

/// The format of an input file, told by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV, plain or compressed (`.csv.gz`, …).
    Csv,
    Parquet,
    JsonLines,
}

impl Format {
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|extension| extension.to_str()) {
            Some("parquet") => Self::Parquet,
            Some("jsonl" | "ndjson") => Self::JsonLines,
            _ => Self::Csv,
        }
    }

    /// The format of `path`, compressed or not (`x.jsonl.gz` is JSON Lines).
    pub fn of_input(path: &Path) -> Self {
        match Compression::of(path) {
            Some(_) => Self::of(&plain_name(path)),
            None => Self::of(path),
        }
    }

    /// What a position in a file of this format is called in messages.
    pub fn position_name(self) -> &'static str {
        match self {
            Self::Csv | Self::JsonLines => "line",
            Self::Parquet => "row",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Parquet => "Parquet",
            Self::JsonLines => "JSON Lines",
        }
    }
}

/// Where the records of a converted file came from: record `i` starts on line `csv_lines[i]` of the CSV and
/// was at `positions[i]` of the original file (its line, or its 1-based row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    csv_lines: Vec<u64>,
    positions: Vec<u64>,
}

impl Positions {
    /// The original position of the record that starts on line `csv_line` of the CSV.
    pub fn of(&self, csv_line: u64) -> Option<u64> {
        self.csv_lines.binary_search(&csv_line).ok().map(|index| self.positions[index])
    }
}

/// Writes the Parquet or JSON Lines file `local` as the CSV file `out` (new), and returns where its records came
/// from. `name` (the file as the user gave it) is what messages say.
pub fn convert_to_csv(local: &Path, name: &Path, format: Format, out: &Path) -> Result<Positions> {
    let fail = |what: String| Error::input(name, format!("input {} '{}': {what}", format.name(), name.display()));
    let file = File::open(local).map_err(|error| fail(format!("cannot be opened: {error}")))?;
    let created = File::create_new(out).map_err(|error| Error::io(out, error))?;
    match format {
        Format::Parquet => {
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|builder| builder.with_batch_size(BATCH_ROWS).build())
                .map_err(|error| fail(format!("is not a readable Parquet file: {error}")))?;
            let mut writer = CsvWriter::new(created, reader.schema(), out)?;
            let mut row = 0;
            for batch in reader {
                let batch = batch.map_err(|error| fail(format!("after row {row}: {error}")))?;
                let rows = batch.num_rows() as u64;
                writer.write(&batch, (row + 1..=row + rows).collect())?;
                row += rows;
            }
            writer.finish()
        }
        Format::JsonLines => convert_json_lines(file, local, &fail, created, out),
        Format::Csv => Err(Error::Internal(format!("'{}' is CSV: nothing to convert", name.display()))),
    }
}

/// The JSON Lines file: every non-blank line one JSON object. The schema is inferred from every line first
/// (a value that is a number in one line and text in another is text), then the lines are decoded.
fn convert_json_lines(
    file: File,
    local: &Path,
    fail: &dyn Fn(String) -> Error,
    created: File,
    out: &Path,
) -> Result<Positions> {
    let objects = |file: File| {
        BufReader::new(file).lines().enumerate().filter_map(move |(index, line)| {
            let number = index as u64 + 1;
            match line {
                Ok(line) if line.trim().is_empty() => None,
                Ok(line) => Some(match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(value) if value.is_object() => Ok((number, value)),
                    Ok(_) => Err(fail(format!("line {number} is not a JSON object"))),
                    Err(error) => Err(fail(format!("line {number} is not JSON: {error}"))),
                }),
                Err(error) => Some(Err(fail(format!("line {number} cannot be read: {error}")))),
            }
        })
    };
    let mut first_error = None;
    let schema = infer_json_schema_from_iterator(objects(file).map_while(|object| match object {
        Ok((_, value)) => Some(Ok(value)),
        Err(error) => {
            first_error = Some(error);
            None
        }
    }));
    if let Some(error) = first_error {
        return Err(error);
    }
    let schema = schema.map_err(|error| fail(format!("its columns cannot be told: {error}")))?;
    let schema = Arc::new(in_first_object_order(schema, local)?);
    let again = File::open(local).map_err(|error| fail(format!("cannot be opened: {error}")))?;
    let mut decoder = ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH_ROWS)
        .build_decoder()
        .map_err(|error| fail(error.to_string()))?;
    let mut writer = CsvWriter::new(created, schema, out)?;
    let (mut lines, mut values) = (Vec::with_capacity(BATCH_ROWS), Vec::with_capacity(BATCH_ROWS));
    let mut objects = objects(again).peekable();
    while objects.peek().is_some() {
        lines.clear();
        values.clear();
        for object in objects.by_ref().take(BATCH_ROWS) {
            let (line, value) = object?;
            lines.push(line);
            values.push(value);
        }
        let range = || format!("lines {} to {}", lines[0], lines[lines.len() - 1]);
        decoder.serialize(&values).map_err(|error| fail(format!("{}: {error}", range())))?;
        let batch = decoder.flush().map_err(|error| fail(format!("{}: {error}", range())))?;
        if let Some(batch) = batch {
            writer.write(&batch, lines.clone())?;
        }
    }
    writer.finish()
}

/// `schema` with its fields in the order the first object of the file has its keys (the inferred schema has them
/// sorted), those the first object lacks after them: so that the CSV has the file's own column order, and a
/// directory of JSON Lines and other files has one header.
fn in_first_object_order(schema: Schema, local: &Path) -> Result<Schema> {
    let file = File::open(local).map_err(|error| Error::io(local, error))?;
    let first = BufReader::new(file).lines().map_while(std::result::Result::ok).find(|line| !line.trim().is_empty());
    let keys = first.and_then(|line| serde_json::from_str::<KeyOrder>(&line).ok()).map_or_else(Vec::new, |keys| keys.0);
    let rank = |name: &str| keys.iter().position(|key| key == name).unwrap_or(keys.len());
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.sort_by_key(|field| rank(field.name()));
    Ok(Schema::new(fields))
}

/// The keys of a JSON object, in the order the text has them.
struct KeyOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeyOrder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = KeyOrder;
            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(KeyOrder(keys))
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// Arrow's CSV writer over the columns CSV can hold, counting the lines each record takes (a text with line
/// breaks is quoted and spans several).
struct CsvWriter<'a> {
    writer: datafusion::arrow::csv::Writer<BufWriter<File>>,
    /// Indices of the columns written.
    columns: Vec<usize>,
    schema: SchemaRef,
    next_line: u64,
    positions: Positions,
    out: &'a Path,
}

impl<'a> CsvWriter<'a> {
    fn new(file: File, schema: SchemaRef, out: &'a Path) -> Result<Self> {
        let columns: Vec<usize> =
            (0..schema.fields().len()).filter(|&index| is_csv_type(schema.field(index).data_type())).collect();
        let schema = Arc::new(schema.project(&columns)?);
        let mut writer = WriterBuilder::new().with_header(true).build(BufWriter::with_capacity(1 << 20, file));
        // The header, even for a file without rows.
        writer.write(&RecordBatch::new_empty(Arc::clone(&schema)))?;
        Ok(Self { writer, columns, schema, next_line: 2, positions: Positions::default(), out })
    }

    /// Writes `batch`, whose rows were at `positions` of the original file.
    fn write(&mut self, batch: &RecordBatch, positions: Vec<u64>) -> Result<()> {
        let batch = batch.project(&self.columns)?;
        let mut lines = vec![1u64; batch.num_rows()];
        for column in batch.columns() {
            add_line_breaks(column.as_ref(), &mut lines);
        }
        for (taken, position) in lines.into_iter().zip(positions) {
            self.positions.csv_lines.push(self.next_line);
            self.positions.positions.push(position);
            self.next_line += taken;
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), batch.columns().to_vec())?;
        Ok(self.writer.write(&batch)?)
    }

    fn finish(self) -> Result<Positions> {
        let mut file = self.writer.into_inner();
        file.flush().map_err(|error| Error::io(self.out, error))?;
        Ok(self.positions)
    }
}

/// Types arrow writes as one CSV field; other columns (lists, structs, maps, binary) are left out: the pipeline
/// reads only the key, class and text columns.
fn is_csv_type(data_type: &DataType) -> bool {
    data_type.is_primitive()
        || matches!(
            data_type,
            DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
        )
}

/// Adds, per row, the line breaks in `column`'s text values.
fn add_line_breaks(column: &dyn Array, lines: &mut [u64]) {
    let mut count = |row: usize, text: &str| lines[row] += memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64;
    match column.data_type() {
        DataType::Utf8 => {
            column.as_string::<i32>().iter().enumerate().for_each(|(row, text)| count(row, text.unwrap_or("")))
        }
        DataType::LargeUtf8 => {
            column.as_string::<i64>().iter().enumerate().for_each(|(row, text)| count(row, text.unwrap_or("")))
        }
        DataType::Utf8View => {
            column.as_string_view().iter().enumerate().for_each(|(row, text)| count(row, text.unwrap_or("")))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_become_csv_in_the_files_column_order_with_their_lines() {
        let directory = tempfile::tempdir().unwrap();
        let input = directory.path().join("in.jsonl");
        let text =
            "{\"z\": 1, \"a\": \"x\\ny\"}\n\n{\"a\": \"plain\", \"z\": 2, \"extra\": true}\n{\"z\": 3, \"a\": null}\n";
        std::fs::write(&input, text).unwrap();
        let out = directory.path().join("out.csv");
        let positions = convert_to_csv(&input, &input, Format::JsonLines, &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "z,a,extra\n1,\"x\ny\",\n2,plain,true\n3,,\n");
        // Records start on CSV lines 2, 4 and 5 (the first spans two), and were on lines 1, 3 and 4.
        assert_eq!(positions, Positions { csv_lines: vec![2, 4, 5], positions: vec![1, 3, 4] });
        assert_eq!(positions.of(4), Some(3));
        assert_eq!(positions.of(3), None);
    }

    #[test]
    fn formats_are_told_by_the_name_under_any_compression() {
        assert_eq!(Format::of_input(Path::new("a/b.parquet")), Format::Parquet);
        assert_eq!(Format::of_input(Path::new("b.ndjson.zst")), Format::JsonLines);
        assert_eq!(Format::of_input(Path::new("b.csv.gz")), Format::Csv);
        assert_eq!(Format::Parquet.position_name(), "row");
    }
}
