//! The input: the CSV (a file or a directory of them), every record checked, bad rows, and given classes.

pub mod bad_rows;
pub mod classes;
pub mod csv_source;
pub mod record_scan;

pub use csv_source::CsvSource;
