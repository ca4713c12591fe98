//! Compressed CSV inputs (`.csv.gz`, `.bz2`, `.xz`, `.zst`), as files and in directories: the output is the
//! uncompressed input's byte for byte, bad rows are named by the compressed file and the line of its
//! decompressed text, and a corrupt or cut stream fails naming the file, leaving nothing behind.

mod common;

use std::io::Write;
use std::path::Path;

use common::{small_bucket_options, staging_leftovers};
use mlprep::input::compression::Compression;
use mlprep::{OnBadRows, prepare};

/// `bytes` compressed as the tools that make these files do (one stream each).
fn compress(bytes: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        Compression::Bzip2 => {
            let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        Compression::Xz => {
            let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 6);
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        }
        Compression::Zstd => zstd::stream::encode_all(bytes, 3).unwrap(),
    }
}

#[tokio::test]
async fn every_compression_gives_the_uncompressed_files_output() {
    let directory = tempfile::tempdir().unwrap();
    let plain = std::fs::read(common::dataset_csv()).unwrap();
    let reference = directory.path().join("reference");
    prepare(&small_bucket_options(common::dataset_csv(), reference.clone(), OnBadRows::Fail)).await.unwrap();
    assert!(std::fs::read_dir(reference.join("train")).unwrap().count() > 1);
    for compression in Compression::ALL {
        let data = directory.path().join(format!("dataset.csv.{}", compression.extension()));
        std::fs::write(&data, compress(&plain, compression)).unwrap();
        let out = directory.path().join(format!("out-{}", compression.name()));
        let report = prepare(&small_bucket_options(data, out.clone(), OnBadRows::Fail)).await.unwrap();
        assert_eq!(report.rows_read, 764);
        common::assert_same_file_bytes(
            &common::output_without_input(&out),
            &common::output_without_input(&reference),
            compression.name(),
        );
        common::assert_matches_golden(&out);
    }
}

/// Plain and compressed pieces in one directory, one of them two gzip streams one after the other (as
/// `cat a.gz b.gz` makes), and `a.csv` beside `a.csv.gz`: the whole file's output.
#[tokio::test]
async fn a_directory_of_plain_and_compressed_pieces_gives_the_whole_files_output() {
    let directory = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::dataset_csv()).unwrap();
    let starts = common::record_starts(&whole);
    let header = &whole[..starts[1]];
    let piece = |from: usize, to: usize| {
        let end = if to >= starts.len() { whole.len() } else { starts[to] };
        [header, &whole[starts[from]..end]].concat()
    };
    let pieces = directory.path().join("pieces");
    std::fs::create_dir_all(&pieces).unwrap();
    std::fs::write(pieces.join("a.csv"), piece(1, 150)).unwrap();
    std::fs::write(pieces.join("a.csv.gz"), compress(&piece(150, 300), Compression::Gzip)).unwrap();
    let second = piece(300, 500);
    let middle = starts[400] - starts[300] + header.len();
    let two_streams =
        [compress(&second[..middle], Compression::Gzip), compress(&second[middle..], Compression::Gzip)].concat();
    std::fs::write(pieces.join("b.csv.gz"), two_streams).unwrap();
    std::fs::write(pieces.join("c.csv.bz2"), compress(&piece(500, 600), Compression::Bzip2)).unwrap();
    std::fs::write(pieces.join("d.csv.xz"), compress(&piece(600, 700), Compression::Xz)).unwrap();
    std::fs::write(pieces.join("e.csv.zst"), compress(&piece(700, starts.len()), Compression::Zstd)).unwrap();
    std::fs::write(pieces.join("notes.txt.gz"), compress(b"not a CSV: ignored", Compression::Gzip)).unwrap();

    let reference = directory.path().join("reference");
    prepare(&small_bucket_options(common::dataset_csv(), reference.clone(), OnBadRows::Fail)).await.unwrap();
    let out = directory.path().join("out");
    let report = prepare(&small_bucket_options(pieces, out.clone(), OnBadRows::Fail)).await.unwrap();
    assert_eq!(report.rows_read, 764);
    let parquet = |out: &Path| {
        common::file_bytes(out).into_iter().filter(|(name, _)| name.ends_with(".parquet")).collect::<Vec<_>>()
    };
    common::assert_same_file_bytes(&parquet(&out), &parquet(&reference), "plain and compressed pieces");
}

#[tokio::test]
async fn bad_rows_are_named_by_the_compressed_file_and_the_line_of_its_text() {
    let directory = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,created_on,title,description,tag\n");
    for id in 1..=12 {
        let tag = if id % 2 == 0 { "mlops" } else { "computer-vision" };
        csv.push_str(&format!("{id},2020-02-01,\"Project\n{id}\",A model.,{tag}\n"));
    }
    // Lines 2-25 hold twelve rows of two lines each: the bad row is on line 26.
    csv.push_str("13,2020-01-01,t,d\n");
    let data = directory.path().join("in.csv.zst");
    std::fs::write(&data, compress(csv.as_bytes(), Compression::Zstd)).unwrap();

    let error =
        prepare(&small_bucket_options(data.clone(), directory.path().join("out"), OnBadRows::Fail)).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, mlprep::error::Error::BadRows { count: 1, .. }), "{message}");
    assert!(message.contains(&format!("input CSV '{}' has 1 row(s)", data.display())), "{message}");
    assert!(message.contains("line 26: 4 fields, the header has 5"), "{message}");
    assert!(!directory.path().join("out").exists());
    assert!(staging_leftovers(directory.path()).is_empty());

    let skipped = directory.path().join("skipped");
    let report = prepare(&small_bucket_options(data.clone(), skipped.clone(), OnBadRows::Skip)).await.unwrap();
    assert_eq!((report.rows_read, report.rows_rejected), (13, 1));
    let rejected = std::fs::read_to_string(skipped.join("rejected.csv")).unwrap();
    assert_eq!(
        rejected,
        format!(
            "file,line,reason,record\n{},26,\"4 fields, the header has 5\",\"13,2020-01-01,t,d\"\n",
            data.display()
        )
    );
}

#[tokio::test]
async fn a_corrupt_or_cut_stream_fails_naming_the_file_and_leaves_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let plain = std::fs::read(common::dataset_csv()).unwrap();
    let gzip = compress(&plain, Compression::Gzip);
    let cases = [
        ("cut.csv.gz", gzip[..gzip.len() / 2].to_vec(), "gzip"),
        ("garbage.csv.zst", b"id,title\nnot zstd at all".to_vec(), "zstd"),
        ("flipped.csv.bz2", flip_middle_byte(compress(&plain, Compression::Bzip2)), "bzip2"),
        ("empty.csv.xz", Vec::new(), "xz"),
    ];
    for (name, bytes, compression) in cases {
        let data = directory.path().join(name);
        std::fs::write(&data, bytes).unwrap();
        let out = directory.path().join(format!("out-{name}"));
        let error = prepare(&small_bucket_options(data.clone(), out.clone(), OnBadRows::Skip)).await.unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains(&format!("input CSV '{}' cannot be decompressed as {compression}", data.display())),
            "{name}: {message}"
        );
        assert!(matches!(&error, mlprep::error::Error::Input { path, .. } if *path == data), "{name}: {error:?}");
        assert!(!out.exists(), "{name}");
        assert!(staging_leftovers(directory.path()).is_empty(), "{name}");
    }
}

fn flip_middle_byte(mut bytes: Vec<u8>) -> Vec<u8> {
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes
}
