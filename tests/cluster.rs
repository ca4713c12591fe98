//! The pipeline on Ballista: an in-process (standalone) cluster, and a real one of `mlprep scheduler` and
//! `mlprep executor` processes on loopback ports, against the local run and the golden files.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::cluster::{job_directories, start_cluster};
use common::{assert_matches_golden, assert_same_files, dataset_csv, scibert_vocab};
use mlprep::{Cluster, PrepareOptions, SessionOptions, prepare};

fn options(data: PathBuf, vocab: PathBuf, out: PathBuf, cluster: Cluster) -> PrepareOptions {
    PrepareOptions {
        session: SessionOptions { partitions: 4, cluster, ..Default::default() },
        ..PrepareOptions::new(data, vocab, out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn standalone_cluster_output_is_identical_to_the_local_run() {
    let directory = tempfile::tempdir().unwrap();
    let local = directory.path().join("local");
    let standalone = directory.path().join("standalone");
    // Batches of 64 rows, so each split's sort merges many batches: the standalone scheduler plans with
    // its own settings (not those the scripts set), and the order must hold all the same.
    let small_batches = |mut options: PrepareOptions| {
        options.session.batch_size = 64;
        options
    };
    prepare(&small_batches(options(dataset_csv(), scibert_vocab(), local.clone(), Cluster::Local))).await.unwrap();
    prepare(&small_batches(options(dataset_csv(), scibert_vocab(), standalone.clone(), Cluster::Standalone)))
        .await
        .unwrap();
    assert_matches_golden(&standalone);
    assert_same_files(&standalone, &local, "between the standalone cluster and the local run");
}

fn run_prepare(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mlprep")).args(args).output().unwrap()
}

#[test]
fn real_cluster_output_matches_golden_and_local_and_uses_both_executors() {
    let directory = tempfile::tempdir().unwrap();
    let (processes, url) = start_cluster(directory.path(), 180);
    let (data, vocab) = (dataset_csv(), scibert_vocab());
    let remote = directory.path().join("remote");
    let local = directory.path().join("local");
    let common_args =
        ["prepare", "--data", data.to_str().unwrap(), "--vocab", vocab.to_str().unwrap(), "--partitions", "4"];
    let output = run_prepare(&[&common_args[..], &["--out", remote.to_str().unwrap(), "--cluster", &url]].concat());
    assert!(
        output.status.success(),
        "prepare --cluster failed: {}\nscheduler log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        processes.log("scheduler")
    );
    let output = run_prepare(&[&common_args[..], &["--out", local.to_str().unwrap()]].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    assert_matches_golden(&remote);
    assert_same_files(&remote, &local, "between the cluster and the local run");
    for name in ["a", "b"] {
        let work_dir = directory.path().join(format!("executor-{name}"));
        assert!(job_directories(&work_dir) > 0, "executor {name} wrote no job data in {}", work_dir.display());
        assert!(
            processes.log(name).contains("Received task"),
            "executor {name} ran no task; its log:\n{}",
            processes.log(name)
        );
    }

    // Messy input (bad records, a duplicate key, repeated texts) with --on-bad-rows skip and --dedupe: the
    // rows are left out by filters that run in every task, and the cluster writes what the local run writes.
    let messy = directory.path().join("messy.csv");
    let mut csv = Vec::new();
    mlprep::tools::synthetic::write_projects_csv(&mut csv, 3_000, 5).unwrap();
    csv.extend_from_slice(
        b"900001,2020-01-01,t,d\n900002,2020-01-01,t,d,\n900003,2020-01-01,a,b,mlops\n900003,2020-01-01,a,b,mlops\n",
    );
    csv.extend_from_slice(
        b"900004,2020-01-01,Same text,Twice over,mlops\n900005,2020-01-01,same TEXT!,twice over,computer-vision\n",
    );
    std::fs::write(&messy, csv).unwrap();
    let messy_args =
        ["prepare", "--data", messy.to_str().unwrap(), "--vocab", vocab.to_str().unwrap(), "--partitions", "4"];
    let messy_args = [&messy_args[..], &["--on-bad-rows", "skip", "--dedupe"]].concat();
    let (messy_remote, messy_local) = (directory.path().join("messy-remote"), directory.path().join("messy-local"));
    let output =
        run_prepare(&[&messy_args[..], &["--out", messy_remote.to_str().unwrap(), "--cluster", &url]].concat());
    assert!(output.status.success(), "messy input on the cluster: {}", String::from_utf8_lossy(&output.stderr));
    let output = run_prepare(&[&messy_args[..], &["--out", messy_local.to_str().unwrap()]].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_same_files(&messy_remote, &messy_local, "messy input, between the cluster and the local run");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(messy_remote.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["rows_rejected"], 4, "{summary}");
    assert!(summary["rows_deduplicated"].as_u64().unwrap() >= 1, "{summary}");

    // A tokenizer path that executors cannot open: the error names the executor and the path.
    let data_param = format!("data={}", data.display());
    let output = Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(["sql", "--cluster", &url, "-D", &data_param, "-f", "sql/01_register.sql"])
        .args(["-c", "SELECT tokenize(description, '/nonexistent/vocab.txt') FROM projects"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tokenizer file '/nonexistent/vocab.txt' cannot be opened on executor executor-"),
        "{stderr}"
    );
}

/// One executor is killed when it receives its first task (during the first query, the input checks): the
/// job completes on the other with identical output, or fails clearly and leaves no output directory.
#[test]
fn killing_an_executor_at_its_first_task_gives_identical_output_or_a_clean_failure() {
    kill_an_executor_mid_job(1);
}

/// The same, later: after a dozen tasks, when the split and the text stages of the pipeline run.
#[test]
fn killing_an_executor_later_in_the_pipeline_gives_identical_output_or_a_clean_failure() {
    kill_an_executor_mid_job(12);
}

fn kill_an_executor_mid_job(kill_at_task: usize) {
    let directory = tempfile::tempdir().unwrap();
    let (data, vocab) = common::synthetic_inputs(directory.path(), 60_000, 3);
    let common_args =
        ["prepare", "--data", data.to_str().unwrap(), "--vocab", vocab.to_str().unwrap(), "--partitions", "4"];

    let local = directory.path().join("local");
    let output = run_prepare(&[&common_args[..], &["--out", local.to_str().unwrap()]].concat());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let (mut processes, url) = start_cluster(directory.path(), 10);
    let remote = directory.path().join("remote");
    let args: Vec<String> = [&common_args[..], &["--out", remote.to_str().unwrap(), "--cluster", &url]]
        .concat()
        .iter()
        .map(|arg| arg.to_string())
        .collect();
    let mut job = Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while processes.log("b").matches("Received task").count() < kill_at_task {
        assert!(job.try_wait().unwrap().is_none(), "the job ended before executor b received {kill_at_task} tasks");
        assert!(
            waited.elapsed() < Duration::from_secs(120),
            "executor b did not receive {kill_at_task} tasks in 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    processes.kill("b");
    // A hung job must fail this test, never hang it: give it a deadline, then stop it by its PID.
    let deadline = Instant::now() + Duration::from_secs(300);
    while job.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = job.kill();
            let _ = job.wait();
            panic!(
                "prepare did not finish within 300 s of losing an executor; scheduler log:\n{}",
                processes.log("scheduler")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = job.wait_with_output().unwrap();
    if output.status.success() {
        assert_same_files(&remote, &local, "after losing an executor");
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("error: "), "{stderr}");
        eprintln!("prepare failed after losing an executor: {stderr}");
        assert!(!remote.exists(), "a failed run left {}", remote.display());
    }
    eprintln!(
        "killing an executor at its task {kill_at_task}: prepare {}",
        if output.status.success() { "completed on the remaining executor" } else { "failed cleanly" }
    );
}

/// Processes whose standard error goes to a file under `directory`: the bench's cluster logs there.
fn processes_logging_under(directory: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        if let Ok(target) = std::fs::read_link(entry.path().join("fd/2"))
            && target.starts_with(directory)
        {
            found.push(format!("{name} ({})", target.display()));
        }
    }
    found
}

/// `mlprep bench --cluster local-2` starts a scheduler and two executors, runs `prepare` on them, checks its
/// ids and that its files are the local run's, and stops every process it started.
#[test]
fn the_bench_runs_prepare_on_a_cluster_it_starts_and_stops() {
    // Both task scheduling policies: executors that poll (the default), and a scheduler that pushes.
    for policy in ["pull-staged", "push-staged"] {
        let directory = tempfile::tempdir().unwrap();
        let work = directory.path().join("bench");
        let output = Command::new(env!("CARGO_BIN_EXE_mlprep"))
            .args([
                "bench",
                "--rows",
                "2000",
                "--partitions",
                "2",
                "--cluster",
                "local-2",
                "--scheduler-policy",
                policy,
            ])
            .arg("--work-dir")
            .arg(&work)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{policy}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("(e) prepare on 2 executors x 1 task"), "{stdout}");
        assert!(stdout.contains("byte-identical across --partitions [2] and --cluster local-2: yes"), "{stdout}");
        assert!(stdout.contains(&format!("the local-2 cluster ({policy} scheduling) takes")), "{stdout}");
        // The cluster's logs and shuffle files were the run's own, removed after it succeeded.
        let left: Vec<_> = std::fs::read_dir(&work).unwrap().flatten().map(|entry| entry.file_name()).collect();
        assert!(!left.iter().any(|name| name.to_string_lossy().starts_with("cluster-")), "{left:?}");
        assert_eq!(processes_logging_under(&work), Vec::<String>::new(), "the bench left processes running");
    }
}
