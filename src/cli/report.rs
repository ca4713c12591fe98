//! `mlprep report DIR`: draws the dataset card and pictures of an existing output again.

use std::path::PathBuf;

use clap::Args;

use super::message;

#[derive(Args)]
pub struct ReportArgs {
    /// A directory or s3:// prefix `mlprep prepare` wrote (it has a summary.json).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

pub async fn run(args: ReportArgs) -> Result<(), String> {
    let redrawn = mlprep::report::redraw(&args.dir).await.map_err(message)?;
    println!(
        "Drew {} files of {}: the card {} and the pictures in {}",
        redrawn.files.len(),
        args.dir.display(),
        mlprep::report::CARD_FILE,
        mlprep::report::PAGE_FILE
    );
    Ok(())
}
