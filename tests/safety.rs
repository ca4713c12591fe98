//! A run never deletes or replaces what it did not create: `--out` is refused when it is, contains or lies
//! inside a path the run reads; `--overwrite` replaces only an earlier mlprep output or an empty directory;
//! publishing never replaces an output that appeared meanwhile, and a crash while replacing leaves a complete
//! output. Each refusal creates and removes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sha2::Digest;

use common::{send, staging_leftovers, synthetic_inputs, wait_for_pause};

fn mlprep(args: &[&str], directory: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlprep")).args(args).current_dir(directory).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every entry under `root` (links as their targets' names, files with their bytes, directories as such).
fn tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let description = if metadata.is_symlink() {
                format!("link to {}", std::fs::read_link(&path).unwrap().display())
            } else if metadata.is_dir() {
                pending.push(path.clone());
                "directory".to_owned()
            } else {
                let digest = sha2::Sha256::digest(std::fs::read(&path).unwrap());
                format!("file, sha256 {}", digest.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
            };
            entries.insert(path.strip_prefix(root).unwrap().to_path_buf(), description);
        }
    }
    entries
}

/// A scratch directory (resolved, so that messages name it as mlprep does) with `in/dataset.csv`,
/// `in/sub/dataset.csv`, `vocab/vocab.txt` and a link `alias -> in`.
struct Scratch {
    _directory: tempfile::TempDir,
    root: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let directory = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(directory.path()).unwrap();
        for sub in ["in/sub", "vocab"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let (data, vocab) = synthetic_inputs(&root.join("in"), 300, 3);
        std::fs::copy(&data, root.join("in/dataset.csv")).unwrap();
        std::fs::rename(&data, root.join("in/sub/dataset.csv")).unwrap();
        std::fs::rename(&vocab, root.join("vocab/vocab.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("in"), root.join("alias")).unwrap();
        Self { _directory: directory, root }
    }

    fn path(&self, relative: &str) -> String {
        self.root.join(relative).display().to_string()
    }
}

#[test]
fn an_output_that_is_contains_or_lies_inside_an_input_is_refused_and_nothing_changes() {
    let scratch = Scratch::new();
    let root = &scratch.root;
    // A directory input holding a link to a file inside the would-be output.
    std::fs::create_dir_all(root.join("pieces")).unwrap();
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    std::fs::copy(root.join("in/dataset.csv"), root.join("elsewhere/part.csv")).unwrap();
    std::os::unix::fs::symlink(root.join("elsewhere/part.csv"), root.join("pieces/part.csv")).unwrap();
    // An earlier output whose class indices are read again.
    std::fs::create_dir_all(root.join("earlier")).unwrap();
    std::fs::write(root.join("earlier/summary.json"), "{\"mlprep_version\": \"0.1.0\"}\n").unwrap();
    std::fs::write(root.join("earlier/class_to_index.json"), "{\"computer-vision\": 0, \"mlops\": 1}\n").unwrap();
    let vocab = scratch.path("vocab/vocab.txt");

    // (case, working directory, --data, --vocab, --classes, --out, expected: (out, relation, input, flag))
    let cases: Vec<(&str, &str, &str, &str, Option<&str>, &str, (&str, &str, &str, &str))> = vec![
        (
            "out is the input's directory",
            "",
            "in/dataset.csv",
            &vocab,
            None,
            "in",
            ("in", "contains", "in/dataset.csv", "--data"),
        ),
        (
            "out is an ancestor of the input",
            "",
            "in/sub/dataset.csv",
            &vocab,
            None,
            "in",
            ("in", "contains", "in/sub/dataset.csv", "--data"),
        ),
        (
            "out is the input file",
            "",
            "in/dataset.csv",
            &vocab,
            None,
            "in/dataset.csv",
            ("in/dataset.csv", "is", "in/dataset.csv", "--data"),
        ),
        (
            "out inside an input directory",
            "",
            "in",
            &vocab,
            None,
            "in/prepared",
            ("in/prepared", "is inside", "in", "--data"),
        ),
        (
            "out is the vocabulary's directory",
            "",
            "in/dataset.csv",
            &vocab,
            None,
            "vocab",
            ("vocab", "contains", "vocab/vocab.txt", "--vocab"),
        ),
        (
            "out is a link to the input's directory",
            "",
            "in/dataset.csv",
            &vocab,
            None,
            "alias",
            ("in", "contains", "in/dataset.csv", "--data"),
        ),
        (
            "the input is read through a link into out",
            "",
            "alias/dataset.csv",
            &vocab,
            None,
            "in",
            ("in", "contains", "in/dataset.csv", "--data"),
        ),
        (
            "a missing directory and .. before a link",
            "",
            "in/dataset.csv",
            &vocab,
            None,
            "missing/../alias",
            ("in", "contains", "in/dataset.csv", "--data"),
        ),
        (
            "relative paths with ..",
            "in/sub",
            "../dataset.csv",
            &vocab,
            None,
            "../../in/./sub/..",
            ("in", "contains", "in/dataset.csv", "--data"),
        ),
        (
            "a CSV of the input directory links into out",
            "",
            "pieces",
            &vocab,
            None,
            "elsewhere",
            ("elsewhere", "contains", "elsewhere/part.csv", "--data"),
        ),
        (
            "out holds the --classes file",
            "",
            "in/dataset.csv",
            &vocab,
            Some("earlier/class_to_index.json"),
            "earlier",
            ("earlier", "contains", "earlier/class_to_index.json", "--classes"),
        ),
    ];
    for (case, cwd, data, vocab, classes, out, (expected_out, relation, input, flag)) in cases {
        for overwrite in [false, true] {
            let before = tree(root);
            let mut args = vec!["prepare", "--data", data, "--vocab", vocab, "--out", out];
            if let Some(classes) = classes {
                args.extend(["--classes", classes]);
            }
            if overwrite {
                args.push("--overwrite");
            }
            let output = mlprep(&args, &root.join(cwd));
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{case} (overwrite: {overwrite}): {stderr}");
            let expected = format!(
                "output '{}' {relation} '{}' ({flag}), which the run reads",
                scratch.path(expected_out),
                scratch.path(input)
            );
            assert!(stderr.contains(&expected), "{case} (overwrite: {overwrite}): expected {expected:?} in {stderr}");
            assert_eq!(tree(root), before, "{case} (overwrite: {overwrite}): something was created or removed");
        }
    }
}

#[test]
fn overwrite_replaces_only_an_earlier_output_or_an_empty_directory() {
    let scratch = Scratch::new();
    let root = &scratch.root;
    let prepare = |out: &str, extra: &[&str]| {
        let mut args = vec!["prepare", "--data", "in/dataset.csv", "--vocab", "vocab/vocab.txt", "--out", out];
        args.extend(extra);
        mlprep(&args, root)
    };
    let reference = prepare("reference", &[]);
    assert!(reference.status.success(), "{}", text(&reference.stderr));

    // A directory of the user's: refused with and without --overwrite, naming what it holds.
    std::fs::create_dir_all(root.join("mine/models")).unwrap();
    std::fs::write(root.join("mine/notes.txt"), "keep me").unwrap();
    // A summary.json mlprep did not write does not make an output.
    std::fs::write(root.join("mine/summary.json"), "{\"accuracy\": 0.9}").unwrap();
    for extra in [&[][..], &["--overwrite"][..]] {
        let before = tree(root);
        let output = prepare("mine", extra);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "output directory '{}' is not empty and is not an mlprep output",
                scratch.path("mine")
            )),
            "{stderr}"
        );
        assert!(stderr.contains("it holds models/, notes.txt, summary.json."), "{stderr}");
        assert!(stderr.contains("choose another --out, or move these entries away yourself"), "{stderr}");
        assert_eq!(tree(root), before, "{extra:?}: something was created or removed");
    }

    // A file where the directory would be.
    std::fs::write(root.join("a-file"), "keep me").unwrap();
    let output = prepare("a-file", &["--overwrite"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("exists and is not a directory"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_to_string(root.join("a-file")).unwrap(), "keep me");

    // An empty directory is written, with or without --overwrite.
    for (name, extra) in [("empty-a", &[][..]), ("empty-b", &["--overwrite"][..])] {
        std::fs::create_dir(root.join(name)).unwrap();
        let output = prepare(name, extra);
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        common::assert_same_files(&root.join(name), &root.join("reference"), name);
    }

    // An earlier output: refused without --overwrite, replaced with it.
    let output = prepare("reference", &["--seed", "7"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("holds an earlier mlprep output; pass --overwrite to replace it"));
    let output = prepare("empty-a", &["--seed", "7", "--overwrite"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("empty-a/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 7);
    assert!(staging_leftovers(root).is_empty());
}

fn start_prepare(root: &Path, out: &str, extra: &[&str], pause_at: Option<&str>) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlprep"));
    command
        .args(["prepare", "--data", "in/dataset.csv", "--vocab", "vocab/vocab.txt", "--out", out])
        .args(extra)
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(point) = pause_at {
        command.env("MLPREP_PAUSE_AT", point);
    }
    command.spawn().unwrap()
}

#[test]
fn of_two_runs_publishing_to_one_directory_exactly_one_succeeds() {
    let scratch = Scratch::new();
    let root = &scratch.root;
    let reference =
        mlprep(&["prepare", "--data", "in/dataset.csv", "--vocab", "vocab/vocab.txt", "--out", "reference"], root);
    assert!(reference.status.success(), "{}", text(&reference.stderr));

    // Deterministically: the first run stops just before its rename, the second publishes, then the first
    // goes on and must fail without touching what the second published.
    let mut first = start_prepare(root, "out", &[], Some("publish-before-rename"));
    let mut first_stderr = wait_for_pause(&mut first, "publish-before-rename");
    let second = start_prepare(root, "out", &[], None).wait_with_output().unwrap();
    assert!(second.status.success(), "{}", text(&second.stderr));
    send(&first, "CONT");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut first_stderr, &mut rest).unwrap();
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(
        rest.contains(&format!("'{}' appeared or changed while this run worked", scratch.path("out")))
            && rest.contains("this run's output was discarded"),
        "{rest}"
    );
    common::assert_same_files(&root.join("out"), &root.join("reference"), "the output the second run published");
    assert!(staging_leftovers(root).is_empty(), "{:?}", staging_leftovers(root));

    // Freely: two runs started together, whichever way they meet (at the start or when publishing).
    for round in 0..3 {
        let out = format!("together-{round}");
        let runs = [start_prepare(root, &out, &[], None), start_prepare(root, &out, &[], None)];
        let outputs: Vec<Output> = runs.into_iter().map(|run| run.wait_with_output().unwrap()).collect();
        let succeeded = outputs.iter().filter(|output| output.status.success()).count();
        assert_eq!(
            succeeded,
            1,
            "round {round}: {:?}",
            outputs.iter().map(|output| text(&output.stderr)).collect::<Vec<_>>()
        );
        let failed = outputs.iter().find(|output| !output.status.success()).unwrap();
        let stderr = text(&failed.stderr);
        assert!(
            stderr.contains("appeared or changed while this run worked")
                || stderr.contains("holds an earlier mlprep output"),
            "round {round}: {stderr}"
        );
        common::assert_same_files(&root.join(&out), &root.join("reference"), &format!("round {round}"));
        assert!(staging_leftovers(root).is_empty(), "round {round}: {:?}", staging_leftovers(root));
    }
}

#[test]
fn a_crash_while_overwriting_leaves_a_complete_output() {
    let scratch = Scratch::new();
    let root = &scratch.root;
    let run = |out: &str, extra: &[&str]| {
        let output = start_prepare(root, out, extra, None).wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    run("old", &[]);
    run("new", &["--seed", "99"]);
    // Killed before the swap, DIR holds the old output; after it, the new one.
    for (point, expected) in [("publish-before-exchange", "old"), ("publish-after-exchange", "new")] {
        let out = format!("out-{point}");
        run(&out, &[]);
        let mut child = start_prepare(root, &out, &["--seed", "99", "--overwrite"], Some(point));
        let _stderr = wait_for_pause(&mut child, point);
        send(&child, "KILL");
        assert!(child.wait().unwrap().code().is_none(), "{point}: the run was not killed");
        common::assert_same_files(&root.join(&out), &root.join(expected), &format!("killed at {point}"));
        // SIGKILL cannot clean up: the staging directory stays, named as unfinished.
        let staging = root.join(format!("{out}.tmp-{}", child.id()));
        assert!(staging.is_dir(), "{point}: {} is not there", staging.display());
        std::fs::remove_dir_all(&staging).unwrap();
    }
    assert!(staging_leftovers(root).is_empty());
}

#[test]
fn generate_never_replaces_a_file_without_overwrite() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::write(root.join("mine.csv"), "keep me").unwrap();
    std::fs::write(root.join("vocab.txt"), "keep me too").unwrap();

    let output = mlprep(&["generate", "--rows", "20", "--out", "mine.csv"], root);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("mine.csv' exists; pass --overwrite to replace it"),
        "{}",
        text(&output.stderr)
    );
    // The vocabulary is refused before the CSV is written.
    let output = mlprep(&["generate", "--rows", "20", "--out", "new.csv", "--vocab-out", "vocab.txt"], root);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("vocab.txt' exists; pass --overwrite"), "{}", text(&output.stderr));
    assert!(!root.join("new.csv").exists());
    let output = mlprep(&["generate", "--rows", "20", "--out", "same.csv", "--vocab-out", "./same.csv"], root);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("are the same file"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_to_string(root.join("mine.csv")).unwrap(), "keep me");
    assert_eq!(std::fs::read_to_string(root.join("vocab.txt")).unwrap(), "keep me too");

    let output =
        mlprep(&["generate", "--rows", "20", "--out", "mine.csv", "--vocab-out", "vocab.txt", "--overwrite"], root);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let mut expected = Vec::new();
    mlprep::tools::synthetic::write_projects_csv(&mut expected, 20, 1234).unwrap();
    assert_eq!(std::fs::read(root.join("mine.csv")).unwrap(), expected);
    assert_eq!(std::fs::read_to_string(root.join("vocab.txt")).unwrap(), mlprep::tools::synthetic::demo_vocabulary());
    assert!(staging_leftovers(root).is_empty());
}

#[test]
fn the_built_in_default_reuses_its_inputs_and_never_replaces_a_changed_one() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    let output = mlprep(&["prepare", "--out", "prepared", "--demo-rows", "300"], root);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let data = root.join("prepared-demo-input/projects-300-seed1234.csv");
    assert!(
        text(&output.stdout).contains(&std::fs::canonicalize(&data).unwrap().display().to_string()),
        "{}",
        text(&output.stdout)
    );
    let output = mlprep(&["prepare", "--out", "prepared", "--demo-rows", "300", "--overwrite"], root);
    assert!(output.status.success(), "{}", text(&output.stderr));

    std::fs::write(&data, "id,created_on,title,description,tag\n1,2020-01-01,mine,mine,mine\n").unwrap();
    let before = tree(root);
    let output = mlprep(&["prepare", "--out", "prepared", "--demo-rows", "300", "--overwrite"], root);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("exists and differs from what mlprep would write there"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(tree(root), before);
}

/// Pauses a run at the start of publishing, lets `meanwhile` change `out`, and checks that the run then
/// refuses, leaving `out` as `meanwhile` made it.
fn changed_while_publishing(scratch: &Scratch, out: &str, extra: &[&str], meanwhile: impl FnOnce()) {
    let root = &scratch.root;
    let mut run = start_prepare(root, out, extra, Some("publish-start"));
    let mut stderr = wait_for_pause(&mut run, "publish-start");
    meanwhile();
    // All but the paused run's own staging directory, which it removes.
    let unfinished = |entries: BTreeMap<PathBuf, String>| -> BTreeMap<PathBuf, String> {
        entries
            .into_iter()
            .filter(|(path, _)| !path.iter().next().unwrap().to_string_lossy().contains(".tmp-"))
            .collect()
    };
    let before = unfinished(tree(root));
    send(&run, "CONT");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert_eq!(run.wait().unwrap().code(), Some(1), "{rest}");
    assert!(rest.contains(&format!("'{}' appeared or changed while this run worked", scratch.path(out))), "{rest}");
    assert_eq!(unfinished(tree(root)), before, "the run changed what appeared meanwhile");
    assert!(staging_leftovers(root).is_empty(), "{:?}", staging_leftovers(root));
}

#[test]
fn what_appears_or_changes_while_a_run_works_is_never_replaced_even_with_overwrite() {
    let scratch = Scratch::new();
    let root = scratch.root.clone();
    let prepare = |out: &str, extra: &[&str]| {
        let output = start_prepare(&root, out, extra, None).wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    // Absent at the start; another run publishes there meanwhile.
    changed_while_publishing(&scratch, "a", &["--overwrite"], || prepare("a", &["--seed", "5"]));
    // Empty at the start; a file of the user's is put in it meanwhile.
    std::fs::create_dir(root.join("b")).unwrap();
    changed_while_publishing(&scratch, "b", &[], || std::fs::write(root.join("b/mine.txt"), "mine").unwrap());
    // An earlier output at the start; the user moves it away and puts a directory of theirs there.
    prepare("c", &[]);
    changed_while_publishing(&scratch, "c", &["--overwrite"], || {
        std::fs::rename(root.join("c"), root.join("c-moved")).unwrap();
        std::fs::create_dir(root.join("c")).unwrap();
        std::fs::write(root.join("c/mine.txt"), "mine").unwrap();
    });
    // An earlier output at the start, replaced meanwhile by another run's output.
    prepare("d", &[]);
    changed_while_publishing(&scratch, "d", &["--overwrite"], || prepare("d", &["--seed", "5", "--overwrite"]));
}

#[test]
fn an_output_given_as_a_link_is_published_where_the_link_points() {
    let scratch = Scratch::new();
    let root = &scratch.root;
    let output = start_prepare(root, "target", &[], None).wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::os::unix::fs::symlink(root.join("target"), root.join("link")).unwrap();
    let output = start_prepare(root, "link", &["--seed", "5", "--overwrite"], None).wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_link(root.join("link")).unwrap(), root.join("target"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("target/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 5);
    assert!(staging_leftovers(root).is_empty());
}

#[test]
fn a_refused_built_in_default_run_writes_no_input() {
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path();
    std::fs::create_dir(root.join("mine")).unwrap();
    std::fs::write(root.join("mine/notes.txt"), "mine").unwrap();
    for args in [&["prepare", "--out", "mine"][..], &["prepare", "--out", "fresh", "--test-size", "1.5"][..]] {
        let before = tree(root);
        let output = mlprep(args, root);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output.stderr));
        assert_eq!(tree(root), before, "{args:?}");
    }
}
