"""mlprep from Python, as in a notebook: prepare the course data, look at it with SQL, train from it.

    pip install ./python datasets       # once, from the repository root
    python examples/notebook.py ../shared/data/dataset.csv ../shared/data/scibert_scivocab_uncased.vocab.txt

Every call here is what a notebook cell would run.
"""

import sys
import tempfile
from pathlib import Path

import datafusion

import mlprep

data, vocab = sys.argv[1], sys.argv[2]
out = Path(tempfile.mkdtemp()) / "prepared"

# The pipeline of `mlprep prepare`, with the same output bytes; the summary comes back as a dict.
summary = mlprep.prepare(data, vocab, out, seed=1234, test_size=0.2)
print("train", summary["splits"]["train"]["rows"], "val", summary["splits"]["val"]["rows"])
print("classes", summary["class_to_index"])

# mlprep's SQL functions inside datafusion-python.
ctx = datafusion.SessionContext()
mlprep.register(ctx)
ctx.sql(
    "CREATE EXTERNAL TABLE projects (id BIGINT, created_on VARCHAR, title VARCHAR, description VARCHAR, tag VARCHAR) "
    f"STORED AS CSV LOCATION '{data}' OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')"
)
lengths = ctx.sql(
    f"SELECT tag, avg(token_count(clean_text(title || ' ' || description), '{vocab}')) AS mean_tokens "
    "FROM projects GROUP BY tag ORDER BY tag"
)
print(lengths.to_pylist())

# Quick looks without a session: a pyarrow.Table.
print(mlprep.sql("SELECT clean_text('The Transformer: attention is all you need') AS text").to_pylist())

# The output as a Hugging Face DatasetDict, ready for a DataLoader.
dataset = mlprep.load(out)
print(dataset)
train = dataset["train"].with_format("numpy")
print(train[0]["ids"][:10], train[0]["targets"])
