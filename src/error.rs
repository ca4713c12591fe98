//! The library's one error type. Callers decide on its variants, never on its text; the `mlprep` binary
//! turns it into a message and an exit code.

use std::path::{Path, PathBuf};

use datafusion::common::DataFusionError;

use crate::publish::OutputError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Options that cannot work (out of range, contradictory, missing).
    #[error("{0}")]
    Configuration(String),
    /// An input (CSV, tokenizer, classes file, script) that cannot be used as such. `message` names the
    /// file; `line` is set when one line is to blame.
    #[error("{message}")]
    Input { path: PathBuf, line: Option<u64>, message: String },
    /// Rows that cannot be prepared, under `--on-bad-rows fail`; `message` lists the first of them.
    #[error("{message}")]
    BadRows { path: PathBuf, count: usize, message: String },
    /// A script's own text is wrong (a parameter without a value, an unknown meta-command).
    #[error("{script} line {line}: {message}")]
    Script { script: String, line: usize, message: String },
    /// A statement of a script failed.
    #[error("{script} line {line}, in statement:\n{sql}\n\ncaused by\n{source}")]
    Statement { script: String, line: usize, sql: String, source: Box<Error> },
    /// Rows were lost or counted twice on the way.
    #[error(
        "row accounting failed: {0}; no output was kept. This was seen on Ballista 55 clusters after an executor \
         was lost mid-job (the shuffle output of re-run tasks can be read twice); run the job again"
    )]
    Accounting(String),
    /// Reading or writing a file the run works with.
    #[error("'{}': {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// Reading or writing an object of a store (`s3://...`): the URL and the store's answer.
    #[error("'{url}': {source}")]
    Store { url: String, source: object_store::Error },
    /// Where the output goes: refused, or changed while the run worked.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The run failed, and what it had written could not all be removed.
    #[error("{left} (this run's unfinished output)\ncaused by\n{source}")]
    NotCleanedUp { left: Box<Error>, source: Box<Error> },
    /// What cannot happen did: a bug in mlprep (e.g. a shipped script lacks a statement it should have).
    #[error("{0} (a bug in mlprep: please report it)")]
    Internal(String),
    /// The query engine (DataFusion, Ballista) failed.
    #[error(transparent)]
    Engine(DataFusionError),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }

    pub fn input(path: &Path, message: String) -> Self {
        Self::Input { path: path.to_path_buf(), line: None, message }
    }

    /// An input whose header line (line 1) is wrong.
    pub fn header(path: &Path, message: String) -> Self {
        Self::Input { path: path.to_path_buf(), line: Some(1), message }
    }

    /// Whether the engine ran out of memory (the pool of `--memory-limit`), at any depth.
    pub fn is_resources_exhausted(&self) -> bool {
        match self {
            Self::Engine(error) => matches!(error.find_root(), DataFusionError::ResourcesExhausted(_)),
            Self::Statement { source, .. } => source.is_resources_exhausted(),
            _ => false,
        }
    }
}

/// An engine error, or one of ours that passed through the engine (raised inside a scan) as it was.
impl From<DataFusionError> for Error {
    fn from(error: DataFusionError) -> Self {
        match error {
            DataFusionError::External(inner) => match inner.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(inner) => Self::Engine(DataFusionError::External(inner)),
            },
            other => Self::Engine(other),
        }
    }
}

impl From<datafusion::arrow::error::ArrowError> for Error {
    fn from(error: datafusion::arrow::error::ArrowError) -> Self {
        Self::Engine(error.into())
    }
}

/// For what runs inside the engine (a table provider's scan): ours, carried through unchanged.
impl From<Error> for DataFusionError {
    fn from(error: Error) -> Self {
        match error {
            Error::Engine(inner) => inner,
            other => DataFusionError::External(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_pass_through_the_engine_unchanged() {
        let through = Error::from(DataFusionError::from(Error::Accounting("2 rows lost".into())));
        assert!(matches!(&through, Error::Accounting(detail) if detail == "2 rows lost"), "{through:?}");
        let engine = Error::from(DataFusionError::Plan("no table".into()));
        assert!(matches!(DataFusionError::from(engine), DataFusionError::Plan(message) if message == "no table"));
    }

    #[test]
    fn memory_errors_are_found_inside_statements() {
        let exhausted = Error::from(DataFusionError::ResourcesExhausted("pool".into()).context("sorting"));
        let statement =
            Error::Statement { script: "s.sql".into(), line: 3, sql: "SELECT 1".into(), source: Box::new(exhausted) };
        assert!(statement.is_resources_exhausted());
        assert!(!Error::Configuration("x".into()).is_resources_exhausted());
    }
}
