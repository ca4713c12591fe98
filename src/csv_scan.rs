//! One pass over an input CSV before any SQL reads it, record by record: the line where the record starts,
//! its field count against the header, UTF-8, an unterminated quote, and the key and class fields (present,
//! and of their column's type). DataFusion's CSV reader stops at the first such record with a message that
//! cannot name a value; this pass names every bad record, and for `--on-bad-rows skip` gives the byte range
//! of each so that a copy without them can be read instead.
//!
//! Records are parsed by the `csv` crate over the same `csv-core` state machine as DataFusion's reader, with
//! the same dialect (comma, double quote, `""` escapes, `\n`, `\r\n` or `\r` ends, blank lines skipped), so
//! both see the same records.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};

/// A column whose every value is checked, and what it is to the pipeline.
#[derive(Debug, Clone)]
pub struct CheckedColumn {
    pub index: usize,
    pub name: String,
    pub data_type: DataType,
    /// e.g. "key" or "class", in messages.
    pub role: &'static str,
}

/// A record that cannot be prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Which of the input's files (an index into them).
    pub file: usize,
    /// 1-based line of the file where the record starts.
    pub line: u64,
    /// What is wrong, one of [`KINDS`].
    pub kind: &'static str,
    /// What is wrong with this record's values.
    pub reason: String,
    /// Bytes `[start, end)` of the record in the file, its line end included.
    pub start: u64,
    pub end: u64,
}

/// The kinds of bad records a scan finds.
pub const WRONG_FIELD_COUNT: &str = "wrong number of fields";
pub const INVALID_UTF8: &str = "invalid UTF-8";
pub const UNTERMINATED_QUOTE: &str = "unterminated quote";
pub const EMPTY_VALUE: &str = "empty key or class";
pub const WRONG_TYPE: &str = "key or class not of its column's type";

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Records after the header (blank lines are not records).
    pub records: u64,
    /// Bad records, in file order.
    pub rejections: Vec<Rejection>,
}

/// Checks every record of every file (after its header of `header_fields` names) and returns the bad ones.
pub fn scan_files(files: &[std::path::PathBuf], header_fields: usize, checked: &[CheckedColumn]) -> Result<ScanReport> {
    let mut report = ScanReport::default();
    for (index, file) in files.iter().enumerate() {
        let file_report = scan(file, header_fields, checked)?;
        report.records += file_report.records;
        report.rejections.extend(file_report.rejections.into_iter().map(|rejection| Rejection { file: index, ..rejection }));
    }
    Ok(report)
}

/// Checks every record of `path` (after its header of `header_fields` names) and returns the bad ones.
pub fn scan(path: &Path, header_fields: usize, checked: &[CheckedColumn]) -> Result<ScanReport> {
    let io = |error: std::io::Error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display()));
    let file = File::open(path).map_err(io)?;
    let file_size = file.metadata().map_err(io)?.len();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, file));
    let mut record = csv::ByteRecord::new();
    let mut report = ScanReport::default();
    let mut header = true;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display())))?;
        if !more {
            break;
        }
        if header {
            header = false;
            continue;
        }
        report.records += 1;
        let position = record.position().expect("the csv reader records positions");
        let (line, start, end) = (position.line(), position.byte(), reader.position().byte());
        let problem = if end == file_size && ends_inside_quotes(path, start, end)? {
            let last_line = reader.position().line();
            Some((UNTERMINATED_QUOTE, format!("unterminated quote: the value opened here runs to the end of the file (line {last_line})")))
        } else {
            record_problem(&record, header_fields, checked)
        };
        if let Some((kind, reason)) = problem {
            report.rejections.push(Rejection { file: 0, line, kind, reason, start, end });
        }
    }
    to_record_starts(path, &mut report.rejections)?;
    Ok(report)
}

/// Moves each location past the line ends and blank lines before its record, counting them into its line.
/// The `csv` crate places a record where the previous one ended: before the `\n` of a `\r\n` (it ends a
/// record at the `\r`) and before any blank lines, which would put the line one or more too low.
pub fn to_record_starts(path: &Path, locations: &mut [Rejection]) -> Result<()> {
    if locations.is_empty() {
        return Ok(());
    }
    let io = |error: std::io::Error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display()));
    let mut file = File::open(path).map_err(io)?;
    for location in locations {
        file.seek(SeekFrom::Start(location.start)).map_err(io)?;
        let mut reader = BufReader::new((&mut file).take(location.end - location.start));
        loop {
            let buffer = reader.fill_buf().map_err(io)?;
            let skipped = buffer.iter().take_while(|&&byte| byte == b'\r' || byte == b'\n').count();
            location.line += buffer[..skipped].iter().filter(|&&byte| byte == b'\n').count() as u64;
            location.start += skipped as u64;
            let done = skipped < buffer.len() || buffer.is_empty();
            reader.consume(skipped);
            if done {
                break;
            }
        }
    }
    Ok(())
}

/// The first problem of one record, if any.
fn record_problem(
    record: &csv::ByteRecord,
    header_fields: usize,
    checked: &[CheckedColumn],
) -> Option<(&'static str, String)> {
    if record.len() != header_fields {
        return Some((WRONG_FIELD_COUNT, format!("{} fields, the header has {header_fields}", record.len())));
    }
    if let Some(column) = (0..record.len()).find(|&index| std::str::from_utf8(&record[index]).is_err()) {
        return Some((INVALID_UTF8, format!("invalid UTF-8 in field {}", column + 1)));
    }
    for column in checked {
        let value = std::str::from_utf8(&record[column.index]).expect("checked above");
        if value.is_empty() {
            return Some((EMPTY_VALUE, format!("empty {} (column {})", column.role, column.name)));
        }
        if !parses_as(value, &column.data_type) {
            return Some((WRONG_TYPE, format!(
                "{} '{value}' in column {} is not {} like the column's first rows",
                column.role,
                column.name,
                type_name(&column.data_type)
            )));
        }
    }
    None
}

/// Whether DataFusion's reader can read `value` as `data_type` (the types the header inference gives).
fn parses_as(value: &str, data_type: &DataType) -> bool {
    match data_type {
        DataType::Int64 => value.parse::<i64>().is_ok(),
        DataType::Float64 => value.parse::<f64>().is_ok(),
        DataType::Boolean => value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

fn type_name(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Int64 => "an integer",
        DataType::Float64 => "a number",
        DataType::Boolean => "true or false",
        _ => "text",
    }
}

/// Whether the record in bytes `[start, end)` of `path` ends inside a quoted value (it can only be the
/// file's last record, which then swallowed the rest of the file).
fn ends_inside_quotes(path: &Path, start: u64, end: u64) -> Result<bool> {
    let io = |error: std::io::Error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display()));
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(end - start).read_to_end(&mut bytes).map_err(io)?;
    Ok(quote_state_at_end(&bytes))
}

/// Runs the dialect's quoting rules over one record: a quote opens a value only at the start of a field,
/// `""` inside it is a quote, and the next quote closes it.
fn quote_state_at_end(record: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut field_start = true;
    let mut index = 0;
    while index < record.len() {
        let byte = record[index];
        if in_quotes {
            if byte == b'"' {
                if record.get(index + 1) == Some(&b'"') {
                    index += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if byte == b'"' && field_start {
            in_quotes = true;
            field_start = false;
        } else {
            field_start = matches!(byte, b',' | b'\n' | b'\r');
        }
        index += 1;
    }
    in_quotes
}

/// Copies `path` to `out` without the byte ranges of `rejections` (in file order).
pub fn copy_without(path: &Path, out: &Path, rejections: &[Rejection]) -> Result<()> {
    let io = |error: std::io::Error, file: &Path| DataFusionError::Execution(format!("'{}': {error}", file.display()));
    let mut input = BufReader::with_capacity(1 << 20, File::open(path).map_err(|error| io(error, path))?);
    let mut output = std::io::BufWriter::with_capacity(1 << 20, File::create(out).map_err(|error| io(error, out))?);
    let mut position = 0;
    for rejection in rejections {
        std::io::copy(&mut (&mut input).take(rejection.start - position), &mut output).map_err(|error| io(error, out))?;
        std::io::copy(&mut (&mut input).take(rejection.end - rejection.start), &mut std::io::sink())
            .map_err(|error| io(error, path))?;
        position = rejection.end;
    }
    std::io::copy(&mut input, &mut output).map_err(|error| io(error, out))?;
    output.flush().map_err(|error| io(error, out))
}

/// The text of each rejection's record, read from its file among `files` (invalid UTF-8 replaced), line
/// ends removed.
pub fn record_texts(files: &[std::path::PathBuf], rejections: &[Rejection]) -> Result<Vec<String>> {
    let mut open: Option<(usize, File)> = None;
    rejections
        .iter()
        .map(|rejection| {
            let path = &files[rejection.file];
            let io = |error: std::io::Error| DataFusionError::Execution(format!("input CSV '{}': {error}", path.display()));
            // Rejections come file by file: each file is opened once.
            if open.as_ref().is_none_or(|(index, _)| *index != rejection.file) {
                open = Some((rejection.file, File::open(path).map_err(io)?));
            }
            let file = &mut open.as_mut().expect("opened above").1;
            file.seek(SeekFrom::Start(rejection.start)).map_err(io)?;
            let mut bytes = Vec::new();
            file.take(rejection.end - rejection.start).read_to_end(&mut bytes).map_err(io)?;
            let text = String::from_utf8_lossy(&bytes);
            Ok(text.trim_matches(['\r', '\n']).to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_text(text: &[u8]) -> ScanReport {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        std::fs::write(&path, text).unwrap();
        let checked = [
            CheckedColumn { index: 0, name: "id".into(), data_type: DataType::Int64, role: "key" },
            CheckedColumn { index: 3, name: "tag".into(), data_type: DataType::Utf8, role: "class" },
        ];
        scan(&path, 4, &checked).unwrap()
    }

    fn reasons(report: &ScanReport) -> Vec<(u64, String)> {
        report.rejections.iter().map(|rejection| (rejection.line, rejection.reason.clone())).collect()
    }

    #[test]
    fn good_records_pass_and_lines_count_quoted_newlines_and_blank_lines() {
        let report = scan_text(b"id,title,description,tag\n1,a,\"b\nc\",x\n\n2,\"say \"\"hi\"\"\",d,y\r\n3,e,,z");
        assert_eq!(report.records, 3);
        assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    }

    #[test]
    fn each_kind_of_bad_record_is_named_with_its_line() {
        let text = b"id,title,description,tag\n\
            1,a,b,x\n\
            2,a,b\n\
            3,a,b,x,extra\n\
            ,a,b,x\n\
            5,a,b,\n\
            six,a,b,x\n\
            7,a,\xff\xfe,x\n\
            8,a,\"never closed,x\n9,a,b,x\n";
        let report = scan_text(text);
        assert_eq!(report.records, 8);
        assert_eq!(
            reasons(&report),
            [
                (3, "3 fields, the header has 4".to_owned()),
                (4, "5 fields, the header has 4".to_owned()),
                (5, "empty key (column id)".to_owned()),
                (6, "empty class (column tag)".to_owned()),
                (7, "key 'six' in column id is not an integer like the column's first rows".to_owned()),
                (8, "invalid UTF-8 in field 3".to_owned()),
                (9, "unterminated quote: the value opened here runs to the end of the file (line 11)".to_owned()),
            ]
        );
    }

    #[test]
    fn a_copy_without_the_rejections_holds_exactly_the_good_records() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        std::fs::write(&path, "id,title,description,tag\n1,a,b,x\n2,a,b\n3,\"c\nd\",e,y\n,a,b,x\n").unwrap();
        let checked = [CheckedColumn { index: 0, name: "id".into(), data_type: DataType::Int64, role: "key" }];
        let report = scan(&path, 4, &checked).unwrap();
        let copy = directory.path().join("copy.csv");
        copy_without(&path, &copy, &report.rejections).unwrap();
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "id,title,description,tag\n1,a,b,x\n3,\"c\nd\",e,y\n");
        assert_eq!(record_texts(&[path], &report.rejections).unwrap(), ["2,a,b", ",a,b,x"]);
    }

    #[test]
    fn crlf_and_blank_lines_give_the_record_its_own_line_and_bytes() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        std::fs::write(&path, "id,title,description,tag\r\n1,a,b,x\r\n2,a,b\r\n\r\n\n3,a\r\n4,a,b,x\r\n").unwrap();
        let checked = [CheckedColumn { index: 0, name: "id".into(), data_type: DataType::Int64, role: "key" }];
        let report = scan(&path, 4, &checked).unwrap();
        assert_eq!(report.records, 4);
        let lines: Vec<u64> = report.rejections.iter().map(|rejection| rejection.line).collect();
        assert_eq!(lines, [3, 6]);
        assert_eq!(record_texts(std::slice::from_ref(&path), &report.rejections).unwrap(), ["2,a,b", "3,a"]);
        let copy = directory.path().join("copy.csv");
        copy_without(&path, &copy, &report.rejections).unwrap();
        let kept = scan(&copy, 4, &checked).unwrap();
        assert_eq!((kept.records, kept.rejections.len()), (2, 0));
    }

    #[test]
    fn quote_state_follows_the_dialect() {
        assert!(!quote_state_at_end(b"1,\"a,b\",c\n"));
        assert!(!quote_state_at_end(b"1,\"a \"\"q\"\" b\",c"));
        assert!(!quote_state_at_end(b"1,a\"b,c\n"), "a quote inside an unquoted value is a character");
        assert!(quote_state_at_end(b"1,\"a,b\n2,c\n"));
        assert!(quote_state_at_end(b"1,\"a\"\"\n"));
    }
}
