//! `mlprep bench`: every stage measured against the `tokenizers` crate's encode_batch, in one run.

use std::path::PathBuf;

use clap::Args;
use mlprep::engine::session::parse_size;
use mlprep::tools::local_cluster::LocalClusterSpec;

use super::cluster::SchedulingPolicy;
use super::message;

#[derive(Args)]
pub struct BenchArgs {
    /// Rows of synthetic data (generated once into the work directory, then reused).
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = mlprep::prepare::defaults::SEED as u64)]
    seed: u64,
    /// Measure this CSV instead of synthetic data (columns id, title, description, tag).
    #[arg(long, value_name = "FILE.csv")]
    data: Option<PathBuf>,
    /// Tokenizer (a BERT vocab.txt or tokenizer.json); default: the synthetic vocabulary.
    #[arg(long, value_name = "VOCAB")]
    vocab: Option<PathBuf>,
    /// Where generated data and prepare outputs go; default: mlprep-bench in the temporary directory.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// The --partitions values to run prepare at, comma-separated; default: 1 and the number of cores.
    #[arg(long, value_name = "N,N", value_delimiter = ',')]
    partitions: Vec<usize>,
    /// Threads for encode_batch and the tokenize UDF; default: the number of cores.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Rows per Arrow batch in prepare.
    #[arg(long, value_name = "N", default_value_t = mlprep::engine::session::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Memory limit of prepare's query engine, e.g. 1G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    /// Also run prepare on a cluster the bench starts and stops on this machine: local-N is a scheduler and N
    /// executors of one task slot each, on loopback ports (compared with --partitions N, which it adds).
    #[arg(long, value_name = "local-N")]
    cluster: Option<LocalClusterSpec>,
    /// How the --cluster executors get tasks, as `mlprep scheduler --scheduler-policy` takes it.
    #[arg(long, value_enum, default_value_t = SchedulingPolicy::PullStaged, requires = "cluster")]
    scheduler_policy: SchedulingPolicy,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let mut partitions = if args.partitions.is_empty() {
        let mut defaults = vec![1, cores];
        defaults.dedup();
        defaults
    } else {
        args.partitions
    };
    // The cluster's time is compared with a local run on as many partitions as it has task slots.
    if let Some(spec) = args.cluster
        && !partitions.contains(&spec.executors)
    {
        partitions.push(spec.executors);
    }
    let cluster = match args.cluster {
        None => None,
        Some(spec) => Some(mlprep::tools::bench::BenchCluster {
            spec,
            policy: args.scheduler_policy.into(),
            binary: std::env::current_exe().map_err(|error| format!("the mlprep executable: {error}"))?,
        }),
    };
    let options = mlprep::tools::bench::BenchOptions {
        rows: args.rows,
        seed: args.seed,
        data: args.data,
        vocab: args.vocab,
        work_dir: args.work_dir.unwrap_or_else(|| std::env::temp_dir().join("mlprep-bench")),
        partitions,
        threads: args.threads.unwrap_or(cores),
        batch_size: args.batch_size,
        memory_limit: args.memory_limit,
        cluster,
    };
    let report = mlprep::tools::bench::run(&options).await.map_err(message)?;
    print!("{}", mlprep::tools::bench::render(&report));
    Ok(())
}
