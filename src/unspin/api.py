"""The public Python surface of unspin: scan, restore, spin, train, trace and dedup.

The CLI and the HTTP API are thin shells over these functions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from unspin.detect.model import SpinModel, load_model
from unspin.detect.scan import scan_text
from unspin.spin import spin
from unspin.types import Document, ScanResult

if TYPE_CHECKING:
    from unspin.trace.index import Index, TraceResult

__all__ = [
    "scan", "scan_documents", "restore", "spin", "train", "load_model", "SpinModel",
    "trace", "dedup", "Index",
]  # fmt: skip


def scan(
    text: str,
    *,
    doc_id: str = "doc",
    fast: bool = False,
    model: str | SpinModel | None = None,
    index: str | os.PathLike[str] | Index | None = None,
) -> ScanResult:
    """Detect spinning in one text: P(spun), flagged spans with suggestions, restored text.

    `fast` skips the encoder and the trigram LM (bigram counts only); `model` is a path or a
    loaded model (default: the one shipped in the package). With `index` (a path or an open
    `Index`), a source found there decides flags and restoration (`evidence="source"`); the
    model is the fallback when none is.
    """
    _check_text(text)
    if index is not None:
        found = _from_source(text, doc_id, _open_index(index))
        if found is not None:
            return found
    return scan_text(text, doc_id, fast=fast, model=_resolve(model))


def scan_documents(
    documents: Iterable[Document],
    *,
    fast: bool = False,
    model: str | SpinModel | None = None,
    index: str | os.PathLike[str] | Index | None = None,
    workers: int = 1,
) -> Iterator[ScanResult]:
    """Scan a stream of documents lazily, one result per document, in input order.

    `workers` > 1 scans in that many processes (each loads the model once; the stream is read
    a few chunks ahead, never whole); the results are the same as with one.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    resolved = _resolve(model)
    opened = _open_index(index) if index is not None else None
    if workers > 1:
        from unspin.engines.scan import scan_in_workers

        path = None if opened is None else str(opened.path)
        return scan_in_workers(
            documents, workers=workers, fast=fast, model=resolved, index_path=path
        )
    return _scan_stream(documents, fast, resolved, opened)


def _check_text(text: object) -> None:
    """A text to scan is a str: say so, rather than fail somewhere inside the scan."""
    if not isinstance(text, str):
        hint = " (decode bytes first, e.g. data.decode('utf-8'))" if isinstance(text, bytes) else ""
        raise TypeError(f"text must be a str, got {type(text).__name__}{hint}")


def _scan_stream(
    documents: Iterable[Document], fast: bool, model: SpinModel, index: Index | None
) -> Iterator[ScanResult]:
    for doc in documents:
        found = _from_source(doc.text, doc.id, index) if index is not None else None
        yield found or scan_text(doc.text, doc.id, fast=fast, model=model)


def restore(
    text: str,
    *,
    fast: bool = False,
    model: str | SpinModel | None = None,
    index: str | os.PathLike[str] | Index | None = None,
) -> str:
    """The text with confident swaps replaced by their likely originals; clean text unchanged."""
    return scan(text, fast=fast, model=model, index=index).restored


def trace(
    text: str, *, index: str | os.PathLike[str] | Index, doc_id: str = "doc", limit: int = 5
) -> TraceResult:
    """The likely sources of `text` in a source index, best first, with aligned substitutions.

    `.to_dict()` gives the trace contract: `{"id", "matches": [{"source_id", "similarity",
    "spin_ratio", "substitutions": [{"start", "end", "text", "source_text"}]}]}`.
    """
    _check_text(text)
    return _open_index(index).trace(text, doc_id=doc_id, limit=limit)


def dedup(
    corpus: list[str] | str,
    output: str,
    *,
    engine: str = "local",
    spark_master: str | None = None,
    spark_partitions: int | None = None,
    **kwargs,
) -> dict:
    """Cluster exact, near and spun copies of a corpus into `output` (JSONL); returns counts.

    Keyword arguments are `unspin.engines.local.DedupConfig` fields (workers, restore, ...).
    `engine="spark"` runs the same job on Apache Spark (same output; needs pyspark), on
    `spark_master` (default: local[*], or the active session's).
    """
    from dataclasses import asdict

    from unspin.engines.local import DedupConfig, run_dedup
    from unspin.io.results import check_output

    if isinstance(corpus, str | os.PathLike):
        corpus = [os.fspath(corpus)]  # one path, not its characters
    config = DedupConfig(**kwargs)
    check_output(output, corpus)
    if engine == "spark":
        from unspin.engines.spark import SparkSettings, run_spark_dedup

        settings = SparkSettings(master=spark_master, partitions=spark_partitions)
        return asdict(run_spark_dedup(corpus, output, config, settings))
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r}: local or spark")
    return asdict(run_dedup(corpus, output, config))


def __getattr__(name: str):  # noqa: ANN202 - lazy export, keeps `import unspin.api` light
    if name == "Index":
        from unspin.trace.index import Index

        return Index
    raise AttributeError(name)


def _open_index(index: str | os.PathLike[str] | Index) -> Index:
    from unspin.trace.index import Index

    return index if isinstance(index, Index) else Index(index)


def _from_source(text: str, doc_id: str, index: Index) -> ScanResult | None:
    from unspin.trace.restore import source_restore

    return source_restore(text, index, doc_id=doc_id)


def train(corpus: list[str], out: str, **kwargs) -> dict:
    """Train a detector on clean JSONL corpora (self-supervised) and save it; returns a report."""
    from unspin.detect.train import train as _train

    return _train(corpus, out, **kwargs)


def _resolve(model: str | SpinModel | None) -> SpinModel:
    if isinstance(model, SpinModel):
        return model
    return load_model(model)
