//! `prepare` stopped mid-run (SIGINT, SIGTERM, SIGKILL) while staging and while writing: it never leaves an
//! output directory that looks complete, and a later run writes the same output as an uninterrupted one.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{file_bytes, send, synthetic_inputs};

fn start_prepare(data: &Path, vocab: &Path, out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mlprep"))
        .args(["prepare", "--data", data.to_str().unwrap(), "--vocab", vocab.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--partitions", "2", "--file-size", "1M"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists while `child` runs; fails if the run ends first.
fn wait_for_path(child: &mut Child, path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(child.try_wait().unwrap().is_none(), "prepare ended before {} appeared", path.display());
        assert!(start.elapsed() < Duration::from_secs(120), "{} did not appear within 120 s", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_with_deadline(child: Child) -> std::process::Output {
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
            panic!("prepare did not stop within 60 s of the signal");
        }
    }
}

#[test]
fn an_interrupted_run_leaves_nothing_that_looks_complete() {
    let directory = tempfile::tempdir().unwrap();
    // Large enough that a debug build spends seconds in each step.
    let (data, vocab) = synthetic_inputs(directory.path(), 60_000, 11);
    let reference = directory.path().join("reference");
    let output = start_prepare(&data, &vocab, &reference).wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // (signal, exit code the run must end with, where the run is when the signal comes)
    let cases = [
        ("INT", Some(130), ".work/staged_rows"),
        ("TERM", Some(143), ".work/staged_rows"),
        ("TERM", Some(143), "train"),
        ("KILL", None, "train"),
    ];
    for (index, (signal, code, at)) in cases.into_iter().enumerate() {
        let out = directory.path().join(format!("out-{index}"));
        let mut child = start_prepare(&data, &vocab, &out);
        let staging = out.with_file_name(format!("out-{index}.tmp-{}", child.id()));
        wait_for_path(&mut child, &staging.join(at));
        send(&child, signal);
        let output = wait_with_deadline(child);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), code, "SIG{signal} at {at}: {stderr}");
        assert!(!out.exists(), "SIG{signal} at {at}: the output directory exists");
        if code.is_some() {
            assert!(stderr.contains(&format!("interrupted by SIG{signal}")), "{stderr}");
            assert!(!staging.exists(), "SIG{signal} at {at}: {} left behind", staging.display());
        } else {
            // SIGKILL cannot be caught: the staging directory may stay, named as unfinished, never as DIR.
            let _ = std::fs::remove_dir_all(&staging);
        }
        // The same command again writes what an uninterrupted run writes.
        let output = start_prepare(&data, &vocab, &out).wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let (expected, got) = (file_bytes(&reference), file_bytes(&out));
        let names = |files: &[(String, Vec<u8>)]| files.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&expected));
        for ((name, bytes), (_, expected_bytes)) in got.iter().zip(&expected) {
            assert!(bytes == expected_bytes, "{name} differs after an interrupted run");
        }
    }
}
