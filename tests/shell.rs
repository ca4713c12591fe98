//! `mlprep shell` (and `prepare`'s display) driven through a real pseudo-terminal: what is typed, and what the
//! screen then shows (the terminal output is replayed through a terminal emulator, `vt100`).

mod common;

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};

const ROWS: u16 = 50;
const COLUMNS: u16 = 160;

/// A child process on the slave side of a pseudo-terminal, and everything it wrote to it.
struct Terminal {
    child: Child,
    writer: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn spawn(args: &[&str]) -> Self {
        let size = Winsize { ws_row: ROWS, ws_col: COLUMNS, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = openpty(Some(&size), None).expect("openpty");
        let slave = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
        let child = Command::new(env!("CARGO_BIN_EXE_mlprep"))
            .args(args)
            .env("TERM", "xterm")
            .env("HOME", std::env::temp_dir())
            .stdin(slave(&pty.slave))
            .stdout(slave(&pty.slave))
            .stderr(slave(&pty.slave))
            .spawn()
            .unwrap();
        drop(pty.slave);
        let master = std::fs::File::from(pty.master);
        let mut reader = master.try_clone().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Ends with an error (EIO) once the child has closed the terminal.
            while let Ok(read) = reader.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..read]);
            }
        });
        Self { child, writer: master, output }
    }

    fn type_text(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// The screen's text as a terminal would show it now.
    fn screen(&self) -> String {
        let mut parser = vt100::Parser::new(ROWS, COLUMNS, 10_000);
        parser.process(&self.output.lock().unwrap());
        parser.screen().contents()
    }

    fn wait_for_screen(&self, text: &str) {
        let started = Instant::now();
        while !self.screen().contains(text) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the screen never showed {text:?}; it shows:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A golden row short enough for its ids to fit on one screen line: (cleaned text, ids as DataFusion
/// prints a list, `[102, 1234, 103]`).
fn short_golden_row() -> (String, String) {
    let row = common::golden_rows().into_iter().min_by_key(|row| (row.ids.len(), row.id)).unwrap();
    let ids: Vec<String> = row.ids.iter().map(i64::to_string).collect();
    (row.text_clean, format!("[{}]", ids.join(", ")))
}

#[test]
fn a_multi_line_tokenize_query_a_command_and_quit_on_a_real_terminal() {
    let vocab = common::scibert_vocab();
    let define = format!("vocab={}", vocab.display());
    let mut terminal = Terminal::spawn(&["shell", "-D", &define]);
    terminal.wait_for_screen("mlprep> ");

    // A statement over three lines: the shell waits for the `;`.
    let (text, expected_ids) = short_golden_row();
    terminal.type_text("SELECT tokenize(\r");
    terminal.type_text(&format!("  '{text}',\r"));
    terminal.type_text("  '${vocab}')['ids'] AS ids;\r");
    terminal.wait_for_screen(&expected_ids);
    terminal.wait_for_screen("1 row(s) fetched");

    terminal.type_text("\\h tokenize\r");
    terminal.wait_for_screen("Syntax: tokenize(");

    terminal.type_text("\\d\r");
    terminal.wait_for_screen("table_name");

    terminal.type_text("\\q\r");
    let started = Instant::now();
    loop {
        if let Some(status) = terminal.child.try_wait().unwrap() {
            assert!(status.success(), "the shell exited with {status}; screen:\n{}", terminal.screen());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "\\q did not end the shell; screen:\n{}",
            terminal.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let screen = terminal.screen();
    // The query's result is a table with the column header, and no error was printed.
    assert!(screen.contains("| ids"), "{screen}");
    assert!(!screen.contains("Error"), "{screen}");
}

/// On a terminal, `prepare` clears its progress display and ends with the classes per split: the course's
/// counts from the original pipeline's split summary.
#[test]
fn prepare_on_a_terminal_ends_with_the_classes_per_split() {
    let directory = tempfile::tempdir().unwrap();
    let (data, vocab) = (common::dataset_csv(), common::scibert_vocab());
    let out = directory.path().join("prepared");
    let mut terminal = Terminal::spawn(&[
        "prepare",
        "--data",
        data.to_str().unwrap(),
        "--vocab",
        vocab.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    terminal.wait_for_screen("\nall ");
    assert!(terminal.child.wait().unwrap().success(), "{}", terminal.screen());
    let screen = terminal.screen();
    let summary = common::split_summary();
    let line = |cells: &[String]| cells.join(" ");
    let words = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let shown: Vec<String> = screen.lines().map(|row| line(&words(row))).collect();
    assert!(shown.contains(&"class train val total".to_owned()), "{screen}");
    for (class, counts) in summary["per_tag"].as_object().unwrap() {
        let expected = format!("{class} {} {} {}", counts["train"], counts["test"], counts["total"]);
        assert!(shown.contains(&expected), "no line {expected:?} in:\n{screen}");
    }
    let all = format!("all {} {} {}", summary["train_total"], summary["test_total"], summary["total"]);
    assert!(shown.contains(&all), "no line {all:?} in:\n{screen}");
    assert!(!screen.contains("writing Parquet"), "the progress display was not cleared:\n{screen}");
}
