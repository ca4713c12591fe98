-- Step 3: the seeded shuffle, the stratified split and the class indices, as views.
--
-- Parameters: ${key} (default id), ${stratify} (default tag), ${seed} (default 1234),
-- ${test_size} (default 0.2): per class, ceil(test_size * rows) rows, computed in float64 as
-- scikit-learn's train_test_split does, go to validation and the rest to training.
--
-- The shuffle order is seeded_hash(seed, key), ties broken by the key. The split is decided on a narrow
-- projection (key, class, hash): the window functions sort only those, and per class they yield the last
-- (hash, key) that goes to validation. Full rows are then classified by comparing their own hash with
-- that threshold, so cleaning and tokenizing stay parallel instead of funnelling through one task per class.

-- The shuffle key of every row.
CREATE OR REPLACE VIEW shuffle_keys AS
SELECT ${key:-id} AS key,
       ${stratify:-tag} AS class,
       seeded_hash(${seed:-1234}, ${key:-id}) AS shuffle_hash
FROM projects;

-- Per class: its row count, its validation row count, and the (hash, key) of its last validation row.
CREATE OR REPLACE VIEW split_thresholds AS
SELECT class, class_rows, val_rows, shuffle_hash AS last_val_hash, key AS last_val_key
FROM (
    SELECT class, key, shuffle_hash,
           ROW_NUMBER() OVER (PARTITION BY class ORDER BY shuffle_hash, key) AS shuffle_position,
           COUNT(*) OVER (PARTITION BY class) AS class_rows,
           CAST(CEIL(CAST(${test_size:-0.2} AS DOUBLE) * CAST(COUNT(*) OVER (PARTITION BY class) AS DOUBLE)) AS BIGINT)
               AS val_rows
    FROM shuffle_keys
)
WHERE shuffle_position = val_rows;

-- Classes in ascending order -> 0..k-1, over the classes present in the training split (as the original).
CREATE OR REPLACE VIEW class_to_index AS
SELECT class, CAST(ROW_NUMBER() OVER (ORDER BY class) - 1 AS BIGINT) AS class_index
FROM split_thresholds
WHERE class_rows > val_rows;

-- One row per class: everything a full row needs to find its split and target.
CREATE OR REPLACE VIEW split_plan AS
SELECT t.class, t.class_rows, t.val_rows, t.last_val_hash, t.last_val_key, c.class_index
FROM split_thresholds t
LEFT JOIN class_to_index c ON t.class = c.class;

-- The per-class plan is tiny: broadcast it to every partition of the full rows (DataFusion's CollectLeft
-- join, the plan on the left) instead of hash-partitioning the text by class, which would leave one busy
-- partition per class. This setting stays in effect for the rest of the session.
SET datafusion.optimizer.repartition_joins = false;

-- Every row with its split, shuffle position, target and cleaned text (title, a space, description;
-- a missing title or description counts as empty text).
CREATE OR REPLACE VIEW examples AS
SELECT CASE
           WHEN r.shuffle_hash < p.last_val_hash
             OR (r.shuffle_hash = p.last_val_hash AND r.id <= p.last_val_key) THEN 'val'
           ELSE 'train'
       END AS split,
       r.shuffle_hash,
       r.id,
       r.tag,
       p.class_index AS targets,
       r.text
FROM split_plan p
JOIN (
    SELECT ${key:-id} AS id,
           ${stratify:-tag} AS tag,
           seeded_hash(${seed:-1234}, ${key:-id}) AS shuffle_hash,
           clean_text(concat(coalesce(title, ''), ' ', coalesce(description, ''))) AS text
    FROM projects
) r ON r.tag = p.class;
