-- The statements that measure a written output for its dataset card and pictures (`mlprep report`, and
-- `mlprep prepare` before it publishes), each found by its name (`-- name: ...`) and run once per split over
-- the split's files: what the card says is what was written. Not a script to run as a whole.

-- A split's files as a table. Parameters: ${table}; ${location}, the split's directory.
-- name: register_split
CREATE EXTERNAL TABLE ${table} STORED AS PARQUET LOCATION '${location}/';

-- Rows per token length, target and fold, and their bytes: one pass over the split's files.
-- Parameters: ${length}, a row's tokens ([CLS] and [SEP] included, padding not): the ones of its mask, or the
-- length of its ids when the split is unpadded (--padding none); ${targets}, the target column; ${fold}, the
-- fold column or NULL; ${row_bytes}, a row's size in Arrow memory without null buffers, as pyarrow's nbytes
-- counts it (the card's num_bytes): 8 bytes a 64-bit value; 4 bytes (an offset) and the values of a string or
-- list.
-- name: split_counts
SELECT length, target, fold, COUNT(*) AS rows, CAST(SUM(row_bytes) AS BIGINT) AS row_bytes
FROM (
    SELECT CAST(${length} AS BIGINT) AS length, CAST(${targets} AS BIGINT) AS target,
           CAST(${fold} AS BIGINT) AS fold, CAST(${row_bytes} AS BIGINT) AS row_bytes
    FROM ${table}
)
GROUP BY length, target, fold
ORDER BY length, target, fold;
