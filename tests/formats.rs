//! Parquet and JSON Lines inputs: the same rows give the CSV input's output byte for byte (as files, compressed,
//! and mixed in a directory), bad rows are named by the file and its own line (JSON Lines) or row (Parquet), and
//! a malformed file fails naming it.

mod common;

use std::path::Path;

use common::{assert_matches_golden, dataset_csv, small_bucket_options, staging_leftovers};
use mlprep::{OnBadRows, SessionOptions, prepare, session_context};

/// Rows `first..last` of the course data (all when `None`) written by DataFusion as `format` ("PARQUET" or
/// "JSON": JSON Lines) to the file `out`, as any tool that writes these formats would.
async fn write_as(format: &str, rows: Option<(i64, i64)>, out: &Path) {
    let context = session_context(&SessionOptions::default()).unwrap();
    context
        .sql(&format!(
            "CREATE EXTERNAL TABLE projects (id BIGINT, created_on VARCHAR, title VARCHAR, description VARCHAR, tag VARCHAR) \
             STORED AS CSV LOCATION '{}' OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')",
            dataset_csv().display()
        ))
        .await
        .unwrap();
    let filter = rows.map_or_else(String::new, |(first, last)| format!("WHERE row >= {first} AND row < {last}"));
    context
        .sql(&format!(
            "COPY (SELECT id, created_on, title, description, tag FROM \
             (SELECT *, row_number() OVER () - 1 AS row FROM projects) {filter} ORDER BY row) \
             TO '{}' STORED AS {format}",
            out.display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
}

#[tokio::test]
async fn parquet_and_json_lines_give_the_csv_inputs_output() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let reference = root.join("from-csv");
    prepare(&small_bucket_options(dataset_csv(), reference.clone(), OnBadRows::Fail)).await.unwrap();
    let expected = common::output_without_input(&reference);
    let parquet = root.join("projects.parquet");
    let json_lines = root.join("projects.jsonl");
    write_as("PARQUET", None, &parquet).await;
    write_as("JSON", None, &json_lines).await;
    let compressed = root.join("projects.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &std::fs::read(&json_lines).unwrap()).unwrap();
    std::fs::write(&compressed, encoder.finish().unwrap()).unwrap();
    for input in [parquet, json_lines, compressed] {
        let out = root.join(format!("from-{}", input.file_name().unwrap().to_string_lossy()));
        let report = prepare(&small_bucket_options(input.clone(), out.clone(), OnBadRows::Fail)).await.unwrap();
        assert_eq!(report.rows_read, 764);
        assert!(
            common::output_without_input(&out) == expected,
            "{} differs from the CSV input's output",
            input.display()
        );
        assert_matches_golden(&out);
    }
}

/// A directory of a Parquet piece, a JSON Lines piece and a CSV piece gives the whole file's output.
#[tokio::test]
async fn a_directory_of_mixed_formats_gives_the_whole_files_output() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let reference = root.join("from-csv");
    prepare(&small_bucket_options(dataset_csv(), reference.clone(), OnBadRows::Fail)).await.unwrap();
    let pieces = root.join("pieces");
    std::fs::create_dir(&pieces).unwrap();
    write_as("PARQUET", Some((0, 250)), &pieces.join("a.parquet")).await;
    write_as("JSON", Some((250, 500)), &pieces.join("b.jsonl")).await;
    let csv = std::fs::read_to_string(dataset_csv()).unwrap();
    let starts = common::record_starts(csv.as_bytes());
    let header = &csv[..starts[1]];
    std::fs::write(pieces.join("c.csv"), format!("{header}{}", &csv[starts[501]..])).unwrap();
    let out = root.join("out");
    let report = prepare(&small_bucket_options(pieces, out.clone(), OnBadRows::Fail)).await.unwrap();
    assert_eq!(report.rows_read, 764);
    // The same files; the summary differs in the input and its number of files only.
    let without_summary = |out: &Path| {
        let mut files = common::output_without_input(out);
        let summary = files.iter().position(|(name, _)| name == "summary.json").unwrap();
        let mut summary: serde_json::Value = serde_json::from_slice(&files.remove(summary).1).unwrap();
        summary.as_object_mut().unwrap().remove("input_files");
        (files, summary)
    };
    assert!(without_summary(&out) == without_summary(&reference));
    assert_matches_golden(&out);
}

#[tokio::test]
async fn bad_rows_are_named_by_their_line_or_row() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let json_lines = root.join("all.jsonl");
    write_as("JSON", None, &json_lines).await;
    let mut lines: Vec<String> = std::fs::read_to_string(&json_lines).unwrap().lines().map(str::to_owned).collect();
    let mut edit = |index: usize, change: &dyn Fn(&mut serde_json::Value)| {
        let mut value: serde_json::Value = serde_json::from_str(&lines[index]).unwrap();
        change(&mut value);
        lines[index] = serde_json::to_string(&value).unwrap();
    };
    edit(2, &|row| row["tag"] = serde_json::Value::Null);
    edit(7, &|row| row["title"] = "a title\nover\nthree lines".into());
    edit(9, &|row| row["tag"] = "".into());
    // A blank line after the eighth: the lines after it are numbered as the file has them.
    lines.insert(8, String::new());
    std::fs::write(&json_lines, lines.join("\n") + "\n").unwrap();

    let out = root.join("out");
    let error =
        prepare(&small_bucket_options(json_lines.clone(), out.clone(), OnBadRows::Fail)).await.unwrap_err().to_string();
    assert!(error.contains("has 2 row(s) that cannot be prepared"), "{error}");
    assert!(error.contains("  line 3: empty class (column tag)\n  line 11: empty class (column tag)"), "{error}");
    assert!(!out.exists());
    assert!(staging_leftovers(root).is_empty());

    let report = prepare(&small_bucket_options(json_lines.clone(), out.clone(), OnBadRows::Skip)).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (764, 2));
    let rejected = std::fs::read_to_string(out.join("rejected.csv")).unwrap();
    let listed: Vec<(String, String)> = csv::Reader::from_reader(rejected.as_bytes())
        .records()
        .map(|record| {
            let record = record.unwrap();
            (record[1].to_owned(), record[3].split(',').next().unwrap().to_owned())
        })
        .collect();
    // Each line, with the row's own id first: the record is in the file's column order.
    let id = |line: usize| serde_json::from_str::<serde_json::Value>(&lines[line - 1]).unwrap()["id"].to_string();
    assert_eq!(listed, vec![("3".to_owned(), id(3)), ("11".to_owned(), id(11))]);

    // The same rows as Parquet: named by their rows.
    let parquet = root.join("bad.parquet");
    let context = session_context(&SessionOptions::default()).unwrap();
    context
        .sql(&format!("CREATE EXTERNAL TABLE rows STORED AS JSON LOCATION '{}'", json_lines.display()))
        .await
        .unwrap();
    context
        .sql(&format!(
            "COPY (SELECT id, created_on, title, description, tag FROM rows) TO '{}' STORED AS PARQUET",
            parquet.display()
        ))
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let error = prepare(&small_bucket_options(parquet, root.join("out-parquet"), OnBadRows::Fail))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("  row 3: empty class (column tag)\n  row 10: empty class (column tag)"), "{error}");
}

#[tokio::test]
async fn a_malformed_file_fails_naming_it_and_leaves_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let json_lines = root.join("broken.jsonl");
    std::fs::write(&json_lines, "{\"id\": 1, \"tag\": \"a\"}\n\n{\"id\": 2, \"tag\": \n").unwrap();
    let not_an_object = root.join("array.jsonl");
    std::fs::write(&not_an_object, "{\"id\": 1}\n[1, 2]\n").unwrap();
    let parquet = root.join("broken.parquet");
    std::fs::write(&parquet, b"PAR1 this is not a Parquet file").unwrap();
    for (input, expected) in [
        (json_lines, "broken.jsonl': line 3 is not JSON"),
        (not_an_object, "array.jsonl': line 2 is not a JSON object"),
        (parquet, "broken.parquet': is not a readable Parquet file"),
    ] {
        let out = root.join("out");
        let error = prepare(&small_bucket_options(input, out.clone(), OnBadRows::Skip)).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{error}");
        assert!(!out.exists());
        assert!(staging_leftovers(root).is_empty());
    }
}
