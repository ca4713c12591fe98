//! Snapshots of what `mlprep sql` and `mlprep shell` print (as datafusion-cli tests its binary with insta):
//! `-c`, `-f`, every output format, parameters and errors. The snapshots live in `tests/snapshots/`;
//! after a deliberate change, review them with `cargo insta review` (or `INSTA_UPDATE=always`).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use insta::assert_snapshot;

fn run(args: &[&str], stdin: Option<&str>, directory: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(args)
        .current_dir(directory)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Exit status, stdout and stderr, as one reviewable text.
fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().map_or("signal".to_owned(), |code| code.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const QUERY: &str = "SELECT clean_text(t) AS cleaned, seeded_hash(1234, n) AS hash, n \
                     FROM (VALUES ('The Best of NLP!', 1), ('A ''quoted''; text', 2), (NULL, 3)) AS v(t, n) ORDER BY n";

#[test]
fn every_output_format() {
    let directory = tempfile::tempdir().unwrap();
    for format in ["table", "csv", "tsv", "json", "ndjson"] {
        let output = run(&["sql", "--format", format, "-c", QUERY], None, directory.path());
        assert_snapshot!(format!("format_{format}"), transcript(&output));
    }
}

#[test]
fn scripts_and_commands_run_in_order_with_parameters() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("steps.sql"),
        "-- a view, then a query of it\nCREATE VIEW words AS SELECT * FROM (VALUES ('${first}'), ('${second:-beta}')) AS w(word);\n\
         SELECT word, clean_text(word) AS cleaned FROM words ORDER BY word;\n",
    )
    .unwrap();
    let output = run(
        &[
            "sql",
            "-D",
            "first=Alpha and the Omega",
            "-c",
            "SELECT 'before' AS step",
            "-f",
            "steps.sql",
            "-c",
            "SELECT COUNT(*) AS words FROM words",
        ],
        None,
        directory.path(),
    );
    assert_snapshot!(transcript(&output));
}

#[test]
fn a_failing_statement_stops_the_run_naming_the_script_and_line() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(
        directory.path().join("broken.sql"),
        "SELECT 1 AS one;\n\nSELECT no_such_column\nFROM (VALUES (1)) AS t(x);\nSELECT 3;\n",
    )
    .unwrap();
    let output = run(&["sql", "-f", "broken.sql"], None, directory.path());
    assert_snapshot!(transcript(&output));

    let output = run(&["sql", "-c", "SELECT ${undefined}"], None, directory.path());
    assert_snapshot!("undefined_parameter", transcript(&output));

    let output = run(&["sql", "--format", "xml", "-c", "SELECT 1"], None, directory.path());
    assert_eq!(output.status.code(), Some(2), "{}", transcript(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown output format 'xml'"), "{}", transcript(&output));
}

#[test]
fn the_shell_reads_statements_and_commands_from_stdin() {
    let directory = tempfile::tempdir().unwrap();
    let input = "\\format csv\nSELECT token_count('hello world', '${vocab}') AS tokens;\n\\h clean_text\n\\d\nSELECT 1 AS after;\n\\q\nSELECT 'not reached';\n";
    std::fs::write(directory.path().join("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n").unwrap();
    let output = run(&["shell", "-D", "vocab=vocab.txt"], Some(input), directory.path());
    assert_snapshot!(transcript(&output));
}

#[test]
fn every_function_is_listed_and_documented() {
    let directory = tempfile::tempdir().unwrap();
    let output = run(
        &[
            "sql",
            "--format",
            "csv",
            "-c",
            "SELECT DISTINCT routine_name, function_type, description IS NOT NULL AS documented, syntax_example \
             FROM information_schema.routines \
             WHERE routine_name IN ('seeded_hash', 'clean_text', 'tokenize', 'token_count') ORDER BY routine_name",
        ],
        None,
        directory.path(),
    );
    assert_snapshot!(transcript(&output));
    let output = run(
        &["shell"],
        Some("\\h\n\\h seeded_hash\n\\h tokenize\n\\h token_count\n\\h no_such_function\n"),
        directory.path(),
    );
    assert_snapshot!("function_help", transcript(&output));
}
