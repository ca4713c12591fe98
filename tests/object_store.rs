//! `s3://` URLs in `mlprep sql`: `COPY ... TO` an S3 bucket and `LOCATION` from one, against an S3-compatible
//! server (`moto_server`) on 127.0.0.1 that the tests start and stop by PID. Without `moto_server` they fail
//! saying so (`.ci/run` installs it when the machine lacks it).

mod common;

use std::net::TcpListener;
use std::process::Command;

use common::moto::{MotoServer, mlprep_at};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The course data written to a bucket as CSV and as cleaned Parquet, and read back from it: every row and
/// every cleaned text as the golden files have them.
#[test]
fn copy_to_and_location_read_and_write_a_bucket() {
    let server = MotoServer::start();
    server.create_bucket("mlprep-test");
    let data = format!("data={}", common::dataset_csv().display());
    let written = server.mlprep(&[
        "sql",
        "-D",
        &data,
        "-f",
        "sql/01_register.sql",
        "-c",
        "COPY (SELECT * FROM projects) TO 's3://mlprep-test/input/projects.csv' STORED AS CSV",
        "-c",
        "COPY (SELECT id, clean_text(title || ' ' || description) AS text FROM projects) \
         TO 's3://mlprep-test/cleaned.parquet'",
    ]);
    assert!(written.status.success(), "{}", text(&written.stderr));

    let read = server.mlprep(&[
        "sql",
        "--format",
        "csv",
        "-D",
        "data=s3://mlprep-test/input/projects.csv",
        "-f",
        "sql/01_register.sql",
        "-c",
        "CREATE EXTERNAL TABLE cleaned STORED AS PARQUET LOCATION 's3://mlprep-test/cleaned.parquet'",
        "-c",
        "SELECT p.id, c.text, clean_text(p.title || ' ' || p.description) = c.text AS same \
         FROM projects p JOIN cleaned c ON p.id = c.id ORDER BY p.id",
    ]);
    assert!(read.status.success(), "{}", text(&read.stderr));
    let stdout = text(&read.stdout);
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let rows: Vec<(i64, String, String)> = reader.deserialize().map(Result::unwrap).collect();
    let golden: std::collections::BTreeMap<i64, String> =
        common::golden_rows().into_iter().map(|row| (row.id, row.text_clean)).collect();
    assert_eq!(rows.len(), golden.len());
    for ((id, text, same), (golden_id, golden_text)) in rows.iter().zip(&golden) {
        assert_eq!((id, text, same.as_str()), (golden_id, golden_text, "true"));
    }
}

#[test]
fn a_missing_bucket_is_an_error_naming_the_url_and_the_stores_answer() {
    let server = MotoServer::start();
    let output =
        server.mlprep(&["sql", "-c", "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 's3://no-such-bucket/t.csv'"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://no-such-bucket/t.csv") && stderr.contains("NoSuchBucket"), "{stderr}");
}

/// A scheme mlprep has no store for is refused, naming the flag, before anything is read or written.
#[test]
fn prepare_refuses_an_unknown_scheme_naming_the_flag() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("out");
    let vocab = common::scibert_vocab();
    for (flag, args) in [
        ("--data", vec!["--data", "gs://bucket/data.csv", "--out", out.to_str().unwrap()]),
        ("--out", vec!["--data", common::dataset_csv().to_str().unwrap(), "--out", "hdfs://host/prepared"]),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mlprep"))
            .args(["prepare", "--vocab", vocab.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{flag} ")), "{stderr}");
        assert!(stderr.contains("not gs://") || stderr.contains("not hdfs://"), "{stderr}");
        assert!(!out.exists());
    }
}

/// Nothing listening at the endpoint: the store's retries end in an error naming the URL.
#[test]
fn an_unreachable_endpoint_is_an_error_naming_the_url() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = mlprep_at(port, &["sql", "-c", "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 's3://bucket/t.csv'"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://bucket/t.csv") && stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

/// No keys in the environment: the AWS SDK's chain finds them in a profile of a credentials file; with an
/// empty credentials file the statement fails saying no credentials were found.
#[test]
fn credentials_come_from_a_profile_when_the_environment_has_none() {
    let server = MotoServer::start();
    server.create_bucket("profiled");
    let directory = tempfile::tempdir().unwrap();
    let (credentials, config) = (directory.path().join("credentials"), directory.path().join("config"));
    std::fs::write(&credentials, "[reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n").unwrap();
    std::fs::write(&config, "").unwrap();
    let run = |profile: &str, statements: &[&str]| {
        let args: Vec<&str> =
            ["sql", "--format", "csv"].into_iter().chain(statements.iter().flat_map(|sql| ["-c", sql])).collect();
        server
            .command(&args)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_PROFILE", profile)
            .output()
            .unwrap()
    };
    let output = run("reader", &["COPY (SELECT 1 AS one) TO 's3://profiled/one.csv' STORED AS CSV"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let read = "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 's3://profiled/one.csv'";
    let output = run("reader", &[read, "SELECT one FROM t"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "one\n1\n");
    // A profile the file lacks: reading fails saying why (a failed COPY only says its writes failed).
    let output = run("nobody", &[read]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no AWS credentials"), "{stderr}");
}

/// An in-process Ballista cluster (`--standalone`) writes and reads a bucket as a local session does.
#[test]
fn a_standalone_cluster_writes_and_reads_a_bucket() {
    let server = MotoServer::start();
    server.create_bucket("standalone");
    let data = format!("data={}", common::dataset_csv().display());
    let output = server.mlprep(&[
        "sql",
        "--standalone",
        "--format",
        "csv",
        "-D",
        &data,
        "-f",
        "sql/01_register.sql",
        "-c",
        "COPY (SELECT * FROM projects) TO 's3://standalone/projects.csv' STORED AS CSV",
        "-c",
        "CREATE EXTERNAL TABLE back (id BIGINT, created_on VARCHAR, title VARCHAR, description VARCHAR, tag VARCHAR) \
         STORED AS CSV LOCATION 's3://standalone/projects.csv' \
         OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')",
        "-c",
        "SELECT COUNT(*) AS n, COUNT(DISTINCT tag) AS tags FROM back",
    ]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(stdout.ends_with("n,tags\n764,4\n"), "{stdout}");
}
