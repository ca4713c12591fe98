//! `mlprep prepare`: runs the scripts in `sql/` with parameters and writes the output atomically.

mod leakage;
mod left_out;
mod options;
mod progress;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::common::{DataFusionError, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::engine::{Cluster, connect};
use crate::error::{accounting_error, io_error};
use crate::input::bad_rows::{OnBadRows, bad_rows_error, counts_by_kind, write_rejected_csv};
use crate::input::classes::load_classes;
use crate::input::csv_source::{CsvSource, csv_files_in};
use crate::input::record_scan::{self, Rejection};
use crate::publish::{OutputDir, ReadPath};
use crate::sql::literals::{materialize_small_view, quote_identifier, quote_literal_body, values_query};
use crate::sql::results::{copied_rows, int64_column, result_with_columns, run_at_once, text_column, uint64_column};
use crate::sql::scripts::{self, Script, named_sql, run_named};
use crate::sql::{ScriptRunner, StatementOutput};
use leakage::{find_shared_texts, text_bucket_count};
use left_out::{accept_rows_without, check_problems_are_duplicates, duplicate_key_rows, key_literals, rejected_rows, unknown_class_rows};
use progress::Progress;
use write::{bucket_count, write_buckets};

pub use options::{DEFAULT_FILE_SIZE, PrepareOptions, defaults};
pub use write::split_files;

/// Views of one row per class that `prepare` replaces by their values before the full rows meet them.
pub const SMALL_VIEWS: [&str; 2] = ["class_to_index", "val_boundaries"];

/// Scratch space inside the staging directory, removed before the output is published.
const WORK_DIRECTORY: &str = ".work";

/// Per split: rows, class counts and token lengths.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitReport {
    pub rows: u64,
    pub rows_per_class: BTreeMap<String, u64>,
    pub min_tokens: i64,
    pub max_tokens: i64,
    pub total_tokens: i64,
    pub padded_length: i64,
}

/// What a finished run wrote.
#[derive(Debug, Clone)]
pub struct PrepareReport {
    pub out: PathBuf,
    /// Records in the input (rows read = train + val + rejected).
    pub rows_read: u64,
    /// Rows set aside (`--on-bad-rows skip`), listed in `DIR/rejected.csv`.
    pub rows_rejected: u64,
    /// Rows left out by `--dedupe` (their cleaned text is another row's).
    pub rows_deduplicated: u64,
    /// Validation rows whose cleaned text a training row has too.
    pub val_rows_with_a_train_text: u64,
    pub class_to_index: BTreeMap<String, i64>,
    pub train: SplitReport,
    pub val: SplitReport,
    pub summary: Value,
    /// How long each step took.
    pub step_times: Vec<(&'static str, std::time::Duration)>,
    /// What the user should know of a run that succeeded (an earlier output that could not be removed).
    pub warnings: Vec<String>,
}

/// Runs the pipeline. Before anything is read, `out` is checked against every path the run reads and what it
/// holds (`crate::publish`); the output is staged beside `out` and published there only when everything is
/// written; a failed run removes it.
pub async fn prepare(options: &PrepareOptions) -> Result<PrepareReport> {
    let CheckedOutput { output, data_files } = check_output(options)?;
    let staging = output.stage()?;
    match prepare_into(options, data_files, staging.path()).await {
        Ok(mut report) => {
            let published = staging.publish()?;
            report.out = published.path;
            report.warnings.extend(published.kept.map(|kept| kept.to_string()));
            Ok(report)
        }
        Err(error) => {
            let error = explain_memory_error(error, options);
            match staging.discard() {
                Ok(()) => Err(error),
                Err(left) => Err(error.context(format!("{left} (this run's unfinished output)"))),
            }
        }
    }
}

/// An output directory `prepare` may write, and the CSV files of a `--data` directory as they were checked.
pub struct CheckedOutput {
    pub output: OutputDir,
    data_files: Option<Vec<PathBuf>>,
}

/// Checks the options and that `prepare` may write `options.out` (see [`OutputDir::check`]): the paths it reads
/// are `--data` (the file, or the directory and each of its CSV files), `--vocab` and `--classes`. Creates
/// nothing.
pub fn check_output(options: &PrepareOptions) -> Result<CheckedOutput> {
    options.validate()?;
    let mut reads = vec![ReadPath::new("--data", &options.data), ReadPath::new("--vocab", &options.vocab)];
    let data_files = if options.data.is_dir() {
        let files = csv_files_in(&std::path::absolute(&options.data).map_err(|error| io_error(&options.data, error))?)?;
        reads.extend(files.iter().map(|file| ReadPath::new("--data", file)));
        Some(files)
    } else {
        None
    };
    reads.extend(options.classes.iter().map(|classes| ReadPath::new("--classes", classes)));
    let output = OutputDir::check(&options.out, options.overwrite, &reads)?;
    Ok(CheckedOutput { output, data_files })
}

/// A run that ran out of its memory pool says which of mlprep's options to change (DataFusion's own message
/// names its configuration keys, which `prepare` users do not set).
fn explain_memory_error(error: DataFusionError, options: &PrepareOptions) -> DataFusionError {
    if !matches!(error.find_root(), DataFusionError::ResourcesExhausted(_)) {
        return error;
    }
    let limit = options.session.memory_limit.map_or_else(|| "the memory limit".to_owned(), |bytes| {
        format!("--memory-limit {} MiB", bytes >> 20)
    });
    DataFusionError::ResourcesExhausted(format!(
        "{limit} is too small for this input: raise it, or lower --batch-size (rows a sort takes at a time, now {}), \
         --file-size (rows sorted at once, now {} MiB of CSV) or --partitions (sorts running at once, now {}); \
         nothing was written.\ncaused by\n{error}",
        options.session.batch_size,
        options.file_size >> 20,
        options.session.target_partitions
    ))
}

async fn prepare_into(options: &PrepareOptions, data_files: Option<Vec<PathBuf>>, staging: &Path) -> Result<PrepareReport> {
    let progress = Progress::new(9);

    progress.step("loading the tokenizer");
    let vocab_path = std::fs::canonicalize(&options.vocab).map_err(|error| {
        DataFusionError::Execution(format!("tokenizer file '{}' cannot be opened: {error}", options.vocab.display()))
    })?;
    let vocab_bytes = std::fs::read(&vocab_path).map_err(|error| io_error(&vocab_path, error))?;
    // Checks the tokenizer before any data is read.
    let tokenizer = mlprep_udfs::tokenizer_cache::load_tokenizer(&vocab_path.to_string_lossy())?;
    let vocab_sha256: String = Sha256::digest(&vocab_bytes).iter().map(|byte| format!("{byte:02x}")).collect();
    // On a cluster the executors may not have the file: the query carries the tokenizer itself.
    let vocab_argument = match options.session.cluster {
        Cluster::Local => vocab_path.to_string_lossy().into_owned(),
        Cluster::Standalone | Cluster::Remote(_) => String::from_utf8(vocab_bytes).map_err(|_| {
            DataFusionError::Execution(format!("tokenizer file '{}' is not UTF-8", vocab_path.display()))
        })?,
    };

    let known_classes = options.classes.as_deref().map(load_classes).transpose()?;

    progress.step("reading the CSV header");
    let source = match data_files {
        Some(files) => CsvSource::inspect_files(&options.data, files)?,
        None => CsvSource::inspect(&options.data)?,
    };
    source.require_columns(&[
        (options.key.as_str(), "the --key column"),
        (options.stratify.as_str(), "the --stratify column"),
        ("title", "text"),
        ("description", "text"),
    ])?;

    let buckets = bucket_count(source.size, options.file_size);
    let staging_absolute = std::path::absolute(staging).map_err(|error| io_error(staging, error))?;
    let work = staging_absolute.join(WORK_DIRECTORY);
    std::fs::create_dir_all(&work).map_err(|error| io_error(&work, error))?;

    progress.step("checking every record");
    let checked = source.checked_columns(&options.key, &options.stratify)?;
    // On a blocking thread, so that a signal can stop the run while a large input is scanned; in pieces on
    // as many threads as the run has partitions.
    let (files, fields, threads) = (source.files.clone(), source.schema.fields().len(), options.session.target_partitions);
    let scan = tokio::task::spawn_blocking(move || record_scan::scan_files(&files, fields, &checked, threads))
        .await
        .map_err(|error| DataFusionError::External(Box::new(error)))??;
    let mut rejected = rejected_rows(&source, &scan.rejections, options.on_bad_rows)?;
    if options.on_bad_rows == OnBadRows::Fail && !rejected.is_empty() {
        return Err(bad_rows_error(&source.path, &rejected));
    }
    if scan.rejections.len() as u64 == scan.records {
        return Err(DataFusionError::Execution(format!(
            "no row of input CSV '{}' can be prepared: all {} are bad rows, e.g. line {}: {}; nothing was written",
            source.path.display(),
            scan.records,
            rejected[0].line,
            rejected[0].reason
        )));
    }
    // DataFusion reads copies without the bad records, so that it sees only records it can read.
    let readable = if scan.rejections.is_empty() && !source.path.is_dir() {
        source.path.clone()
    } else if scan.rejections.is_empty() {
        // DataFusion would read every file of the directory, not only its `*.csv`: it reads links to them.
        let links = work.join("input_files");
        std::fs::create_dir_all(&links).map_err(|error| io_error(&links, error))?;
        for file in &source.files {
            let link = links.join(file.file_name().unwrap_or_default());
            std::os::unix::fs::symlink(file, &link).map_err(|error| io_error(&link, error))?;
        }
        links
    } else {
        let copies = work.join("readable_rows");
        std::fs::create_dir_all(&copies).map_err(|error| io_error(&copies, error))?;
        for (index, file) in source.files.iter().enumerate() {
            let bad: Vec<Rejection> = scan.rejections.iter().filter(|rejection| rejection.file == index).cloned().collect();
            let copy = copies.join(file.file_name().unwrap_or_default());
            record_scan::copy_without(file, &copy, &bad)?;
        }
        copies
    };
    // DataFusion reads every `*.csv` file of a location that ends with a slash.
    let readable = if readable.is_dir() { format!("{}/", readable.display()) } else { readable.display().to_string() };

    let params = BTreeMap::from([
        ("data".to_owned(), quote_literal_body(&readable)),
        ("columns".to_owned(), source.column_definitions(&[&options.key, &options.stratify])),
        ("key".to_owned(), quote_identifier(&options.key)),
        ("stratify".to_owned(), quote_identifier(&options.stratify)),
        ("seed".to_owned(), options.seed.to_string()),
        ("test_size".to_owned(), format!("{:?}", options.test_size)),
        ("vocab".to_owned(), quote_literal_body(&vocab_argument)),
        ("out".to_owned(), quote_literal_body(&staging_absolute.to_string_lossy())),
        ("work".to_owned(), quote_literal_body(&work.to_string_lossy())),
        ("pad_id".to_owned(), tokenizer.pad_id().to_string()),
        ("buckets".to_owned(), buckets.to_string()),
    ]);
    let mut runner = ScriptRunner::new(connect(&options.session).await?, params);

    progress.step("registering the CSV");
    run_embedded(&mut runner, scripts::REGISTER).await?;

    progress.step("cleaning and tokenizing every row");
    let staged = run_embedded(&mut runner, scripts::STAGE).await?;
    let rows_read = scan.records;
    let rows_staged = copied_rows(&staged)?[0];
    let readable_records = scan.records - scan.rejections.len() as u64;
    if rows_staged != readable_records {
        return Err(accounting_error(format!(
            "the input has {readable_records} readable records but {rows_staged} rows were read from it"
        )));
    }

    progress.step("checking the input");
    let duplicate_keys_query = duplicate_keys_by_bucket(&runner, buckets, options.session.target_partitions).await?;
    runner.set_param("duplicate_keys", duplicate_keys_query);
    let checks = run_embedded(&mut runner, scripts::CHECKS).await?;
    let problems = checks.last().map_or(&[][..], |output| &output.batches[..]);
    let (duplicate_keys, duplicates) = duplicate_key_rows(&mut runner, &source, &options.key, &rejected).await?;
    check_problems_are_duplicates(problems)?;
    if options.on_bad_rows == OnBadRows::Fail && !duplicates.is_empty() {
        return Err(bad_rows_error(&source.path, &duplicates));
    }
    let rows_with_duplicate_keys = duplicates.len() as u64;
    rejected.extend(duplicates);
    rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    accept_rows_without(&mut runner, &duplicate_keys, &[]).await?;
    let mut unknown_classes = Vec::new();
    let mut rows_with_unknown_class = 0;
    if let Some(classes) = &known_classes {
        let unknown = unknown_class_rows(&mut runner, &source, options, classes, &rejected).await?;
        if options.on_bad_rows == OnBadRows::Fail && !unknown.rows.is_empty() {
            return Err(bad_rows_error(&source.path, &unknown.rows));
        }
        rows_with_unknown_class = unknown.rows.len() as u64;
        unknown_classes = unknown.literals;
        rejected.extend(unknown.rows);
        rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        accept_rows_without(&mut runner, &duplicate_keys, &unknown_classes).await?;
    }
    let mut rows_deduplicated = 0;
    if options.dedupe {
        // The script's view was planned over the accepted rows before the duplicate keys left them.
        run_named(&mut runner, scripts::CHECKS, "duplicate_texts").await?;
        let repeated = key_literals(&mut runner, "duplicate_texts").await?;
        rows_deduplicated = repeated.len() as u64;
        accept_rows_without(&mut runner, &[duplicate_keys, repeated].concat(), &unknown_classes).await?;
    }
    let rows_accepted = rows_staged - rows_with_duplicate_keys - rows_with_unknown_class - rows_deduplicated;
    if rows_accepted == 0 {
        return Err(DataFusionError::Execution(format!(
            "no row of input CSV '{}' is left to prepare: of {rows_read} rows, {} were set aside and {rows_deduplicated} \
             left out by --dedupe; nothing was written",
            source.path.display(),
            rejected.len()
        )));
    }

    progress.step("splitting");
    run_embedded(&mut runner, scripts::SPLIT).await?;
    if let Some(classes) = &known_classes {
        use_class_indices(&mut runner, classes).await?;
    }
    for view in SMALL_VIEWS {
        materialize_small_view(&mut runner, view).await?;
    }
    let text_buckets = text_bucket_count(buckets);
    if text_buckets > 1 {
        run_named(&mut runner, scripts::EXAMPLES, "examples").await?;
        let shared_texts =
            find_shared_texts(&runner, &work, text_buckets, rows_accepted, options.session.target_partitions).await?;
        runner.set_param("shared_texts", shared_texts);
    }
    let stats = run_embedded(&mut runner, scripts::EXAMPLES).await?;
    let class_to_index = read_class_to_index(result_with_columns(&stats, &["class", "class_index"])?)?;
    let split_counts = ["split", "tag", "rows", "min_tokens", "max_tokens", "total_tokens"];
    let (mut train, mut val) = read_split_reports(result_with_columns(&stats, &split_counts)?)?;
    let leakage = read_leakage(
        result_with_columns(&stats, &LEAKAGE_TOTALS)?,
        result_with_columns(&stats, &["text", "train_rows", "val_rows"])?,
    )?;
    check_split(options, rows_accepted, &train, &val)?;
    check_split_sizes(options.test_size, &class_to_index, known_classes.as_ref(), &train, &val)?;
    for split in [&mut train, &mut val] {
        split.padded_length = options.max_length.map_or(split.max_tokens, |length| length as i64);
    }

    progress.step("writing Parquet");
    runner.set_param("train_pad_to", train.padded_length.to_string());
    runner.set_param("val_pad_to", val.padded_length.to_string());
    let last_val_hash = largest_boundary(&mut runner).await?;
    let written =
        write_buckets(&runner, &staging_absolute, buckets, last_val_hash, options.session.target_partitions).await?;
    check_written(&written, &train, &val)?;
    std::fs::remove_dir_all(&work).map_err(|error| io_error(&work, error))?;

    let summary = json!({
        "mlprep_version": env!("CARGO_PKG_VERSION"),
        "input": source.path.to_string_lossy(),
        "input_files": source.files.len(),
        "rows_read": rows_read,
        "on_bad_rows": options.on_bad_rows.name(),
        "rows_rejected": rejected.len(),
        "rejected_by_reason": counts_by_kind(&rejected),
        "dedupe": options.dedupe,
        "classes": options.classes.as_ref().map(|path| path.to_string_lossy()),
        "rows_deduplicated": rows_deduplicated,
        "leakage": leakage,
        "key": options.key,
        "stratify": options.stratify,
        "seed": options.seed,
        "test_size": options.test_size,
        "vocab": vocab_path.to_string_lossy(),
        "vocab_sha256": vocab_sha256,
        "max_length": options.max_length,
        "file_size": options.file_size,
        "class_to_index": class_to_index,
        "splits": {
            "train": split_json(&train, options.max_length),
            "val": split_json(&val, options.max_length),
        },
    });
    write_json(&staging.join("class_to_index.json"), &json!(class_to_index))?;
    if options.on_bad_rows == OnBadRows::Skip {
        write_rejected_csv(&staging.join("rejected.csv"), &rejected)?;
    }
    // Last: it marks the directory as a complete output.
    write_json(&staging.join(crate::publish::SUMMARY_FILE), &summary)?;
    let step_times = progress.finish();
    let rows_rejected = rejected.len() as u64;
    let val_rows_with_a_train_text = leakage["val_rows_with_a_train_text"].as_u64().unwrap_or(0);
    Ok(PrepareReport {
        out: staging.to_path_buf(),
        rows_read,
        rows_rejected,
        rows_deduplicated,
        val_rows_with_a_train_text,
        class_to_index, train, val, summary, step_times, warnings: Vec::new() })
}

async fn run_embedded(runner: &mut ScriptRunner, script: Script) -> Result<Vec<StatementOutput>> {
    runner.run_script(script.path, script.text, None).await
}

/// The largest shuffle hash of a validation row: the largest per-class boundary (`sql/04_split.sql`).
async fn largest_boundary(runner: &mut ScriptRunner) -> Result<u64> {
    let batches = run_named(runner, scripts::QUERIES, "largest_boundary").await?;
    let Some(batch) = batches.iter().find(|batch| batch.num_rows() > 0) else { return Ok(0) };
    let values = uint64_column(batch, "last_val_hash")?;
    // Without a boundary there is no validation row: bucket 0 still gets its (empty) file.
    Ok(if values.is_valid(0) { values.value(0) } else { 0 })
}

/// The leakage totals of `sql/05_examples.sql`, as `summary.json` names them.
const LEAKAGE_TOTALS: [&str; 5] =
    ["shared_texts", "rows_sharing_a_text", "texts_in_both_splits", "val_rows_with_a_train_text", "train_rows_with_a_val_text"];

/// Cleaned texts shared by rows, and those in both splits, for `summary.json` (outputs of
/// `sql/05_examples.sql`: the totals, then the texts in both splits that most validation rows have).
fn read_leakage(totals: &[RecordBatch], texts: &[RecordBatch]) -> Result<Value> {
    let mut leakage = serde_json::Map::new();
    for batch in totals.iter().filter(|batch| batch.num_rows() > 0) {
        for name in LEAKAGE_TOTALS {
            leakage.insert(name.to_owned(), json!(int64_column(batch, name)?.value(0)));
        }
    }
    let mut examples = Vec::new();
    for batch in texts {
        let text = text_column(batch, "text")?;
        let (train, val) = (int64_column(batch, "train_rows")?, int64_column(batch, "val_rows")?);
        for row in 0..batch.num_rows() {
            examples.push(json!({ "text": text.value(row), "train_rows": train.value(row), "val_rows": val.value(row) }));
        }
    }
    leakage.insert("texts_in_both_splits_most_seen".into(), Value::Array(examples));
    Ok(Value::Object(leakage))
}

/// Replaces the view `class_to_index` by the classes of `--classes`, and plans `val_boundaries` again over it.
async fn use_class_indices(runner: &mut ScriptRunner, classes: &BTreeMap<String, i64>) -> Result<()> {
    let schema = runner.context().table("class_sizes").await?.schema().as_arrow().clone();
    let class_type = schema.field_with_name("class")?.data_type().clone();
    let rows: Vec<String> = classes
        .iter()
        .map(|(label, index)| format!("(arrow_cast('{}', '{class_type}'), CAST({index} AS BIGINT))", label.replace('\'', "''")))
        .collect();
    runner.set_param("classes", format!("(VALUES {})", rows.join(", ")));
    run_named(runner, scripts::QUERIES, "given_class_to_index").await?;
    run_named(runner, scripts::SPLIT, "val_boundaries").await?;
    Ok(())
}

fn check_split(options: &PrepareOptions, rows_read: u64, train: &SplitReport, val: &SplitReport) -> Result<()> {
    for (class, &val_rows) in &val.rows_per_class {
        if !train.rows_per_class.contains_key(class) {
            return Err(DataFusionError::Execution(format!(
                "class '{class}' has only {val_rows} row(s): too few to split with --test-size {} (every row would go \
                 to validation and none to training)",
                options.test_size
            )));
        }
    }
    if train.rows + val.rows != rows_read {
        return Err(accounting_error(format!(
            "read {rows_read} rows but the split holds {} train + {} val",
            train.rows, val.rows
        )));
    }
    Ok(())
}

/// The split, checked against its definition: per class, `ceil(test_size * rows)` rows in validation, and the
/// classes with training rows indexed 0..k-1 in sorted order. The counts come from the rows themselves, the
/// boundaries and indices from small aggregates computed apart; a Ballista 55 cluster that lost an executor
/// was seen to read a re-run task's shuffle output twice, which doubles an aggregate without changing the
/// row totals, so this is where such a run is caught.
fn check_split_sizes(
    test_size: f64,
    class_to_index: &BTreeMap<String, i64>,
    given_indices: Option<&BTreeMap<String, i64>>,
    train: &SplitReport,
    val: &SplitReport,
) -> Result<()> {
    let classes: std::collections::BTreeSet<&String> =
        train.rows_per_class.keys().chain(val.rows_per_class.keys()).collect();
    for class in classes {
        let train_rows = train.rows_per_class.get(class).copied().unwrap_or(0);
        let val_rows = val.rows_per_class.get(class).copied().unwrap_or(0);
        let rows = train_rows + val_rows;
        let expected = (test_size * rows as f64).ceil() as u64;
        if val_rows != expected {
            return Err(accounting_error(format!(
                "class '{class}' has {rows} rows and {val_rows} in validation, but ceil({test_size} * {rows}) = {expected}"
            )));
        }
    }
    let expected_indices: BTreeMap<String, i64> = match given_indices {
        Some(given) => given.clone(),
        None => train.rows_per_class.keys().cloned().zip(0..).collect(),
    };
    if *class_to_index != expected_indices {
        return Err(accounting_error(format!(
            "the class indices {class_to_index:?} are not the training classes in order {expected_indices:?}"
        )));
    }
    Ok(())
}

/// The split files hold exactly the rows the split counted: `written` is what the `COPY` statements of
/// `sql/06_write.sql` reported, summed per split (train, val).
fn check_written(written: &[u64; 2], train: &SplitReport, val: &SplitReport) -> Result<()> {
    for ((split, expected), &written) in [("train", train.rows), ("val", val.rows)].into_iter().zip(written) {
        if written != expected {
            return Err(accounting_error(format!("the {split} split has {expected} rows but {written} were written")));
        }
    }
    Ok(())
}

/// The keys several staged rows share, and how many share each, found bucket by bucket (`concurrency`
/// buckets at a time): all rows of a key have its shuffle hash, so its bucket, and no aggregate holds more
/// than one bucket's keys (over every key at once, it was a large run's memory peak). As a query for
/// `${duplicate_keys}` of `sql/03_checks.sql`.
async fn duplicate_keys_by_bucket(runner: &ScriptRunner, buckets: u64, concurrency: usize) -> Result<String> {
    let context = runner.context();
    let statements = (0..buckets)
        .map(|bucket| named_sql(runner, scripts::QUERIES, "duplicate_keys_in_bucket", &[("bucket", bucket.to_string())]))
        .collect::<Result<Vec<_>>>()?;
    let schema = context.sql(&statements[0]).await?.schema().as_arrow().clone();
    let found = run_at_once(context, statements, concurrency).await?;
    values_query(&schema, &found.concat()).map(|query| format!("({query})"))
}

fn read_class_to_index(batches: &[RecordBatch]) -> Result<BTreeMap<String, i64>> {
    let mut classes = BTreeMap::new();
    for batch in batches {
        let names = text_column(batch, "class")?;
        let indices = int64_column(batch, "class_index")?;
        for row in 0..batch.num_rows() {
            classes.insert(names.value(row).to_owned(), indices.value(row));
        }
    }
    Ok(classes)
}

fn read_split_reports(batches: &[RecordBatch]) -> Result<(SplitReport, SplitReport)> {
    let mut train = SplitReport { min_tokens: i64::MAX, ..Default::default() };
    let mut val = SplitReport { min_tokens: i64::MAX, ..Default::default() };
    for batch in batches {
        let splits = text_column(batch, "split")?;
        let classes = text_column(batch, "tag")?;
        let rows = int64_column(batch, "rows")?;
        let min_tokens = int64_column(batch, "min_tokens")?;
        let max_tokens = int64_column(batch, "max_tokens")?;
        let total_tokens = int64_column(batch, "total_tokens")?;
        for row in 0..batch.num_rows() {
            let report = if splits.value(row) == "train" { &mut train } else { &mut val };
            report.rows += rows.value(row) as u64;
            report.rows_per_class.insert(classes.value(row).to_owned(), rows.value(row) as u64);
            report.min_tokens = report.min_tokens.min(min_tokens.value(row));
            report.max_tokens = report.max_tokens.max(max_tokens.value(row));
            report.total_tokens += total_tokens.value(row);
        }
    }
    for report in [&mut train, &mut val] {
        if report.rows == 0 {
            report.min_tokens = 0;
        }
    }
    Ok((train, val))
}

fn split_json(report: &SplitReport, max_length: Option<usize>) -> Value {
    let mean = if report.rows == 0 { 0.0 } else { report.total_tokens as f64 / report.rows as f64 };
    json!({
        "rows": report.rows,
        "rows_per_class": report.rows_per_class,
        "token_length": { "min": report.min_tokens, "mean": mean, "max": report.max_tokens },
        "padded_length": report.padded_length,
        "truncated": max_length.is_some_and(|length| report.max_tokens > length as i64),
    })
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|error| DataFusionError::External(Box::new(error)))?;
    std::fs::write(path, text + "\n").map_err(|error| io_error(path, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(rows: u64) -> SplitReport {
        SplitReport { rows, ..Default::default() }
    }

    fn report(classes: &[(&str, u64)]) -> SplitReport {
        let rows_per_class: BTreeMap<String, u64> = classes.iter().map(|(class, rows)| (class.to_string(), *rows)).collect();
        SplitReport { rows: rows_per_class.values().sum(), rows_per_class, ..Default::default() }
    }

    #[test]
    fn split_sizes_must_follow_the_definition() {
        let indices = BTreeMap::from([("a".to_owned(), 0), ("b".to_owned(), 1)]);
        // 10 rows -> 2 in validation, 7 rows -> ceil(1.4) = 2.
        check_split_sizes(0.2, &indices, None, &report(&[("a", 8), ("b", 5)]), &report(&[("a", 2), ("b", 2)])).unwrap();
        let error = check_split_sizes(0.2, &indices, None, &report(&[("a", 6), ("b", 5)]), &report(&[("a", 4), ("b", 2)]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("class 'a' has 10 rows and 4 in validation, but ceil(0.2 * 10) = 2"), "{error}");
        let shifted = BTreeMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]);
        let error = check_split_sizes(0.2, &shifted, None, &report(&[("a", 8), ("b", 5)]), &report(&[("a", 2), ("b", 2)]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("are not the training classes in order"), "{error}");
    }

    #[test]
    fn written_rows_must_equal_the_split_counts() {
        check_written(&[8, 2], &split(8), &split(2)).unwrap();
        let error = check_written(&[8, 4], &split(8), &split(2)).unwrap_err().to_string();
        assert!(error.contains("the val split has 2 rows but 4 were written"), "{error}");
    }
}
