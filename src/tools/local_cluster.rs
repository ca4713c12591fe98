//! A Ballista cluster on this machine for `mlprep bench --cluster local-N`: an `mlprep scheduler` and N
//! `mlprep executor` processes with one task slot each, on free loopback ports, each executor with its own
//! work directory, all with the same task scheduling policy. Every process is killed by its PID when the
//! cluster is dropped, also when the bench fails.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::engine::cluster::TaskSchedulingPolicy;
use crate::error::{Error, Result};

/// How long a process may take to be ready before the bench gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// What an executor logs once it has registered with the scheduler: Ballista's pull loop starting, or the
/// scheduler accepting a push executor.
fn executor_ready(policy: TaskSchedulingPolicy) -> &'static str {
    match policy {
        TaskSchedulingPolicy::PullStaged => "Starting poll work loop with scheduler",
        TaskSchedulingPolicy::PushStaged => "Executor registration succeed",
    }
}

/// `local-N`: N executors of one task slot each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalClusterSpec {
    pub executors: usize,
}

impl FromStr for LocalClusterSpec {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, String> {
        let executors = text
            .strip_prefix("local-")
            .and_then(|count| count.parse::<usize>().ok())
            .filter(|&count| count >= 1)
            .ok_or_else(|| format!("'{text}': expected local-N, N executors of one task slot each (e.g. local-2)"))?;
        Ok(Self { executors })
    }
}

impl std::fmt::Display for LocalClusterSpec {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "local-{}", self.executors)
    }
}

/// A running cluster; dropping it stops every process.
pub struct LocalCluster {
    processes: Vec<(String, Child)>,
    /// The scheduler's address, as `--cluster` takes it.
    pub url: String,
}

impl LocalCluster {
    /// Starts the scheduler, then the executors (which give up when the scheduler is not there yet), with
    /// `binary` (mlprep), logs and work directories in `work` (created here: it must not exist); returns once
    /// every executor has registered.
    /// Each executor's memory pool is `memory_limit`, as each machine of a cluster would have its own.
    pub fn start(
        spec: LocalClusterSpec,
        policy: TaskSchedulingPolicy,
        binary: &Path,
        work: &Path,
        memory_limit: Option<usize>,
    ) -> Result<Self> {
        let mut cluster = Self { processes: Vec::new(), url: String::new() };
        // A new directory: the logs of an earlier cluster are never replaced.
        std::fs::create_dir(work).map_err(|error| Error::io(work, error))?;
        let scheduler_port = free_port()?;
        cluster.spawn(
            binary,
            work,
            "scheduler",
            &[
                "scheduler",
                "--bind-host",
                "127.0.0.1",
                "--bind-port",
                &scheduler_port.to_string(),
                "--scheduler-policy",
                &policy.to_string(),
            ],
        )?;
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", scheduler_port)).is_err() {
            cluster.check_running(work)?;
            if started.elapsed() > READY_TIMEOUT {
                return Err(cluster.not_ready(work, "scheduler", "accepting connections"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for index in 0..spec.executors {
            let name = format!("executor-{index}");
            let work_dir = work.join(&name);
            std::fs::create_dir_all(&work_dir).map_err(|error| Error::io(&work_dir, error))?;
            let mut args: Vec<String> = [
                "executor",
                "--bind-host",
                "127.0.0.1",
                "--external-host",
                "127.0.0.1",
                "--executor-id",
                &name,
                "--bind-port",
                &free_port()?.to_string(),
                "--bind-grpc-port",
                &free_port()?.to_string(),
                "--scheduler-host",
                "127.0.0.1",
                "--scheduler-port",
                &scheduler_port.to_string(),
                "--concurrent-tasks",
                "1",
                "--task-scheduling-policy",
                &policy.to_string(),
                "--work-dir",
                &work_dir.to_string_lossy(),
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            if let Some(limit) = memory_limit {
                args.extend(["--memory-pool-size".to_owned(), limit.to_string()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cluster.spawn(binary, work, &name, &args)?;
        }
        let started = Instant::now();
        for index in 0..spec.executors {
            let name = format!("executor-{index}");
            while !std::fs::read_to_string(log_path(work, &name)).unwrap_or_default().contains(executor_ready(policy)) {
                cluster.check_running(work)?;
                if started.elapsed() > READY_TIMEOUT {
                    return Err(cluster.not_ready(work, &name, "registered with the scheduler"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        cluster.url = format!("df://127.0.0.1:{scheduler_port}");
        Ok(cluster)
    }

    fn spawn(&mut self, binary: &Path, work: &Path, name: &str, args: &[&str]) -> Result<()> {
        let log = log_path(work, name);
        let file = File::create(&log).map_err(|error| Error::io(&log, error))?;
        let child = Command::new(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|error| Error::io(binary, error))?;
        self.processes.push((name.to_owned(), child));
        Ok(())
    }

    /// Fails, with the process's log, when a process has stopped.
    fn check_running(&mut self, work: &Path) -> Result<()> {
        for (name, child) in &mut self.processes {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::Configuration(format!(
                    "the bench cluster's {name} stopped ({status}); its log ({}):\n{}",
                    log_path(work, name).display(),
                    tail(&log_path(work, name))
                )));
            }
        }
        Ok(())
    }

    fn not_ready(&self, work: &Path, name: &str, what: &str) -> Error {
        Error::Configuration(format!(
            "the bench cluster's {name} was not {what} after {} s; its log ({}):\n{}",
            READY_TIMEOUT.as_secs(),
            log_path(work, name).display(),
            tail(&log_path(work, name))
        ))
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_path(work: &Path, name: &str) -> PathBuf {
    work.join(format!("{name}.log"))
}

/// The last lines of a log.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| Error::io(Path::new("127.0.0.1:0"), error))?;
    listener.local_addr().map(|address| address.port()).map_err(|error| Error::io(Path::new("127.0.0.1:0"), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_count_of_executors() {
        assert_eq!("local-2".parse::<LocalClusterSpec>(), Ok(LocalClusterSpec { executors: 2 }));
        assert_eq!(LocalClusterSpec { executors: 3 }.to_string(), "local-3");
        for bad in ["local-0", "local-", "local", "2", "remote-2", "local-x"] {
            assert!(bad.parse::<LocalClusterSpec>().is_err(), "{bad}");
        }
    }
}
