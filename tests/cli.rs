//! The `mlprep` binary: exit status, messages and files left behind.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn mlprep(args: &[&str], directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlprep")).args(args).current_dir(directory).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn prepare_without_data_runs_the_built_in_default_and_says_so() {
    let directory = tempfile::tempdir().unwrap();
    let output = mlprep(&["prepare", "--out", "prepared", "--demo-rows", "800"], directory.path());
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("No --data given: using 800 synthetic projects (seed 1234)"), "{stdout}");
    assert!(stdout.contains("Prepared 800 rows"), "{stdout}");
    let prepared = directory.path().join("prepared");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(prepared.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_read"], 800);
    let train = common::read_split(&prepared.join("train"));
    let val = common::read_split(&prepared.join("val"));
    assert_eq!(train.len() + val.len(), 800);
    // The demo vocabulary covers every cleaned word: no [UNK] (id 1).
    assert!(train.iter().chain(&val).all(|row| !row.ids.contains(&1)));
}

#[test]
fn prepare_reports_bad_input_with_a_non_zero_exit_and_no_output() {
    let directory = tempfile::tempdir().unwrap();
    let vocab = common::scibert_vocab();
    let output = mlprep(
        &["prepare", "--data", "missing.csv", "--vocab", vocab.to_str().unwrap(), "--out", "out"],
        directory.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: ") && stderr.contains("missing.csv"), "{stderr}");
    assert!(!directory.path().join("out").exists());

    let output = mlprep(&["prepare", "--data", "missing.csv", "--out", "out"], directory.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--vocab is required with --data"));

    let output = mlprep(&["prepare", "--out", "out", "--test-size", "1.5"], directory.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("--test-size must be between 0 and 1"));
    assert!(!directory.path().join("out").exists());
}

#[test]
fn sql_runs_the_pipeline_scripts_by_hand() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = format!("data={}", common::dataset_csv().display());
    let vocab = format!("vocab={}", common::scibert_vocab().display());
    let scratch = tempfile::tempdir().unwrap();
    let work = format!("work={}", scratch.path().display());
    let output = mlprep(
        &[
            "sql",
            "-D",
            &data,
            "-D",
            &vocab,
            "-D",
            &work,
            "-f",
            "sql/01_register.sql",
            "-f",
            "sql/02_stage.sql",
            "-f",
            "sql/03_checks.sql",
            "-f",
            "sql/04_split.sql",
            "-f",
            "sql/05_examples.sql",
            "-c",
            "SELECT split, COUNT(*) AS n FROM examples GROUP BY split ORDER BY split",
        ],
        root,
    );
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("| train | 610 |") && stdout.contains("| val   | 154 |"), "{stdout}");
}

#[test]
fn sql_stops_at_the_first_failing_statement_naming_its_line() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("bad.sql"),
        "SELECT 1;\n\nSELECT no_such_column\nFROM (SELECT 1 AS a);\nSELECT 3;\n",
    )
    .unwrap();
    let output = mlprep(&["sql", "-f", "bad.sql"], directory.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("bad.sql line 3") && stderr.contains("no_such_column"), "{stderr}");
    assert!(!text(&output.stdout).contains("| 3 "), "statements after the failure must not run");
}

#[test]
fn generate_is_deterministic() {
    let directory = tempfile::tempdir().unwrap();
    for name in ["a.csv", "b.csv"] {
        let output = mlprep(&["generate", "--rows", "300", "--seed", "5", "--out", name], directory.path());
        assert!(output.status.success());
    }
    let a = std::fs::read(directory.path().join("a.csv")).unwrap();
    assert_eq!(a, std::fs::read(directory.path().join("b.csv")).unwrap());
    assert!(a.iter().filter(|&&byte| byte == b'\n').count() > 300);
}

/// The pipeline's scripts, run by hand with `mlprep sql`, print the same result locally and on an
/// in-process Ballista cluster.
#[test]
fn the_same_script_gives_the_same_result_locally_and_on_a_standalone_cluster() {
    let data = format!("data={}", common::dataset_csv().display());
    let vocab = format!("vocab={}", common::scibert_vocab().display());
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    let query = "SELECT split, tag, targets, COUNT(*) AS rows, SUM(token_count(text, '${vocab}')) AS tokens, \
                 SUM(tokens) AS staged_tokens FROM examples GROUP BY split, tag, targets ORDER BY split, tag";
    let scratch = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let work = format!("work={}", scratch.path().join(extra.len().to_string()).display());
        let mut args = vec!["sql", "--format", "csv", "-D", &data, "-D", &vocab, "-D", &work];
        for script in
            ["sql/01_register.sql", "sql/02_stage.sql", "sql/03_checks.sql", "sql/04_split.sql", "sql/05_examples.sql"]
        {
            args.extend(["-f", script]);
        }
        args.extend(["-c", query]);
        args.extend_from_slice(extra);
        let output = mlprep(&args, repository);
        assert!(output.status.success(), "{extra:?}: {}", text(&output.stderr));
        text(&output.stdout)
    };
    let local = run(&[]);
    let result: Vec<&str> = local.lines().skip_while(|line| !line.starts_with("split,tag,targets,rows")).collect();
    assert_eq!(result.len(), 9, "a header and 4 classes in each of 2 splits:\n{local}");
    for line in &result[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[4], fields[5], "staged token counts are token_count of the text: {line}");
    }
    assert_eq!(run(&["--standalone"]), local);
}

/// Bad rows through the binary: `fail` exits 1 naming the file and line and leaves nothing; `skip` exits 0,
/// says how many rows it set aside and where, and warns about texts in both splits.
#[test]
fn prepare_reports_bad_rows_and_leakage_with_its_exit_status() {
    let directory = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,created_on,title,description,tag\n");
    for id in 1..=20 {
        let tag = if id % 2 == 0 { "mlops" } else { "computer-vision" };
        // Rows 1-4 share one text: some of them land in validation, some in training.
        let text =
            if id <= 4 { "Shared title,Shared description".to_owned() } else { format!("Title {id},Description {id}") };
        csv.push_str(&format!("{id},2020-01-01,{text},{tag}\n"));
    }
    csv.push_str("21,2020-01-01,too few fields\n");
    std::fs::write(directory.path().join("in.csv"), csv).unwrap();
    let vocab = common::scibert_vocab();
    let args = ["prepare", "--data", "in.csv", "--vocab", vocab.to_str().unwrap(), "--out", "out"];

    let output = mlprep(&args, directory.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("in.csv' has 1 row(s) that cannot be prepared")
            && stderr.contains("line 22: 3 fields, the header has 5"),
        "{stderr}"
    );
    assert!(!directory.path().join("out").exists());

    let output = mlprep(&[&args[..], &["--on-bad-rows", "skip"]].concat(), directory.path());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("1 rows set aside, listed in") && stdout.contains("rejected.csv"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(directory.path().join("out/summary.json")).unwrap()).unwrap();
    // With seed 1234 one of rows 1-4 is in validation and three in training.
    assert_eq!(summary["leakage"]["val_rows_with_a_train_text"], 1, "{summary}");
    assert!(stdout.contains("warning: 1 validation rows have a cleaned text that training rows have too"), "{stdout}");
}
