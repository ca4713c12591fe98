//! Ballista glue: client sessions on an in-process or remote cluster, and the scheduler and executor
//! processes, all with mlprep's functions and settings.
//!
//! Ballista needs the functions in three places: the client (to plan), the scheduler (to decode and plan
//! the stages; its session builder) and every executor (to decode and run tasks; its function registry).
//! Each is built from the same [`session_state`](super::session::session_state) set-up, so DataFusion's
//! built-in functions stay registered next to mlprep's.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
pub use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::common::DataFusionError;

use crate::error::{Error, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::codec::LogicalCodec;
use super::session::{SessionOptions, configure, runtime_env, with_mlprep_settings};
use super::storage::StoresBySettings;

/// A client session state for Ballista: Ballista's configuration, mlprep's settings and functions.
fn client_state(options: &SessionOptions) -> Result<SessionState> {
    let mut config = configure(SessionConfig::new_with_ballista(), options)?
        .with_ballista_standalone_parallelism(options.partitions)
        .with_ballista_logical_extension_codec(LogicalCodec::shared());
    // Ballista 55's adaptive planner was seen to hang a job for good after losing an executor (it rolls the
    // stages back, then logs "Stage … is not in running when updating the status of tasks" and schedules
    // nothing more); the static planner re-runs the lost tasks and completes. Plans here gain nothing from
    // adaptivity: the stage layout is fixed by the SQL.
    config.options_mut().set("ballista.planner.adaptive.enabled", "false")?;
    // Ballista turns DataFusion's hash joins off (their build side cannot spill), which also rules out
    // broadcasting a small side: the pipeline's join of every staged row with its class's split boundary
    // (one row per class) would become a sort-merge join shuffled by class, funnelling the full rows
    // through one task per class. With hash joins back, the boundaries are sent to every task instead.
    config.options_mut().optimizer.prefer_hash_join = true;
    // Ballista also turns round-robin repartitioning off, which would leave cleaning and tokenizing (step 2
    // run by hand, over one CSV read by one task) in that task; `prepare` reads the CSV in byte ranges.
    config.options_mut().optimizer.enable_round_robin_repartition = true;
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime_env(options)?)
        .with_default_features()
        .build();
    mlprep_udfs::register_all(&mut state)?;
    Ok(state)
}

/// A session on a Ballista cluster started in this process (one scheduler, one executor with
/// `partitions` task slots).
pub async fn standalone_context(options: &SessionOptions) -> Result<SessionContext> {
    let mut context = SessionContext::standalone_with_state(client_state(options)?).await?;
    // Turning the state into a Ballista client replaces its scalar functions; register them again.
    mlprep_udfs::register_all(&mut context)?;
    Ok(context)
}

/// A session on the Ballista cluster whose scheduler listens at `url` (`df://HOST:PORT`).
pub async fn remote_context(url: &str, options: &SessionOptions) -> Result<SessionContext> {
    if !url.starts_with("df://") {
        return Err(Error::Configuration(format!(
            "--cluster {url}: expected df://HOST:PORT (the scheduler's address)"
        )));
    }
    let mut context = SessionContext::remote_with_state(url, client_state(options)?).await?;
    mlprep_udfs::register_all(&mut context)?;
    Ok(context)
}

/// The scheduler's sessions: Ballista's default session (its optimizer rules and functions) with mlprep's
/// settings and functions added, and the object stores the client's `s3.*` settings name (the scheduler lists
/// the files of a table when it plans).
fn scheduler_session(stores: &StoresBySettings, config: SessionConfig) -> datafusion::common::Result<SessionState> {
    let config = with_mlprep_settings(config);
    let runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores.for_config(&config)).build_arc()?;
    let state = default_session_builder(config)?;
    let mut state = SessionStateBuilder::new_from_existing(state).with_runtime_env(runtime).build();
    mlprep_udfs::register_all(&mut state)?;
    Ok(state)
}

/// How to run a scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind_host: String,
    pub bind_port: u16,
    /// The host executors and clients are told to reach the scheduler at.
    pub external_host: String,
    /// Seconds without a heartbeat after which an executor is considered dead and its tasks rescheduled.
    pub executor_timeout_seconds: u64,
    /// Spread tasks one per executor in turn (true), or fill each executor's slots first (Ballista's "bias").
    pub round_robin: bool,
    /// Whether executors poll for tasks (pull) or the scheduler pushes them; executors must use the same.
    ///
    /// mlprep defaults to pull. Ballista 55's push-based scheduling counts each executor's free task slots on
    /// the scheduler; when an executor is lost while a stage runs, the stage is rolled back and the slots of
    /// its tasks still running on the survivors are never given back (their status updates find no task to
    /// refund). With every slot leaked, the job waits forever. Polling executors report their own free
    /// slots, so nothing leaks and the job completes on the survivors.
    pub scheduling_policy: TaskSchedulingPolicy,
}

/// Polling executors whose task slots are all busy still poll every 5 s (Ballista's heartbeat under pull
/// scheduling); a shorter timeout would declare busy executors lost.
const MIN_PULL_EXECUTOR_TIMEOUT_SECONDS: u64 = 10;

/// Runs a Ballista scheduler until the process ends.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    if matches!(options.scheduling_policy, TaskSchedulingPolicy::PullStaged)
        && options.executor_timeout_seconds < MIN_PULL_EXECUTOR_TIMEOUT_SECONDS
    {
        return Err(Error::Configuration(format!(
            "--executor-timeout-seconds {}: with pull-staged scheduling a busy executor reports every 5 s, so the \
             timeout must be at least {MIN_PULL_EXECUTOR_TIMEOUT_SECONDS} s or busy executors would be taken for lost",
            options.executor_timeout_seconds
        )));
    }
    let address: SocketAddr = format!("{}:{}", options.bind_host, options.bind_port)
        .parse()
        .map_err(|error| Error::Configuration(format!("scheduler address: {error}")))?;
    let mut config = SchedulerConfig {
        bind_host: options.bind_host.clone(),
        bind_port: options.bind_port,
        external_host: options.external_host.clone(),
        executor_timeout_seconds: options.executor_timeout_seconds,
        task_distribution: if options.round_robin {
            TaskDistributionPolicy::RoundRobin
        } else {
            TaskDistributionPolicy::Bias
        },
        scheduling_policy: options.scheduling_policy,
        ..Default::default()
    };
    // Look for dead executors at least twice per timeout, so a lost executor is noticed within it.
    config.expire_dead_executor_interval_seconds = (options.executor_timeout_seconds / 2).clamp(1, 15);
    let stores = Arc::new(StoresBySettings::default());
    config.override_session_builder = Some(Arc::new(move |config| scheduler_session(&stores, config)));
    config.override_config_producer = Some(Arc::new(|| with_mlprep_settings(SessionConfig::new_with_ballista())));
    config.override_logical_codec = Some(LogicalCodec::shared());
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista_error)?;
    start_server(cluster, address, Arc::new(config)).await.map_err(ballista_error)
}

/// How to run an executor.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    pub bind_host: String,
    pub bind_port: u16,
    pub bind_grpc_port: u16,
    /// The host the scheduler and other executors are told to reach this executor at.
    pub external_host: String,
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Tasks this executor runs at once.
    pub concurrent_tasks: usize,
    /// Where shuffle files go (a temporary directory when `None`).
    pub work_dir: Option<String>,
    /// Memory pool per task slot set, in bytes.
    pub memory_pool_size: Option<u64>,
    pub executor_id: Option<String>,
    /// Seconds between heartbeats to the scheduler.
    pub heartbeat_interval_seconds: u64,
    /// Must be the scheduler's.
    pub scheduling_policy: TaskSchedulingPolicy,
}

/// Runs a Ballista executor until the process ends.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let functions = super::session::session_state(&SessionOptions::default())?;
    let mut config = ExecutorProcessConfig {
        bind_host: options.bind_host,
        port: options.bind_port,
        grpc_port: options.bind_grpc_port,
        external_host: Some(options.external_host.clone()),
        executor_heartbeat_interval_seconds: options.heartbeat_interval_seconds,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        vcores: options.concurrent_tasks,
        work_dir: options.work_dir.clone(),
        memory_pool_size: options.memory_pool_size,
        task_scheduling_policy: options.scheduling_policy,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&functions))),
        override_runtime_producer: Some(executor_runtime(options.work_dir.clone())),
        override_config_producer: Some(Arc::new(|| with_mlprep_settings(SessionConfig::new_with_ballista()))),
        ..Default::default()
    };
    if let Some(executor_id) = options.executor_id {
        config.executor_id = executor_id;
    }
    mlprep_udfs::tokenizer::set_process_label(format!(
        "executor {} ({}:{})",
        config.executor_id, options.external_host, config.grpc_port
    ));
    start_executor_process(Arc::new(config)).await.map_err(ballista_error)
}

/// An executor's runtime for a session: spill files in its work directory, and the object stores the session's
/// `s3.*` settings name (Ballista sets the memory pool on top).
fn executor_runtime(work_dir: Option<String>) -> ballista_core::RuntimeProducer {
    let stores = Arc::new(StoresBySettings::default());
    Arc::new(move |config: &SessionConfig| {
        let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(stores.for_config(config));
        if let Some(directory) = &work_dir {
            runtime = runtime.with_temp_file_path(directory);
        }
        runtime.build_arc()
    })
}

fn ballista_error(error: ballista_core::error::BallistaError) -> Error {
    Error::Engine(DataFusionError::External(Box::new(error)))
}
