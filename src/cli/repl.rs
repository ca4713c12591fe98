//! `mlprep shell`: an interactive SQL session with mlprep's functions, in the manner of datafusion-cli.
//!
//! Line editing, history, syntax highlighting and the output formats are datafusion-cli's and rustyline's;
//! statements run through [`ScriptRunner`], so `${name}` parameters, `\set` and `\i` work as in scripts.
//! A statement may span lines and ends at `;`; a line starting with `\` is a command (`\?` lists them).

use std::borrow::Cow;
use std::path::PathBuf;

use datafusion::logical_expr::Documentation;
use datafusion::prelude::SessionContext;
use datafusion_cli::helper::CliHelper;
use mlprep::error::{Error, Result};
use mlprep::sql::{ScriptRunner, StatementOutput};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use super::print::{FORMAT_NAMES, MaxRows, OutputOptions, format_name, parse_format, print_output};

/// The shell's commands, as `\?` lists them.
const COMMANDS: &[(&str, &str)] = &[
    ("\\q", "quit (also: quit, exit, Ctrl-D)"),
    ("\\?", "this help"),
    ("\\d", "list tables and views"),
    ("\\d NAME", "the columns of a table or view"),
    ("\\h", "mlprep's SQL functions (SHOW FUNCTIONS lists all)"),
    ("\\h FUNCTION", "a function's documentation: mlprep's or DataFusion's"),
    ("\\timing [on|off]", "show rows and elapsed time after each statement"),
    ("\\format [NAME]", "output format: table, csv, tsv, json, ndjson"),
    ("\\maxrows [N|none]", "rows the table format shows"),
    ("\\set NAME VALUE", "set the parameter ${NAME} for later statements"),
    ("\\i FILE", "run a SQL script"),
];

/// Runs the interactive loop until `\q` or end of input. History is kept in `history`, if given.
pub async fn run_interactive(
    runner: &mut ScriptRunner,
    options: &mut OutputOptions,
    history: Option<PathBuf>,
) -> Result<()> {
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::new().map_err(readline_error)?;
    editor.set_helper(Some(ShellHelper { inner: CliHelper::new(&Default::default(), true) }));
    if let Some(history) = &history {
        let _ = editor.load_history(history);
    }
    println!(
        "mlprep {} SQL shell (DataFusion {}). \\? for help, \\q to quit.",
        env!("CARGO_PKG_VERSION"),
        datafusion::DATAFUSION_VERSION
    );
    loop {
        match editor.readline("mlprep> ") {
            Ok(line) => {
                let input = line.trim();
                if input.is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.trim_end());
                match run_input(runner, options, input).await {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Quit) => break,
                    Err(error) => println!("Error: {error}"),
                }
            }
            Err(ReadlineError::Interrupted) => println!("^C"),
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(readline_error(error)),
        }
    }
    if let Some(history) = &history {
        let _ = editor.save_history(history);
    }
    Ok(())
}

/// Whether the shell goes on after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Runs one complete input: a command or statements. Ctrl-C cancels a running statement.
pub async fn run_input(runner: &mut ScriptRunner, options: &mut OutputOptions, input: &str) -> Result<Flow> {
    if matches!(input.trim_end_matches(';'), "quit" | "exit") {
        return Ok(Flow::Quit);
    }
    let sql = match input.strip_prefix('\\') {
        Some(command) => match shell_command(runner.context(), options, command)? {
            Command::Done(flow) => return Ok(flow),
            Command::Run(sql) => sql,
        },
        None => input.to_owned(),
    };
    let format_options = runner.context().state().config().options().format.clone();
    let printing = options.clone();
    let mut sink = move |output: StatementOutput| {
        let mut stdout = std::io::stdout().lock();
        print_output(&mut stdout, &output, &printing, &format_options)
    };
    let current_directory = std::env::current_dir().ok();
    tokio::select! {
        result = runner.run_script_each("shell", &sql, current_directory.as_deref(), &mut sink) => result?,
        _ = tokio::signal::ctrl_c() => println!("^C (statement cancelled)"),
    }
    Ok(Flow::Continue)
}

enum Command {
    /// Handled here.
    Done(Flow),
    /// Run this as SQL or as a script meta-command.
    Run(String),
}

fn shell_command(context: &SessionContext, options: &mut OutputOptions, command: &str) -> Result<Command> {
    let (name, argument) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let argument = argument.trim();
    let done = Ok(Command::Done(Flow::Continue));
    match name {
        "q" | "quit" => Ok(Command::Done(Flow::Quit)),
        "?" => {
            let width = COMMANDS.iter().map(|(command, _)| command.len()).max().unwrap_or(0);
            for (command, description) in COMMANDS {
                println!("  {command:width$}  {description}");
            }
            done
        }
        "d" if argument.is_empty() => Ok(Command::Run("SHOW TABLES".into())),
        "d" => Ok(Command::Run(format!("SHOW COLUMNS FROM {argument}"))),
        "h" | "help" if argument.is_empty() => {
            print!("{}", function_list(context));
            done
        }
        "h" | "help" => {
            print!("{}", function_help(context, argument)?);
            done
        }
        "timing" => {
            options.timing = match argument {
                "" => !options.timing,
                "on" => true,
                "off" => false,
                other => return Err(Error::Configuration(format!("\\timing {other}: expected on or off"))),
            };
            println!("Timing is {}.", if options.timing { "on" } else { "off" });
            done
        }
        "format" | "pset" => {
            let value =
                if name == "pset" { argument.strip_prefix("format").map(str::trim).unwrap_or("") } else { argument };
            if !value.is_empty() {
                options.format = parse_format(value).map_err(Error::Configuration)?;
            }
            println!("Output format is {} (one of {}).", format_name(options.format), FORMAT_NAMES.join(", "));
            done
        }
        "maxrows" => {
            if !argument.is_empty() {
                options.maxrows = argument.parse::<MaxRows>().map_err(Error::Configuration)?;
            }
            println!("Table output shows {} rows.", options.maxrows);
            done
        }
        "set" | "i" | "include" => Ok(Command::Run(format!("\\{command}"))),
        other => Err(Error::Configuration(format!("unknown command \\{other}; \\? lists the commands"))),
    }
}

/// `\h`: mlprep's functions with their one-line descriptions.
pub fn function_list(context: &SessionContext) -> String {
    let state = context.state();
    let mut text = String::from("mlprep's SQL functions (\\h NAME for one; SHOW FUNCTIONS lists DataFusion's too):\n");
    for function in mlprep_udfs::all_functions() {
        let name = function.name().to_owned();
        let summary = state
            .scalar_functions()
            .get(&name)
            .and_then(|udf| udf.documentation().map(|doc| first_sentence(&doc.description)))
            .unwrap_or_default();
        text.push_str(&format!("  {name:<12} {summary}\n"));
    }
    text
}

/// `\h NAME`: the documentation of a scalar, aggregate or window function.
pub fn function_help(context: &SessionContext, name: &str) -> Result<String> {
    let state = context.state();
    let lower = name.to_ascii_lowercase();
    let documentation = state
        .scalar_functions()
        .get(&lower)
        .map(|udf| udf.documentation().cloned())
        .or_else(|| state.aggregate_functions().get(&lower).map(|udaf| udaf.documentation().cloned()))
        .or_else(|| state.window_functions().get(&lower).map(|udwf| udwf.documentation().cloned()));
    match documentation {
        Some(Some(documentation)) => Ok(render_documentation(&lower, &documentation)),
        Some(None) => Ok(format!("{lower}: no documentation\n")),
        None => Err(Error::Configuration(format!(
            "no function named '{name}' (\\h lists mlprep's functions; SHOW FUNCTIONS lists all)"
        ))),
    }
}

fn render_documentation(name: &str, documentation: &Documentation) -> String {
    let mut text =
        format!("{name}\n\n{}\n\nSyntax: {}\n", documentation.description.trim(), documentation.syntax_example);
    if let Some(arguments) = &documentation.arguments {
        text.push_str("\nArguments:\n");
        for (argument, description) in arguments {
            text.push_str(&format!("  {argument}: {description}\n"));
        }
    }
    if let Some(example) = &documentation.sql_example {
        text.push_str(&format!("\nExample:\n{}\n", example.trim_end()));
    }
    text
}

/// The first sentence: up to the first `.` followed by whitespace or the end.
fn first_sentence(text: &str) -> String {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|&(position, character)| {
            character == '.' && text[position + 1..].chars().next().is_none_or(char::is_whitespace)
        })
        .map_or(text.len(), |(position, _)| position + 1);
    text[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `input` is a complete entry: a command line, or statements ending at a `;` outside quotes
/// and comments.
pub fn input_is_complete(input: &str) -> bool {
    let trimmed = input.trim();
    if trimmed.starts_with('\\') || matches!(trimmed, "quit" | "exit") {
        return true;
    }
    let mut quote: Option<char> = None;
    let mut last_code = None;
    let mut chars = trimmed.chars().peekable();
    while let Some(character) = chars.next() {
        match quote {
            Some(open) => {
                if character == open {
                    quote = None;
                    last_code = Some(character);
                }
            }
            None => match character {
                '\'' | '"' => quote = Some(character),
                '-' if chars.peek() == Some(&'-') => {
                    for rest in chars.by_ref() {
                        if rest == '\n' {
                            break;
                        }
                    }
                }
                character if character.is_whitespace() => {}
                character => last_code = Some(character),
            },
        }
    }
    quote.is_none() && last_code == Some(';')
}

/// datafusion-cli's highlighting and hints, with a validator that knows `${name}` parameters and
/// mlprep's commands (the SQL itself is checked when it runs).
struct ShellHelper {
    inner: CliHelper,
}

impl Validator for ShellHelper {
    fn validate(&self, context: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if input_is_complete(context.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, position: usize) -> Cow<'l, str> {
        self.inner.highlight(line, position)
    }

    fn highlight_char(&self, line: &str, position: usize, kind: CmdKind) -> bool {
        self.inner.highlight_char(line, position, kind)
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        self.inner.highlight_hint(hint)
    }
}

impl Hinter for ShellHelper {
    type Hint = String;

    fn hint(&self, line: &str, position: usize, context: &Context<'_>) -> Option<String> {
        self.inner.hint(line, position, context)
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, position: usize, context: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        self.inner.complete(line, position, context)
    }
}

impl Helper for ShellHelper {}

fn readline_error(error: ReadlineError) -> Error {
    Error::io(std::path::Path::new("the terminal"), std::io::Error::other(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_complete_at_a_semicolon_outside_quotes_and_comments() {
        assert!(input_is_complete("SELECT 1;"));
        assert!(input_is_complete("SELECT\n  tokenize('a', '${vocab}');  "));
        assert!(input_is_complete("\\d"));
        assert!(input_is_complete("quit"));
        assert!(!input_is_complete("SELECT 1"));
        assert!(!input_is_complete("SELECT ';"));
        assert!(!input_is_complete("SELECT 1 -- done;"));
        assert!(input_is_complete("SELECT 'a;b'; -- trailing comment"));
    }

    #[test]
    fn first_sentences_summarise_descriptions() {
        assert_eq!(first_sentence("Cleans text. Then more."), "Cleans text.");
        assert_eq!(first_sentence("One line"), "One line");
        assert_eq!(first_sentence("Uses v1.2 of it.\n\nMore."), "Uses v1.2 of it.");
    }
}
