-- Step 3: input checks on the staged rows, and the rows the split takes.
--
-- Parameters: ${key_name} and ${stratify_name}, the columns' names as text for the messages (default id and tag).
--
-- `mlprep prepare` has already set aside records it cannot read (a wrong number of fields, invalid UTF-8,
-- an unterminated quote, an empty key or class, a key or class not of its column's type), so only duplicate
-- keys are expected here: with --on-bad-rows fail (the default) any row of the query below stops the run;
-- with skip, every row of a key that several rows share is set aside (which of them is right cannot be
-- known) and listed in rejected.csv.

-- Keys that several rows share, and how many rows share each. `mlprep prepare` passes them found bucket by
-- bucket as ${duplicate_keys} (all rows of a key share its bucket, so no aggregate holds every key, the
-- memory of a large run's one aggregate); by hand, one aggregate over all keys.
CREATE OR REPLACE VIEW duplicate_keys AS
SELECT key, copies
FROM ${duplicate_keys:-(SELECT key, COUNT(*) AS copies FROM staged_rows WHERE key IS NOT NULL GROUP BY key HAVING COUNT(*) > 1)} AS found;

-- The rows the split takes. Rows with a problem listed below must be fixed in the input. Parameter:
-- ${left_out} (default TRUE), a condition every taken row meets: `mlprep prepare` runs this view again with
-- it to leave out the rows of duplicate keys (--on-bad-rows skip), unknown classes (--classes) or repeated
-- texts (--dedupe), as a filter on literals (`key NOT IN (...)`): an anti join with duplicate_keys lost rows
-- on a Ballista 55 cluster of several executors.
-- name: accepted_rows
CREATE OR REPLACE VIEW accepted_rows AS
SELECT *
FROM staged_rows
WHERE key IS NOT NULL AND class IS NOT NULL AND CAST(class AS VARCHAR) <> '' AND (${left_out:-TRUE});

-- With --dedupe: the rows whose cleaned text an accepted row with a smaller key has too (every text keeps
-- its row with the smallest key, whatever the seed). `mlprep prepare --dedupe` leaves them out before the
-- split, in the same way as the duplicate keys.
-- name: duplicate_texts
CREATE OR REPLACE VIEW duplicate_texts AS
SELECT key
FROM (
    SELECT key, ROW_NUMBER() OVER (PARTITION BY text ORDER BY key) AS copy
    FROM accepted_rows
)
WHERE copy > 1;

-- Every problem (at most 20 shown), by kind (null_class, null_key, duplicate_key); none is expected.
SELECT kind, problem, key
FROM (
    SELECT 'null_class' AS kind, 'NULL or empty class in column ${stratify_name:-tag}' AS problem,
           CAST(key AS VARCHAR) AS key
    FROM staged_rows
    WHERE class IS NULL OR CAST(class AS VARCHAR) = ''
    UNION ALL
    SELECT 'null_key' AS kind, 'NULL key in column ${key_name:-id}' AS problem, CAST(NULL AS VARCHAR) AS key
    FROM staged_rows
    WHERE key IS NULL
    UNION ALL
    SELECT 'duplicate_key' AS kind, 'duplicate key in column ${key_name:-id} (' || CAST(copies AS VARCHAR) || ' rows)' AS problem,
           CAST(key AS VARCHAR) AS key
    FROM duplicate_keys
)
ORDER BY problem, key
LIMIT 20;
