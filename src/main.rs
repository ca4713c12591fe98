use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mlprep::script::ScriptRunner;
use mlprep::session::parse_size;
use mlprep::cluster::{ExecutorOptions, SchedulerOptions, TaskSchedulingPolicy};
use mlprep::output::{MaxRows, OutputOptions, PrintFormat, parse_format, print_output};
use mlprep::{Cluster, OnBadRows, PrepareOptions, SessionOptions, pipeline, synthetic};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its v3 `mi_option_e`; checked by a test against the option's default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed is given back to the system after 250 ms instead of mimalloc's 1 s: the write step frees a
/// bucket's sort and Parquet buffers every second or so, and held for 1 s they overlapped the next ones.
/// Measured (prepare, 2 partitions, `--memory-limit 1G`, peak RSS): 1M rows 0.61-0.66 -> 0.57-0.61 GB, 10M rows
/// 0.73-0.83 -> 0.63-0.68 GB, in the same time; 100 ms: 0.51-0.56 and 0.58-0.63 GB but 5-7% slower; purging at
/// once: 20% slower. `MIMALLOC_PURGE_DELAY` in the environment still wins.
fn set_allocator_options() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // Safety: called first thing in main, before any other thread exists (the setter is not thread safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 250) };
    }
}

/// Turn a CSV of labelled projects into tokenized, split, training-ready Parquet with SQL.
#[derive(Parser)]
#[command(name = "mlprep", version, about)]
struct Cli {
    /// Without a command: the interactive shell on a terminal, this help otherwise.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Split, clean and tokenize a CSV into DIR/train, DIR/val, class_to_index.json and summary.json.
    Prepare(PrepareArgs),
    /// Write synthetic projects of the course dataset's shape as CSV (and optionally a matching vocabulary).
    Generate(GenerateArgs),
    /// Run SQL scripts (-f) and statements (-c), in order, with mlprep's functions and ${name} parameters.
    Sql(SqlArgs),
    /// Interactive SQL shell with mlprep's functions (reads statements from stdin when it is not a terminal).
    Shell(ShellArgs),
    /// Measure every stage against the `tokenizers` crate's encode_batch, in one run (ids checked first).
    Bench(BenchArgs),
    /// Run a Ballista scheduler with mlprep's functions (binds 127.0.0.1 unless told otherwise).
    Scheduler(SchedulerArgs),
    /// Run a Ballista executor with mlprep's functions (binds 127.0.0.1 unless told otherwise).
    Executor(ExecutorArgs),
}

/// Where queries run: locally (default), on a Ballista cluster, or on an in-process Ballista cluster.
#[derive(Args, Default)]
struct ClusterArgs {
    /// Run on the Ballista cluster whose scheduler is at df://HOST:PORT.
    #[arg(long, value_name = "df://HOST:PORT", conflicts_with = "standalone")]
    cluster: Option<String>,
    /// Run on a Ballista cluster started inside this process (scheduler and executor).
    #[arg(long)]
    standalone: bool,
}

impl ClusterArgs {
    fn cluster(&self) -> Cluster {
        match (&self.cluster, self.standalone) {
            (Some(url), _) => Cluster::Remote(url.clone()),
            (None, true) => Cluster::Standalone,
            (None, false) => Cluster::Local,
        }
    }
}

#[derive(Args)]
struct SchedulerArgs {
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
    /// How tasks are handed out: round-robin (one per executor in turn) or bias (fill one executor first).
    #[arg(long, default_value = "round-robin", value_parser = ["round-robin", "bias"])]
    task_distribution: String,
    /// pull-staged: executors poll for tasks (survives losing an executor); push-staged: the scheduler pushes
    /// them. Executors must be started with the same --task-scheduling-policy.
    #[arg(long, default_value = "pull-staged", value_parser = ["pull-staged", "push-staged"])]
    scheduler_policy: String,
}

#[derive(Args)]
struct ExecutorArgs {
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
    #[arg(long, default_value = "pull-staged", value_parser = ["pull-staged", "push-staged"])]
    task_scheduling_policy: String,
}

fn scheduling_policy(name: &str) -> TaskSchedulingPolicy {
    if name == "push-staged" { TaskSchedulingPolicy::PushStaged } else { TaskSchedulingPolicy::PullStaged }
}

/// The host to advertise: the explicit one, else the bound address unless it is a wildcard.
fn advertised_host(external: Option<String>, bind_host: &str) -> String {
    external.unwrap_or_else(|| if bind_host == "0.0.0.0" || bind_host == "::" { "localhost".into() } else { bind_host.into() })
}

#[derive(Args)]
struct SqlArgs {
    /// A SQL script to run (repeatable; scripts and -c statements run in the order given).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    files: Vec<PathBuf>,
    /// A SQL statement to run (repeatable).
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,
    #[command(flatten)]
    session: SqlSessionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The session of `sql` and `shell`: parameters, resources and where queries run.
#[derive(Args, Default)]
struct SqlSessionArgs {
    /// A parameter for ${name} in scripts and statements (repeatable).
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE", value_parser = parse_definition)]
    defines: Vec<(String, String)>,
    /// Partitions per stage, and the threads that run them (the cores the run may use); default: one per core.
    #[arg(long, value_name = "N")]
    partitions: Option<usize>,
    /// Memory the query engine may use before spilling to disk, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    #[command(flatten)]
    cluster: ClusterArgs,
}

impl SqlSessionArgs {
    /// A script runner on a session connected as asked, with the -D parameters.
    async fn runner(self) -> Result<ScriptRunner, String> {
        let mut options = SessionOptions { memory_limit: self.memory_limit, cluster: self.cluster.cluster(), ..Default::default() };
        if let Some(partitions) = self.partitions {
            options.target_partitions = partitions;
        }
        let context = mlprep::connect(&options).await.map_err(|error| error.to_string())?;
        Ok(ScriptRunner::new(context, self.defines.into_iter().collect()))
    }
}

/// How results are printed (datafusion-cli's formats).
#[derive(Args)]
struct OutputArgs {
    /// Output format: table, csv, tsv, json or ndjson.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    format: PrintFormat,
    /// Print the number of rows and the elapsed time after each statement.
    #[arg(long)]
    timing: bool,
    /// Rows the table format shows at most (a number, or none).
    #[arg(long, value_name = "N|none", default_value = "none", value_parser = parse_maxrows)]
    maxrows: MaxRows,
}

impl OutputArgs {
    fn options(&self) -> OutputOptions {
        OutputOptions { format: self.format, timing: self.timing, maxrows: self.maxrows }
    }
}

fn parse_maxrows(text: &str) -> Result<MaxRows, String> {
    text.parse()
}

#[derive(Args)]
struct ShellArgs {
    /// A SQL script to run before the first prompt (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    session: SqlSessionArgs,
    /// Output format: table, csv, tsv, json or ndjson.
    #[arg(long, default_value = "table", value_parser = parse_format)]
    format: PrintFormat,
    /// Rows the table format shows at most (a number, or none).
    #[arg(long, value_name = "N|none", default_value = "40", value_parser = parse_maxrows)]
    maxrows: MaxRows,
    /// Do not print timing after each statement.
    #[arg(long)]
    no_timing: bool,
}

impl Default for ShellArgs {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            session: SqlSessionArgs::default(),
            format: PrintFormat::Table,
            maxrows: MaxRows::Limited(40),
            no_timing: false,
        }
    }
}

fn parse_definition(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))
}

#[derive(Args)]
struct PrepareArgs {
    /// Input CSV with a header (id, created_on, title, description, tag). Without it, mlprep generates a
    /// synthetic dataset and a vocabulary beside DIR and uses them.
    #[arg(long, value_name = "FILE.csv")]
    data: Option<PathBuf>,
    /// Tokenizer: a BERT vocab.txt or a HuggingFace tokenizer.json. Required with --data.
    #[arg(long, value_name = "VOCAB")]
    vocab: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Seed of the shuffle (and of the synthetic data when --data is not given).
    #[arg(long, default_value_t = 1234, allow_negative_numbers = true)]
    seed: i64,
    /// Share of each class that goes to validation: ceil(test_size * rows) rows per class.
    #[arg(long, default_value_t = 0.2)]
    test_size: f64,
    /// Class column: the split is stratified by it and it gives the targets.
    #[arg(long, default_value = "tag")]
    stratify: String,
    /// Column identifying a row: the shuffle hashes it, and it must be unique.
    #[arg(long, default_value = "id")]
    key: String,
    /// Truncate (keeping [SEP] last) and pad every row to N ids; default: pad each split to its longest row.
    #[arg(long, value_name = "N")]
    max_length: Option<usize>,
    /// Partitions per stage, and the threads that run them (the cores the run may use); default: one per core.
    #[arg(long, value_name = "N")]
    partitions: Option<usize>,
    /// Rows per Arrow batch.
    #[arg(long, value_name = "N", default_value_t = 8192)]
    batch_size: usize,
    /// Memory the query engine may use before spilling to disk, e.g. 512M or 2G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    /// Replace DIR if it holds an earlier mlprep output (a directory holding anything else is never replaced).
    #[arg(long)]
    overwrite: bool,
    /// CSV bytes per output file, e.g. 32M: rows are sorted and written one bucket of the shuffle order at a
    /// time (DIR/train/part-00000.parquet, part-00001, …), so memory follows this size, not the input's.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "32M")]
    file_size: usize,
    /// Rows that cannot be prepared (wrong number of fields, invalid UTF-8, an unterminated quote, an empty
    /// or mistyped key or class, a key several rows share): fail names them and writes nothing; skip leaves
    /// them out, lists them in DIR/rejected.csv and counts them in summary.json.
    #[arg(long, value_enum, default_value = "fail")]
    on_bad_rows: OnBadRows,
    /// Before the split, leave out every row whose cleaned text a row with a smaller key has (counted in
    /// summary.json). Without it such rows are only counted: texts in both splits are leakage.
    #[arg(long)]
    dedupe: bool,
    /// The class indices of an earlier run (its class_to_index.json), to prepare data for a model trained on
    /// it: the targets follow the file, and a row of any other class is a bad row (see --on-bad-rows).
    #[arg(long, value_name = "FILE")]
    classes: Option<PathBuf>,
    /// Print how long each step took (on stderr).
    #[arg(long)]
    timing: bool,
    /// Rows of the synthetic dataset used when --data is not given.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    demo_rows: u64,
    #[command(flatten)]
    cluster: ClusterArgs,
}

#[derive(Args)]
struct GenerateArgs {
    /// Number of projects.
    #[arg(long, default_value_t = 10_000)]
    rows: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1234)]
    seed: u64,
    /// Output CSV.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    /// Also write a BERT vocab.txt covering the generator's words.
    #[arg(long, value_name = "FILE")]
    vocab_out: Option<PathBuf>,
    /// Replace --out (and --vocab-out) if it exists (otherwise mlprep refuses).
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// Rows of synthetic data (generated once into the work directory, then reused).
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Seed of the synthetic data.
    #[arg(long, default_value_t = 1234)]
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
    #[arg(long, value_name = "N", default_value_t = 8192)]
    batch_size: usize,
    /// Memory limit of prepare's query engine, e.g. 1G.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
}

async fn run_bench(args: BenchArgs) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    let partitions = if args.partitions.is_empty() {
        let mut defaults = vec![1, cores];
        defaults.dedup();
        defaults
    } else {
        args.partitions
    };
    let options = mlprep::bench::BenchOptions {
        rows: args.rows,
        seed: args.seed,
        data: args.data,
        vocab: args.vocab,
        work_dir: args.work_dir.unwrap_or_else(|| std::env::temp_dir().join("mlprep-bench")),
        partitions,
        threads: args.threads.unwrap_or(cores),
        batch_size: args.batch_size,
        memory_limit: args.memory_limit,
    };
    let report = mlprep::bench::run(&options).await.map_err(message)?;
    print!("{}", mlprep::bench::render(&report));
    Ok(())
}

fn main() -> ExitCode {
    set_allocator_options();
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let threads = match &cli.command {
        Some(Command::Prepare(args)) => args.partitions,
        Some(Command::Sql(args)) => args.session.partitions,
        Some(Command::Shell(args)) => args.session.partitions,
        _ => None,
    };
    let runtime = match mlprep::session::tokio_runtime(threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(command) = cli.command else {
        if std::io::stdin().is_terminal() {
            return exit_code(runtime.block_on(run_shell(ShellArgs::default())));
        }
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return ExitCode::FAILURE;
    };
    let result = match command {
        Command::Shell(args) => runtime.block_on(run_shell(args)),
        Command::Prepare(args) => {
            let out = args.out.clone();
            match runtime.block_on(interruptible(run_prepare(args))) {
                Interruptible::Done(result) => result,
                Interruptible::Interrupted(signal) => {
                    // Tasks still running may write a little more: stop them, then remove what they wrote.
                    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
                    let left = mlprep::publish::remove_unfinished();
                    let left: Vec<String> = left.iter().map(|(path, error)| format!("{} ({error})", path.display())).collect();
                    if left.is_empty() {
                        eprintln!("error: interrupted by {}: nothing was written to {}", signal.name, out.display());
                    } else {
                        eprintln!(
                            "error: interrupted by {}: nothing was written to {}, but {} could not be removed",
                            signal.name,
                            out.display(),
                            left.join(", ")
                        );
                    }
                    return ExitCode::from(128 + signal.number);
                }
            }
        }
        Command::Generate(args) => run_generate(&args),
        Command::Bench(args) => runtime.block_on(run_bench(args)),
        Command::Scheduler(args) => {
            init_logging();
            let options = SchedulerOptions {
                external_host: advertised_host(args.external_host, &args.bind_host),
                bind_host: args.bind_host,
                bind_port: args.bind_port,
                executor_timeout_seconds: args.executor_timeout_seconds,
                round_robin: args.task_distribution == "round-robin",
                scheduling_policy: scheduling_policy(&args.scheduler_policy),
            };
            runtime.block_on(mlprep::cluster::run_scheduler(options)).map_err(|error| error.to_string())
        }
        Command::Executor(args) => {
            init_logging();
            let options = ExecutorOptions {
                external_host: advertised_host(args.external_host, &args.bind_host),
                bind_host: args.bind_host,
                bind_port: args.bind_port,
                bind_grpc_port: args.bind_grpc_port,
                scheduler_host: args.scheduler_host,
                scheduler_port: args.scheduler_port,
                concurrent_tasks: args.concurrent_tasks.unwrap_or_else(|| SessionOptions::default().target_partitions),
                work_dir: args.work_dir,
                memory_pool_size: args.memory_pool_size.map(|size| size as u64),
                executor_id: args.executor_id,
                heartbeat_interval_seconds: args.executor_heartbeat_interval_seconds,
                scheduling_policy: scheduling_policy(&args.task_scheduling_policy),
            };
            runtime.block_on(mlprep::cluster::run_executor(options)).map_err(|error| error.to_string())
        }
        Command::Sql(args) => {
            let order = matches.subcommand_matches("sql").map(command_line_order).unwrap_or_default();
            runtime.block_on(run_sql(args, order))
        }
    };
    exit_code(result)
}

/// A termination signal.
struct Signal {
    name: &'static str,
    number: u8,
}

enum Interruptible<T> {
    Done(T),
    Interrupted(Signal),
}

/// Runs `work` until it ends or the process gets SIGINT or SIGTERM (then `work` is dropped: its queries stop).
async fn interruptible<T>(work: impl std::future::Future<Output = T>) -> Interruptible<T> {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return Interruptible::Done(work.await);
    };
    tokio::select! {
        result = work => Interruptible::Done(result),
        _ = interrupt.recv() => Interruptible::Interrupted(Signal { name: "SIGINT", number: 2 }),
        _ = terminate.recv() => Interruptible::Interrupted(Signal { name: "SIGTERM", number: 15 }),
    }
}

fn exit_code(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_prepare(args: PrepareArgs) -> Result<(), String> {
    let args_timing = args.timing;
    let demo = match (&args.data, &args.vocab) {
        (Some(_), None) => return Err("--vocab is required with --data (a BERT vocab.txt or a tokenizer.json)".into()),
        (Some(_), Some(_)) => None,
        (None, vocab) => Some(DemoInput::new(&args.out, args.demo_rows, args.seed as u64, vocab.clone())?),
    };
    let (data, vocab) = match (&demo, args.data, args.vocab) {
        (Some(demo), _, _) => (demo.data.clone(), demo.vocab.clone()),
        (None, data, vocab) => (data.unwrap_or_default(), vocab.unwrap_or_default()),
    };
    let mut session = SessionOptions {
        batch_size: args.batch_size,
        memory_limit: args.memory_limit,
        cluster: args.cluster.cluster(),
        ..Default::default()
    };
    if let Some(partitions) = args.partitions {
        session.target_partitions = partitions;
    }
    let options = PrepareOptions {
        seed: args.seed,
        test_size: args.test_size,
        stratify: args.stratify,
        key: args.key,
        max_length: args.max_length,
        overwrite: args.overwrite,
        file_size: args.file_size as u64,
        on_bad_rows: args.on_bad_rows,
        dedupe: args.dedupe,
        classes: args.classes,
        session,
        ..PrepareOptions::new(data, vocab, args.out)
    };
    if let Some(demo) = &demo {
        // Only once the output is known to be writable: a refused run creates nothing.
        pipeline::check_output(&options).map_err(message)?;
        demo.write()?;
        println!(
            "No --data given: using {} synthetic projects (seed {}) written to {} and the vocabulary {}",
            demo.rows,
            demo.seed,
            demo.data.display(),
            demo.vocab.display()
        );
    }
    let report = pipeline::prepare(&options).await.map_err(message)?;
    println!(
        "Prepared {} rows from {} with vocabulary {}: {} train, {} val, {} classes -> {}",
        report.rows_read,
        options.data.display(),
        options.vocab.display(),
        report.train.rows,
        report.val.rows,
        report.class_to_index.len(),
        report.out.display()
    );
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if options.dedupe {
        println!("{} rows left out by --dedupe (their cleaned text is another row's)", report.rows_deduplicated);
    }
    if report.val_rows_with_a_train_text > 0 {
        println!(
            "warning: {} validation rows have a cleaned text that training rows have too (leakage; see summary.json, or --dedupe)",
            report.val_rows_with_a_train_text
        );
    }
    if options.on_bad_rows == OnBadRows::Skip {
        println!("{} rows set aside, listed in {}", report.rows_rejected, report.out.join("rejected.csv").display());
    }
    if args_timing {
        for (step, elapsed) in &report.step_times {
            eprintln!("{:>9.3} s  {step}", elapsed.as_secs_f64());
        }
    }
    Ok(())
}

/// The built-in default's inputs: synthetic projects and the vocabulary covering them, in `DIR-demo-input`
/// beside the output directory. The projects file is named by its rows and seed, so each dataset has its own.
struct DemoInput {
    data: PathBuf,
    vocab: PathBuf,
    /// Whether `vocab` is the demo vocabulary, written with the data (otherwise `--vocab` gave it).
    own_vocab: bool,
    rows: u64,
    seed: u64,
}

impl DemoInput {
    fn new(out: &Path, rows: u64, seed: u64, vocab: Option<PathBuf>) -> Result<Self, String> {
        let out = mlprep::publish::resolve(out).map_err(|error| format!("{}: {error}", out.display()))?;
        let name = out.file_name().ok_or_else(|| format!("output directory '{}' has no name", out.display()))?;
        let directory = out.with_file_name(format!("{}-demo-input", name.to_string_lossy()));
        let data = directory.join(format!("projects-{rows}-seed{seed}.csv"));
        let own_vocab = vocab.is_none();
        let vocab = vocab.unwrap_or_else(|| directory.join("vocab.txt"));
        Ok(Self { data, vocab, own_vocab, rows, seed })
    }

    /// Writes the inputs; a file already there is kept when it holds the same bytes, never replaced.
    fn write(&self) -> Result<(), String> {
        use mlprep::publish::{IfExists, write_file};
        if let Some(directory) = self.data.parent() {
            std::fs::create_dir_all(directory).map_err(|error| format!("{}: {error}", directory.display()))?;
        }
        write_file(&self.data, IfExists::KeepIfIdentical, |out| synthetic::write_projects_csv(out, self.rows, self.seed))
            .map_err(|error| error.to_string())?;
        if self.own_vocab {
            write_file(&self.vocab, IfExists::KeepIfIdentical, |out| out.write_all(synthetic::demo_vocabulary().as_bytes()))
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

/// The message of a library error; mlprep's own errors (a refused output) without DataFusion's prefix.
fn message(error: datafusion::error::DataFusionError) -> String {
    match error {
        datafusion::error::DataFusionError::External(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

fn run_generate(args: &GenerateArgs) -> Result<(), String> {
    use mlprep::publish::{IfExists, write_file};
    let if_exists = if args.overwrite { IfExists::Replace } else { IfExists::Refuse };
    if let Some(vocab_out) = &args.vocab_out {
        let resolve = |path: &PathBuf| mlprep::publish::resolve(path).map_err(|error| format!("{}: {error}", path.display()));
        if resolve(vocab_out)? == resolve(&args.out)? {
            return Err(format!("--out and --vocab-out are the same file '{}'", args.out.display()));
        }
        // Both refused before either is written.
        for path in [&args.out, vocab_out] {
            if !args.overwrite && std::fs::symlink_metadata(path).is_ok() {
                return Err(mlprep::publish::OutputError::FileExists { path: path.clone() }.to_string());
            }
        }
    }
    write_file(&args.out, if_exists, |out| synthetic::write_projects_csv(out, args.rows, args.seed)).map_err(|error| error.to_string())?;
    if let Some(vocab_out) = &args.vocab_out {
        write_file(vocab_out, if_exists, |out| out.write_all(synthetic::demo_vocabulary().as_bytes()))
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Where each `-f` and `-c` value stood on the command line (clap keeps each option's values apart).
fn command_line_order(matches: &clap::ArgMatches) -> (Vec<usize>, Vec<usize>) {
    let indices = |id: &str| matches.indices_of(id).map(|indices| indices.collect()).unwrap_or_default();
    (indices("files"), indices("commands"))
}

/// Runs `-f` scripts and `-c` statements in command-line order, printing each result as it comes.
async fn run_sql(args: SqlArgs, (file_positions, command_positions): (Vec<usize>, Vec<usize>)) -> Result<(), String> {
    if args.files.is_empty() && args.commands.is_empty() {
        return Err("nothing to run: pass -f FILE.sql or -c \"SQL\"".into());
    }
    let mut runner = args.session.runner().await?;
    let format_options = runner.context().state().config().options().format.clone();
    let output_options = args.output.options();
    let mut steps: Vec<(usize, SqlStep)> = Vec::new();
    steps.extend(file_positions.into_iter().zip(args.files).map(|(index, file)| (index, SqlStep::File(file))));
    steps.extend(command_positions.into_iter().zip(args.commands).map(|(index, sql)| (index, SqlStep::Command(sql))));
    steps.sort_by_key(|(index, _)| *index);
    let mut sink = |output: mlprep::script::StatementOutput| {
        print_output(&mut std::io::stdout().lock(), &output, &output_options, &format_options)
    };
    for (_, step) in steps {
        match &step {
            SqlStep::File(path) => runner.run_file_each(path, &mut sink).await,
            SqlStep::Command(sql) => runner.run_script_each("-c", sql, None, &mut sink).await,
        }
        .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// The shell: scripts given with -f first, then the prompt on a terminal, or stdin as a script otherwise.
async fn run_shell(args: ShellArgs) -> Result<(), String> {
    let mut runner = args.session.runner().await?;
    let interactive = std::io::stdin().is_terminal();
    let mut options = OutputOptions { format: args.format, timing: interactive && !args.no_timing, maxrows: args.maxrows };
    for file in &args.files {
        mlprep::shell::run_input(&mut runner, &mut options, &format!("\\i {}", file.display())).await.map_err(|error| error.to_string())?;
    }
    if interactive {
        let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".mlprep_history"));
        return mlprep::shell::run_interactive(&mut runner, &mut options, history).await.map_err(|error| error.to_string());
    }
    let mut script = String::new();
    std::io::stdin().read_to_string(&mut script).map_err(|error| format!("stdin: {error}"))?;
    for statement in mlprep::script::split_statements(&script) {
        let flow = mlprep::shell::run_input(&mut runner, &mut options, &statement.text)
            .await
            .map_err(|error| format!("stdin line {}: {error}", statement.line))?;
        if flow == mlprep::shell::Flow::Quit {
            break;
        }
    }
    Ok(())
}

enum SqlStep {
    File(PathBuf),
    Command(String),
}

/// Ballista logs through `log`: show its info messages (task launches, executor registration) on stderr,
/// or whatever RUST_LOG asks for.
fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).try_init();
}

#[cfg(test)]
mod tests {
    /// Option 15 is the purge delay: the one option of mimalloc v3 that defaults to 1000 (ms), or the value of
    /// its environment variable. A renumbered mimalloc fails here instead of setting another option.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let expected = std::env::var("MIMALLOC_PURGE_DELAY").map_or(1000, |value| value.parse().unwrap());
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) }, expected);
    }
}
