//! The SQL functions' documentation, written once on each function (`#[user_doc]`): every example runs and
//! prints exactly the table it shows, and `docs/functions.md` is that documentation for exactly the registered
//! functions. `MLPREP_UPDATE_DOCS=1 cargo test --test function_docs` rewrites `docs/functions.md`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::logical_expr::{Documentation, ScalarUDF};
use mlprep::sql::ScriptRunner;
use mlprep::sql::scripts;
use mlprep::{SessionOptions, session_context};

/// An example's statement (after `> `) and the lines of the table it shows.
fn parse_example(function: &str, example: &str) -> (String, Vec<String>) {
    let body = example
        .strip_prefix("```sql\n")
        .and_then(|rest| rest.strip_suffix("\n```"))
        .unwrap_or_else(|| panic!("{function}: the example is not one ```sql block: {example}"));
    let mut lines = body.lines();
    let sql = lines
        .next()
        .and_then(|line| line.strip_prefix("> "))
        .unwrap_or_else(|| panic!("{function}: the example does not start with '> ' and a statement: {example}"));
    let table: Vec<String> = lines.map(str::to_owned).collect();
    assert!(!table.is_empty(), "{function}: the example shows no result");
    (sql.to_owned(), table)
}

fn documented() -> Vec<(String, Documentation)> {
    let mut functions: Vec<(String, Documentation)> = mlprep_udfs::all_functions()
        .iter()
        .map(|function: &std::sync::Arc<ScalarUDF>| {
            let documentation =
                function.documentation().unwrap_or_else(|| panic!("{} has no documentation", function.name()));
            (function.name().to_owned(), documentation.clone())
        })
        .collect();
    functions.sort_by(|a, b| a.0.cmp(&b.0));
    functions
}

#[tokio::test]
async fn every_example_prints_the_table_it_shows() {
    // The examples' `vocab.txt` is the SciBERT vocabulary; `projects` the course dataset.
    let vocab = common::scibert_vocab();
    let params = BTreeMap::from([("data".to_owned(), common::dataset_csv().display().to_string())]);
    let mut runner = ScriptRunner::new(session_context(&SessionOptions::default()).unwrap(), params);
    runner.run_script(scripts::REGISTER.path, scripts::REGISTER.text, None).await.unwrap();
    for (name, documentation) in documented() {
        let example = documentation.sql_example.as_deref().unwrap_or_else(|| panic!("{name} has no example"));
        let (sql, expected) = parse_example(&name, example);
        let sql = sql.replace("'vocab.txt'", &format!("'{}'", vocab.display()));
        let batches = runner.context().sql(&sql).await.unwrap().collect().await.unwrap();
        let printed = pretty_format_batches(&batches).unwrap().to_string();
        let printed: Vec<&str> = printed.lines().collect();
        assert_eq!(printed, expected, "{name}: the example's table is not what its statement prints");
    }
}

/// The reference of the functions, from their documentation.
fn render(functions: &[(String, Documentation)]) -> String {
    let mut out = String::from(
        "# SQL functions\n\n\
         <!-- Generated from each function's #[user_doc] by tests/function_docs.rs: edit the function, then run\n     \
         MLPREP_UPDATE_DOCS=1 cargo test --test function_docs -->\n\n\
         mlprep's functions are in the `mlprep-udfs` crate (`udfs/`), one file each. Register them on any DataFusion\n\
         `SessionContext` or `SessionState` with `mlprep_udfs::register_all(&mut ctx)`; `mlprep sql` and `mlprep shell`\n\
         have them (`\\h name` shows a function's documentation there). They take whole Arrow arrays and accept\n\
         `Utf8`, `LargeUtf8` and `Utf8View` text. In the examples, `vocab.txt` is the SciBERT uncased vocabulary and\n\
         `projects` the course dataset (both run by the tests).\n\n",
    );
    for (name, _) in functions {
        out.push_str(&format!("- [`{name}`](#{name})\n"));
    }
    for (name, documentation) in functions {
        out.push_str(&format!(
            "\n## `{name}`\n\n{}\n\n```sql\n{}\n```\n",
            documentation.description, documentation.syntax_example
        ));
        if let Some(arguments) = &documentation.arguments {
            out.push_str("\nArguments:\n\n");
            for (argument, description) in arguments {
                out.push_str(&format!("- `{argument}`: {description}\n"));
            }
        }
        if let Some(example) = &documentation.sql_example {
            out.push_str(&format!("\nExample:\n\n{example}\n"));
        }
        if let Some(related) = &documentation.related_udfs {
            let links: Vec<String> = related.iter().map(|other| format!("[`{other}`](#{other})")).collect();
            out.push_str(&format!("\nSee also: {}.\n", links.join(", ")));
        }
    }
    out
}

#[test]
fn the_reference_lists_exactly_the_registered_functions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/functions.md");
    let expected = render(&documented());
    if std::env::var_os("MLPREP_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let found = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        found == expected,
        "{} is not the functions' documentation: run MLPREP_UPDATE_DOCS=1 cargo test --test function_docs",
        path.display()
    );
    // The README names each function once in its list, and no other.
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## SQL functions")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a SQL functions section");
    let mut listed: Vec<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|line| line.split('(').next())
        .map(str::to_owned)
        .collect();
    listed.sort();
    let registered: Vec<String> = documented().into_iter().map(|(name, _)| name).collect();
    assert_eq!(listed, registered, "README's SQL functions list");
}
