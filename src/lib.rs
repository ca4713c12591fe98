//! mlprep: turn a CSV of labelled projects into training-ready data with SQL on Apache DataFusion.
//!
//! The SQL functions live in the `mlprep-udfs` crate; this crate sets up sessions, runs the pipeline's
//! scripts (`sql/`) and provides the `mlprep` command.

pub mod bad_rows;
pub mod bench;
pub mod bucketed_write;
pub mod classes;
pub mod cluster;
pub mod csv_scan;
pub mod csv_source;
pub mod left_out;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod publish;
pub mod script;
pub mod shared_texts;
pub mod session;
pub mod shell;
pub mod synthetic;

pub use bad_rows::OnBadRows;
pub use pipeline::{PrepareOptions, PrepareReport, prepare};
pub use session::{Cluster, SessionOptions, connect, session_context, session_state};
