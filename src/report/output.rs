//! What an output's `summary.json` says, as the card and pictures read it. Outputs of earlier versions lack
//! some fields: each has the value the version that omitted it wrote by default.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::prepare::{ColumnNames, Padding, SplitPlan};

/// A split as `summary.json` counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySplit {
    pub name: String,
    pub rows: u64,
    pub rows_per_class: BTreeMap<String, u64>,
    /// With folds: rows per fold and class.
    pub rows_per_fold: BTreeMap<u32, BTreeMap<String, u64>>,
    pub padded_length: Option<u64>,
    /// Rows longer than `--max-length`, written truncated (`None` without it, or from an older version).
    pub rows_over_max_length: Option<u64>,
}

/// The parts of `summary.json` the card and pictures use, and the whole of it.
#[derive(Debug, Clone)]
pub struct OutputSummary {
    pub json: Value,
    /// In the plan's order: training first.
    pub splits: Vec<SummarySplit>,
    pub class_to_index: BTreeMap<String, i64>,
    pub plan: Option<SplitPlan>,
    pub column_names: ColumnNames,
    pub padding: Padding,
    pub max_length: Option<u64>,
}

impl OutputSummary {
    /// Reads `json`, the `summary.json` at `path` (named in errors).
    pub fn parse(json: &Value, path: &str) -> Result<Self> {
        let invalid = |what: &str| Error::input(std::path::Path::new(path), format!("{path}: {what}"));
        let object = |value: &Value, what: &str| value.as_object().cloned().ok_or_else(|| invalid(what));
        let counts = |value: &Value, what: &str| -> Result<BTreeMap<String, u64>> {
            object(value, what)?
                .into_iter()
                .map(|(class, rows)| rows.as_u64().map(|rows| (class, rows)).ok_or_else(|| invalid(what)))
                .collect()
        };
        let class_to_index = object(&json["class_to_index"], "no class_to_index object")?
            .into_iter()
            .map(|(class, index)| index.as_i64().map(|index| (class, index)))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("a class index is not a number"))?;
        let plan = parse_plan(&json["split_plan"]);
        let splits_json = object(&json["splits"], "no splits object")?;
        let mut names: Vec<String> = match &plan {
            Some(plan) => plan.split_names().into_iter().map(str::to_owned).collect(),
            None => Vec::new(),
        };
        // Older outputs without a plan: training first, the others in name order.
        for name in splits_json.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.sort_by_key(|name| plan.is_none() && name != "train");
        let mut splits = Vec::new();
        for name in names {
            let split = splits_json.get(&name).ok_or_else(|| invalid(&format!("no counts of the split '{name}'")))?;
            let mut rows_per_fold = BTreeMap::new();
            if let Some(folds) = split["rows_per_fold_and_class"].as_object() {
                for (fold, classes) in folds {
                    let fold: u32 = fold.parse().map_err(|_| invalid(&format!("'{fold}' is not a fold")))?;
                    rows_per_fold.insert(fold, counts(classes, "rows_per_fold_and_class")?);
                }
            }
            splits.push(SummarySplit {
                rows: split["rows"].as_u64().ok_or_else(|| invalid(&format!("no rows of the split '{name}'")))?,
                rows_per_class: counts(&split["rows_per_class"], "rows_per_class")?,
                rows_per_fold,
                padded_length: split["padded_length"].as_u64(),
                rows_over_max_length: split["rows_over_max_length"].as_u64(),
                name,
            });
        }
        let named = |field: &str| json[field].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            splits,
            class_to_index,
            plan,
            column_names: clap::ValueEnum::from_str(&named("column_names"), false).unwrap_or_default(),
            padding: clap::ValueEnum::from_str(&named("padding"), false).unwrap_or_default(),
            max_length: json["max_length"].as_u64(),
            json: json.clone(),
        })
    }

    /// The classes in the order of their indices.
    pub fn classes(&self) -> Vec<String> {
        let mut by_index: Vec<(i64, &String)> =
            self.class_to_index.iter().map(|(class, index)| (*index, class)).collect();
        by_index.sort();
        by_index.into_iter().map(|(_, class)| class.clone()).collect()
    }

    /// The class names by index, when the indices are 0..n (what a class label feature takes).
    pub fn class_names(&self) -> Option<Vec<String>> {
        let classes = self.classes();
        let contiguous =
            classes.iter().enumerate().all(|(position, class)| self.class_to_index[class] == position as i64);
        contiguous.then_some(classes)
    }

    /// The folds of the training split (1: none).
    pub fn folds(&self) -> u32 {
        self.plan.as_ref().map_or(1, |plan| plan.folds)
    }

    pub fn text(&self, field: &str) -> Option<&str> {
        self.json[field].as_str()
    }

    pub fn number(&self, field: &str) -> u64 {
        self.json[field].as_u64().unwrap_or(0)
    }
}

fn parse_plan(json: &Value) -> Option<SplitPlan> {
    let train = json["train"].as_str()?.to_owned();
    let held_out = json["held_out"]
        .as_array()?
        .iter()
        .map(|split| {
            Some(crate::prepare::HeldOut { name: split["split"].as_str()?.to_owned(), share: split["share"].as_f64()? })
        })
        .collect::<Option<Vec<_>>>()?;
    let folds = json["folds"].as_u64().map_or(1, |folds| folds as u32);
    Some(SplitPlan { train, held_out, folds })
}
