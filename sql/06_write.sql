-- Step 6: write each split as Parquet, in its shuffled order, padded.
--
-- Parameters: ${out} the output directory; ${train_pad_to} and ${val_pad_to} the padding lengths (each
-- split's longest row from step 5, or --max-length, which also truncates longer rows keeping [SEP] last);
-- ${pad_id} the tokenizer's [PAD] id (default 0). Columns: id, tag, text (cleaned), ids, masks, targets.
-- `tag` and `text` are written as Utf8 whatever layout the engine uses inside (DataFusion prefers Utf8View,
-- Ballista Utf8), so the files are the same wherever the plan runs and every Parquet reader knows the type.

-- Rows are sorted unpadded and padded after the sort, so the sort moves (and spills) fewer bytes. That
-- needs the ORDER BY of a subquery kept (DataFusion drops them by default) and no round-robin
-- repartition above the sort (it would interleave the sorted rows); both settings are restored below.
-- `targets` ends the sort key only to keep the sort above the join with the split boundaries: (shuffle_hash,
-- id) is already unique, but a key from the join's small side stops DataFusion from sorting the staged rows
-- of both splits below the join; sorted after the join, each split is sorted alone, and the rows reach the
-- writer in batches of exactly the batch size, so the file's pages do not depend on the partition count.
SET datafusion.sql_parser.enable_subquery_sort_elimination = false;
SET datafusion.optimizer.enable_round_robin_repartition = false;

COPY (
    SELECT id, tag, text, tokens['ids'] AS ids, tokens['masks'] AS masks, targets
    FROM (
        SELECT id, arrow_cast(tag, 'Utf8') AS tag, arrow_cast(text, 'Utf8') AS text,
               pad_tokens(ids, ${train_pad_to}, ${pad_id:-0}) AS tokens, targets
        FROM (SELECT id, tag, text, ids, targets FROM examples WHERE split = 'train' ORDER BY shuffle_hash, id, targets)
    )
)
TO '${out}/train/part-00000.parquet' STORED AS PARQUET;

COPY (
    SELECT id, tag, text, tokens['ids'] AS ids, tokens['masks'] AS masks, targets
    FROM (
        SELECT id, arrow_cast(tag, 'Utf8') AS tag, arrow_cast(text, 'Utf8') AS text,
               pad_tokens(ids, ${val_pad_to}, ${pad_id:-0}) AS tokens, targets
        FROM (SELECT id, tag, text, ids, targets FROM examples WHERE split = 'val' ORDER BY shuffle_hash, id, targets)
    )
)
TO '${out}/val/part-00000.parquet' STORED AS PARQUET;

SET datafusion.optimizer.enable_round_robin_repartition = true;
SET datafusion.sql_parser.enable_subquery_sort_elimination = true;
