-- Step 3: input checks on the staged rows. Every row returned is a problem that stops `mlprep prepare`;
-- none is expected.
--
-- Parameters: ${key} and ${stratify}, only to name the columns in the messages (default id and tag).
SELECT problem, key
FROM (
    SELECT 'NULL or empty class in column ${stratify:-tag}' AS problem, CAST(key AS VARCHAR) AS key
    FROM staged_rows
    WHERE class IS NULL OR CAST(class AS VARCHAR) = ''
    UNION ALL
    SELECT 'NULL key in column ${key:-id}' AS problem, CAST(NULL AS VARCHAR) AS key
    FROM staged_rows
    WHERE key IS NULL
    UNION ALL
    SELECT 'duplicate key in column ${key:-id} (' || CAST(COUNT(*) AS VARCHAR) || ' rows)' AS problem,
           CAST(key AS VARCHAR) AS key
    FROM staged_rows
    WHERE key IS NOT NULL
    GROUP BY key
    HAVING COUNT(*) > 1
)
ORDER BY problem, key
LIMIT 20;
