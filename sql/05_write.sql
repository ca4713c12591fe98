-- Step 5: write each split as Parquet, in its shuffled order, tokenized and padded.
--
-- Parameters: ${out} the output directory; ${vocab} the tokenizer; ${train_pad_to} and ${val_pad_to}
-- the padding lengths (each split's longest row from step 4, or --max-length, which also truncates
-- longer rows keeping [SEP] last). Columns: id, tag, text (cleaned), ids, masks, targets.
COPY (
    SELECT id, tag, text, tokens['ids'] AS ids, tokens['masks'] AS masks, targets
    FROM (
        SELECT id, tag, text, targets, shuffle_hash, tokenize(text, '${vocab}', ${train_pad_to}) AS tokens
        FROM examples
        WHERE split = 'train'
    )
    ORDER BY shuffle_hash, id
) TO '${out}/train/part-00000.parquet' STORED AS PARQUET;

COPY (
    SELECT id, tag, text, tokens['ids'] AS ids, tokens['masks'] AS masks, targets
    FROM (
        SELECT id, tag, text, targets, shuffle_hash, tokenize(text, '${vocab}', ${val_pad_to}) AS tokens
        FROM examples
        WHERE split = 'val'
    )
    ORDER BY shuffle_hash, id
) TO '${out}/val/part-00000.parquet' STORED AS PARQUET;
