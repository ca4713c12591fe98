"""mlprep's functions in datafusion-python through the FFI, against the golden files."""

from __future__ import annotations

import datafusion
import pyarrow as pa
import pytest

import mlprep


def test_register_gives_the_golden_text_and_ids_for_every_course_row(dataset_csv, vocab, golden_rows):
    ctx = datafusion.SessionContext()
    mlprep.register(ctx)
    ctx.sql(
        "CREATE EXTERNAL TABLE projects (id BIGINT, created_on VARCHAR, title VARCHAR, description VARCHAR, "
        f"tag VARCHAR) STORED AS CSV LOCATION '{dataset_csv}' "
        "OPTIONS ('format.has_header' 'true', 'format.newlines_in_values' 'true')"
    )
    table = ctx.sql(
        "SELECT id, clean_text(title || ' ' || description) AS text, "
        f"tokenize(clean_text(title || ' ' || description), '{vocab}')['ids'] AS ids "
        "FROM projects ORDER BY id"
    ).to_arrow_table()
    assert pa.types.is_list(table.column("ids").type) and table.column("ids").type.value_type == pa.int64()
    rows = table.to_pylist()
    assert len(rows) == len(golden_rows) == 764
    for row, golden in zip(rows, golden_rows):
        assert row["id"] == golden["id"]
        assert row["text"] == golden["text_clean"], f"clean_text of id {golden['id']}"
        assert row["ids"] == golden["ids"], f"ids of id {golden['id']}"


def test_every_tricky_input_cleans_and_tokenizes_as_the_golden_file_says(vocab, tricky_texts):
    ctx = datafusion.SessionContext()
    mlprep.register(ctx)
    batch = pa.record_batch({"input": [case["input"] for case in tricky_texts]})
    ctx.register_record_batches("tricky", [[batch]])
    rows = ctx.sql(
        f"SELECT clean_text(input) AS text, tokenize(clean_text(input), '{vocab}')['ids'] AS ids, "
        f"token_count(clean_text(input), '{vocab}') AS tokens FROM tricky"
    ).to_pylist()
    for row, case in zip(rows, tricky_texts, strict=True):
        assert row["text"] == case["text_clean"], case["name"]
        assert row["ids"] == case["ids"], case["name"]
        assert row["tokens"] == len(case["ids"]), case["name"]


def test_the_five_functions_are_registered_with_their_names():
    ctx = datafusion.SessionContext()
    mlprep.register(ctx)
    row = ctx.sql(
        "SELECT pad_tokens([102, 7, 103], 5, 0)['ids'] AS ids, seeded_hash(1234, 6) = seeded_hash(1234, 6) AS same"
    ).to_pylist()[0]
    assert row == {"ids": [102, 7, 103, 0, 0], "same": True}
    assert sorted(function.name for function in mlprep._native.functions()) == [
        "clean_text", "pad_tokens", "seeded_hash", "token_count", "tokenize",
    ]


def test_another_datafusion_major_is_refused_before_the_ffi(monkeypatch):
    built = mlprep._native.datafusion_version()
    other = f"{int(built.split('.')[0]) + 1}.0.0"
    monkeypatch.setattr(datafusion, "__version__", other)
    touched = []
    monkeypatch.setattr(mlprep._native, "functions", lambda: touched.append(True) or [])
    with pytest.raises(RuntimeError) as raised:
        mlprep.register(datafusion.SessionContext())
    message = str(raised.value)
    assert f"DataFusion {built}" in message and f"datafusion-python {other} is installed" in message
    assert not touched, "no capsule may be made for another major"
