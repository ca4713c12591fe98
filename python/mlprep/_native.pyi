"""Type stubs of mlprep's extension module (``python/src/lib.rs``); use the functions of ``mlprep`` instead."""

from typing import Any

class MlprepError(Exception):
    """A run of mlprep failed; the message is mlprep's."""

class ScalarFunction:
    """One of mlprep's SQL functions, for ``datafusion.udf(...)``."""

    @property
    def name(self) -> str: ...
    def __datafusion_scalar_udf__(self) -> object: ...

def functions() -> list[ScalarFunction]: ...
def datafusion_version() -> str: ...
def version() -> str: ...
def prepare_defaults() -> dict[str, Any]: ...
def prepare(
    data: str,
    vocab: str,
    out: str,
    seed: int,
    test_size: float | None,
    splits: str | None,
    folds: int | None,
    group: str | None,
    stratify: str,
    key: str,
    max_length: int | None,
    pad_token: str | None,
    padding: str,
    column_names: str,
    partitions: int | None,
    memory_limit: str | None,
    on_bad_rows: str,
    classes: str | None,
    dedupe: bool,
    overwrite: bool,
    cluster: str | None,
) -> str: ...
def sql(query: str, params: dict[str, Any]) -> bytes: ...
def download_output(out: str, dir: str) -> int: ...
