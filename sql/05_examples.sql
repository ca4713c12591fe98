-- Step 5: every row with its split and target, and what the split holds. `mlprep prepare` reads these
-- results for summary.json and to choose each split's padding length (its longest row, unless --max-length).
-- `mlprep prepare` first replaces the views class_to_index and val_boundaries (one row per class) by
-- their values, so that the planner knows val_boundaries is small and the join below sends it to every
-- partition of the staged rows (no shuffle of the full rows by class).

-- Every row: its split, shuffle key, key (as id), class (as tag), target, cleaned text, unpadded ids, bucket.
CREATE OR REPLACE VIEW examples AS
SELECT CASE
           WHEN r.shuffle_hash < b.last_val_hash
             OR (r.shuffle_hash = b.last_val_hash AND r.key <= b.last_val_key) THEN 'val'
           ELSE 'train'
       END AS split,
       r.shuffle_hash,
       r.key AS id,
       r.class AS tag,
       b.class_index AS targets,
       r.text,
       r.ids,
       r.tokens,
       r.bucket
FROM accepted_rows r
JOIN val_boundaries b ON r.class = b.class;

-- The class indices.
SELECT class, class_index FROM class_to_index ORDER BY class_index;

-- Per split and class: rows and token lengths ([CLS] and [SEP] included, before truncation).
SELECT split, tag, COUNT(*) AS rows,
       MIN(tokens) AS min_tokens, MAX(tokens) AS max_tokens, SUM(tokens) AS total_tokens
FROM examples
GROUP BY split, tag
ORDER BY split, tag;
