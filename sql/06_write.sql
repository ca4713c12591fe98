-- Step 6: write a split as Parquet, in its shuffled order, padded: one bucket of the staged rows (step 2)
-- per file. `mlprep prepare` runs this once per split s and bucket b with ${split} = s, ${bucket} = b and
-- ${part} = b in five digits (several at once); the files in name order hold the split in shuffle order.
--
-- Parameters: ${split} (default train); ${bucket} (default 0) and ${part} (default 00000); ${out} the output
-- directory; ${pad_to} the split's padding length (its longest row from step 5, or --max-length, which also
-- truncates longer rows keeping [SEP] last; `tokens` or `LEAST(tokens, N)` for no padding); ${pad_id} the
-- tokenizer's pad id (default 0); ${closing} how many special tokens close a row and are kept by truncation
-- (default 1, BERT's [SEP]); ${fold_column} `, fold` to write the training split's folds (default:
-- none); ${ids_name}, ${targets_name} and ${masks_column} the layout (default: ids, targets, and the masks as
-- `masks`; --column-names hf and --padding none change them).
-- Columns: id, tag, text (cleaned), ids, masks, targets (and fold).
-- `tag` and `text` are written as Utf8 whatever layout the engine uses inside (DataFusion prefers Utf8View,
-- Ballista Utf8), so the files are the same wherever the plan runs and every Parquet reader knows the type.
--
-- The order is (shuffle_hash, id); `targets` ends the sort key although (shuffle_hash, id) is already unique,
-- because a key from the join's small side keeps the sort above the join with the split boundaries: each
-- split is then sorted alone (not the staged rows of both), and the rows reach the writer in batches of
-- exactly the batch size, so the file's pages do not depend on the number of partitions.
-- The rows are sorted before they are padded: padded ids and masks are several times the unpadded ids, and
-- the sort holds a whole bucket (the run's memory peak). The inner ORDER BY sorts
-- the unpadded rows; the outer one, on the same key, is what guarantees the order: DataFusion drops it when
-- the padded rows arrive sorted, which takes the two settings below (keep an ORDER BY inside a subquery;
-- no round-robin repartition above the sort to pad on every core). Where a setting does not reach the
-- planner (an in-process Ballista cluster plans with its own), the outer sort sorts the padded rows
-- again: more memory, same files. Both settings stay set for the rest of the session.
-- The files use DataFusion's default encodings (dictionary, zstd). Turning the dictionary off for `text`
-- alone (`'format.dictionary_enabled::text'`) saves a few percent, but Ballista 55 drops column-specific
-- options on the way to its executors, and the files would then differ between local and cluster runs.

SET datafusion.sql_parser.enable_subquery_sort_elimination = false;

SET datafusion.optimizer.enable_round_robin_repartition = false;

COPY (
    SELECT id, arrow_cast(tag, 'Utf8') AS tag, arrow_cast(text, 'Utf8') AS text,
           padded['ids'] AS ${ids_name:-ids}${masks_column:-, padded['masks'] AS masks},
           targets AS ${targets_name:-targets}${fold_column:-}
    FROM (
        SELECT id, tag, text, targets, fold, shuffle_hash, pad_tokens(ids, ${pad_to}, ${pad_id:-0}, ${closing:-1}) AS padded
        FROM (
            SELECT id, tag, text, targets, fold, shuffle_hash, ids, tokens
            FROM examples
            WHERE split = '${split:-train}' AND bucket = '${bucket:-0}'
            ORDER BY shuffle_hash, id, targets
        )
    )
    ORDER BY shuffle_hash, id, targets
)
TO '${out}/${split:-train}/part-${part:-00000}.parquet' STORED AS PARQUET;
