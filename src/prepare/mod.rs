//! `mlprep prepare`: the pipeline's steps, in order. Each step is a module with typed inputs and outputs:
//! `vocabulary` (the tokenizer), `scan` (header and records), staging (`sql/01_register.sql`,
//! `sql/02_stage.sql`), `checks` (rows left out), `split` (the stratified split and its counts, with
//! `leakage`), `write` (padded Parquet, bucket by bucket) and `summary` (`summary.json`), after the dataset
//! card and pictures of `crate::report`. The output is staged
//! and published by `crate::publish`.

mod checks;
mod layout;
mod leakage;
mod left_out;
mod options;
mod plan;
mod progress;
mod scan;
mod sources;
mod split;
mod stage;
mod summary;
mod vocabulary;
mod write;

use std::path::{Path, PathBuf};

use datafusion::common::DataFusionError;

use crate::error::{Error, Result};

use crate::engine::location::{Location, ObjectUrl};
use crate::engine::storage::ObjectStores;
use crate::engine::{Cluster, connect};
use crate::publish::store::StoreOutput;
use crate::publish::{OutputDir, Scratch};
use crate::sql::ScriptRunner;
use crate::sql::literals::quote_identifier;
use crate::sql::params::{self, Param};
use crate::sql::scripts;
use progress::Progress;
use sources::Sources;

pub use layout::{ColumnNames, Padding};
pub use options::{DEFAULT_FILE_SIZE, PrepareOptions, defaults};
pub use plan::{HeldOut, MAX_FOLDS, Segment, SplitPlan};
pub use split::{SplitReport, materialize_split};
pub use summary::PrepareReport;
pub use write::split_files;

/// Scratch space inside the staging directory, removed before the output is published.
const WORK_DIRECTORY: &str = ".work";

/// Runs the pipeline. Before anything is read, `out` is checked against every path the run reads and what it
/// holds (`crate::publish`); the output is staged beside `out` and published there only when everything is
/// written; a failed run removes it. Inputs and the output may be in an object store (`s3://`).
pub async fn prepare(options: &PrepareOptions) -> Result<PrepareReport> {
    options.validate()?;
    let stores = ObjectStores::default();
    let sources = Sources::locate(options, &stores)?;
    match Location::parse("--out", &options.out, &stores)? {
        Location::Local(out) => prepare_locally(options, &sources, &out).await,
        Location::Object(out) => prepare_to_store(options, &sources, out).await,
    }
}

/// Into a local directory, staged beside it.
async fn prepare_locally(options: &PrepareOptions, sources: &Sources, out: &Path) -> Result<PrepareReport> {
    let output = OutputDir::check(out, options.overwrite, &sources.local_reads())?;
    let staging = output.stage()?;
    let result = async {
        let staging = std::path::absolute(staging.path()).map_err(|error| Error::io(staging.path(), error))?;
        prepare_into(options, sources, &Places::local(staging)).await
    }
    .await;
    match result {
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
                Err(left) => Err(Error::NotCleanedUp { left: Box::new(left.into()), source: Box::new(error) }),
            }
        }
    }
}

/// Into a prefix of an object store, staged under a prefix beside it (`crate::publish::store`). Run locally,
/// the output is written to a local scratch directory and uploaded; on a cluster, whose executors share no
/// directory, the executors write it into the staging prefix themselves.
async fn prepare_to_store(options: &PrepareOptions, sources: &Sources, out: ObjectUrl) -> Result<PrepareReport> {
    let output = StoreOutput::check(out, options.overwrite, &sources.object_reads()).await?;
    let scratch = Scratch::create()?;
    let staging = output.stage().await?;
    let result = async {
        let places = match options.session.cluster {
            Cluster::Local => Places::local(scratch.path().join("output")),
            Cluster::Standalone | Cluster::Remote(_) => Places::store(staging.url(), scratch.path()),
        };
        std::fs::create_dir_all(&places.description).map_err(|error| Error::io(&places.description, error))?;
        let report = prepare_into(options, sources, &places).await?;
        staging.upload(&places.description).await?;
        Ok(report)
    }
    .await;
    match result {
        Ok(mut report) => {
            let published = staging.publish().await?;
            report.out = PathBuf::from(published.url());
            Ok(report)
        }
        Err(error) => {
            let error = explain_memory_error(error, options);
            match staging.discard().await {
                Ok(()) => Err(error),
                Err(left) => Err(Error::NotCleanedUp { left: Box::new(left), source: Box::new(error) }),
            }
        }
    }
}

/// Where a run writes.
struct Places {
    /// The output's data files, as SQL writes them (`${out}`): the staging directory, or the staging prefix.
    out: Location,
    /// Scratch space of the SQL (`${work}`), inside `out`; removed before the output is published.
    work: Location,
    /// Local scratch space: fetched, decompressed and converted inputs, the record scan's copies.
    local_work: PathBuf,
    /// Where the files that describe the output are written (`summary.json` and the like): `out`, or a local
    /// directory uploaded beside the data files.
    description: PathBuf,
}

impl Places {
    /// Everything in the local directory `staging`.
    fn local(staging: PathBuf) -> Self {
        let work = staging.join(WORK_DIRECTORY);
        Self {
            out: Location::Local(staging.clone()),
            work: Location::Local(work.clone()),
            local_work: work,
            description: staging,
        }
    }

    /// The data in the staging prefix `staging`, the rest in the local directory `scratch`.
    fn store(staging: &ObjectUrl, scratch: &Path) -> Self {
        Self {
            out: Location::Object(staging.clone()),
            work: Location::Object(staging.join(WORK_DIRECTORY)),
            local_work: scratch.join("work"),
            description: scratch.join("description"),
        }
    }
}

/// Checks the options and that `prepare` may write the local directory `options.out` (see
/// [`OutputDir::check`]): the paths it reads are `--data` (the file, or the directory and each of its CSV
/// files), `--vocab` and `--classes`. Creates nothing.
pub fn check_output(options: &PrepareOptions) -> Result<OutputDir> {
    options.validate()?;
    let stores = ObjectStores::default();
    let sources = Sources::locate(options, &stores)?;
    let Location::Local(out) = Location::parse("--out", &options.out, &stores)? else {
        return Err(Error::Configuration(format!("--out {}: not a local directory", options.out.display())));
    };
    Ok(OutputDir::check(&out, options.overwrite, &sources.local_reads())?)
}

/// A run that ran out of its memory pool says which of mlprep's options to change (DataFusion's own message
/// names its configuration keys, which `prepare` users do not set).
fn explain_memory_error(error: Error, options: &PrepareOptions) -> Error {
    if !error.is_resources_exhausted() {
        return error;
    }
    let limit = options
        .session
        .memory_limit
        .map_or_else(|| "the memory limit".to_owned(), |bytes| format!("--memory-limit {} MiB", bytes >> 20));
    Error::Engine(DataFusionError::ResourcesExhausted(format!(
        "{limit} is too small for this input: raise it, or lower --batch-size (rows a sort takes at a time, now {}), \
         --file-size (rows sorted at once, now {} MiB of CSV) or --partitions (sorts running at once, now {}); \
         nothing was written.\ncaused by\n{error}",
        options.session.batch_size,
        options.file_size >> 20,
        options.session.partitions
    )))
}

/// The pipeline, into `places`: one step after the other.
async fn prepare_into(options: &PrepareOptions, sources: &Sources, places: &Places) -> Result<PrepareReport> {
    let progress = Progress::new(9);

    let work = &places.local_work;
    std::fs::create_dir_all(work).map_err(|error| Error::io(work, error))?;
    places.work.create_dir_all()?;

    progress.step("loading the tokenizer");
    // Before any data is read.
    let vocabulary = vocabulary::load(options, sources, work).await?;
    let known_classes = sources.classes().await?;

    let data_files = sources.data_files(&options.data, work).await?;
    let input = scan::read_input(options, sources, data_files, work, &progress).await?;
    let (data, data_urls) = match &places.work {
        Location::Local(_) => {
            let absolute = |file: &PathBuf| std::path::absolute(file).map_err(|error| Error::io(file, error));
            let urls: Vec<PathBuf> = input.readable_files.iter().map(absolute).collect::<Result<_>>()?;
            (input.location.clone(), urls.iter().map(|url| url.to_string_lossy().into_owned()).collect())
        }
        Location::Object(_) => scan::readable_in_store(&input, sources, &places.work.join("input")).await?,
    };
    // Executors that share no directory with this process can read nothing else.
    if matches!(places.out, Location::Object(_)) && !Location::is_url(Path::new(&data)) {
        return Err(Error::Internal(format!("a cluster writing to a store was to read the local path '{data}'")));
    }
    let buckets = write::bucket_count(input.source.size, options.file_size);
    let (group_values, group_columns) = match &options.group {
        None => (String::new(), String::new()),
        Some(group) => {
            if input.source.schema.field_with_name(group).is_err() {
                let columns: Vec<&str> =
                    input.source.schema.fields().iter().map(|field| field.name().as_str()).collect();
                return Err(Error::Configuration(format!(
                    "--group {group}: the input has no such column (its columns: {})",
                    columns.join(", ")
                )));
            }
            // A row without a group value is a group of its own, named by its key (after a NUL, which no
            // group value of a CSV has).
            let value = format!(
                "COALESCE(NULLIF(CAST({} AS VARCHAR), ''), concat(chr(0), CAST({} AS VARCHAR)))",
                quote_identifier(group),
                quote_identifier(&options.key)
            );
            (
                format!(", {value} AS group_key, seeded_hash({}, {value}) AS group_hash", options.seed),
                ", group_key, group_hash".to_owned(),
            )
        }
    };

    let params = params::to_sql([
        ("data", Param::Text(data)),
        ("columns", Param::Sql(input.source.column_definitions(&[&options.key, &options.stratify]))),
        ("key", Param::Identifier(options.key.clone())),
        ("stratify", Param::Identifier(options.stratify.clone())),
        ("key_name", Param::Text(options.key.clone())),
        ("stratify_name", Param::Text(options.stratify.clone())),
        ("seed", Param::Integer(options.seed.into())),
        ("segments", Param::Sql(options.split.segments_sql())),
        ("train_split", Param::Text(options.split.train.clone())),
        ("vocab", Param::Text(vocabulary.argument.clone())),
        ("out", Param::Text(places.out.to_sql())),
        ("work", Param::Text(places.work.to_sql())),
        ("pad_id", Param::Integer(vocabulary.pad_id.into())),
        ("closing", Param::Integer((vocabulary.closing as i64).into())),
        ("buckets", Param::Integer(buckets.into())),
        ("group_values", Param::Sql(group_values)),
        ("group_columns", Param::Sql(group_columns)),
        ("max_length", options.max_length.map_or(Param::Sql("NULL".into()), |length| Param::Integer(length as i128))),
    ]);
    let mut runner = ScriptRunner::new(connect(&options.session).await?, params);
    progress.watch(runner.running_plan());

    progress.step("registering the CSV");
    runner.run_script(scripts::REGISTER.path, scripts::REGISTER.text, None).await?;

    progress.step("cleaning and tokenizing every row");
    let ranges = scan::record_ranges(&input, data_urls, options.session.partitions).await?;
    let rows_staged = stage::stage(&runner, ranges, progress.rows_done()).await?;
    if rows_staged != input.readable_records {
        return Err(Error::Accounting(format!(
            "the input has {} readable records but {rows_staged} rows were read from it",
            input.readable_records
        )));
    }

    progress.step("checking the input");
    let accepted = checks::accept(&mut runner, options, &input, known_classes.as_ref(), buckets, rows_staged).await?;

    progress.step("splitting");
    let split =
        split::split(&mut runner, options, known_classes.as_ref(), buckets, accepted.rows, &places.work).await?;

    progress.step("writing Parquet");
    write::write_splits(&mut runner, options, &places.out, buckets, &split, progress.rows_done()).await?;
    places.work.remove_all().await?;
    if places.local_work.exists() {
        std::fs::remove_dir_all(work).map_err(|error| Error::io(work, error))?;
    }
    let summary = summary::summary(options, &vocabulary, &input, &accepted, &split);
    summary::write_side_files(&places.description, options, &accepted, &split)?;
    progress.step("drawing the dataset card");
    let card = crate::report::draw(&runner, &places.out, &summary).await?;
    crate::report::write_new(&places.description, &card)?;
    summary::write_summary(&places.description, &summary)?;

    Ok(PrepareReport {
        out: PathBuf::from(places.out.to_sql()),
        rows_read: input.records,
        rows_rejected: accepted.rejected.len() as u64,
        rows_deduplicated: accepted.rows_deduplicated,
        val_rows_with_a_train_text: split.leakage["val_rows_with_a_train_text"].as_u64().unwrap_or(0),
        class_to_index: split.class_to_index,
        splits: split.splits,
        summary,
        step_times: progress.finish(),
        warnings: Vec::new(),
    })
}
