//! `mlprep bench`: how fast each stage runs, measured against the usual stack's tokenizer in the same run.
//!
//! The baseline (a) is the `tokenizers` crate's own `encode_batch` over the already-cleaned texts on all
//! cores: the bare tokenizer of the Python stack mlprep replaces, with no CSV, cleaning, split or output
//! around it. Every other figure is printed as a ratio to it, because machines here are noisy and only
//! ratios measured side by side mean anything. Before any speed is printed, the ids of (a) are checked
//! equal to the `tokenize` UDF's on every row, and to the ids `prepare` wrote, so a fast wrong answer
//! can never be reported as a result.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{DataFusionError, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use futures::StreamExt;
use mlprep_udfs::tokenizer::{LoadedTokenizer, load_tokenizer};
use sha2::{Digest, Sha256};

use crate::engine::cluster::TaskSchedulingPolicy;
use crate::engine::{Cluster, SessionOptions, connect};
use crate::error::{Error, Result};
use crate::input::CsvSource;
use crate::prepare::{PrepareOptions, prepare, split_files};
use crate::publish::{IfExists, write_file};
use crate::sql::ScriptRunner;
use crate::sql::params::{self, Param};
use crate::sql::scripts;
use crate::tools::local_cluster::{LocalCluster, LocalClusterSpec};

/// Rows handed to each measured call of (a), (b) and the `tokenize` UDF: large enough that per-call
/// overheads (thread hand-off, array set-up) vanish, small enough to keep memory flat at any scale.
const CHUNK_ROWS: usize = 65_536;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Rows of synthetic data to generate (ignored with `data`).
    pub rows: u64,
    /// Seed of the synthetic data.
    pub seed: u64,
    /// An existing CSV to measure instead of synthetic data.
    pub data: Option<PathBuf>,
    /// The tokenizer; default: the synthetic vocabulary.
    pub vocab: Option<PathBuf>,
    /// Where generated data and `prepare` outputs go (reused across runs).
    pub work_dir: PathBuf,
    /// The `--partitions` values to run `prepare` at.
    pub partitions: Vec<usize>,
    /// Threads for (a) and the `tokenize` UDF.
    pub threads: usize,
    pub batch_size: usize,
    pub memory_limit: Option<usize>,
    /// Also run `prepare` on a cluster of this machine started for it (its `binary` is mlprep).
    pub cluster: Option<BenchCluster>,
}

/// A cluster the bench starts, runs `prepare` on, and stops.
#[derive(Debug, Clone)]
pub struct BenchCluster {
    pub spec: LocalClusterSpec,
    /// How its executors get tasks (`mlprep scheduler --scheduler-policy`).
    pub policy: TaskSchedulingPolicy,
    /// The mlprep executable that runs the scheduler and executors.
    pub binary: PathBuf,
}

/// One measured stage.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub label: String,
    pub rows: u64,
    /// Token ids produced (`[CLS]` and `[SEP]` included, padding excluded), when the stage tokenizes.
    pub tokens: Option<u64>,
    /// Bytes of the stage's own input: CSV bytes, raw text bytes or cleaned text bytes.
    pub input_bytes: u64,
    pub elapsed: Duration,
    /// Peak resident memory while the stage ran, when the kernel lets us reset the high-water mark.
    pub peak_rss: Option<u64>,
}

impl Measurement {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What a bench run found: every stage, and which one is the baseline.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub data: PathBuf,
    pub data_bytes: u64,
    pub vocab: String,
    pub rows: u64,
    pub generated: Option<Measurement>,
    pub baseline: Measurement,
    pub tokenize_udf: Measurement,
    pub clean_text: Measurement,
    pub csv_read: Measurement,
    pub prepare: Vec<(usize, Measurement)>,
    /// `prepare` on the bench's cluster, with its executors' count as --partitions.
    pub cluster_prepare: Option<(LocalClusterSpec, TaskSchedulingPolicy, Measurement)>,
    /// Whether every `prepare` run (the cluster's too) wrote byte-identical files.
    pub prepare_outputs_identical: bool,
}

/// Order-independent digest of (row key, token ids) pairs: equal digests mean the same ids for the same
/// rows, whatever order the rows come in (the prepared files are shuffled, the baseline is not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdsDigest {
    pub rows: u64,
    pub tokens: u64,
    sum: u64,
    xor: u64,
}

impl IdsDigest {
    pub fn add(&mut self, key: i64, ids: impl IntoIterator<Item = i64>) {
        let mut bytes = key.to_le_bytes().to_vec();
        let mut tokens = 0;
        for id in ids {
            bytes.extend_from_slice(&id.to_le_bytes());
            tokens += 1;
        }
        let hash = mlprep_udfs::xxh64(&bytes, 0x6d6c_7072_6570);
        self.rows += 1;
        self.tokens += tokens;
        self.sum = self.sum.wrapping_add(hash);
        self.xor ^= hash.rotate_left((key as u64 % 64) as u32);
    }
}

pub async fn run(options: &BenchOptions) -> Result<BenchReport> {
    if options.partitions.is_empty() || options.partitions.contains(&0) {
        return Err(Error::Configuration("--partitions needs values of at least 1".into()));
    }
    std::fs::create_dir_all(&options.work_dir).map_err(|error| Error::io(&options.work_dir, error))?;
    let (data, generated) = match &options.data {
        Some(data) => (data.clone(), None),
        None => generate_data(options)?,
    };
    let vocab = match &options.vocab {
        Some(vocab) => vocab.clone(),
        None => {
            let path = options.work_dir.join("synthetic-vocab.txt");
            write_file(&path, IfExists::KeepIfIdentical, |out| {
                out.write_all(crate::tools::synthetic::demo_vocabulary().as_bytes())
            })?
        }
    };
    let vocab_text = vocab.to_string_lossy().into_owned();
    let tokenizer = load_tokenizer(&vocab_text)?;
    let data_bytes = std::fs::metadata(&data).map_err(|error| Error::io(&data, error))?.len();

    let tokenizing = measure_tokenizers(options, &data, &vocab_text, &tokenizer).await?;
    let csv_read = measure_csv_read(&data, data_bytes).await?;

    let mut prepared = Vec::new();
    let mut first_output: Option<Vec<(PathBuf, Vec<u8>)>> = None;
    let mut prepare_outputs_identical = true;
    let mut check_output = |out: &Path, run: &str| -> Result<()> {
        let digest = prepared_ids_digest(out)?;
        if digest != tokenizing.digest {
            return Err(Error::Internal(format!(
                "token ids differ: `prepare {run}` wrote {} rows / {} ids that do not match the `tokenizers` crate's \
                 {} rows / {} ids on the same data; no speed is reported",
                digest.rows, digest.tokens, tokenizing.digest.rows, tokenizing.digest.tokens
            )));
        }
        let files = output_files(out)?;
        match &first_output {
            None => first_output = Some(files),
            Some(first) => prepare_outputs_identical &= *first == files,
        }
        Ok(())
    };
    for &partitions in &options.partitions {
        let out = options.work_dir.join(format!("prepared-p{partitions}"));
        let measurement = measure_prepare(options, &data, &vocab, &out, partitions, Cluster::Local, data_bytes).await?;
        check_output(&out, &format!("--partitions {partitions}"))?;
        prepared.push((partitions, measurement));
    }
    let mut cluster_prepare = None;
    if let Some(cluster) = &options.cluster {
        // A directory of this run's own: a failed run's logs are never replaced, and a successful run
        // removes only what it wrote.
        let work = options.work_dir.join(format!("cluster-{}-{}", cluster.spec, std::process::id()));
        let running = LocalCluster::start(cluster.spec, cluster.policy, &cluster.binary, &work, options.memory_limit)?;
        let out = options.work_dir.join(format!("prepared-{}", cluster.spec));
        let partitions = cluster.spec.executors;
        let on_cluster = Cluster::Remote(running.url.clone());
        let measurement = measure_prepare(options, &data, &vocab, &out, partitions, on_cluster, data_bytes).await;
        // Stopped first, whatever happened; a failed run's logs stay in `work`.
        drop(running);
        let measurement = measurement?;
        check_output(&out, &format!("--cluster {}", cluster.spec))?;
        std::fs::remove_dir_all(&work).map_err(|error| Error::io(&work, error))?;
        cluster_prepare = Some((cluster.spec, cluster.policy, measurement));
    }

    Ok(BenchReport {
        data,
        data_bytes,
        vocab: vocab_text,
        rows: tokenizing.digest.rows,
        generated,
        baseline: tokenizing.baseline,
        tokenize_udf: tokenizing.tokenize_udf,
        clean_text: tokenizing.clean_text,
        csv_read,
        prepare: prepared,
        cluster_prepare,
        prepare_outputs_identical,
    })
}

/// Synthetic data in the work directory, generated once per (rows, seed) and reused afterwards. It is
/// written under a temporary name and renamed, so an interrupted run never leaves a short file behind.
fn generate_data(options: &BenchOptions) -> Result<(PathBuf, Option<Measurement>)> {
    let path = options.work_dir.join(format!("projects-{}-seed{}.csv", options.rows, options.seed));
    if path.exists() {
        return Ok((path, None));
    }
    let peak = PeakMemory::start();
    let started = Instant::now();
    let path = write_file(&path, IfExists::KeepIfIdentical, |out| {
        crate::tools::synthetic::write_projects_csv(out, options.rows, options.seed)
    })?;
    let elapsed = started.elapsed();
    let bytes = std::fs::metadata(&path).map_err(|error| Error::io(&path, error))?.len();
    let measurement = Measurement {
        label: "generate (synthetic CSV)".into(),
        rows: options.rows,
        tokens: None,
        input_bytes: bytes,
        elapsed,
        peak_rss: peak.finish(),
    };
    Ok((path, Some(measurement)))
}

struct TokenizerMeasurements {
    baseline: Measurement,
    tokenize_udf: Measurement,
    clean_text: Measurement,
    digest: IdsDigest,
}

/// (a), (b) and the `tokenize` UDF, chunk by chunk over the CSV's texts. Only the measured calls are
/// timed; reading the CSV and comparing ids are not.
async fn measure_tokenizers(
    options: &BenchOptions,
    data: &Path,
    vocab: &str,
    tokenizer: &LoadedTokenizer,
) -> Result<TokenizerMeasurements> {
    let functions: BTreeMap<String, Arc<ScalarUDF>> =
        mlprep_udfs::all_functions().into_iter().map(|function| (function.name().to_owned(), function)).collect();
    // One partition: nothing reads ahead in the background while a stage is being timed.
    let runner = register_csv(data, 1).await?;
    let mut stream = runner
        .context()
        .sql("SELECT CAST(id AS BIGINT) AS id, concat(coalesce(title, ''), ' ', coalesce(description, '')) AS text FROM projects")
        .await?
        .execute_stream()
        .await?;

    let (mut clean_time, mut encode_time, mut udf_time) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut raw_bytes, mut clean_bytes) = (0u64, 0u64);
    let mut digest = IdsDigest::default();
    let (mut encode_peak, mut udf_peak, mut clean_peak) = (None, None, None);
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut pending_rows = 0;
    loop {
        let next = stream.next().await.transpose()?;
        if let Some(batch) = &next {
            pending_rows += batch.num_rows();
            pending.push(batch.clone());
        }
        if pending_rows < CHUNK_ROWS && next.is_some() {
            continue;
        }
        if pending_rows == 0 {
            break;
        }
        let chunk = datafusion::arrow::compute::concat_batches(&pending[0].schema(), &pending)?;
        pending.clear();
        pending_rows = 0;
        let keys = chunk.column(0).as_primitive::<Int64Type>().clone();
        let texts = datafusion::arrow::compute::cast(chunk.column(1), &DataType::Utf8)?;
        raw_bytes += texts.as_string::<i32>().value_data().len() as u64;

        // (b) clean_text on one thread: the share of one core it takes is the share of end-to-end time.
        let peak = PeakMemory::start();
        let started = Instant::now();
        let cleaned = invoke(&functions["clean_text"], vec![ColumnarValue::Array(texts)], chunk.num_rows())?;
        clean_time += started.elapsed();
        clean_peak = max_peak(clean_peak, peak.finish());
        let cleaned = cleaned.as_string::<i32>().clone();
        clean_bytes += cleaned.value_data().len() as u64;

        // (a) the `tokenizers` crate's batch encoding, on its own thread pool (all cores).
        let inputs: Vec<&str> = (0..cleaned.len()).map(|row| cleaned.value(row)).collect();
        let peak = PeakMemory::start();
        let started = Instant::now();
        let encodings = tokenizer
            .reference()
            .encode_batch(inputs, true)
            .map_err(|error| Error::Engine(DataFusionError::Execution(format!("tokenizers encode_batch: {error}"))))?;
        encode_time += started.elapsed();
        encode_peak = max_peak(encode_peak, peak.finish());

        // The `tokenize` UDF, the chunk split across the same number of threads.
        let peak = PeakMemory::start();
        let started = Instant::now();
        let udf_ids = tokenize_on_threads(&functions["tokenize"], &cleaned, vocab, options.threads)?;
        udf_time += started.elapsed();
        udf_peak = max_peak(udf_peak, peak.finish());

        let mut udf_rows = udf_ids.iter().flat_map(|part| (0..part.len()).map(move |row| part.value(row)));
        for (row, encoding) in encodings.iter().enumerate() {
            let reference: Vec<i64> = encoding.get_ids().iter().map(|&id| i64::from(id)).collect();
            let ours = udf_rows.next().expect("the UDF returns one row per input row");
            let ours = ours.as_primitive::<Int64Type>().values();
            if ours != reference.as_slice() {
                return Err(Error::Internal(format!(
                    "token ids differ on the row with id {}: the `tokenizers` crate gives {reference:?}, the \
                     `tokenize` UDF {ours:?} (text {:?}); no speed is reported",
                    keys.value(row),
                    cleaned.value(row)
                )));
            }
            digest.add(keys.value(row), reference);
        }
    }

    let threads = options.threads;
    let tokens = Some(digest.tokens);
    let measurement = |label: String, tokens, input_bytes, elapsed, peak_rss| Measurement {
        label,
        rows: digest.rows,
        tokens,
        input_bytes,
        elapsed,
        peak_rss,
    };
    Ok(TokenizerMeasurements {
        baseline: measurement(
            format!("(a) tokenizers encode_batch, {threads} threads"),
            tokens,
            clean_bytes,
            encode_time,
            encode_peak,
        ),
        tokenize_udf: measurement(format!("tokenize UDF, {threads} threads"), tokens, clean_bytes, udf_time, udf_peak),
        clean_text: measurement("(b) clean_text UDF, 1 thread".into(), None, raw_bytes, clean_time, clean_peak),
        digest,
    })
}

/// Runs the `tokenize` UDF over `texts` split into `threads` slices, one thread each; returns each
/// slice's ids column, in order.
fn tokenize_on_threads(
    tokenize: &ScalarUDF,
    texts: &StringArray,
    vocab: &str,
    threads: usize,
) -> Result<Vec<datafusion::arrow::array::ListArray>> {
    let rows = texts.len();
    let per_thread = rows.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..rows)
            .step_by(per_thread)
            .map(|start| {
                let slice: ArrayRef = Arc::new(texts.slice(start, per_thread.min(rows - start)));
                scope.spawn(move || {
                    let length = slice.len();
                    let args = vec![
                        ColumnarValue::Array(slice),
                        ColumnarValue::Scalar(ScalarValue::Utf8(Some(vocab.to_owned()))),
                    ];
                    let tokens = invoke(tokenize, args, length)?;
                    Ok(tokens.as_struct().column(0).as_list::<i32>().clone())
                })
            })
            .collect();
        handles.into_iter().map(|handle| handle.join().expect("tokenize thread panicked")).collect()
    })
}

/// Calls a scalar function directly on arrays, as DataFusion's executor does.
fn invoke(function: &ScalarUDF, args: Vec<ColumnarValue>, rows: usize) -> Result<ArrayRef> {
    let arg_fields = args
        .iter()
        .enumerate()
        .map(|(index, arg)| Arc::new(Field::new(format!("arg{index}"), arg.data_type(), true)))
        .collect::<Vec<_>>();
    let arg_types: Vec<DataType> = arg_fields.iter().map(|field| field.data_type().clone()).collect();
    let return_field = Arc::new(Field::new(function.name(), function.return_type(&arg_types)?, true));
    let output = function.invoke_with_args(ScalarFunctionArgs {
        args,
        arg_fields,
        number_rows: rows,
        return_field,
        config_options: Arc::new(ConfigOptions::default()),
    })?;
    Ok(output.into_array(rows)?)
}

/// (c) Reading and parsing the CSV alone: every text column is decoded and summed.
async fn measure_csv_read(data: &Path, data_bytes: u64) -> Result<Measurement> {
    let runner = register_csv(data, 1).await?;
    let peak = PeakMemory::start();
    let started = Instant::now();
    let batches = runner
        .context()
        .sql(
            "SELECT COUNT(*) AS rows, SUM(octet_length(title) + octet_length(description) + octet_length(tag)) \
             AS text_bytes FROM projects",
        )
        .await?
        .collect()
        .await?;
    let elapsed = started.elapsed();
    let rows = batches.first().map_or(0, |batch| batch.column(0).as_primitive::<Int64Type>().value(0)) as u64;
    Ok(Measurement {
        label: "(c) CSV read (DataFusion)".into(),
        rows,
        tokens: None,
        input_bytes: data_bytes,
        elapsed,
        peak_rss: peak.finish(),
    })
}

/// (d) The whole `prepare` at `partitions`, locally or (e) on a cluster.
async fn measure_prepare(
    options: &BenchOptions,
    data: &Path,
    vocab: &Path,
    out: &Path,
    partitions: usize,
    cluster: Cluster,
    data_bytes: u64,
) -> Result<Measurement> {
    let label = match &cluster {
        Cluster::Local => format!("(d) prepare --partitions {partitions}"),
        _ => format!("(e) prepare on {partitions} executors x 1 task"),
    };
    let prepare_options = PrepareOptions {
        overwrite: true,
        session: SessionOptions {
            partitions: partitions,
            batch_size: options.batch_size,
            memory_limit: options.memory_limit,
            cluster,
        },
        ..PrepareOptions::new(data.to_path_buf(), vocab.to_path_buf(), out.to_path_buf())
    };
    // As `mlprep prepare --partitions N` does: a runtime of N threads, so N is the cores the run may use.
    let runtime = crate::engine::session::tokio_runtime(Some(partitions))
        .map_err(|error| Error::Engine(DataFusionError::IoError(error)))?;
    let peak = PeakMemory::start();
    let started = Instant::now();
    let (report, elapsed) = tokio::task::spawn_blocking(move || {
        let report = runtime.block_on(prepare(&prepare_options));
        (report, started.elapsed())
    })
    .await
    .map_err(|error| Error::Internal(format!("the measured run stopped: {error}")))?;
    let report = report?;
    Ok(Measurement {
        label,
        rows: report.rows_read,
        tokens: Some(report.splits.iter().map(|split| split.total_tokens).sum::<i64>() as u64),
        input_bytes: data_bytes,
        elapsed,
        peak_rss: peak.finish(),
    })
}

/// The digest of the ids `prepare` wrote (padding removed by the attention mask), over both splits.
pub fn prepared_ids_digest(out: &Path) -> Result<IdsDigest> {
    let mut digest = IdsDigest::default();
    for path in split_files(out, "train")?.into_iter().chain(split_files(out, "val")?) {
        let file = std::fs::File::open(&path).map_err(|error| Error::io(&path, error))?;
        let parquet = |error: datafusion::parquet::errors::ParquetError| Error::Engine(error.into());
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(file).and_then(|builder| builder.build()).map_err(parquet)?;
        for batch in reader {
            let batch = batch?;
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .cloned()
                    .ok_or_else(|| Error::input(&path, format!("'{}' has no column {name}", path.display())))
            };
            let keys = column("id")?;
            let keys = keys.as_primitive::<Int64Type>();
            let ids = column("ids")?;
            let ids = ids.as_list::<i32>();
            let masks = column("masks")?;
            let masks = masks.as_list::<i32>();
            for row in 0..batch.num_rows() {
                let row_ids = ids.value(row);
                let row_ids = row_ids.as_primitive::<Int64Type>().values();
                let real = masks.value(row).as_primitive::<Int64Type>().values().iter().sum::<i64>() as usize;
                digest.add(keys.value(row), row_ids[..real].iter().copied());
            }
        }
    }
    Ok(digest)
}

/// Every output file's name and SHA-256, to compare runs.
fn output_files(out: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    for path in split_files(out, "train")?.into_iter().chain(split_files(out, "val")?) {
        let bytes = std::fs::read(&path).map_err(|error| Error::io(&path, error))?;
        let name = path.strip_prefix(out).unwrap_or(&path).to_path_buf();
        files.push((name, Sha256::digest(&bytes).to_vec()));
    }
    Ok(files)
}

/// A session with the CSV registered as `projects`, the way `prepare` registers it.
async fn register_csv(data: &Path, partitions: usize) -> Result<ScriptRunner> {
    let source = CsvSource::inspect(data, None)?;
    source.require_columns(&[("id", "the key"), ("title", "text"), ("description", "text"), ("tag", "the class")])?;
    let params = params::to_sql([
        ("data", Param::path(&source.path)),
        ("columns", Param::Sql(source.column_definitions(&["id", "tag"]))),
    ]);
    let options = SessionOptions { partitions: partitions, ..SessionOptions::default() };
    let mut runner = ScriptRunner::new(connect(&options).await?, params);
    runner.run_script(scripts::REGISTER.path, scripts::REGISTER.text, None).await?;
    Ok(runner)
}

/// The process's peak resident memory over a stretch of work. Linux lets a process reset its high-water
/// mark (`/proc/self/clear_refs`, value 5); where that is not allowed the peak is not reported rather
/// than reported wrong.
struct PeakMemory {
    reset: bool,
}

impl PeakMemory {
    fn start() -> Self {
        Self { reset: std::fs::write("/proc/self/clear_refs", "5").is_ok() }
    }

    fn finish(self) -> Option<u64> {
        if !self.reset {
            return None;
        }
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

fn max_peak(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The report as a table, every speed also a ratio to the baseline (a).
pub fn render(report: &BenchReport) -> String {
    let mut text = String::new();
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());
    text.push_str(&format!(
        "data: {} ({} rows, {:.1} MB)\nvocab: {}\nmachine: {cores} cores; {} build\n",
        report.data.display(),
        report.rows,
        report.data_bytes as f64 / 1e6,
        report.vocab,
        if cfg!(debug_assertions) { "DEBUG (figures not representative)" } else { "release" }
    ));
    text.push_str(&format!(
        "ids: the tokenize UDF and every prepare run give exactly the ids of (a) on all {} rows ({} ids)\n",
        report.rows,
        report.baseline.tokens.unwrap_or(0)
    ));
    if report.prepare.len() + usize::from(report.cluster_prepare.is_some()) > 1 {
        let cluster = report.cluster_prepare.as_ref().map(|(spec, _, _)| format!(" and --cluster {spec}"));
        text.push_str(&format!(
            "prepare outputs byte-identical across --partitions {:?}{}: {}\n",
            report.prepare.iter().map(|(partitions, _)| *partitions).collect::<Vec<_>>(),
            cluster.unwrap_or_default(),
            if report.prepare_outputs_identical { "yes" } else { "NO" }
        ));
    }
    text.push('\n');
    let header = format!(
        "{:<40} {:>9} {:>12} {:>12} {:>10} {:>10} {:>8}\n",
        "stage", "seconds", "rows/s", "tokens/s", "input MB/s", "peak RSS", "vs (a)"
    );
    text.push_str(&header);
    text.push_str(&format!("{}\n", "-".repeat(header.len() - 1)));
    let baseline = report.baseline.rows_per_second();
    let mut rows: Vec<&Measurement> = Vec::new();
    rows.extend(report.generated.as_ref());
    rows.extend([&report.baseline, &report.tokenize_udf, &report.clean_text, &report.csv_read]);
    rows.extend(report.prepare.iter().map(|(_, measurement)| measurement));
    rows.extend(report.cluster_prepare.iter().map(|(_, _, measurement)| measurement));
    for measurement in rows {
        let seconds = measurement.elapsed.as_secs_f64().max(1e-9);
        text.push_str(&format!(
            "{:<40} {:>9.2} {:>12} {:>12} {:>10.1} {:>10} {:>7.2}x\n",
            measurement.label,
            seconds,
            thousands(measurement.rows_per_second()),
            measurement.tokens.map_or_else(|| "-".into(), |tokens| thousands(tokens as f64 / seconds)),
            measurement.input_bytes as f64 / 1e6 / seconds,
            measurement.peak_rss.map_or_else(|| "n/a".into(), |bytes| format!("{} MiB", bytes >> 20)),
            measurement.rows_per_second() / baseline,
        ));
    }
    text.push('\n');
    if let Some((_, single)) = report.prepare.iter().find(|(partitions, _)| *partitions == 1) {
        text.push_str(&format!(
            "clean_text on one core takes {:.0}% of `prepare --partitions 1`'s time\n",
            100.0 * report.clean_text.elapsed.as_secs_f64() / single.elapsed.as_secs_f64()
        ));
        for (partitions, measurement) in report.prepare.iter().filter(|(partitions, _)| *partitions > 1) {
            text.push_str(&format!(
                "--partitions {partitions} runs {:.2}x as fast as --partitions 1\n",
                single.elapsed.as_secs_f64() / measurement.elapsed.as_secs_f64()
            ));
        }
    }
    if let Some((spec, policy, on_cluster)) = &report.cluster_prepare {
        let local = report.prepare.iter().find(|(partitions, _)| *partitions == spec.executors);
        if let Some((partitions, local)) = local {
            text.push_str(&format!(
                "the {spec} cluster ({policy} scheduling) takes {:.2}x the time of --partitions {partitions} on this \
                 machine\n",
                on_cluster.elapsed.as_secs_f64() / local.elapsed.as_secs_f64()
            ));
        }
    }
    text.push_str(&format!("tokenize UDF / encode_batch: {:.2}x\n", report.tokenize_udf.rows_per_second() / baseline));
    text
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_row_order_but_not_ids_or_keys() {
        let digest = |rows: &[(i64, &[i64])]| {
            let mut digest = IdsDigest::default();
            for (key, ids) in rows {
                digest.add(*key, ids.iter().copied());
            }
            digest
        };
        let a = digest(&[(1, &[102, 5, 103]), (2, &[102, 7, 103])]);
        assert_eq!(a, digest(&[(2, &[102, 7, 103]), (1, &[102, 5, 103])]));
        assert_ne!(a, digest(&[(1, &[102, 7, 103]), (2, &[102, 5, 103])]), "ids swapped between rows");
        assert_ne!(a, digest(&[(1, &[102, 5, 103]), (2, &[102, 7, 7, 103])]), "one id more");
        assert_ne!(a, digest(&[(1, &[102, 5, 103])]), "a row missing");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }
}
