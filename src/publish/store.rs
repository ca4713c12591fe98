//! Outputs in an object store (`--out s3://BUCKET/PREFIX`). A store has no rename, so a run uploads its output
//! under a staging prefix beside the destination, `PREFIX.tmp-PID/`, and publishes it by copying each object into
//! `PREFIX/` within the store, `summary.json` last: a reader that finds `PREFIX/summary.json` finds a complete
//! output. The rules of local outputs hold for prefixes: the destination must be empty, or (with `--overwrite`)
//! an earlier mlprep output; a staging prefix that holds anything is never touched; a failed or interrupted run
//! removes what it uploaded and copied (docs/storage.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectMeta;
use object_store::path::Path as ObjectPath;

use super::{ENTRIES_SHOWN, OutputError, Overlap, SUMMARY_FILE, is_mlprep_summary_bytes, pause_point};
use crate::engine::location::{Location, ObjectUrl};
use crate::engine::storage::ObjectStores;
use crate::error::{Error, Result};

/// Objects uploaded or copied at once.
const CONCURRENT_REQUESTS: usize = 8;

/// What a destination prefix holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Empty,
    /// An earlier mlprep output: its `summary.json` as listed (tag, size, time) and every object under it.
    Output {
        summary: (Option<String>, u64, i64),
        objects: BTreeSet<ObjectPath>,
    },
}

/// A prefix `prepare` may write: checked, before anything is read, against what the run reads and what the
/// prefix holds.
#[derive(Debug)]
pub struct StoreOutput {
    out: ObjectUrl,
    found: Found,
}

/// An input of the run, in a store, that the output must be kept apart from.
pub struct ReadUrl<'a> {
    pub flag: &'static str,
    pub url: &'a ObjectUrl,
}

impl StoreOutput {
    /// Checks that the run may write the prefix `out`: it is not, does not contain and does not lie inside any
    /// of `reads` (nor does its staging prefix), and it holds nothing, or (with `overwrite`) an earlier mlprep
    /// output. Writes nothing.
    pub async fn check(out: ObjectUrl, overwrite: bool, reads: &[ReadUrl<'_>]) -> Result<Self> {
        let staging = staging_of(&out)?;
        for prefix in [&out, &staging] {
            for read in reads {
                if let Some(overlap) = overlap(prefix, read.url) {
                    return Err(OutputError::Overlaps {
                        out: PathBuf::from(prefix.url()),
                        input: PathBuf::from(read.url.url()),
                        flag: read.flag,
                        overlap,
                    }
                    .into());
                }
            }
        }
        let found = inspect(&out).await?;
        if matches!(found, Found::Output { .. }) && !overwrite {
            return Err(OutputError::OutputExists { out: PathBuf::from(out.url()) }.into());
        }
        Ok(Self { out, found })
    }

    /// The destination.
    pub fn url(&self) -> &ObjectUrl {
        &self.out
    }

    /// Claims the staging prefix `PREFIX.tmp-PID/`, which must hold nothing.
    pub async fn stage(self) -> Result<StoreStaging> {
        let staging = staging_of(&self.out)?;
        if !staging.list().await?.is_empty() {
            return Err(OutputError::StagingTaken { staging: PathBuf::from(staging.url()) }.into());
        }
        unfinished().push(Unfinished { staging: staging.url(), out: self.out.url(), copied: Vec::new() });
        Ok(StoreStaging { staging, output: self })
    }
}

/// A staging prefix this run claimed, to be published as its output or discarded.
#[derive(Debug)]
pub struct StoreStaging {
    staging: ObjectUrl,
    output: StoreOutput,
}

impl StoreStaging {
    pub fn url(&self) -> &ObjectUrl {
        &self.staging
    }

    /// Uploads every file under the local directory `local` into the staging prefix, under the same names.
    pub async fn upload(&self, local: &Path) -> Result<()> {
        let files = files_under(local)?;
        futures::stream::iter(files.into_iter().map(|(name, file)| {
            let object = self.staging.join(&name);
            async move { object.upload(&file).await }
        }))
        .buffer_unordered(CONCURRENT_REQUESTS)
        .try_collect::<Vec<()>>()
        .await?;
        Ok(())
    }

    /// Copies the staged output into the destination, which must still hold what it held when checked:
    /// nothing, or the same earlier output (its `summary.json` unchanged). That output's `summary.json` is
    /// deleted first, the new objects copied, the old objects the new output does not have deleted, and the new
    /// `summary.json` copied last. The staging prefix is then deleted. On failure the objects copied are
    /// deleted again, as is the staging prefix.
    pub async fn publish(self) -> Result<ObjectUrl> {
        let result = self.copy_into_place().await;
        let removed = match &result {
            Ok(()) => self.staging.delete_all().await,
            Err(_) => remove(&self.staging.url(), &self.output.out.url(), &self.copied()).await,
        };
        unfinished().retain(|entry| entry.staging != self.staging.url());
        result?;
        removed?;
        Ok(self.output.out)
    }

    /// Removes the staging prefix (a failed run).
    pub async fn discard(self) -> Result<()> {
        let result = self.staging.delete_all().await;
        unfinished().retain(|entry| entry.staging != self.staging.url());
        result
    }

    fn copied(&self) -> Vec<String> {
        unfinished()
            .iter()
            .find(|entry| entry.staging == self.staging.url())
            .map_or_else(Vec::new, |entry| entry.copied.clone())
    }

    async fn copy_into_place(&self) -> Result<()> {
        let (out, staging) = (&self.output.out, &self.staging);
        let now = inspect(out).await?;
        if now != self.output.found {
            return Err(OutputError::Appeared { out: PathBuf::from(out.url()) }.into());
        }
        let staged: Vec<String> = staging.list().await?.iter().map(|object| relative(staging, object)).collect();
        let summary = out.key_of(SUMMARY_FILE);
        if !staged.iter().any(|name| name == SUMMARY_FILE) {
            return Err(Error::Internal(format!("the staged output '{}' has no {SUMMARY_FILE}", staging.url())));
        }
        let old_objects = match &self.output.found {
            Found::Output { objects, .. } => {
                // From here on the destination no longer looks complete.
                out.delete(&summary).await?;
                objects.clone()
            }
            Found::Empty => BTreeSet::new(),
        };
        let new_objects: BTreeSet<ObjectPath> = staged.iter().map(|name| out.key_of(name)).collect();
        let data: Vec<&String> = staged.iter().filter(|name| *name != SUMMARY_FILE).collect();
        for (index, name) in data.iter().enumerate() {
            self.note_copied(out.url_of(&out.key_of(name)));
            staging.copy(&staging.key_of(name), &out.key_of(name)).await?;
            if index == 0 {
                pause_point("store-publish-copying");
            }
        }
        for old in old_objects.difference(&new_objects) {
            out.delete(old).await?;
        }
        self.note_copied(out.url_of(&summary));
        staging.copy(&staging.key_of(SUMMARY_FILE), &summary).await?;
        // Published: nothing copied is removed any more.
        if let Some(entry) = unfinished().iter_mut().find(|entry| entry.staging == staging.url()) {
            entry.copied.clear();
        }
        Ok(())
    }

    /// Recorded before the copy starts: an interrupted copy may still complete.
    fn note_copied(&self, url: String) {
        if let Some(entry) = unfinished().iter_mut().find(|entry| entry.staging == self.staging.url()) {
            entry.copied.push(url);
        }
    }
}

/// A staging prefix claimed and not yet published or discarded, and what was copied into the destination
/// from it: what an interrupted run removes. URLs, not stores: the stores of the interrupted run's runtime are
/// not used again.
#[derive(Debug, Clone)]
struct Unfinished {
    staging: String,
    out: String,
    copied: Vec<String>,
}

static UNFINISHED: Mutex<Vec<Unfinished>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<Unfinished>> {
    UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the staging prefixes of runs that were stopped before they published or discarded them, and what
/// they had copied into their destinations (call it once their tasks have stopped, on any runtime). Returns
/// the URLs that could not be removed.
pub async fn remove_unfinished_objects() -> Vec<(String, Error)> {
    let entries = std::mem::take(&mut *unfinished());
    let mut left = Vec::new();
    for entry in entries {
        if let Err(error) = remove(&entry.staging, &entry.out, &entry.copied).await {
            left.push((entry.staging, error));
        }
    }
    left
}

/// Deletes every object under the prefix `staging` and the objects `copied` (URLs in `out`'s store).
async fn remove(staging: &str, out: &str, copied: &[String]) -> Result<()> {
    let stores = ObjectStores::default();
    let Location::Object(staging) = Location::parse("--out", Path::new(staging), &stores)? else {
        return Err(Error::Internal(format!("'{staging}' is not an object URL")));
    };
    staging.delete_all().await?;
    let Location::Object(out) = Location::parse("--out", Path::new(out), &stores)? else {
        return Err(Error::Internal(format!("'{out}' is not an object URL")));
    };
    for url in copied {
        if let Some(name) = url.strip_prefix(&format!("{}/", out.url())) {
            out.delete(&out.key_of(name)).await?;
        }
    }
    Ok(())
}

/// `PREFIX.tmp-PID` beside `out`.
fn staging_of(out: &ObjectUrl) -> Result<ObjectUrl> {
    out.beside("tmp").ok_or_else(|| OutputError::NoName { path: PathBuf::from(out.url()) }.into())
}

/// How the prefix `out` meets `read` (an object or a prefix): the same, one inside the other, or apart.
fn overlap(out: &ObjectUrl, read: &ObjectUrl) -> Option<Overlap> {
    if out.url_of(&ObjectPath::default()) != read.url_of(&ObjectPath::default()) {
        return None;
    }
    if out.key == read.key {
        Some(Overlap::Same)
    } else if read.key.prefix_match(&out.key).is_some() {
        Some(Overlap::Contains)
    } else if out.key.prefix_match(&read.key).is_some() {
        Some(Overlap::Inside)
    } else {
        None
    }
}

/// What the prefix holds: nothing, an earlier mlprep output, or anything else (refused).
async fn inspect(out: &ObjectUrl) -> Result<Found> {
    let objects = out.list().await?;
    if objects.is_empty() {
        return Ok(Found::Empty);
    }
    let summary_key = out.key_of(SUMMARY_FILE);
    let summary = objects.iter().find(|object| object.location == summary_key);
    let is_output = match summary {
        Some(_) => is_mlprep_summary_bytes(&out.join(SUMMARY_FILE).read().await?),
        None => false,
    };
    match summary {
        Some(summary) if is_output => Ok(Found::Output {
            summary: (summary.e_tag.clone(), summary.size, summary.last_modified.timestamp_millis()),
            objects: objects.iter().map(|object| object.location.clone()).collect(),
        }),
        _ => {
            let mut entries: Vec<String> = objects.iter().map(|object| relative(out, object)).collect();
            let count = entries.len();
            entries.truncate(ENTRIES_SHOWN);
            Err(OutputError::NotAnOutput { out: PathBuf::from(out.url()), entries, count }.into())
        }
    }
}

/// The name of `object` under the prefix `prefix`.
fn relative(prefix: &ObjectUrl, object: &ObjectMeta) -> String {
    object
        .location
        .prefix_match(&prefix.key)
        .map(|parts| parts.map(|part| part.as_ref().to_owned()).collect::<Vec<_>>().join("/"))
        .unwrap_or_else(|| object.location.to_string())
}

/// Every file under `root`, with its `/`-separated name relative to `root`, in name order.
fn files_under(root: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).map_err(|error| Error::io(&directory, error))? {
            let path = entry.map_err(|error| Error::io(&directory, error))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(root).unwrap_or(&path);
                let name: Vec<String> =
                    name.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
                files.push((name.join("/"), path));
            }
        }
    }
    files.sort();
    Ok(files)
}
