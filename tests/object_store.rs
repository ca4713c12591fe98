//! `s3://` URLs in `mlprep sql`: `COPY ... TO` an S3 bucket and `LOCATION` from one, against an S3-compatible
//! server (`moto_server`) on 127.0.0.1 that the tests start and stop by PID. Without `moto_server` they fail
//! saying so (`.ci/run` installs it when the machine lacks it).

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A `moto_server` on a free loopback port, killed when dropped.
struct MotoServer {
    child: Child,
    port: u16,
}

impl MotoServer {
    fn start() -> Self {
        let program =
            std::env::var_os("MLPREP_MOTO_SERVER").map_or_else(|| PathBuf::from("moto_server"), PathBuf::from);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} ({error}): install it with pip install 'moto[server]', or set \
                     MLPREP_MOTO_SERVER to its path",
                    program.display()
                )
            });
        let mut server = Self { child, port };
        let started = Instant::now();
        while server.request("GET", "/").is_none() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("moto_server exited at start-up ({status})");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not answer on port {port} in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The status line of an unsigned HTTP request, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.lines().next().map(str::to_owned)
    }

    fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}")).expect("moto_server answers");
        assert!(status.contains(" 200 "), "creating bucket {bucket}: {status}");
    }

    /// `mlprep` pointed at this server, without credentials.
    fn command(&self, args: &[&str]) -> Command {
        mlprep_at(self.port, args)
    }

    /// `mlprep` with the environment a user of an S3-compatible store sets.
    fn mlprep(&self, args: &[&str]) -> Output {
        self.command(args).env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing").output().unwrap()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mlprep` pointed at an S3 endpoint on a loopback port, without credentials and without the machine's AWS
/// profile or instance metadata.
fn mlprep_at(port: u16, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlprep"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    command
}

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

/// Until `prepare` reads and writes object stores, a URL is refused before anything is read or written.
#[test]
fn prepare_refuses_urls_naming_the_flag() {
    let directory = tempfile::tempdir().unwrap();
    let out = directory.path().join("out");
    let vocab = common::scibert_vocab();
    for (flag, args) in [
        ("--data", vec!["--data", "s3://bucket/data.csv", "--out", out.to_str().unwrap()]),
        ("--out", vec!["--data", common::dataset_csv().to_str().unwrap(), "--out", "s3://bucket/prepared"]),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mlprep"))
            .args(["prepare", "--vocab", vocab.to_str().unwrap()])
            .args(&args)
            .output()
            .unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{flag} s3://bucket/")) && stderr.contains("local paths only"), "{stderr}");
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
