//! `mlprep sql`: scripts and statements in command-line order, and the session options `shell` shares.

use std::path::PathBuf;

use clap::Args;
use mlprep::sql::ScriptRunner;

use super::engine::EngineArgs;
use super::print::{MaxRows, OutputOptions, PrintFormat, parse_format, print_output};

#[derive(Args)]
pub struct SqlArgs {
    /// A SQL script to run (repeatable; scripts and -c statements run in the order given).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    files: Vec<PathBuf>,
    /// A SQL statement to run (repeatable).
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    commands: Vec<String>,
    #[command(flatten)]
    pub session: SqlSessionArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The session of `sql` and `shell`: parameters, resources and where queries run.
#[derive(Args, Default)]
pub struct SqlSessionArgs {
    /// A parameter for ${name} in scripts and statements (repeatable).
    #[arg(short = 'D', long = "define", value_name = "NAME=VALUE", value_parser = parse_definition)]
    defines: Vec<(String, String)>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

impl SqlSessionArgs {
    /// A script runner on a session connected as asked, with the -D parameters.
    pub async fn runner(self) -> Result<ScriptRunner, String> {
        let context = mlprep::connect(&self.engine.session_options()).await.map_err(super::message)?;
        Ok(ScriptRunner::new(context, self.defines.into_iter().collect()))
    }
}

/// How results are printed (datafusion-cli's formats).
#[derive(Args)]
pub struct OutputArgs {
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

pub(super) fn parse_maxrows(text: &str) -> Result<MaxRows, String> {
    text.parse()
}

fn parse_definition(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))
}

/// Where each `-f` and `-c` value stood on the command line (clap keeps each option's values apart).
pub fn command_line_order(matches: &clap::ArgMatches) -> (Vec<usize>, Vec<usize>) {
    let indices = |id: &str| matches.indices_of(id).map(|indices| indices.collect()).unwrap_or_default();
    (indices("files"), indices("commands"))
}

/// Runs `-f` scripts and `-c` statements in command-line order, printing each result as it comes.
pub async fn run(args: SqlArgs, (file_positions, command_positions): (Vec<usize>, Vec<usize>)) -> Result<(), String> {
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
    let mut sink = |output: mlprep::sql::StatementOutput| {
        print_output(&mut std::io::stdout().lock(), &output, &output_options, &format_options)
    };
    for (_, step) in steps {
        match &step {
            SqlStep::File(path) => runner.run_file_each(path, &mut sink).await,
            SqlStep::Command(sql) => runner.run_script_each("-c", sql, None, &mut sink).await,
        }
        .map_err(super::message)?;
    }
    Ok(())
}

enum SqlStep {
    File(PathBuf),
    Command(String),
}
