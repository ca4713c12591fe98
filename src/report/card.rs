//! `DIR/README.md`: a Hugging Face dataset card. Its YAML header declares the configs (data files per split),
//! the features, the split sizes and the task, so that `datasets.load_dataset(DIR)` opens the directory with
//! no arguments; its body says how the data was made and what it holds.

use std::fmt::Write;

use serde_json::Value;

use super::GENERATED;
use super::lengths::CUTS;
use super::measure::{Feature, Measures};
use super::output::OutputSummary;
use super::{Picture, hf_split_name, truncated_shares};
use crate::prepare::{DEFAULT_FILE_SIZE, Padding, defaults};

/// The card's text.
pub fn card(summary: &OutputSummary, measures: &Measures, pictures: &[Picture]) -> String {
    let mut card = String::new();
    header(&mut card, measures);
    body(&mut card, summary, measures, pictures);
    card
}

/// A YAML string: JSON's double-quoted strings are YAML's too.
fn yaml(text: &str) -> String {
    Value::from(text).to_string()
}

fn header(out: &mut String, measures: &Measures) {
    out.push_str("---\nconfigs:\n- config_name: default\n  data_files:\n");
    for split in &measures.splits {
        let _ = writeln!(
            out,
            "  - split: {}\n    path: {}",
            hf_split_name(&split.name),
            yaml(&format!("{}/*.parquet", split.name))
        );
    }
    out.push_str("dataset_info:\n  features:\n");
    for feature in &measures.features {
        let _ = writeln!(out, "  - name: {}", yaml(feature.name()));
        match feature {
            Feature::Value { dtype, .. } => {
                let _ = writeln!(out, "    dtype: {dtype}");
            }
            Feature::Sequence { dtype, .. } => {
                let _ = writeln!(out, "    sequence: {dtype}");
            }
            Feature::ClassLabel { names, .. } => {
                out.push_str("    dtype:\n      class_label:\n        names:\n");
                for (index, name) in names.iter().enumerate() {
                    let _ = writeln!(out, "          '{index}': {}", yaml(name));
                }
            }
        }
    }
    out.push_str("  splits:\n");
    for split in &measures.splits {
        let _ = writeln!(
            out,
            "  - name: {}\n    num_bytes: {}\n    num_examples: {}",
            hf_split_name(&split.name),
            split.num_bytes,
            split.rows
        );
    }
    let total: u64 = measures.splits.iter().map(|split| split.num_bytes).sum();
    let _ = writeln!(out, "  dataset_size: {total}");
    out.push_str("task_categories:\n- text-classification\n");
    let rows: u64 = measures.splits.iter().map(|split| split.rows).sum();
    let _ = writeln!(out, "size_categories:\n- {}", size_category(rows));
    out.push_str("tags:\n- mlprep\n---\n");
}

/// Hugging Face's size categories.
fn size_category(rows: u64) -> &'static str {
    match rows {
        0..1_000 => "n<1K",
        1_000..10_000 => "1K<n<10K",
        10_000..100_000 => "10K<n<100K",
        100_000..1_000_000 => "100K<n<1M",
        1_000_000..10_000_000 => "1M<n<10M",
        10_000_000..100_000_000 => "10M<n<100M",
        100_000_000..1_000_000_000 => "100M<n<1B",
        _ => "n>1B",
    }
}

fn body(out: &mut String, summary: &OutputSummary, measures: &Measures, pictures: &[Picture]) {
    let rows: u64 = measures.splits.iter().map(|split| split.rows).sum();
    let mut names: Vec<String> =
        measures.splits.iter().map(|split| format!("`{}`", hf_split_name(&split.name))).collect();
    let last = names.pop().unwrap_or_default();
    let names = if names.is_empty() { last } else { format!("{} and {last}", names.join(", ")) };
    let _ = write!(
        out,
        "<!-- {GENERATED}: `mlprep report DIR` draws it again from the data. -->\n\n# Prepared dataset\n\n\
         {rows} labelled texts for text classification in {} classes, split into {} and tokenized with `{}`, \
         written by mlprep {}. Every number below was measured on the files of this \
         directory.\n\n",
        summary.class_to_index.len(),
        names,
        file_name(summary.text("vocab").unwrap_or("?")),
        summary.text("mlprep_version").unwrap_or("?"),
    );
    out.push_str(
        "```python\nfrom datasets import load_dataset\n\ndataset = load_dataset(\"path/to/this/directory\")\n```\n\n",
    );

    out.push_str("## How it was made\n\n```sh\n");
    out.push_str(&command(summary));
    out.push_str("\n```\n\n");
    out.push_str("| | |\n|---|---|\n");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(out, "| {name} | {value} |");
    };
    row(
        "mlprep version",
        format!("{} (card drawn by {})", summary.text("mlprep_version").unwrap_or("?"), crate::VERSION),
    );
    row("input", format!("`{}` ({} file(s))", summary.text("input").unwrap_or("?"), summary.number("input_files")));
    row("seed", summary.json["seed"].to_string());
    row("split", split_description(summary));
    row("stratified by", format!("`{}`", summary.text("stratify").unwrap_or(defaults::STRATIFY)));
    if let Some(group) = summary.text("group") {
        row("groups kept whole", format!("`{group}`"));
    }
    row(
        "vocabulary",
        format!(
            "`{}`, SHA-256 `{}`",
            file_name(summary.text("vocab").unwrap_or("?")),
            summary.text("vocab_sha256").unwrap_or("?")
        ),
    );
    row("padding", padding_description(summary));
    let [ids, masks, targets] = summary.column_names.columns();
    let columns = if summary.padding == Padding::None {
        format!("`{ids}` (unpadded), `{targets}`")
    } else {
        format!("`{ids}`, `{masks}`, `{targets}`")
    };
    row("token columns", columns);

    out.push_str("\n## Rows\n\n| read | rejected | deduplicated | in the splits |\n|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {rows} |",
        summary.number("rows_read"),
        summary.number("rows_rejected"),
        summary.number("rows_deduplicated")
    );
    if let Some(reasons) = summary.json["rejected_by_reason"].as_object().filter(|reasons| !reasons.is_empty()) {
        let reasons: Vec<String> = reasons.iter().map(|(reason, rows)| format!("{reason}: {rows}")).collect();
        let _ = writeln!(out, "\nRejected rows by reason (listed in `rejected.csv`): {}.", reasons.join(", "));
    }

    classes_table(out, summary, measures);
    lengths_tables(out, summary, measures);
    leakage(out, summary);

    out.push_str("\n## Pictures\n\n");
    for picture in pictures {
        let _ = writeln!(out, "![{}]({})\n", picture.title, picture.path);
    }
    out.push_str("All of them in one page: [report.html](report.html).\n");
}

fn classes_table(out: &mut String, summary: &OutputSummary, measures: &Measures) {
    out.push_str("\n## Classes per split\n\n| class | index |");
    for split in &measures.splits {
        let _ = write!(out, " {} |", hf_split_name(&split.name));
    }
    out.push_str(" total |\n|---|---:|");
    out.push_str(&"---:|".repeat(measures.splits.len() + 1));
    out.push('\n');
    for class in &summary.classes() {
        let _ = write!(out, "| {} | {} |", escape_cell(class), summary.class_to_index[class]);
        let mut total = 0;
        for split in &measures.splits {
            let rows = split.rows_per_class.get(class).copied().unwrap_or(0);
            total += rows;
            let _ = write!(out, " {rows} |");
        }
        let _ = writeln!(out, " {total} |");
    }
    let _ = write!(out, "| **all** | |");
    for split in &measures.splits {
        let _ = write!(out, " {} |", split.rows);
    }
    let _ = writeln!(out, " {} |", measures.splits.iter().map(|split| split.rows).sum::<u64>());
    for split in measures.splits.iter().filter(|split| !split.rows_per_fold.is_empty()) {
        let _ = write!(out, "\nFolds of `{}` (the `fold` column):\n\n| fold |", hf_split_name(&split.name));
        let classes: Vec<&String> = summary.class_to_index.keys().collect();
        for class in &classes {
            let _ = write!(out, " {} |", escape_cell(class));
        }
        out.push_str(" rows |\n|---:|");
        out.push_str(&"---:|".repeat(classes.len() + 1));
        out.push('\n');
        for (fold, rows_per_class) in &split.rows_per_fold {
            let _ = write!(out, "| {fold} |");
            for class in &classes {
                let _ = write!(out, " {} |", rows_per_class.get(*class).copied().unwrap_or(0));
            }
            let _ = writeln!(out, " {} |", rows_per_class.values().sum::<u64>());
        }
    }
}

fn lengths_tables(out: &mut String, summary: &OutputSummary, measures: &Measures) {
    out.push_str(
        "\n## Token lengths\n\nTokens per row as written, special tokens (`[CLS]`, `[SEP]`) included, padding not \
         (percentiles by nearest rank).\n\n| split | rows | min | median | mean | p90 | p95 | p99 | max | padded to |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (split, measured) in summary.splits.iter().zip(&measures.splits) {
        let lengths = &measured.lengths;
        let number = |value: Option<u64>| value.map_or("–".to_owned(), |value| value.to_string());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            hf_split_name(&measured.name),
            lengths.rows(),
            number(lengths.min()),
            number(lengths.percentile(50)),
            lengths.mean().map_or("–".to_owned(), |mean| format!("{mean:.2}")),
            number(lengths.percentile(90)),
            number(lengths.percentile(95)),
            number(lengths.percentile(99)),
            number(lengths.max()),
            split.padded_length.map_or("not padded".to_owned(), |length| length.to_string()),
        );
    }
    out.push_str("\nShare of rows a model reading at most N tokens would truncate:\n\n| split |");
    for cut in CUTS {
        let _ = write!(out, " {cut} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(CUTS.len()));
    out.push('\n');
    for measured in &measures.splits {
        let _ = write!(out, "| {} |", hf_split_name(&measured.name));
        for share in truncated_shares(&measured.lengths, summary.max_length).values() {
            match share {
                Some(share) => {
                    let _ = write!(out, " {:.2}% |", share * 100.0);
                }
                None => out.push_str(" n/a |"),
            }
        }
        out.push('\n');
    }
    if let Some(max_length) = summary.max_length {
        let over: Vec<String> = summary
            .splits
            .iter()
            .map(|split| match split.rows_over_max_length {
                Some(rows) => format!("{rows} in `{}`", hf_split_name(&split.name)),
                None => format!("not recorded for `{}`", hf_split_name(&split.name)),
            })
            .collect();
        let _ = writeln!(
            out,
            "\nRows were written truncated to `--max-length {max_length}` (keeping the closing special tokens): \
             {}. At {max_length} tokens and beyond (n/a) the written lengths cannot tell what a longer cut \
             would truncate.",
            over.join(", ")
        );
    }
}

fn leakage(out: &mut String, summary: &OutputSummary) {
    let leakage = &summary.json["leakage"];
    let number = |field: &str| leakage[field].as_u64().unwrap_or(0);
    let train = summary.plan.as_ref().map_or("train", |plan| plan.train.as_str()).to_owned();
    let _ = write!(
        out,
        "\n## Leakage\n\nCleaned texts that several rows share: {} ({} rows). Texts in both `{}` and a held-out \
         split: {}; held-out rows whose text a training row has: {}; training rows whose text a held-out row \
         has: {}.",
        number("shared_texts"),
        number("rows_sharing_a_text"),
        hf_split_name(&train),
        number("texts_in_both_splits"),
        number("val_rows_with_a_train_text"),
        number("train_rows_with_a_val_text"),
    );
    if summary.json["dedupe"].as_bool() == Some(true) {
        out.push_str(" Rows whose text a row with a smaller key has were left out before the split (`--dedupe`).");
    }
    out.push('\n');
    if let Some(texts) = leakage["texts_in_both_splits_most_seen"].as_array().filter(|texts| !texts.is_empty()) {
        out.push_str("\n| text (first 80 characters) | training rows | held-out rows |\n|---|---:|---:|\n");
        for text in texts {
            let shown: String = text["text"].as_str().unwrap_or_default().chars().take(80).collect();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape_cell(&shown),
                text["train_rows"].as_u64().unwrap_or(0),
                text["val_rows"].as_u64().unwrap_or(0)
            );
        }
    }
}

fn split_description(summary: &OutputSummary) -> String {
    let Some(plan) = &summary.plan else {
        return format!("test size {}", summary.json["test_size"]);
    };
    let mut parts: Vec<String> = plan
        .held_out
        .iter()
        .map(|split| format!("`{}` ceil({} × rows) of each class", hf_split_name(&split.name), split.share))
        .collect();
    parts.insert(0, format!("`{}` the rest", hf_split_name(&plan.train)));
    let mut text = format!("in shuffle order: {}", parts.join(", "));
    if plan.folds > 1 {
        let _ = write!(text, "; `{}` in {} stratified folds", hf_split_name(&plan.train), plan.folds);
    }
    text
}

fn padding_description(summary: &OutputSummary) -> String {
    match (summary.padding, summary.max_length) {
        (Padding::None, None) => "none (each row its own length)".to_owned(),
        (Padding::None, Some(length)) => format!("none; truncated to {length} tokens"),
        (Padding::Split, None) => "each split to its longest row".to_owned(),
        (Padding::MaxLength, None) => "every split to the longest row of all".to_owned(),
        (_, Some(length)) => format!("truncated and padded to {length} tokens"),
    }
}

/// The `mlprep prepare` command that makes this output again (`DIR`: this directory); the flags that do not
/// change the output (partitions, batch size, memory) are left out.
pub fn command(summary: &OutputSummary) -> String {
    let text = |field: &str| summary.text(field).map(str::to_owned);
    let mut words: Vec<String> = vec!["mlprep".into(), "prepare".into()];
    let flag = |words: &mut Vec<String>, name: &str, value: Option<String>| {
        if let Some(value) = value {
            words.extend([name.to_owned(), shell_word(&value)]);
        }
    };
    flag(&mut words, "--data", text("input"));
    flag(&mut words, "--vocab", text("vocab"));
    flag(&mut words, "--out", Some("DIR".into()));
    flag(&mut words, "--seed", Some(summary.json["seed"].to_string()));
    if let Some(plan) = &summary.plan {
        words.extend(plan.describe().split(' ').filter(|word| !word.is_empty()).map(str::to_owned));
    } else {
        flag(&mut words, "--test-size", summary.json["test_size"].as_f64().map(|share| share.to_string()));
    }
    flag(&mut words, "--group", text("group"));
    flag(&mut words, "--stratify", text("stratify").filter(|value| value != defaults::STRATIFY));
    flag(&mut words, "--key", text("key").filter(|value| value != defaults::KEY));
    flag(&mut words, "--max-length", summary.max_length.map(|length| length.to_string()));
    flag(&mut words, "--pad-token", text("pad_token"));
    let padding = (summary.padding != Padding::default()).then(|| summary.padding.name().to_owned());
    flag(&mut words, "--padding", padding);
    let column_names = (summary.column_names != Default::default()).then(|| summary.column_names.name().to_owned());
    flag(&mut words, "--column-names", column_names);
    let file_size = summary.json["file_size"].as_u64().filter(|size| *size != DEFAULT_FILE_SIZE);
    flag(&mut words, "--file-size", file_size.map(|size| size.to_string()));
    flag(&mut words, "--on-bad-rows", text("on_bad_rows").filter(|policy| policy != "fail"));
    flag(&mut words, "--classes", text("classes"));
    if summary.json["dedupe"].as_bool() == Some(true) {
        words.push("--dedupe".into());
    }
    words.join(" ")
}

/// `word` as one word of a POSIX shell.
fn shell_word(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_-./:=,@+%".contains(&byte));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A table cell: pipes escaped, line breaks as spaces.
fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("../data/dataset.csv"), "../data/dataset.csv");
        assert_eq!(shell_word("s3://bucket/key"), "s3://bucket/key");
        assert_eq!(shell_word("my data.csv"), "'my data.csv'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word("[PAD]"), "'[PAD]'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn size_categories_follow_hugging_face() {
        assert_eq!(size_category(764), "n<1K");
        assert_eq!(size_category(1_000), "1K<n<10K");
        assert_eq!(size_category(5_000_000), "1M<n<10M");
    }
}
