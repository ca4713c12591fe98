//! Configurations beyond the course's: `--splits` (named held-out splits) and `--folds` (stratified folds of
//! training), checked against the course's two-way split, which `tests/prepare.rs` checks against the golden
//! files (its validation rows of a class, then its training rows, are the class in shuffle order); and the
//! layouts of `--padding` and `--column-names`, checked against the golden ids.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use common::{assert_same_files, dataset_csv, golden_rows, read_split, scibert_vocab};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Int64Type;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use mlprep::prepare::{ColumnNames, Padding, SplitPlan};
use mlprep::{Cluster, PrepareOptions, SessionOptions, prepare};
use serde_json::Value;

fn options(out: PathBuf, split: SplitPlan) -> PrepareOptions {
    PrepareOptions {
        split,
        session: SessionOptions { partitions: 2, ..Default::default() },
        ..PrepareOptions::new(dataset_csv(), scibert_vocab(), out)
    }
}

/// Each class's ids in shuffle order, from the course's two-way output: validation's rows, then training's.
fn shuffle_order(two_way: &Path) -> BTreeMap<String, Vec<i64>> {
    let mut order: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for split in ["val", "train"] {
        for row in read_split(&two_way.join(split)) {
            order.entry(row.tag).or_default().push(row.id);
        }
    }
    order
}

/// The ids of a split per class, in file order.
fn ids_per_class(directory: &Path) -> BTreeMap<String, Vec<i64>> {
    let mut ids: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in read_split(directory) {
        ids.entry(row.tag).or_default().push(row.id);
    }
    ids
}

/// `(id, fold)` of every row of a split, in file order.
fn folds(directory: &Path) -> Vec<(i64, i64)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    let mut rows = Vec::new();
    for file in files {
        for batch in ParquetRecordBatchReaderBuilder::try_new(File::open(&file).unwrap()).unwrap().build().unwrap() {
            let batch = batch.unwrap();
            let ids = batch.column_by_name("id").unwrap().as_primitive::<Int64Type>().clone();
            let folds = batch.column_by_name("fold").expect("a fold column").as_primitive::<Int64Type>().clone();
            assert_eq!(folds.null_count(), 0);
            rows.extend(ids.values().iter().copied().zip(folds.values().iter().copied()));
        }
    }
    rows
}

fn summary(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn three_way_split_takes_each_class_in_shuffle_order() {
    let directory = tempfile::tempdir().unwrap();
    let two_way = directory.path().join("two-way");
    prepare(&options(two_way.clone(), SplitPlan::default())).await.unwrap();
    let order = shuffle_order(&two_way);

    let out = directory.path().join("three-way");
    let plan = SplitPlan::parse("train=0.8,val=0.1,test=0.1").unwrap();
    let report = prepare(&options(out.clone(), plan)).await.unwrap();
    let (val, test, train) =
        (ids_per_class(&out.join("val")), ids_per_class(&out.join("test")), ids_per_class(&out.join("train")));
    // Hand-computed: computer-vision 285 rows -> ceil(28.5) = 29, 29, 227; mlops 63 -> 7, 7, 49;
    // natural-language-processing 310 -> 31, 31, 248; other 106 -> 11, 11, 84.
    let expected = [
        ("computer-vision", 29, 29, 227),
        ("mlops", 7, 7, 49),
        ("natural-language-processing", 31, 31, 248),
        ("other", 11, 11, 84),
    ];
    let summary = summary(&out);
    for (class, val_rows, test_rows, train_rows) in expected {
        let class_order = &order[class];
        assert_eq!(val[class], class_order[..val_rows], "{class}: val is not the first rows in shuffle order");
        assert_eq!(test[class], class_order[val_rows..val_rows + test_rows], "{class}: test is not the next rows");
        assert_eq!(train[class], class_order[val_rows + test_rows..], "{class}: train is not the rest");
        assert_eq!(train[class].len(), train_rows);
        for (split, rows) in [("val", val_rows), ("test", test_rows), ("train", train_rows)] {
            assert_eq!(summary["splits"][split]["rows_per_class"][class], rows, "{split} {class} in summary.json");
        }
    }
    assert_eq!(report.splits.iter().map(|split| split.name.as_str()).collect::<Vec<_>>(), ["train", "val", "test"]);
    assert_eq!(
        summary["split_plan"]["held_out"],
        serde_json::json!([{"split": "val", "share": 0.1}, {"split": "test", "share": 0.1}])
    );
    assert_eq!(summary["test_size"], Value::Null);

    // Every row keeps the golden ids and the course's targets.
    let golden: BTreeMap<i64, Vec<i64>> = golden_rows().into_iter().map(|row| (row.id, row.ids)).collect();
    let targets: BTreeMap<String, i64> =
        [("computer-vision", 0), ("mlops", 1), ("natural-language-processing", 2), ("other", 3)]
            .into_iter()
            .map(|(class, index)| (class.to_owned(), index))
            .collect();
    for split in ["train", "val", "test"] {
        for row in read_split(&out.join(split)) {
            let real = row.masks.iter().filter(|&&mask| mask == 1).count();
            assert_eq!(row.ids[..real], golden[&row.id], "id {} in {split}", row.id);
            assert_eq!(row.targets, targets[&row.tag]);
        }
    }
}

#[tokio::test]
async fn folds_are_consecutive_runs_of_each_class_differing_by_at_most_one() {
    let directory = tempfile::tempdir().unwrap();
    let two_way = directory.path().join("two-way");
    prepare(&options(two_way.clone(), SplitPlan::default())).await.unwrap();
    let order = shuffle_order(&two_way);

    // Folds alone: every row in training, fold j of a class of n rows ending at ceil((j + 1) * n / 5).
    let out = directory.path().join("folds");
    prepare(&options(out.clone(), SplitPlan::from_flags(None, None, Some(5)).unwrap())).await.unwrap();
    assert!(!out.join("val").exists());
    let fold_of: BTreeMap<i64, i64> = folds(&out.join("train")).into_iter().collect();
    assert_eq!(fold_of.len(), 764);
    for (class, ids) in &order {
        let n = ids.len();
        for (position, id) in ids.iter().enumerate() {
            let expected = (0..5).find(|&j| position < ((j + 1) * n).div_ceil(5)).unwrap() as i64;
            assert_eq!(fold_of[id], expected, "{class}: position {position} of {n}");
        }
        let mut sizes = [0usize; 5];
        for id in ids {
            sizes[fold_of[id] as usize] += 1;
        }
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{class}: {sizes:?}");
    }
    let summary = summary(&out);
    assert_eq!(summary["splits"]["train"]["rows_per_fold_and_class"]["0"]["mlops"], 13); // ceil(63 / 5)
    assert_eq!(summary["split_plan"]["folds"], 5);

    // With validation: the same validation files as the course's, and training's rest in folds.
    let both = directory.path().join("val-and-folds");
    prepare(&options(both.clone(), SplitPlan::two_way(0.2).with_folds(3))).await.unwrap();
    for part in std::fs::read_dir(two_way.join("val")).unwrap() {
        let name = part.unwrap().file_name();
        let (with, without) = (both.join("val").join(&name), two_way.join("val").join(&name));
        assert!(std::fs::read(with).unwrap() == std::fs::read(without).unwrap(), "val/{name:?} differs with folds");
    }
    let fold_of: BTreeMap<i64, i64> = folds(&both.join("train")).into_iter().collect();
    let train = ids_per_class(&two_way.join("train"));
    for (class, ids) in &train {
        let n = ids.len();
        for (position, id) in ids.iter().enumerate() {
            let expected = (0..3).find(|&j| position < ((j + 1) * n).div_ceil(3)).unwrap() as i64;
            assert_eq!(fold_of[id], expected, "{class}: training position {position} of {n}");
        }
    }
}

/// Runs `base` (into a subdirectory of `directory` each time) on 1 and 7 partitions and on an in-process
/// cluster, in buckets of 20,000 bytes, asserts that every run wrote the same bytes, and returns the outputs.
async fn assert_identical_runs(directory: &Path, base: PrepareOptions) -> Vec<PathBuf> {
    let mut runs = Vec::new();
    for (name, partitions, cluster) in
        [("p1", 1, Cluster::Local), ("p7", 7, Cluster::Local), ("standalone", 3, Cluster::Standalone)]
    {
        let out = directory.join(name);
        let mut run = PrepareOptions { out: out.clone(), file_size: 20_000, ..base.clone() };
        run.session.partitions = partitions;
        run.session.cluster = cluster;
        prepare(&run).await.unwrap();
        runs.push(out);
    }
    for other in &runs[1..] {
        assert_same_files(other, &runs[0], &format!("{} against p1", other.display()));
    }
    runs
}

/// Same input, seed and plan: the same bytes whatever the partitions, the buckets' file size aside, and on a
/// cluster.
#[tokio::test]
async fn three_way_folds_are_identical_across_partitions_and_on_a_cluster() {
    let directory = tempfile::tempdir().unwrap();
    let plan = SplitPlan::parse("train=0.7,val=0.2,test=0.1").unwrap().with_folds(4);
    let runs = assert_identical_runs(directory.path(), options(directory.path().join("unused"), plan)).await;
    for split in ["train", "val", "test"] {
        assert!(std::fs::read_dir(runs[0].join(split)).unwrap().count() > 1, "{split}: expected several files");
    }
}

#[tokio::test]
async fn a_class_too_small_for_the_held_out_splits_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("small.csv");
    let mut csv = String::from("id,created_on,title,description,tag\n");
    for id in 0..20 {
        csv.push_str(&format!("{id},2020-01-01,title {id},text {id},{}\n", if id < 2 { "rare" } else { "common" }));
    }
    std::fs::write(&data, csv).unwrap();
    let run = PrepareOptions {
        data,
        ..options(directory.path().join("out"), SplitPlan::parse("train=0.8,val=0.1,test=0.1").unwrap())
    };
    let error = prepare(&run).await.unwrap_err().to_string();
    assert!(
        error.contains("class 'rare' has only 2 row(s): too few to split with --splits train=0.8,val=0.1,test=0.1"),
        "{error}"
    );
    assert!(!directory.path().join("out").exists());
}

/// Every column of a split by name (lists of integers as vectors, integers as one-element vectors), in file
/// order, and the column names of its first file.
fn columns(directory: &Path) -> (Vec<String>, BTreeMap<String, Vec<Vec<i64>>>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    let mut names = Vec::new();
    let mut values: BTreeMap<String, Vec<Vec<i64>>> = BTreeMap::new();
    for file in files {
        for batch in ParquetRecordBatchReaderBuilder::try_new(File::open(&file).unwrap()).unwrap().build().unwrap() {
            let batch = batch.unwrap();
            names = batch.schema().fields().iter().map(|field| field.name().clone()).collect();
            for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                let rows = values.entry(field.name().clone()).or_default();
                for row in 0..batch.num_rows() {
                    match column.data_type() {
                        datafusion::arrow::datatypes::DataType::Int64 => {
                            rows.push(vec![column.as_primitive::<Int64Type>().value(row)]);
                        }
                        datafusion::arrow::datatypes::DataType::List(_) => {
                            let list = column.as_list::<i32>().value(row);
                            rows.push(list.as_primitive::<Int64Type>().values().to_vec());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    (names, values)
}

#[tokio::test]
async fn unpadded_hf_columns_hold_the_golden_ids() {
    let directory = tempfile::tempdir().unwrap();
    let golden: BTreeMap<i64, Vec<i64>> = golden_rows().into_iter().map(|row| (row.id, row.ids)).collect();
    let course = directory.path().join("course");
    prepare(&options(course.clone(), SplitPlan::default())).await.unwrap();

    let out = directory.path().join("hf-unpadded");
    let run = PrepareOptions {
        padding: Padding::None,
        column_names: ColumnNames::Hf,
        ..options(out.clone(), SplitPlan::default())
    };
    prepare(&run).await.unwrap();
    for split in ["train", "val"] {
        let (names, values) = columns(&out.join(split));
        assert_eq!(names, ["id", "tag", "text", "input_ids", "labels"], "{split}");
        let course_rows = read_split(&course.join(split));
        assert_eq!(values["id"].len(), course_rows.len());
        for (row, expected) in course_rows.iter().enumerate() {
            let id = values["id"][row][0];
            assert_eq!(id, expected.id, "{split}: the rows keep the course's order");
            assert_eq!(values["input_ids"][row], golden[&id], "{split}: id {id}");
            assert_eq!(values["labels"][row], [expected.targets]);
        }
        assert_eq!(summary(&out)["splits"][split]["padded_length"], Value::Null);
    }
    assert_eq!(summary(&out)["padding"], "none");

    // Truncated to 16 ids, [SEP] kept last, still unpadded.
    let truncated = directory.path().join("truncated");
    let run = PrepareOptions {
        padding: Padding::None,
        max_length: Some(16),
        ..options(truncated.clone(), SplitPlan::default())
    };
    prepare(&run).await.unwrap();
    let (names, values) = columns(&truncated.join("train"));
    assert_eq!(names, ["id", "tag", "text", "ids", "targets"]);
    for (id, ids) in values["id"].iter().zip(&values["ids"]) {
        let full = &golden[&id[0]];
        let expected: Vec<i64> =
            if full.len() > 16 { full[..15].iter().chain(full.last()).copied().collect() } else { full.clone() };
        assert_eq!(*ids, expected, "id {}", id[0]);
    }
}

#[tokio::test]
async fn max_length_padding_gives_every_split_one_length() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("one-length");
    let run = PrepareOptions {
        padding: Padding::MaxLength,
        column_names: ColumnNames::Hf,
        ..options(out.clone(), SplitPlan::default())
    };
    prepare(&run).await.unwrap();
    let summary = summary(&out);
    let longest = ["train", "val"].map(|split| summary["splits"][split]["token_length"]["max"].as_i64().unwrap());
    // On the course data the longest training row (40 ids) is longer than validation's (36).
    assert_eq!(longest, [40, 36]);
    for split in ["train", "val"] {
        assert_eq!(summary["splits"][split]["padded_length"], 40);
        let (names, values) = columns(&out.join(split));
        assert_eq!(names, ["id", "tag", "text", "input_ids", "attention_mask", "labels"]);
        for (ids, mask) in values["input_ids"].iter().zip(&values["attention_mask"]) {
            assert_eq!((ids.len(), mask.len()), (40, 40));
        }
    }
}

/// The seeded hash of each text, as `seeded_hash(seed, text)` computes it in SQL.
async fn seeded_hashes(seed: i64, texts: &[&str]) -> Vec<u64> {
    let context = mlprep::session_context(&SessionOptions::default()).unwrap();
    let mut hashes = Vec::new();
    for text in texts {
        let batches = context
            .sql(&format!("SELECT seeded_hash({seed}, CAST('{text}' AS VARCHAR)) AS h"))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        hashes.push(batches[0].column(0).as_primitive::<datafusion::arrow::datatypes::UInt64Type>().value(0));
    }
    hashes
}

/// The group rule, written independently of the SQL: groups of one stratum in hash order, each segment ending
/// after the group whose running row count is closest to its target end (ties: the earlier), at 0 before the
/// first group. Returns each group's segment.
fn reference_assignment(groups_in_order: &[(&str, u64)], target_ends: &[u64]) -> BTreeMap<String, usize> {
    let mut candidates = vec![0u64];
    for (_, rows) in groups_in_order {
        candidates.push(candidates.last().unwrap() + rows);
    }
    let cuts: Vec<u64> = target_ends
        .iter()
        .map(|&target| *candidates.iter().min_by_key(|&&cut| (cut.abs_diff(target), cut)).unwrap())
        .collect();
    groups_in_order
        .iter()
        .zip(&candidates[1..])
        .map(|((group, _), &through)| (group.to_string(), cuts.iter().position(|&cut| through <= cut).unwrap()))
        .collect()
}

#[tokio::test]
async fn groups_go_whole_to_the_segment_the_rule_gives() {
    let directory = tempfile::tempdir().unwrap();
    // Stratum a: five groups of 2 rows of a, and M (2 rows of a, 1 of b: its stratum is a), 13 rows.
    // Stratum b: three groups of 3 rows of b, 9 rows.
    let mut groups: Vec<(&str, &str, u64)> =
        ["A1", "A2", "A3", "A4", "A5"].into_iter().map(|group| (group, "a", 2)).collect();
    groups.extend([("M", "a", 2), ("M", "b", 1), ("B1", "b", 3), ("B2", "b", 3), ("B3", "b", 3)]);
    let mut csv = String::from("id,created_on,title,description,tag,author\n");
    let mut group_of = BTreeMap::new();
    let mut id = 0;
    for (group, class, rows) in &groups {
        for _ in 0..*rows {
            id += 1;
            csv.push_str(&format!("{id},2020-01-01,title {id},text {id},{class},{group}\n"));
            group_of.insert(id, group.to_string());
        }
    }
    let data = directory.path().join("groups.csv");
    std::fs::write(&data, csv).unwrap();

    let names = ["A1", "A2", "A3", "A4", "A5", "M", "B1", "B2", "B3"];
    let hashes: BTreeMap<&str, u64> = names.into_iter().zip(seeded_hashes(1234, &names).await).collect();
    let in_order = |members: &[(&'static str, u64)]| {
        let mut members = members.to_vec();
        members.sort_by_key(|(group, _)| (hashes[group], *group));
        members
    };
    let stratum_a = in_order(&[("A1", 2), ("A2", 2), ("A3", 2), ("A4", 2), ("A5", 2), ("M", 3)]);
    let stratum_b = in_order(&[("B1", 3), ("B2", 3), ("B3", 3)]);

    for (name, plan, ends_a, ends_b) in [
        // val ends at ceil(0.2 * 13) = 3 and ceil(0.2 * 9) = 2; training at the end.
        ("two-way", SplitPlan::two_way(0.2), vec![3, 13], vec![2, 9]),
        // Two folds of everything: ceil(13 / 2) = 7 and ceil(9 / 2) = 5.
        ("folds", SplitPlan::training_only().with_folds(2), vec![7, 13], vec![5, 9]),
    ] {
        let out = directory.path().join(name);
        let run =
            PrepareOptions { data: data.clone(), group: Some("author".into()), ..options(out.clone(), plan.clone()) };
        prepare(&run).await.unwrap();
        let mut expected = reference_assignment(&stratum_a, &ends_a);
        expected.extend(reference_assignment(&stratum_b, &ends_b));
        let segments = plan.segments();
        let mut found: BTreeMap<String, usize> = BTreeMap::new();
        for split in plan.split_names() {
            let directory = out.join(split);
            let rows = read_split(&directory);
            let row_folds: BTreeMap<i64, i64> = if plan.folds > 1 && split == plan.train {
                folds(&directory).into_iter().collect()
            } else {
                BTreeMap::new()
            };
            for row in rows {
                let fold = row_folds.get(&row.id).map(|fold| *fold as u32);
                let segment =
                    segments.iter().position(|segment| segment.split == split && segment.fold == fold).unwrap();
                let group = &group_of[&row.id];
                if let Some(previous) = found.insert(group.clone(), segment) {
                    assert_eq!(previous, segment, "{name}: group {group} is in two segments");
                }
            }
        }
        assert_eq!(found, expected, "{name}: groups in hash order {stratum_a:?} {stratum_b:?}");
        // The shares reported are the rows each split got of each class.
        let summary = summary(&out);
        for split in plan.split_names() {
            for class in ["a", "b"] {
                let rows = summary["splits"][split]["rows_per_class"][class].as_u64().unwrap_or(0) as f64;
                let total = if class == "a" { 12.0 } else { 10.0 };
                assert_eq!(
                    summary["share_per_class"][split][class].as_f64().unwrap(),
                    rows / total,
                    "{name} {split} {class}"
                );
            }
        }
    }
}

/// With groups too, the same bytes whatever the partitions, and on a cluster.
#[tokio::test]
async fn group_splits_are_identical_across_partitions_and_on_a_cluster() {
    let directory = tempfile::tempdir().unwrap();
    let plan = SplitPlan::parse("train=0.7,val=0.2,test=0.1").unwrap().with_folds(3);
    let base = PrepareOptions { group: Some("created_on".into()), ..options(directory.path().join("unused"), plan) };
    assert_identical_runs(directory.path(), base).await;
    let error = prepare(&PrepareOptions {
        group: Some("author".into()),
        ..options(directory.path().join("x"), SplitPlan::default())
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(
            "--group author: the input has no such column (its columns: id, created_on, title, description, tag)"
        ),
        "{error}"
    );
}
