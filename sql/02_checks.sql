-- Step 2: input checks. Every row returned is a problem that stops `mlprep prepare`; none is expected.
--
-- Parameters: ${key} the column identifying a row (default id); ${stratify} the class column (default tag).
SELECT problem, key
FROM (
    SELECT 'NULL or empty class in column ${stratify:-tag}' AS problem, CAST(${key:-id} AS VARCHAR) AS key
    FROM projects
    WHERE ${stratify:-tag} IS NULL OR CAST(${stratify:-tag} AS VARCHAR) = ''
    UNION ALL
    SELECT 'NULL key in column ${key:-id}' AS problem, CAST(NULL AS VARCHAR) AS key
    FROM projects
    WHERE ${key:-id} IS NULL
    UNION ALL
    SELECT 'duplicate key in column ${key:-id} (' || CAST(COUNT(*) AS VARCHAR) || ' rows)' AS problem,
           CAST(${key:-id} AS VARCHAR) AS key
    FROM projects
    WHERE ${key:-id} IS NOT NULL
    GROUP BY ${key:-id}
    HAVING COUNT(*) > 1
)
ORDER BY problem, key
LIMIT 20;
