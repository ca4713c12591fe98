"""prepare() and load() with a store: the output written to and read back from ``s3://``."""

from __future__ import annotations

import pytest

import mlprep


def test_load_reads_a_store_output_as_the_local_one(tmp_path, dataset_csv, vocab, moto_endpoint):
    local = mlprep.prepare(dataset_csv, vocab, tmp_path / "local")
    stored = mlprep.prepare(dataset_csv, vocab, "s3://bkt/prepared")
    assert stored["splits"] == local["splits"]

    from_store = mlprep.load("s3://bkt/prepared")
    from_directory = mlprep.load(tmp_path / "local")
    for split in ("train", "validation"):
        assert from_store[split].to_dict() == from_directory[split].to_dict()
        assert from_store[split].num_rows > 0


def test_load_refuses_a_prefix_without_summary(moto_endpoint):
    with pytest.raises(mlprep.MlprepError, match=r"s3://bkt/nothing is not a complete mlprep output"):
        mlprep.load("s3://bkt/nothing")
