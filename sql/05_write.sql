-- Step 5: write each split as Parquet, in its shuffled order, tokenized and padded.
--
-- Parameters: ${out} the output directory; ${vocab} the tokenizer; ${train_pad_to} and ${val_pad_to}
-- the padding lengths (each split's longest row from step 4, or --max-length, which also truncates
-- longer rows keeping [SEP] last). Columns: id, tag, text (cleaned), ids, masks, targets.
-- `tag` and `text` are written as Utf8 whatever layout the engine uses inside (DataFusion prefers Utf8View,
-- Ballista Utf8), so the files are the same wherever the plan runs and every Parquet reader knows the type.

-- Training rows: the examples with their ids and attention masks, padded to their split's length.
CREATE OR REPLACE VIEW training_rows AS
SELECT split, shuffle_hash, id, arrow_cast(tag, 'Utf8') AS tag, arrow_cast(text, 'Utf8') AS text,
       tokens['ids'] AS ids, tokens['masks'] AS masks, targets
FROM (
    SELECT split, shuffle_hash, id, tag, text, targets,
           tokenize(text, '${vocab}', CASE split WHEN 'train' THEN ${train_pad_to} ELSE ${val_pad_to} END) AS tokens
    FROM examples
);

COPY (SELECT id, tag, text, ids, masks, targets FROM training_rows WHERE split = 'train' ORDER BY shuffle_hash, id)
TO '${out}/train/part-00000.parquet' STORED AS PARQUET;

COPY (SELECT id, tag, text, ids, masks, targets FROM training_rows WHERE split = 'val' ORDER BY shuffle_hash, id)
TO '${out}/val/part-00000.parquet' STORED AS PARQUET;
