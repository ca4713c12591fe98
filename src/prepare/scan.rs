//! The input's header and every record checked before any SQL reads it; what DataFusion is then given to read.

use std::path::{Path, PathBuf};

use super::left_out::rejected_rows;
use super::options::PrepareOptions;
use super::progress::Progress;
use super::sources::Sources;
use crate::engine::location::Location;
use crate::engine::ranged_csv::{CsvRange, group_ranges};
use crate::error::{Error, Result};
use crate::input::bad_rows::{OnBadRows, RejectedRow, bad_rows_error};
use crate::input::compression::Compression;
use crate::input::csv_source::{CsvSource, InputFile};
use crate::input::record_scan::{self, Rejection};

/// The input, scanned.
pub(super) struct Input {
    pub source: CsvSource,
    /// Records in the input.
    pub records: u64,
    /// Records DataFusion can read (the others are `rejected`).
    pub readable_records: u64,
    /// The bad records, when `--on-bad-rows skip` sets them aside.
    pub rejected: Vec<RejectedRow>,
    /// What the SQL reads: the input, or copies without its bad records (in `work`).
    pub location: String,
    /// The files of `location`, in order (local paths).
    pub readable_files: Vec<PathBuf>,
}

/// Reads the header(s) of `--data` (exactly `data_files` when listed: a directory's as they were checked, a
/// store's as fetched), checks every
/// record, and fails on bad rows unless they are to be skipped.
pub(super) async fn read_input(
    options: &PrepareOptions,
    sources: &Sources,
    data_files: Option<Vec<InputFile>>,
    work: &Path,
    progress: &Progress,
) -> Result<Input> {
    progress.step("reading the CSV header");
    // On a blocking thread, as the scan below: compressed files are decompressed here.
    // The path as given, or a `file://` URL's path; a store's objects are `data_files`, named by their URLs.
    let data = match &sources.data {
        Location::Local(path) => path.clone(),
        Location::Object(_) => options.data.clone(),
    };
    let work_dir = work.to_path_buf();
    let source = tokio::task::spawn_blocking(move || match data_files {
        Some(files) => CsvSource::inspect_files(&data, files, Some(&work_dir)),
        None => CsvSource::inspect(&data, Some(&work_dir)),
    })
    .await
    .map_err(|error| Error::Internal(format!("reading the input stopped: {error}")))??;
    source.require_columns(&[
        (options.key.as_str(), "the --key column"),
        (options.stratify.as_str(), "the --stratify column"),
        ("title", "text"),
        ("description", "text"),
    ])?;

    progress.step("checking every record");
    let checked = source.checked_columns(&options.key, &options.stratify)?;
    // On a blocking thread, so that a signal can stop the run while a large input is scanned; in pieces on
    // as many threads as the run has partitions.
    let (files, fields, threads) = (source.files.clone(), source.schema.fields().len(), options.session.partitions);
    let scan = tokio::task::spawn_blocking(move || record_scan::scan_files(&files, fields, &checked, threads))
        .await
        .map_err(|error| Error::Internal(format!("the record scan stopped: {error}")))??;
    let rejected = rejected_rows(&source, &scan.rejections, options.on_bad_rows)?;
    if options.on_bad_rows == OnBadRows::Fail && !rejected.is_empty() {
        return Err(bad_rows_error(&source.path, &rejected));
    }
    if scan.rejections.len() as u64 == scan.records {
        return Err(Error::input(
            &source.path,
            format!(
                "no row of input '{}' can be prepared: all {} are bad rows, e.g. {} {}: {}; nothing was written",
                source.path.display(),
                scan.records,
                crate::input::formats::Format::of_input(Path::new(&rejected[0].file)).position_name(),
                rejected[0].line,
                rejected[0].reason
            ),
        ));
    }
    let (location, readable_files) = readable_location(&source, &scan.rejections, work)?;
    let readable_records = scan.records - scan.rejections.len() as u64;
    Ok(Input { source, records: scan.records, readable_records, rejected, location, readable_files })
}

/// What the executors of a cluster read when the input came from a store: the object itself when it is read as
/// it is (one plain CSV object without bad records), otherwise the readable copies, uploaded under `prefix`.
/// Returns the location and the URL of each of `input.readable_files`.
pub(super) async fn readable_in_store(
    input: &Input,
    sources: &Sources,
    prefix: &Location,
) -> Result<(String, Vec<String>)> {
    let as_it_is = input.source.files.len() == 1
        && input.rejected.is_empty()
        && input.source.positions[0].is_none()
        && Compression::of(&input.source.origins[0]).is_none();
    if let (true, Location::Object(_)) = (as_it_is, &sources.data) {
        let url = input.source.origins[0].to_string_lossy().into_owned();
        return Ok((url.clone(), vec![url]));
    }
    let Location::Object(prefix) = prefix else {
        return Err(Error::Internal(format!("'{}' is not in a store", prefix.to_sql())));
    };
    let mut urls = Vec::with_capacity(input.readable_files.len());
    for (index, (file, origin)) in input.readable_files.iter().zip(&input.source.files).enumerate() {
        let object = prefix.join(&numbered_name(index, origin));
        object.upload(file).await?;
        urls.push(object.url());
    }
    // DataFusion reads every `*.csv` object under a URL that ends with a slash.
    Ok((format!("{}/", prefix.url()), urls))
}

/// The smallest byte range of the input a staging task reads: below it, a task costs more than it saves.
/// Small enough that the course's data (140 KB) is read in ranges too, so its tests cover them.
const MIN_RANGE_BYTES: u64 = 32 << 10;

/// The input's files (`urls`, as the SQL reads them, the same bytes as `input.readable_files`) cut into
/// byte ranges at record starts, in about `partitions` groups of equal bytes: one staging task reads each
/// group, so the input is parsed once in total however many tasks share it.
pub(super) async fn record_ranges(input: &Input, urls: Vec<String>, partitions: usize) -> Result<Vec<Vec<CsvRange>>> {
    let files = input.readable_files.clone();
    tokio::task::spawn_blocking(move || {
        let sizes: Vec<u64> = files
            .iter()
            .map(|file| std::fs::metadata(file).map(|meta| meta.len()).map_err(|error| Error::io(file, error)))
            .collect::<Result<_>>()?;
        let total = sizes.iter().sum::<u64>().max(1);
        let mut ranges = Vec::new();
        for ((file, url), size) in files.iter().zip(urls).zip(sizes) {
            // A file's share of the tasks, by its share of the bytes.
            let pieces = ((size * partitions as u64 + total / 2) / total).clamp(1, partitions.max(1) as u64);
            for (start, end) in record_scan::record_ranges(file, pieces as usize, MIN_RANGE_BYTES)? {
                ranges.push(CsvRange { url: url.clone(), file_size: size, start, end });
            }
        }
        Ok(group_ranges(ranges, partitions))
    })
    .await
    .map_err(|error| Error::Internal(format!("cutting the input into ranges stopped: {error}")))?
}

fn numbered_name(index: usize, file: &Path) -> String {
    format!("{index:05}-{}", file.file_name().unwrap_or_default().to_string_lossy())
}

/// What DataFusion reads: copies without the bad records, so that it sees only records it can read; and its
/// files.
fn readable_location(source: &CsvSource, rejections: &[Rejection], work: &Path) -> Result<(String, Vec<PathBuf>)> {
    let mut files = source.files.clone();
    let readable = if rejections.is_empty() && source.files.len() == 1 && !source.path.is_dir() {
        source.files[0].clone()
    } else if rejections.is_empty() {
        // DataFusion would read every file of the directory, not only its `*.csv`: it reads links to them.
        let links = work.join("input_files");
        std::fs::create_dir_all(&links).map_err(|error| Error::io(&links, error))?;
        for (index, file) in source.files.iter().enumerate() {
            // Numbered: a directory may hold `a.csv` and `a.csv.gz`, both read as `a.csv`.
            let link = links.join(numbered_name(index, file));
            std::os::unix::fs::symlink(file, &link).map_err(|error| Error::io(&link, error))?;
        }
        links
    } else {
        let copies = work.join("readable_rows");
        std::fs::create_dir_all(&copies).map_err(|error| Error::io(&copies, error))?;
        for (index, file) in source.files.iter().enumerate() {
            let bad: Vec<Rejection> = rejections.iter().filter(|rejection| rejection.file == index).cloned().collect();
            let copy = copies.join(numbered_name(index, file));
            record_scan::copy_without(file, &copy, &bad)?;
            files[index] = copy;
        }
        copies
    };
    // DataFusion reads every `*.csv` file of a location that ends with a slash.
    let location = if readable.is_dir() { format!("{}/", readable.display()) } else { readable.display().to_string() };
    Ok((location, files))
}
