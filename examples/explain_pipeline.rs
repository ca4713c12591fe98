//! Prints the physical plan of the pipeline's write step (the training split's `COPY` of `sql/05_write.sql`)
//! on a CSV: `cargo run --example explain_pipeline -- FILE.csv VOCAB [PARTITIONS] [standalone|df://HOST:PORT]`.
//! With a cluster it prints Ballista's stage layout (`distributed_plan`) too.

use std::collections::BTreeMap;

use datafusion::arrow::util::pretty::pretty_format_batches;
use mlprep::csv_source::CsvSource;
use mlprep::pipeline::SCRIPTS;
use mlprep::script::{ScriptRunner, split_statements};
use mlprep::{Cluster, SessionOptions, connect};

#[tokio::main]
async fn main() -> datafusion::common::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(data), Some(vocab)) = (args.next(), args.next()) else {
        eprintln!("usage: explain_pipeline FILE.csv VOCAB [PARTITIONS] [standalone|df://HOST:PORT]");
        std::process::exit(2);
    };
    let partitions = args.next().map_or(4, |value| value.parse().expect("PARTITIONS is a number"));
    let cluster = match args.next().as_deref() {
        None => Cluster::Local,
        Some("standalone") => Cluster::Standalone,
        Some(url) => Cluster::Remote(url.to_owned()),
    };
    let source = CsvSource::inspect(data.as_ref())?;
    let params = BTreeMap::from([
        ("data".to_owned(), source.path.display().to_string()),
        ("columns".to_owned(), source.column_definitions()),
        ("vocab".to_owned(), vocab),
        ("train_pad_to".to_owned(), "512".to_owned()),
        ("val_pad_to".to_owned(), "512".to_owned()),
    ]);
    let context = connect(&SessionOptions { target_partitions: partitions, cluster, ..Default::default() }).await?;
    let mut runner = ScriptRunner::new(context, params);
    runner.run_script(SCRIPTS[0].0, SCRIPTS[0].1, None).await?;
    runner.run_script(SCRIPTS[2].0, SCRIPTS[2].1, None).await?;
    // The view of step 5, then the query its first COPY writes.
    let write_steps = split_statements(SCRIPTS[4].1);
    runner.run_script(SCRIPTS[4].0, &write_steps[0].text, None).await?;
    let copy = &write_steps[1].text;
    let query = &copy[copy.find('(').expect("COPY (query)") + 1..copy.rfind(')').expect("COPY (query)")];
    let explain = format!("EXPLAIN {query}");
    let outputs = runner.run_script("explain", &explain, None).await?;
    println!("{}", pretty_format_batches(&outputs[0].batches)?);
    Ok(())
}
