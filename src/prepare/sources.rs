//! What a run reads (`--data`, `--vocab`, `--classes`), local or in an object store. Objects are fetched into
//! the run's work directory first; every later step reads local files and names the URLs in its messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::options::PrepareOptions;
use crate::engine::location::{Location, ObjectUrl};
use crate::engine::storage::ObjectStores;
use crate::error::{Error, Result};
use crate::input::classes::{load_classes, parse_classes};
use crate::input::compression::is_input_file_name;
use crate::input::csv_source::{InputFile, csv_files_in};
use crate::publish::ReadPath;
use crate::publish::store::ReadUrl;

/// Where fetched objects go, inside the work directory.
const FETCHED: &str = "fetched";

/// The run's inputs, located.
pub(super) struct Sources {
    pub data: Location,
    pub vocab: Location,
    pub classes: Option<Location>,
    /// The CSV files of a local `--data` directory, listed once: what was checked is what is read.
    pub data_files: Option<Vec<PathBuf>>,
}

impl Sources {
    /// Locates the inputs of `options` and lists a local data directory. Reads nothing else.
    pub fn locate(options: &PrepareOptions, stores: &ObjectStores) -> Result<Self> {
        let data = Location::parse("--data", &options.data, stores)?;
        let vocab = Location::parse("--vocab", &options.vocab, stores)?;
        let classes = options.classes.as_ref().map(|path| Location::parse("--classes", path, stores)).transpose()?;
        let data_files = match &data {
            Location::Local(path) if path.is_dir() => {
                Some(csv_files_in(&std::path::absolute(path).map_err(|error| Error::io(path, error))?)?)
            }
            _ => None,
        };
        Ok(Self { data, vocab, classes, data_files })
    }

    /// The local paths the run reads, which a local output must be kept apart from.
    pub fn local_reads(&self) -> Vec<ReadPath> {
        let mut reads = Vec::new();
        for (flag, location) in self.flagged() {
            if let Location::Local(path) = location {
                reads.push(ReadPath::new(flag, path));
            }
        }
        for file in self.data_files.iter().flatten() {
            reads.push(ReadPath::new("--data", file));
        }
        reads
    }

    /// The objects and prefixes the run reads, which an output in a store must be kept apart from.
    pub fn object_reads(&self) -> Vec<ReadUrl<'_>> {
        self.flagged()
            .filter_map(|(flag, location)| match location {
                Location::Object(url) => Some(ReadUrl { flag, url }),
                Location::Local(_) => None,
            })
            .collect()
    }

    fn flagged(&self) -> impl Iterator<Item = (&'static str, &Location)> {
        [("--data", &self.data), ("--vocab", &self.vocab)]
            .into_iter()
            .chain(self.classes.as_ref().map(|classes| ("--classes", classes)))
    }

    /// The input's CSV files, local: a local file or directory as it is; objects fetched into `work`.
    /// `given` is `--data` as the user wrote it (a trailing `/` names a prefix).
    pub async fn data_files(&self, given: &Path, work: &Path) -> Result<Option<Vec<InputFile>>> {
        match &self.data {
            Location::Local(_) => {
                Ok(self.data_files.clone().map(|files| files.into_iter().map(InputFile::local).collect()))
            }
            Location::Object(url) => {
                let objects = data_objects(url, given.to_string_lossy().ends_with('/')).await?;
                let directory = work.join(FETCHED).join("data");
                std::fs::create_dir_all(&directory).map_err(|error| Error::io(&directory, error))?;
                let mut files = Vec::with_capacity(objects.len());
                for (index, object) in objects.into_iter().enumerate() {
                    let name = object.key.filename().unwrap_or("data.csv").to_owned();
                    // Numbered: the prefix `a/` may hold `x.csv` beside a file of the same name in a sub-prefix.
                    let local = directory.join(format!("{index:05}-{name}"));
                    object.download(&local).await?;
                    files.push(InputFile { origin: PathBuf::from(object.url()), local });
                }
                Ok(Some(files))
            }
        }
    }

    /// The tokenizer file, local, and its name as the summary records it (the resolved path, or the URL).
    pub async fn vocab(&self, work: &Path) -> Result<(PathBuf, String)> {
        match &self.vocab {
            Location::Local(path) => {
                let resolved = std::fs::canonicalize(path).map_err(|error| {
                    Error::input(path, format!("tokenizer file '{}' cannot be opened: {error}", path.display()))
                })?;
                let name = resolved.to_string_lossy().into_owned();
                Ok((resolved, name))
            }
            Location::Object(url) => {
                let directory = work.join(FETCHED).join("vocab");
                std::fs::create_dir_all(&directory).map_err(|error| Error::io(&directory, error))?;
                // The file's name tells a BERT vocab.txt from a tokenizer.json.
                let local = directory.join(url.key.filename().unwrap_or("vocab.txt"));
                url.download(&local).await.map_err(|error| not_found_as_input(error, url, "tokenizer file"))?;
                Ok((local, url.url()))
            }
        }
    }

    /// The class indices of `--classes`, when given.
    pub async fn classes(&self) -> Result<Option<BTreeMap<String, i64>>> {
        match &self.classes {
            None => Ok(None),
            Some(Location::Local(path)) => load_classes(path).map(Some),
            Some(Location::Object(url)) => {
                let bytes = url.read().await.map_err(|error| not_found_as_input(error, url, "classes file"))?;
                parse_classes(Path::new(&url.url()), &bytes).map(Some)
            }
        }
    }
}

/// The objects of `--data`: the object itself, or (for a prefix, or a key with no object) the CSV objects
/// directly under it, plain or compressed, in key order.
async fn data_objects(url: &ObjectUrl, is_prefix: bool) -> Result<Vec<ObjectUrl>> {
    if !is_prefix && url.head().await?.is_some() {
        return Ok(vec![url.clone()]);
    }
    let objects: Vec<ObjectUrl> = url
        .list_here()
        .await?
        .into_iter()
        .filter(|object| object.location.filename().is_some_and(|name| is_input_file_name(Path::new(name))))
        .map(|object| url.at(object.location))
        .collect();
    if objects.is_empty() {
        let what = if is_prefix { "no" } else { "no object at this key, and no" };
        return Err(Error::input(
            Path::new(&url.url()),
            format!(
                "input '{}': {what} input objects (*.csv, *.parquet, *.jsonl, *.ndjson, plain or .gz, .bz2, .xz, .zst) \
                 directly under this prefix",
                url.url()
            ),
        ));
    }
    Ok(objects)
}

/// A missing tokenizer or classes object is an input error naming the URL, as a missing file is.
fn not_found_as_input(error: Error, url: &ObjectUrl, what: &str) -> Error {
    match error {
        Error::Store { url: name, source: source @ object_store::Error::NotFound { .. } } => {
            Error::input(Path::new(&name), format!("{what} '{}' cannot be opened: {source}", url.url()))
        }
        other => other,
    }
}
