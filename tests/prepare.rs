//! `prepare` end to end on the course dataset: exact against the golden files, deterministic across
//! partitions and batch sizes, and clear about bad input.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{
    OutputRow, assert_same_file_bytes, dataset_csv, file_bytes, golden_rows, read_split, scibert_vocab, split_summary,
};
use mlprep::publish::OutputError;
use mlprep::{PrepareOptions, SessionOptions, prepare};

fn options(data: PathBuf, out: PathBuf) -> PrepareOptions {
    PrepareOptions {
        session: SessionOptions { partitions: 2, batch_size: 8192, ..Default::default() },
        ..PrepareOptions::new(data, scibert_vocab(), out)
    }
}

fn with_partitions(mut options: PrepareOptions, partitions: usize, batch_size: usize) -> PrepareOptions {
    options.session.partitions = partitions;
    options.session.batch_size = batch_size;
    options
}

/// Strips padding: the real ids of a row, checking the mask says exactly that.
fn unpadded(row: &OutputRow) -> Vec<i64> {
    assert_eq!(row.ids.len(), row.masks.len(), "id {}: ids and masks differ in length", row.id);
    let real = row.masks.iter().take_while(|&&mask| mask == 1).count();
    assert!(row.masks[real..].iter().all(|&mask| mask == 0), "id {}: mask not 1s then 0s", row.id);
    assert!(row.ids[real..].iter().all(|&id| id == 0), "id {}: padding is not [PAD]=0", row.id);
    row.ids[..real].to_vec()
}

#[tokio::test]
async fn course_dataset_matches_the_golden_outputs() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("prepared");
    let report = prepare(&options(dataset_csv(), out.clone())).await.unwrap();

    let golden: BTreeMap<i64, common::GoldenRow> = golden_rows().into_iter().map(|row| (row.id, row)).collect();
    let summary = split_summary();
    let train = read_split(&out.join("train"));
    let val = read_split(&out.join("val"));

    // Disjoint, and together every row exactly once.
    let train_ids: BTreeSet<i64> = train.iter().map(|row| row.id).collect();
    let val_ids: BTreeSet<i64> = val.iter().map(|row| row.id).collect();
    assert_eq!(train_ids.len(), train.len());
    assert_eq!(val_ids.len(), val.len());
    assert!(train_ids.is_disjoint(&val_ids));
    let all: BTreeSet<i64> = train_ids.union(&val_ids).copied().collect();
    assert_eq!(all, golden.keys().copied().collect::<BTreeSet<_>>());
    assert_eq!(train.len() as u64, summary["train_total"].as_u64().unwrap());
    assert_eq!(val.len() as u64, summary["test_total"].as_u64().unwrap());

    // Per-tag counts.
    for (tag, counts) in summary["per_tag"].as_object().unwrap() {
        let in_train = train.iter().filter(|row| &row.tag == tag).count() as u64;
        let in_val = val.iter().filter(|row| &row.tag == tag).count() as u64;
        assert_eq!(in_train, counts["train"].as_u64().unwrap(), "train rows of {tag}");
        assert_eq!(in_val, counts["test"].as_u64().unwrap(), "val rows of {tag}");
    }

    // class_to_index, on disk and as targets.
    let class_to_index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("class_to_index.json")).unwrap()).unwrap();
    assert_eq!(class_to_index, summary["class_to_index"]);

    // Every row: exact ids, text, targets; each split padded to its own longest row.
    for (rows, name) in [(&train, "train"), (&val, "val")] {
        let longest = rows.iter().map(|row| golden[&row.id].ids.len()).max().unwrap();
        for row in rows.iter() {
            let expected = &golden[&row.id];
            assert_eq!(row.ids.len(), longest, "{name} id {}: padded length", row.id);
            assert_eq!(unpadded(row), expected.ids, "{name} id {}", row.id);
            assert_eq!(row.text, expected.text_clean, "{name} id {}", row.id);
            assert_eq!(row.tag, expected.tag);
            assert_eq!(row.targets, class_to_index[&row.tag].as_i64().unwrap(), "{name} id {}", row.id);
        }
    }

    // Each split is in its shuffled order: ascending seeded hash of the key.
    for rows in [&train, &val] {
        let hashes: Vec<u64> = rows.iter().map(|row| mlprep_udfs::xxh64(&row.id.to_le_bytes(), 1234)).collect();
        assert!(hashes.windows(2).all(|pair| pair[0] <= pair[1]), "rows are not in seeded-hash order");
    }

    // The summary agrees with the files.
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(written["rows_read"], 764);
    assert_eq!(written["seed"], 1234);
    assert_eq!(written["splits"]["train"]["rows"], 610);
    assert_eq!(written["splits"]["val"]["rows"], 154);
    assert_eq!(written["splits"]["val"]["rows_per_class"]["mlops"], 13);
    assert_eq!(written["vocab_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report.rows_read, 764);
    let train_max = train.iter().map(|row| golden[&row.id].ids.len()).max().unwrap() as i64;
    assert_eq!(written["splits"]["train"]["token_length"]["max"], train_max);
    // Nothing but the documented outputs, and no staging directory left behind.
    let mut entries: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["README.md", "class_to_index.json", "report", "report.html", "summary.json", "train", "val"]);
    assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
}

/// Runs `prepare` once per (partitions, batch size) and checks: the same rows in the same order with the
/// same values every time, and the same bytes in every file whenever the batch size is the same (the
/// Parquet writer places page boundaries at its input batches, so only the encoding may follow the batch
/// size, never the data).
async fn assert_same_output_for_every_run(base: &PrepareOptions, runs: &[(usize, usize)], scratch: &Path) {
    let mut rows_seen: Option<(Vec<OutputRow>, Vec<OutputRow>)> = None;
    let mut bytes_by_batch_size: BTreeMap<usize, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for &(partitions, batch_size) in runs {
        let out = scratch.join(format!("p{partitions}-b{batch_size}"));
        let run = PrepareOptions { out: out.clone(), ..with_partitions(base.clone(), partitions, batch_size) };
        prepare(&run).await.unwrap();
        let rows = (read_split(&out.join("train")), read_split(&out.join("val")));
        match &rows_seen {
            None => rows_seen = Some(rows),
            Some(expected) => {
                assert!(rows.0 == expected.0, "train rows differ at partitions={partitions} batch={batch_size}");
                assert!(rows.1 == expected.1, "val rows differ at partitions={partitions} batch={batch_size}");
            }
        }
        let files = file_bytes(&out);
        match bytes_by_batch_size.get(&batch_size) {
            None => {
                bytes_by_batch_size.insert(batch_size, files);
            }
            Some(expected) => {
                assert_same_file_bytes(
                    &files,
                    expected,
                    &format!("byte-wise at partitions={partitions} batch={batch_size}"),
                );
            }
        }
    }
    let summaries: BTreeSet<&Vec<u8>> = bytes_by_batch_size
        .values()
        .flat_map(|files| files.iter().filter(|(name, _)| name.ends_with(".json")))
        .map(|(_, bytes)| bytes)
        .collect();
    assert_eq!(summaries.len(), 2, "summary.json and class_to_index.json do not depend on the batch size");
}

/// Same input and seed: the same output whatever the partitions and batch sizes.
#[tokio::test]
async fn output_is_identical_across_partitions_and_batch_sizes() {
    let directory = tempfile::tempdir().unwrap();
    let base = options(dataset_csv(), directory.path().join("unused"));
    let runs = [(1, 8192), (2, 8192), (7, 8192), (2, 50), (7, 50), (1, 1), (7, 1)];
    assert_same_output_for_every_run(&base, &runs, directory.path()).await;
}

/// A small --file-size stages the rows in buckets of the shuffle order and writes one file per bucket: read
/// in name order, the files hold exactly the rows of the one-file run in the same order, and they too do not
/// depend on partitions or batch sizes.
#[tokio::test]
async fn bucketed_output_is_the_one_file_output_in_pieces() {
    let directory = tempfile::tempdir().unwrap();
    let whole = directory.path().join("whole");
    prepare(&options(dataset_csv(), whole.clone())).await.unwrap();
    let base = PrepareOptions { file_size: 20_000, ..options(dataset_csv(), directory.path().join("unused")) };
    let runs = [(1, 8192), (2, 50), (7, 8192), (7, 1)];
    assert_same_output_for_every_run(&base, &runs, directory.path()).await;
    let pieces = directory.path().join("p1-b8192");
    for split in ["train", "val"] {
        let files: Vec<String> = std::fs::read_dir(pieces.join(split))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(files.len() > 1, "{split}: expected several files, got {files:?}");
        for number in 0..files.len() {
            assert!(
                files.contains(&format!("part-{number:05}.parquet")),
                "{split}: files not numbered 0..n: {files:?}"
            );
        }
        assert!(
            read_split(&pieces.join(split)) == read_split(&whole.join(split)),
            "{split}: rows differ from the one-file run"
        );
    }
}

#[tokio::test]
async fn another_seed_gives_another_split_with_the_same_counts() {
    let directory = tempfile::tempdir().unwrap();
    let first = directory.path().join("seed-1234");
    let second = directory.path().join("seed-99");
    prepare(&options(dataset_csv(), first.clone())).await.unwrap();
    let mut other = options(dataset_csv(), second.clone());
    other.seed = 99;
    prepare(&other).await.unwrap();
    let ids = |out: &Path| read_split(&out.join("val")).iter().map(|row| row.id).collect::<BTreeSet<_>>();
    assert_ne!(ids(&first), ids(&second));
    assert_eq!(ids(&first).len(), ids(&second).len());
}

#[tokio::test]
async fn max_length_truncates_keeping_sep_last_and_pads() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("short");
    let mut run = options(dataset_csv(), out.clone());
    run.max_length = Some(16);
    prepare(&run).await.unwrap();
    let golden: BTreeMap<i64, Vec<i64>> = golden_rows().into_iter().map(|row| (row.id, row.ids)).collect();
    for row in read_split(&out.join("train")).iter().chain(read_split(&out.join("val")).iter()) {
        let full = &golden[&row.id];
        assert_eq!(row.ids.len(), 16);
        let real = unpadded(row);
        if full.len() > 16 {
            let mut expected = full[..15].to_vec();
            expected.push(103);
            assert_eq!(real, expected, "id {}", row.id);
        } else {
            assert_eq!(&real, full, "id {}", row.id);
        }
    }
}

/// Bad input: a clear error naming the file, column, line or value, and no output directory left.
#[tokio::test]
async fn bad_input_fails_clearly_and_leaves_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = directory.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let header = "id,created_on,title,description,tag\n";
    let cases: Vec<(&str, PrepareOptions, Vec<String>)> = vec![
        (
            "missing file",
            options(directory.path().join("nope.csv"), directory.path().join("out-missing")),
            vec!["nope.csv".into(), "cannot be opened".into()],
        ),
        (
            "missing column",
            options(
                write("no-tag.csv", "id,created_on,title,description\n1,2020-01-01 00:00:00,a,b\n"),
                directory.path().join("out-column"),
            ),
            vec!["no-tag.csv".into(), "no column 'tag'".into()],
        ),
        (
            "vocab not found",
            PrepareOptions {
                vocab: directory.path().join("missing-vocab.txt"),
                ..options(dataset_csv(), directory.path().join("out-vocab"))
            },
            vec!["missing-vocab.txt".into()],
        ),
        (
            "class too small",
            options(
                write(
                    "tiny.csv",
                    &format!(
                        "{header}1,2020-01-01 00:00:00,a,b,mlops\n2,2020-01-01 00:00:00,c,d,mlops\n3,2020-01-01 00:00:00,e,f,other\n"
                    ),
                ),
                directory.path().join("out-tiny"),
            ),
            vec!["class 'other' has only 1 row".into()],
        ),
        (
            "empty file",
            options(write("empty.csv", ""), directory.path().join("out-empty")),
            vec!["empty.csv".into(), "empty".into()],
        ),
        (
            "header only",
            options(write("header-only.csv", header), directory.path().join("out-header")),
            vec!["header-only.csv".into(), "has a header but no rows".into()],
        ),
    ];
    for (name, run, expected) in cases {
        let error = prepare(&run).await.expect_err(name).to_string();
        for fragment in expected {
            assert!(error.contains(&fragment), "{name}: error {error:?} lacks {fragment:?}");
        }
        assert!(!run.out.exists(), "{name}: output directory left behind");
        let leftovers = common::staging_leftovers(directory.path());
        assert!(leftovers.is_empty(), "{name}: staging left behind: {leftovers:?}");
    }
}

/// The typed error of a refused output.
fn output_error(error: &mlprep::error::Error) -> &OutputError {
    match error {
        mlprep::error::Error::Output(inner) => inner,
        other => panic!("not an output error: {other}"),
    }
}

#[tokio::test]
async fn replaces_only_an_earlier_output_and_only_with_overwrite() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    // A directory of the user's is never replaced, even with --overwrite.
    for overwrite in [false, true] {
        let run = PrepareOptions { overwrite, ..options(dataset_csv(), out.clone()) };
        let error = prepare(&run).await.unwrap_err();
        let refused = output_error(&error);
        assert!(
            matches!(refused, OutputError::NotAnOutput { entries, count: 1, .. } if entries == &["keep.txt"]),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
    }
    std::fs::remove_file(out.join("keep.txt")).unwrap();
    prepare(&options(dataset_csv(), out.clone())).await.unwrap();
    let first = std::fs::read(out.join("summary.json")).unwrap();
    let error = prepare(&options(dataset_csv(), out.clone())).await.unwrap_err();
    assert!(matches!(output_error(&error), OutputError::OutputExists { .. }), "{error}");
    let run = PrepareOptions { overwrite: true, seed: 7, ..options(dataset_csv(), out.clone()) };
    let report = prepare(&run).await.unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_ne!(std::fs::read(out.join("summary.json")).unwrap(), first);
    assert_matches_golden_counts(&out);
}

/// Per-class split sizes of the course dataset, whatever the seed.
fn assert_matches_golden_counts(out: &Path) {
    let summary = common::split_summary();
    let train = common::read_split(&out.join("train"));
    let val = common::read_split(&out.join("val"));
    assert_eq!(train.len() as u64, summary["train_total"].as_u64().unwrap());
    assert_eq!(val.len() as u64, summary["test_total"].as_u64().unwrap());
}

/// Many batches and partitions on synthetic data (non-ASCII text, quoted newlines, URLs).
#[tokio::test]
async fn synthetic_output_is_identical_across_partitions_and_batch_sizes() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("projects.csv");
    let vocab = directory.path().join("vocab.txt");
    let mut csv = Vec::new();
    mlprep::tools::synthetic::write_projects_csv(&mut csv, 20_000, 42).unwrap();
    std::fs::write(&data, csv).unwrap();
    std::fs::write(&vocab, mlprep::tools::synthetic::demo_vocabulary()).unwrap();
    let base = PrepareOptions { vocab, ..options(data, directory.path().join("unused")) };
    let runs = [(1, 8192), (4, 8192), (7, 8192), (4, 1000), (7, 1000), (2, 333)];
    assert_same_output_for_every_run(&base, &runs, directory.path()).await;
}

/// Under a memory limit smaller than the padded rows, the run spills and writes the same files as without a
/// limit; under a limit too small to work at all it fails saying which options to change, and leaves nothing.
#[tokio::test]
async fn a_memory_limit_bounds_the_run_or_fails_clearly() {
    let directory = tempfile::tempdir().unwrap();
    let (data, vocab) = common::synthetic_inputs(directory.path(), 50_000, 3);
    let run = |out: &str, memory_limit: Option<usize>| PrepareOptions {
        vocab: vocab.clone(),
        file_size: 1 << 20,
        session: SessionOptions { partitions: 2, batch_size: 512, memory_limit, ..Default::default() },
        ..options(data.clone(), directory.path().join(out))
    };
    prepare(&run("unlimited", None)).await.unwrap();
    // 64 MiB, less than the padded rows (about 80 MB): each bucket's sort fits, the whole never does.
    prepare(&run("limited", Some(64 << 20))).await.unwrap_or_else(|error| panic!("under 64 MiB: {error}"));
    assert_same_file_bytes(
        &file_bytes(&directory.path().join("limited")),
        &file_bytes(&directory.path().join("unlimited")),
        "under 64 MiB",
    );

    let error = prepare(&run("starved", Some(4 << 20))).await.unwrap_err().to_string();
    assert!(error.contains("--memory-limit 4 MiB is too small for this input"), "{error}");
    assert!(
        error.contains("--batch-size") && error.contains("--file-size") && error.contains("nothing was written"),
        "{error}"
    );
    assert!(!directory.path().join("starved").exists());
    assert_eq!(common::staging_leftovers(directory.path()), Vec::<String>::new());
}
