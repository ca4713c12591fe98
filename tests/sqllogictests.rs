//! Runs every `tests/slt/*.slt` file (sqllogictest format, as DataFusion's own SQL tests) on a fresh
//! mlprep session. Statements may use `${name}` parameters and the meta-commands `\set` and `\i`;
//! `${data}`, `${vocab}` and `${shared_data}` point at the shared reference data.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use mlprep::error::Error;
use mlprep::sql::ScriptRunner;
use mlprep::{SessionOptions, session_context};
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};

struct MlprepDb {
    runner: ScriptRunner,
}

#[async_trait]
impl AsyncDB for MlprepDb {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let outputs = self.runner.run_script("slt", sql, None).await?;
        match outputs.last() {
            Some(output) if !output.schema.fields().is_empty() => {
                let types = output.schema.fields().iter().map(|field| column_type(field.data_type())).collect();
                Ok(DBOutput::Rows { types, rows: format_rows(&output.batches)? })
            }
            _ => Ok(DBOutput::StatementComplete(0)),
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "mlprep"
    }

    async fn sleep(duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

fn column_type(data_type: &DataType) -> DefaultColumnType {
    match data_type {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() => DefaultColumnType::FloatingPoint,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

/// Values as DataFusion's sqllogictests print them: NULL, `(empty)` for an empty string, lists as `[a, b]`.
fn format_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, Error> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .zip(batch.columns())
                    .map(|(formatter, column)| {
                        let text = formatter.value(row).to_string();
                        let is_string =
                            matches!(column.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
                        if is_string && column.is_valid(row) && text.is_empty() { "(empty)".to_owned() } else { text }
                    })
                    .collect(),
            );
        }
    }
    Ok(rows)
}

fn slt_files() -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "slt"))
        .collect();
    files.sort();
    files
}

#[tokio::main]
async fn main() {
    let shared = common::shared_data();
    let filter: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let params = BTreeMap::from([
        ("shared_data".to_owned(), shared.display().to_string()),
        ("data".to_owned(), shared.join("dataset.csv").display().to_string()),
        ("vocab".to_owned(), shared.join("scibert_scivocab_uncased.vocab.txt").display().to_string()),
    ]);
    // Scripts are referenced from the repository root, as in the README.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut failures = Vec::new();
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if filter.as_ref().is_some_and(|filter| !name.contains(filter.as_str())) {
            continue;
        }
        let scratch = tempfile::tempdir().unwrap();
        let mut params = params.clone();
        params.insert("scratch".to_owned(), scratch.path().display().to_string());
        let mut runner = sqllogictest::Runner::new(move || {
            let params = params.clone();
            async move {
                let context = session_context(&SessionOptions { partitions: 4, ..Default::default() })?;
                Ok::<_, Error>(MlprepDb { runner: ScriptRunner::new(context, params) })
            }
        });
        match runner.run_file_async(&file).await {
            Ok(()) => println!("ok   {name}"),
            Err(error) => {
                println!("FAIL {name}\n{error}");
                failures.push(name);
            }
        }
    }
    if !failures.is_empty() {
        eprintln!("sqllogictest failures: {failures:?}");
        std::process::exit(1);
    }
}
