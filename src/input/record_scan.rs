//! One pass over an input CSV before any SQL reads it, record by record: the line where the record starts,
//! its field count against the header, UTF-8, an unterminated quote, and the key and class fields (present,
//! and of their column's type). DataFusion's CSV reader stops at the first such record with a message that
//! cannot name a value; this pass names every bad record, and for `--on-bad-rows skip` gives the byte range
//! of each so that a copy without them can be read instead.
//!
//! A large file is scanned in pieces on several threads: a quick pass over its quotes finds record starts
//! to cut it at (`cuts_near`), and every piece is parsed from one of them, so the report is the one a
//! single pass gives.
//!
//! Records are parsed by the `csv` crate over the same `csv-core` state machine as DataFusion's reader, with
//! the same dialect (comma, double quote, `""` escapes, `\n`, `\r\n` or `\r` ends, blank lines skipped), so
//! both see the same records.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use datafusion::arrow::datatypes::DataType;

use crate::error::{Error, Result};

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

/// Checks every record of every file (after its header of `header_fields` names) and returns the bad ones,
/// each file scanned in up to `threads` pieces at once.
pub fn scan_files(
    files: &[std::path::PathBuf],
    header_fields: usize,
    checked: &[CheckedColumn],
    threads: usize,
) -> Result<ScanReport> {
    let mut report = ScanReport::default();
    for (index, file) in files.iter().enumerate() {
        let file_report = scan_in_pieces(file, header_fields, checked, threads, MIN_PIECE_BYTES)?;
        report.records += file_report.records;
        report
            .rejections
            .extend(file_report.rejections.into_iter().map(|rejection| Rejection { file: index, ..rejection }));
    }
    Ok(report)
}

/// A file is cut into pieces of at least this many bytes: below it, threads cost more than they save.
const MIN_PIECE_BYTES: u64 = 4 << 20;

/// Checks every record of `path` (after its header of `header_fields` names) and returns the bad ones, in up
/// to `threads` pieces at once, cut at record starts (see [`cuts_near`]), each at least `min_piece_bytes`
/// long. The report is the same whatever the number of pieces.
fn scan_in_pieces(
    path: &Path,
    header_fields: usize,
    checked: &[CheckedColumn],
    threads: usize,
    min_piece_bytes: u64,
) -> Result<ScanReport> {
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let file_size = std::fs::metadata(path).map_err(io)?.len();
    let pieces = (file_size / min_piece_bytes.max(1)).clamp(1, threads.max(1) as u64);
    let mut cuts = vec![Cut { offset: 0, lines_before: 0 }];
    if pieces > 1 {
        let targets: Vec<u64> = (1..pieces).map(|piece| file_size * piece / pieces).collect();
        cuts.extend(cuts_near(path, &targets)?);
        cuts.dedup_by_key(|cut| cut.offset);
    }
    let ends: Vec<u64> = cuts.iter().skip(1).map(|cut| cut.offset).chain([file_size]).collect();
    let piece_reports: Vec<Result<ScanReport>> = std::thread::scope(|scope| {
        let handles: Vec<_> = cuts
            .iter()
            .zip(&ends)
            .map(|(cut, &end)| {
                let piece = Piece { start: cut.offset, end, lines_before: cut.lines_before, file_size };
                scope.spawn(move || scan_piece(path, piece, header_fields, checked))
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().unwrap_or_else(|_| {
                    Err(Error::Internal(format!("the record scan of '{}' stopped unexpectedly", path.display())))
                })
            })
            .collect()
    });
    let mut report = ScanReport::default();
    for piece_report in piece_reports {
        let piece_report = piece_report?;
        report.records += piece_report.records;
        report.rejections.extend(piece_report.rejections);
    }
    to_record_starts(path, &mut report.rejections)?;
    Ok(report)
}

/// Bytes `[start, end)` of a file, starting where a record starts (or a blank line before one), and the
/// line ends before it.
#[derive(Debug, Clone, Copy)]
struct Piece {
    start: u64,
    end: u64,
    lines_before: u64,
    file_size: u64,
}

/// The bad records of one piece, with lines and bytes of the whole file; the file's header
/// when the piece starts the file is not a record.
fn scan_piece(path: &Path, piece: Piece, header_fields: usize, checked: &[CheckedColumn]) -> Result<ScanReport> {
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let mut file = File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(piece.start)).map_err(io)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(BufReader::with_capacity(1 << 20, file.take(piece.end - piece.start)));
    let mut record = csv::ByteRecord::new();
    let mut report = ScanReport::default();
    let mut header = piece.start == 0;
    loop {
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|error| Error::input(&path, format!("input CSV '{}': {error}", path.display())))?;
        if !more {
            break;
        }
        if header {
            header = false;
            continue;
        }
        report.records += 1;
        let position = record.position().expect("the csv reader records positions");
        let line = piece.lines_before + position.line();
        let (start, end) = (piece.start + position.byte(), piece.start + reader.position().byte());
        let problem = if end == piece.file_size && ends_inside_quotes(path, start, end)? {
            let last_line = piece.lines_before + reader.position().line();
            Some((
                UNTERMINATED_QUOTE,
                format!("unterminated quote: the value opened here runs to the end of the file (line {last_line})"),
            ))
        } else {
            record_problem(&record, header_fields, checked)
        };
        if let Some((kind, reason)) = problem {
            report.rejections.push(Rejection { file: 0, line, kind, reason, start, end });
        }
    }
    Ok(report)
}

/// A place where a file can be cut: a record (or a blank line before one) starts at `offset`, after
/// `lines_before` line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    offset: u64,
    lines_before: u64,
}

/// Where the quoting rules stand between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Outside,
    Inside,
    /// Inside a quoted value, just after a quote: the next byte says whether it closed the value or was
    /// the first of a `""`.
    AfterQuote,
}

/// For each of `targets` (ascending byte offsets, each at least 1), the first place at or after it where a
/// record (or a blank line before one) starts, found by one quick pass over the quotes of `path`: only a
/// quote at the start of a field opens a quoted value (after a delimiter, a line end or at the start of the
/// file), `""` inside it is a quote, the next quote closes it, and a line end outside quotes ends a record.
/// These are the rules of the csv reader (csv-core), so a piece starting at a cut is parsed as it would be
/// as part of the whole file. A target past the last record start gets the file's end.
fn cuts_near(path: &Path, targets: &[u64]) -> Result<Vec<Cut>> {
    cuts_near_reading(path, targets, 8 << 20, LineEnds::Any)
}

/// Which line ends a cut may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineEnds {
    /// `\n` or `\r`, as the csv reader ends records.
    Any,
    /// `\n` only, for readers that align byte ranges on line feeds (DataFusion's).
    LineFeed,
}

/// Byte ranges `[start, end)` that cover `path` in order, up to `pieces` of them of at least `min_bytes`
/// (the last may be shorter), each starting at 0 or just after a line feed that ends a record (or a blank
/// line before one): DataFusion's CSV reader, given such a range, reads exactly the records in it. A file
/// whose records end with `\r` alone has no such place and is one range.
pub fn record_ranges(path: &Path, pieces: usize, min_bytes: u64) -> Result<Vec<(u64, u64)>> {
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let file_size = std::fs::metadata(path).map_err(io)?.len();
    let pieces = (file_size / min_bytes.max(1)).clamp(1, pieces.max(1) as u64);
    let targets: Vec<u64> = (1..pieces).map(|piece| file_size * piece / pieces).collect();
    let mut starts = vec![0];
    starts.extend(cuts_near_reading(path, &targets, 8 << 20, LineEnds::LineFeed)?.iter().map(|cut| cut.offset));
    starts.dedup();
    starts.retain(|&start| start < file_size || start == 0);
    let ends = starts.iter().skip(1).copied().chain([file_size]);
    Ok(starts.iter().copied().zip(ends).collect())
}

/// [`cuts_near`], reading `block_bytes` at a time, cutting after `line_ends`.
fn cuts_near_reading(path: &Path, targets: &[u64], block_bytes: usize, line_ends: LineEnds) -> Result<Vec<Cut>> {
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
    let mut file = File::open(path).map_err(io)?;
    let mut block = vec![0u8; block_bytes];
    let mut cuts = Vec::with_capacity(targets.len());
    let (mut block_start, mut lines_before_block) = (0u64, 0u64);
    let mut quoting = Quoting::Outside;
    let mut previous_byte: Option<u8> = None;
    while cuts.len() < targets.len() {
        let length = read_block(&mut file, &mut block).map_err(io)?;
        if length == 0 {
            break;
        }
        let bytes = &block[..length];
        let mut position = 0;
        if quoting == Quoting::AfterQuote {
            (quoting, position) = if bytes[0] == b'"' { (Quoting::Inside, 1) } else { (Quoting::Outside, 0) };
        }
        loop {
            let next_quote = memchr::memchr(b'"', &bytes[position..]).map(|index| position + index);
            let quiet_end = next_quote.unwrap_or(length);
            // No quote in [position, quiet_end): outside quotes, its first line end at or after a target ends
            // a record.
            while quoting == Quoting::Outside && cuts.len() < targets.len() {
                // A line end just before the target makes the target itself a record start.
                let from = targets[cuts.len()].saturating_sub(1).max(block_start + position as u64);
                if from >= block_start + quiet_end as u64 {
                    break;
                }
                let local = (from - block_start) as usize;
                let line_end = match line_ends {
                    LineEnds::Any => memchr::memchr2(b'\n', b'\r', &bytes[local..quiet_end]),
                    LineEnds::LineFeed => memchr::memchr(b'\n', &bytes[local..quiet_end]),
                };
                let Some(line_end) = line_end else { break };
                let cut_local = local + line_end + 1;
                let cut = Cut {
                    offset: block_start + cut_local as u64,
                    lines_before: lines_before_block + count_line_feeds(&bytes[..cut_local]),
                };
                while cuts.len() < targets.len() && targets[cuts.len()] <= cut.offset {
                    cuts.push(cut);
                }
            }
            let Some(quote) = next_quote else { break };
            position = quote + 1;
            quoting = match quoting {
                Quoting::Outside => {
                    let before = if quote > 0 { Some(bytes[quote - 1]) } else { previous_byte };
                    let field_start = before.is_none_or(|byte| matches!(byte, b',' | b'\n' | b'\r'));
                    if field_start { Quoting::Inside } else { Quoting::Outside }
                }
                Quoting::Inside if quote + 1 == length => Quoting::AfterQuote,
                Quoting::Inside if bytes[quote + 1] == b'"' => {
                    position = quote + 2;
                    Quoting::Inside
                }
                Quoting::Inside => Quoting::Outside,
                Quoting::AfterQuote => unreachable!("resolved at the start of the block"),
            };
        }
        previous_byte = Some(bytes[length - 1]);
        lines_before_block += count_line_feeds(bytes);
        block_start += length as u64;
    }
    let end = Cut { offset: block_start, lines_before: lines_before_block };
    cuts.resize(targets.len(), end);
    Ok(cuts)
}

/// Fills `block` from `file` as far as the file goes; returns how many bytes it read.
fn read_block(file: &mut File, block: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < block.len() {
        match file.read(&mut block[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// `\n` bytes, which is how the csv reader counts lines.
fn count_line_feeds(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&byte| byte == b'\n').count() as u64
}

/// Moves each location past the line ends and blank lines before its record, counting them into its line.
/// The `csv` crate places a record where the previous one ended: before the `\n` of a `\r\n` (it ends a
/// record at the `\r`) and before any blank lines, which would put the line one or more too low.
pub fn to_record_starts(path: &Path, locations: &mut [Rejection]) -> Result<()> {
    if locations.is_empty() {
        return Ok(());
    }
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
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
            return Some((
                WRONG_TYPE,
                format!(
                    "{} '{value}' in column {} is not {} like the column's first rows",
                    column.role,
                    column.name,
                    type_name(&column.data_type)
                ),
            ));
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
    let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
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
    let io = |error: std::io::Error, file: &Path| Error::input(&file, format!("'{}': {error}", file.display()));
    let mut input = BufReader::with_capacity(1 << 20, File::open(path).map_err(|error| io(error, path))?);
    let mut output = std::io::BufWriter::with_capacity(1 << 20, File::create(out).map_err(|error| io(error, out))?);
    let mut position = 0;
    for rejection in rejections {
        std::io::copy(&mut (&mut input).take(rejection.start - position), &mut output)
            .map_err(|error| io(error, out))?;
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
            let io = |error: std::io::Error| Error::input(&path, format!("input CSV '{}': {error}", path.display()));
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

    /// Every record of `path` checked in one pass.
    fn scan(path: &Path, header_fields: usize, checked: &[CheckedColumn]) -> Result<ScanReport> {
        scan_in_pieces(path, header_fields, checked, 1, MIN_PIECE_BYTES)
    }

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

    /// CSV text with everything that decides where records end: quoted values with delimiters, line ends
    /// and `""`, quotes inside unquoted values, `\n`, `\r\n` and lone `\r` ends, blank lines, records of the
    /// wrong width, invalid UTF-8, and sometimes a quote left open at the end.
    fn tricky_csv(rng: &mut impl rand::Rng) -> Vec<u8> {
        const PARTS: [&[u8]; 14] = [
            b"word",
            b"12",
            b"\"a,b\"",
            b"\"line\nbreak\"",
            b"\"crlf\r\ninside\"",
            b"\"say \"\"hi\"\"\"",
            b"a\"b",
            b"\"\"",
            b"\"x\"tail",
            b" \"",
            b"\xff\xfe",
            b"\"\"\"",
            b"\"\r\"",
            b"7",
        ];
        const ENDS: [&[u8]; 5] = [b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n"];
        let mut text = b"id,title,tag\n".to_vec();
        for _ in 0..rng.random_range(0..60) {
            let fields = if rng.random_bool(0.85) { 3 } else { rng.random_range(1..5) };
            for field in 0..fields {
                if field > 0 {
                    text.push(b',');
                }
                if field == 0 && rng.random_bool(0.8) {
                    text.extend(rng.random_range(0..1000u32).to_string().as_bytes());
                } else {
                    for _ in 0..rng.random_range(0..3) {
                        text.extend(PARTS[rng.random_range(0..PARTS.len())]);
                    }
                }
            }
            text.extend(ENDS[rng.random_range(0..ENDS.len())]);
        }
        if rng.random_bool(0.2) {
            text.extend(b"9,\"never closed\n10,a,b\n");
        }
        text
    }

    #[test]
    fn a_scan_in_pieces_reports_what_one_pass_reports() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        let checked = [CheckedColumn { index: 0, name: "id".into(), data_type: DataType::Int64, role: "key" }];
        let mut cut_inputs = 0;
        for _ in 0..400 {
            let text = tricky_csv(&mut rng);
            std::fs::write(&path, &text).unwrap();
            let whole = scan_in_pieces(&path, 3, &checked, 1, 1).unwrap();
            for threads in [2, 3, 7, 50] {
                let pieces = scan_in_pieces(&path, 3, &checked, threads, 1).unwrap();
                assert_eq!(pieces.records, whole.records, "{threads} pieces of {:?}", String::from_utf8_lossy(&text));
                assert_eq!(
                    pieces.rejections,
                    whole.rejections,
                    "{threads} pieces of {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
            cut_inputs += usize::from(whole.records > 10);
        }
        assert!(cut_inputs > 100, "too few inputs were long enough to be cut: {cut_inputs}");
    }

    #[test]
    fn cuts_do_not_depend_on_how_the_file_is_read() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        for _ in 0..200 {
            let text = tricky_csv(&mut rng);
            std::fs::write(&path, &text).unwrap();
            let targets: Vec<u64> = (1..=text.len() as u64).step_by(3).collect();
            let in_one_block = cuts_near_reading(&path, &targets, text.len() + 1, LineEnds::Any).unwrap();
            for block_bytes in [1, 2, 3, 5, 64] {
                assert_eq!(
                    cuts_near_reading(&path, &targets, block_bytes, LineEnds::Any).unwrap(),
                    in_one_block,
                    "blocks of {block_bytes} bytes over {:?}",
                    String::from_utf8_lossy(&text)
                );
            }
        }
    }

    #[test]
    fn cuts_fall_on_record_starts_and_count_the_lines_before_them() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("input.csv");
        // Records start at bytes 9, 19 and 25, after 1, 3 and 3 line feeds ("b\nc" is one value over two
        // lines, the quote of a"b is a character, \r ends a record but is no line feed); the file ends at 33.
        std::fs::write(&path, "id,t,tag\n1,\"b\nc\",x\n2,a,y\r3,a\"b,z\n").unwrap();
        let cuts = cuts_near(&path, &[1, 9, 10, 14, 21, 26, 27]).unwrap();
        let offsets: Vec<(u64, u64)> = cuts.iter().map(|cut| (cut.offset, cut.lines_before)).collect();
        assert_eq!(offsets, [(9, 1), (9, 1), (19, 3), (19, 3), (25, 3), (33, 4), (33, 4)]);
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
