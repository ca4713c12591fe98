//! Running SQL scripts: `${name}` parameters, statements split at `;`, and two psql-style meta-commands
//! (`\set name value`, `\i file.sql`). `mlprep prepare` runs the scripts in `sql/` through this, so the
//! scripts a user runs by hand are the ones the pipeline runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;

use super::params::Param;
use crate::error::{Error, Result};

/// One statement of a script and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    /// 1-based line of the statement's first character in its script.
    pub line: usize,
}

/// What a statement returned.
#[derive(Debug)]
pub struct StatementOutput {
    pub source: String,
    pub line: usize,
    pub sql: String,
    /// The result's columns (none for statements such as `CREATE VIEW` that return nothing to show).
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Planning and execution time.
    pub elapsed: Duration,
}

impl StatementOutput {
    pub fn row_count(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Receives each statement's output as soon as the statement has run.
pub type OutputSink<'a> = &'a mut (dyn FnMut(StatementOutput) -> Result<()> + Send);

/// Replaces every `${name}` with its value, and `${name:-default}` with its value or `default`.
/// `source` names the script in errors.
pub fn substitute(text: &str, params: &BTreeMap<String, String>, source: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let line = 1 + text[..text.len() - rest.len() + start].matches('\n').count();
        let Some(length) = rest[start..].find('}') else {
            return Err(script_error(source, line, "unterminated parameter `${`".to_owned()));
        };
        let body = &rest[start + 2..start + length];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        match (params.get(name), default) {
            (Some(value), _) => out.push_str(value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(script_error(
                    source,
                    line,
                    format!("parameter `{name}` has no value (set it with -D {name}=VALUE or \\set {name} VALUE)"),
                ));
            }
        }
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Splits a script into statements at `;` outside quotes and comments. A line starting with `\` (outside
/// a statement) is one meta-command. Comment-only pieces are dropped.
pub fn split_statements(text: &str) -> Vec<Statement> {
    let bytes = text.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut line = 1;
    let mut start_line = 1;
    let mut has_code = false;
    let mut position = 0;
    let push = |statements: &mut Vec<Statement>, piece: &str, piece_line: usize| {
        let trimmed = piece.trim();
        if !trimmed.is_empty() {
            statements.push(Statement { text: trimmed.to_owned(), line: piece_line });
        }
    };
    while position < bytes.len() {
        let byte = bytes[position];
        if !has_code && byte.is_ascii_whitespace() {
            if byte == b'\n' {
                line += 1;
            }
            position += 1;
            start = position;
            continue;
        }
        if !has_code && byte == b'\\' {
            let end = text[position..].find('\n').map_or(bytes.len(), |offset| position + offset);
            push(&mut statements, &text[position..end], line);
            position = end;
            start = end;
            continue;
        }
        match byte {
            b'\'' | b'"' => {
                if !has_code {
                    start_line = line;
                }
                has_code = true;
                position += 1;
                while position < bytes.len() {
                    if bytes[position] == b'\n' {
                        line += 1;
                    }
                    if bytes[position] == byte {
                        // A doubled quote is an escaped quote inside the literal.
                        if bytes.get(position + 1) == Some(&byte) {
                            position += 2;
                            continue;
                        }
                        break;
                    }
                    position += 1;
                }
                position += 1;
            }
            b'-' if bytes.get(position + 1) == Some(&b'-') => {
                position = text[position..].find('\n').map_or(bytes.len(), |offset| position + offset);
                if !has_code {
                    start = position;
                }
            }
            b'/' if bytes.get(position + 1) == Some(&b'*') => {
                let end = text[position + 2..].find("*/").map_or(bytes.len(), |offset| position + 2 + offset + 2);
                line += text[position..end].matches('\n').count();
                position = end;
                if !has_code {
                    start = position;
                }
            }
            b';' => {
                push(&mut statements, &text[start..position], start_line);
                has_code = false;
                position += 1;
                start = position;
            }
            _ => {
                if byte == b'\n' {
                    line += 1;
                }
                if !has_code {
                    start_line = line;
                    start = position;
                }
                has_code = true;
                position += 1;
            }
        }
    }
    if has_code {
        push(&mut statements, &text[start..], start_line);
    }
    statements
}

/// The plan of the statement a runner is running, if any: a progress display reads its metrics.
pub type RunningPlan = Arc<std::sync::Mutex<Option<Arc<dyn ExecutionPlan>>>>;

/// Runs scripts and statements on one session, with parameters (each name's SQL text).
pub struct ScriptRunner {
    context: SessionContext,
    params: BTreeMap<String, String>,
    running: RunningPlan,
}

impl ScriptRunner {
    pub fn new(context: SessionContext, params: BTreeMap<String, String>) -> Self {
        Self { context, params, running: RunningPlan::default() }
    }

    /// Where the plan of the running statement is while it runs.
    pub fn running_plan(&self) -> RunningPlan {
        Arc::clone(&self.running)
    }

    pub fn context(&self) -> &SessionContext {
        &self.context
    }

    pub fn params(&self) -> &BTreeMap<String, String> {
        &self.params
    }

    pub fn set_param(&mut self, name: &str, value: Param) {
        self.params.insert(name.to_owned(), value.to_sql());
    }

    /// Runs every statement of `text`; `source` names it in errors and `directory` resolves `\i` paths.
    pub async fn run_script(
        &mut self,
        source: &str,
        text: &str,
        directory: Option<&Path>,
    ) -> Result<Vec<StatementOutput>> {
        let mut outputs = Vec::new();
        self.run_script_each(source, text, directory, &mut |output| {
            outputs.push(output);
            Ok(())
        })
        .await?;
        Ok(outputs)
    }

    /// Runs every statement of the script at `path`, handing each statement's output to `sink` as soon as
    /// it has run.
    pub async fn run_file_each(&mut self, path: &Path, sink: OutputSink<'_>) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::input(path, format!("cannot read script {}: {error}", path.display())))?;
        self.run_script_each(&path.display().to_string(), &text, path.parent(), sink).await
    }

    /// Like [`Self::run_script`], handing each statement's output to `sink` as soon as it has run.
    pub async fn run_script_each(
        &mut self,
        source: &str,
        text: &str,
        directory: Option<&Path>,
        sink: OutputSink<'_>,
    ) -> Result<()> {
        for statement in split_statements(text) {
            let sql = substitute(&statement.text, &self.params, source)
                .map_err(|error| relocate(error, statement.line.saturating_sub(1)))?;
            Box::pin(self.run_one(source, statement.line, &sql, directory, &mut *sink)).await?;
        }
        Ok(())
    }

    async fn run_one(
        &mut self,
        source: &str,
        line: usize,
        sql: &str,
        directory: Option<&Path>,
        sink: OutputSink<'_>,
    ) -> Result<()> {
        if let Some(meta) = sql.strip_prefix('\\') {
            return self.run_meta(source, line, meta, directory, sink).await;
        }
        let started = Instant::now();
        let running = Arc::clone(&self.running);
        let (schema, batches) = async {
            let frame = self.context.sql(sql).await?;
            let schema: SchemaRef = Arc::new(frame.schema().as_arrow().clone());
            let task = Arc::new(frame.task_ctx());
            let plan = frame.create_physical_plan().await?;
            *running.lock().expect("not poisoned") = Some(Arc::clone(&plan));
            let batches = datafusion::physical_plan::collect(plan, task).await;
            *running.lock().expect("not poisoned") = None;
            Ok::<_, DataFusionError>((schema, batches?))
        }
        .await
        .map_err(|error| Error::Statement {
            script: source.to_owned(),
            line,
            sql: sql.to_owned(),
            source: Box::new(error.into()),
        })?;
        sink(StatementOutput {
            source: source.to_owned(),
            line,
            sql: sql.to_owned(),
            schema,
            batches,
            elapsed: started.elapsed(),
        })
    }

    async fn run_meta(
        &mut self,
        source: &str,
        line: usize,
        meta: &str,
        directory: Option<&Path>,
        sink: OutputSink<'_>,
    ) -> Result<()> {
        let (command, argument) = meta.split_once(char::is_whitespace).unwrap_or((meta, ""));
        let argument = argument.trim();
        match command {
            "set" => {
                let (name, value) = argument.split_once(char::is_whitespace).unwrap_or((argument, ""));
                if name.is_empty() {
                    return Err(script_error(source, line, "\\set needs a name".to_owned()));
                }
                self.set_param(name, Param::Sql(value.trim().to_owned()));
                Ok(())
            }
            "i" | "include" => {
                let path = PathBuf::from(argument);
                let path = match directory {
                    Some(directory) if path.is_relative() && !path.exists() => directory.join(path),
                    _ => path,
                };
                Box::pin(self.run_file_each(&path, sink)).await
            }
            other => {
                Err(script_error(source, line, format!("unknown meta-command \\{other} (scripts know \\set and \\i)")))
            }
        }
    }
}

fn script_error(source: &str, line: usize, message: String) -> Error {
    Error::Script { script: source.to_owned(), line, message }
}

/// Shifts the line of a substitution error from a statement's own lines to the script's.
fn relocate(error: Error, offset: usize) -> Error {
    match error {
        Error::Script { script, line, message } => Error::Script { script, line: line + offset, message },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        let script = "-- a comment; not a statement\nSELECT 'a;b' AS x;\n\n/* block ; */ SELECT \"c;d\"\nFROM t;\n\\set seed 1234\nSELECT 3";
        let statements = split_statements(script);
        let texts: Vec<&str> = statements.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["SELECT 'a;b' AS x", "SELECT \"c;d\"\nFROM t", "\\set seed 1234", "SELECT 3"]);
        let lines: Vec<usize> = statements.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 4, 6, 7]);
    }

    #[test]
    fn escaped_quotes_stay_inside_literals() {
        let statements = split_statements("SELECT 'it''s; fine'; SELECT 2;");
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].text, "SELECT 'it''s; fine'");
    }

    #[test]
    fn substitutes_parameters_and_defaults() {
        let params = BTreeMap::from([("seed".to_owned(), "7".to_owned())]);
        assert_eq!(substitute("h(${seed}, ${size:-0.2})", &params, "s.sql").unwrap(), "h(7, 0.2)");
        let error = substitute("SELECT 1;\nSELECT ${missing}", &params, "s.sql").unwrap_err().to_string();
        assert!(error.contains("s.sql line 2") && error.contains("`missing`"), "{error}");
    }
}
