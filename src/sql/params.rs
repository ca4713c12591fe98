//! Values for a script's `${name}` parameters, each of a kind that says how it becomes SQL text. Rust code
//! passes these; what a user types (`-D name=VALUE`, `\set name VALUE`) is SQL text as it is.

use std::collections::BTreeMap;
use std::path::Path;

use super::literals::{quote_identifier, quote_literal_body};

/// A parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A column or table name: `${key}` becomes `"id"`.
    Identifier(String),
    /// Text the script puts between single quotes itself (`LOCATION '${data}'`): quotes are doubled.
    Text(String),
    /// A whole number.
    Integer(i128),
    /// A number with a fraction, written so it reads back as the same `f64`.
    Float(f64),
    /// SQL that mlprep built: a query, a condition, column definitions.
    Sql(String),
}

impl Param {
    /// A path, as text.
    pub fn path(path: &Path) -> Self {
        Self::Text(path.to_string_lossy().into_owned())
    }

    /// The SQL text that replaces `${name}`: the one place parameters are quoted.
    pub fn to_sql(&self) -> String {
        match self {
            Self::Identifier(name) => quote_identifier(name),
            Self::Text(text) => quote_literal_body(text),
            Self::Integer(number) => number.to_string(),
            Self::Float(number) => format!("{number:?}"),
            Self::Sql(sql) => sql.clone(),
        }
    }
}

/// Parameters as the runner keeps them: each value's SQL text.
pub fn to_sql<'a>(params: impl IntoIterator<Item = (&'a str, Param)>) -> BTreeMap<String, String> {
    params.into_iter().map(|(name, value)| (name.to_owned(), value.to_sql())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_quoted_as_its_place_in_sql_needs() {
        assert_eq!(Param::Identifier("my \"id\"".into()).to_sql(), "\"my \"\"id\"\"\"");
        assert_eq!(Param::Text("it's/data.csv".into()).to_sql(), "it''s/data.csv");
        assert_eq!(Param::Integer(-1234).to_sql(), "-1234");
        assert_eq!(Param::Float(0.2).to_sql(), "0.2");
        assert_eq!(Param::Float(1e-7).to_sql(), "1e-7");
        assert_eq!(Param::Sql("(SELECT 1)".into()).to_sql(), "(SELECT 1)");
    }
}
