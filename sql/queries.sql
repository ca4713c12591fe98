-- The statements `mlprep prepare` runs around the steps, each found by its name (`-- name: ...`): those it
-- runs once per bucket of the shuffle order or range of the text hash, several at once, so that no aggregate
-- holds the whole input, and the small results it reads. Not a script to run as a whole.

-- Keys that several staged rows of one bucket share (all rows of a key share its bucket), for
-- ${duplicate_keys} of 03_checks.sql. Parameter: ${bucket}.
-- name: duplicate_keys_in_bucket
SELECT key, COUNT(*) AS copies
FROM staged_rows
WHERE bucket = '${bucket}' AND key IS NOT NULL
GROUP BY key
HAVING COUNT(*) > 1;

-- Every split row's text hash and split, staged by range of the hash (the same formula as the buckets of
-- 02_stage.sql, over the text hash). The split is a small dictionary (two values) and the hashes are random:
-- lz4, no parallel encoding per file, small row groups, as for the staged rows: one open writer per range.
-- Parameters: ${text_buckets}, ${text_hashes} a directory.
-- name: stage_text_hashes
COPY (
    SELECT text_hash, split, CAST(((text_hash >> 32) * ${text_buckets}) >> 32 AS BIGINT) AS text_bucket
    FROM examples
)
TO '${text_hashes}/' STORED AS PARQUET PARTITIONED BY (text_bucket)
OPTIONS ('format.compression' 'lz4_raw', 'format.max_row_group_size' '65536',
         'format.allow_single_file_parallelism' 'false');

-- name: register_text_hashes
CREATE EXTERNAL TABLE text_hashes STORED AS PARQUET PARTITIONED BY (text_bucket) LOCATION '${text_hashes}/';

-- The text hashes that rows of one range share, with their rows per split. Parameters: ${text_bucket},
-- ${part} (its file name), ${shared_texts} a directory.
-- name: shared_texts_in_range
COPY (
    SELECT text_hash,
           SUM(CASE WHEN split = '${train_split:-train}' THEN 1 ELSE 0 END) AS train_rows,
           SUM(CASE WHEN split <> '${train_split:-train}' THEN 1 ELSE 0 END) AS val_rows
    FROM text_hashes
    WHERE text_bucket = '${text_bucket}'
    GROUP BY text_hash
    HAVING COUNT(*) > 1
)
TO '${shared_texts}/part-${part}.parquet' STORED AS PARQUET;

-- The same for an input of at most 8 buckets: the one aggregate of 05_examples.sql (its view
-- shared_texts_of_examples, defined first), written once so that the two leakage queries there read a small
-- table instead of each aggregating every row again. Parameter: ${shared_texts} a directory.
-- name: shared_texts_at_once
COPY (SELECT text_hash, train_rows, val_rows FROM shared_texts_of_examples)
TO '${shared_texts}/part-00000.parquet' STORED AS PARQUET;

-- For ${shared_texts} of 05_examples.sql. A range without shared texts may leave no file: the columns are given.
-- name: register_shared_texts
CREATE EXTERNAL TABLE shared_texts_by_range (text_hash BIGINT UNSIGNED, train_rows BIGINT, val_rows BIGINT)
STORED AS PARQUET LOCATION '${shared_texts}/';

-- The keys of the duplicate_keys view, and how many rows have each.
-- name: duplicate_keys
SELECT key, copies FROM duplicate_keys;

-- The accepted rows per class (to find the classes --classes does not have).
-- name: accepted_classes
SELECT class, COUNT(*) AS n FROM accepted_rows GROUP BY class;

-- The keys --dedupe leaves out.
-- name: duplicate_texts
SELECT key FROM duplicate_texts;

-- Per split: the last bucket holding its rows (a held-out split fills the buckets up to the one holding its
-- last row).
-- name: last_buckets
SELECT split, MAX(last_bucket) AS last_bucket FROM segment_bounds GROUP BY split;

-- The class indices of --classes in place of the training classes'. Parameter: ${classes}, a VALUES query
-- of (class, class_index).
-- name: given_class_to_index
CREATE OR REPLACE VIEW class_to_index AS SELECT * FROM ${classes} AS v(class, class_index);
