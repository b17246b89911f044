"""Scan a stream of documents in worker processes; results come back in input order.

One process scans a few thousand words a second; a corpus of millions of documents wants every
core. Documents go to a pool of workers in small chunks, each worker loading the model, lexicon
and language model once. Only a few chunks per worker are in flight at any time, so a multi-GB
stream never sits in memory, and results are yielded in the order the documents were read, so
output files (and `--output` resumption) are the same as with one process.

Workers are spawned, not forked: the parent may already run threads (a progress bar,
onnxruntime's pool), which a fork would copy in an unknown state.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

from unspin.types import Document, ScanResult

if TYPE_CHECKING:
    from unspin.detect.model import SpinModel
    from unspin.trace.index import Index

# Documents per job: large enough that sending them costs little next to scanning them (a
# paragraph takes milliseconds), small enough that results keep flowing.
CHUNK_DOCS = 16
# Jobs in flight per worker: one running, one queued, so no worker waits for the next.
INFLIGHT_PER_WORKER = 2

# Allocations between the collector's youngest-generation passes in a batch (Python's own
# default is 700). See `tune_gc_for_batch`.
BATCH_GC_THRESHOLD = 10_000

_state: dict[str, Any] = {}


def tune_gc_for_batch() -> None:
    """Let the cycle collector run less often in a process that only scans (the CLI, a scan
    worker): a scan frees its objects by reference counting, yet every few hundred allocations
    the collector walks the young objects, and every so often all of them, including the
    hundreds of thousands of cached thesaurus candidates; on 1,000 paragraphs that took 0.6 s
    of a 7.7 s `--fast` run and 1.4 s of a 29 s default one. Process-wide, so the library API
    never calls it; results do not change."""
    gc.set_threshold(BATCH_GC_THRESHOLD, *gc.get_threshold()[1:])


def scan_in_workers(
    documents: Iterable[Document],
    *,
    workers: int,
    fast: bool,
    model: SpinModel,
    index_path: str | None = None,
    chunk_docs: int = CHUNK_DOCS,
) -> Iterator[ScanResult]:
    """Scan `documents` in `workers` processes; one result per document, in input order.

    `model` is sent to each worker once; `index_path`, if given, is opened by each worker (a
    source found there decides flags and restoration, as in `unspin.api.scan`).
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if chunk_docs < 1:
        raise ValueError(f"chunk_docs must be at least 1, got {chunk_docs}")
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(model, index_path),
    )
    inflight: deque[Future[list[ScanResult]]] = deque()
    failed: Exception | None = None
    try:
        try:
            for chunk in _chunks(documents, chunk_docs):
                inflight.append(pool.submit(_scan_chunk, chunk, fast))
                while len(inflight) >= INFLIGHT_PER_WORKER * workers:
                    yield from inflight.popleft().result()
        except Exception as exc:
            # The input failed (a malformed record, say): the documents read before it still
            # get their results, as they would in one process, then the error goes on.
            failed = exc
        while inflight:
            yield from inflight.popleft().result()
        if failed is not None:
            raise failed
    finally:
        # Also when the consumer stops early or a worker fails: drop what is queued.
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[tuple[str, str]]]:
    """(id, text) pairs in lists of `size`: all a worker needs of a document."""
    chunk: list[tuple[str, str]] = []
    try:
        for doc in documents:
            chunk.append((doc.id, doc.text))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    except Exception:
        if chunk:  # the documents read before the input failed are still scanned
            yield chunk
        raise
    if chunk:
        yield chunk


def _init_worker(model: SpinModel, index_path: str | None) -> None:
    """Keep the model (and open the index) once per worker. Its encoder runs on one thread
    (`unspin.context.encoder.get_encoder` sees it is a pool worker)."""
    tune_gc_for_batch()
    _state["model"] = model
    _state["index"] = _open(index_path) if index_path is not None else None


def _open(path: str) -> Index:
    from unspin.trace.index import Index

    return Index(path)


def _scan_chunk(chunk: list[tuple[str, str]], fast: bool) -> list[ScanResult]:
    from unspin.api import scan

    model, index = _state["model"], _state["index"]
    return [scan(text, doc_id=i, fast=fast, model=model, index=index) for i, text in chunk]
