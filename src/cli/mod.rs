//! The `mlprep` command line: one module per subcommand; this one parses and dispatches.

mod allocator;
mod bench;
mod cluster;
mod engine;
mod generate;
mod prepare;
mod print;
mod repl;
mod report;
mod shell;
mod signals;
mod sql;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use allocator::tune as tune_allocator;

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
    /// Split, clean and tokenize a CSV into DIR/train, DIR/val, class_to_index.json, summary.json and a dataset card.
    Prepare(prepare::PrepareArgs),
    /// Draw the dataset card (DIR/README.md) and pictures (DIR/report/, DIR/report.html) of an output again.
    Report(report::ReportArgs),
    /// Write synthetic projects of the course dataset's shape as CSV (and optionally a matching vocabulary).
    Generate(generate::GenerateArgs),
    /// Run SQL scripts (-f) and statements (-c), in order, with mlprep's functions and ${name} parameters.
    Sql(sql::SqlArgs),
    /// Interactive SQL shell with mlprep's functions (reads statements from stdin when it is not a terminal).
    Shell(shell::ShellArgs),
    /// Measure every stage against the `tokenizers` crate's encode_batch, in one run (ids checked first).
    Bench(bench::BenchArgs),
    /// Run a Ballista scheduler with mlprep's functions (binds 127.0.0.1 unless told otherwise).
    Scheduler(cluster::SchedulerArgs),
    /// Run a Ballista executor with mlprep's functions (binds 127.0.0.1 unless told otherwise).
    Executor(cluster::ExecutorArgs),
}

/// Parses the command line and runs the command on a runtime of as many threads as its `--partitions`.
pub fn run() -> ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let threads = match &cli.command {
        Some(Command::Prepare(args)) => args.engine.partitions,
        Some(Command::Sql(args)) => args.session.engine.partitions,
        Some(Command::Shell(args)) => args.session.engine.partitions,
        _ => None,
    };
    let runtime = match mlprep::engine::session::tokio_runtime(threads) {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let Some(command) = cli.command else {
        if std::io::stdin().is_terminal() {
            return exit_code(runtime.block_on(shell::run(shell::ShellArgs::default())));
        }
        let _ = <Cli as clap::CommandFactory>::command().print_help();
        return ExitCode::FAILURE;
    };
    let result = match command {
        Command::Prepare(args) => return prepare::run(runtime, args),
        Command::Shell(args) => runtime.block_on(shell::run(args)),
        Command::Generate(args) => generate::run(&args),
        Command::Report(args) => runtime.block_on(report::run(args)),
        Command::Bench(args) => runtime.block_on(bench::run(args)),
        Command::Scheduler(args) => runtime.block_on(cluster::run_scheduler(args)),
        Command::Executor(args) => runtime.block_on(cluster::run_executor(args)),
        Command::Sql(args) => {
            let order = matches.subcommand_matches("sql").map(sql::command_line_order).unwrap_or_default();
            runtime.block_on(sql::run(args, order))
        }
    };
    exit_code(result)
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

/// What the user reads of a library error: its message; every failure exits with status 1 (clap's usage
/// errors 2, a signal 128 + its number).
fn message(error: mlprep::error::Error) -> String {
    error.to_string()
}
