-- Step 3: the seeded shuffle, the stratified split and the class indices, as views.
--
-- Parameters: ${key} (default id), ${stratify} (default tag), ${seed} (default 1234),
-- ${test_size} (default 0.2): per class, ceil(test_size * rows) rows, computed in float64 as
-- scikit-learn's train_test_split does, go to validation and the rest to training.
--
-- The shuffle order is seeded_hash(seed, key), ties broken by the key. Every decision is taken on a narrow
-- projection (key, class, hash): the window function sorts only those. The full rows then meet their
-- decision through one join on the key, which spreads them over every partition (a high-cardinality
-- shuffle), so cleaning and tokenizing run in parallel instead of one task per class.

-- The shuffle key of every row.
CREATE OR REPLACE VIEW shuffle_keys AS
SELECT ${key:-id} AS key,
       ${stratify:-tag} AS class,
       seeded_hash(${seed:-1234}, ${key:-id}) AS shuffle_hash
FROM projects;

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

-- Per row: the first val_rows of each class in the seeded order go to validation.
CREATE OR REPLACE VIEW split_assignment AS
SELECT k.key,
       k.shuffle_hash,
       CASE WHEN k.shuffle_position <= s.val_rows THEN 'val' ELSE 'train' END AS split,
       c.class_index AS targets
FROM (
    SELECT key, class, shuffle_hash,
           ROW_NUMBER() OVER (PARTITION BY class ORDER BY shuffle_hash, key) AS shuffle_position
    FROM shuffle_keys
) k
JOIN class_sizes s ON k.class = s.class
LEFT JOIN class_to_index c ON k.class = c.class;

-- Every row with its split, shuffle position, target and cleaned text (title, a space, description;
-- a missing title or description counts as empty text).
CREATE OR REPLACE VIEW examples AS
SELECT a.split,
       a.shuffle_hash,
       p.${key:-id} AS id,
       p.${stratify:-tag} AS tag,
       a.targets,
       clean_text(concat(coalesce(p.title, ''), ' ', coalesce(p.description, ''))) AS text
FROM split_assignment a
JOIN projects p ON p.${key:-id} = a.key;
