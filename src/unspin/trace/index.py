"""An embedded index of fingerprints for tracing texts to their sources: one SQLite file.

Tables: `docs` (id, date, exact-copy key, MinHash signature, zlib-compressed text) and `bands`
(one row per LSH band key and document, a clustered WITHOUT ROWID table: a lookup is one B-tree
probe per band). WAL mode, so readers (`unspin trace`, the web app) never block on a writer.

Building is resumable: documents are added in batches, each batch in one transaction, and a
document whose id the index already holds is skipped before any work is spent on it. A build
killed midway is rerun with the same command and picks up at the first missing document;
`unspin index add` extends an index the same way. Fingerprints are computed in worker processes
(`workers`), writes happen in the calling process only.

`Index.trace(text)` finds the likely sources of a text: LSH candidates (band keys shared), ranked
by estimated Jaccard, verified by word alignment (`unspin.trace.align`), kept when similar enough.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from unspin.errors import InputError
from unspin.trace.align import Alignment, Substitution, align
from unspin.trace.fingerprint import (
    Canonicalizer,
    Fingerprint,
    FingerprintParams,
    default_canonicalizer,
    fingerprint,
    normalized_words,
)
from unspin.types import Document

__all__ = [
    "MIN_SIMILARITY",
    "Index",
    "IndexError_",
    "Match",
    "TraceResult",
    "document_date",
    "fingerprint_batch",
]

T = TypeVar("T")
SCHEMA_VERSION = "1"
MIN_SIMILARITY = 0.7  # alignment similarity from which a candidate counts as a copy
_MIN_ESTIMATE = 0.15  # estimated Jaccard below which a candidate is not worth aligning
_BATCH = 500
_FAMILY = 6  # matches compared with one another to find the least spun
# Candidates whose words are compared with one another to find a copy family's centre (the
# source: each spun copy changed other words of it) before any is aligned; a family larger
# than this is seen through its first members (by fingerprint estimate, then index order).
_POOL = 256


class IndexError_(InputError):  # noqa: N801 - "IndexError" is a builtin
    """The file is not an unspin index, was built with other fingerprint settings, is damaged,
    or cannot be written: bad input (exit 2 in the CLI), not an internal error."""


def _guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Report SQLite's and zlib's errors on the index file (damaged pages, a text that no
    longer decompresses, a file or folder that cannot be written) as `IndexError_` naming it."""

    @functools.wraps(method)
    def wrapper(self: Index, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.DatabaseError, zlib.error) as exc:
            what = " ".join(str(exc).split())
            raise IndexError_(f"damaged or unwritable index ({what})", str(self.path)) from None

    return wrapper


@dataclass(slots=True)
class Match:
    """One likely source of a traced text, with the alignment that supports it."""

    source_id: str
    similarity: float
    spin_ratio: float
    substitutions: list[Substitution] = field(default_factory=list)
    identity: float = 0.0
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The trace contract (design.md §3)."""
        return {
            "source_id": self.source_id,
            "similarity": round(self.similarity, 4),
            "spin_ratio": round(self.spin_ratio, 4),
            "substitutions": [s.to_dict() for s in self.substitutions],
        }


@dataclass(slots=True)
class TraceResult:
    """The likely sources of one text, best first (empty when none is similar enough)."""

    id: str
    matches: list[Match] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """`{"id": ..., "matches": [...]}` as in design.md §3."""
        return {"id": self.id, "matches": [m.to_dict() for m in self.matches]}


@dataclass(slots=True)
class AddStats:
    """Counts from one `Index.add` run: documents added, and skipped (id already indexed)."""

    added: int = 0
    skipped: int = 0


# --------------------------------------------------------------------------- dates

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}


def document_date(meta: dict[str, Any]) -> str | None:
    """A sortable date (YYYY-MM-DD[THH:MM:SS]) from a document's meta, or None.

    Reads `date` (or `published`, `timestamp`): ISO dates and times ("2020-07-21",
    "2020-07-21T10:00:00Z") and Reuters-style "26-FEB-1987 15:01:11.79".
    """
    for key in ("date", "published", "timestamp"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            parsed = _parse_date(value.strip())
            if parsed is not None:
                return parsed
    return None


def _parse_date(value: str) -> str | None:
    v = value.replace("/", "-")
    if len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].isdigit():
        day = v[:10]
        rest = v[10:].lstrip("T ")[:8]
        return f"{day}T{rest}" if len(rest) == 8 and rest[2] == ":" else day
    parts = v.split(" ")[0].split("-")
    if len(parts) == 3 and parts[1][:3].lower() in _MONTHS and parts[0].isdigit():
        year, month, day = parts[2][:4], _MONTHS[parts[1][:3].lower()], int(parts[0])
        if year.isdigit():
            time = v.split(" ")[1][:8] if " " in v else ""
            stamp = f"{year}-{month:02d}-{day:02d}"
            return f"{stamp}T{time}" if len(time) == 8 and time[2] == ":" else stamp
    return None


# --------------------------------------------------------------------------- workers


def fingerprint_batch(
    texts: list[str], params: FingerprintParams, canon: Canonicalizer | None = None
) -> list[Fingerprint]:
    """Fingerprints of a batch of texts: the unit of work handed to worker processes."""
    canon = canon or default_canonicalizer()
    return [fingerprint(t, canon, params) for t in texts]


def _pool(workers: int) -> ProcessPoolExecutor | None:
    if workers <= 1:
        return None
    import multiprocessing

    # fork shares the loaded lexicon pages with the workers; spawn would reload it in each.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


# --------------------------------------------------------------------------- the index


class Index:
    """An unspin source index in one SQLite file; open an existing one or `create=True`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        params: FingerprintParams | None = None,
        canon: Canonicalizer | None = None,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"no index at {self.path}")
        self._canon = canon
        self._lock = threading.Lock()
        # An index one may not write (a read-only file or folder, a shared archive) is read
        # as it stands: WAL mode would need to create files next to it.
        writable = os.access(self.path.parent, os.W_OK) and (
            not self.path.exists() or os.access(self.path, os.W_OK)
        )
        try:
            if writable or create:
                self._db = sqlite3.connect(
                    str(self.path), check_same_thread=False, isolation_level=None
                )
            else:
                uri = f"{self.path.absolute().as_uri()}?mode=ro&immutable=1"
                self._db = sqlite3.connect(
                    uri, uri=True, check_same_thread=False, isolation_level=None
                )
        except sqlite3.Error as exc:
            raise IndexError_(f"cannot open or create the index ({exc})") from None
        try:
            if writable or create:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self.params = self._setup(create, params)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexError_(f"not an unspin index ({exc})") from None

    # ----------------------------------------------------------------- set-up

    def _setup(self, create: bool, params: FingerprintParams | None) -> FingerprintParams:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if tables:
                raise IndexError_("not an unspin index (other tables inside)")
            if not create:
                raise IndexError_("not an unspin index (empty database)")
            params = params or FingerprintParams()
            db.executescript(
                """
                BEGIN;
                CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE docs(
                    n INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, date TEXT,
                    exact INTEGER NOT NULL, immutables INTEGER NOT NULL,
                    signature BLOB NOT NULL, text BLOB NOT NULL);
                CREATE INDEX docs_exact ON docs(exact);
                CREATE TABLE bands(key INTEGER NOT NULL, doc INTEGER NOT NULL,
                    PRIMARY KEY(key, doc)) WITHOUT ROWID;
                COMMIT;
                """
            )
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema", SCHEMA_VERSION), ("params", json.dumps(params.to_dict()))],
            )
            return params
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if meta.get("schema") != SCHEMA_VERSION:
            raise IndexError_(f"index schema {meta.get('schema')!r}, expected {SCHEMA_VERSION}")
        stored = FingerprintParams(**json.loads(meta["params"]))
        if params is not None and params != stored:
            raise IndexError_("index was built with other fingerprint settings")
        return stored

    @property
    def canon(self) -> Canonicalizer:
        """The canonicalizer (the project lexicon's unless one was given)."""
        if self._canon is None:
            self._canon = default_canonicalizer()
        return self._canon

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back into the file)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @_guarded
    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])

    # ----------------------------------------------------------------- writing

    @_guarded
    def add(
        self,
        documents: Iterable[Document],
        *,
        workers: int = 1,
        batch_size: int = _BATCH,
        on_batch: Callable[[AddStats], None] | None = None,
    ) -> AddStats:
        """Add documents not yet indexed (by id), batch by batch; returns the counts.

        Each batch is one transaction: a run killed midway leaves whole batches behind, and the
        same call resumes after them. `on_batch` is called after each batch (progress bars).
        """
        stats = AddStats()
        pool = _pool(workers)
        canon = self.canon
        try:
            pending: list[tuple[list[Document], Any]] = []
            inflight: set[str] = set()  # ids in batches not yet written
            for batch in _batches(documents, batch_size):
                fresh = self._unindexed(batch, inflight)
                inflight.update(d.id for d in fresh)
                stats.skipped += len(batch) - len(fresh)
                if not fresh:
                    if on_batch is not None:
                        on_batch(stats)
                    continue
                texts = [d.text for d in fresh]
                if pool is None:
                    pending.append((fresh, fingerprint_batch(texts, self.params, canon)))
                else:
                    pending.append((fresh, pool.submit(fingerprint_batch, texts, self.params)))
                while len(pending) > (2 * workers if pool else 0):
                    written = pending.pop(0)
                    self._write(*written, stats, on_batch)
                    inflight.difference_update(d.id for d in written[0])
            while pending:
                self._write(*pending.pop(0), stats, on_batch)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return stats

    def _unindexed(self, batch: list[Document], inflight: set[str]) -> list[Document]:
        """The documents of a batch whose ids are neither indexed nor on their way there."""
        ids = list({d.id for d in batch})
        with self._lock:
            have = {
                r[0]
                for r in self._db.execute(
                    f"SELECT id FROM docs WHERE id IN ({','.join('?' * len(ids))})", ids
                )
            }
        have |= inflight
        out: list[Document] = []
        for d in batch:
            if d.id not in have:
                have.add(d.id)
                out.append(d)
        return out

    def _write(
        self,
        docs: list[Document],
        fps: Any,
        stats: AddStats,
        on_batch: Callable[[AddStats], None] | None,
    ) -> None:
        if not isinstance(fps, list):
            fps = fps.result()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                next_n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM docs").fetchone()[0]
                rows, bands = [], []
                for k, (doc, fp) in enumerate(zip(docs, fps, strict=True)):
                    n = next_n + k
                    rows.append(
                        (
                            n,
                            doc.id,
                            document_date(doc.meta),
                            fp.exact,
                            fp.immutables,
                            fp.signature.astype("<u4").tobytes(),
                            zlib.compress(doc.text.encode("utf-8"), 6),
                        )
                    )
                    bands.extend((int(key), n) for key in fp.bands)
                db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                db.executemany("INSERT OR IGNORE INTO bands VALUES (?, ?)", bands)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        stats.added += len(docs)
        if on_batch is not None:
            on_batch(stats)

    # ----------------------------------------------------------------- reading

    @_guarded
    def text_of(self, doc_id: str) -> str | None:
        """The indexed text of a document, or None if the id is not indexed."""
        with self._lock:
            row = self._db.execute("SELECT text FROM docs WHERE id = ?", (doc_id,)).fetchone()
        return None if row is None else zlib.decompress(row[0]).decode("utf-8")

    @_guarded
    def ids(self) -> Iterator[str]:
        """Every indexed id, in the order the documents were added."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM docs ORDER BY n").fetchall()
        return (r[0] for r in rows)

    def candidates(self, fp: Fingerprint, limit: int = 20) -> list[tuple[int, float]]:
        """Indexed documents sharing an LSH band or the exact key with `fp`, best estimate first.

        Returns (row number, estimated Jaccard); exact copies come first (estimate 1.0).
        """
        keys = [int(k) for k in fp.bands]
        with self._lock:
            found: set[int] = {
                r[0] for r in self._db.execute("SELECT n FROM docs WHERE exact = ?", (fp.exact,))
            }
            exact = set(found)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in self._db.execute(
                        f"SELECT DISTINCT doc FROM bands WHERE key IN ({marks})", chunk
                    )
                )
            if not found:
                return []
            ns = sorted(found)
            sigs: dict[int, bytes] = {}
            for start in range(0, len(ns), 500):
                chunk = ns[start : start + 500]
                sigs.update(
                    self._db.execute(
                        f"SELECT n, signature FROM docs WHERE n IN ({','.join('?' * len(chunk))})",
                        chunk,
                    ).fetchall()
                )
        if len(sigs) < len(ns):  # listed in the bands table, gone from the documents
            raise IndexError_(
                "damaged index (documents its band table lists are missing)", str(self.path)
            )
        scored: list[tuple[int, float]] = []
        for n in ns:
            sig = np.frombuffer(sigs[n], dtype="<u4")
            est = 1.0 if n in exact else float(np.mean(sig == fp.signature))
            scored.append((n, est))
        scored.sort(key=lambda x: (-x[1], x[0]))
        return scored[:limit]

    def _rows(self, ns: list[int]) -> dict[int, tuple[str, str | None, str]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT n, id, date, text FROM docs WHERE n IN ({','.join('?' * len(ns))})", ns
            ).fetchall()
        if len(rows) < len(set(ns)):  # listed in the bands table, gone from the documents
            raise IndexError_(
                "damaged index (documents its band table lists are missing)", str(self.path)
            )
        return {n: (i, d, zlib.decompress(t).decode("utf-8")) for n, i, d, t in rows}

    @_guarded
    def trace(
        self,
        text: str,
        *,
        doc_id: str = "doc",
        limit: int = 5,
        min_similarity: float = MIN_SIMILARITY,
        exclude_self: bool = True,
    ) -> TraceResult:
        """The likely sources of `text`: verified by alignment, best first.

        Ranked like a dedup cluster's members: the earliest dated first; then the least spun
        (context fit of the substitutions between the text and its matches, see
        `_family_wins`) and, among those, the closest to the family's other copies; then
        identity (share of words equal to the text), then id. The text itself, indexed under
        `doc_id` with the same words, is left out when `exclude_self`.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        fp = fingerprint(text, self.canon, self.params)
        pool = [(n, est) for n, est in self.candidates(fp, limit=_POOL) if est >= _MIN_ESTIMATE]
        if not pool:
            return TraceResult(doc_id, [])
        # Aligned: the candidates most like the text, and the centre of their family. The
        # fingerprints see through synonyms, so a spun family ties there; by their words, the
        # copies that share the text's synonym choices come first, and they can outnumber the
        # source. The source is the copy closest to all the others (each changed other words
        # of it), so it is among the family's centre.
        rows = self._rows([n for n, _ in pool])
        centre, like_text = _word_closeness(text, [rows[n][2] for n, _ in pool])
        order = {n: k for k, (n, _) in enumerate(pool)}
        est = dict(pool)
        nearest = sorted(order, key=lambda n: (-est[n], -like_text[order[n]], n))
        central = sorted(order, key=lambda n: (-centre[order[n]], n))
        cands = list(dict.fromkeys([*nearest[: max(4 * limit, 20)], *central[:_FAMILY]]))
        found: list[tuple[Match, Alignment, str, int]] = []
        for n in cands:
            source_id, date, source = rows[n]
            if exclude_self and source_id == doc_id and source == text:
                continue  # the text itself, indexed (a namesake with other words is a match)
            a: Alignment = align(text, source, self.canon)
            if a.similarity < min_similarity:
                continue
            match = Match(source_id, a.similarity, a.spin_ratio, a.substitutions, a.identity, date)
            found.append((match, a, source, n))
        found.sort(key=lambda f: (-centre[order[f[3]]], -f[0].identity, f[0].source_id))
        family = [(m, a, source) for m, a, source, _ in found[:_FAMILY]]
        wins = _family_wins(text, family, self.canon) if len(found) > 1 else {}
        closeness = {f[0].source_id: centre[order[f[3]]] for f in found}
        matches = [m for m, _, _, _ in found]
        matches.sort(
            key=lambda m: _rank_key(m, wins.get(m.source_id, 0.0), closeness[m.source_id])
        )
        return TraceResult(doc_id, matches[:limit])


def _word_closeness(text: str, texts: list[str]) -> tuple[list[float], list[float]]:
    """For each of `texts`: its mean word-set Jaccard with the other texts and `text` (how
    central it sits in their family), and its Jaccard with `text` alone."""
    sets = [set(normalized_words(t)) for t in [*texts, text]]
    vocab: dict[str, int] = {}
    rows = [[vocab.setdefault(w, len(vocab)) for w in words] for words in sets]
    member = np.zeros((len(sets), max(len(vocab), 1)), dtype=np.float32)
    for i, ids in enumerate(rows):
        member[i, ids] = 1.0
    inter = member @ member.T
    sizes = member.sum(axis=1)
    union = np.maximum(sizes[:, None] + sizes[None, :] - inter, 1.0)
    jaccard = inter / union
    np.fill_diagonal(jaccard, 0.0)
    mean = jaccard.sum(axis=1) / max(len(sets) - 1, 1)
    n = len(texts)
    return [round(float(v), 6) for v in mean[:n]], [float(v) for v in jaccard[:n, n]]


def _family_wins(
    text: str, found: list[tuple[Match, Alignment, str]], canon: Canonicalizer
) -> dict[str, float]:
    """How much each match reads like the original among the traced text and its matches.

    All of them are copies of one story; as in `unspin.trace.cluster`, every pair's
    substitutions are judged by context fit, and a member scores its summed margins. Another
    spun copy that happens to share the traced text's synonym choices is thus ranked after the
    source, although it has more words in common with the text.
    """
    from unspin.context import get_context_model
    from unspin.trace.cluster import naturalness_margin

    context = get_context_model()
    wins: dict[str, float] = {m.source_id: 0.0 for m, _, _ in found}
    for m, a, source in found:  # each match against the traced text: alignments at hand
        wins[m.source_id] += naturalness_margin(a, text, source, context)
    for i, (mi, _, si) in enumerate(found):
        for mj, _, sj in found[i + 1 :]:
            margin = naturalness_margin(align(sj, si, canon), sj, si, context)
            wins[mi.source_id] += margin
            wins[mj.source_id] -= margin
    return wins


def _rank_key(
    m: Match, wins: float, closeness: float
) -> tuple[bool, str, bool, float, float, str]:
    # The rule dedup uses for a cluster's source: the earliest date where there is one, else
    # one that reads more naturally than the family on the whole (positive wins: an unspun
    # copy, e.g. lightly edited, ties with the source here), and among those the one closest
    # to the family's other copies (the source, which each copy changed elsewhere); then the
    # most words in common with the text, then the id (determinism).
    return (
        m.date is None, m.date or "", wins <= 0, -closeness, -round(m.identity, 6), m.source_id
    )  # fmt: skip


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in documents:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
