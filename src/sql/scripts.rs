//! The pipeline's SQL scripts (`sql/`), compiled in so that the binary runs the very scripts shipped there,
//! each by its name.

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
/// The stratified split: class sizes, class indices and each class's validation boundary.
pub const SPLIT: Script = Script { path: "sql/04_split.sql", text: include_str!("../../sql/04_split.sql") };
/// The split rows and what `summary.json` reports of them (counts, token lengths, leakage).
pub const EXAMPLES: Script = Script { path: "sql/05_examples.sql", text: include_str!("../../sql/05_examples.sql") };
/// Pads and writes each split as Parquet.
pub const WRITE: Script = Script { path: "sql/06_write.sql", text: include_str!("../../sql/06_write.sql") };

/// Every script, in the order the pipeline runs them.
pub const PIPELINE: [Script; 6] = [REGISTER, STAGE, CHECKS, SPLIT, EXAMPLES, WRITE];
