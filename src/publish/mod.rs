//! Where a command writes: checked apart from everything the run reads, staged beside its destination, and
//! published so that nothing the run did not create is ever replaced or removed (docs/reliability.md).
//!
//! - An output must not be, contain or lie inside a path the run reads, once `..`, relative paths and
//!   symbolic links are resolved.
//! - `--overwrite` replaces only an earlier mlprep output (a `summary.json` mlprep wrote) or an empty
//!   directory.
//! - Publishing never replaces a destination that appeared while the run worked (`renameat2` with
//!   `RENAME_NOREPLACE` on Linux, `renameatx_np` with `RENAME_EXCL` on macOS), and `--overwrite` swaps the new
//!   output with the old one in one step (`RENAME_EXCHANGE` / `RENAME_SWAP`), so the destination always holds
//!   one complete output; the old one is removed afterwards.

use std::fmt;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

pub mod store;

/// The file that marks a directory as a complete mlprep output: written last, and what `--overwrite` looks
/// for before it replaces a directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// The key of `summary.json` that says mlprep wrote it.
const SUMMARY_MARK: &str = "mlprep_version";

/// Entries of a directory named when mlprep refuses to replace it.
const ENTRIES_SHOWN: usize = 5;

/// Staging directories this process created and has not yet published or removed: what a signal handler
/// removes (`remove_unfinished`) once the run's tasks have stopped.
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Why a destination was refused, or could not be published.
#[derive(Debug)]
pub enum OutputError {
    /// The destination is, contains or lies inside a path the run reads.
    Overlaps {
        out: PathBuf,
        input: PathBuf,
        flag: &'static str,
        overlap: Overlap,
    },
    /// The destination holds an earlier mlprep output and `--overwrite` was not given.
    OutputExists {
        out: PathBuf,
    },
    /// The destination is a non-empty directory that is not an mlprep output.
    NotAnOutput {
        out: PathBuf,
        entries: Vec<String>,
        count: usize,
    },
    /// The destination exists and is not a directory.
    NotADirectory {
        out: PathBuf,
    },
    /// The destination has no name (`/`), so nothing can be staged beside it.
    NoName {
        path: PathBuf,
    },
    /// The destination appeared or changed while the run worked: another process wrote it.
    Appeared {
        out: PathBuf,
    },
    /// A file exists where a file would be written, and `--overwrite` was not given.
    FileExists {
        path: PathBuf,
    },
    /// A generated input exists with other contents than mlprep would write.
    Differs {
        path: PathBuf,
    },
    /// The staging path (`NAME.tmp-PID`) is taken, by an earlier, killed run with the same process id?
    StagingTaken {
        staging: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

/// How an output path meets a path the run reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The same path.
    Same,
    /// The read path lies inside the output.
    Contains,
    /// The output lies inside the read path.
    Inside,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Overlaps { out, input, flag, overlap } => {
                let (out, input) = (out.display(), input.display());
                let relation = match overlap {
                    Overlap::Same => format!("is '{input}' ({flag}), which the run reads"),
                    Overlap::Contains => format!("contains '{input}' ({flag}), which the run reads"),
                    Overlap::Inside => format!("is inside '{input}' ({flag}), which the run reads"),
                };
                write!(
                    f,
                    "output '{out}' {relation}: an output may not be, contain or lie inside an input, as writing it \
                     could replace the input; choose another --out (nothing was written)"
                )
            }
            Self::OutputExists { out } => write!(
                f,
                "output directory '{}' holds an earlier mlprep output; pass --overwrite to replace it, or choose \
                 another --out",
                out.display()
            ),
            Self::NotAnOutput { out, entries, count } => {
                let more = if *count > entries.len() { format!(", … ({count} entries)") } else { String::new() };
                write!(
                    f,
                    "output directory '{}' is not empty and is not an mlprep output (it has no summary.json written \
                     by mlprep): it holds {}{more}. mlprep writes only into a new or empty directory, and \
                     --overwrite replaces only an earlier mlprep output: choose another --out, or move these \
                     entries away yourself",
                    out.display(),
                    entries.join(", ")
                )
            }
            Self::NoName { path } => write!(
                f,
                "'{}' has no name: mlprep writes beside a destination and renames into it; choose another path",
                path.display()
            ),
            Self::NotADirectory { out } => {
                write!(f, "output '{}' exists and is not a directory; choose another --out", out.display())
            }
            Self::Appeared { out } => write!(
                f,
                "'{}' appeared or changed while this run worked (another run or program wrote it): it was left as \
                 it is, and this run's output was discarded",
                out.display()
            ),
            Self::FileExists { path } => {
                write!(f, "'{}' exists; pass --overwrite to replace it, or choose another path", path.display())
            }
            Self::Differs { path } => write!(
                f,
                "'{}' exists and differs from what mlprep would write there; it was left as it is: move it away, \
                 or choose another --out",
                path.display()
            ),
            Self::StagingTaken { staging } => write!(
                f,
                "the staging path '{}' already exists (left by a killed run?); this run did not create it, so it \
                 does not remove it: remove it yourself, or choose another path",
                staging.display()
            ),
            Self::Io { path, source } => write!(f, "'{}': {source}", path.display()),
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io { path: path.to_path_buf(), source }
}

/// `path` as the system resolves it: absolute, with `.`, `..` and symbolic links resolved. The part that
/// does not exist yet is kept as written (it holds no links), with its `..` applied.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let mut resolved = PathBuf::new();
    let mut exists = true;
    for component in absolute.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => resolved.push(component),
            Component::CurDir => {}
            // `resolved` holds no link, so its parent is the parent the system would use; stepping back out of
            // the missing part returns to paths whose links must be followed again.
            Component::ParentDir => {
                resolved.pop();
                exists = exists || resolved.exists();
            }
            Component::Normal(name) => {
                resolved.push(name);
                if exists {
                    match std::fs::canonicalize(&resolved) {
                        Ok(real) => resolved = real,
                        Err(error) if error.kind() == io::ErrorKind::NotFound => exists = false,
                        Err(error) => return Err(error),
                    }
                }
            }
        }
    }
    Ok(resolved)
}

/// A path the run reads, and the flag that names it.
#[derive(Debug, Clone)]
pub struct ReadPath {
    pub flag: &'static str,
    pub path: PathBuf,
}

impl ReadPath {
    pub fn new(flag: &'static str, path: impl Into<PathBuf>) -> Self {
        Self { flag, path: path.into() }
    }
}

/// How `out` meets `input` (both resolved), if it does.
pub fn overlap(out: &Path, input: &Path) -> Option<Overlap> {
    if out == input {
        Some(Overlap::Same)
    } else if input.starts_with(out) {
        Some(Overlap::Contains)
    } else if out.starts_with(input) {
        Some(Overlap::Inside)
    } else {
        None
    }
}

/// Fails when `out` (resolved) is, contains or lies inside any of `reads` (each resolved here), by path or by
/// the identity of the directories on the way (a bind mount shows one directory under two paths).
fn check_apart(out: &Path, reads: &[ReadPath]) -> Result<(), OutputError> {
    let out_chain = identity_chain(out);
    for read in reads {
        let input = resolve(&read.path).map_err(io_error(&read.path))?;
        let found = overlap(out, &input).or_else(|| overlap_by_identity(&out_chain, &identity_chain(&input)));
        if let Some(overlap) = found {
            return Err(OutputError::Overlaps { out: out.to_path_buf(), input, flag: read.flag, overlap });
        }
    }
    Ok(())
}

/// A file or directory's device and inode.
type FileId = (u64, u64);

fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|metadata| (metadata.dev(), metadata.ino()))
}

/// The identity of `path` (if it exists) and of each of its ancestors, nearest first.
fn identity_chain(path: &Path) -> (Option<FileId>, Vec<FileId>) {
    (file_id(path), path.ancestors().skip(1).filter_map(file_id).collect())
}

fn overlap_by_identity(out: &(Option<FileId>, Vec<FileId>), input: &(Option<FileId>, Vec<FileId>)) -> Option<Overlap> {
    let ((out_id, out_ancestors), (input_id, input_ancestors)) = (out, input);
    if out_id.is_some() && out_id == input_id {
        Some(Overlap::Same)
    } else if out_id.is_some_and(|id| input_ancestors.contains(&id)) {
        Some(Overlap::Contains)
    } else if input_id.is_some_and(|id| out_ancestors.contains(&id)) {
        Some(Overlap::Inside)
    } else {
        None
    }
}

/// What a destination directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Absent,
    Empty,
    /// An earlier mlprep output: the directory's identity, so that publishing replaces that one only.
    Output(FileId),
    /// Anything else: never replaced.
    Foreign,
}

fn inspect(directory: &Path) -> Result<Found, OutputError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = match std::fs::symlink_metadata(directory) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Found::Absent),
        Err(error) => return Err(OutputError::Io { path: directory.to_path_buf(), source: error }),
    };
    if !metadata.is_dir() {
        return Err(OutputError::NotADirectory { out: directory.to_path_buf() });
    }
    let mut entries = std::fs::read_dir(directory).map_err(io_error(directory))?;
    if entries.next().is_none() {
        return Ok(Found::Empty);
    }
    Ok(if is_mlprep_summary(&directory.join(SUMMARY_FILE)) {
        Found::Output((metadata.dev(), metadata.ino()))
    } else {
        Found::Foreign
    })
}

/// Whether `path` is a `summary.json` mlprep wrote.
fn is_mlprep_summary(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| is_mlprep_summary_bytes(&bytes))
}

/// Whether `bytes` are a `summary.json` mlprep wrote: a JSON object with mlprep's version.
fn is_mlprep_summary_bytes(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|summary| summary[SUMMARY_MARK].is_string())
}

/// The first entries of `directory` (sorted, directories with a trailing `/`) and how many it has.
fn first_entries(directory: &Path) -> Result<(Vec<String>, usize), OutputError> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map_err(io_error(directory))?
        .map(|entry| {
            let entry = entry.map_err(io_error(directory))?;
            let slash = if entry.file_type().is_ok_and(|kind| kind.is_dir()) { "/" } else { "" };
            Ok(format!("{}{slash}", entry.file_name().to_string_lossy()))
        })
        .collect::<Result<_, OutputError>>()?;
    names.sort();
    let count = names.len();
    names.truncate(ENTRIES_SHOWN);
    Ok((names, count))
}

fn not_an_output(out: &Path) -> OutputError {
    match first_entries(out) {
        Ok((entries, count)) => OutputError::NotAnOutput { out: out.to_path_buf(), entries, count },
        Err(error) => error,
    }
}

/// `NAME.TAG-PID` beside `path`: the same file system, so publishing is a rename.
fn beside(path: &Path, tag: &str) -> Result<PathBuf, OutputError> {
    let name = path.file_name().ok_or_else(|| OutputError::NoName { path: path.to_path_buf() })?;
    Ok(path.with_file_name(format!("{}.{tag}-{}", name.to_string_lossy(), std::process::id())))
}

/// An output directory that may be written: checked, before anything is read, against what the run reads and
/// what the directory holds.
#[derive(Debug)]
pub struct OutputDir {
    out: PathBuf,
    /// What `out` held when it was checked.
    found: Found,
}

impl OutputDir {
    /// Resolves `out` and checks that the run may write it: it is not, does not contain and does not lie
    /// inside any of `reads`, and it is absent, empty, or (with `overwrite`) an earlier mlprep output. Creates
    /// and removes nothing.
    pub fn check(out: &Path, overwrite: bool, reads: &[ReadPath]) -> Result<Self, OutputError> {
        let resolved = resolve(out).map_err(io_error(out))?;
        check_apart(&resolved, reads)?;
        // The staging directory is written too.
        check_apart(&beside(&resolved, "tmp")?, reads)?;
        let found = inspect(&resolved)?;
        match found {
            Found::Foreign => Err(not_an_output(&resolved)),
            Found::Output(_) if !overwrite => Err(OutputError::OutputExists { out: resolved }),
            _ => Ok(Self { out: resolved, found }),
        }
    }

    /// The directory, resolved.
    pub fn path(&self) -> &Path {
        &self.out
    }

    /// Creates the staging directory, `DIR.tmp-PID` beside `DIR`.
    pub fn stage(self) -> Result<Staging, OutputError> {
        let staging = beside(&self.out, "tmp")?;
        if let Some(parent) = staging.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        match std::fs::create_dir(&staging) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(OutputError::StagingTaken { staging });
            }
            Err(error) => return Err(OutputError::Io { path: staging, source: error }),
        }
        UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(staging.clone());
        Ok(Staging { staging, output: self })
    }
}

/// A staging directory this run created, to be published as its output directory or discarded.
#[derive(Debug)]
pub struct Staging {
    staging: PathBuf,
    output: OutputDir,
}

/// A published output.
#[derive(Debug)]
pub struct Published {
    pub path: PathBuf,
    /// What the directory held before, when it could not be removed after the new output took its place.
    pub kept: Option<Kept>,
}

/// A replaced output left in place of the staging directory.
#[derive(Debug)]
pub enum Kept {
    /// It changed while the output was published and is no longer an mlprep output: not removed.
    NotAnOutput(PathBuf),
    /// Removing it failed.
    NotRemoved(PathBuf, io::Error),
}

impl fmt::Display for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnOutput(path) => write!(
                f,
                "what the output directory held before changed while the new output was published and is no longer \
                 an mlprep output: it was not removed and is now at '{}'",
                path.display()
            ),
            Self::NotRemoved(path, error) => {
                write!(f, "the previous output, now at '{}', could not be removed: {error}", path.display())
            }
        }
    }
}

impl Staging {
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Moves the staged output, synced to disk, to its directory, which must still be what it was when checked:
    /// absent, empty, or (with `--overwrite`) the same earlier output, which is swapped out in one step and then
    /// removed. Anything else is `Appeared`. On failure the staged output is removed.
    pub fn publish(self) -> Result<Published, OutputError> {
        let result = sync_tree(&self.staging).and_then(|()| self.move_into_place());
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        self.forget();
        result
    }

    fn move_into_place(&self) -> Result<Published, OutputError> {
        let (staging, out) = (&self.staging, &self.output.out);
        let appeared = || OutputError::Appeared { out: out.clone() };
        pause_point("publish-start");
        match (self.output.found, inspect(out)?) {
            (_, Found::Absent) => {}
            // An empty directory holds nothing to lose, and rmdir fails if it has filled since.
            (Found::Empty, Found::Empty) => match std::fs::remove_dir(out) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) if error.kind() == io::ErrorKind::DirectoryNotEmpty => return Err(appeared()),
                Err(error) => return Err(OutputError::Io { path: out.clone(), source: error }),
            },
            (Found::Output(before), Found::Output(now)) if before == now => {
                pause_point("publish-before-exchange");
                let old = swap_in(staging, out).map_err(io_error(out))?;
                sync_parent(out)?;
                pause_point("publish-after-exchange");
                // Removed only if it still is the output that was checked.
                let kept = match inspect(&old) {
                    Ok(Found::Output(id)) if id == before => {
                        std::fs::remove_dir_all(&old).err().map(|error| Kept::NotRemoved(old.clone(), error))
                    }
                    _ => Some(Kept::NotAnOutput(old.clone())),
                };
                return Ok(Published { path: out.clone(), kept });
            }
            _ => return Err(appeared()),
        }
        pause_point("publish-before-rename");
        rename_noreplace(staging, out).map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty => appeared(),
            _ => OutputError::Io { path: out.clone(), source: error },
        })?;
        sync_parent(out)?;
        Ok(Published { path: out.clone(), kept: None })
    }

    /// Removes the staged output (a failed run). The failed query's writers may still be finishing on
    /// blocking threads, which cannot be cancelled, and a late one creates its file's directories again: the
    /// directory is removed until it has stayed away for a while (at most [`SETTLE`]).
    pub fn discard(self) -> Result<(), OutputError> {
        let started = std::time::Instant::now();
        let mut absent_since: Option<std::time::Instant> = None;
        let result = loop {
            match std::fs::remove_dir_all(&self.staging) {
                Ok(()) => absent_since = None,
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    let since = *absent_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= SETTLE / 4 {
                        break Ok(());
                    }
                }
                // A writer adding a file while the tree is removed: try again.
                Err(_) if started.elapsed() < SETTLE => absent_since = None,
                Err(error) => break Err(OutputError::Io { path: self.staging.clone(), source: error }),
            }
            if started.elapsed() >= SETTLE && absent_since.is_none() {
                // Removed just now; nothing was seen coming back in the time allowed.
                break if self.staging.exists() {
                    Err(OutputError::Io {
                        path: self.staging.clone(),
                        source: io::Error::other("still being written after the run failed"),
                    })
                } else {
                    Ok(())
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        self.forget();
        result
    }

    fn forget(&self) {
        UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|path| *path != self.staging);
    }
}

/// How long a failed run's staging directory is watched for writers that were still finishing.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Flushes every file and directory under `root` to disk, so that a published output is complete after a
/// power loss too, not only after a crash.
fn sync_tree(root: &Path) -> Result<(), OutputError> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).map_err(io_error(&directory))? {
            let path = entry.map_err(io_error(&directory))?.path();
            if std::fs::symlink_metadata(&path).map_err(io_error(&path))?.is_dir() {
                pending.push(path);
            } else {
                sync_path(&path)?;
            }
        }
        sync_path(&directory)?;
    }
    Ok(())
}

fn sync_path(path: &Path) -> Result<(), OutputError> {
    std::fs::File::open(path).and_then(|file| file.sync_all()).map_err(io_error(path))
}

/// Flushes the directory holding `path`, so that a rename into it is on disk.
fn sync_parent(path: &Path) -> Result<(), OutputError> {
    path.parent().map_or(Ok(()), sync_path)
}

/// A local scratch directory, in the system's temporary directory, removed when dropped (and by
/// [`remove_unfinished`] when a signal stops the run): where a run whose output goes to an object store writes
/// before it uploads.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn create() -> Result<Self, OutputError> {
        let temporary = std::env::temp_dir();
        for attempt in 0u32.. {
            let path = temporary.join(format!("mlprep-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(path.clone());
                    return Ok(Self { path });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(OutputError::Io { path, source: error }),
            }
        }
        unreachable!("an unbounded range ends")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|path| *path != self.path);
    }
}

/// Removes the staging directories of runs that were stopped before they published or discarded them (call it
/// once their tasks have stopped). Returns those that could not be removed.
pub fn remove_unfinished() -> Vec<(PathBuf, io::Error)> {
    let staged = std::mem::take(&mut *UNFINISHED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    staged
        .into_iter()
        .filter_map(|staging| match std::fs::remove_dir_all(&staging) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Some((staging, error)),
            _ => None,
        })
        .collect()
}

/// Removes everything runs of this process left unfinished when they were stopped: local staging and scratch
/// directories, and staging prefixes (and what was copied from them) in object stores, the latter on a runtime
/// of its own (call it once the stopped run's runtime is shut down). Returns what could not be removed.
pub fn remove_all_unfinished() -> Vec<String> {
    let mut left: Vec<String> =
        remove_unfinished().iter().map(|(path, error)| format!("{} ({error})", path.display())).collect();
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(cleanup) => left.extend(
            cleanup.block_on(store::remove_unfinished_objects()).iter().map(|(url, error)| format!("{url} ({error})")),
        ),
        Err(error) => left.push(format!("this run's staging prefix in an object store ({error})")),
    }
    left
}

/// What to do when a file to be written exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Fail (`--overwrite` not given).
    Refuse,
    /// Replace it in one step (`--overwrite`).
    Replace,
    /// Keep it when it holds exactly what would be written (generated inputs); fail otherwise.
    KeepIfIdentical,
}

/// Writes a file through `write`: into `NAME.tmp-PID` beside it, synced, then renamed into place, so a reader
/// never sees part of it, and never over a file the run did not create unless `if_exists` says so. A failed
/// write leaves nothing. Returns the resolved path.
pub fn write_file(
    path: &Path,
    if_exists: IfExists,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<PathBuf, OutputError> {
    let path = resolve(path).map_err(io_error(path))?;
    let exists = match std::fs::symlink_metadata(&path) {
        Ok(metadata) if metadata.is_dir() => {
            return Err(OutputError::Io {
                path,
                source: io::Error::new(io::ErrorKind::IsADirectory, "is a directory"),
            });
        }
        Ok(_) => true,
        Err(error) if error.kind() == io::ErrorKind::NotFound => false,
        Err(error) => return Err(OutputError::Io { path, source: error }),
    };
    if exists && if_exists == IfExists::Refuse {
        return Err(OutputError::FileExists { path });
    }
    let partial = beside(&path, "tmp")?;
    let file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&partial) {
        Ok(file) => file,
        // Not this run's: left as it is.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            return Err(OutputError::StagingTaken { staging: partial });
        }
        Err(error) => return Err(OutputError::Io { path: partial, source: error }),
    };
    let result = fill(file, write).map_err(io_error(&partial)).and_then(|()| match if_exists {
        IfExists::Replace => std::fs::rename(&partial, &path).map_err(io_error(&path)),
        IfExists::Refuse | IfExists::KeepIfIdentical => match rename_noreplace(&partial, &path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() != io::ErrorKind::AlreadyExists => {
                Err(OutputError::Io { path: path.clone(), source: error })
            }
            Err(_) if if_exists == IfExists::Refuse => Err(OutputError::FileExists { path: path.clone() }),
            Err(_) if same_bytes(&path, &partial)? => std::fs::remove_file(&partial).map_err(io_error(&partial)),
            Err(_) => Err(OutputError::Differs { path: path.clone() }),
        },
    });
    match result {
        Ok(()) => sync_parent(&path).map(|()| path),
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

fn fill(file: std::fs::File, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    write(&mut out)?;
    out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool, OutputError> {
    Ok(std::fs::read(a).map_err(io_error(a))? == std::fs::read(b).map_err(io_error(b))?)
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists. Atomic where the system can do it;
/// elsewhere (and on file systems without `RENAME_NOREPLACE`) a check then a rename, which a process creating
/// `to` in between can race.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    if atomic_rename(from, to, Rename::NoReplace)? {
        return Ok(());
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "the destination exists"));
    }
    std::fs::rename(from, to)
}

/// Puts the directory `new` in place of the existing directory `dir` and returns where the old `dir` is now.
/// Where the system can, the two are swapped in one step (the old one is then at `new`); elsewhere the old
/// one is moved to `DIR.old-PID` first, so that a crash between the two renames leaves no `DIR` (and the old
/// output whole at `DIR.old-PID`).
fn swap_in(new: &Path, dir: &Path) -> io::Result<PathBuf> {
    if atomic_rename(new, dir, Rename::Exchange)? {
        return Ok(new.to_path_buf());
    }
    let aside = beside(dir, "old").map_err(|error| io::Error::other(error.to_string()))?;
    rename_noreplace(dir, &aside)?;
    if let Err(error) = rename_noreplace(new, dir) {
        // The old output goes back; if even that fails, the error says where it is.
        return Err(match rename_noreplace(&aside, dir) {
            Ok(()) => error,
            Err(_) => io::Error::new(error.kind(), format!("{error}; the previous output is at '{}'", aside.display())),
        });
    }
    Ok(aside)
}

#[derive(Clone, Copy)]
enum Rename {
    NoReplace,
    Exchange,
}

/// `Ok(false)` when this system or file system cannot rename with `how` in one step.
#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
fn atomic_rename(from: &Path, to: &Path, how: Rename) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    use rustix::io::Errno;
    let flags = match how {
        Rename::NoReplace => RenameFlags::NOREPLACE,
        Rename::Exchange => RenameFlags::EXCHANGE,
    };
    match renameat_with(CWD, from, CWD, to, flags) {
        Ok(()) => Ok(true),
        // The file system (or an old kernel) does not support the flag; the paths here are siblings, so
        // EINVAL has no other cause (a directory moved into itself).
        Err(Errno::INVAL | Errno::NOSYS | Errno::NOTSUP) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
fn atomic_rename(_: &Path, _: &Path, _: Rename) -> io::Result<bool> {
    Ok(false)
}

/// Debug builds only: with `MLPREP_PAUSE_AT=NAME` the process says so on stderr at the point `NAME` and stops
/// itself (SIGSTOP), so that a test can kill it, or let it go on (SIGCONT), at that exact moment. Release
/// builds have no such point.
fn pause_point(name: &str) {
    if cfg!(debug_assertions) && std::env::var_os("MLPREP_PAUSE_AT").is_some_and(|at| at == name) {
        eprintln!("mlprep: paused at {name}");
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_compares_whole_components() {
        let path = Path::new;
        assert_eq!(overlap(path("/a/in"), path("/a/in")), Some(Overlap::Same));
        assert_eq!(overlap(path("/a"), path("/a/in/data.csv")), Some(Overlap::Contains));
        assert_eq!(overlap(path("/a/in/out"), path("/a/in")), Some(Overlap::Inside));
        // A shared prefix of characters is not a shared directory.
        assert_eq!(overlap(path("/a/in"), path("/a/input/data.csv")), None);
        assert_eq!(overlap(path("/a/input"), path("/a/in")), None);
        assert_eq!(overlap(path("/a/out"), path("/a/in/data.csv")), None);
    }

    #[test]
    fn resolve_follows_links_and_parents_also_past_the_existing_part() {
        let root = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(root.path()).unwrap();
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
        assert_eq!(resolve(&root.join("link/sub/../x")).unwrap(), root.join("real/x"));
        // `link/..` is the parent of the link's target, as the system resolves it.
        std::os::unix::fs::symlink(root.join("real/sub"), root.join("deep")).unwrap();
        assert_eq!(resolve(&root.join("deep/..")).unwrap(), root.join("real"));
        assert_eq!(resolve(&root.join("new/a/../b")).unwrap(), root.join("new/b"));
        // Back out of the missing part, links are followed again.
        assert_eq!(resolve(&root.join("new/../link/sub")).unwrap(), root.join("real/sub"));
        assert_eq!(resolve(&root.join("new/x/../../link/y")).unwrap(), root.join("real/y"));
        assert_eq!(resolve(&root.join("./real/./sub/")).unwrap(), root.join("real/sub"));
    }

    #[test]
    fn the_summary_mark_is_a_json_object_with_mlprep_s_version() {
        let root = tempfile::tempdir().unwrap();
        let summary = root.path().join(SUMMARY_FILE);
        for (text, expected) in [
            ("{\"mlprep_version\": \"0.1.0\", \"rows_read\": 3}", true),
            ("{\"rows_read\": 3}", false),
            ("{\"mlprep_version\": 1}", false),
            ("not json", false),
        ] {
            std::fs::write(&summary, text).unwrap();
            assert_eq!(is_mlprep_summary(&summary), expected, "{text}");
        }
    }

    #[test]
    fn rename_noreplace_never_replaces() {
        let root = tempfile::tempdir().unwrap();
        let (from, to) = (root.path().join("from"), root.path().join("to"));
        std::fs::write(&from, "new").unwrap();
        std::fs::write(&to, "old").unwrap();
        assert_eq!(rename_noreplace(&from, &to).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "old");
        std::fs::remove_file(&to).unwrap();
        rename_noreplace(&from, &to).unwrap();
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "new");
    }

    #[test]
    fn swap_in_puts_the_new_directory_in_place_and_says_where_the_old_one_is() {
        let root = tempfile::tempdir().unwrap();
        let (new, dir) = (root.path().join("new"), root.path().join("dir"));
        for (directory, text) in [(&new, "new"), (&dir, "old")] {
            std::fs::create_dir(directory).unwrap();
            std::fs::write(directory.join("f"), text).unwrap();
        }
        let old = swap_in(&new, &dir).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "new");
        assert_eq!(std::fs::read_to_string(old.join("f")).unwrap(), "old");
    }

    #[test]
    fn identities_find_one_directory_under_two_paths() {
        let (a, b, c) = ((1, 10), (1, 20), (1, 30));
        // out is b, inside a; the input is b too, or inside it, or holds it.
        assert_eq!(overlap_by_identity(&(Some(b), vec![a]), &(Some(b), vec![a])), Some(Overlap::Same));
        assert_eq!(overlap_by_identity(&(Some(b), vec![a]), &(Some(c), vec![b, a])), Some(Overlap::Contains));
        assert_eq!(overlap_by_identity(&(None, vec![b, a]), &(Some(b), vec![a])), Some(Overlap::Inside));
        assert_eq!(overlap_by_identity(&(None, vec![a]), &(Some(c), vec![a])), None);
        assert_eq!(overlap_by_identity(&(None, vec![a]), &(None, vec![a])), None);
    }

    #[test]
    fn a_destination_without_a_name_is_refused_as_such() {
        let result = OutputDir::check(Path::new("/"), true, &[]);
        assert!(matches!(result, Err(OutputError::NoName { .. })), "{result:?}");
    }

    #[test]
    fn a_staging_path_that_exists_is_left_as_it_is() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("f.txt");
        let taken = root.path().join(format!("f.txt.tmp-{}", std::process::id()));
        std::fs::write(&taken, "not mine").unwrap();
        let result = write_file(&file, IfExists::Refuse, |out| out.write_all(b"new"));
        assert!(matches!(result, Err(OutputError::StagingTaken { .. })), "{result:?}");
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "not mine");
        assert!(!file.exists());

        let out = root.path().join("out");
        let staging = root.path().join(format!("out.tmp-{}", std::process::id()));
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(staging.join("kept"), "not mine").unwrap();
        let result = OutputDir::check(&out, false, &[]).unwrap().stage();
        assert!(matches!(result, Err(OutputError::StagingTaken { .. })), "{result:?}");
        assert_eq!(std::fs::read_to_string(staging.join("kept")).unwrap(), "not mine");
        assert!(remove_unfinished().is_empty() && staging.join("kept").exists());
    }

    #[test]
    fn write_file_follows_its_policy_and_leaves_no_partial_file() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("f.txt");
        let text = |text: &'static str| move |out: &mut dyn Write| out.write_all(text.as_bytes());
        write_file(&path, IfExists::Refuse, text("one")).unwrap();
        assert!(matches!(write_file(&path, IfExists::Refuse, text("two")), Err(OutputError::FileExists { .. })));
        write_file(&path, IfExists::KeepIfIdentical, text("one")).unwrap();
        assert!(matches!(write_file(&path, IfExists::KeepIfIdentical, text("two")), Err(OutputError::Differs { .. })));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write_file(&path, IfExists::Replace, text("three")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three");
        let failed = write_file(&root.path().join("g.txt"), IfExists::Refuse, |out| {
            out.write_all(b"part")?;
            Err(io::Error::other("generator failed"))
        });
        assert!(matches!(failed, Err(OutputError::Io { .. })));
        let names: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(names, ["f.txt"]);
    }
}
