//! `mlprep._native`: what the Python package (`python/mlprep/__init__.py`) wraps. mlprep's SQL functions as
//! objects datafusion-python accepts (`__datafusion_scalar_udf__`, a capsule of datafusion-ffi's
//! `FFI_ScalarUDF`), the pipeline (`prepare`) with the interpreter free while it runs, and `sql`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::logical_expr::ScalarUDF;
use datafusion_ffi::udf::FFI_ScalarUDF;
use mlprep::engine::location::Location;
use mlprep::engine::session::{parse_size, tokio_runtime};
use mlprep::engine::storage::{ObjectStores, S3Settings};
use mlprep::prepare::{ColumnNames, Padding, SplitPlan, defaults};
use mlprep::publish::SUMMARY_FILE;
use mlprep::sql::{Param, ScriptRunner};
use mlprep::{Cluster, OnBadRows, PrepareOptions, SessionOptions};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyCapsule, PyDict, PyFloat, PyInt};

pyo3::create_exception!(_native, MlprepError, PyException, "A run of mlprep failed; the message is mlprep's.");

/// How often a waiting `prepare` or `sql` looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// One of mlprep's SQL functions, for `datafusion.udf(...)`.
#[pyclass(frozen, name = "ScalarFunction", module = "mlprep._native")]
struct ScalarFunction {
    udf: Arc<ScalarUDF>,
}

#[pymethods]
impl ScalarFunction {
    #[getter]
    fn name(&self) -> &str {
        self.udf.name()
    }

    /// The function as datafusion-python 55 imports it.
    fn __datafusion_scalar_udf__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        PyCapsule::new_with_value(py, FFI_ScalarUDF::from(Arc::clone(&self.udf)), c"datafusion_scalar_udf")
    }

    fn __repr__(&self) -> String {
        format!("<mlprep function {}>", self.udf.name())
    }
}

/// mlprep's SQL functions.
#[pyfunction]
fn functions() -> Vec<ScalarFunction> {
    mlprep_udfs::all_functions().into_iter().map(|udf| ScalarFunction { udf }).collect()
}

/// The DataFusion version mlprep was built with (its FFI layout is that major's).
#[pyfunction]
fn datafusion_version() -> &'static str {
    datafusion::DATAFUSION_VERSION
}

/// mlprep's version.
#[pyfunction]
fn version() -> &'static str {
    mlprep::VERSION
}

/// `prepare`'s defaults, for the Python signature (one place for them: `mlprep::prepare::defaults`).
#[pyfunction]
fn prepare_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let defaults_dict = PyDict::new(py);
    defaults_dict.set_item("seed", defaults::SEED)?;
    defaults_dict.set_item("test_size", defaults::TEST_SIZE)?;
    defaults_dict.set_item("stratify", defaults::STRATIFY)?;
    defaults_dict.set_item("key", defaults::KEY)?;
    defaults_dict.set_item("on_bad_rows", OnBadRows::default().name())?;
    Ok(defaults_dict)
}

fn failed(error: impl std::fmt::Display) -> PyErr {
    MlprepError::new_err(error.to_string())
}

/// Runs the pipeline as `mlprep prepare` does and returns `summary.json`'s text. The interpreter is free while
/// it runs; Ctrl-C stops it, removes what it wrote and raises `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (data, vocab, out, seed, test_size, splits, folds, group, stratify, key, max_length, pad_token, padding, column_names, partitions, memory_limit, on_bad_rows, classes, dedupe, overwrite, cluster))]
#[allow(clippy::too_many_arguments)]
fn prepare(
    py: Python<'_>,
    data: PathBuf,
    vocab: PathBuf,
    out: PathBuf,
    seed: i64,
    test_size: Option<f64>,
    splits: Option<String>,
    folds: Option<u32>,
    group: Option<String>,
    stratify: String,
    key: String,
    max_length: Option<usize>,
    pad_token: Option<String>,
    padding: &str,
    column_names: &str,
    partitions: Option<usize>,
    memory_limit: Option<String>,
    on_bad_rows: &str,
    classes: Option<PathBuf>,
    dedupe: bool,
    overwrite: bool,
    cluster: Option<String>,
) -> PyResult<String> {
    let on_bad_rows = <OnBadRows as clap::ValueEnum>::from_str(on_bad_rows, false)
        .map_err(|_| PyValueError::new_err(format!("on_bad_rows={on_bad_rows:?}: expected 'fail' or 'skip'")))?;
    let padding = <Padding as clap::ValueEnum>::from_str(padding, false)
        .map_err(|_| PyValueError::new_err(format!("padding={padding:?}: expected 'split', 'max-length' or 'none'")))?;
    let column_names = <ColumnNames as clap::ValueEnum>::from_str(column_names, false)
        .map_err(|_| PyValueError::new_err(format!("column_names={column_names:?}: expected 'course' or 'hf'")))?;
    let memory_limit = memory_limit.as_deref().map(parse_size).transpose().map_err(PyValueError::new_err)?;
    let cluster = match cluster.as_deref() {
        None => Cluster::Local,
        Some("standalone") => Cluster::Standalone,
        Some(url) => Cluster::Remote(url.to_owned()),
    };
    let defaults = SessionOptions::default();
    let session =
        SessionOptions { partitions: partitions.unwrap_or(defaults.partitions), memory_limit, cluster, ..defaults };
    // The messages name the CLI's flags, which the keyword arguments mirror.
    let split = SplitPlan::from_flags(test_size, splits.as_deref(), folds)
        .map_err(|error| PyValueError::new_err(error.to_string()))?;
    let options = PrepareOptions {
        seed,
        split,
        group,
        stratify,
        key,
        max_length,
        pad_token,
        padding,
        column_names,
        overwrite,
        on_bad_rows,
        dedupe,
        classes,
        session,
        ..PrepareOptions::new(data, vocab, out)
    };
    let runtime = tokio_runtime(Some(options.session.partitions)).map_err(failed)?;
    // Tasks still running when Ctrl-C arrives may write a little more: they are stopped first, then what the
    // run wrote is removed.
    let report = run_interruptibly(py, runtime, async move { mlprep::prepare(&options).await }, || {
        let left = mlprep::publish::remove_all_unfinished();
        if !left.is_empty() {
            eprintln!("mlprep: interrupted; could not remove {}", left.join(", "));
        }
    })?;
    report.map(|report| report.summary.to_string()).map_err(failed)
}

/// Runs `work` on `runtime` with the interpreter free, looking for Ctrl-C meanwhile. On Ctrl-C the work is
/// aborted, the runtime shut down, `after_interrupt` run, and `KeyboardInterrupt` raised.
fn run_interruptibly<T: Send + 'static>(
    py: Python<'_>,
    runtime: tokio::runtime::Runtime,
    work: impl Future<Output = T> + Send + 'static,
    after_interrupt: impl FnOnce() + Send,
) -> PyResult<T> {
    let (sender, receiver) = channel();
    // Waited on with the interpreter free, from whichever thread pyo3 runs that on.
    let receiver = std::sync::Mutex::new(receiver);
    let run = runtime.spawn(async move {
        let _ = sender.send(work.await);
    });
    loop {
        let received =
            py.detach(|| receiver.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv_timeout(SIGNAL_POLL));
        match received {
            Ok(result) => {
                py.detach(|| runtime.shutdown_timeout(Duration::from_secs(10)));
                return Ok(result);
            }
            Err(RecvTimeoutError::Disconnected) => return Err(failed("the run stopped without a result")),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Err(interrupt) = py.check_signals() {
            run.abort();
            py.detach(|| {
                runtime.shutdown_timeout(Duration::from_secs(10));
                after_interrupt();
            });
            return Err(interrupt);
        }
    }
}

/// Copies the complete mlprep output at the store URL `out` into the local directory `dir`; refuses a prefix
/// with no `summary.json` (absent, or a run that did not finish).
#[pyfunction]
fn download_output(py: Python<'_>, out: PathBuf, dir: PathBuf) -> PyResult<usize> {
    let runtime = tokio_runtime(None).map_err(failed)?;
    let copied = run_interruptibly(
        py,
        runtime,
        async move {
            let stores = ObjectStores::new(S3Settings::from_env());
            let Location::Object(prefix) = Location::parse("out", &out, &stores)? else {
                return Err(mlprep::error::Error::Configuration(format!("{}: not a store URL", out.display())));
            };
            if prefix.join(SUMMARY_FILE).head().await?.is_none() {
                return Err(mlprep::error::Error::Configuration(format!(
                    "{} is not a complete mlprep output: it has no {SUMMARY_FILE}",
                    prefix.url()
                )));
            }
            prefix.download_all(&dir).await
        },
        || {},
    )?;
    copied.map_err(failed)
}

/// A Python value as a script parameter: text, a whole number, a number, or `true`/`false`.
fn param(value: &Bound<'_, PyAny>) -> PyResult<Param> {
    if value.is_instance_of::<PyBool>() {
        return Ok(Param::Sql(value.extract::<bool>()?.to_string()));
    }
    if value.is_instance_of::<PyInt>() {
        return Ok(Param::Integer(value.extract()?));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Param::Float(value.extract()?));
    }
    if let Ok(path) = value.extract::<PathBuf>() {
        return Ok(Param::path(&path));
    }
    Err(PyValueError::new_err(format!(
        "a parameter must be text, a path, a number or a bool, not {}",
        value.get_type()
    )))
}

/// Runs `query` (one or more statements, with `${name}` parameters) on a local session with mlprep's
/// functions, and returns the last statement's result as an Arrow IPC stream. Ctrl-C stops it.
#[pyfunction]
fn sql(py: Python<'_>, query: &str, params: &Bound<'_, PyDict>) -> PyResult<Vec<u8>> {
    let params: Vec<(String, Param)> =
        params.iter().map(|(name, value)| Ok((name.extract::<String>()?, param(&value)?))).collect::<PyResult<_>>()?;
    let query = query.to_owned();
    let runtime = tokio_runtime(None).map_err(failed)?;
    let outputs = run_interruptibly(
        py,
        runtime,
        async move {
            let context = mlprep::session_context(&SessionOptions::default())?;
            let params = mlprep::sql::params::to_sql(params.iter().map(|(name, value)| (name.as_str(), value.clone())));
            ScriptRunner::new(context, params).run_script("query", &query, None).await
        },
        || {},
    )?
    .map_err(failed)?;
    let last = outputs.last().ok_or_else(|| PyValueError::new_err("the query has no statement"))?;
    let mut stream = Vec::new();
    let mut writer = StreamWriter::try_new(&mut stream, &last.schema).map_err(failed)?;
    for batch in &last.batches {
        writer.write(batch).map_err(failed)?;
    }
    writer.finish().map_err(failed)?;
    drop(writer);
    Ok(stream)
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<ScalarFunction>()?;
    module.add("MlprepError", module.py().get_type::<MlprepError>())?;
    module.add_function(wrap_pyfunction!(functions, module)?)?;
    module.add_function(wrap_pyfunction!(datafusion_version, module)?)?;
    module.add_function(wrap_pyfunction!(version, module)?)?;
    module.add_function(wrap_pyfunction!(prepare_defaults, module)?)?;
    module.add_function(wrap_pyfunction!(prepare, module)?)?;
    module.add_function(wrap_pyfunction!(sql, module)?)?;
    module.add_function(wrap_pyfunction!(download_output, module)?)?;
    Ok(())
}
