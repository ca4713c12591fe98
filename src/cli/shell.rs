//! `mlprep shell`: the interactive shell, or statements from stdin.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;

use super::print::{MaxRows, OutputOptions, PrintFormat, parse_format};
use super::sql::{SqlSessionArgs, parse_maxrows};

#[derive(Args)]
pub struct ShellArgs {
    /// A SQL script to run before the first prompt (repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE.sql")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    pub session: SqlSessionArgs,
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

/// The flags' defaults (the shell started without a command).
impl Default for ShellArgs {
    fn default() -> Self {
        let command = <Self as clap::Args>::augment_args(clap::Command::new("shell"));
        <Self as clap::FromArgMatches>::from_arg_matches(&command.get_matches_from(["shell"]))
            .expect("the defaults parse")
    }
}

/// The shell: scripts given with -f first, then the prompt on a terminal, or stdin as a script otherwise.
pub async fn run(args: ShellArgs) -> Result<(), String> {
    let mut runner = args.session.runner().await?;
    let interactive = std::io::stdin().is_terminal();
    let mut options =
        OutputOptions { format: args.format, timing: interactive && !args.no_timing, maxrows: args.maxrows };
    for file in &args.files {
        super::repl::run_input(&mut runner, &mut options, &format!("\\i {}", file.display()))
            .await
            .map_err(super::message)?;
    }
    if interactive {
        let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".mlprep_history"));
        return super::repl::run_interactive(&mut runner, &mut options, history).await.map_err(super::message);
    }
    let mut script = String::new();
    std::io::stdin().read_to_string(&mut script).map_err(|error| format!("stdin: {error}"))?;
    for statement in mlprep::sql::split_statements(&script) {
        let flow = super::repl::run_input(&mut runner, &mut options, &statement.text)
            .await
            .map_err(|error| format!("stdin line {}: {}", statement.line, super::message(error)))?;
        if flow == super::repl::Flow::Quit {
            break;
        }
    }
    Ok(())
}
