"""mlprep from Python.

- :func:`register` adds mlprep's SQL functions (``clean_text``, ``tokenize``, ``token_count``, ``pad_tokens``,
  ``seeded_hash``) to a ``datafusion.SessionContext`` (datafusion-python 55);
- :func:`prepare` runs the pipeline of ``mlprep prepare`` (same output bytes) and returns its summary;
- :func:`sql` runs SQL with mlprep's functions and returns a ``pyarrow.Table``;
- :func:`load` opens a prepared directory as a ``datasets.DatasetDict`` (``train``, ``validation``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Union

import pyarrow as pa
import pyarrow.ipc

from . import _native
from ._native import MlprepError

if TYPE_CHECKING:
    import datafusion
    import datasets

__all__ = ["MlprepError", "__version__", "load", "prepare", "register", "sql"]

__version__: str = _native.version()

_DEFAULTS = _native.prepare_defaults()

StrPath = Union[str, "os.PathLike[str]"]


def _major(version: str) -> str:
    return version.split(".", 1)[0]


def _check_datafusion_version(installed: str | None = None) -> None:
    """Raise ``RuntimeError`` unless the installed datafusion-python has the major mlprep was built for.

    The FFI structures differ between DataFusion majors, and datafusion-python does not check them: a mismatch
    would crash the interpreter instead of raising.
    """
    if installed is None:
        import datafusion

        installed = datafusion.__version__
    built = _native.datafusion_version()
    if _major(installed) != _major(built):
        raise RuntimeError(
            f"mlprep {__version__} was built for DataFusion {built} (datafusion-python {_major(built)}.x), but "
            f"datafusion-python {installed} is installed: install datafusion>={_major(built)},"
            f"<{int(_major(built)) + 1}, or an mlprep built for DataFusion {_major(installed)}"
        )


def register(ctx: datafusion.SessionContext) -> None:
    """Register mlprep's five SQL functions in ``ctx``, a ``datafusion.SessionContext``.

    Raises ``RuntimeError`` naming both versions, before anything crosses the FFI, when the installed
    datafusion-python is not of the DataFusion major mlprep was built for.
    """
    _check_datafusion_version()
    from datafusion import udf

    for function in _native.functions():
        ctx.register_udf(udf(function))


def prepare(
    data: StrPath,
    vocab: StrPath,
    out: StrPath,
    *,
    seed: int = _DEFAULTS["seed"],
    test_size: float | None = None,
    splits: str | Mapping[str, float] | None = None,
    folds: int | None = None,
    group: str | None = None,
    stratify: str = _DEFAULTS["stratify"],
    key: str = _DEFAULTS["key"],
    max_length: int | None = None,
    pad_token: str | None = None,
    padding: Literal["split", "max-length", "none"] = "split",
    column_names: Literal["course", "hf"] = "course",
    partitions: int | None = None,
    memory_limit: int | str | None = None,
    on_bad_rows: Literal["fail", "skip"] = _DEFAULTS["on_bad_rows"],
    classes: StrPath | None = None,
    dedupe: bool = False,
    overwrite: bool = False,
    cluster: str | None = None,
) -> dict[str, Any]:
    """Prepare ``data`` into ``out`` exactly as ``mlprep prepare`` does, and return ``summary.json`` as a dict.

    Args:
        data: the input: a CSV, Parquet or JSON Lines file (plain or compressed), a directory of them, or an
            ``s3://`` object or prefix.
        vocab: a BERT ``vocab.txt`` or a Hugging Face ``tokenizer.json`` (path or ``s3://`` URL).
        out: the output directory (or ``s3://`` prefix); written only when complete.
        seed: the shuffle seed.
        test_size: the validation share of each class (``val``; default 0.2, or none with ``folds`` alone).
        splits: named splits instead of ``train`` and ``val``: ``{"train": 0.8, "val": 0.1, "test": 0.1}`` or
            ``"train=0.8,val=0.1,test=0.1"``; the first takes the rest of each class, the others in turn
            ``ceil(share * rows)`` of it.
        folds: stratified folds of the training split (a ``fold`` column, 0..folds-1).
        group: a column whose rows must stay together: every row of a group goes to one split and fold.
        stratify: the class column.
        key: the column identifying a row.
        max_length: truncate and pad to this many tokens (default: each split's longest row).
        pad_token: the token rows are padded with, in place of the tokenizer's own (its padding settings,
            ``[PAD]`` or ``<pad>``).
        padding: ``"split"`` (each split to its longest row, or ``max_length``), ``"max-length"`` (every split
            to one length: ``max_length`` or the longest row of all) or ``"none"`` (unpadded ids, no masks: pad
            at batch time, e.g. with ``DataCollatorWithPadding``).
        column_names: ``"course"`` (``ids``, ``masks``, ``targets``) or ``"hf"`` (``input_ids``,
            ``attention_mask``, ``labels``).
        partitions: threads and partitions (default: one per core).
        memory_limit: bytes (or ``"2G"``) the engine may hold before it spills.
        on_bad_rows: ``"fail"`` (raise, naming the rows) or ``"skip"`` (list them in ``rejected.csv``).
        classes: an earlier run's ``class_to_index.json``, to keep its targets.
        dedupe: leave out rows whose cleaned text a row with a smaller key has.
        overwrite: replace an earlier mlprep output at ``out``.
        cluster: ``None`` (this process), ``"standalone"`` or a Ballista scheduler ``"df://HOST:PORT"``.

    The interpreter is free while the run works. Ctrl-C stops it and raises ``KeyboardInterrupt`` once what it
    wrote is removed; a failed run raises :class:`MlprepError` with mlprep's message.
    """
    if isinstance(memory_limit, int):
        memory_limit = str(memory_limit)
    summary = _native.prepare(
        os.fspath(data),
        os.fspath(vocab),
        os.fspath(out),
        seed,
        None if test_size is None else float(test_size),
        splits if splits is None or isinstance(splits, str) else ",".join(f"{k}={v!r}" for k, v in splits.items()),
        folds,
        group,
        stratify,
        key,
        max_length,
        pad_token,
        padding,
        column_names,
        partitions,
        memory_limit,
        on_bad_rows,
        None if classes is None else os.fspath(classes),
        dedupe,
        overwrite,
        cluster,
    )
    return json.loads(summary)


def sql(query: str, **params: str | int | float | bool | os.PathLike[str]) -> pa.Table:
    """Run ``query`` (one or more statements) with mlprep's functions and return the last one's result.

    ``${name}`` in the query is replaced by ``params[name]``: text and paths as written (inside quotes in the
    query: ``LOCATION '${data}'``), numbers and booleans as SQL literals. The scripts in ``sql/`` run too.
    """
    stream = _native.sql(query, params)
    return pyarrow.ipc.open_stream(stream).read_all()


def load(out: StrPath) -> datasets.DatasetDict:
    """Open a prepared directory (or ``s3://`` prefix) as a ``datasets.DatasetDict``: ``train`` and
    ``validation`` (mlprep's ``val``), or the splits of ``splits=...``, by their names.

    The rows keep their order (each split in shuffle order), so ``load(out)["train"].set_format("torch")``
    feeds a ``DataLoader``. Needs the ``datasets`` package (``pip install 'mlprep[datasets]'``).
    """
    try:
        import datasets
    except ImportError as error:
        raise ImportError(
            "mlprep.load needs the datasets package: pip install datasets (or 'mlprep[datasets]')"
        ) from error
    if "://" in os.fspath(out) and not os.fspath(out).startswith("file://"):
        # A store's output is copied to a scratch directory; the datasets are built into datasets' cache from
        # it, so the copy is not needed afterwards.
        with tempfile.TemporaryDirectory(prefix="mlprep-load-") as scratch:
            _native.download_output(os.fspath(out), scratch)
            return _load_directory(Path(scratch))
    return _load_directory(Path(os.fspath(out).removeprefix("file://")))


def _load_directory(root: Path) -> datasets.DatasetDict:
    import datasets

    summary_file = root / "summary.json"
    if not summary_file.is_file():
        raise FileNotFoundError(f"{root} is not a complete mlprep output: it has no summary.json")
    splits = json.loads(summary_file.read_text(encoding="utf-8"))["splits"]
    return datasets.DatasetDict(
        {
            _dataset_split_name(split): datasets.Dataset.from_parquet(
                [str(path) for path in sorted((root / split).glob("*.parquet"))], keep_in_memory=False
            )
            for split in splits
        }
    )


def _dataset_split_name(split: str) -> str:
    """The split's name in Hugging Face datasets, as the dataset card names it: ``validation`` for mlprep's
    ``val``; ``_`` for ``-`` (split names there are words)."""
    return "validation" if split == "val" else split.replace("-", "_")
