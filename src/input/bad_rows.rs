//! What `prepare` does with input rows it cannot prepare: stop naming them (`fail`, the default), or set
//! them aside in `DIR/rejected.csv` and count them (`skip`).

use std::collections::BTreeMap;
use std::path::Path;

use super::formats::Format;
use crate::error::{Error, Result};

/// `--on-bad-rows`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OnBadRows {
    /// Stop with an error naming the file, the lines and what is wrong; write nothing.
    #[default]
    Fail,
    /// Leave the rows out, list them in `DIR/rejected.csv` and count them in `summary.json`.
    Skip,
}

impl OnBadRows {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Skip => "skip",
        }
    }
}

/// Rows listed in an error message at most.
const SHOWN: usize = 20;

/// A row set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// The input file the row is in.
    pub file: String,
    /// 1-based line of the input file where the row starts (for Parquet, its 1-based row).
    pub line: u64,
    /// What is wrong, without the row's values: the key of `summary.json`'s count per reason.
    pub kind: &'static str,
    /// What is wrong, e.g. "3 fields, the header has 5".
    pub reason: String,
    /// The row as it is in the file (line end removed; invalid UTF-8 replaced).
    pub record: String,
}

/// The error for `fail`: the file, how many rows, and the first of them with their lines.
pub fn bad_rows_error(input: &Path, rows: &[RejectedRow]) -> Error {
    let input_name = input.display().to_string();
    let at = |row: &RejectedRow| {
        let unit = Format::of_input(Path::new(&row.file)).position_name();
        if row.file == input_name {
            format!("{unit} {}", row.line)
        } else {
            format!("{} {unit} {}", row.file, row.line)
        }
    };
    let shown: Vec<String> = rows.iter().take(SHOWN).map(|row| format!("  {}: {}", at(row), row.reason)).collect();
    let more = if rows.len() > SHOWN { format!("\n  … and {} more", rows.len() - SHOWN) } else { String::new() };
    let message = format!(
        "input CSV '{}' has {} row(s) that cannot be prepared; nothing was written (--on-bad-rows skip sets such \
         rows aside in DIR/rejected.csv):\n{}{more}",
        input.display(),
        rows.len(),
        shown.join("\n")
    );
    Error::BadRows { path: input.to_path_buf(), count: rows.len(), message }
}

/// The kind of a row whose key other rows have too.
pub const DUPLICATE_KEY: &str = "duplicate key";

/// The kind of a row whose class `--classes` does not have.
pub const UNKNOWN_CLASS: &str = "class not in --classes";

/// Writes `rows` (in input order) as CSV with the columns `file,line,reason,record`.
pub fn write_rejected_csv(path: &Path, rows: &[RejectedRow]) -> Result<()> {
    let error = |error: csv::Error| Error::io(path, error.into());
    let mut writer = csv::Writer::from_path(path).map_err(error)?;
    writer.write_record(["file", "line", "reason", "record"]).map_err(error)?;
    for row in rows {
        writer
            .write_record([row.file.as_str(), row.line.to_string().as_str(), &row.reason, &row.record])
            .map_err(error)?;
    }
    writer.flush().map_err(|error| Error::io(path, error))
}

/// Rows per reason kind, for `summary.json`.
pub fn counts_by_kind(rows: &[RejectedRow]) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.kind).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, reason: &str) -> RejectedRow {
        RejectedRow {
            file: "/data/in.csv".into(),
            line,
            kind: "wrong number of fields",
            reason: reason.into(),
            record: format!("record of line {line}"),
        }
    }

    #[test]
    fn the_error_names_the_file_the_count_and_the_first_lines() {
        let rows: Vec<RejectedRow> = (2..30).map(|line| row(line, "3 fields, the header has 5")).collect();
        let message = bad_rows_error(Path::new("/data/in.csv"), &rows).to_string();
        assert!(message.contains("input CSV '/data/in.csv' has 28 row(s) that cannot be prepared"), "{message}");
        assert!(message.contains("  line 2: 3 fields, the header has 5\n"), "{message}");
        assert!(message.contains("  line 21: "), "{message}");
        assert!(!message.contains("  line 22: "), "{message}");
        assert!(message.ends_with("… and 8 more"), "{message}");
    }

    #[test]
    fn rejected_csv_quotes_what_needs_it() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("rejected.csv");
        let rows = [RejectedRow {
            file: "in.csv".into(),
            line: 7,
            kind: "empty key or class",
            reason: "empty class (column tag)".into(),
            record: "1,\"a,\nb\",".into(),
        }];
        write_rejected_csv(&path, &rows).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "file,line,reason,record\nin.csv,7,empty class (column tag),\"1,\"\"a,\nb\"\",\"\n"
        );
        assert_eq!(counts_by_kind(&rows), BTreeMap::from([("empty key or class", 1)]));
    }
}
