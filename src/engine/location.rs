//! A path as a user gives it: a local path, or an object (or a prefix of objects) in a store, `s3://BUCKET/KEY`.
//! `file://` URLs are local paths.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::{StreamExt, TryStreamExt};
use object_store::path::{Path as ObjectPath, PathPart};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;
use url::Url;

use super::storage::ObjectStores;
use crate::error::{Error, Result};

/// Where a `--data`, `--vocab`, `--classes` or `--out` points.
#[derive(Debug, Clone)]
pub enum Location {
    Local(PathBuf),
    Object(ObjectUrl),
}

impl Location {
    /// `path` as a location: a URL when it has a scheme (`s3://`, `file://`), otherwise a local path.
    pub fn parse(flag: &str, path: &Path, stores: &ObjectStores) -> Result<Self> {
        let text = path.to_string_lossy();
        if !text.contains("://") {
            return Ok(Self::Local(path.to_path_buf()));
        }
        let url = Url::parse(&text).map_err(|error| Error::Configuration(format!("{flag} {text}: {error}")))?;
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Self::Local)
                .map_err(|()| Error::Configuration(format!("{flag} {text}: not a local path"))),
            "s3" => Ok(Self::Object(ObjectUrl::new(flag, url, stores)?)),
            scheme => Err(Error::Configuration(format!(
                "{flag} {text}: mlprep reads and writes local paths, file:// and s3:// URLs, not {scheme}://"
            ))),
        }
    }

    /// Whether `path` names an object store (and so is not a local path).
    pub fn is_url(path: &Path) -> bool {
        path.to_string_lossy().contains("://")
    }

    /// The file or directory (object or prefix) `name` (`/`-separated) under this one.
    pub fn join(&self, name: &str) -> Self {
        match self {
            Self::Local(path) => Self::Local(path.join(name)),
            Self::Object(url) => Self::Object(url.join(name)),
        }
    }

    /// What SQL calls it (`LOCATION`, `COPY ... TO`): the path, or the URL.
    pub fn to_sql(&self) -> String {
        match self {
            Self::Local(path) => path.to_string_lossy().into_owned(),
            Self::Object(url) => url.url(),
        }
    }

    /// Makes the directory and its parents (a store has no directories: nothing to make).
    pub fn create_dir_all(&self) -> Result<()> {
        match self {
            Self::Local(path) => std::fs::create_dir_all(path).map_err(|error| Error::io(path, error)),
            Self::Object(_) => Ok(()),
        }
    }

    /// Removes the file or object.
    pub async fn remove_file(&self) -> Result<()> {
        match self {
            Self::Local(path) => std::fs::remove_file(path).map_err(|error| Error::io(path, error)),
            Self::Object(url) => url.delete(&url.key).await,
        }
    }

    /// Moves the file or object to `to`, of the same kind (in a store: a copy, then a delete).
    pub async fn rename_to(&self, to: &Self) -> Result<()> {
        match (self, to) {
            (Self::Local(from), Self::Local(to)) => std::fs::rename(from, to).map_err(|error| Error::io(from, error)),
            (Self::Object(from), Self::Object(to)) => {
                from.copy(&from.key, &to.key).await?;
                from.delete(&from.key).await
            }
            _ => Err(Error::Internal(format!("'{}' cannot be moved to '{}'", self.to_sql(), to.to_sql()))),
        }
    }

    /// Removes the directory and everything under it (every object under the prefix).
    pub async fn remove_all(&self) -> Result<()> {
        match self {
            Self::Local(path) => std::fs::remove_dir_all(path).map_err(|error| Error::io(path, error)),
            Self::Object(url) => url.delete_all().await,
        }
    }
}

/// An object, or a prefix of objects, in a store.
#[derive(Debug, Clone)]
pub struct ObjectUrl {
    /// `s3://BUCKET/` with no key: the store's URL.
    root: Url,
    pub store: Arc<dyn ObjectStore>,
    /// The key, without a trailing slash (empty for the whole bucket).
    pub key: ObjectPath,
}

impl ObjectUrl {
    fn new(flag: &str, url: Url, stores: &ObjectStores) -> Result<Self> {
        let bucket = url
            .host_str()
            .filter(|bucket| !bucket.is_empty())
            .ok_or_else(|| Error::Configuration(format!("{flag} {url}: names no bucket (expected s3://BUCKET/KEY)")))?;
        let root = Url::parse(&format!("{}://{bucket}/", url.scheme()))
            .map_err(|error| Error::Configuration(format!("{flag} {url}: {error}")))?;
        let store = stores.get_store(&root).map_err(Error::from)?;
        let key = ObjectPath::from_url_path(url.path())
            .map_err(|error| Error::Configuration(format!("{flag} {url}: not a valid key: {error}")))?;
        Ok(Self { root, store, key })
    }

    /// The object `key` of the same store.
    pub fn at(&self, key: ObjectPath) -> Self {
        Self { key, ..self.clone() }
    }

    /// The object or prefix under this one named `name` (one or more `/`-separated parts).
    pub fn join(&self, name: &str) -> Self {
        let key = name.split('/').filter(|part| !part.is_empty()).fold(self.key.clone(), |key, part| key.join(part));
        Self { key, ..self.clone() }
    }

    /// The prefix beside this one named `NAME.TAG-PID`, as a local staging directory is named.
    pub fn beside(&self, tag: &str) -> Option<Self> {
        let parts: Vec<PathPart<'_>> = self.key.parts().collect();
        let (name, parent) = parts.split_last()?;
        let staged = PathPart::from(format!("{}.{tag}-{}", name.as_ref(), std::process::id()));
        Some(Self { key: parent.iter().cloned().chain([staged]).collect(), ..self.clone() })
    }

    /// The URL of `key` in this store.
    pub fn url_of(&self, key: &ObjectPath) -> String {
        format!("{}{key}", self.root)
    }

    /// This object's URL.
    pub fn url(&self) -> String {
        self.url_of(&self.key)
    }

    /// The key of the object `name` under this prefix.
    pub fn key_of(&self, name: &str) -> ObjectPath {
        self.join(name).key
    }

    /// An error of the store about `key`, naming its URL.
    pub fn error(&self, key: &ObjectPath, source: object_store::Error) -> Error {
        Error::Store { url: self.url_of(key), source }
    }

    /// The object's metadata, or `None` when there is no such object.
    pub async fn head(&self) -> Result<Option<ObjectMeta>> {
        match self.store.head(&self.key).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(&self.key, error)),
        }
    }

    /// Every object under this prefix (at any depth), in key order.
    pub async fn list(&self) -> Result<Vec<ObjectMeta>> {
        let mut objects: Vec<ObjectMeta> =
            self.store.list(Some(&self.key)).try_collect().await.map_err(|error| self.error(&self.key, error))?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }

    /// The objects directly under this prefix (not in its sub-prefixes), in key order.
    pub async fn list_here(&self) -> Result<Vec<ObjectMeta>> {
        let listed =
            self.store.list_with_delimiter(Some(&self.key)).await.map_err(|error| self.error(&self.key, error))?;
        let mut objects = listed.objects;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }

    /// The whole object (a small one: a tokenizer, a classes file).
    pub async fn read(&self) -> Result<Vec<u8>> {
        let result = self.store.get(&self.key).await.map_err(|error| self.error(&self.key, error))?;
        Ok(result.bytes().await.map_err(|error| self.error(&self.key, error))?.to_vec())
    }

    /// Copies the object into the local file `file` (created, or truncated), a piece at a time.
    pub async fn download(&self, file: &Path) -> Result<u64> {
        let result = self.store.get(&self.key).await.map_err(|error| self.error(&self.key, error))?;
        let mut stream = result.into_stream();
        let mut out = tokio::fs::File::create(file).await.map_err(|error| Error::io(file, error))?;
        let mut written = 0;
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|error| self.error(&self.key, error))?;
            out.write_all(&piece).await.map_err(|error| Error::io(file, error))?;
            written += piece.len() as u64;
        }
        out.flush().await.map_err(|error| Error::io(file, error))?;
        Ok(written)
    }

    /// Copies every object under this prefix into the local directory `dir`, at the same relative paths, and
    /// returns how many it copied.
    pub async fn download_all(&self, dir: &Path) -> Result<usize> {
        let objects = self.list().await?;
        for object in &objects {
            let relative = object.location.prefix_match(&self.key).into_iter().flatten();
            let file = relative.fold(dir.to_path_buf(), |file, part| file.join(part.as_ref()));
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
            }
            self.at(object.location.clone()).download(&file).await?;
        }
        Ok(objects.len())
    }

    /// Writes the local file `file` as this object: one request for a small file, a multipart upload for a
    /// large one (the store sees the object only once the upload completes).
    pub async fn upload(&self, file: &Path) -> Result<()> {
        let mut input = tokio::fs::File::open(file).await.map_err(|error| Error::io(file, error))?;
        let mut writer = object_store::buffered::BufWriter::new(Arc::clone(&self.store), self.key.clone());
        let copied = tokio::io::copy(&mut input, &mut writer).await;
        let finished = match copied {
            Ok(_) => writer.shutdown().await,
            Err(error) => {
                let _ = writer.abort().await;
                Err(error)
            }
        };
        finished.map_err(|error| Error::Store {
            url: self.url(),
            source: object_store::Error::Generic { store: "S3", source: Box::new(error) },
        })
    }

    /// Deletes every object under this prefix.
    pub async fn delete_all(&self) -> Result<()> {
        for object in self.list().await? {
            self.delete(&object.location).await?;
        }
        Ok(())
    }

    /// Copies the object `from` of the same store to `to`, in the store.
    pub async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> Result<()> {
        self.store.copy(from, to).await.map_err(|error| self.error(to, error))
    }

    /// Deletes the object `key` (nothing when it is not there).
    pub async fn delete(&self, key: &ObjectPath) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(self.error(key, error)),
        }
    }
}
