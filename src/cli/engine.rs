//! The engine options shared by the commands that run queries: partitions, memory and where queries run.

use clap::Args;
use mlprep::engine::session::parse_size;
use mlprep::{Cluster, SessionOptions};

#[derive(Args, Default)]
pub struct EngineArgs {
    /// Partitions per stage, and the threads that run them (the cores the run may use); default: one per core.
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// Memory the query engine may use before spilling to disk, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<usize>,
    /// Run on the Ballista cluster whose scheduler is at df://HOST:PORT.
    #[arg(long, value_name = "df://HOST:PORT", conflicts_with = "standalone")]
    pub cluster: Option<String>,
    /// Run on a Ballista cluster started inside this process (scheduler and executor).
    #[arg(long)]
    pub standalone: bool,
}

impl EngineArgs {
    /// The session these options ask for (the other settings at their defaults).
    pub fn session_options(&self) -> SessionOptions {
        let cluster = match (&self.cluster, self.standalone) {
            (Some(url), _) => Cluster::Remote(url.clone()),
            (None, true) => Cluster::Standalone,
            (None, false) => Cluster::Local,
        };
        let defaults = SessionOptions::default();
        SessionOptions {
            partitions: self.partitions.unwrap_or(defaults.partitions),
            memory_limit: self.memory_limit,
            cluster,
            ..defaults
        }
    }
}
