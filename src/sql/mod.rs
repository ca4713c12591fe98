//! Running SQL: the script runner with `${name}` parameters, the pipeline's scripts, and helpers to build SQL
//! text from values and read results back.

pub mod literals;
pub mod params;
pub mod results;
pub mod script;
pub mod scripts;

pub use params::Param;
pub use script::{ScriptRunner, StatementOutput, split_statements};
