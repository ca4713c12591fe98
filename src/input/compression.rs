//! Compressed input files: recognised by their extension and read as the text they decompress to, so that
//! line numbers, bad-row reports and the output are those of the uncompressed file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How an input file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

impl Compression {
    pub const ALL: [Self; 4] = [Self::Gzip, Self::Bzip2, Self::Xz, Self::Zstd];

    /// The file name extension, without its dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Gzip => "gz",
            Self::Bzip2 => "bz2",
            Self::Xz => "xz",
            Self::Zstd => "zst",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Bzip2 => "bzip2",
            Self::Xz => "xz",
            Self::Zstd => "zstd",
        }
    }

    /// The compression of the file at `path`, by its last extension; `None` for a plain file.
    pub fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?;
        Self::ALL.into_iter().find(|compression| extension == compression.extension())
    }

    /// A reader of the decompressed text of `file`; several concatenated streams (`cat a.gz b.gz`) read as one,
    /// as `gzip -d` reads them.
    fn reader(self, file: File) -> std::io::Result<Box<dyn Read>> {
        let file = BufReader::with_capacity(1 << 20, file);
        Ok(match self {
            Self::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
            Self::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(file)),
            Self::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(file)),
            Self::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        })
    }
}

/// The extensions of the inputs mlprep reads (after any compression's): CSV, Parquet, JSON Lines.
const INPUT_EXTENSIONS: [&str; 4] = ["csv", "parquet", "jsonl", "ndjson"];

/// Whether a file of an input directory is read: `NAME.csv`, `NAME.parquet`, `NAME.jsonl` or `NAME.ndjson`, plain
/// or compressed (`NAME.csv.gz`, …).
pub fn is_input_file_name(path: &Path) -> bool {
    let plain = match Compression::of(path) {
        Some(_) => path.file_stem().map(Path::new),
        None => Some(path),
    };
    plain.and_then(Path::extension).is_some_and(|extension| INPUT_EXTENSIONS.iter().any(|known| extension == *known))
}

/// The name of the decompressed copy of `path`: its name without the compression's extension, ending in
/// `.csv` (what DataFusion reads from a directory) unless it names another input format (`x.jsonl.gz`).
pub fn plain_name(path: &Path) -> PathBuf {
    let stem = PathBuf::from(path.file_stem().unwrap_or_default());
    let known = stem.extension().is_some_and(|extension| INPUT_EXTENSIONS.iter().any(|known| extension == *known));
    if known { stem } else { stem.with_extension("csv") }
}

/// Decompresses the file `local` into the new file `out`. A stream that is corrupt or cut short is an error
/// naming `name` (the file as the user gave it: `local` itself, or the URL `local` was fetched from).
pub fn decompress(local: &Path, name: &Path, compression: Compression, out: &Path) -> Result<()> {
    let fail = |error: std::io::Error| {
        Error::input(
            name,
            format!("input CSV '{}' cannot be decompressed as {}: {error}", name.display(), compression.name()),
        )
    };
    let file = File::open(local)
        .map_err(|error| Error::input(name, format!("input CSV '{}' cannot be opened: {error}", name.display())))?;
    let mut reader = compression.reader(file).map_err(fail)?;
    let created = File::create_new(out).map_err(|error| Error::io(out, error))?;
    let mut writer = BufWriter::with_capacity(1 << 20, created);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(fail(error)),
        };
        writer.write_all(&buffer[..read]).map_err(|error| Error::io(out, error))?;
    }
    writer.flush().map_err(|error| Error::io(out, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_told_by_the_last_extension() {
        assert_eq!(Compression::of(Path::new("a/data.csv.gz")), Some(Compression::Gzip));
        assert_eq!(Compression::of(Path::new("data.csv.zst")), Some(Compression::Zstd));
        assert_eq!(Compression::of(Path::new("data.csv")), None);
        assert_eq!(Compression::of(Path::new("gz")), None);
        assert!(is_input_file_name(Path::new("d/part.csv.bz2")));
        assert!(is_input_file_name(Path::new("d/part.csv")));
        assert!(is_input_file_name(Path::new("d/part.parquet")));
        assert!(is_input_file_name(Path::new("d/part.jsonl.gz")));
        assert!(!is_input_file_name(Path::new("d/part.gz")));
        assert!(!is_input_file_name(Path::new("d/part.txt.xz")));
        assert_eq!(plain_name(Path::new("d/part.jsonl.zst")), Path::new("part.jsonl"));
        assert_eq!(plain_name(Path::new("d/part.csv.xz")), Path::new("part.csv"));
        assert_eq!(plain_name(Path::new("d/projects.gz")), Path::new("projects.csv"));
    }
}
