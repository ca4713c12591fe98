-- Step 2: read the CSV once. Every row's key, class, shuffle key, cleaned text (and its hash, to find
-- repeated texts cheaply) and token ids are staged as
-- Parquet, and every later step reads the staged rows (only the columns it needs) instead of the CSV.
--
-- Parameters: ${key} the column identifying a row (default id); ${stratify} the class column (default tag);
-- ${seed} (default 1234); ${vocab} the tokenizer (a BERT vocab.txt or a tokenizer.json); ${work} a scratch
-- directory (`mlprep prepare` uses one inside its staging directory and deletes it); ${buckets} (default 1)
-- how many ranges of the shuffle order the rows are staged in. With --group, ${group_values} adds each row's
-- group_key and group_hash (seeded_hash(seed, group_key)) and ${group_columns} passes them on (see
-- 04_group_split.sql); by hand, without groups, both are empty.
--
-- Cleaning and tokenizing run here, once per row and in parallel over every partition. The text is
-- title, a space, description (a missing title or description counts as empty text). The ids are not
-- padded: step 6 pads each split to its longest row, which is known only once every row is tokenized.
-- The staged files are scratch data, written for speed: lz4, no dictionary encoding (it costs more than it
-- saves on nearly unique texts), and the ids as Int32 (vocabulary ids are far below 2^31: half the bytes to
-- compress, read back and sort; step 6 writes them as Int64). Each COPY has one open writer per bucket, and
-- buckets grow in number with the input, so each writer is kept small: row groups of 4K rows, 64 KiB pages,
-- no parallel encoding of a file's columns (the buckets are written in parallel anyway), and 1 MiB of bytes
-- buffered per open file instead of 10 MiB (a local scratch directory; an S3 multipart upload would need
-- 5 MiB). The memory this saves is in BENCHMARKS.md.
-- Bucket b holds the rows whose shuffle_hash lies in the b-th of ${buckets} equal ranges of the hash (its top
-- 32 bits times ${buckets}, over 2^32), so buckets in order are the shuffle order in pieces: step 6 sorts
-- and writes each bucket apart (bounded memory, one file per bucket, several at once). `mlprep prepare`
-- sets ${buckets} from the input's size only, so the output never depends on partitions or memory.
-- ${projects} is the table read (default projects). `mlprep prepare` cuts the input into byte ranges at record
-- starts and runs this COPY once per group of ranges, all at once, each reading a table of its own group: the
-- input is parsed once in total, and each COPY writes its own files (DataFusion writes a COPY from one
-- partition; on a cluster that task would receive every row through a shuffle). Run by hand over
-- `projects`, the CSV is read by one task (DataFusion cannot cut a CSV whose quoted values may hold line
-- ends) and a round-robin repartition spreads its rows over every partition for the text work.
SET datafusion.execution.objectstore_writer_buffer_size = 1048576;

COPY (
    SELECT key, class, shuffle_hash${group_columns:-}, text, seeded_hash(0, text) AS text_hash,
           arrow_cast(ids, 'List(Int32)') AS ids,
           CAST(cardinality(ids) AS BIGINT) AS tokens,
           CAST(((shuffle_hash >> 32) * ${buckets:-1}) >> 32 AS BIGINT) AS bucket
    FROM (
        SELECT key, class, shuffle_hash${group_columns:-}, text, tokenize(text, '${vocab}')['ids'] AS ids
        FROM (
            SELECT ${key:-id} AS key,
                   ${stratify:-tag} AS class,
                   seeded_hash(${seed:-1234}, ${key:-id}) AS shuffle_hash${group_values:-},
                   clean_text(concat(coalesce(title, ''), ' ', coalesce(description, ''))) AS text
            FROM ${projects:-projects}
        )
    )
)
TO '${work}/staged_rows/' STORED AS PARQUET PARTITIONED BY (bucket)
OPTIONS ('format.compression' 'lz4_raw', 'format.dictionary_enabled' 'false', 'format.max_row_group_size' '4096',
        'format.allow_single_file_parallelism' 'false', 'format.data_pagesize_limit' '65536');

DROP TABLE IF EXISTS staged_rows;

CREATE EXTERNAL TABLE staged_rows STORED AS PARQUET PARTITIONED BY (bucket) LOCATION '${work}/staged_rows/';
