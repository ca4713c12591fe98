//! A step counter on stderr when it is a terminal, silent otherwise (pipes, CI logs, tests).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Each step started so far and when.
    started: std::sync::Mutex<Vec<(&'static str, std::time::Instant)>>,
}

impl Progress {
    pub fn new(steps: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(steps);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self { bar, started: Default::default() }
    }

    /// Starts the next step.
    pub fn step(&self, message: &'static str) {
        self.started.lock().expect("not poisoned").push((message, std::time::Instant::now()));
        if let Some(bar) = &self.bar {
            if bar.position() > 0 || !bar.message().is_empty() {
                bar.inc(1);
            }
            bar.set_message(message);
        }
    }

    /// Clears the bar and returns how long each step took.
    pub fn finish(&self) -> Vec<(&'static str, std::time::Duration)> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let started = self.started.lock().expect("not poisoned");
        let now = std::time::Instant::now();
        started
            .iter()
            .enumerate()
            .map(|(index, (message, start))| {
                let end = started.get(index + 1).map_or(now, |(_, next)| *next);
                (*message, end.duration_since(*start))
            })
            .collect()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
