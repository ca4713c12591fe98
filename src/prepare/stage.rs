//! Step 2, staging (`sql/02_stage.sql`): its COPY runs once per group of the input's record ranges, all at
//! once, each reading its own table of one group (`${projects}`), so every task parses, cleans, tokenizes
//! and writes its share of the input alone. One COPY over every range would write from one task (DataFusion
//! writes a COPY's files from a single partition): on a cluster, that task would receive every staged row
//! through a shuffle.

use std::sync::Arc;

use datafusion::prelude::SessionContext;

use crate::engine::ranged_csv::{CsvRange, RangedCsvTable};
use crate::error::{Error, Result};
use crate::sql::results::{copied_count, run_at_once};
use crate::sql::script::substitute;
use crate::sql::scripts;
use crate::sql::{Param, ScriptRunner, split_statements};

/// The table `sql/02_stage.sql` reads by default, as `sql/01_register.sql` creates it.
const INPUT_TABLE: &str = "projects";

/// Stages the input, read as `ranges` (see [`RangedCsvTable`]); returns the rows staged. Every statement but
/// the COPY runs once, in the script's order; `copied` counts the rows written as they are.
pub(super) async fn stage(
    runner: &ScriptRunner,
    ranges: Vec<Vec<CsvRange>>,
    copied: &std::sync::atomic::AtomicU64,
) -> Result<u64> {
    let (name, text) = (scripts::STAGE.path, scripts::STAGE.text);
    let context = runner.context().clone();
    let whole = RangedCsvTable::from_csv_table(context.table_provider(INPUT_TABLE).await?.as_ref(), ranges)?;
    let parts: Vec<String> =
        (0..whole.groups().len()).map(|part| format!("{INPUT_TABLE}_range_group_{part}")).collect();
    for (part, group) in parts.iter().zip(whole.groups()) {
        context.register_table(part.as_str(), Arc::new(whole.with_groups(vec![group.clone()])))?;
    }
    // The whole input too, read in ranges, for whatever reads it by name.
    context.deregister_table(INPUT_TABLE)?;
    context.register_table(INPUT_TABLE, Arc::new(whole))?;
    let result = run_staging(&context, runner, name, text, &parts, copied).await;
    for part in &parts {
        context.deregister_table(part.as_str())?;
    }
    result
}

async fn run_staging(
    context: &SessionContext,
    runner: &ScriptRunner,
    name: &str,
    text: &str,
    parts: &[String],
    copied: &std::sync::atomic::AtomicU64,
) -> Result<u64> {
    let statements = split_statements(text);
    let is_copy = |sql: &str| sql.split_whitespace().next().is_some_and(|word| word.eq_ignore_ascii_case("COPY"));
    let copies: Vec<usize> = (0..statements.len()).filter(|&index| is_copy(&statements[index].text)).collect();
    let [copy] = copies.as_slice() else {
        return Err(Error::Internal(format!("{name} has {} COPY statements, expected one", copies.len())));
    };
    let mut rows = 0;
    for (index, statement) in statements.iter().enumerate() {
        if index != *copy {
            context.sql(&substitute(&statement.text, runner.params(), name)?).await?.collect().await?;
            continue;
        }
        let mut part_copies = Vec::with_capacity(parts.len());
        for part in parts {
            let mut params = runner.params().clone();
            params.extend(crate::sql::params::to_sql([("projects", Param::Identifier(part.clone()))]));
            part_copies.push(substitute(&statement.text, &params, name)?);
        }
        let results = run_at_once(context, part_copies, parts.len(), Some(copied)).await?;
        rows = results.iter().map(|batches| copied_count(batches)).sum();
    }
    Ok(rows)
}
