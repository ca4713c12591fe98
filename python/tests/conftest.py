"""Shared fixtures: the course's reference data (``../shared/data`` beside the checkout, or
``$MLPREP_SHARED_DATA``), which must be present: a missing file fails the run, it never skips."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


def shared_data() -> Path:
    directory = Path(os.environ.get("MLPREP_SHARED_DATA", REPOSITORY.parent / "shared" / "data"))
    for name in ["dataset.csv", "scibert_scivocab_uncased.vocab.txt", "golden/dataset_clean_tokens.jsonl",
                 "golden/tricky_texts.jsonl", "golden/split_summary.json"]:
        if not (directory / name).is_file():
            raise FileNotFoundError(
                f"reference data missing: {directory / name} (set MLPREP_SHARED_DATA to the directory holding "
                "dataset.csv and golden/)"
            )
    return directory


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def data() -> Path:
    return shared_data()


@pytest.fixture(scope="session")
def dataset_csv(data: Path) -> Path:
    return data / "dataset.csv"


@pytest.fixture(scope="session")
def vocab(data: Path) -> Path:
    return data / "scibert_scivocab_uncased.vocab.txt"


@pytest.fixture(scope="session")
def golden_rows(data: Path) -> list[dict]:
    return json_lines(data / "golden" / "dataset_clean_tokens.jsonl")


@pytest.fixture(scope="session")
def tricky_texts(data: Path) -> list[dict]:
    return json_lines(data / "golden" / "tricky_texts.jsonl")


@pytest.fixture(scope="session")
def mlprep_binary() -> Path:
    """The ``mlprep`` binary of the same build (``$MLPREP_BINARY``, or the debug build in the target dir)."""
    binary = os.environ.get("MLPREP_BINARY")
    if binary is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPOSITORY / "target"))
        binary = str(target / "debug" / "mlprep")
    if not Path(binary).is_file():
        raise FileNotFoundError(f"the mlprep binary is missing at {binary}: build it, or set MLPREP_BINARY")
    return Path(binary)


@pytest.fixture
def moto_endpoint(monkeypatch) -> str:
    """An S3-compatible server (``moto_server``, or ``$MLPREP_MOTO_SERVER``) on a free 127.0.0.1 port, with a
    bucket ``bkt``; mlprep reaches it through the AWS variables set here. Stopped by PID afterwards."""
    import socket
    import subprocess
    import time
    import urllib.error
    import urllib.request

    program = os.environ.get("MLPREP_MOTO_SERVER", "moto_server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    try:
        server = subprocess.Popen(
            [program, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"cannot start {program}: install it with pip install 'moto[server]', or set MLPREP_MOTO_SERVER"
        ) from error
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bkt", method="PUT"), timeout=5)
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, f"{program} exited at start-up"
                assert time.monotonic() < deadline, f"{program} did not answer on port {port} in 60 s"
                time.sleep(0.1)
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        yield endpoint
    finally:
        server.kill()
        server.wait()
