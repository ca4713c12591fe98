//! The input CSV (a file, or a directory of files with one header): its columns and types, read robustly,
//! and where given records are, for errors.
//!
//! DataFusion's CSV schema inference reads line by line and fails on quoted values holding newlines, so the
//! schema is inferred here from whole records (the `csv` crate's parser, arrow's type rules) and handed to
//! the `CREATE EXTERNAL TABLE` of `sql/01_register.sql`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use datafusion::arrow::csv::reader::Format as CsvFormat;
use datafusion::arrow::datatypes::{DataType, Schema};

use super::compression::{Compression, decompress, is_input_file_name, plain_name};
use super::formats::{Format, Positions, convert_to_csv};
use super::record_scan::{CheckedColumn, Rejection};
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::literals::quote_identifier;

/// Records read to infer column types.
const INFERENCE_RECORDS: usize = 10_000;

/// A file of the input: what messages call it (the path or URL the user gave), and where its bytes are on this
/// machine (the file itself, or a copy fetched from a store).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub origin: PathBuf,
    pub local: PathBuf,
}

impl InputFile {
    /// A local file, read where it is.
    pub fn local(path: PathBuf) -> Self {
        Self { origin: path.clone(), local: path }
    }
}

/// The input: a CSV file with a header, or a directory of such files with the same header, and the schema
/// inferred from it.
#[derive(Debug, Clone)]
pub struct CsvSource {
    /// The file or the directory, absolute.
    pub path: PathBuf,
    /// The CSV files as the user gave them: `path` itself, or the directory's `*.csv` files (plain or
    /// compressed) in name order. Messages name these.
    pub origins: Vec<PathBuf>,
    /// The plain CSV files read: `origins[i]` itself, or its decompressed or converted copy.
    pub files: Vec<PathBuf>,
    /// For a file converted from Parquet or JSON Lines, where its records were in the original
    /// ([`CsvSource::position`]).
    pub positions: Vec<Option<Positions>>,
    pub schema: Schema,
    /// The bytes of the files' records (headers not counted), together: the same whichever way the rows
    /// are cut into files.
    pub size: u64,
}

impl CsvSource {
    /// Reads the header(s) and infers column types from the first records. Compressed files are decompressed
    /// into `work` first (and refused without it).
    pub fn inspect(path: &Path, work: Option<&Path>) -> Result<Self> {
        let metadata = std::fs::metadata(path).map_err(|error| {
            Error::input(&path, format!("input CSV '{}' cannot be opened: {error}", path.display()))
        })?;
        let files = if metadata.is_dir() { csv_files_in(&absolute(path))? } else { vec![absolute(path)] };
        Self::inspect_files(path, files.into_iter().map(InputFile::local).collect(), work)
    }

    /// As [`CsvSource::inspect`] for files listed earlier (a directory's `*.csv` files as they were checked
    /// before the run, not any added since; the objects of a store, fetched): exactly `files` are read.
    pub fn inspect_files(path: &Path, files: Vec<InputFile>, work: Option<&Path>) -> Result<Self> {
        let absolute = if Location::is_url(path) { path.to_path_buf() } else { absolute(path) };
        let origins: Vec<PathBuf> = files.iter().map(|file| file.origin.clone()).collect();
        let (files, positions): (Vec<PathBuf>, Vec<Option<Positions>>) = plain_files(&files, work)?.into_iter().unzip();
        let mut size = 0;
        let mut first: Option<(PathBuf, Vec<Vec<u8>>)> = None;
        for (read, file) in files.iter().zip(&origins) {
            let length = std::fs::metadata(read)
                .map_err(|error| {
                    Error::input(&file, format!("input CSV '{}' cannot be opened: {error}", file.display()))
                })?
                .len();
            if length == 0 {
                return Err(Error::input(
                    &file,
                    format!("input CSV '{}' is empty: expected a header line and rows", file.display()),
                ));
            }
            let (header, header_bytes) = header_line(read, file)?;
            size += length - header_bytes;
            match &first {
                None => first = Some((file.clone(), header)),
                Some((first_file, first_header)) if *first_header != header => {
                    return Err(Error::header(
                        file,
                        format!(
                            "input CSV files '{}' and '{}' have different headers: {:?} and {:?}; every file of a directory \
                         must have the same columns in the same order",
                            first_file.display(),
                            file.display(),
                            first_header.iter().map(|name| String::from_utf8_lossy(name)).collect::<Vec<_>>(),
                            header.iter().map(|name| String::from_utf8_lossy(name)).collect::<Vec<_>>()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let mut sample = Vec::new();
        let mut records = 0;
        let mut any_record = false;
        for (read, file) in files.iter().zip(&origins) {
            let (file_sample, file_records, file_has_records) =
                inference_sample(read, file, INFERENCE_RECORDS - records, sample.is_empty())?;
            sample.extend(file_sample);
            records += file_records;
            any_record |= file_has_records;
            if records >= INFERENCE_RECORDS {
                break;
            }
        }
        let (schema, _) = CsvFormat::default()
            .with_header(true)
            .infer_schema(&sample[..], Some(INFERENCE_RECORDS))
            .map_err(|error| Error::input(&path, format!("input CSV '{}': {error}", path.display())))?;
        if !any_record {
            return Err(Error::input(&path, format!("input CSV '{}' has a header but no rows", path.display())));
        }
        Ok(Self { path: absolute, origins, files, positions, schema, size })
    }

    /// Where the record that starts on line `csv_line` of file `file` is in the file the user gave: the same
    /// line for CSV, the line of a JSON Lines file, the 1-based row of a Parquet file.
    pub fn position(&self, file: usize, csv_line: u64) -> u64 {
        self.positions[file].as_ref().and_then(|positions| positions.of(csv_line)).unwrap_or(csv_line)
    }

    /// Fails naming the file and the columns it has when one of `columns` is missing.
    pub fn require_columns(&self, columns: &[(&str, &str)]) -> Result<()> {
        for (column, role) in columns {
            if self.schema.field_with_name(column).is_err() {
                let found: Vec<&str> = self.schema.fields().iter().map(|field| field.name().as_str()).collect();
                return Err(Error::header(
                    &self.path,
                    format!(
                        "input CSV '{}' has no column '{column}' ({role}); its header has: {}",
                        self.path.display(),
                        found.join(", ")
                    ),
                ));
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
                // Only types the record scan checks value by value; a date key is read as text.
                let checked_type = matches!(field.data_type(), DataType::Int64 | DataType::Float64 | DataType::Boolean);
                let data_type = if typed.contains(&field.name().as_str()) && checked_type {
                    sql_type(field.data_type())
                } else {
                    "VARCHAR"
                };
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
                let data_type = match self.schema.field(index).data_type() {
                    checked @ (DataType::Int64 | DataType::Float64 | DataType::Boolean) => checked.clone(),
                    _ => DataType::Utf8,
                };
                Ok(CheckedColumn { index, name: name.to_owned(), data_type, role })
            })
            .collect()
    }

    /// Every record whose `column` value is one of `values`: the value, and which file and where in it.
    pub fn records_with(&self, column: &str, values: &[String]) -> Result<Vec<(String, Rejection)>> {
        let index = self.schema.index_of(column)?;
        let wanted: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
        // The values come from DataFusion, which read an integer column as integers: `007` is `7` there.
        let integers = self.schema.field(index).data_type() == &DataType::Int64;
        let mut found = Vec::new();
        for (file_index, path) in self.files.iter().enumerate() {
            let first_found = found.len();
            let io = |error: csv::Error| Error::input(&path, format!("'{}': {error}", path.display()));
            let file =
                File::open(path).map_err(|error| Error::input(&path, format!("'{}': {error}", path.display())))?;
            let mut reader =
                csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(BufReader::new(file));
            reader.byte_headers().map_err(io)?;
            let mut record = csv::ByteRecord::new();
            while reader.read_byte_record(&mut record).map_err(io)? {
                let Some(value) = record.get(index).and_then(|value| std::str::from_utf8(value).ok()) else { continue };
                let normalized =
                    if integers { value.parse::<i64>().ok().map(|number| number.to_string()) } else { None };
                let value = normalized.as_deref().unwrap_or(value);
                if wanted.contains(value) {
                    let position = record.position().expect("the csv reader records positions");
                    let location = Rejection {
                        file: file_index,
                        line: position.line(),
                        kind: "",
                        reason: String::new(),
                        start: position.byte(),
                        end: reader.position().byte(),
                    };
                    found.push((value.to_owned(), location));
                }
            }
            let mut locations: Vec<Rejection> =
                found[first_found..].iter().map(|(_, location)| location.clone()).collect();
            super::record_scan::to_record_starts(path, &mut locations)?;
            for ((_, location), adjusted) in found[first_found..].iter_mut().zip(locations) {
                *location = adjusted;
            }
        }
        Ok(found)
    }
}

/// Up to `limit` first records of `path` that have as many fields as its header and are UTF-8 (with the
/// header first when `with_header`), as CSV, how many, and whether the file has any record after its header:
/// what the types are inferred from. Bad records are the record scan's to report, with their lines.
fn inference_sample(read: &Path, path: &Path, limit: usize, with_header: bool) -> Result<(Vec<u8>, usize, bool)> {
    let error = |error: csv::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let file = File::open(read)
        .map_err(|error| Error::input(&path, format!("input CSV '{}' cannot be opened: {error}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(BufReader::new(file));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut record = csv::ByteRecord::new();
    let mut header_fields = None;
    let mut kept = 0;
    let mut any_record = false;
    while kept < limit && reader.read_byte_record(&mut record).map_err(error)? {
        any_record |= header_fields.is_some();
        match header_fields {
            None => {
                header_fields = Some(record.len());
                if !with_header {
                    continue;
                }
            }
            Some(fields) if record.len() != fields || std::str::from_utf8(record.as_slice()).is_err() => continue,
            Some(_) => kept += 1,
        }
        writer.write_byte_record(&record).map_err(error)?;
    }
    let bytes =
        writer.into_inner().map_err(|error| Error::input(&path, format!("input CSV '{}': {error}", path.display())))?;
    Ok((bytes, kept, any_record))
}

/// The header record of the file `read` (named `path` in errors), as its fields, and its length in the file.
fn header_line(read: &Path, path: &Path) -> Result<(Vec<Vec<u8>>, u64)> {
    let error = |error: csv::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let file = File::open(read)
        .map_err(|error| Error::input(&path, format!("input CSV '{}' cannot be opened: {error}", path.display())))?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(BufReader::new(file));
    let header = reader.byte_headers().map_err(error)?.iter().map(<[u8]>::to_vec).collect();
    Ok((header, reader.position().byte()))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The plain CSV files of `files`: each itself, or its copy decompressed into `work/decompressed/` and, for
/// Parquet and JSON Lines, converted into `work/converted/` (with where its records were).
fn plain_files(files: &[InputFile], work: Option<&Path>) -> Result<Vec<(PathBuf, Option<Positions>)>> {
    let mut plain = Vec::with_capacity(files.len());
    for (index, file) in files.iter().enumerate() {
        let compression = Compression::of(&file.origin);
        let format = Format::of_input(&file.origin);
        if compression.is_none() && format == Format::Csv {
            plain.push((file.local.clone(), None));
            continue;
        }
        let Some(work) = work else {
            return Err(Error::Configuration(format!(
                "input '{}' is {}: only `mlprep prepare` reads it",
                file.origin.display(),
                compression.map_or("not CSV", Compression::name)
            )));
        };
        let mut local = file.local.clone();
        if let Some(compression) = compression {
            // One directory per file: `a.csv` and `a.csv.gz` may both be inputs.
            let directory = work.join("decompressed").join(format!("{index:05}"));
            std::fs::create_dir_all(&directory).map_err(|error| Error::io(&directory, error))?;
            let copy = directory.join(plain_name(&file.origin));
            decompress(&local, &file.origin, compression, &copy)?;
            local = copy;
        }
        if format == Format::Csv {
            plain.push((local, None));
            continue;
        }
        let directory = work.join("converted").join(format!("{index:05}"));
        std::fs::create_dir_all(&directory).map_err(|error| Error::io(&directory, error))?;
        let copy = directory.join(Path::new(local.file_name().unwrap_or_default()).with_extension("csv"));
        let positions = convert_to_csv(&local, &file.origin, format, &copy)?;
        plain.push((copy, Some(positions)));
    }
    Ok(plain)
}

/// The input files directly in `directory`: CSV, Parquet or JSON Lines (`*.csv`, `*.parquet`, `*.jsonl`,
/// `*.ndjson`), plain or compressed (`.gz`, `.bz2`, `.xz`, `.zst`), in name order.
pub fn csv_files_in(directory: &Path) -> Result<Vec<PathBuf>> {
    let io =
        |error: std::io::Error| Error::input(&directory, format!("input directory '{}': {error}", directory.display()));
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && is_input_file_name(&path) {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::input(
            &directory,
            format!(
                "input directory '{}' has no .csv, .parquet, .jsonl or .ndjson file (plain or .gz, .bz2, .xz, .zst)",
                directory.display()
            ),
        ));
    }
    Ok(files)
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
