//! The progress display of `prepare` on stderr when it is a terminal: the step, the rows done in it and their
//! rate; silent otherwise (pipes, CI logs, tests). Rows come from the running statement's scans (their
//! `output_rows` metric, for a local session) or from what a step counts itself (rows written, bucket by
//! bucket).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use datafusion::physical_plan::ExecutionPlan;
use indicatif::{ProgressBar, ProgressState, ProgressStyle};

use crate::sql::script::RunningPlan;

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Each step started so far and when.
    started: Mutex<Vec<(&'static str, Instant)>>,
    rows: Arc<Rows>,
}

/// The rows of the current step.
#[derive(Default)]
struct Rows {
    /// Counted by the step itself.
    done: AtomicU64,
    /// The plan of the statement running, for its scans' rows.
    plan: Mutex<Option<RunningPlan>>,
    step_started: Mutex<Option<Instant>>,
}

impl Rows {
    fn now(&self) -> u64 {
        let running = self.plan.lock().expect("not poisoned").as_ref().and_then(|plan| plan.lock().ok()?.clone());
        let scanned = running.map_or(0, |plan| leaf_rows(plan.as_ref()));
        self.done.load(Ordering::Relaxed).max(scanned)
    }
}

/// Rows produced so far by the plan's leaves (its scans).
fn leaf_rows(plan: &dyn ExecutionPlan) -> u64 {
    let children = plan.children();
    if children.is_empty() {
        return plan.metrics().and_then(|metrics| metrics.output_rows()).unwrap_or(0) as u64;
    }
    children.into_iter().map(|child| leaf_rows(child.as_ref())).sum()
}

impl Progress {
    pub fn new(steps: u64) -> Self {
        let rows = Arc::new(Rows::default());
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(steps);
            let shown = Arc::clone(&rows);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}{rows}")
                    .expect("valid template")
                    .with_key("rows", move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let rows = shown.now();
                        let started = *shown.step_started.lock().expect("not poisoned");
                        if rows > 0 {
                            let seconds = started.map_or(0.0, |started| started.elapsed().as_secs_f64());
                            let _ = write!(out, " · {rows} rows");
                            if seconds > 0.5 {
                                let _ = write!(out, " · {:.0} rows/s", rows as f64 / seconds);
                            }
                        }
                    }),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self { bar, started: Default::default(), rows }
    }

    /// Shows the rows of the statements `plan` holds while they run.
    pub fn watch(&self, plan: RunningPlan) {
        *self.rows.plan.lock().expect("not poisoned") = Some(plan);
    }

    /// The count of rows the current step adds to as it goes.
    pub fn rows_done(&self) -> &AtomicU64 {
        &self.rows.done
    }

    /// Starts the next step.
    pub fn step(&self, message: &'static str) {
        let now = Instant::now();
        self.started.lock().expect("not poisoned").push((message, now));
        self.rows.done.store(0, Ordering::Relaxed);
        *self.rows.step_started.lock().expect("not poisoned") = Some(now);
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
        let now = Instant::now();
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
