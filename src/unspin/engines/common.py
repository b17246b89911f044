"""What every dedup engine shares: settings, counts, candidate buckets, pair verification, rows.

The local engine (`unspin.engines.local`) and the Spark engine (`unspin.engines.spark`) move data
differently (worker processes and numpy checkpoints; RDDs and Parquet checkpoints) but decide
everything with the functions here and those of `unspin.trace` (fingerprint, align, cluster),
so that on the same input they write the same lines. Pure functions over plain data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unspin.trace.fingerprint import Canonicalizer, FingerprintParams
from unspin.trace.index import MIN_SIMILARITY

__all__ = [
    "SPUN_MIN",
    "VERIFY_COLUMNS",
    "DedupConfig",
    "DedupStats",
    "Progress",
    "bucket_pairs",
    "copy_kind",
    "document_row",
    "input_manifest",
    "input_stamps",
    "verify_pair",
    "work_dir_for",
]

SPUN_MIN = 0.02  # spin ratio from which a copy is called spun rather than near
VERIFY_COLUMNS = ("a", "b", "similarity", "identity", "spin_a", "spin_b", "margin")
"""The figures of one verified pair (a < b, in input order); `margin` > 0: a reads better."""

Progress = Callable[[str, int, "int | None"], None]
"""Progress callback: (stage name, units done, total units or None when unknown)."""


@dataclass(frozen=True)
class DedupConfig:
    """Settings of one dedup run; a change of any of them starts the work over.

    `partition_size`, `workers` and `pair_chunk` shape the local engine's work only; the others
    decide the output, whichever engine runs.
    """

    params: FingerprintParams = field(default_factory=FingerprintParams)
    partition_size: int = 10_000
    workers: int = 2
    min_similarity: float = MIN_SIMILARITY
    pair_chunk: int = 20_000
    bucket_neighbours: int = 8
    restore: bool = False
    keep_work: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity is a share, 0 to 1: got {self.min_similarity}")
        for name in ("partition_size", "workers", "pair_chunk", "bucket_neighbours"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    def key(self) -> dict[str, Any]:
        """The settings that decide the checkpoints' content (not workers, not keep_work)."""
        d = asdict(self)
        d.pop("workers")
        d.pop("keep_work")
        return d


@dataclass(slots=True)
class DedupStats:
    """Counts from one run."""

    documents: int = 0
    partitions: int = 0
    partitions_reused: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    clusters: int = 0
    copies: int = 0
    resumed: bool = False
    by_kind: dict[str, int] = field(default_factory=dict)
    # Documents whose id an earlier document of the run already had (their rows cannot be
    # told apart by id; the local engine counts them).
    repeated_ids: int = 0


def work_dir_for(output: str | os.PathLike[str]) -> Path:
    """Where a run writing `output` keeps its checkpoints."""
    out = Path(output)
    return out.parent / (out.name + ".work")


def input_manifest(paths: Sequence[str], config: DedupConfig, engine: str) -> dict[str, Any]:
    """What identifies a job for resuming: the engine, the inputs as they are now, the settings."""
    return {"engine": engine, "inputs": input_stamps(paths), "config": config.key()}


def input_stamps(paths: Sequence[str]) -> list[dict[str, Any]]:
    """Each input file as it is now (absolute path, size, modification time), a folder's files
    one by one: a changed, added or removed file makes a job's checkpoints another job's."""
    from unspin.io.corpus import corpus_files

    inputs = []
    for p in paths:
        for f in corpus_files(p) if os.path.isdir(p) else [p]:
            st = os.stat(f)
            stamp = {"path": os.path.abspath(f), "size": st.st_size, "mtime": st.st_mtime_ns}
            inputs.append(stamp)
    return inputs


def bucket_pairs(keys: np.ndarray, valid: np.ndarray, neighbours: int) -> np.ndarray:
    """Pairs (a < b) of documents with equal keys, as codes a * n + b (int64, unique).

    Documents are sorted by key (then number); each is paired with the next `neighbours - 1`
    documents of its bucket in that order. Small buckets thus give all their pairs, a huge
    bucket only a chain-like band of them (linear work), which still connects its copies.
    """
    n = len(keys)
    idx = np.flatnonzero(valid)
    if len(idx) < 2:
        return np.empty(0, dtype=np.int64)
    order = idx[np.argsort(keys[idx], kind="stable")]
    sk = keys[order]
    out = []
    for d in range(1, max(2, neighbours)):
        same = sk[d:] == sk[:-d]
        if not same.any():
            break
        a, b = order[:-d][same], order[d:][same]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        out.append(lo.astype(np.int64) * n + hi)
    return np.unique(np.concatenate(out)) if out else np.empty(0, dtype=np.int64)


def verify_pair(
    x: int, y: int, words_x: list[str], words_y: list[str], exact_x: int, exact_y: int,
    canon: Canonicalizer, context: Any,
) -> tuple[float, float, float, float, float, float, float]:  # fmt: skip
    """The `VERIFY_COLUMNS` of documents x < y from their normalized words and exact keys.

    Word alignment (`align.compare_words`) gives similarity, identity and both spin ratios;
    `cluster.block_margin` judges which side of each swap reads more naturally (`context`: the
    context model). The pair is compared in an order set by content, not position, so that exact
    copies of one text get identical figures against any third text (their tie is then broken
    by position).
    """
    from unspin.trace.align import compare_words
    from unspin.trace.cluster import block_margin

    if exact_x <= exact_y:
        f = compare_words(words_y, words_x, canon)
        margin = block_margin(f.spin_blocks, words_y, words_x, context)
        spin_x, spin_y = f.source_spin_ratio, f.spin_ratio
    else:
        f = compare_words(words_x, words_y, canon)
        margin = -block_margin(f.spin_blocks, words_x, words_y, context)
        spin_x, spin_y = f.spin_ratio, f.source_spin_ratio
    return (float(x), float(y), f.similarity, f.identity, spin_x, spin_y, margin)


def copy_kind(exact_copy: bool, spin_ratio: float) -> str:
    """`exact` (same words in the same order), `spun` (from `SPUN_MIN` swaps) or `near`."""
    if exact_copy:
        return "exact"
    return "spun" if spin_ratio >= SPUN_MIN else "near"


def document_row(
    doc_id: str, role: str, *, source_id: str | None = None, similarity: float = 0.0,
    spin_ratio: float = 0.0, exact_copy: bool = False, restored: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One output line (design.md §3) as a dict, keys in output order.

    `role` is "copy" (of `source_id`, with the similarity and spin ratio of the copy against
    its source, and `restored` when a consensus restoration was made), "source" or "unique".
    """
    if role == "copy":
        row: dict[str, Any] = {
            "id": doc_id, "cluster": source_id, "role": "copy",
            "similarity": round(float(similarity), 4),
            "kind": copy_kind(exact_copy, spin_ratio),
            "spin_ratio": round(float(spin_ratio), 4),
        }  # fmt: skip
        if restored is not None:
            row["restored"] = restored
            row["evidence"] = "consensus"
        return row
    if role == "source":
        return {"id": doc_id, "cluster": doc_id, "role": "source", "similarity": 1.0}
    if role == "unique":
        return {"id": doc_id, "cluster": doc_id, "role": "unique", "similarity": None}
    raise ValueError(f"unknown role {role!r}")
