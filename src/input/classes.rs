//! `--classes FILE`: the class indices of an earlier run (its `class_to_index.json`), for data prepared to be
//! evaluated or predicted with a model trained on that run: the same label keeps the same target.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{Error, Result};

/// Reads a `class_to_index.json`: an object of labels to distinct indices `0..k-1`.
pub fn load_classes(path: &Path) -> Result<BTreeMap<String, i64>> {
    let bytes = std::fs::read(path)
        .map_err(|error| Error::input(path, format!("classes file '{}': cannot be read: {error}", path.display())))?;
    parse_classes(path, &bytes)
}

/// Reads the bytes of a `class_to_index.json`; `path` names it in messages (a file, or the URL it came from).
pub fn parse_classes(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, i64>> {
    let fail = |what: String| Error::input(path, format!("classes file '{}': {what}", path.display()));
    let text = std::str::from_utf8(bytes).map_err(|error| fail(format!("is not UTF-8: {error}")))?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| fail(format!("is not JSON: {error}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| fail("expected an object of labels to indices, like class_to_index.json".into()))?;
    let mut classes = BTreeMap::new();
    for (label, index) in object {
        let index = index
            .as_i64()
            .filter(|index| *index >= 0)
            .ok_or_else(|| fail(format!("the index of '{label}' is {index}, not a non-negative integer")))?;
        classes.insert(label.clone(), index);
    }
    if classes.is_empty() {
        return Err(fail("has no classes".into()));
    }
    let indices: BTreeSet<i64> = classes.values().copied().collect();
    if indices != (0..classes.len() as i64).collect() {
        return Err(fail(format!("the indices must be 0..{} once each, got {:?}", classes.len() - 1, classes)));
    }
    Ok(classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<BTreeMap<String, i64>> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("classes.json");
        std::fs::write(&path, text).unwrap();
        load_classes(&path)
    }

    #[test]
    fn a_class_to_index_file_loads_and_bad_ones_are_named() {
        assert_eq!(load(r#"{"b": 1, "a": 0}"#).unwrap(), BTreeMap::from([("a".into(), 0), ("b".into(), 1)]));
        for (text, fragment) in [
            ("[1, 2]", "expected an object"),
            ("{", "is not JSON"),
            ("{}", "has no classes"),
            (r#"{"a": "0"}"#, "not a non-negative integer"),
            (r#"{"a": 0, "b": 0}"#, "0..1 once each"),
            (r#"{"a": 1}"#, "0..0 once each"),
        ] {
            let error = load(text).unwrap_err().to_string();
            assert!(error.contains("classes file '") && error.contains(fragment), "{text}: {error}");
        }
    }
}
