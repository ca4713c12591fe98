-- Step 4 with --group: the split (and folds) of whole groups, in place of 04_split.sql. Every row of a group
-- (e.g. an author, a repository, a near-duplicate cluster) goes to one split, and one fold.
--
-- Parameters: ${segments} or ${test_size}, as in 04_split.sql; ${train_split} (default train); ${work} a
-- scratch directory, as in 02_stage.sql. The staged rows
-- carry group_key and group_hash = seeded_hash(seed, group_key) (02_stage.sql with ${group_values}); a row
-- with no group value is a group of its own.
--
-- The rule, deterministic and stratified:
-- 1. A group's stratum is the class most of its rows have (ties: the smallest class).
-- 2. Within a stratum, groups are ordered by group_hash (ties by group_key), and each segment of the plan
--    (held-out splits in order, then training or its folds) has a target end: the position in the stratum's
--    rows where 04_split.sql would end it for a class of that many rows (ceil(share * rows) per held-out
--    split; fold j of the rest ending at ceil((j + 1) * rest / K)).
-- 3. Each segment ends after the group whose running row count is closest to its target end (or before the
--    first group, at 0; ties: the earlier end), and a group belongs to the segment its running count falls in.
-- So each stratum's held-out share is as close to its target as whole groups, taken in hash order, allow.
-- Rows of a group's other classes go with it: summary.json reports the share each class and split got.

-- The course's split: validation takes ${test_size} of each class, training the rest.
CREATE OR REPLACE VIEW two_way_split AS
SELECT * FROM (VALUES (0, 'val', CAST(NULL AS BIGINT), CAST(${test_size:-0.2} AS DOUBLE), 1),
                      (1, 'train', CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), 1));

-- The parts of each stratum's order, in order, and how many folds training has.
CREATE OR REPLACE VIEW split_plan AS
SELECT CAST(segment AS BIGINT) AS segment, CAST(split AS VARCHAR) AS split, CAST(fold AS BIGINT) AS fold,
       CAST(share AS DOUBLE) AS share, CAST(folds AS BIGINT) AS folds
FROM ${segments:-two_way_split} AS plan(segment, split, fold, share, folds);

-- Per group: its hash, its rows and its stratum.
CREATE OR REPLACE VIEW group_strata AS
SELECT group_key, group_hash, class AS stratum, group_rows
FROM (
    SELECT group_key, group_hash, class, SUM(COUNT(*)) OVER (PARTITION BY group_key) AS group_rows,
           ROW_NUMBER() OVER (PARTITION BY group_key ORDER BY COUNT(*) DESC, class) AS rank
    FROM accepted_rows
    GROUP BY group_key, group_hash, class
)
WHERE rank = 1;

-- Per stratum: its rows (its groups' rows, of every class).
CREATE OR REPLACE VIEW class_sizes AS
SELECT stratum AS class, CAST(SUM(group_rows) AS BIGINT) AS class_rows FROM group_strata GROUP BY stratum;

-- Per stratum and segment: its target end, as segment_sizes of 04_split.sql computes it for a class.
CREATE OR REPLACE VIEW segment_sizes AS
SELECT class, segment, split, fold, training,
       CASE WHEN training
            THEN held_out_end + ((COALESCE(fold, 0) + 1) * GREATEST(class_rows - held_out_end, 0) + folds - 1) / folds
            ELSE held_out_end END AS end_position
FROM (
    SELECT class, class_rows, segment, split, fold, folds, share IS NULL AS training,
           COALESCE(SUM(CAST(CEIL(share * CAST(class_rows AS DOUBLE)) AS BIGINT))
                        OVER (PARTITION BY class ORDER BY segment ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 0)
               AS held_out_end
    FROM class_sizes CROSS JOIN split_plan
);

-- Per stratum, groups in hash order: the rows up to and including each group.
CREATE OR REPLACE VIEW group_positions AS
SELECT group_key, stratum,
       SUM(group_rows) OVER (PARTITION BY stratum ORDER BY group_hash, group_key
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS rows_through
FROM group_strata;

-- Per stratum and segment: where it ends (cut) and where the previous one ended (after_cut), in rows.
CREATE OR REPLACE VIEW group_cuts AS
SELECT class AS stratum, segment, split, fold, cut,
       COALESCE(LAG(cut) OVER (PARTITION BY class ORDER BY segment), 0) AS after_cut
FROM (
    SELECT s.class, s.segment, s.split, s.fold, c.cut,
           ROW_NUMBER() OVER (PARTITION BY s.class, s.segment ORDER BY ABS(c.cut - s.end_position), c.cut) AS rank
    FROM segment_sizes s
    JOIN (SELECT stratum, CAST(rows_through AS BIGINT) AS cut FROM group_positions
          UNION ALL
          SELECT class AS stratum, CAST(0 AS BIGINT) AS cut FROM class_sizes) c
      ON s.class = c.stratum
)
WHERE rank = 1;

-- Per group: its split and fold, written to ${work}/group_segments/ and read back as the table
-- group_segments: the steps after this read a table instead of the plan above again (a cluster decodes a
-- plan with a bounded nesting depth, and this one is deep).
COPY (
    SELECT p.group_key, c.split, c.fold
    FROM group_cuts c
    JOIN group_positions p ON p.stratum = c.stratum AND p.rows_through > c.after_cut AND p.rows_through <= c.cut
)
TO '${work}/group_segments/' STORED AS PARQUET;

DROP TABLE IF EXISTS group_segments;

CREATE EXTERNAL TABLE group_segments STORED AS PARQUET LOCATION '${work}/group_segments/';

-- Every row with its group's split and fold, staged as Parquet in its bucket (as 02_stage.sql's rows): the
-- join with the groups is made once, not by every later statement that reads the rows.
COPY (
    SELECT g.split, g.fold, r.key, r.class, r.shuffle_hash, r.text, r.text_hash, r.ids, r.tokens, r.bucket
    FROM group_segments g
    JOIN accepted_rows r ON r.group_key = g.group_key
)
TO '${work}/grouped_rows/' STORED AS PARQUET PARTITIONED BY (bucket)
OPTIONS ('format.compression' 'lz4_raw', 'format.dictionary_enabled' 'false', 'format.max_row_group_size' '4096',
        'format.allow_single_file_parallelism' 'false', 'format.data_pagesize_limit' '65536');

DROP TABLE IF EXISTS grouped_rows;

CREATE EXTERNAL TABLE grouped_rows STORED AS PARQUET PARTITIONED BY (bucket) LOCATION '${work}/grouped_rows/';

-- Classes in ascending order -> 0..k-1, over the classes of the training rows.
CREATE OR REPLACE VIEW class_to_index AS
SELECT class, CAST(ROW_NUMBER() OVER (ORDER BY class) - 1 AS BIGINT) AS class_index
FROM (SELECT DISTINCT class FROM grouped_rows WHERE split = '${train_split:-train}');

-- Groups in more than one segment: none, by construction; `mlprep prepare` checks it.
-- name: groups_split_apart
SELECT CAST(COUNT(*) AS BIGINT) AS groups_split_apart
FROM (SELECT group_key FROM group_segments GROUP BY group_key HAVING COUNT(*) > 1);

-- Every row with its split, fold and target, as 04_split.sql's examples. `mlprep prepare` replaces
-- class_to_index by its values and defines this view again; the classes come first in the join, the side
-- the hash join holds.
-- name: examples
CREATE OR REPLACE VIEW examples AS
SELECT r.split,
       r.fold,
       r.shuffle_hash,
       r.key AS id,
       r.class AS tag,
       c.class_index AS targets,
       r.text,
       r.text_hash,
       r.ids,
       r.tokens,
       r.bucket
FROM class_to_index c
RIGHT JOIN grouped_rows r ON r.class = c.class;
