//! The input: the CSV (a file or a directory of them, plain or compressed), every record checked, bad rows,
//! and given classes.

pub mod bad_rows;
pub mod classes;
pub mod compression;
pub mod csv_source;
pub mod formats;
pub mod record_scan;

pub use csv_source::CsvSource;
