//! `mlprep generate`: synthetic projects (and their vocabulary) as CSV.

use std::path::PathBuf;

use clap::Args;
use mlprep::tools::synthetic;

#[derive(Args)]
pub struct GenerateArgs {
    /// Number of projects.
    #[arg(long, default_value_t = 10_000)]
    rows: u64,
    /// Seed: the same seed gives the same bytes.
    #[arg(long, default_value_t = mlprep::prepare::defaults::SEED as u64)]
    seed: u64,
    /// Output CSV.
    #[arg(long, value_name = "FILE.csv")]
    out: PathBuf,
    /// Also write a BERT vocab.txt covering the generator's words.
    #[arg(long, value_name = "FILE")]
    vocab_out: Option<PathBuf>,
    /// Replace --out (and --vocab-out) if it exists (otherwise mlprep refuses).
    #[arg(long)]
    overwrite: bool,
}

pub fn run(args: &GenerateArgs) -> Result<(), String> {
    use mlprep::publish::{IfExists, write_file};
    let if_exists = if args.overwrite { IfExists::Replace } else { IfExists::Refuse };
    if let Some(vocab_out) = &args.vocab_out {
        let resolve =
            |path: &PathBuf| mlprep::publish::resolve(path).map_err(|error| format!("{}: {error}", path.display()));
        if resolve(vocab_out)? == resolve(&args.out)? {
            return Err(format!("--out and --vocab-out are the same file '{}'", args.out.display()));
        }
        // Both refused before either is written.
        for path in [&args.out, vocab_out] {
            if !args.overwrite && std::fs::symlink_metadata(path).is_ok() {
                return Err(mlprep::publish::OutputError::FileExists { path: path.clone() }.to_string());
            }
        }
    }
    write_file(&args.out, if_exists, |out| synthetic::write_projects_csv(out, args.rows, args.seed))
        .map_err(|error| error.to_string())?;
    if let Some(vocab_out) = &args.vocab_out {
        write_file(vocab_out, if_exists, |out| out.write_all(synthetic::demo_vocabulary().as_bytes()))
            .map_err(|error| error.to_string())?;
    }
    Ok(())
}
