//! Errors of the library as DataFusion errors: what `prepare`'s steps share.

use std::path::Path;

use datafusion::common::DataFusionError;

use crate::publish::OutputError;

/// Rows were lost or counted twice on the way. The one cause seen so far is named in the message.
pub fn accounting_error(detail: String) -> DataFusionError {
    DataFusionError::Execution(format!(
        "row accounting failed: {detail}; no output was kept. This was seen on Ballista 55 clusters after an \
         executor was lost mid-job (the shuffle output of re-run tasks can be read twice); run the job again"
    ))
}

pub fn io_error(path: &Path, error: std::io::Error) -> DataFusionError {
    DataFusionError::Execution(format!("'{}': {error}", path.display()))
}

pub fn config_error(message: String) -> DataFusionError {
    DataFusionError::Configuration(message)
}

impl From<OutputError> for DataFusionError {
    fn from(error: OutputError) -> Self {
        DataFusionError::External(Box::new(error))
    }
}

