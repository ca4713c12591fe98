//! Prints the physical plans of the pipeline's two heavy statements: the staging `COPY` of `sql/02_stage.sql`
//! (read, clean, tokenize) and the training split's `COPY` of `sql/06_write.sql` (join with the split,
//! sort, pad, write), on a CSV:
//! `cargo run --example explain_pipeline -- FILE.csv VOCAB [PARTITIONS] [standalone|df://HOST:PORT]`.
//! With a cluster it prints Ballista's stage layout (`distributed_plan`) too.

use std::collections::BTreeMap;

use datafusion::arrow::util::pretty::pretty_format_batches;
use mlprep::input::CsvSource;
use mlprep::prepare::materialize_split;
use mlprep::sql::literals::materialize_small_view;
use mlprep::sql::scripts::{self, Script};
use mlprep::sql::{ScriptRunner, split_statements};
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
    let source = CsvSource::inspect(data.as_ref(), None)?;
    let mut params = BTreeMap::from([
        ("data".to_owned(), source.path.display().to_string()),
        ("columns".to_owned(), source.column_definitions(&["id", "tag"])),
        ("vocab".to_owned(), vocab),
        ("pad_to".to_owned(), "512".to_owned()),
    ]);
    // A new directory of its own, removed when it is dropped: never one that existed before.
    let scratch = tempfile::Builder::new().prefix("mlprep-explain-").tempdir()?;
    let work = scratch.path().to_path_buf();
    params.insert("work".to_owned(), work.display().to_string());
    params.insert("out".to_owned(), work.join("out").display().to_string());
    let context = connect(&SessionOptions { partitions: partitions, cluster, ..Default::default() }).await?;
    let mut runner = ScriptRunner::new(context, params);
    runner.run_script(scripts::REGISTER.path, scripts::REGISTER.text, None).await?;
    run_settings(&mut runner, scripts::STAGE).await?;
    explain(&mut runner, "sql/02_stage.sql", &first_copy(scripts::STAGE.text)).await?;
    let result = async {
        runner.run_script(scripts::STAGE.path, scripts::STAGE.text, None).await?;
        runner.run_script(scripts::CHECKS.path, scripts::CHECKS.text, None).await?;
        runner.run_script(scripts::SPLIT.path, scripts::SPLIT.text, None).await?;
        materialize_small_view(&mut runner, "duplicate_keys").await?;
        materialize_split(&mut runner, false).await?;
        // The training split's COPY of step 6.
        run_settings(&mut runner, scripts::WRITE).await?;
        explain(&mut runner, "sql/06_write.sql", &first_copy(scripts::WRITE.text)).await
    }
    .await;
    drop(scratch);
    result
}

/// The script's first `COPY` statement.
fn first_copy(script: &str) -> String {
    split_statements(script)
        .into_iter()
        .find(|statement| {
            statement.text.split_whitespace().next().is_some_and(|word| word.eq_ignore_ascii_case("COPY"))
        })
        .map(|statement| statement.text)
        .expect("the script has a COPY statement")
}

/// Runs the script's `SET` statements, which the plan of its `COPY` depends on.
async fn run_settings(runner: &mut ScriptRunner, script: Script) -> datafusion::common::Result<()> {
    for statement in split_statements(script.text) {
        if statement.text.split_whitespace().next().is_some_and(|word| word.eq_ignore_ascii_case("SET")) {
            runner.run_script(script.path, &statement.text, None).await?;
        }
    }
    Ok(())
}

async fn explain(runner: &mut ScriptRunner, name: &str, copy: &str) -> datafusion::common::Result<()> {
    let outputs = runner.run_script("explain", &format!("EXPLAIN {copy}"), None).await?;
    println!("{name}:\n{}", pretty_format_batches(&outputs[0].batches)?);
    Ok(())
}
