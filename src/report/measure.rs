//! Measures a written output with SQL over its files (`sql/report.sql`, one pass per split): rows per class
//! and fold, rows per token length and the size in Arrow memory, and the features of its columns. The counts
//! are checked against `summary.json`: a card never describes other data than the files hold.

use std::collections::BTreeMap;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;

use super::lengths::TokenLengths;
use super::output::OutputSummary;
use crate::engine::location::Location;
use crate::error::{Error, Result};
use crate::sql::ScriptRunner;
use crate::sql::literals::quote_identifier;
use crate::sql::params::Param;
use crate::sql::results::int64_column;
use crate::sql::scripts::{REPORT, named_sql};

/// A column of the output, as a dataset card declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feature {
    /// A scalar of a Hugging Face `dtype` (`int64`, `string`).
    Value { name: String, dtype: &'static str },
    /// A list of values of one `dtype`.
    Sequence { name: String, dtype: &'static str },
    /// The targets, when the class indices are 0..n: their class names by index.
    ClassLabel { name: String, names: Vec<String> },
}

impl Feature {
    pub fn name(&self) -> &str {
        match self {
            Self::Value { name, .. } | Self::Sequence { name, .. } | Self::ClassLabel { name, .. } => name,
        }
    }
}

/// A split as its files hold it.
#[derive(Debug, Clone)]
pub struct SplitMeasures {
    pub name: String,
    pub rows: u64,
    pub rows_per_class: BTreeMap<String, u64>,
    pub rows_per_fold: BTreeMap<u32, BTreeMap<String, u64>>,
    pub lengths: TokenLengths,
    /// Bytes in Arrow memory without null buffers, as pyarrow counts them (`split_counts` in `sql/report.sql`).
    pub num_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Measures {
    /// The columns of the first split (every split has the same, `fold` aside).
    pub features: Vec<Feature>,
    /// In the summary's order.
    pub splits: Vec<SplitMeasures>,
}

/// Measures every split of `summary` in its directory under `out`.
pub async fn measure(runner: &ScriptRunner, out: &Location, summary: &OutputSummary) -> Result<Measures> {
    let [ids, masks, targets] = summary.column_names.columns();
    let index_to_class: BTreeMap<i64, &String> =
        summary.class_to_index.iter().map(|(class, index)| (*index, class)).collect();
    let mut features = Vec::new();
    let mut splits = Vec::new();
    for (number, split) in summary.splits.iter().enumerate() {
        let directory = out.join(&split.name);
        let table = format!("mlprep_report_{number}");
        let run = |name: &str, mut extra: Vec<(&str, Param)>| {
            extra.push(("table", Param::Identifier(table.clone())));
            extra.push(("location", Param::Text(directory.to_sql())));
            let sql = named_sql(runner, REPORT, name, &extra);
            async move { Ok::<_, Error>(runner.context().sql(&sql?).await?.collect().await?) }
        };
        runner.context().deregister_table(table.as_str())?;
        run("register_split", vec![]).await?;
        let schema = runner.context().table(table.as_str()).await?.schema().as_arrow().clone();
        let has = |column: &str| schema.field_with_name(column).is_ok();
        for column in [ids, targets] {
            if !has(column) {
                return Err(Error::input(
                    directory.to_sql().as_ref(),
                    format!("{}: the files have no column '{column}'", directory.to_sql()),
                ));
            }
        }
        let length = if has(masks) {
            // The sum of a 0/1 mask is its ones, without copying the list as removing its zeros did.
            format!("COALESCE(CAST(array_sum({}) AS BIGINT), 0)", quote_identifier(masks))
        } else {
            format!("cardinality({})", quote_identifier(ids))
        };
        let fold = if has("fold") { quote_identifier("fold") } else { "NULL".to_owned() };

        // Every list of a row (ids, masks) has the length of the one the token length is read from: decoding a
        // list column is most of this pass, so the others are not read.
        let list_length = format!("cardinality({})", quote_identifier(if has(masks) { masks } else { ids }));
        let row_bytes = row_bytes_sql(&schema, &list_length, &directory)?;
        let params = vec![
            ("length", Param::Sql(length)),
            ("targets", Param::Sql(quote_identifier(targets))),
            ("fold", Param::Sql(fold)),
            ("row_bytes", Param::Sql(row_bytes)),
        ];
        let mut rows_per_length: BTreeMap<u64, u64> = BTreeMap::new();
        let mut measured = SplitMeasures {
            name: split.name.clone(),
            rows: 0,
            rows_per_class: BTreeMap::new(),
            rows_per_fold: BTreeMap::new(),
            lengths: TokenLengths::default(),
            num_bytes: 0,
        };
        for batch in run("split_counts", params).await? {
            let (length, target, fold) =
                (int64_column(&batch, "length")?, int64_column(&batch, "target")?, int64_column(&batch, "fold")?);
            let (rows, bytes) = (int64_column(&batch, "rows")?, int64_column(&batch, "row_bytes")?);
            for row in 0..batch.num_rows() {
                let class = index_to_class.get(&target.value(row)).ok_or_else(|| {
                    Error::input(
                        directory.to_sql().as_ref(),
                        format!(
                            "{}: target {} is no class of class_to_index in summary.json",
                            directory.to_sql(),
                            target.value(row)
                        ),
                    )
                })?;
                let rows = rows.value(row) as u64;
                *rows_per_length.entry(length.value(row) as u64).or_default() += rows;
                measured.rows += rows;
                measured.num_bytes += bytes.value(row) as u64;
                *measured.rows_per_class.entry((*class).clone()).or_default() += rows;
                if fold.is_valid(row) {
                    let fold = fold.value(row) as u32;
                    *measured.rows_per_fold.entry(fold).or_default().entry((*class).clone()).or_default() += rows;
                }
            }
        }
        measured.lengths = TokenLengths::new(rows_per_length);
        runner.context().deregister_table(table.as_str())?;

        check_counts(split, &measured, &directory)?;
        if features.is_empty() {
            features = schema
                .fields()
                .iter()
                .filter(|field| field.name() != "fold" || summary.folds() > 1)
                .map(|field| feature(field.name(), field.data_type(), targets, summary, &directory))
                .collect::<Result<_>>()?;
        }
        splits.push(measured);
    }
    Ok(Measures { features, splits })
}

/// The files must hold what `summary.json` counted.
fn check_counts(split: &super::output::SummarySplit, measured: &SplitMeasures, directory: &Location) -> Result<()> {
    let differ = |what: &str, files: String, summary: String| {
        Err(Error::input(
            directory.to_sql().as_ref(),
            format!("{}: the files hold {what} {files}, but summary.json says {summary}", directory.to_sql()),
        ))
    };
    if measured.rows != split.rows || measured.lengths.rows() != split.rows {
        return differ("rows:", measured.rows.to_string(), split.rows.to_string());
    }
    let nonzero = |counts: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        counts.iter().filter(|(_, rows)| **rows > 0).map(|(class, rows)| (class.clone(), *rows)).collect()
    };
    if nonzero(&measured.rows_per_class) != nonzero(&split.rows_per_class) {
        return differ("per class", format!("{:?}", measured.rows_per_class), format!("{:?}", split.rows_per_class));
    }
    let folds = |folds: &BTreeMap<u32, BTreeMap<String, u64>>| -> BTreeMap<u32, BTreeMap<String, u64>> {
        folds
            .iter()
            .map(|(fold, classes)| (*fold, nonzero(classes)))
            .filter(|(_, classes)| !classes.is_empty())
            .collect()
    };
    if folds(&measured.rows_per_fold) != folds(&split.rows_per_fold) {
        return differ("per fold", format!("{:?}", measured.rows_per_fold), format!("{:?}", split.rows_per_fold));
    }
    Ok(())
}

/// The card's feature of a column.
fn feature(
    name: &str,
    data_type: &DataType,
    targets: &str,
    summary: &OutputSummary,
    directory: &Location,
) -> Result<Feature> {
    if name == targets
        && let Some(names) = summary.class_names()
    {
        return Ok(Feature::ClassLabel { name: name.to_owned(), names });
    }
    let name = name.to_owned();
    Ok(match data_type {
        DataType::List(item) | DataType::LargeList(item) => {
            Feature::Sequence { dtype: value_dtype(item.data_type(), &name, directory)?, name }
        }
        other => Feature::Value { dtype: value_dtype(other, &name, directory)?, name },
    })
}

fn value_dtype(data_type: &DataType, column: &str, directory: &Location) -> Result<&'static str> {
    Ok(match data_type {
        DataType::Int64 => "int64",
        DataType::Int32 => "int32",
        DataType::Float64 => "float64",
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "string",
        other => return Err(unexpected_type(column, other, directory)),
    })
}

/// A row's bytes in Arrow memory, summed over its columns, in SQL (see `split_counts` in `sql/report.sql`);
/// `list_length` is the length of each of the row's lists.
fn row_bytes_sql(
    schema: &datafusion::arrow::datatypes::Schema,
    list_length: &str,
    directory: &Location,
) -> Result<String> {
    let mut terms = Vec::new();
    for field in schema.fields() {
        let column = quote_identifier(field.name());
        terms.push(match field.data_type() {
            DataType::Int64 | DataType::Float64 => "8".to_owned(),
            DataType::Int32 => "4".to_owned(),
            DataType::Utf8 | DataType::Utf8View => format!("4 + octet_length({column})"),
            DataType::List(item) if matches!(item.data_type(), DataType::Int64) => {
                format!("4 + 8 * {list_length}")
            }
            other => return Err(unexpected_type(field.name(), other, directory)),
        });
    }
    Ok(terms.join(" + "))
}

fn unexpected_type(column: &str, data_type: &DataType, directory: &Location) -> Error {
    Error::input(
        directory.to_sql().as_ref(),
        format!("{}: column '{column}' is {data_type}, which mlprep does not write", directory.to_sql()),
    )
}
