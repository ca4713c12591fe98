//! A Ballista cluster for tests: `mlprep scheduler` and two `mlprep executor` processes on free loopback ports,
//! each executor with its own work directory, killed by PID when the guard drops.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Processes this test started: each is killed by its PID when the guard drops, also when the test fails.
pub struct Processes {
    children: Vec<(String, Child)>,
    logs: Vec<(String, Arc<Mutex<String>>)>,
    environment: Vec<(String, String)>,
}

impl Processes {
    pub fn new() -> Self {
        Self::with_environment(&[])
    }

    /// Processes started with these environment variables set (an empty value removes the variable).
    pub fn with_environment(environment: &[(&str, &str)]) -> Self {
        Self {
            children: Vec::new(),
            logs: Vec::new(),
            environment: environment.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
        }
    }

    /// Starts `mlprep ARGS`, collecting its stderr (Ballista's log) under `name`.
    pub fn start(&mut self, name: &str, args: &[&str]) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mlprep"));
        for (name, value) in &self.environment {
            if value.is_empty() {
                command.env_remove(name);
            } else {
                command.env(name, value);
            }
        }
        let mut child =
            command.args(args).env("RUST_LOG", "info").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        self.children.push((name.to_owned(), child));
        self.logs.push((name.to_owned(), log));
    }

    pub fn log(&self, name: &str) -> String {
        self.logs.iter().find(|(n, _)| n == name).map(|(_, log)| log.lock().unwrap().clone()).unwrap_or_default()
    }

    /// Waits until `name`'s log contains `text`, failing with the log after `timeout`.
    pub fn wait_for(&self, name: &str, text: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.log(name).contains(text) {
            assert!(
                start.elapsed() < timeout,
                "{name} did not log {text:?} within {timeout:?}; its log:\n{}",
                self.log(name)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill(&mut self, name: &str) {
        if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A scheduler and two executors (`a`, `b`) with their own work directories, registered and ready.
pub fn start_cluster(work: &Path, executor_timeout_seconds: u64) -> (Processes, String) {
    start_cluster_with(Processes::new(), work, executor_timeout_seconds)
}

/// As [`start_cluster`], the processes started by `processes` (with its environment).
pub fn start_cluster_with(mut processes: Processes, work: &Path, executor_timeout_seconds: u64) -> (Processes, String) {
    let scheduler_port = free_port().to_string();
    let timeout = executor_timeout_seconds.to_string();
    processes
        .start("scheduler", &["scheduler", "--bind-port", &scheduler_port, "--executor-timeout-seconds", &timeout]);
    // Executors give up when the scheduler is not there yet: start them once it accepts connections.
    let started = Instant::now();
    while std::net::TcpStream::connect(format!("127.0.0.1:{scheduler_port}")).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the scheduler does not accept connections on port {scheduler_port} after 60 s; its log:\n{}",
            processes.log("scheduler")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for name in ["a", "b"] {
        let work_dir = work.join(format!("executor-{name}"));
        std::fs::create_dir_all(&work_dir).unwrap();
        let (flight, grpc) = (free_port().to_string(), free_port().to_string());
        processes.start(
            name,
            &[
                "executor",
                "--executor-id",
                &format!("executor-{name}"),
                "--bind-port",
                &flight,
                "--bind-grpc-port",
                &grpc,
                "--scheduler-port",
                &scheduler_port,
                "--work-dir",
                work_dir.to_str().unwrap(),
                "--concurrent-tasks",
                "2",
                "--executor-heartbeat-interval-seconds",
                "1",
            ],
        );
    }
    // Executors poll the scheduler for tasks (pull-staged scheduling); their first poll registers them.
    for name in ["a", "b"] {
        processes.wait_for(name, "Starting poll work loop with scheduler", Duration::from_secs(60));
    }
    (processes, format!("df://127.0.0.1:{scheduler_port}"))
}

/// Job directories an executor created under its work directory: one per job it ran tasks of.
pub fn job_directories(work_dir: &Path) -> usize {
    std::fs::read_dir(work_dir)
        .map_or(0, |entries| entries.filter_map(Result::ok).filter(|entry| entry.path().is_dir()).count())
}
