-- Step 4: the seeded shuffle, the stratified split (and folds) and the class indices, as views over the
-- staged rows.
--
-- Parameters: ${test_size} (default 0.2): per class, ceil(test_size * rows) rows, computed in float64 as
-- scikit-learn's train_test_split does, go to validation and the rest to training. Or ${segments}, the parts
-- of each class's shuffle order as a query of (segment, split, fold, share, folds), in order: a held-out split
-- has a share and takes ceil(share * rows) of the class; the training split (share NULL) takes the rest,
-- whole (fold NULL) or in `folds` = K folds 0..K-1, fold j ending at ceil((j + 1) * rest / K) of the rest (so
-- folds differ in size by at most one). `mlprep prepare` passes it for
-- --splits and --folds (src/prepare/plan.rs, which also checks every split against this definition). The
-- seed and the key were applied in step 2 (shuffle_hash = seeded_hash(seed, key)).
--
-- The shuffle order is shuffle_hash, ties broken by the key. The split is decided on narrow rows (key,
-- class, hash) and summed up as one boundary per class and segment: the segment's last row in the shuffle
-- order. Step 5 compares every row with its class's boundaries, so the full rows never go through a sort or
-- a shuffle by class, and cleaning, tokenizing and writing stay parallel.
-- Finding a boundary sorts only one bucket of the class's rows (buckets are consecutive ranges of the
-- shuffle order, step 2): counts per class and bucket say which bucket holds the boundary, so the memory
-- this takes does not grow with the input.

-- The shuffle key of every row, and its bucket.
CREATE OR REPLACE VIEW shuffle_keys AS
SELECT key, class, shuffle_hash, CAST(bucket AS BIGINT) AS bucket FROM accepted_rows;

-- The course's split: validation takes ${test_size} of each class, training the rest.
CREATE OR REPLACE VIEW two_way_split AS
SELECT * FROM (VALUES (0, 'val', CAST(NULL AS BIGINT), CAST(${test_size:-0.2} AS DOUBLE), 1),
                      (1, 'train', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 1));

-- The parts of each class's shuffle order, in order, and how many folds training has.
CREATE OR REPLACE VIEW split_plan AS
SELECT CAST(segment AS BIGINT) AS segment, CAST(split AS VARCHAR) AS split, CAST(fold AS BIGINT) AS fold,
       CAST(share AS DOUBLE) AS share, CAST(folds AS BIGINT) AS folds
FROM ${segments:-two_way_split} AS plan(segment, split, fold, share, folds);

-- Per class: its rows.
CREATE OR REPLACE VIEW class_sizes AS
SELECT class, COUNT(*) AS class_rows FROM accepted_rows GROUP BY class;

-- Per class and segment: its rows, and where it ends in the class's shuffle order (its last row's position,
-- from 1). held_out_end is where the held-out splits up to this segment end (for training's segments, which
-- come last, all of them): a held-out split ends there, and training's rest = class_rows - held_out_end (none
-- when the held-out splits take every row: the class is then refused) ends fold j at ceil((j + 1) * rest / K).
-- Few plan nodes and no table aliases on the way to the staged rows, on purpose: a Ballista cluster decodes
-- a query's plan with a bounded nesting depth, and the scripts run by hand there unmaterialized.
CREATE OR REPLACE VIEW segment_sizes AS
SELECT class, segment, split, fold, training,
       CASE WHEN training
            THEN ((COALESCE(fold, 0) + 1) * GREATEST(class_rows - held_out_end, 0) + folds - 1) / folds
                 - (COALESCE(fold, 0) * GREATEST(class_rows - held_out_end, 0) + folds - 1) / folds
            ELSE held_out_rows END AS rows,
       CASE WHEN training
            THEN held_out_end + ((COALESCE(fold, 0) + 1) * GREATEST(class_rows - held_out_end, 0) + folds - 1) / folds
            ELSE held_out_end END AS end_position
FROM (
    SELECT class, class_rows, segment, split, fold, folds, share IS NULL AS training,
           CAST(CEIL(share * CAST(class_rows AS DOUBLE)) AS BIGINT) AS held_out_rows,
           COALESCE(SUM(CAST(CEIL(share * CAST(class_rows AS DOUBLE)) AS BIGINT))
                        OVER (PARTITION BY class ORDER BY segment ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 0)
               AS held_out_end
    FROM class_sizes CROSS JOIN split_plan
);

-- Classes in ascending order -> 0..k-1, over the classes present in the training split (as the original).
CREATE OR REPLACE VIEW class_to_index AS
SELECT class, CAST(ROW_NUMBER() OVER (ORDER BY class) - 1 AS BIGINT) AS class_index
FROM (SELECT DISTINCT class FROM segment_sizes WHERE training AND rows > 0);

-- Per class and segment: the bucket holding its last row, and that row's position among the class's rows of
-- the bucket. A segment with no rows has no boundary.
CREATE OR REPLACE VIEW boundary_buckets AS
SELECT segment_sizes.class, segment, split, fold, bucket,
       end_position - (rows_through - bucket_rows) AS position_in_bucket
FROM segment_sizes
JOIN (
    SELECT class AS bucket_class, bucket, COUNT(*) AS bucket_rows,
           SUM(COUNT(*)) OVER (PARTITION BY class ORDER BY bucket
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rows_through
    FROM shuffle_keys GROUP BY class, bucket
) ON segment_sizes.class = bucket_class
WHERE rows > 0 AND rows_through >= end_position AND rows_through - bucket_rows < end_position;

-- Per class and segment with rows: the shuffle key of its last row (last_hash, last_key) and of the previous
-- segment's (after_hash, after_key; NULL for the first), the bucket of its last row, and the class index
-- (NULL for a class too small to have training rows). A row belongs to the segment whose range
-- (after, last] holds its (shuffle_hash, key). boundary_buckets (a row per class and segment) comes first in
-- the join so that it is the side the hash join holds in memory, not the rows.
-- name: segment_bounds
CREATE OR REPLACE VIEW segment_bounds AS
SELECT p.class, p.segment, p.split, p.fold, c.class_index, p.shuffle_hash AS last_hash, p.key AS last_key,
       p.bucket AS last_bucket,
       LAG(p.shuffle_hash) OVER (PARTITION BY p.class ORDER BY p.segment) AS after_hash,
       LAG(p.key) OVER (PARTITION BY p.class ORDER BY p.segment) AS after_key
FROM (
    SELECT boundary_buckets.class, segment, split, fold, shuffle_hash, key, shuffle_keys.bucket, position_in_bucket,
           ROW_NUMBER() OVER (PARTITION BY boundary_buckets.class, segment ORDER BY shuffle_hash, key) AS position
    FROM boundary_buckets
    JOIN shuffle_keys ON shuffle_keys.class = boundary_buckets.class AND shuffle_keys.bucket = boundary_buckets.bucket
) p
LEFT JOIN class_to_index c ON p.class = c.class
WHERE p.position = p.position_in_bucket;

-- `mlprep prepare` replaces the views class_to_index and segment_bounds (a row per class and segment) by their
-- values before it defines the view below again, so that the planner knows segment_bounds is small and the
-- join sends it to every partition of the staged rows (no shuffle of the full rows by class).
-- segment_bounds comes first in the join, the side the hash join holds, so that the plan is right also where
-- the planner does not swap the sides of a join.
-- Every row: its split, fold (NULL without folds), shuffle key, key (as id), class (as tag), target, cleaned
-- text, unpadded ids, bucket. A row's segment is the one of its class whose (after, last] range of shuffle
-- keys holds it.
-- name: examples
CREATE OR REPLACE VIEW examples AS
SELECT segment_bounds.split,
       segment_bounds.fold,
       r.shuffle_hash,
       r.key AS id,
       r.class AS tag,
       segment_bounds.class_index AS targets,
       r.text,
       r.text_hash,
       r.ids,
       r.tokens,
       r.bucket
FROM segment_bounds
JOIN accepted_rows r
  ON r.class = segment_bounds.class
 AND (r.shuffle_hash < last_hash OR (r.shuffle_hash = last_hash AND r.key <= last_key))
 AND (after_hash IS NULL OR r.shuffle_hash > after_hash OR (r.shuffle_hash = after_hash AND r.key > after_key));
