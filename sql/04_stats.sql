-- Step 4: what the split holds, before anything is written. `mlprep prepare` reads these results for
-- summary.json and to choose each split's padding length (its longest row, unless --max-length).
--
-- Parameters: ${vocab} the tokenizer (a BERT vocab.txt or a tokenizer.json).

-- Rows read from the CSV.
SELECT COUNT(*) AS rows_read FROM projects;

-- The class indices.
SELECT class, class_index FROM class_to_index ORDER BY class_index;

-- Per split and class: rows and token lengths ([CLS] and [SEP] included, before truncation).
SELECT split, tag, COUNT(*) AS rows,
       MIN(tokens) AS min_tokens, MAX(tokens) AS max_tokens, SUM(tokens) AS total_tokens
FROM (SELECT split, tag, token_count(text, '${vocab}') AS tokens FROM examples)
GROUP BY split, tag
ORDER BY split, tag;
