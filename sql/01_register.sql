-- Step 1: register the projects CSV as the table `projects`.
--
-- Parameters: ${data} the CSV path; ${columns} the column definitions.
-- DataFusion 55 cannot infer a schema from a CSV whose quoted values hold newlines (the course data has 32
-- such rows), so the columns are declared. `mlprep prepare` fills ${columns} from the file's own header,
-- with types inferred from whole records; run by hand, the default is the course dataset's layout.
DROP TABLE IF EXISTS projects;

CREATE EXTERNAL TABLE projects (${columns:-id BIGINT, created_on TIMESTAMP, title VARCHAR, description VARCHAR, tag VARCHAR})
STORED AS CSV
LOCATION '${data}'
OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true');
