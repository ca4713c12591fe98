//! Prints the physical plan of the pipeline's write step on a CSV: `cargo run --example explain_pipeline -- FILE.csv VOCAB [PARTITIONS]`.

use std::collections::BTreeMap;

use datafusion::arrow::util::pretty::pretty_format_batches;
use mlprep::csv_source::CsvSource;
use mlprep::pipeline::SCRIPTS;
use mlprep::script::ScriptRunner;
use mlprep::{SessionOptions, session_context};

#[tokio::main]
async fn main() -> datafusion::common::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(data), Some(vocab)) = (args.next(), args.next()) else {
        eprintln!("usage: explain_pipeline FILE.csv VOCAB [PARTITIONS]");
        std::process::exit(2);
    };
    let partitions = args.next().map_or(4, |value| value.parse().expect("PARTITIONS is a number"));
    let source = CsvSource::inspect(data.as_ref())?;
    let params = BTreeMap::from([
        ("data".to_owned(), source.path.display().to_string()),
        ("columns".to_owned(), source.column_definitions()),
        ("vocab".to_owned(), vocab),
    ]);
    let context = session_context(&SessionOptions { target_partitions: partitions, ..Default::default() })?;
    let mut runner = ScriptRunner::new(context, params);
    runner.run_script(SCRIPTS[0].0, SCRIPTS[0].1, None).await?;
    runner.run_script(SCRIPTS[2].0, SCRIPTS[2].1, None).await?;
    let explain = "EXPLAIN SELECT id, tag, text, tokens['ids'] AS ids, tokens['masks'] AS masks, targets \
        FROM (SELECT id, tag, text, targets, shuffle_hash, tokenize(text, '${vocab}', 512) AS tokens \
              FROM examples WHERE split = 'train') ORDER BY shuffle_hash, id";
    let outputs = runner.run_script("explain", explain, None).await?;
    println!("{}", pretty_format_batches(&outputs[0].batches)?);
    Ok(())
}
