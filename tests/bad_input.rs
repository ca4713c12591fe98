//! Bad input through `prepare`, case by case, under both policies of `--on-bad-rows`:
//! - `fail`: an error naming the file, the line and what is wrong; no output directory and no staging left;
//! - `skip`: the run completes, `rejected.csv` lists exactly the bad rows with their lines and reasons, the
//!   output holds exactly the good rows, and rows read = train + val + rejected in `summary.json`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{read_split, scibert_vocab, staging_leftovers};
use mlprep::{OnBadRows, PrepareOptions, SessionOptions, prepare};

const HEADER: &str = "id,created_on,title,description,tag\n";

/// Twelve good rows, six per class: enough for every class to have training and validation rows.
fn good_rows() -> String {
    (1..=12)
        .map(|id| {
            let tag = if id % 2 == 0 { "mlops" } else { "computer-vision" };
            format!("{id},2020-02-{id:02} 10:00:00,Project {id},A model for task number {id}.,{tag}\n")
        })
        .collect()
}

fn options(data: PathBuf, out: PathBuf, policy: OnBadRows) -> PrepareOptions {
    PrepareOptions {
        on_bad_rows: policy,
        session: SessionOptions { partitions: 2, ..Default::default() },
        ..PrepareOptions::new(data, scibert_vocab(), out)
    }
}

struct Case {
    name: &'static str,
    /// Appended after the header and the good rows (lines 2-13), so the first bad line is 14.
    bad_rows: &'static [u8],
    /// Per bad row: its line and a fragment of its reason.
    rejected: &'static [(u64, &'static str)],
}

const CASES: &[Case] = &[
    Case { name: "too few fields", bad_rows: b"13,2020-01-01,t,d\n", rejected: &[(14, "4 fields, the header has 5")] },
    Case {
        name: "too many fields",
        bad_rows: b"13,2020-01-01,t,d,mlops,extra\n",
        rejected: &[(14, "6 fields, the header has 5")],
    },
    Case {
        name: "unterminated quote",
        bad_rows: b"13,2020-01-01,t,\"never closed,mlops\n14,2020-01-01,t,d,mlops\n",
        rejected: &[(14, "unterminated quote")],
    },
    Case {
        name: "invalid UTF-8",
        bad_rows: b"13,2020-01-01,t,caf\xe9 au lait,mlops\n",
        rejected: &[(14, "invalid UTF-8 in field 4")],
    },
    Case { name: "empty tag", bad_rows: b"13,2020-01-01,t,d,\n", rejected: &[(14, "empty class (column tag)")] },
    Case {
        name: "quoted empty tag",
        bad_rows: b"13,2020-01-01,t,d,\"\"\n",
        rejected: &[(14, "empty class (column tag)")],
    },
    Case { name: "empty key", bad_rows: b",2020-01-01,t,d,mlops\n", rejected: &[(14, "empty key (column id)")] },
    Case {
        name: "duplicate key",
        bad_rows: b"13,2020-01-01,t,d,mlops\n13,2020-01-01,\"two\nlines\",d,computer-vision\n",
        rejected: &[(14, "duplicate key: 2 rows have id = 13"), (15, "duplicate key: 2 rows have id = 13")],
    },
    Case {
        name: "several kinds at once",
        bad_rows: b"13,2020-01-01,t,d\n14,2020-01-01,t,d,\n15,2020-01-01,t,d,mlops\n",
        rejected: &[(14, "4 fields"), (15, "empty class")],
    },
];

fn write_input(directory: &Path, case: &Case) -> PathBuf {
    let path = directory.join(format!("{}.csv", case.name.replace(' ', "-")));
    let mut bytes = format!("{HEADER}{}", good_rows()).into_bytes();
    bytes.extend_from_slice(case.bad_rows);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn fail_names_the_file_the_line_and_the_problem_and_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    for case in CASES {
        let data = write_input(directory.path(), case);
        let out = directory.path().join(format!("out-fail-{}", case.name.replace(' ', "-")));
        let error =
            prepare(&options(data.clone(), out.clone(), OnBadRows::Fail)).await.expect_err(case.name).to_string();
        assert!(
            error.contains(&data.display().to_string()),
            "{}: the error does not name the file: {error}",
            case.name
        );
        assert!(
            error.contains(&format!("has {} row(s) that cannot be prepared", case.rejected.len())),
            "{}: {error}",
            case.name
        );
        for (line, reason) in case.rejected {
            let expected = format!("line {line}: ");
            let at = error.find(&expected).unwrap_or_else(|| panic!("{}: no {expected:?} in {error}", case.name));
            assert!(
                error[at..].lines().next().unwrap().contains(reason),
                "{}: line {line} lacks {reason:?}: {error}",
                case.name
            );
        }
        assert!(!out.exists(), "{}: output directory left behind", case.name);
        assert!(staging_leftovers(directory.path()).is_empty(), "{}: staging left behind", case.name);
    }
}

#[tokio::test]
async fn skip_sets_exactly_the_bad_rows_aside_and_accounts_for_every_row() {
    let directory = tempfile::tempdir().unwrap();
    let good_ids: BTreeSet<i64> = (1..=12).collect();
    for case in CASES {
        let data = write_input(directory.path(), case);
        let out = directory.path().join(format!("out-skip-{}", case.name.replace(' ', "-")));
        let report = prepare(&options(data.clone(), out.clone(), OnBadRows::Skip))
            .await
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));

        let mut reader = csv::Reader::from_path(out.join("rejected.csv")).unwrap();
        let rejected: Vec<(u64, String, String)> = reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                assert_eq!(&record[0], data.display().to_string(), "{}: the file column", case.name);
                (record[1].parse().unwrap(), record[2].to_owned(), record[3].to_owned())
            })
            .collect();
        assert_eq!(rejected.len(), case.rejected.len(), "{}: {rejected:?}", case.name);
        for ((line, reason, record), (expected_line, expected_reason)) in rejected.iter().zip(case.rejected) {
            assert_eq!(line, expected_line, "{}", case.name);
            assert!(reason.contains(expected_reason), "{}: {reason:?} lacks {expected_reason:?}", case.name);
            assert!(!record.is_empty(), "{}: the rejected row's text is missing", case.name);
        }

        // The good rows, and only they, are in the output; every row read is accounted for.
        let rows: Vec<_> = read_split(&out.join("train")).into_iter().chain(read_split(&out.join("val"))).collect();
        let ids: BTreeSet<i64> = rows.iter().map(|row| row.id).collect();
        let accepted_extra = ids.difference(&good_ids).count();
        assert!(ids.is_superset(&good_ids), "{}: good rows lost: {ids:?}", case.name);
        assert_eq!(rows.len(), ids.len(), "{}: a row written twice", case.name);
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let read = summary["rows_read"].as_u64().unwrap();
        let train = summary["splits"]["train"]["rows"].as_u64().unwrap();
        let val = summary["splits"]["val"]["rows"].as_u64().unwrap();
        let rejected_count = summary["rows_rejected"].as_u64().unwrap();
        assert_eq!(rejected_count, case.rejected.len() as u64, "{}", case.name);
        assert_eq!(read, train + val + rejected_count, "{}: rows read = train + val + rejected", case.name);
        assert_eq!(train + val, 12 + accepted_extra as u64, "{}", case.name);
        assert_eq!(report.rows_rejected, rejected_count, "{}", case.name);
        let by_reason: u64 =
            summary["rejected_by_reason"].as_object().unwrap().values().map(|count| count.as_u64().unwrap()).sum();
        assert_eq!(by_reason, rejected_count, "{}", case.name);
    }
}

/// Without bad rows, `skip` writes the same output as `fail`, and an empty rejected.csv.
#[tokio::test]
async fn skip_without_bad_rows_changes_nothing_but_the_rejected_list() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("good.csv");
    std::fs::write(&data, format!("{HEADER}{}", good_rows())).unwrap();
    let (fail, skip) = (directory.path().join("fail"), directory.path().join("skip"));
    prepare(&options(data.clone(), fail.clone(), OnBadRows::Fail)).await.unwrap();
    prepare(&options(data, skip.clone(), OnBadRows::Skip)).await.unwrap();
    for split in ["train", "val"] {
        assert!(read_split(&fail.join(split)) == read_split(&skip.join(split)), "{split} differs");
    }
    assert_eq!(std::fs::read_to_string(skip.join("rejected.csv")).unwrap(), "file,line,reason,record\n");
    assert!(!fail.join("rejected.csv").exists());
}

/// A missing title or description is empty text, not "nan" or "NULL": the row is kept.
#[tokio::test]
async fn missing_title_or_description_is_empty_text() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("missing-text.csv");
    std::fs::write(
        &data,
        format!("{HEADER}{}13,2020-01-01,,Only a description,mlops\n14,2020-01-01,Only a title,,mlops\n", good_rows()),
    )
    .unwrap();
    let out = directory.path().join("out");
    prepare(&options(data, out.clone(), OnBadRows::Fail)).await.unwrap();
    let rows: Vec<_> = read_split(&out.join("train")).into_iter().chain(read_split(&out.join("val"))).collect();
    let text = |id: i64| rows.iter().find(|row| row.id == id).unwrap().text.clone();
    assert_eq!(text(13), "description");
    assert_eq!(text(14), "title");
}

/// A key that is not of the type the first 10,000 records give its column is a bad row, not a failed query.
#[tokio::test]
async fn a_mistyped_key_after_the_inferred_records_is_a_bad_row() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("late-bad-key.csv");
    let mut csv = Vec::new();
    mlprep::tools::synthetic::write_projects_csv(&mut csv, 10_050, 7).unwrap();
    let lines = csv.iter().filter(|&&byte| byte == b'\n').count() as u64;
    csv.extend_from_slice(b"not-a-number,2020-01-01,t,d,mlops\n");
    std::fs::write(&data, csv).unwrap();
    std::fs::write(directory.path().join("vocab.txt"), mlprep::tools::synthetic::demo_vocabulary()).unwrap();
    let run = |policy, out: &str| PrepareOptions {
        vocab: directory.path().join("vocab.txt"),
        ..options(data.clone(), directory.path().join(out), policy)
    };
    let error = prepare(&run(OnBadRows::Fail, "fail")).await.unwrap_err().to_string();
    let expected = format!("line {}: key 'not-a-number' in column id is not an integer", lines + 1);
    assert!(error.contains(&expected), "{error}");
    let report = prepare(&run(OnBadRows::Skip, "skip")).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (10_051, 1));
    assert_eq!(report.rows_in_splits(), 10_050);
}

/// Tokenizer problems stop the run before any data is read, naming the file.
#[tokio::test]
async fn vocabulary_problems_fail_before_reading_the_data() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("good.csv");
    std::fs::write(&data, format!("{HEADER}{}", good_rows())).unwrap();
    let write = |name: &str, text: &str| {
        let path = directory.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases = [
        ("missing", directory.path().join("missing-vocab.txt"), "missing-vocab.txt"),
        ("empty", write("empty-vocab.txt", ""), "empty-vocab.txt"),
        ("no special tokens", write("plain-vocab.txt", "[PAD]\n[UNK]\nhello\n"), "[CLS]"),
        ("corrupt tokenizer.json", write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\""), "tokenizer.json"),
    ];
    for (name, vocab, fragment) in cases {
        let out = directory.path().join(format!("out-{}", name.replace(' ', "-")));
        let run = PrepareOptions { vocab, ..options(data.clone(), out.clone(), OnBadRows::Fail) };
        let error = prepare(&run).await.expect_err(name).to_string();
        assert!(error.contains(fragment), "{name}: {error}");
        assert!(!out.exists(), "{name}: output left behind");
    }
    assert!(staging_leftovers(directory.path()).is_empty());
}

/// Leakage: the counts in summary.json match what the written splits hold; --dedupe leaves out every row
/// whose cleaned text a smaller key has, so that no text is left twice, and counts them.
#[tokio::test]
async fn shared_texts_are_counted_and_dedupe_keeps_the_smallest_key() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("repeats.csv");
    // Rows 13-16 repeat the texts of rows 1 and 2 (the same text once cleaned: case and punctuation differ).
    let repeats = "13,2020-01-01,PROJECT 1,A model for task number 1!,mlops\n\
                   14,2020-01-01,Project 1,a model for task number 1.,computer-vision\n\
                   15,2020-01-01,Project 2,A model for task number 2.,mlops\n\
                   16,2020-01-01,Project 2,A model for task number 2.,computer-vision\n";
    std::fs::write(&data, format!("{HEADER}{}{repeats}", good_rows())).unwrap();

    let counted = directory.path().join("counted");
    prepare(&options(data.clone(), counted.clone(), OnBadRows::Fail)).await.unwrap();
    let train = read_split(&counted.join("train"));
    let val = read_split(&counted.join("val"));
    let texts = |rows: &[common::OutputRow]| rows.iter().map(|row| row.text.clone()).collect::<Vec<_>>();
    let (train_texts, val_texts) = (texts(&train), texts(&val));
    let in_both: BTreeSet<&String> = val_texts.iter().filter(|text| train_texts.contains(text)).collect();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(counted.join("summary.json")).unwrap()).unwrap();
    let leakage = &summary["leakage"];
    assert_eq!(leakage["shared_texts"], 2, "{leakage}");
    assert_eq!(leakage["rows_sharing_a_text"], 6, "{leakage}");
    assert_eq!(leakage["texts_in_both_splits"], in_both.len(), "{leakage}");
    assert_eq!(
        leakage["val_rows_with_a_train_text"],
        val_texts.iter().filter(|text| in_both.contains(text)).count(),
        "{leakage}"
    );
    assert_eq!(
        leakage["train_rows_with_a_val_text"],
        train_texts.iter().filter(|text| in_both.contains(text)).count(),
        "{leakage}"
    );
    assert_eq!(summary["rows_deduplicated"], 0);
    let listed: BTreeSet<&str> = leakage["texts_in_both_splits_most_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["text"].as_str().unwrap())
        .collect();
    assert_eq!(listed, in_both.iter().map(|text| text.as_str()).collect::<BTreeSet<_>>(), "{leakage}");

    let deduplicated = directory.path().join("deduplicated");
    let report = prepare(&PrepareOptions { dedupe: true, ..options(data, deduplicated.clone(), OnBadRows::Fail) })
        .await
        .unwrap();
    let rows: Vec<_> =
        read_split(&deduplicated.join("train")).into_iter().chain(read_split(&deduplicated.join("val"))).collect();
    let ids: BTreeSet<i64> = rows.iter().map(|row| row.id).collect();
    assert_eq!(ids, (1..=12).collect::<BTreeSet<i64>>(), "the repeats go, the smallest keys stay");
    assert_eq!(report.rows_deduplicated, 4);
    assert_eq!(report.rows_read, report.rows_in_splits() + report.rows_rejected + report.rows_deduplicated);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(deduplicated.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["leakage"]["shared_texts"], 0);
    assert_eq!(summary["rows_deduplicated"], 4);
}

/// The course data cut into several files at different records (and quoted newlines inside them): a
/// directory of the pieces gives the rows and the bytes of the one-file run.
#[tokio::test]
async fn a_directory_of_csv_pieces_gives_the_output_of_the_whole_file() {
    let directory = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::dataset_csv()).unwrap();
    let starts = common::record_starts(&whole);
    let header = &whole[..starts[1]];
    let records = starts.len() - 1;
    let reference = directory.path().join("reference");
    // Small files: several buckets, whose number must not depend on the cut either.
    let run_options =
        |data: PathBuf, out: PathBuf| PrepareOptions { file_size: 20_000, ..options(data, out, OnBadRows::Fail) };
    prepare(&run_options(common::dataset_csv(), reference.clone())).await.unwrap();
    assert!(std::fs::read_dir(reference.join("train")).unwrap().count() > 1);
    for (run, cuts) in
        [vec![1, records / 2], vec![1, 3, 400, records - 1], vec![1, 200, 201, 600]].into_iter().enumerate()
    {
        let pieces = directory.path().join(format!("pieces-{run}"));
        std::fs::create_dir_all(&pieces).unwrap();
        let mut bounds = cuts.clone();
        bounds.push(records + 1);
        for (number, window) in bounds.windows(2).enumerate() {
            let end = if window[1] > records { whole.len() } else { starts[window[1]] };
            let mut bytes = header.to_vec();
            bytes.extend_from_slice(&whole[starts[window[0]]..end]);
            std::fs::write(pieces.join(format!("part-{number}.csv")), bytes).unwrap();
        }
        std::fs::write(pieces.join("notes.txt"), "not a CSV: ignored").unwrap();
        let out = directory.path().join(format!("out-{run}"));
        let report = prepare(&run_options(pieces, out.clone())).await.unwrap();
        assert_eq!(report.rows_read as usize, records);
        let files = |out: &Path| {
            common::file_bytes(out).into_iter().filter(|(name, _)| name.ends_with(".parquet")).collect::<Vec<_>>()
        };
        common::assert_same_file_bytes(&files(&out), &files(&reference), &format!("cut at {cuts:?}"));
    }
}

#[tokio::test]
async fn a_directory_names_the_file_of_a_bad_row_and_refuses_differing_headers() {
    let directory = tempfile::tempdir().unwrap();
    let pieces = directory.path().join("pieces");
    std::fs::create_dir_all(&pieces).unwrap();
    std::fs::write(pieces.join("a.csv"), format!("{HEADER}{}", good_rows())).unwrap();
    std::fs::write(pieces.join("b.csv"), format!("{HEADER}20,2020-01-01,t,d,mlops\n21,2020-01-01,t,d\n")).unwrap();
    let error =
        prepare(&options(pieces.clone(), directory.path().join("out"), OnBadRows::Fail)).await.unwrap_err().to_string();
    let b = pieces.join("b.csv").display().to_string();
    assert!(error.contains(&format!("{b} line 3: 4 fields, the header has 5")), "{error}");

    let report = prepare(&options(pieces.clone(), directory.path().join("skipped"), OnBadRows::Skip)).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected, report.rows_in_splits()), (14, 1, 13));
    let rejected = std::fs::read_to_string(directory.path().join("skipped/rejected.csv")).unwrap();
    assert!(rejected.contains(&format!("{b},3,")), "{rejected}");

    std::fs::write(pieces.join("c.csv"), format!("id,title,description,tag\n{}", "30,t,d,mlops\n")).unwrap();
    let error =
        prepare(&options(pieces.clone(), directory.path().join("out"), OnBadRows::Fail)).await.unwrap_err().to_string();
    assert!(error.contains("a.csv") && error.contains("c.csv") && error.contains("different headers"), "{error}");
    assert!(!directory.path().join("out").exists());
}

/// --classes: the targets follow the given file, whatever order the labels sort in; a row of a class the
/// file lacks is a bad row named with its line (fail), or set aside (skip).
#[tokio::test]
async fn given_classes_set_the_targets_and_unknown_labels_are_bad_rows() {
    let directory = tempfile::tempdir().unwrap();
    let classes = directory.path().join("class_to_index.json");
    std::fs::write(&classes, r#"{"mlops": 0, "computer-vision": 1, "nlp": 2}"#).unwrap();
    let data = directory.path().join("new.csv");
    std::fs::write(&data, format!("{HEADER}{}13,2020-01-01,t,d,reinforcement-learning\n", good_rows())).unwrap();
    let run = |policy, out: &str| PrepareOptions {
        classes: Some(classes.clone()),
        ..options(data.clone(), directory.path().join(out), policy)
    };

    let error = prepare(&run(OnBadRows::Fail, "fail")).await.unwrap_err().to_string();
    assert!(
        error.contains("line 14: class 'reinforcement-learning' is not in") && error.contains("class_to_index.json"),
        "{error}"
    );
    assert!(!directory.path().join("fail").exists());

    let report = prepare(&run(OnBadRows::Skip, "skip")).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (13, 1));
    let expected = std::collections::BTreeMap::from([
        ("computer-vision".to_owned(), 1),
        ("mlops".to_owned(), 0),
        ("nlp".to_owned(), 2),
    ]);
    assert_eq!(report.class_to_index, expected);
    let out = directory.path().join("skip");
    for row in read_split(&out.join("train")).into_iter().chain(read_split(&out.join("val"))) {
        assert_eq!(row.targets, expected[&row.tag], "id {}", row.id);
    }
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("class_to_index.json")).unwrap()).unwrap();
    assert_eq!(written, serde_json::json!(expected));
    let rejected = std::fs::read_to_string(out.join("rejected.csv")).unwrap();
    assert!(rejected.contains(",14,class 'reinforcement-learning' is not in"), "{rejected}");

    std::fs::write(&classes, r#"{"mlops": 0, "computer-vision": 0}"#).unwrap();
    let error = prepare(&run(OnBadRows::Skip, "bad-classes")).await.unwrap_err().to_string();
    assert!(error.contains("classes file") && error.contains("once each"), "{error}");
}

/// Every row bad: `skip` has nothing to prepare and says so; nothing is written.
#[tokio::test]
async fn skip_with_every_row_bad_fails_and_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("all-bad.csv");
    std::fs::write(&data, format!("{HEADER}1,2020-01-01,a\n2,2020-01-01,b\n")).unwrap();
    let out = directory.path().join("out");
    let error = prepare(&options(data, out.clone(), OnBadRows::Skip)).await.unwrap_err().to_string();
    assert!(
        error.contains("all 2 are bad rows, e.g. line 2: 3 fields, the header has 5; nothing was written"),
        "{error}"
    );
    assert!(!out.exists());
    // Rows that are all set aside after staging (here: one key, twice).
    let data = directory.path().join("one-key.csv");
    std::fs::write(&data, format!("{HEADER}1,2020-01-01,a,b,mlops\n1,2020-01-01,c,d,mlops\n")).unwrap();
    let error = prepare(&options(data, out.clone(), OnBadRows::Skip)).await.unwrap_err().to_string();
    assert!(error.contains("is left to prepare: of 2 rows, 2 were set aside"), "{error}");
    assert!(!out.exists());
    assert!(staging_leftovers(directory.path()).is_empty());
}

/// Windows line ends and keys written two ways (`007` and `7` are one integer key): lines and rows are
/// still named exactly.
#[tokio::test]
async fn crlf_lines_and_zero_padded_duplicate_keys_are_named_exactly() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("windows.csv");
    let rows = format!("{HEADER}{}", good_rows()).replace('\n', "\r\n");
    std::fs::write(&data, format!("{rows}\r\n13,2020-01-01,t,d\r\n0007,2020-01-01,t,d,mlops\r\n")).unwrap();
    let error =
        prepare(&options(data.clone(), directory.path().join("fail"), OnBadRows::Fail)).await.unwrap_err().to_string();
    assert!(error.contains("has 1 row(s)") && error.contains("line 15: 4 fields, the header has 5"), "{error}");

    let out = directory.path().join("skip");
    let report = prepare(&options(data, out.clone(), OnBadRows::Skip)).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected, report.rows_in_splits()), (14, 3, 11));
    let mut reader = csv::Reader::from_path(out.join("rejected.csv")).unwrap();
    let rejected: Vec<(String, String, String)> = reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[1].to_owned(), record[2].to_owned(), record[3].to_owned())
        })
        .collect();
    assert_eq!(rejected[0].0, "8", "{rejected:?}");
    assert!(
        rejected[0].1.starts_with("duplicate key: 2 rows have id = 7") && rejected[0].2.starts_with("7,"),
        "{rejected:?}"
    );
    assert_eq!((rejected[1].0.as_str(), rejected[1].2.as_str()), ("15", "13,2020-01-01,t,d"), "{rejected:?}");
    assert_eq!((rejected[2].0.as_str(), rejected[2].2.as_str()), ("16", "0007,2020-01-01,t,d,mlops"), "{rejected:?}");
}

/// Duplicate keys are found bucket by bucket: with many buckets (a small --file-size), keys repeated far
/// apart in the file are all found, under both policies.
#[tokio::test]
async fn duplicate_keys_are_found_in_every_bucket() {
    let directory = tempfile::tempdir().unwrap();
    let (data, vocab) = common::synthetic_inputs(directory.path(), 2000, 5);
    let duplicated = [5, 500, 1500, 1999];
    let mut csv = std::fs::read_to_string(&data).unwrap();
    for id in duplicated {
        csv.push_str(&format!("{id},2020-01-01 00:00:00,Copy {id},A second row with this key.,mlops\n"));
    }
    std::fs::write(&data, csv).unwrap();
    let run = |policy, out: &str| PrepareOptions {
        file_size: 20_000,
        vocab: vocab.clone(),
        ..options(data.clone(), directory.path().join(out), policy)
    };

    let error = prepare(&run(OnBadRows::Fail, "failed")).await.unwrap_err().to_string();
    for id in duplicated {
        let reason = format!("duplicate key: 2 rows have id = {id}");
        assert_eq!(error.lines().filter(|line| line.ends_with(&reason)).count(), 2, "{error}");
    }

    let report = prepare(&run(OnBadRows::Skip, "skipped")).await.unwrap();
    assert_eq!(report.rows_rejected, 2 * duplicated.len() as u64);
    let rejected = std::fs::read_to_string(directory.path().join("skipped/rejected.csv")).unwrap();
    for id in duplicated {
        assert_eq!(rejected.matches(&format!("rows have id = {id},")).count(), 2, "{rejected}");
    }
}

/// Leakage counted range by range of the text hash (inputs of more than 8 buckets) gives what the written
/// splits hold, and what one aggregate over every row gives (for inputs of at most 8 buckets).
#[tokio::test]
async fn shared_texts_are_counted_range_by_range() {
    let directory = tempfile::tempdir().unwrap();
    let (data, vocab) = common::synthetic_inputs(directory.path(), 2000, 11);
    // Seven texts, each given to 2 to 8 extra rows of both classes, far apart in the key order.
    let mut csv = std::fs::read_to_string(&data).unwrap();
    let mut id = 10_000;
    for text in 0..7 {
        for copy in 0..(2 + text) {
            let tag = if copy % 2 == 0 { "mlops" } else { "computer-vision" };
            csv.push_str(&format!("{id},2020-01-01 00:00:00,Repeated {text},The same words again.,{tag}\n"));
            id += 1_000 + text * 7;
        }
    }
    std::fs::write(&data, csv).unwrap();
    let run = |file_size: u64, out: &str| PrepareOptions {
        file_size,
        vocab: vocab.clone(),
        ..options(data.clone(), directory.path().join(out), OnBadRows::Fail)
    };
    let input_size = std::fs::metadata(&data).unwrap().len();
    let small_buckets = input_size / 30;
    assert!(input_size.div_ceil(small_buckets) > 16, "at least three ranges of the text hash");
    prepare(&run(small_buckets, "ranges")).await.unwrap();
    prepare(&run(input_size, "one_bucket")).await.unwrap();

    let leakage = |out: &str| {
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(directory.path().join(out).join("summary.json")).unwrap()).unwrap();
        summary["leakage"].clone()
    };
    let in_ranges = leakage("ranges");
    assert_eq!(in_ranges, leakage("one_bucket"));

    // The truth, from the written rows: per cleaned text, its rows in each split.
    let mut per_text: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (split, column) in [("train", 0), ("val", 1)] {
        for row in read_split(&directory.path().join("ranges").join(split)) {
            let counts = per_text.entry(row.text).or_default();
            if column == 0 { counts.0 += 1 } else { counts.1 += 1 }
        }
    }
    let shared: Vec<(&String, &(u64, u64))> = per_text.iter().filter(|(_, (train, val))| train + val > 1).collect();
    let in_both: Vec<_> = shared.iter().filter(|(_, (train, val))| *train > 0 && *val > 0).collect();
    assert!(shared.len() >= 7 && !in_both.is_empty() && in_both.len() <= 10, "{shared:?}");
    assert_eq!(in_ranges["shared_texts"], shared.len());
    assert_eq!(in_ranges["rows_sharing_a_text"], shared.iter().map(|(_, (train, val))| train + val).sum::<u64>());
    assert_eq!(in_ranges["texts_in_both_splits"], in_both.len());
    assert_eq!(in_ranges["val_rows_with_a_train_text"], in_both.iter().map(|(_, (_, val))| val).sum::<u64>());
    assert_eq!(in_ranges["train_rows_with_a_val_text"], in_both.iter().map(|(_, (train, _))| train).sum::<u64>());
    let listed: BTreeMap<String, (u64, u64)> = in_ranges["texts_in_both_splits_most_seen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let count = |name: &str| entry[name].as_u64().unwrap();
            (entry["text"].as_str().unwrap().to_owned(), (count("train_rows"), count("val_rows")))
        })
        .collect();
    let expected: BTreeMap<String, (u64, u64)> =
        in_both.iter().map(|(text, counts)| ((*text).clone(), **counts)).collect();
    assert_eq!(listed, expected);
}

/// Column names that need quoting everywhere SQL names them or quotes them in text: a quote, a double quote,
/// a space and capitals.
#[tokio::test]
async fn key_and_class_columns_may_have_any_name() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("named.csv");
    let body: String = good_rows().lines().map(|line| format!("{line}\n")).collect();
    std::fs::write(&data, format!("it's,created_on,title,description,\"The \"\"Tag\"\"\"\n{body}")).unwrap();
    let out = directory.path().join("out");
    let report = prepare(&PrepareOptions {
        key: "it's".into(),
        stratify: "The \"Tag\"".into(),
        ..options(data, out.clone(), OnBadRows::Fail)
    })
    .await
    .unwrap();
    assert_eq!((report.rows_read, report.rows_in_splits()), (12, 12));
    let ids: BTreeSet<i64> =
        read_split(&out.join("train")).into_iter().chain(read_split(&out.join("val"))).map(|row| row.id).collect();
    assert_eq!(ids, (1..=12).collect::<BTreeSet<i64>>());
}
