//! Printing statement results for `mlprep sql` and `mlprep shell`, in datafusion-cli's formats
//! (`table`, `csv`, `tsv`, `json`, `ndjson`), so output is the same as in the tool people know.

use std::io::Write;

use datafusion::config::FormatOptions;
pub use datafusion_cli::print_format::PrintFormat;
pub use datafusion_cli::print_options::MaxRows;

use mlprep::error::{Error, Result};
use mlprep::sql::StatementOutput;

/// How results are shown.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    pub format: PrintFormat,
    /// Print "N row(s) fetched. Elapsed S seconds." after each result.
    pub timing: bool,
    /// Rows shown by the table format (the others always print every row).
    pub maxrows: MaxRows,
}

/// The format names accepted by `--format` and `\format`.
pub const FORMAT_NAMES: &[&str] = &["table", "csv", "tsv", "json", "ndjson"];

pub fn parse_format(name: &str) -> std::result::Result<PrintFormat, String> {
    match name.to_ascii_lowercase().as_str() {
        "table" => Ok(PrintFormat::Table),
        "csv" => Ok(PrintFormat::Csv),
        "tsv" => Ok(PrintFormat::Tsv),
        "json" => Ok(PrintFormat::Json),
        "ndjson" => Ok(PrintFormat::NdJson),
        other => Err(format!("unknown output format '{other}': expected one of {}", FORMAT_NAMES.join(", "))),
    }
}

pub fn format_name(format: PrintFormat) -> &'static str {
    match format {
        PrintFormat::Table => "table",
        PrintFormat::Csv | PrintFormat::Automatic => "csv",
        PrintFormat::Tsv => "tsv",
        PrintFormat::Json => "json",
        PrintFormat::NdJson => "ndjson",
    }
}

/// Writes one statement's result; `format_options` are the session's (`datafusion.format.*`). Statements
/// without columns (`CREATE VIEW`, `SET`, ...) print nothing but the timing line.
pub fn print_output(
    out: &mut dyn Write,
    output: &StatementOutput,
    options: &OutputOptions,
    format_options: &FormatOptions,
) -> Result<()> {
    let rows = output.row_count();
    if !output.schema.fields().is_empty() {
        let mut writer = &mut *out;
        options.format.print_batches(
            &mut writer,
            output.schema.clone(),
            &output.batches,
            options.maxrows,
            true,
            format_options,
        )?;
    }
    if options.timing {
        let shown = match options.maxrows {
            MaxRows::Limited(limit) if options.format == PrintFormat::Table && limit < rows => {
                format!(" (first {limit} shown)")
            }
            _ => String::new(),
        };
        writeln!(out, "{rows} row(s) fetched{shown}. Elapsed {:.3} seconds.", output.elapsed.as_secs_f64())
            .map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

fn io_error(error: std::io::Error) -> Error {
    Error::io(std::path::Path::new("stdout"), error)
}
