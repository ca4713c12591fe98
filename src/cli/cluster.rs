//! `mlprep scheduler` and `mlprep executor`: Ballista's processes with mlprep's functions.

use clap::{Args, ValueEnum};
use mlprep::SessionOptions;
use mlprep::engine::cluster::{ExecutorOptions, SchedulerOptions, TaskSchedulingPolicy};
use mlprep::engine::session::parse_size;

#[derive(Args)]
pub struct SchedulerArgs {
    /// Address to listen on; 0.0.0.0 listens on every interface.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// gRPC port for clients and executors.
    #[arg(long, default_value_t = 50050)]
    bind_port: u16,
    /// Host name clients and executors reach this scheduler at (default: --bind-host).
    #[arg(long)]
    external_host: Option<String>,
    /// Seconds without a heartbeat before an executor is considered lost and its tasks run elsewhere.
    #[arg(long, default_value_t = 180)]
    executor_timeout_seconds: u64,
    /// How tasks are handed out.
    #[arg(long, value_enum, default_value_t = TaskDistribution::RoundRobin)]
    task_distribution: TaskDistribution,
    /// How executors get tasks. Executors must be started with the same --task-scheduling-policy.
    #[arg(long, value_enum, default_value_t = SchedulingPolicy::PullStaged)]
    scheduler_policy: SchedulingPolicy,
}

#[derive(Args)]
pub struct ExecutorArgs {
    /// Address to listen on; 0.0.0.0 listens on every interface.
    #[arg(long, default_value = "127.0.0.1")]
    bind_host: String,
    /// Arrow Flight port (shuffle data).
    #[arg(long, default_value_t = 50051)]
    bind_port: u16,
    /// gRPC port (tasks from the scheduler).
    #[arg(long, default_value_t = 50052)]
    bind_grpc_port: u16,
    /// Host name the scheduler and other executors reach this executor at (default: --bind-host).
    #[arg(long)]
    external_host: Option<String>,
    /// Scheduler host.
    #[arg(long, default_value = "127.0.0.1")]
    scheduler_host: String,
    /// Scheduler port.
    #[arg(long, default_value_t = 50050)]
    scheduler_port: u16,
    /// Tasks run at once (default: the number of cores).
    #[arg(long, alias = "vcores", value_name = "N")]
    concurrent_tasks: Option<usize>,
    /// Directory for shuffle files (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<String>,
    /// Memory pool for tasks, e.g. 2G; beyond it operators spill.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_pool_size: Option<usize>,
    /// Executor id (default: a random one).
    #[arg(long)]
    executor_id: Option<String>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 60)]
    executor_heartbeat_interval_seconds: u64,
    /// Must match the scheduler's --scheduler-policy.
    #[arg(long, value_enum, default_value_t = SchedulingPolicy::PullStaged)]
    task_scheduling_policy: SchedulingPolicy,
}

/// How the scheduler hands out tasks.
#[derive(Clone, Copy, ValueEnum)]
pub enum TaskDistribution {
    /// One task per executor in turn.
    RoundRobin,
    /// Fill one executor first.
    Bias,
}

/// How executors get tasks.
#[derive(Clone, Copy, ValueEnum)]
pub enum SchedulingPolicy {
    /// Executors poll for tasks (survives losing an executor).
    PullStaged,
    /// The scheduler pushes them.
    PushStaged,
}

impl From<SchedulingPolicy> for TaskSchedulingPolicy {
    fn from(policy: SchedulingPolicy) -> Self {
        match policy {
            SchedulingPolicy::PullStaged => TaskSchedulingPolicy::PullStaged,
            SchedulingPolicy::PushStaged => TaskSchedulingPolicy::PushStaged,
        }
    }
}

/// The host to advertise: the explicit one, else the bound address unless it is a wildcard.
fn advertised_host(external: Option<String>, bind_host: &str) -> String {
    external.unwrap_or_else(|| {
        if bind_host == "0.0.0.0" || bind_host == "::" { "localhost".into() } else { bind_host.into() }
    })
}

pub async fn run_scheduler(args: SchedulerArgs) -> Result<(), String> {
    init_logging();
    let options = SchedulerOptions {
        external_host: advertised_host(args.external_host, &args.bind_host),
        bind_host: args.bind_host,
        bind_port: args.bind_port,
        executor_timeout_seconds: args.executor_timeout_seconds,
        round_robin: matches!(args.task_distribution, TaskDistribution::RoundRobin),
        scheduling_policy: args.scheduler_policy.into(),
    };
    mlprep::engine::cluster::run_scheduler(options).await.map_err(|error| error.to_string())
}

pub async fn run_executor(args: ExecutorArgs) -> Result<(), String> {
    init_logging();
    let options = ExecutorOptions {
        external_host: advertised_host(args.external_host, &args.bind_host),
        bind_host: args.bind_host,
        bind_port: args.bind_port,
        bind_grpc_port: args.bind_grpc_port,
        scheduler_host: args.scheduler_host,
        scheduler_port: args.scheduler_port,
        concurrent_tasks: args.concurrent_tasks.unwrap_or_else(|| SessionOptions::default().partitions),
        work_dir: args.work_dir,
        memory_pool_size: args.memory_pool_size.map(|size| size as u64),
        executor_id: args.executor_id,
        heartbeat_interval_seconds: args.executor_heartbeat_interval_seconds,
        scheduling_policy: args.task_scheduling_policy.into(),
    };
    mlprep::engine::cluster::run_executor(options).await.map_err(|error| error.to_string())
}

/// Ballista logs through `log`: show its info messages (task launches, executor registration) on stderr,
/// or whatever RUST_LOG asks for.
fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).try_init();
}
