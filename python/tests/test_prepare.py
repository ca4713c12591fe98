"""``mlprep.prepare``, ``mlprep.sql`` and ``mlprep.load`` against the CLI and the golden files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mlprep


def files(out: Path) -> dict[str, bytes]:
    """Every file of an output by name, ``summary.json`` without the input's path."""
    result = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "summary.json":
                summary = json.loads(data)
                summary.pop("input")
                data = json.dumps(summary, sort_keys=True).encode()
            result[str(path.relative_to(out))] = data
    return result


def test_prepare_writes_the_clis_files_and_returns_the_summary(tmp_path, dataset_csv, vocab, mlprep_binary):
    cli = tmp_path / "cli"
    subprocess.run(
        [mlprep_binary, "prepare", "--data", dataset_csv, "--vocab", vocab, "--out", cli], check=True,
        capture_output=True,
    )
    out = tmp_path / "python"
    summary = mlprep.prepare(dataset_csv, vocab, out, partitions=2)
    assert files(out) == files(cli)
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["splits"]["train"]["rows"] == 610 and summary["splits"]["val"]["rows"] == 154


def test_bad_input_raises_with_the_clis_message(tmp_path, dataset_csv, vocab, mlprep_binary):
    bad = tmp_path / "bad.csv"
    lines = dataset_csv.read_text(encoding="utf-8").split("\n")
    bad.write_text("\n".join(lines[:1] + ["999,2020-01-01,a title,no tag"] + lines[1:]), encoding="utf-8")
    cli = subprocess.run(
        [mlprep_binary, "prepare", "--data", bad, "--vocab", vocab, "--out", tmp_path / "cli"],
        capture_output=True, text=True,
    )
    assert cli.returncode == 1
    message = cli.stderr.strip().removeprefix("error: ")
    with pytest.raises(mlprep.MlprepError) as raised:
        mlprep.prepare(bad, vocab, tmp_path / "python")
    assert str(raised.value) == message
    assert "line 2" in message
    assert not (tmp_path / "python").exists()
    with pytest.raises(ValueError, match="on_bad_rows"):
        mlprep.prepare(bad, vocab, tmp_path / "python", on_bad_rows="ignore")


def test_keyboard_interrupt_leaves_no_staging_directory(tmp_path, mlprep_binary):
    # A run long enough to be interrupted: synthetic data written by the CLI's generator.
    data = tmp_path / "big.csv"
    script = textwrap.dedent(
        f"""
        import mlprep, sys
        print("started", flush=True)
        try:
            mlprep.prepare({str(data)!r}, {str(tmp_path / 'vocab.txt')!r}, {str(tmp_path / 'out')!r}, partitions=1)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        print("finished", flush=True)
        """
    )
    subprocess.run(
        [mlprep_binary, "generate", "--rows", "200000", "--out", data, "--vocab-out", tmp_path / "vocab.txt"],
        check=True, capture_output=True,
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    # Let it reach the pipeline, then Ctrl-C.
    import time

    deadline = time.monotonic() + 60
    while not any(tmp_path.glob("out.tmp-*")):
        assert child.poll() is None and time.monotonic() < deadline, "prepare ended or never staged"
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    rest = child.communicate(timeout=120)[0]
    assert child.returncode == 3, rest
    assert "interrupted" in rest
    assert not any(tmp_path.glob("out.tmp-*")), list(tmp_path.iterdir())
    assert not (tmp_path / "out").exists()


def test_keyboard_interrupt_stops_a_query():
    # Far more rows than the test waits for: only Ctrl-C ends it early.
    script = textwrap.dedent(
        """
        import mlprep, sys
        print("started", flush=True)
        try:
            mlprep.sql("SELECT sum(value) FROM range(100000000000)")
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
        print("finished", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "started"
    import time

    time.sleep(1)
    assert child.poll() is None, "the query ended before Ctrl-C"
    child.send_signal(signal.SIGINT)
    rest = child.communicate(timeout=60)[0]
    assert child.returncode == 3, rest
    assert rest.strip() == "interrupted"


def test_sql_returns_a_table_with_parameters(dataset_csv, golden_rows):
    register = (Path(__file__).resolve().parents[2] / "sql" / "01_register.sql").read_text()
    table = mlprep.sql(
        register + ";\nSELECT id, clean_text(title || ' ' || description) AS text FROM projects "
        "WHERE id < ${below} ORDER BY id",
        data=dataset_csv,
        below=100,
    )
    expected = [{"id": row["id"], "text": row["text_clean"]} for row in golden_rows if row["id"] < 100]
    assert table.to_pylist() == expected
    with pytest.raises(mlprep.MlprepError, match="parameter `missing` has no value"):
        mlprep.sql("SELECT ${missing}")


def test_load_gives_the_golden_ids_and_targets(tmp_path, dataset_csv, vocab, golden_rows):
    out = tmp_path / "prepared"
    summary = mlprep.prepare(dataset_csv, vocab, out)
    dataset = mlprep.load(out)
    assert set(dataset) == {"train", "validation"}
    assert (len(dataset["train"]), len(dataset["validation"])) == (610, 154)
    golden = {row["id"]: row for row in golden_rows}
    classes = summary["class_to_index"]
    # The splits do not carry the ids; each row's unpadded ids and target must be a golden row's, once each.
    seen = set()
    for split in ("train", "validation"):
        for row in dataset[split]:
            length = sum(row["masks"])
            ids = row["ids"][:length]
            assert all(id == 0 for id in row["ids"][length:])
            matches = [key for key, candidate in golden.items() if candidate["ids"] == ids and key not in seen]
            assert matches, f"a {split} row matches no golden row"
            seen.add(matches[0])
            assert row["targets"] == classes[golden[matches[0]]["tag"]]
    assert len(seen) == 764


def test_the_notebook_example_runs(dataset_csv, vocab):
    example = Path(__file__).resolve().parents[2] / "examples" / "notebook.py"
    result = subprocess.run([sys.executable, example, dataset_csv, vocab], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "train 610 val 154" in result.stdout
    assert "'text': 'transformer attention need'" in result.stdout


def test_splits_and_folds_match_the_cli_and_load_by_name(tmp_path, dataset_csv, vocab, mlprep_binary):
    cli = tmp_path / "cli"
    subprocess.run(
        [mlprep_binary, "prepare", "--data", dataset_csv, "--vocab", vocab, "--out", cli,
         "--splits", "train=0.8,val=0.1,test=0.1", "--folds", "3", "--group", "created_on"],
        check=True, capture_output=True,
    )
    out = tmp_path / "python"
    summary = mlprep.prepare(
        dataset_csv, vocab, out, splits={"train": 0.8, "val": 0.1, "test": 0.1}, folds=3, group="created_on"
    )
    assert files(out) == files(cli)
    assert summary["group"] == "created_on"
    # created_on is unique in the course data: each group is a row, so the shares are exact, ceil(0.1 * n) per
    # class to val and to test: 29 + 7 + 31 + 11.
    assert summary["splits"]["test"]["rows"] == 78 and summary["splits"]["val"]["rows"] == 78
    dataset = mlprep.load(out)
    assert set(dataset) == {"train", "validation", "test"}
    assert len(dataset["test"]) == 78 and len(dataset["train"]) == 764 - 2 * 78
    assert sorted(set(dataset["train"]["fold"])) == [0, 1, 2]
    mlprep.prepare(dataset_csv, vocab, tmp_path / "hf", padding="none", column_names="hf")
    hf = mlprep.load(tmp_path / "hf")["validation"]
    assert hf.column_names == ["id", "tag", "text", "input_ids", "labels"]
    assert all(ids[-1] == 103 and ids[0] == 102 for ids in hf["input_ids"])  # [CLS] ... [SEP], no [PAD]
    with pytest.raises(ValueError, match="padding"):
        mlprep.prepare(dataset_csv, vocab, tmp_path / "refused", padding="longest")
    with pytest.raises(ValueError, match="not both"):
        mlprep.prepare(dataset_csv, vocab, tmp_path / "refused", test_size=0.1, splits="train=0.9,test=0.1")
    assert not (tmp_path / "refused").exists()
