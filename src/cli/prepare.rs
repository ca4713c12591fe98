//! `mlprep prepare`: the pipeline on a CSV, or on the built-in default's synthetic data.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mlprep::engine::session::{DEFAULT_BATCH_SIZE, parse_size};
use mlprep::prepare::{self, ColumnNames, Padding, SplitPlan, defaults};
use mlprep::tools::synthetic;
use mlprep::{OnBadRows, PrepareOptions, SessionOptions};

use super::engine::EngineArgs;
use super::message;
use super::signals::{Interruptible, interruptible};

/// `--file-size`'s default as the flag shows it: `prepare::DEFAULT_FILE_SIZE` (a test checks they agree).
const DEFAULT_FILE_SIZE_TEXT: &str = "32M";

#[derive(Args)]
pub struct PrepareArgs {
    /// Input CSV with a header (id, created_on, title, description, tag), Parquet or JSON Lines file, or a
    /// directory of them, local or s3://; plain or compressed (.gz, .bz2, .xz, .zst). Without it, mlprep
    /// generates a synthetic dataset and a vocabulary beside DIR and uses them.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,
    /// Tokenizer: a BERT vocab.txt or a HuggingFace tokenizer.json. Required with --data.
    #[arg(long, value_name = "VOCAB")]
    vocab: Option<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Seed of the shuffle (and of the synthetic data when --data is not given).
    #[arg(long, default_value_t = defaults::SEED, allow_negative_numbers = true)]
    seed: i64,
    /// Share of each class that goes to validation (DIR/val/): ceil(test_size * rows) rows per class, the rest
    /// to DIR/train/ [default: 0.2, or none with --folds alone].
    #[arg(long, value_name = "SHARE", conflicts_with = "splits")]
    test_size: Option<f64>,
    /// Named splits instead of train and val, e.g. train=0.8,val=0.1,test=0.1: per class, in shuffle order,
    /// each split after the first takes ceil(share * rows) rows in turn, and the first takes the rest. Each goes
    /// to DIR/NAME/.
    #[arg(long, value_name = "NAME=SHARE,...")]
    splits: Option<String>,
    /// Keep every row of a group (the values of this column: an author, a repository, ...) in one split and
    /// fold; groups are assigned whole, by a seeded hash, so each class's shares come as close as whole groups
    /// allow (summary.json reports them).
    #[arg(long, value_name = "COLUMN")]
    group: Option<String>,
    /// Stratified folds of the training split: each training row gets a fold 0..K-1 (a `fold` column), the
    /// folds of a class differing in size by at most one. Alone, every row is in training.
    #[arg(long, value_name = "K")]
    folds: Option<u32>,
    /// Class column: the split is stratified by it and it gives the targets.
    #[arg(long, default_value = defaults::STRATIFY)]
    stratify: String,
    /// Column identifying a row: the shuffle hashes it, and it must be unique.
    #[arg(long, default_value = defaults::KEY)]
    key: String,
    /// Truncate (keeping [SEP] last) and pad every row to N ids; default: pad each split to its longest row.
    #[arg(long, value_name = "N")]
    max_length: Option<usize>,
    /// The token rows are padded with (e.g. "<pad>"), in place of the tokenizer's own: its tokenizer.json's
    /// padding settings, or [PAD] or <pad>.
    #[arg(long, value_name = "TOKEN")]
    pad_token: Option<String>,
    /// What each split's ids are padded to: split (its longest row, or --max-length), max-length (one length for
    /// every split: --max-length or the longest row of all), none (unpadded ids, no masks column).
    #[arg(long, value_enum, default_value_t = Padding::default())]
    padding: Padding,
    /// Names of the token and target columns: course (ids, masks, targets) or hf (input_ids, attention_mask,
    /// labels, as transformers models take them).
    #[arg(long, value_enum, default_value_t = ColumnNames::default())]
    column_names: ColumnNames,
    /// Rows per Arrow batch.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Replace DIR if it holds an earlier mlprep output (a directory holding anything else is never replaced).
    #[arg(long)]
    overwrite: bool,
    /// CSV bytes per output file, e.g. 32M: rows are sorted and written one bucket of the shuffle order at a
    /// time (DIR/train/part-00000.parquet, part-00001, …), so memory follows this size, not the input's.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = DEFAULT_FILE_SIZE_TEXT)]
    file_size: usize,
    /// Rows that cannot be prepared (wrong number of fields, invalid UTF-8, an unterminated quote, an empty
    /// or mistyped key or class, a key several rows share): fail names them and writes nothing; skip leaves
    /// them out, lists them in DIR/rejected.csv and counts them in summary.json.
    #[arg(long, value_enum, default_value = "fail")]
    on_bad_rows: OnBadRows,
    /// Before the split, leave out every row whose cleaned text a row with a smaller key has (counted in
    /// summary.json). Without it such rows are only counted: texts in both splits are leakage.
    #[arg(long)]
    dedupe: bool,
    /// The class indices of an earlier run (its class_to_index.json), to prepare data for a model trained on
    /// it: the targets follow the file, and a row of any other class is a bad row (see --on-bad-rows).
    #[arg(long, value_name = "FILE")]
    classes: Option<PathBuf>,
    /// Print how long each step took (on stderr).
    #[arg(long)]
    timing: bool,
    /// Rows of the synthetic dataset used when --data is not given.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    demo_rows: u64,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `prepare` until it ends or a signal stops it; a stopped run removes what it wrote.
pub fn run(runtime: tokio::runtime::Runtime, args: PrepareArgs) -> ExitCode {
    let out = args.out.clone();
    match runtime.block_on(interruptible(run_prepare(args))) {
        Interruptible::Done(result) => super::exit_code(result),
        Interruptible::Interrupted(signal) => {
            // Tasks still running may write a little more: stop them, then remove what they wrote.
            runtime.shutdown_timeout(std::time::Duration::from_secs(10));
            let left = mlprep::publish::remove_all_unfinished();
            if left.is_empty() {
                eprintln!("error: interrupted by {}: nothing was written to {}", signal.name, out.display());
            } else {
                eprintln!(
                    "error: interrupted by {}: nothing was written to {}, but {} could not be removed",
                    signal.name,
                    out.display(),
                    left.join(", ")
                );
            }
            ExitCode::from(128 + signal.number)
        }
    }
}

async fn run_prepare(args: PrepareArgs) -> Result<(), String> {
    let args_timing = args.timing;
    let demo = match (&args.data, &args.vocab) {
        (Some(_), None) => return Err("--vocab is required with --data (a BERT vocab.txt or a tokenizer.json)".into()),
        (Some(_), Some(_)) => None,
        (None, vocab) => Some(DemoInput::new(&args.out, args.demo_rows, args.seed as u64, vocab.clone())?),
    };
    let (data, vocab) = match (&demo, args.data, args.vocab) {
        (Some(demo), _, _) => (demo.data.clone(), demo.vocab.clone()),
        (None, data, vocab) => (data.unwrap_or_default(), vocab.unwrap_or_default()),
    };
    let session = SessionOptions { batch_size: args.batch_size, ..args.engine.session_options() };
    let split = SplitPlan::from_flags(args.test_size, args.splits.as_deref(), args.folds).map_err(message)?;
    let options = PrepareOptions {
        seed: args.seed,
        split,
        group: args.group,
        stratify: args.stratify,
        key: args.key,
        max_length: args.max_length,
        pad_token: args.pad_token,
        padding: args.padding,
        column_names: args.column_names,
        overwrite: args.overwrite,
        file_size: args.file_size as u64,
        on_bad_rows: args.on_bad_rows,
        dedupe: args.dedupe,
        classes: args.classes,
        session,
        ..PrepareOptions::new(data, vocab, args.out)
    };
    if let Some(demo) = &demo {
        // Only once the output is known to be writable: a refused run creates nothing.
        prepare::check_output(&options).map_err(message)?;
        demo.write()?;
        println!(
            "No --data given: using {} synthetic projects (seed {}) written to {} and the vocabulary {}",
            demo.rows,
            demo.seed,
            demo.data.display(),
            demo.vocab.display()
        );
    }
    let report = prepare::prepare(&options).await.map_err(message)?;
    let splits: Vec<String> = report.splits.iter().map(|split| format!("{} {}", split.rows, split.name)).collect();
    println!(
        "Prepared {} rows from {} with vocabulary {}: {}, {} classes -> {}",
        report.rows_read,
        options.data.display(),
        options.vocab.display(),
        splits.join(", "),
        report.class_to_index.len(),
        report.out.display()
    );
    if std::io::stdout().is_terminal() {
        print!("{}", classes_table(&report));
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if options.dedupe {
        println!("{} rows left out by --dedupe (their cleaned text is another row's)", report.rows_deduplicated);
    }
    if report.val_rows_with_a_train_text > 0 {
        println!(
            "warning: {} validation rows have a cleaned text that training rows have too (leakage; see summary.json, or --dedupe)",
            report.val_rows_with_a_train_text
        );
    }
    if options.on_bad_rows == OnBadRows::Skip {
        println!("{} rows set aside, listed in {}", report.rows_rejected, report.out.join("rejected.csv").display());
    }
    if args_timing {
        for (step, elapsed) in &report.step_times {
            eprintln!("{:>9.3} s  {step}", elapsed.as_secs_f64());
        }
    }
    Ok(())
}

/// Rows per class and split, with totals: what a terminal shows at the end of a run.
fn classes_table(report: &mlprep::PrepareReport) -> String {
    let mut classes: Vec<(&i64, &String)> = report.class_to_index.iter().map(|(class, index)| (index, class)).collect();
    classes.sort();
    let mut rows: Vec<Vec<String>> = vec![
        std::iter::once("class".to_owned())
            .chain(report.splits.iter().map(|split| split.name.clone()))
            .chain(["total".to_owned()])
            .collect(),
    ];
    for (_, class) in &classes {
        let counts: Vec<u64> =
            report.splits.iter().map(|split| split.rows_per_class.get(*class).copied().unwrap_or(0)).collect();
        rows.push(
            std::iter::once((*class).clone())
                .chain(counts.iter().map(u64::to_string))
                .chain([counts.iter().sum::<u64>().to_string()])
                .collect(),
        );
    }
    rows.push(
        std::iter::once("all".to_owned())
            .chain(report.splits.iter().map(|split| split.rows.to_string()))
            .chain([report.rows_in_splits().to_string()])
            .collect(),
    );
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|column| rows.iter().map(|row| row[column].chars().count()).max().unwrap_or(0))
        .collect();
    let mut table = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(
                |(column, (cell, width))| {
                    if column == 0 { format!("{cell:<width$}") } else { format!("{cell:>width$}") }
                },
            )
            .collect();
        table.push_str(cells.join("  ").trim_end());
        table.push('\n');
    }
    table
}

/// The built-in default's inputs: synthetic projects and the vocabulary covering them, in `DIR-demo-input`
/// beside the output directory. The projects file is named by its rows and seed, so each dataset has its own.
struct DemoInput {
    data: PathBuf,
    vocab: PathBuf,
    /// Whether `vocab` is the demo vocabulary, written with the data (otherwise `--vocab` gave it).
    own_vocab: bool,
    rows: u64,
    seed: u64,
}

impl DemoInput {
    fn new(out: &Path, rows: u64, seed: u64, vocab: Option<PathBuf>) -> Result<Self, String> {
        if mlprep::engine::location::Location::is_url(out) {
            return Err(format!(
                "--out {}: the built-in default writes its input beside the output directory, which must be local; \
                 give --data and --vocab to write to a store",
                out.display()
            ));
        }
        let out = mlprep::publish::resolve(out).map_err(|error| format!("{}: {error}", out.display()))?;
        let name = out.file_name().ok_or_else(|| format!("output directory '{}' has no name", out.display()))?;
        let directory = out.with_file_name(format!("{}-demo-input", name.to_string_lossy()));
        let data = directory.join(format!("projects-{rows}-seed{seed}.csv"));
        let own_vocab = vocab.is_none();
        let vocab = vocab.unwrap_or_else(|| directory.join("vocab.txt"));
        Ok(Self { data, vocab, own_vocab, rows, seed })
    }

    /// Writes the inputs; a file already there is kept when it holds the same bytes, never replaced.
    fn write(&self) -> Result<(), String> {
        use mlprep::publish::{IfExists, write_file};
        if let Some(directory) = self.data.parent() {
            std::fs::create_dir_all(directory).map_err(|error| format!("{}: {error}", directory.display()))?;
        }
        write_file(&self.data, IfExists::KeepIfIdentical, |out| {
            synthetic::write_projects_csv(out, self.rows, self.seed)
        })
        .map_err(|error| error.to_string())?;
        if self.own_vocab {
            write_file(&self.vocab, IfExists::KeepIfIdentical, |out| {
                out.write_all(synthetic::demo_vocabulary().as_bytes())
            })
            .map_err(|error| error.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_size_flag_shows_the_library_default() {
        assert_eq!(
            mlprep::engine::session::parse_size(super::DEFAULT_FILE_SIZE_TEXT).unwrap() as u64,
            mlprep::prepare::DEFAULT_FILE_SIZE
        );
    }
}
