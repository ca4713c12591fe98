-- Step 4: the seeded shuffle, the stratified split and the class indices, as views over the staged rows.
--
-- Parameters: ${test_size} (default 0.2): per class, ceil(test_size * rows) rows, computed in float64 as
-- scikit-learn's train_test_split does, go to validation and the rest to training. The seed and the key
-- were applied in step 2 (shuffle_hash = seeded_hash(seed, key)).
--
-- The shuffle order is shuffle_hash, ties broken by the key. The split is decided on narrow rows (key,
-- class, hash) and summed up as one boundary per class: the last validation row of the class in the
-- shuffle order. Step 5 compares every row with its class's boundary, so the full rows never go through
-- a sort or a shuffle by class, and cleaning, tokenizing and writing stay parallel.
-- Finding a boundary sorts only one bucket of the class's rows (buckets are consecutive ranges of the
-- shuffle order, step 2): counts per class and bucket say which bucket holds the boundary, so the memory
-- this takes does not grow with the input.

-- The shuffle key of every row, and its bucket.
CREATE OR REPLACE VIEW shuffle_keys AS
SELECT key, class, shuffle_hash, CAST(bucket AS BIGINT) AS bucket FROM accepted_rows;

-- Per class: its rows and how many go to validation.
CREATE OR REPLACE VIEW class_sizes AS
SELECT class,
       COUNT(*) AS class_rows,
       CAST(CEIL(CAST(${test_size:-0.2} AS DOUBLE) * CAST(COUNT(*) AS DOUBLE)) AS BIGINT) AS val_rows
FROM shuffle_keys
GROUP BY class;

-- Classes in ascending order -> 0..k-1, over the classes present in the training split (as the original).
CREATE OR REPLACE VIEW class_to_index AS
SELECT class, CAST(ROW_NUMBER() OVER (ORDER BY class) - 1 AS BIGINT) AS class_index
FROM class_sizes
WHERE class_rows > val_rows;

-- Per class: the bucket holding its last validation row, and that row's position among the class's rows
-- of the bucket.
CREATE OR REPLACE VIEW boundary_buckets AS
SELECT class, bucket, val_rows - (rows_through - bucket_rows) AS position_in_bucket
FROM (
    SELECT b.class, b.bucket, b.bucket_rows, s.val_rows,
           SUM(b.bucket_rows) OVER (PARTITION BY b.class ORDER BY b.bucket
                                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rows_through
    FROM (SELECT class, bucket, COUNT(*) AS bucket_rows FROM shuffle_keys GROUP BY class, bucket) b
    JOIN class_sizes s ON b.class = s.class
)
WHERE rows_through >= val_rows AND rows_through - bucket_rows < val_rows;

-- Per class: the shuffle key of its last validation row, the bucket holding it, and the class index (NULL
-- for a class too small to have training rows). A row goes to validation when its (shuffle_hash, key) is at or before its
-- class's boundary: exactly the first val_rows of the class. boundary_buckets (one row per class) comes
-- first in the join so that it is the side the hash join holds in memory, not the rows.
-- name: val_boundaries
CREATE OR REPLACE VIEW val_boundaries AS
SELECT p.class, p.shuffle_hash AS last_val_hash, p.key AS last_val_key, c.class_index, p.bucket AS last_val_bucket
FROM (
    SELECT k.class, k.shuffle_hash, k.key, k.bucket, b.position_in_bucket,
           ROW_NUMBER() OVER (PARTITION BY k.class ORDER BY k.shuffle_hash, k.key) AS position
    FROM boundary_buckets b
    JOIN shuffle_keys k ON k.class = b.class AND k.bucket = b.bucket
) p
LEFT JOIN class_to_index c ON p.class = c.class
WHERE p.position = p.position_in_bucket;
