//! The pipeline's SQL scripts (`sql/`), compiled in so that the binary runs the very scripts shipped there,
//! each by its name, and their statements by name (a `-- name: NAME` line before the statement).

use datafusion::arrow::record_batch::RecordBatch;

use super::params::Param;
use super::script::{ScriptRunner, Statement, split_statements, substitute};
use crate::error::{Error, Result};

/// A script of `sql/`: its path in the repository (for messages) and its text.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    pub path: &'static str,
    pub text: &'static str,
}

/// Registers the input CSV as the table `projects`.
pub const REGISTER: Script = Script { path: "sql/01_register.sql", text: include_str!("../../sql/01_register.sql") };
/// Cleans and tokenizes every row into the staged rows, bucketed by shuffle order.
pub const STAGE: Script = Script { path: "sql/02_stage.sql", text: include_str!("../../sql/02_stage.sql") };
/// Lists the problems of the staged rows (NULL classes, duplicate keys) and the accepted rows.
pub const CHECKS: Script = Script { path: "sql/03_checks.sql", text: include_str!("../../sql/03_checks.sql") };
/// The stratified split: class sizes, class indices, each class's segment boundaries and the split rows.
pub const SPLIT: Script = Script { path: "sql/04_split.sql", text: include_str!("../../sql/04_split.sql") };
/// The split of whole groups (`--group`), in place of [`SPLIT`]: the split rows from the groups' segments.
pub const GROUP_SPLIT: Script =
    Script { path: "sql/04_group_split.sql", text: include_str!("../../sql/04_group_split.sql") };
/// What `summary.json` reports of the split rows (counts, token lengths, leakage).
pub const EXAMPLES: Script = Script { path: "sql/05_examples.sql", text: include_str!("../../sql/05_examples.sql") };
/// Pads and writes each split as Parquet.
pub const WRITE: Script = Script { path: "sql/06_write.sql", text: include_str!("../../sql/06_write.sql") };

/// Every script, in the order the pipeline runs them.
pub const PIPELINE: [Script; 6] = [REGISTER, STAGE, CHECKS, SPLIT, EXAMPLES, WRITE];

/// The statements `prepare` runs around the steps (per bucket or range, and the small results it reads).
pub const QUERIES: Script = Script { path: "sql/queries.sql", text: include_str!("../../sql/queries.sql") };

/// The statements that measure a written output for its dataset card and pictures, one split at a time.
pub const REPORT: Script = Script { path: "sql/report.sql", text: include_str!("../../sql/report.sql") };

impl Script {
    /// The statement that follows the line `-- name: NAME`, with its line in the script.
    pub fn statement(&self, name: &str) -> Result<Statement> {
        let marker = format!("-- name: {name}\n");
        let found: Vec<usize> = self
            .text
            .match_indices(&marker)
            .map(|(at, _)| at)
            .filter(|&at| at == 0 || self.text.as_bytes()[at - 1] == b'\n')
            .collect();
        let [at] = found[..] else {
            return Err(Error::Internal(format!(
                "{} has {} statements named '{name}', not one",
                self.path,
                found.len()
            )));
        };
        let after = at + marker.len();
        let mut statement = split_statements(&self.text[after..])
            .into_iter()
            .next()
            .ok_or_else(|| Error::Internal(format!("{}: no statement follows '-- name: {name}'", self.path)))?;
        statement.line += self.text[..after].matches('\n').count();
        Ok(statement)
    }
}

/// The SQL of the statement of `script` named `name`, with the runner's parameters and `extra` ones (for
/// statements run several at a time, one per bucket or range).
pub fn named_sql(runner: &ScriptRunner, script: Script, name: &str, extra: &[(&str, Param)]) -> Result<String> {
    let mut params = runner.params().clone();
    params.extend(extra.iter().map(|(key, value)| ((*key).to_owned(), value.to_sql())));
    substitute(&script.statement(name)?.text, &params, script.path)
}

/// Runs the statement of `script` named `name`, with the runner's parameters.
pub async fn run_named(runner: &mut ScriptRunner, script: Script, name: &str) -> Result<Vec<RecordBatch>> {
    let statement = script.statement(name)?;
    let outputs = runner.run_script(script.path, &statement.text, None).await?;
    Ok(outputs.into_iter().flat_map(|output| output.batches).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_found_by_name_and_only_once() {
        let script = Script {
            path: "t.sql",
            text: "-- name: a\nSELECT 1;\n\n-- two lines\n-- name: b\nSELECT\n  2;\n-- name: b\nSELECT 3;\n",
        };
        let a = script.statement("a").unwrap();
        assert_eq!((a.text.as_str(), a.line), ("SELECT 1", 2));
        assert!(script.statement("b").unwrap_err().to_string().contains("has 2 statements named 'b'"));
        assert!(script.statement("c").unwrap_err().to_string().contains("has 0 statements named 'c'"));
    }

    #[test]
    fn every_statement_prepare_names_is_there() {
        for (script, names) in [
            (CHECKS, &["accepted_rows", "duplicate_texts"][..]),
            (SPLIT, &["segment_bounds", "examples"][..]),
            (EXAMPLES, &["shared_texts_of_examples"][..]),
            (GROUP_SPLIT, &["groups_split_apart", "examples"][..]),
            (
                QUERIES,
                &[
                    "duplicate_keys_in_bucket",
                    "stage_text_hashes",
                    "register_text_hashes",
                    "shared_texts_in_range",
                    "shared_texts_at_once",
                    "register_shared_texts",
                    "duplicate_keys",
                    "accepted_classes",
                    "duplicate_texts",
                    "last_buckets",
                    "given_class_to_index",
                ][..],
            ),
            (REPORT, &["register_split", "split_counts"][..]),
        ] {
            for name in names {
                script.statement(name).unwrap();
            }
        }
    }
}
