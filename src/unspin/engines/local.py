"""The local dedup engine: worker processes and checkpointed partitions on one machine.

`run_dedup(paths, output)` groups exact, near and spun copies of a corpus and writes one JSON
line per document (design.md §3). Stages, each checkpointed under a work dir next to the output
(`<output>.work/`), every file written atomically (temporary name, then rename):

1. partitions — documents are numbered by input position and cut into fixed-size partitions;
   a worker fingerprints a partition (`unspin.trace.fingerprint`) and writes its ids, dates,
   LSH band keys and compressed texts as `part-NNNNNN/`. A rerun skips finished partitions
   (it reads past their documents without fingerprinting them), so no document is lost or
   counted twice.
2. candidates — pairs of documents sharing a band key or the exact-copy key (sorted bucket
   neighbours, so a bucket of thousands costs linear work), `candidates.npy`.
3. verify — chunks of candidate pairs aligned word by word in workers (`unspin.trace.align`):
   similarity, spin ratios and which side reads more naturally, `verify-NNNNNN.npy`.
4. clusters — union-find over pairs with similarity >= `min_similarity`, the likely source of
   each cluster (earliest date, else least spun), copies aligned against their source
   (`links-NNNNNN.npy`), and, with `restore`, consensus restorations of spun copies.

The output is written last, atomically; it depends only on the input and the settings. The work
dir is removed after success unless `keep_work`.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from unspin.engines.common import (
    SPUN_MIN,
    VERIFY_COLUMNS,
    DedupConfig,
    DedupStats,
    Progress,
    bucket_pairs,
    document_row,
    input_manifest,
    verify_pair,
    work_dir_for,
)
from unspin.io.results import atomic_text
from unspin.trace.fingerprint import (
    FingerprintParams,
    default_canonicalizer,
    fingerprint,
    normalized_words,
)
from unspin.trace.index import document_date
from unspin.types import Document

# Settings, counts and the pure pieces both engines share live in `unspin.engines.common`;
# they are re-exported here, where callers have always found them.
__all__ = [
    "SPUN_MIN",
    "DedupConfig",
    "DedupStats",
    "Progress",
    "bucket_pairs",
    "run_dedup",
    "work_dir_for",
]

ENGINE_VERSION = "1"
_VERIFY_COLUMNS = VERIFY_COLUMNS


# --------------------------------------------------------------------------- files


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _manifest(paths: Sequence[str], config: DedupConfig) -> dict[str, Any]:
    return input_manifest(paths, config, ENGINE_VERSION)


def _prepare_work_dir(work: Path, manifest: dict[str, Any]) -> bool:
    """Create or reuse the work dir; True when checkpoints of this very job are reused."""
    path = work / "manifest.json"
    if path.exists():
        try:
            if json.loads(path.read_text()) == manifest:
                return True
        except (OSError, ValueError):
            pass
        shutil.rmtree(work)  # another job's (or a broken) checkpoints: start over
    work.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(path, json.dumps(manifest, indent=1).encode())
    return False


# --------------------------------------------------------------------------- stage 1


def _partition_dir(work: Path, k: int) -> Path:
    return work / f"part-{k:06d}"


def fingerprint_partition(
    work: str, k: int, ids: list[str], dates: list[str | None], texts: list[str],
    params: FingerprintParams,
) -> int:  # fmt: skip
    """Worker: fingerprint one partition and write it as `part-k/` atomically; returns its size."""
    canon = default_canonicalizer()
    fps = [fingerprint(t, canon, params) for t in texts]
    bands = np.full((len(texts), params.bands), 0, dtype=np.int64)
    has_bands = np.zeros(len(texts), dtype=bool)
    for i, fp in enumerate(fps):
        if len(fp.bands):
            bands[i] = fp.bands
            has_bands[i] = True
    blobs = [zlib.compress(t.encode("utf-8"), 1) for t in texts]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    final = _partition_dir(Path(work), k)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    np.save(tmp / "bands.npy", bands)
    np.save(tmp / "has_bands.npy", has_bands)
    np.save(tmp / "exact.npy", np.array([fp.exact for fp in fps], dtype=np.int64))
    np.save(tmp / "offsets.npy", offsets)
    with open(tmp / "texts.bin", "wb") as fh:
        for b in blobs:
            fh.write(b)
    (tmp / "docs.json").write_text(json.dumps({"ids": ids, "dates": dates}))
    try:
        os.rename(tmp, final)  # atomic; fails if another worker finished it meanwhile
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return len(texts)


def _chunks(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(workers: int) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


class _Runner:
    """Runs jobs in a process pool (or inline), a bounded number in flight."""

    def __init__(self, workers: int) -> None:
        self.pool = _pool(workers)
        self.limit = max(1, workers) + 1
        self.inflight: list[Future[Any]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """Run fn(*args); returns the results of jobs finished meanwhile, in submission order."""
        if self.pool is None:
            return [fn(*args)]
        self.inflight.append(self.pool.submit(fn, *args))
        done = []
        while len(self.inflight) >= self.limit:
            done.append(self.inflight.pop(0).result())
        return done

    def drain(self) -> list[Any]:
        """Wait for every job in flight; their results in submission order."""
        done = [f.result() for f in self.inflight]
        self.inflight = []
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


# --------------------------------------------------------------------------- stage 3


class _TextStore:
    """Random access to the texts (and exact keys) of all partitions of a work dir."""

    def __init__(self, work: Path, starts: np.ndarray) -> None:
        self.work = work
        self.starts = starts
        self.offsets: dict[int, np.ndarray] = {}
        self.exacts: dict[int, np.ndarray] = {}
        self.recent: dict[int, str] = {}  # the same texts recur in neighbouring pairs
        self.recent_words: dict[int, list[str]] = {}

    def _part(self, n: int) -> tuple[int, int]:
        k = int(np.searchsorted(self.starts, n, side="right") - 1)
        return k, n - int(self.starts[k])

    def exact(self, n: int) -> int:
        k, row = self._part(n)
        exacts = self.exacts.get(k)
        if exacts is None:
            exacts = self.exacts[k] = np.load(_partition_dir(self.work, k) / "exact.npy")
        return int(exacts[row])

    def words(self, n: int) -> list[str]:
        """The normalized words of document n (kept for the texts seen last)."""
        hit = self.recent_words.get(n)
        if hit is None:
            hit = normalized_words(self.text(n))
            if len(self.recent_words) >= 256:
                self.recent_words.pop(next(iter(self.recent_words)))
            self.recent_words[n] = hit
        return hit

    def text(self, n: int) -> str:
        hit = self.recent.get(n)
        if hit is None:
            hit = self._read(n)
            if len(self.recent) >= 256:
                self.recent.pop(next(iter(self.recent)))
            self.recent[n] = hit
        return hit

    def _read(self, n: int) -> str:
        k, row = self._part(n)
        offsets = self.offsets.get(k)
        part = _partition_dir(self.work, k)
        if offsets is None:
            offsets = self.offsets[k] = np.load(part / "offsets.npy")
        a, b = int(offsets[row]), int(offsets[row + 1])
        with open(part / "texts.bin", "rb") as fh:
            fh.seek(a)
            return zlib.decompress(fh.read(b - a)).decode("utf-8")


def _store(work: str, starts: tuple[int, ...]) -> _TextStore:
    """The work dir's text store, kept for the calls of one job: keyed by its manifest too,
    so that a job that started over in the same work dir (its inputs changed) in the same
    process does not read the texts of the job before."""
    manifest = (Path(work) / "manifest.json").read_bytes()
    return _cached_store(work, starts, manifest)


@lru_cache(maxsize=2)
def _cached_store(work: str, starts: tuple[int, ...], manifest: bytes) -> _TextStore:
    return _TextStore(Path(work), np.array(starts, dtype=np.int64))


def verify_pairs(
    work: str, starts: tuple[int, ...], a: np.ndarray, b: np.ndarray, path: str | None
) -> np.ndarray:
    """Worker: compare each pair word by word; rows of `_VERIFY_COLUMNS` (float64).

    `margin` > 0 means a reads more naturally (a is likelier the original). Writes the rows to
    `path` atomically when given (a checkpoint) and returns them.
    """
    from unspin.context import get_context_model

    store = _store(work, starts)
    canon = default_canonicalizer()
    context = get_context_model()
    rows = np.zeros((len(a), len(_VERIFY_COLUMNS)), dtype=np.float64)
    for k, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        rows[k] = verify_pair(
            x, y, store.words(x), store.words(y), store.exact(x), store.exact(y), canon, context
        )
    if path is not None:
        _atomic_save(Path(path), rows)
    return rows


def restore_members(
    work: str, starts: tuple[int, ...], jobs: list[tuple[int, list[int]]]
) -> list[tuple[int, str]]:
    """Worker: consensus restoration of each (member, other members) job."""
    from unspin.trace.cluster import consensus_restore

    store = _store(work, starts)
    canon = default_canonicalizer()
    out = []
    for member, others in jobs:
        restored, _ = consensus_restore(store.text(member), [store.text(o) for o in others], canon)
        out.append((member, restored))
    return out


# --------------------------------------------------------------------------- the run


def run_dedup(
    paths: Sequence[str],
    output: str | os.PathLike[str],
    config: DedupConfig | None = None,
    *,
    documents: Iterable[Document] | None = None,
    progress: Progress | None = None,
) -> DedupStats:
    """Cluster the documents of `paths` and write `output` (JSONL); see the module doc.

    `documents` overrides reading `paths` (they still identify the job for resuming).
    """
    from unspin.io.corpus import read_corpus

    config = config or DedupConfig()
    out = Path(output)
    work = work_dir_for(out)
    stats = DedupStats()
    stats.resumed = _prepare_work_dir(work, _manifest(paths, config))
    report = progress or (lambda stage, done, total: None)
    runner = _Runner(config.workers)
    try:
        docs = documents if documents is not None else read_corpus(paths)
        sizes = _stage_partitions(docs, work, config, runner, stats, report)
        starts = tuple(int(s) for s in np.concatenate([[0], np.cumsum(sizes)])[:-1])
        n = int(sum(sizes))
        stats.documents = n
        ids, dates, exact = _load_docs(work, len(sizes))
        stats.repeated_ids = len(ids) - len(set(ids))
        pairs = _stage_candidates(work, len(sizes), n, config, stats, report)
        verified = _stage_verify(work, starts, pairs, n, config, runner, stats, report, "verify")
        rows = _stage_clusters(
            work, starts, n, ids, dates, exact, verified, config, runner, stats, report
        )
        with atomic_text(out) as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        runner.close()
    if not config.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return stats


def _stage_partitions(
    docs: Iterable[Document], work: Path, config: DedupConfig, runner: _Runner,
    stats: DedupStats, report: Progress,
) -> list[int]:  # fmt: skip
    sizes: list[int] = []
    done = 0
    for k, chunk in enumerate(_chunks(docs, config.partition_size)):
        sizes.append(len(chunk))
        stats.partitions += 1
        if (_partition_dir(work, k) / "docs.json").exists():
            stats.partitions_reused += 1
            done += len(chunk)
            report("fingerprint", done, None)
            continue
        ids = [d.id for d in chunk]
        dates = [document_date(d.meta) for d in chunk]
        texts = [d.text for d in chunk]
        for size in runner.submit(
            fingerprint_partition, str(work), k, ids, dates, texts, config.params
        ):
            done += size
            report("fingerprint", done, None)
    for size in runner.drain():
        done += size
        report("fingerprint", done, None)
    return sizes


def _load_docs(work: Path, parts: int) -> tuple[list[str], list[str | None], np.ndarray]:
    ids: list[str] = []
    dates: list[str | None] = []
    exact = []
    for k in range(parts):
        part = _partition_dir(work, k)
        meta = json.loads((part / "docs.json").read_text())
        ids.extend(meta["ids"])
        dates.extend(meta["dates"])
        exact.append(np.load(part / "exact.npy"))
    return ids, dates, np.concatenate(exact) if exact else np.empty(0, dtype=np.int64)


def _stage_candidates(
    work: Path, parts: int, n: int, config: DedupConfig, stats: DedupStats, report: Progress
) -> np.ndarray:
    path = work / "candidates.npy"
    if path.exists():
        pairs = np.load(path)
    else:
        bands = [np.load(_partition_dir(work, k) / "bands.npy") for k in range(parts)]
        valid = [np.load(_partition_dir(work, k) / "has_bands.npy") for k in range(parts)]
        exact = [np.load(_partition_dir(work, k) / "exact.npy") for k in range(parts)]
        all_valid = np.concatenate(valid) if valid else np.empty(0, dtype=bool)
        nb = config.params.bands
        pairs = bucket_pairs(
            np.concatenate(exact) if exact else np.empty(0, dtype=np.int64),
            np.ones(n, dtype=bool),
            config.bucket_neighbours,
        )
        for j in range(nb):
            keys = np.concatenate([b[:, j] for b in bands]) if bands else np.empty(0, np.int64)
            pairs = np.union1d(pairs, bucket_pairs(keys, all_valid, config.bucket_neighbours))
            report("candidates", j + 1, nb)
        del bands
        _atomic_save(path, pairs)
    stats.candidate_pairs = len(pairs)
    return pairs


def _stage_verify(
    work: Path, starts: tuple[int, ...], pairs: np.ndarray, n: int, config: DedupConfig,
    runner: _Runner, stats: DedupStats, report: Progress, name: str,
) -> np.ndarray:  # fmt: skip
    """Align all `pairs` (codes a * n + b) chunk by chunk, reusing finished chunk files."""
    a_all, b_all = (pairs // max(n, 1)), (pairs % max(n, 1))
    size = config.pair_chunk
    chunks = (len(pairs) + size - 1) // size
    results: list[np.ndarray | None] = [None] * chunks
    done = 0

    def collect(items: list[tuple[int, np.ndarray]]) -> None:
        nonlocal done
        for c, rows in items:
            results[c] = rows
            done += len(rows)
            report(name, done, len(pairs))

    for c in range(chunks):
        path = work / f"{name}-{c:06d}.npy"
        if path.exists():
            collect([(c, np.load(path))])
            continue
        sl = slice(c * size, (c + 1) * size)
        collect(runner.submit(_verify_job, c, str(work), starts, a_all[sl], b_all[sl], str(path)))
    collect(runner.drain())
    rows = [r for r in results if r is not None]
    return np.concatenate(rows) if rows else np.zeros((0, len(_VERIFY_COLUMNS)))


def _verify_job(
    c: int, work: str, starts: tuple[int, ...], a: np.ndarray, b: np.ndarray, path: str
) -> tuple[int, np.ndarray]:
    return c, verify_pairs(work, starts, a, b, path)


def _stage_clusters(
    work: Path, starts: tuple[int, ...], n: int, ids: list[str], dates: list[str | None],
    exact: np.ndarray, verified: np.ndarray, config: DedupConfig, runner: _Runner,
    stats: DedupStats, report: Progress,
) -> Iterator[dict[str, Any]]:  # fmt: skip
    from unspin.trace.cluster import Member, choose_source, clusters_from_pairs

    good = verified[verified[:, 2] >= config.min_similarity]
    stats.verified_pairs = len(good)
    a, b = good[:, 0].astype(np.int64), good[:, 1].astype(np.int64)
    labels = clusters_from_pairs(n, a, b)
    wins = np.zeros(n, dtype=np.float64)
    np.add.at(wins, a, good[:, 6])
    np.add.at(wins, b, -good[:, 6])
    closeness = np.zeros(n, dtype=np.float64)
    degree = np.zeros(n, dtype=np.float64)
    np.add.at(closeness, a, good[:, 3])
    np.add.at(closeness, b, good[:, 3])
    np.add.at(degree, a, 1.0)
    np.add.at(degree, b, 1.0)
    closeness = closeness / np.maximum(degree, 1.0)
    # Members of each multi-member cluster, in input order.
    # Only documents in some verified pair can share a cluster: group those, not all n.
    paired = np.unique(np.concatenate([a, b])) if len(a) else np.empty(0, dtype=np.int64)
    order = paired[np.argsort(labels[paired], kind="stable")]
    cut = np.flatnonzero(np.diff(labels[order])) + 1
    source_of = np.arange(n, dtype=np.int64)
    groups: dict[int, list[int]] = {}  # cluster label -> members, input order
    for group in np.split(order, cut) if len(order) else []:
        if len(group) < 2:
            continue
        members = [
            Member(int(i), dates[i], round(float(wins[i]), 9), float(closeness[i])) for i in group
        ]
        src = choose_source(members)
        source_of[group] = src
        groups[int(labels[group[0]])] = [int(i) for i in group]
        stats.clusters += 1
    copies = np.flatnonzero(source_of != np.arange(n))
    stats.copies = len(copies)
    # Every copy against its source: from the verified pairs where possible, else aligned now.
    known: dict[tuple[int, int], tuple[float, float]] = {}
    for row in good:
        x, y = int(row[0]), int(row[1])
        known[(y, x)] = (row[2], row[5])  # y against x: similarity, y's spin ratio
        known[(x, y)] = (row[2], row[4])
    missing = [
        (int(source_of[c]), int(c)) for c in copies if (int(c), int(source_of[c])) not in known
    ]
    if missing:
        lo = np.array([min(p) for p in missing], dtype=np.int64)
        hi = np.array([max(p) for p in missing], dtype=np.int64)
        links = _stage_verify(
            work, starts, np.unique(lo * n + hi), n, config, runner, stats, report, "links"
        )
        for row in links:
            x, y = int(row[0]), int(row[1])
            known[(y, x)] = (row[2], row[5])
            known[(x, y)] = (row[2], row[4])
    restored: dict[int, str] = {}
    if config.restore:
        restored = _restore(starts, str(work), copies, source_of, labels, groups, known, runner)
    kinds: dict[str, int] = {}
    for i in range(n):
        src = int(source_of[i])
        if src != i:
            sim, spin = known.get((i, src), (0.0, 0.0))
            row = document_row(
                ids[i], "copy", source_id=ids[src], similarity=sim, spin_ratio=spin,
                exact_copy=bool(exact[i] == exact[src]), restored=restored.get(i),
            )  # fmt: skip
            kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
        elif int(labels[i]) in groups:
            row = document_row(ids[i], "source")
        else:
            row = document_row(ids[i], "unique")
        yield row
    stats.by_kind = kinds


def _restore(
    starts: tuple[int, ...], work: str, copies: np.ndarray, source_of: np.ndarray,
    labels: np.ndarray, members: dict[int, list[int]],
    known: dict[tuple[int, int], tuple[float, float]], runner: _Runner,
) -> dict[int, str]:  # fmt: skip
    """Consensus restorations of the spun copies (at most 15 voters a cluster)."""
    jobs = []
    for c in copies.tolist():
        if known.get((c, int(source_of[c])), (0.0, 0.0))[1] < SPUN_MIN:
            continue
        others = [m for m in members[int(labels[c])] if m != c][:15]
        jobs.append((c, others))
    out: dict[int, str] = {}
    for start in range(0, len(jobs), 200):
        for results in runner.submit(restore_members, work, starts, jobs[start : start + 200]):
            out.update(results)
    for results in runner.drain():
        out.update(results)
    return out
