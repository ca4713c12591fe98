-- Step 5: what the split holds, over `examples` (every row with its split and target, from step 4).
-- `mlprep prepare` reads these results for summary.json and to choose each split's padding length (its
-- longest row, unless --max-length).
-- Then the cleaned texts that rows share, and those in both splits (leakage).
-- ${train_split} (default train) is the training split: leakage is counted between it and the held-out
-- splits together (columns val_rows).

-- The class indices.
SELECT class, class_index FROM class_to_index ORDER BY class_index;

-- Per split, fold and class: rows and token lengths ([CLS] and [SEP] included, before truncation), and the
-- rows longer than ${max_length} (--max-length; default: none), which step 6 truncates to it.
SELECT split, fold, tag, COUNT(*) AS rows,
       MIN(tokens) AS min_tokens, MAX(tokens) AS max_tokens, SUM(tokens) AS total_tokens,
       CAST(SUM(CASE WHEN tokens > ${max_length:-NULL} THEN 1 ELSE 0 END) AS BIGINT) AS rows_over_max_length
FROM examples
GROUP BY split, fold, tag
ORDER BY split, fold, tag;

-- Leakage: cleaned texts that several rows share, and those in both splits (a validation row whose text a
-- training row has too measures nothing). Counted, never changed here: --dedupe drops such rows before the
-- split. Texts are grouped by their 64-bit hash (seeded XXH64, staged in step 2), which takes a fraction of
-- the time and memory of grouping the texts themselves: two different texts share a hash with a chance of
-- about n^2 / 2^65 (3 in a million runs of 10M distinct texts), which could only add to these counts.
-- Parameter: ${shared_texts}, a table or query of the same columns in its place. `mlprep prepare` passes a
-- table it wrote, so that the two queries below read it instead of each aggregating every row: for inputs of
-- more than 8 buckets range by range of the text hash (all rows of a text share its hash, so no aggregate
-- holds every text: this one holds ~40 bytes a row, a large run's memory peak), for smaller ones in one
-- aggregate (shared_texts_of_examples, which prepare defines first). By hand, that one aggregate.
-- name: shared_texts_of_examples
CREATE OR REPLACE VIEW shared_texts_of_examples AS
SELECT text_hash,
       SUM(CASE WHEN split = '${train_split:-train}' THEN 1 ELSE 0 END) AS train_rows,
       SUM(CASE WHEN split <> '${train_split:-train}' THEN 1 ELSE 0 END) AS val_rows
FROM examples
GROUP BY text_hash
HAVING COUNT(*) > 1;

CREATE OR REPLACE VIEW shared_texts AS
SELECT text_hash, train_rows, val_rows FROM ${shared_texts:-shared_texts_of_examples};

SELECT CAST(COUNT(*) AS BIGINT) AS shared_texts,
       CAST(COALESCE(SUM(train_rows + val_rows), 0) AS BIGINT) AS rows_sharing_a_text,
       CAST(COALESCE(SUM(CASE WHEN train_rows > 0 AND val_rows > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS texts_in_both_splits,
       CAST(COALESCE(SUM(CASE WHEN train_rows > 0 AND val_rows > 0 THEN val_rows ELSE 0 END), 0) AS BIGINT) AS val_rows_with_a_train_text,
       CAST(COALESCE(SUM(CASE WHEN train_rows > 0 AND val_rows > 0 THEN train_rows ELSE 0 END), 0) AS BIGINT) AS train_rows_with_a_val_text
FROM shared_texts;

-- The texts in both splits that most validation rows have (at most 10). The ten hashes come first in the
-- join: the small side, the one the hash join holds, sent to every task of the rows. The planner estimates
-- the rows of `examples` (a join) at a handful and, given the size of the ten (a LIMIT over a table), swaps
-- the sides: it then held every text in memory to probe it with ten hashes. So this statement is planned
-- with the joins as written (the setting is DataFusion's default again after it).
SET datafusion.optimizer.join_reordering = false;

SELECT MIN(e.text) AS text, CAST(t.train_rows AS BIGINT) AS train_rows, CAST(t.val_rows AS BIGINT) AS val_rows
FROM (
    SELECT text_hash, train_rows, val_rows
    FROM shared_texts
    WHERE train_rows > 0 AND val_rows > 0
    ORDER BY val_rows DESC, train_rows DESC, text_hash
    LIMIT 10
) t
JOIN examples e ON e.text_hash = t.text_hash
GROUP BY t.text_hash, t.train_rows, t.val_rows
ORDER BY val_rows DESC, train_rows DESC, text;

SET datafusion.optimizer.join_reordering = true;
