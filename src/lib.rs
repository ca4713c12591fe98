//! mlprep: turn a CSV of labelled projects into training-ready data with SQL on Apache DataFusion.
//!
//! The SQL functions live in the `mlprep-udfs` crate. This crate's folders follow the pipeline:
//! `input` (the CSV, its records and classes), `sql` (scripts and their runner), `engine` (local sessions and
//! Ballista), `prepare` (the steps of `mlprep prepare`), `report` (the dataset card and pictures of an output),
//! `publish` (where outputs go) and `tools` (bench,
//! synthetic data). The `mlprep` command is in `cli/`.

pub mod engine;
pub mod error;
pub mod input;
pub mod prepare;
pub mod publish;
pub mod report;
pub mod sql;
pub mod tools;

pub use engine::{Cluster, SessionOptions, connect, session_context, session_state};
pub use input::bad_rows::OnBadRows;
pub use prepare::{PrepareOptions, PrepareReport, prepare};

/// mlprep's version, as `summary.json` records it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
