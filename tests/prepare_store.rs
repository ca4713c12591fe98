//! `prepare` with its inputs and output in an S3 bucket (`moto_server` on 127.0.0.1, started and stopped by the
//! tests): the files equal the local run's byte for byte, outputs are published only when complete and replace
//! only earlier outputs, a stopped run leaves nothing behind, and each store error names the URL.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::cluster::{Processes, job_directories, start_cluster_with};
use common::moto::{MotoServer, mlprep_at};
use common::{dataset_csv, file_bytes, scibert_vocab, send, wait_for_pause};
use rand::{Rng, SeedableRng};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `mlprep prepare` with credentials for the server, its scratch directories in `temporary`.
fn prepare(server: &MotoServer, temporary: &Path, args: &[&str]) -> Command {
    let mut command = server.command(&[&["prepare"], args].concat());
    command.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing").env("TMPDIR", temporary);
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    output
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The files of an output in name order, with the fields of `summary.json` that name where the inputs were left out; those
/// are returned apart.
fn without_locations(files: Vec<(String, Vec<u8>)>) -> (Vec<(String, Vec<u8>)>, serde_json::Value) {
    let mut locations = serde_json::Map::new();
    let (_, summary) = files.iter().find(|(name, _)| name == "summary.json").expect("an output has a summary");
    let summary: serde_json::Value = serde_json::from_slice(summary).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|(name, bytes)| {
            if name == "README.md" {
                // The card names the locations too: in the command, the table and the vocabulary's file name.
                let mut card = String::from_utf8(bytes).unwrap();
                for field in ["input", "vocab", "classes"] {
                    if let Some(location) = summary[field].as_str() {
                        card = card.replace(location, field);
                        let file_name = location.rsplit('/').next().unwrap();
                        if !file_name.is_empty() {
                            card = card.replace(file_name, field);
                        }
                    }
                }
                let lines: Vec<&str> =
                    card.lines().map(|line| if line.starts_with("| input |") { "| input |" } else { line }).collect();
                return (name, lines.join("\n").replace(" --classes classes", "").into_bytes());
            }
            if name != "summary.json" {
                return (name, bytes);
            }
            let mut summary: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for field in ["input", "vocab", "classes"] {
                locations.insert(field.into(), summary.as_object_mut().unwrap().remove(field).unwrap());
            }
            (name, serde_json::to_vec_pretty(&summary).unwrap())
        })
        .collect();
    files.sort();
    (files, locations.into())
}

/// The local run's output of the course data.
fn local_output(directory: &Path) -> PathBuf {
    let out = directory.join("local");
    let status = Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(["prepare", "--partitions", "2", "--data"])
        .args([dataset_csv(), "--vocab".into(), scibert_vocab(), "--out".into(), out.clone()])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    out
}

/// Nothing of a run is left in its scratch directory.
fn assert_empty(temporary: &Path) {
    let left: Vec<_> = std::fs::read_dir(temporary).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert!(left.is_empty(), "left in the temporary directory: {left:?}");
}

#[test]
fn prepare_from_and_to_a_bucket_writes_the_local_runs_files() {
    let directory = tempfile::tempdir().unwrap();
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("prepared");
    let csv = std::fs::read(dataset_csv()).unwrap();
    bucket.put("in/dataset.csv", csv.clone());
    bucket.put("gz/dataset.csv.gz", gzip(&csv));
    bucket.put("vocab/vocab.txt", std::fs::read(scibert_vocab()).unwrap());
    let (expected, local_locations) = without_locations(file_bytes(&local_output(directory.path())));
    let vocab = scibert_vocab();
    let vocab = vocab.to_str().unwrap();

    // A file to a prefix; a prefix of compressed files with the tokenizer in the bucket, on one partition.
    run(prepare(
        &server,
        temporary.path(),
        &[
            "--data",
            "s3://prepared/in/dataset.csv",
            "--vocab",
            vocab,
            "--out",
            "s3://prepared/out-a",
            "--partitions",
            "2",
        ],
    ));
    run(prepare(
        &server,
        temporary.path(),
        &[
            "--data",
            "s3://prepared/gz/",
            "--vocab",
            "s3://prepared/vocab/vocab.txt",
            "--classes",
            "s3://prepared/out-a/class_to_index.json",
            "--out",
            "s3://prepared/nested/out-b",
            "--partitions",
            "1",
        ],
    ));
    // The second with the first's classes, read from the bucket.
    let classes = "s3://prepared/out-a/class_to_index.json";
    for (prefix, input, vocab, classes) in [
        ("out-a", "s3://prepared/in/dataset.csv", local_locations["vocab"].as_str().unwrap(), None),
        ("nested/out-b", "s3://prepared/gz/", "s3://prepared/vocab/vocab.txt", Some(classes)),
    ] {
        let (files, locations) = without_locations(bucket.objects(prefix));
        common::assert_same_file_bytes(&files, &expected, &format!("{prefix} against the local run's output"));
        assert_eq!(locations, serde_json::json!({"input": input, "vocab": vocab, "classes": classes}));
    }

    // From the bucket to a local directory.
    let local = directory.path().join("from-bucket");
    run(prepare(
        &server,
        temporary.path(),
        &["--data", "s3://prepared/in/dataset.csv", "--vocab", vocab, "--out", local.to_str().unwrap()],
    ));
    assert!(without_locations(file_bytes(&local)).0 == expected);
    common::assert_matches_golden(&local);

    // Nothing else was written: no staging prefix, no scratch directory.
    let written: Vec<String> = bucket
        .keys()
        .into_iter()
        .filter(|key| !key.starts_with("in/") && !key.starts_with("gz/") && !key.starts_with("vocab/"))
        .filter(|key| !key.starts_with("out-a/") && !key.starts_with("nested/out-b/"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert_empty(temporary.path());
}

#[test]
fn a_prefix_is_replaced_only_when_it_holds_an_earlier_output() {
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("replaced");
    bucket.put("in/dataset.csv", std::fs::read(dataset_csv()).unwrap());
    bucket.put("notes/todo.txt", b"keep me".to_vec());
    let vocab = scibert_vocab();
    let args = |out: &'static str| {
        ["--data", "s3://replaced/in/dataset.csv", "--vocab", vocab.to_str().unwrap(), "--out", out]
    };

    // A prefix holding anything but an mlprep output: refused, with or without --overwrite, and left as it is.
    for overwrite in [false, true] {
        let mut command = prepare(&server, temporary.path(), &args("s3://replaced/notes"));
        if overwrite {
            command.arg("--overwrite");
        }
        let output = command.output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("'s3://replaced/notes' is not empty and is not an mlprep output"), "{stderr}");
        assert!(stderr.contains("todo.txt"), "{stderr}");
        assert_eq!(bucket.objects("notes"), vec![("todo.txt".to_owned(), b"keep me".to_vec())]);
    }

    // An input inside the output: refused.
    let output = prepare(&server, temporary.path(), &args("s3://replaced/in")).output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("contains 's3://replaced/in/dataset.csv' (--data)"), "{stderr}");

    // An earlier output: refused without --overwrite; with it, replaced whole (its extra object removed).
    run(prepare(&server, temporary.path(), &args("s3://replaced/out")));
    let first = bucket.objects("out");
    bucket.put("out/train/part-00007.parquet", b"an older run's file".to_vec());
    let output = prepare(&server, temporary.path(), &args("s3://replaced/out")).output().unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("holds an earlier mlprep output; pass --overwrite"), "{stderr}");
    let mut command = prepare(&server, temporary.path(), &args("s3://replaced/out"));
    command.arg("--overwrite");
    run(command);
    assert!(bucket.objects("out") == first);
    assert!(bucket.keys().iter().all(|key| !key.contains(".tmp-")), "{:?}", bucket.keys());
    assert_empty(temporary.path());
}

/// Stopped while it copies the output into place: what it copied and its staging prefix are removed, so
/// nothing under the prefix looks like an output.
#[test]
fn a_run_stopped_while_publishing_leaves_nothing_behind() {
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("stopped");
    bucket.put("in/dataset.csv", std::fs::read(dataset_csv()).unwrap());
    let vocab = scibert_vocab();
    let mut command = prepare(
        &server,
        temporary.path(),
        &["--data", "s3://stopped/in/dataset.csv", "--vocab", vocab.to_str().unwrap(), "--out", "s3://stopped/out"],
    );
    let mut child = command
        .env("MLPREP_PAUSE_AT", "store-publish-copying")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = wait_for_pause(&mut child, "store-publish-copying");
    // The first object is in place and the staging prefix is full.
    assert!(bucket.keys().iter().any(|key| key.starts_with("out/")), "{:?}", bucket.keys());
    assert!(bucket.keys().iter().any(|key| key.starts_with("out.tmp-")), "{:?}", bucket.keys());
    send(&child, "TERM");
    send(&child, "CONT");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{rest}");
    assert!(rest.contains("interrupted by SIGTERM: nothing was written to s3://stopped/out"), "{rest}");
    assert_eq!(bucket.keys(), vec!["in/dataset.csv".to_owned()]);
    assert_empty(temporary.path());
}

/// Each failure of the store is an error naming the URL and the store's answer; nothing is written.
#[test]
fn store_errors_name_the_url_and_leave_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("errors");
    bucket.put("in/dataset.csv", std::fs::read(dataset_csv()).unwrap());
    let vocab = scibert_vocab();
    let vocab = vocab.to_str().unwrap();
    let local = directory.path().join("out");
    let local = local.to_str().unwrap();
    let fails = |command: &mut Command, expected: &[&str]| {
        let output = command.output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        for fragment in expected {
            assert!(stderr.contains(fragment), "expected '{fragment}' in: {stderr}");
        }
        assert!(!Path::new(local).exists());
        assert_empty(temporary.path());
    };
    fails(
        &mut prepare(
            &server,
            temporary.path(),
            &["--data", "s3://no-such-bucket/d.csv", "--vocab", vocab, "--out", local],
        ),
        &["s3://no-such-bucket/d.csv", "NoSuchBucket"],
    );
    fails(
        &mut prepare(
            &server,
            temporary.path(),
            &["--data", "s3://errors/in/missing.csv", "--vocab", vocab, "--out", local],
        ),
        &["s3://errors/in/missing.csv", "no object at this key, and no input objects"],
    );
    fails(
        &mut prepare(
            &server,
            temporary.path(),
            &["--data", "s3://errors/in/dataset.csv", "--vocab", "s3://errors/vocab.txt", "--out", local],
        ),
        &["tokenizer file 's3://errors/vocab.txt' cannot be opened", "NoSuchKey"],
    );
    fails(
        &mut prepare(
            &server,
            temporary.path(),
            &["--data", "s3://errors/in/dataset.csv", "--vocab", vocab, "--out", "s3://no-such-bucket/out"],
        ),
        &["s3://no-such-bucket/out", "NoSuchBucket"],
    );
    assert_eq!(bucket.keys(), vec!["in/dataset.csv".to_owned()]);

    // Credentials the store refuses.
    let strict = MotoServer::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    fails(
        &mut prepare(
            &strict,
            temporary.path(),
            &["--data", "s3://errors/in/dataset.csv", "--vocab", vocab, "--out", local],
        ),
        &["s3://errors/in/dataset.csv", "403 Forbidden"],
    );

    // Nothing listening at the endpoint.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command =
        mlprep_at(port, &["prepare", "--data", "s3://errors/in/dataset.csv", "--vocab", vocab, "--out", local]);
    command.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing").env("TMPDIR", temporary.path());
    fails(&mut command, &["s3://errors/in/dataset.csv", &format!("127.0.0.1:{port}")]);
}

/// An object larger than one upload part is uploaded in parts and published whole.
#[test]
fn a_large_output_file_is_uploaded_in_parts() {
    let directory = tempfile::tempdir().unwrap();
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("large");
    // Long rows of words drawn at random from a large vocabulary: ids that compress little, so the training
    // file is larger than the 10 MiB written in one request.
    let mut random = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let words: Vec<String> = (0..30_000).map(|word| format!("w{word}")).collect();
    let mut csv = String::from("id,created_on,title,description,tag\n");
    for id in 0..4000 {
        let description: Vec<&str> = (0..1000).map(|_| words[random.random_range(0..words.len())].as_str()).collect();
        csv.push_str(&format!("{id},2020-01-01,title {id},{},{}\n", description.join(" "), ["a", "b", "c"][id % 3]));
    }
    let data = directory.path().join("long.csv");
    std::fs::write(&data, csv).unwrap();
    let vocab = directory.path().join("vocab.txt");
    let special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "title"].map(str::to_owned);
    let digits = (0..10).flat_map(|digit| [digit.to_string(), format!("##{digit}")]);
    let entries: Vec<String> = special.into_iter().chain(words).chain(digits).collect();
    std::fs::write(&vocab, entries.join("\n") + "\n").unwrap();
    let local = directory.path().join("local");
    let (data, vocab) = (data.to_str().unwrap(), vocab.to_str().unwrap());
    run(prepare(&server, temporary.path(), &["--data", data, "--vocab", vocab, "--out", local.to_str().unwrap()]));
    run(prepare(&server, temporary.path(), &["--data", data, "--vocab", vocab, "--out", "s3://large/out"]));
    let largest = file_bytes(&local).into_iter().map(|(_, bytes)| bytes.len()).max().unwrap();
    assert!(largest > 11 << 20, "the largest file has {largest} bytes: too small to need several parts");
    let (files, _) = without_locations(bucket.objects("out"));
    assert!(files == without_locations(file_bytes(&local)).0);
}

/// A cluster of a scheduler and two executors that share no directory with the client or each other, and whose
/// environment has credentials but no endpoint: the client's `s3.*` settings take them to the store, they read
/// the input and write the output there themselves, and the output is the local run's.
#[test]
fn a_cluster_without_a_shared_directory_prepares_from_and_to_a_bucket() {
    let directory = tempfile::tempdir().unwrap();
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("cluster");
    let csv = std::fs::read(dataset_csv()).unwrap();
    bucket.put("in/dataset.csv", csv.clone());
    bucket.put("gz/dataset.csv.gz", gzip(&csv));
    let environment = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ENDPOINT_URL", ""),
        ("AWS_ALLOW_HTTP", ""),
    ];
    let executors = directory.path().join("executors");
    let (processes, cluster) = start_cluster_with(Processes::with_environment(&environment), &executors, 30);

    // Several buckets, so the files are renumbered in the store.
    let options = ["--partitions", "2", "--file-size", "20000"];
    let local = directory.path().join("local");
    let vocab = scibert_vocab();
    let vocab = vocab.to_str().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlprep"));
    command.args(["prepare", "--data", dataset_csv().to_str().unwrap(), "--vocab", vocab, "--out"]).arg(&local);
    command.args(options);
    run(command);
    let (expected, _) = without_locations(file_bytes(&local));

    // The object as it is; the decompressed copy of a compressed object, uploaded for the executors.
    for (data, out) in [("s3://cluster/in/dataset.csv", "out-a"), ("s3://cluster/gz/", "out-b")] {
        let url = format!("s3://cluster/{out}");
        let mut command = prepare(
            &server,
            temporary.path(),
            &["--data", data, "--vocab", vocab, "--out", &url, "--cluster", &cluster],
        );
        command.args(options);
        run(command);
        let (files, _) = without_locations(bucket.objects(out));
        assert!(files == expected, "{out} differs from the local run's output");
    }
    for name in ["a", "b"] {
        let work_dir = executors.join(format!("executor-{name}"));
        assert!(job_directories(&work_dir) > 0, "executor {name} ran no task; its log:\n{}", processes.log(name));
    }
    assert!(bucket.keys().iter().all(|key| !key.contains(".tmp-")), "{:?}", bucket.keys());
    assert_empty(temporary.path());
}

/// `file://` URLs are local paths: the same output as the plain paths.
#[test]
fn file_urls_are_local_paths() {
    let directory = tempfile::tempdir().unwrap();
    let (expected, _) = without_locations(file_bytes(&local_output(directory.path())));
    let out = directory.path().join("from-urls");
    let url = |path: &Path| format!("file://{}", path.display());
    let output = Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(["prepare", "--data", &url(&dataset_csv()), "--vocab", &url(&scibert_vocab()), "--out", &url(&out)])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (files, locations) = without_locations(file_bytes(&out));
    assert!(files == expected);
    let input = std::fs::canonicalize(dataset_csv()).unwrap();
    assert_eq!(locations["input"], serde_json::json!(input.display().to_string()));
}

/// `mlprep report` on a prefix: the same objects as `prepare` uploaded, and a card of someone else's kept.
#[test]
fn report_draws_a_prefixs_card_again() {
    let temporary = tempfile::tempdir().unwrap();
    let server = MotoServer::start();
    let bucket = server.bucket("cards");
    bucket.put("in/dataset.csv", std::fs::read(dataset_csv()).unwrap());
    let vocab = scibert_vocab();
    run(prepare(
        &server,
        temporary.path(),
        &["--data", "s3://cards/in/dataset.csv", "--vocab", vocab.to_str().unwrap(), "--out", "s3://cards/out"],
    ));
    let before = bucket.objects("out");
    for name in ["README.md", "report.html", "report/classes.svg", "report/token_lengths_val.svg"] {
        assert!(before.iter().any(|(file, _)| file == name), "no {name} in the prefix");
    }
    let report = |server: &MotoServer| {
        let mut command = server.command(&["report", "s3://cards/out"]);
        command.env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing");
        command.env("TMPDIR", temporary.path());
        command.output().unwrap()
    };
    bucket.put("out/README.md", b"<!-- Generated by mlprep: an older card -->\n".to_vec());
    let output = report(&server);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(bucket.objects("out") == before, "report did not give prepare's objects again");
    assert_empty(temporary.path());

    bucket.put("out/README.md", b"# My notes\n".to_vec());
    let output = report(&server);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("s3://cards/out/README.md: not drawn by mlprep"), "{}", text(&output.stderr));
    assert_eq!(bucket.get("out/README.md"), b"# My notes\n");
}
