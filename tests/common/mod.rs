//! Test helpers: the shared reference data (which must be present: a missing file fails the test run
//! loudly, it never skips) and readers for what `prepare` writes.
#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

pub mod cluster;
pub mod moto;

/// `../shared/data` beside the checkout, or `$MLPREP_SHARED_DATA`.
pub fn shared_data() -> PathBuf {
    let directory = std::env::var_os("MLPREP_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    for file in [
        "dataset.csv",
        "stopwords_en.txt",
        "scibert_scivocab_uncased.vocab.txt",
        "golden/dataset_clean_tokens.jsonl",
        "golden/tricky_texts.jsonl",
        "golden/split_summary.json",
    ] {
        assert!(
            directory.join(file).is_file(),
            "reference data missing: {} (set MLPREP_SHARED_DATA to the directory holding dataset.csv and golden/)",
            directory.join(file).display()
        );
    }
    directory
}

pub fn dataset_csv() -> PathBuf {
    shared_data().join("dataset.csv")
}

pub fn scibert_vocab() -> PathBuf {
    shared_data().join("scibert_scivocab_uncased.vocab.txt")
}

#[derive(Debug, Clone)]
pub struct GoldenRow {
    pub id: i64,
    pub text_clean: String,
    pub ids: Vec<i64>,
    pub tag: String,
}

#[derive(Debug, Clone)]
pub struct TrickyText {
    pub name: String,
    pub input: String,
    pub text_clean: String,
    pub ids: Vec<i64>,
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn ids_of(value: &Value) -> Vec<i64> {
    value.as_array().unwrap().iter().map(|id| id.as_i64().unwrap()).collect()
}

pub fn golden_rows() -> Vec<GoldenRow> {
    json_lines(&shared_data().join("golden/dataset_clean_tokens.jsonl"))
        .iter()
        .map(|row| GoldenRow {
            id: row["id"].as_i64().unwrap(),
            text_clean: row["text_clean"].as_str().unwrap().to_owned(),
            ids: ids_of(&row["ids"]),
            tag: row["tag"].as_str().unwrap().to_owned(),
        })
        .collect()
}

pub fn tricky_texts() -> Vec<TrickyText> {
    json_lines(&shared_data().join("golden/tricky_texts.jsonl"))
        .iter()
        .map(|row| TrickyText {
            name: row["name"].as_str().unwrap().to_owned(),
            input: row["input"].as_str().unwrap().to_owned(),
            text_clean: row["text_clean"].as_str().unwrap().to_owned(),
            ids: ids_of(&row["ids"]),
        })
        .collect()
}

pub fn split_summary() -> Value {
    serde_json::from_str(&std::fs::read_to_string(shared_data().join("golden/split_summary.json")).unwrap()).unwrap()
}

/// One row of a split's Parquet output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputRow {
    pub id: i64,
    pub tag: String,
    pub text: String,
    pub ids: Vec<i64>,
    pub masks: Vec<i64>,
    pub targets: i64,
}

/// Every row of every Parquet file in `directory`, files in name order, rows in file order.
pub fn read_split(directory: &Path) -> Vec<OutputRow> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "parquet"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Parquet file in {}", directory.display());
    let mut rows = Vec::new();
    for file in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&file).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let column = |name: &str| batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).clone();
            let (id, tag, text, ids, masks, targets) =
                (column("id"), column("tag"), column("text"), column("ids"), column("masks"), column("targets"));
            let list = |array: &dyn Array, row: usize| -> Vec<i64> {
                let list = array.as_list::<i32>().value(row);
                list.as_primitive::<Int64Type>().values().to_vec()
            };
            let string = |array: &dyn Array, row: usize| -> String {
                let array =
                    datafusion::arrow::compute::cast(array, &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
                array.as_string::<i32>().value(row).to_owned()
            };
            for row in 0..batch.num_rows() {
                rows.push(OutputRow {
                    id: id.as_primitive::<Int64Type>().value(row),
                    tag: string(tag.as_ref(), row),
                    text: string(text.as_ref(), row),
                    ids: list(ids.as_ref(), row),
                    masks: list(masks.as_ref(), row),
                    targets: targets.as_primitive::<Int64Type>().value(row),
                });
            }
        }
    }
    rows
}

/// Every output file of a `prepare` run with its bytes, in a fixed order.
/// Asserts that two output directories hold the same files with the same bytes; `what` names the comparison.
pub fn assert_same_files(actual: &Path, expected: &Path, what: &str) {
    assert_same_file_bytes(&file_bytes(actual), &file_bytes(expected), what);
}

/// Asserts that two listings of `file_bytes` name the same files with the same bytes.
pub fn assert_same_file_bytes(actual: &[(String, Vec<u8>)], expected: &[(String, Vec<u8>)], what: &str) {
    let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
    assert_eq!(names(actual), names(expected), "{what}: different files");
    for ((name, bytes), (_, expected)) in actual.iter().zip(expected) {
        assert!(bytes == expected, "{name} differs: {what}");
    }
}

pub fn file_bytes(out: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, directory: &Path, files: &mut Vec<(String, Vec<u8>)>) {
        let mut paths: Vec<PathBuf> =
            std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                files.push((path.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut files = Vec::new();
    walk(out, out, &mut files);
    for name in ["class_to_index.json", "summary.json"] {
        assert!(files.iter().any(|(file, _)| file == name), "{} has no {name}", out.display());
    }
    files
}

/// `prepare` of `data` into `out` with the SciBERT vocabulary, on two partitions, in buckets of 20,000 bytes (several
/// for the course data, so outputs of inputs cut or encoded differently are compared across buckets too).
pub fn small_bucket_options(data: PathBuf, out: PathBuf, policy: mlprep::OnBadRows) -> mlprep::PrepareOptions {
    mlprep::PrepareOptions {
        on_bad_rows: policy,
        file_size: 20_000,
        session: mlprep::SessionOptions { partitions: 2, ..Default::default() },
        ..mlprep::PrepareOptions::new(data, scibert_vocab(), out)
    }
}

/// The output's files (as [`file_bytes`]), with `summary.json`'s `input` (the path given) left out, and in the
/// dataset card replaced by `INPUT` (with its number of files): what must be equal between runs on the same rows read from different files.
pub fn output_without_input(out: &Path) -> Vec<(String, Vec<u8>)> {
    let summary: Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let input = summary["input"].as_str().expect("summary.json names its input").to_owned();
    file_bytes(out)
        .into_iter()
        .map(|(name, bytes)| {
            if name == "README.md" {
                // The input's path in the command, and its row of the table (path and number of files).
                let card = String::from_utf8(bytes).unwrap().replace(&input, "INPUT");
                let lines: Vec<&str> = card
                    .lines()
                    .map(|line| if line.starts_with("| input |") { "| input | INPUT |" } else { line })
                    .collect();
                return (name, lines.join("\n").into_bytes());
            }
            if name != "summary.json" {
                return (name, bytes);
            }
            let mut summary: Value = serde_json::from_slice(&bytes).unwrap();
            summary.as_object_mut().unwrap().remove("input").expect("summary.json names its input");
            (name, serde_json::to_vec_pretty(&summary).unwrap())
        })
        .collect()
}

/// Checks a `prepare` output of the course dataset against the golden files: every row's ids (unpadded),
/// text and target, per-class split counts, disjoint splits covering every row.
pub fn assert_matches_golden(out: &Path) {
    use std::collections::{BTreeMap, BTreeSet};
    let golden: BTreeMap<i64, GoldenRow> = golden_rows().into_iter().map(|row| (row.id, row)).collect();
    let summary = split_summary();
    let class_to_index = &summary["class_to_index"];
    let train = read_split(&out.join("train"));
    let val = read_split(&out.join("val"));
    let mut seen = BTreeSet::new();
    for (rows, split, total) in [(&train, "train", "train_total"), (&val, "val", "test_total")] {
        assert_eq!(rows.len() as u64, summary[total].as_u64().unwrap(), "{split} rows");
        for row in rows.iter() {
            assert!(seen.insert(row.id), "id {} appears twice", row.id);
            let expected = &golden[&row.id];
            let real = row.masks.iter().filter(|&&mask| mask == 1).count();
            assert_eq!(row.ids[..real], expected.ids[..], "{split} id {}", row.id);
            assert!(row.ids[real..].iter().all(|&id| id == 0));
            assert_eq!(row.text, expected.text_clean);
            assert_eq!(row.targets, class_to_index[&row.tag].as_i64().unwrap());
        }
        for (tag, counts) in summary["per_tag"].as_object().unwrap() {
            let key = if split == "train" { "train" } else { "test" };
            let count = rows.iter().filter(|row| &row.tag == tag).count() as u64;
            assert_eq!(count, counts[key].as_u64().unwrap(), "{split} rows of {tag}");
        }
    }
    assert_eq!(seen.len(), golden.len());
}

/// A synthetic dataset of `rows` projects and the synthetic vocabulary, written into `directory`.
#[allow(dead_code)]
pub fn synthetic_inputs(directory: &Path, rows: u64, seed: u64) -> (PathBuf, PathBuf) {
    let data = directory.join("projects.csv");
    let vocab = directory.join("vocab.txt");
    let mut csv = Vec::new();
    mlprep::tools::synthetic::write_projects_csv(&mut csv, rows, seed).unwrap();
    std::fs::write(&data, csv).unwrap();
    std::fs::write(&vocab, mlprep::tools::synthetic::demo_vocabulary()).unwrap();
    (data, vocab)
}

/// Names in `directory` of staging directories or files (`NAME.tmp-PID`) left behind.
pub fn staging_leftovers(directory: &Path) -> Vec<String> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

/// Byte offsets where each record of `csv` starts (the header's first), as the CSV reader sees them.
pub fn record_starts(csv: &[u8]) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(csv);
    let mut record = csv::ByteRecord::new();
    let mut starts = Vec::new();
    while reader.read_byte_record(&mut record).unwrap() {
        starts.push(record.position().unwrap().byte() as usize);
    }
    starts
}

/// Reads the child's stderr until it says it paused at `point`; fails if it ends first or takes over 120 s.
pub fn wait_for_pause(child: &mut std::process::Child, point: &str) -> std::io::BufReader<std::process::ChildStderr> {
    assert!(
        cfg!(debug_assertions),
        "this test stops mlprep at a pause point, which only debug builds have: run it without --release"
    );
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let expected = format!("mlprep: paused at {point}");
    let started = std::time::Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(read > 0, "mlprep ended before it paused at {point}");
        if line.trim_end() == expected {
            // The line comes just before the process stops itself: a SIGCONT sent in between would be lost and
            // leave it stopped for good, so wait until it is stopped.
            while !is_stopped(child.id()) {
                assert!(started.elapsed() < std::time::Duration::from_secs(120), "mlprep did not stop at {point}");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            return stderr;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "mlprep did not pause at {point} within 120 s"
        );
    }
}

/// Whether the process `pid` is stopped (state `T` in `/proc/PID/stat`).
fn is_stopped(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
}

/// Sends `signal` to the child by its PID (only to the process this test started).
pub fn send(child: &std::process::Child, signal: &str) {
    let status =
        std::process::Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success(), "kill -{signal} failed");
}
