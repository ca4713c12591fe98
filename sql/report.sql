-- The statements that measure a written output for its dataset card and pictures (`mlprep report`, and
-- `mlprep prepare` before it publishes), each found by its name (`-- name: ...`) and run once per split over
-- the split's files: what the card says is what was written. Not a script to run as a whole.

-- A split's files as a table. Parameters: ${table}; ${location}, the split's directory.
-- name: register_split
CREATE EXTERNAL TABLE ${table} STORED AS PARQUET LOCATION '${location}/';

-- Rows per token length ([CLS] and [SEP] included, padding not). Parameter: ${length}, the ones of the
-- row's mask, or the length of its ids when the split is unpadded (--padding none).
-- name: token_lengths
SELECT length, COUNT(*) AS rows
FROM (SELECT CAST(${length} AS BIGINT) AS length FROM ${table})
GROUP BY length
ORDER BY length;

-- Rows per target and fold. Parameters: ${targets}, the target column; ${fold}, the fold column or NULL.
-- name: rows_per_target
SELECT target, fold, COUNT(*) AS rows
FROM (SELECT CAST(${targets} AS BIGINT) AS target, CAST(${fold} AS BIGINT) AS fold FROM ${table})
GROUP BY target, fold
ORDER BY target, fold;

-- The split's size in Arrow memory without null buffers, as pyarrow's nbytes counts it (the card's
-- num_bytes). Parameter: ${bytes}, the sum over the columns of their buffers: 8 bytes a value of a 64-bit
-- column; 4 bytes a row (its offset) and the values of a string or list column.
-- name: arrow_bytes
SELECT CAST(${bytes} AS BIGINT) AS num_bytes FROM ${table};
