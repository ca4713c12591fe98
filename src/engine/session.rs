//! Session set-up in one place: configuration, memory limit and mlprep's functions. Everything that runs
//! SQL (the pipeline, scripts, later a Ballista cluster) builds its session here.

use std::sync::Arc;

use datafusion::execution::SessionStateBuilder;
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionState;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::storage::{ObjectStores, S3Settings};
use crate::error::{Error, Result};

/// Where a session's queries run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Cluster {
    /// In this process, with DataFusion.
    #[default]
    Local,
    /// On an in-process Ballista cluster (a scheduler and an executor in this process).
    Standalone,
    /// On the Ballista cluster whose scheduler is at this URL (`df://HOST:PORT`).
    Remote(String),
}

/// Rows per Arrow batch unless told otherwise (DataFusion's default).
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// How a session runs.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// `--partitions`: what DataFusion plans each stage for (its `target_partitions`), and so the threads
    /// `prepare` runs on, the pieces its record scan is cut in and the statements it runs at once.
    pub partitions: usize,
    /// Rows per Arrow batch.
    pub batch_size: usize,
    /// Bytes the memory pool may hand out before operators spill to disk; `None` for no limit.
    pub memory_limit: Option<usize>,
    /// Where queries run.
    pub cluster: Cluster,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            partitions: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            batch_size: DEFAULT_BATCH_SIZE,
            memory_limit: None,
            cluster: Cluster::Local,
        }
    }
}

/// mlprep's settings on top of `config` (DataFusion's defaults, or Ballista's).
pub fn configure(config: SessionConfig, options: &SessionOptions) -> Result<SessionConfig> {
    if options.partitions == 0 {
        return Err(Error::Configuration("partitions must be at least 1".into()));
    }
    if options.batch_size == 0 {
        return Err(Error::Configuration("batch size must be at least 1".into()));
    }
    Ok(with_mlprep_settings(
        config
            .with_target_partitions(options.partitions)
            .with_batch_size(options.batch_size)
            .with_information_schema(true)
            // Where this process finds the S3 store, sent with each query to a cluster.
            .with_option_extension(S3Settings::from_env()),
    ))
}

/// The settings every mlprep session needs, whatever else it is configured with (a Ballista scheduler
/// applies them to the sessions its clients open).
pub fn with_mlprep_settings(mut config: SessionConfig) -> SessionConfig {
    // DataFusion 55's leaf-expression pushdown moves `tokenize(...)['ids']` below joins and filters by
    // re-deriving the common `tokenize(...)` there (apache/datafusion#25329): every row would be tokenized,
    // whatever split it is in. Keep expensive expressions where the query puts them.
    config.options_mut().optimizer.enable_leaf_expression_pushdown = false;
    // The `s3.*` settings a client sends ([`S3Settings`]): known to every session, or a scheduler or executor
    // would refuse them.
    if config.options().extensions.get::<S3Settings>().is_none() {
        config = config.with_option_extension(S3Settings::default());
    }
    config
}

/// The runtime: a spilling memory pool of `memory_limit` bytes, when given, and the object stores of
/// `s3://` URLs ([`ObjectStores`]).
pub fn runtime_env(options: &SessionOptions) -> Result<Arc<RuntimeEnv>> {
    let mut runtime = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(ObjectStores::default()));
    if let Some(limit) = options.memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
    }
    Ok(runtime.build_arc()?)
}

/// A local session state with mlprep's functions registered, on DataFusion's settings from `DATAFUSION_*` environment
/// variables (as datafusion-cli reads them) under mlprep's own.
pub fn session_state(options: &SessionOptions) -> Result<SessionState> {
    let mut state = SessionStateBuilder::new()
        .with_config(configure(SessionConfig::from_env()?, options)?)
        .with_runtime_env(runtime_env(options)?)
        .with_default_features()
        .build();
    mlprep_udfs::register_all(&mut state)?;
    Ok(state)
}

/// A local session context with mlprep's functions registered.
pub fn session_context(options: &SessionOptions) -> Result<SessionContext> {
    Ok(SessionContext::new_with_state(session_state(options)?))
}

/// The async runtime a command runs on: `threads` worker threads (`--partitions`), or one per core.
/// DataFusion runs a partition's work on these threads, and encodes Parquet and reads files on them too, so
/// `--partitions 1` on a runtime with a thread per core would still use several cores: tying the two makes
/// `--partitions N` the number of cores a run may use.
pub fn tokio_runtime(threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = threads {
        builder.worker_threads(threads.max(1));
    }
    builder.enable_all().build()
}

/// Parses a size such as `512M`, `1G`, `1.5GiB` or `1048576` (bytes).
pub fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("'{text}' is not a size (try 512M or 2G)"))?;
    let multiplier: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" | "KIB" => 1024.0,
        "M" | "MB" | "MIB" => 1024.0 * 1024.0,
        "G" | "GB" | "GIB" => 1024.0 * 1024.0 * 1024.0,
        "T" | "TB" | "TIB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("'{text}' has an unknown unit (use K, M, G or T)")),
    };
    let bytes = number * multiplier;
    if bytes.is_nan() || bytes < 1.0 {
        return Err(format!("'{text}' is not a positive size"));
    }
    Ok(bytes as usize)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("3X").is_err());
    }
}
