"""The Apache Spark dedup engine: the local engine's decisions, as a distributed pyspark job.

`run_spark_dedup(paths, output)` writes the same lines as `unspin.engines.local.run_dedup` on
the same input (design.md §3): the same fingerprints, candidate buckets, alignment figures,
clusters and sources, because every decision is made by the same pure functions
(`unspin.trace.fingerprint`, `unspin.trace.align` through `common.verify_pair`,
`unspin.trace.cluster`, `common.bucket_pairs`, `common.document_row`); only the data moves
differently. The corpus never passes through the driver:

1. documents — the input files are listed on the driver (`io.corpus.path_sources`) and read on
   the executors by the project's readers, one task per file (small files grouped). A
   document's key is (task << 40) | position in the task: sorting by key is input order, with
   no counting pass. Documents are spread over the partitions and fingerprinted there.
2. candidates — (band, key) and (exact key) buckets are grouped (Spark SQL); `bucket_pairs`
   pairs each bucket's members in key order, as the local engine pairs them in a global sort.
3. verified — each pair is joined with both texts (Spark SQL) and aligned (`verify_pair`).
4. clusters — connected components of the pairs with similarity >= `min_similarity`: union-find
   (`cluster.clusters_from_pairs`) inside each partition of pairs, then large-star /
   small-star rounds of joins (Kiveris et al., 2014); a component's label is its smallest key,
   as the local engine's. Each member's naturalness wins and closeness are summed in the
   local engine's order (so the floats are bit for bit the same), and `cluster.choose_source`
   picks each cluster's source.
5. links — every copy against its source: the verified figures where that pair was verified,
   else aligned now.
6. restored (with `restore`) — consensus restoration of the spun copies from their cluster's
   first members (`cluster.consensus_restore`).
7. rows — one JSON line per document, keyed by input position.

Each stage is written as Parquet under the work dir (default `<output>.work`, any Hadoop file
system URI on a cluster) and counts as done when Spark committed it (`_SUCCESS`): a rerun of a
killed job reuses finished stages. The output is streamed to the driver in key order, one
partition at a time, into a temporary file that is renamed over `output` at the end, so a
killed run never leaves a half-written output.

`python -m unspin.engines.spark CORPUS... --output OUT [options]` is `unspin dedup --engine
spark`; `spark-submit` can run this file the same way (see README).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from unspin.engines.common import (
    SPUN_MIN,
    DedupConfig,
    DedupStats,
    Progress,
    bucket_pairs,
    document_row,
    input_manifest,
    verify_pair,
    work_dir_for,
)
from unspin.errors import InputError
from unspin.io.corpus import CorpusSource
from unspin.io.readers import OnError, ReadStats
from unspin.types import Document

if TYPE_CHECKING:  # pyspark is an optional dependency: imported where a job runs
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SparkSettings",
    "connected_components",
    "read_tasks",
    "run_job",
    "run_spark_dedup",
    "spark_session",
    "task_documents",
    "write_lines",
]

T = TypeVar("T")
ENGINE_VERSION = "spark-1"
KEY_SHIFT = 40  # a document's key: (read task << KEY_SHIFT) | its position in the task
TASK_BYTES = 64 * 2**20  # small input files are grouped into read tasks of about this size
TASK_FILES = 2_000  # ... and at most this many files
RESTORE_VOTERS = 15  # other members a spun copy is restored from (as the local engine)
EDGES_PER_PARTITION = 1_000_000  # verified pairs one executor joins up by union-find at once
_INPUT_ERROR = "unspin-input-error:"  # marks an InputError raised on an executor
# What the JDK prints at every start of a JVM that Spark's launcher gave an incubator module
# (`--add-modules=jdk.incubator.vector`); no JVM option silences it.
_JVM_START_NOISE = (b"WARNING: Using incubator modules:",)
_STAGES = ("documents", "candidates", "verified", "clusters", "links", "restored", "rows")


@dataclass(frozen=True)
class SparkSettings:
    """How to run on Spark; none of it changes the output.

    `master`: a Spark master URL (None: the one spark-submit was given, else `local[*]`);
    `partitions`: partitions of the distributed stages (None: twice the default parallelism,
    and at least one per 20,000 documents); `work_dir`: where checkpoints go (a path or a
    Hadoop file system URI every executor can reach; None: `<output>.work`); `conf`: extra
    Spark settings.
    """

    master: str | None = None
    partitions: int | None = None
    work_dir: str | None = None
    conf: tuple[tuple[str, str], ...] = ()
    app_name: str = "unspin dedup"


# --------------------------------------------------------------------------- session


def spark_session(settings: SparkSettings | None = None) -> tuple[SparkSession, bool]:
    """The active Spark session, or a new one; True when this call started it (and should stop
    it). A session started here in local mode runs its Python workers with this interpreter,
    so they import the same `unspin`; a JVM started here logs warnings only (the packaged
    log4j2 settings), and shows Spark's progress bar only on a terminal."""
    from pyspark.sql import SparkSession

    settings = settings or SparkSettings()
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM already
    master = settings.master or (None if submitted else "local[*]")
    if not submitted and master and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(settings.app_name)
    if master:
        builder = builder.master(master)
    if not submitted and "spark.driver.extraJavaOptions" not in dict(settings.conf):
        builder = builder.config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_log_config()}"
        )
    builder = builder.config("spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower())
    for key, value in settings.conf:
        builder = builder.config(key, value)
    if submitted:
        spark = builder.getOrCreate()
    else:
        with _jvm_start_notes_dropped():
            spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


@contextmanager
def _jvm_start_notes_dropped() -> Iterator[None]:
    """Run the block (which may start Spark's JVM) with file descriptor 2 led through a pipe
    that drops the JDK's start-up notes (`_JVM_START_NOISE`) and passes everything else on.

    A JVM started in the block keeps the pipe as its stderr for life; once the block is over
    (the JVM has started) or the notes have gone by, the pipe passes bytes through unread, so
    Spark's progress bar and warnings arrive as they are written."""
    try:
        sys.stderr.flush()
        target = os.dup(2)
    except (OSError, ValueError):  # no stderr to lead anywhere
        yield
        return
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    started = threading.Event()
    threading.Thread(
        target=_pass_stderr, args=(read, target, started), name="unspin-jvm-stderr", daemon=True
    ).start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(target, 2)
        started.set()


def _pass_stderr(read: int, target: int, started: threading.Event) -> None:
    """Copy the pipe `read` to `target` until it closes, through a `_StartNotesFilter`."""
    notes = _StartNotesFilter()
    try:
        while chunk := os.read(read, 65536):
            _write_all(target, notes.feed(chunk, started.is_set()))
        _write_all(target, notes.pending)
    except OSError:  # stderr went away: nothing left to pass on
        pass
    finally:
        os.close(read)
        os.close(target)


class _StartNotesFilter:
    """Drops whole lines that begin with a `_JVM_START_NOISE` prefix from a byte stream, until
    one has gone by or the JVM has started; from then on bytes pass as they come."""

    def __init__(self) -> None:
        self.pending = b""  # an incomplete line, held while filtering
        self.filtering = True

    def feed(self, chunk: bytes, started: bool = False) -> bytes:
        """What of `chunk` (and of the line held back before it) to pass on now."""
        if not self.filtering:
            return chunk
        *lines, self.pending = (self.pending + chunk).split(b"\n")
        kept = [line for line in lines if not line.startswith(_JVM_START_NOISE)]
        if len(kept) < len(lines) or started:
            self.filtering = False
            kept.append(self.pending)
            self.pending = b""
        elif kept:
            kept.append(b"")
        return b"\n".join(kept)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _log_config() -> str:
    """The URI of the packaged log4j2 settings: warnings only, no start-up notes."""
    from importlib import resources

    return Path(str(resources.files("unspin") / "data" / "spark-log4j2.properties")).as_uri()


class _WorkDir:
    """Checkpoints on any Hadoop file system (local paths included), through the JVM's API."""

    def __init__(self, spark: SparkSession, uri: str) -> None:
        jvm = spark.sparkContext._jvm  # noqa: SLF001 - the one way to Hadoop's FileSystem
        assert jvm is not None
        self._jvm = jvm
        conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
        self.root = jvm.org.apache.hadoop.fs.Path(uri)
        self.fs = self.root.getFileSystem(conf)
        self.uri = str(self.fs.makeQualified(self.root).toString())

    def _path(self, name: str) -> Any:
        return self._jvm.org.apache.hadoop.fs.Path(self.root, name)

    def path(self, name: str) -> str:
        """The URI of `name` inside the work dir."""
        return f"{self.uri.rstrip('/')}/{name}"

    def done(self, stage: str) -> bool:
        """Whether `stage` was written to the end (Spark commits `_SUCCESS` last)."""
        return bool(self.fs.exists(self._path(f"{stage}/_SUCCESS")))

    def read_text(self, name: str) -> str | None:
        """The text of a small file, None when it is missing."""
        path = self._path(name)
        if not self.fs.exists(path):
            return None
        stream = self.fs.open(path)
        try:
            data = self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")

    def write_text(self, name: str, text: str) -> None:
        """Write a small file atomically (a temporary name, then rename)."""
        final = self._path(name)
        tmp = self._path(f".{name}.tmp")
        out = self.fs.create(tmp, True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()
        self.fs.delete(final, False)
        if not self.fs.rename(tmp, final):
            raise OSError(f"could not rename {tmp} to {final}")

    def mkdirs(self) -> None:
        """Create the work dir."""
        self.fs.mkdirs(self.root)

    def delete(self, name: str | None = None) -> None:
        """Remove `name` (or the whole work dir), recursively."""
        self.fs.delete(self._path(name) if name else self.root, True)


def _prepare(work: _WorkDir, manifest: dict[str, Any]) -> bool:
    """Create or reuse the work dir; True when checkpoints of this very job are reused."""
    text = work.read_text("manifest.json")
    if text is not None:
        try:
            if json.loads(text) == manifest:
                return True
        except ValueError:
            pass
    work.delete()  # another job's (or a broken) checkpoints: start over
    work.mkdirs()
    work.write_text("manifest.json", json.dumps(manifest, indent=1))
    return False


# --------------------------------------------------------------------------- stage 1


def read_tasks(
    paths: Sequence[str], max_bytes: int | None = None, max_files: int | None = None
) -> list[list[CorpusSource]]:
    """The input files in reading order, cut into read tasks: consecutive small files share
    a task (up to `max_bytes`, default `TASK_BYTES`, and `max_files`, default `TASK_FILES`),
    a big file has one to itself. Runs on the driver and only lists files."""
    from unspin.io.corpus import path_sources

    max_bytes = TASK_BYTES if max_bytes is None else max_bytes
    max_files = TASK_FILES if max_files is None else max_files
    tasks: list[list[CorpusSource]] = []
    current: list[CorpusSource] = []
    size = 0
    for path in paths:
        for source in path_sources(path):
            n = os.path.getsize(source.path)
            if current and (size + n > max_bytes or len(current) >= max_files):
                tasks.append(current)
                current, size = [], 0
            current.append(source)
            size += n
    if current:
        tasks.append(current)
    return tasks


def task_documents(
    task: tuple[int, list[CorpusSource]],
    on_error: OnError = "raise",
    stats: ReadStats | None = None,
) -> Iterator[tuple[int, Document]]:
    """Executor: (key, document) of every document of one read task, in order; an input error
    is carried to the driver in the task's failure message (see `_input_error`)."""
    from unspin.io.corpus import read_source

    number, sources = task
    base = number << KEY_SHIFT
    position = 0
    try:
        for source in sources:
            for doc in read_source(source, on_error=on_error, stats=stats):
                yield base | position, doc
                position += 1
    except InputError as exc:
        raise RuntimeError(_INPUT_ERROR + json.dumps(str(exc))) from None


def _read_task(task: tuple[int, list[CorpusSource]]) -> Iterator[tuple[int, str, str | None, str]]:
    """Executor: (key, id, date, text) of every document of one read task, in order."""
    from unspin.trace.index import document_date

    for key, doc in task_documents(task):
        yield key, doc.id, document_date(doc.meta), doc.text


def _input_error(exc: BaseException) -> InputError | None:
    """The InputError an executor reported inside a failed job's error, if any."""
    found = re.search(re.escape(_INPUT_ERROR) + r'\s*("(?:[^"\\]|\\.)*")', str(exc))
    if found is None:
        return None
    try:
        return InputError(json.loads(found.group(1)))
    except ValueError:
        return None


def _executor_failure(exc: BaseException) -> str | None:
    """The last line of the Python traceback an executor reported inside a failed job's
    error (such as `ZeroDivisionError: division by zero`), if any: the cause, without the
    Java and Python stack traces around it."""
    text = str(exc)
    at = text.rfind("Traceback (most recent call last):")
    if at < 0:
        return None
    for line in text[at:].splitlines()[1:]:
        if line and not line[0].isspace():
            return line.strip()
    return None


def _fingerprint_partition(
    docs: Iterable[tuple[int, str, str | None, str]], params: Any
) -> Iterator[tuple[int, str, str | None, int, list[int] | None, str]]:
    """Executor: (key, id, date, exact key, LSH band keys or None, text) of each document."""
    from unspin.trace.fingerprint import default_canonicalizer, fingerprint

    canon = default_canonicalizer()
    for key, doc_id, date, text in docs:
        fp = fingerprint(text, canon, params)
        bands = fp.bands.tolist() if len(fp.bands) else None
        yield key, doc_id, date, int(fp.exact), bands, text


# --------------------------------------------------------------------------- stage 2


def _bucket_candidates(buckets: Iterable[Any], neighbours: int) -> Iterator[tuple[int, int]]:
    """Executor: each bucket's candidate pairs, by `bucket_pairs` over its members in key
    order (the order the local engine's global sort puts them in)."""
    for bucket in buckets:
        keys = np.array(sorted(bucket.members), dtype=np.int64)
        n = len(keys)
        codes = bucket_pairs(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool), neighbours)
        yield from zip(keys[codes // n].tolist(), keys[codes % n].tolist(), strict=True)


# --------------------------------------------------------------------------- stage 3


def _verify_rows(
    pairs: Iterable[Any],
) -> Iterator[tuple[int, int, float, float, float, float, float]]:
    """Executor: `verify_pair` on each pair with its texts; rows of `VERIFY_COLUMNS`."""
    from unspin.context import get_context_model
    from unspin.trace.fingerprint import default_canonicalizer, normalized_words

    canon = default_canonicalizer()
    context = get_context_model()
    cache: dict[int, list[str]] = {}  # a text recurs in neighbouring pairs

    def words(key: int, text: str) -> list[str]:
        hit = cache.get(key)
        if hit is None:
            if len(cache) >= 256:
                cache.pop(next(iter(cache)))
            hit = cache[key] = normalized_words(text)
        return hit

    for a, b, exact_a, exact_b, text_a, text_b in pairs:
        words_a, words_b = words(a, text_a), words(b, text_b)
        figures = verify_pair(a, b, words_a, words_b, exact_a, exact_b, canon, context)
        yield (a, b, *figures[2:])


def _pairs_with_texts(pairs: DataFrame, docs: DataFrame) -> DataFrame:
    """(a, b, exact_a, exact_b, text_a, text_b) for each pair (a, b): two joins in the JVM."""
    from pyspark.sql import functions as F

    side_a = docs.select(F.col("key").alias("a"), F.col("exact").alias("exact_a"),
                         F.col("text").alias("text_a"))  # fmt: skip
    side_b = docs.select(F.col("key").alias("b"), F.col("exact").alias("exact_b"),
                         F.col("text").alias("text_b"))  # fmt: skip
    joined = pairs.select("a", "b").join(side_a, "a").join(side_b, "b")
    return joined.select("a", "b", "exact_a", "exact_b", "text_a", "text_b")


# --------------------------------------------------------------------------- stage 4


def connected_components(
    edges: DataFrame, *, edges_per_partition: int | None = None, checkpoint: bool = True
) -> DataFrame:
    """(node, label) for every node of `edges` (columns a, b), the label being the smallest
    node of its connected component (the labels of `cluster.clusters_from_pairs`).

    The edges are cut into partitions of about `edges_per_partition` (default
    `EDGES_PER_PARTITION`; an edge goes where its smaller node's other edges go), and each
    partition is first collapsed into stars around its components' smallest nodes by
    `clusters_from_pairs` (union-find, on an executor): the graph keeps its components and,
    when it fits in one partition, is solved already. Then alternating large-star and
    small-star rounds (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014),
    each a few group-bys and joins, run until the edges form one star per component around its
    smallest node: O(log^2 n) rounds, nothing collected on the driver. Each round's edges are
    checkpointed (the session's checkpoint dir) when `checkpoint`, else kept on the executors,
    so that plans stay short.
    """
    from pyspark.sql import functions as F

    spark = edges.sparkSession
    pairs = edges.select("a", "b")
    per = EDGES_PER_PARTITION if edges_per_partition is None else max(1, edges_per_partition)
    parts = max(1, -(-pairs.count() // per))
    nodes = pairs.select(F.col("a").alias("node")).union(pairs.select("b")).distinct()
    stars = pairs.repartition(parts, "a").rdd.mapPartitions(_partition_stars)
    current = spark.createDataFrame(stars, "u bigint, v bigint").distinct()
    for _ in range(200):
        current = current.checkpoint() if checkpoint else current.localCheckpoint()
        if _is_star_forest(current):
            break
        current = _small_star(_large_star(current))
    else:  # pragma: no cover - the rounds provably converge far sooner
        raise RuntimeError("connected components did not converge")
    star = current.select(F.col("u").alias("node"), F.col("v").alias("label"))
    return nodes.join(star, "node", "left").select(
        "node", F.coalesce("label", "node").alias("label")
    )


def _partition_stars(edges: Iterable[Any]) -> Iterator[tuple[int, int]]:
    """Executor: (node, smallest node of its component) for the non-smallest nodes of the
    components of one partition's edges (`clusters_from_pairs`)."""
    from unspin.trace.cluster import clusters_from_pairs

    pairs = [(int(a), int(b)) for a, b in edges]
    if not pairs:
        return
    nodes = sorted({n for pair in pairs for n in pair})
    index = {n: i for i, n in enumerate(nodes)}
    a = np.array([index[x] for x, _ in pairs], dtype=np.int64)
    b = np.array([index[y] for _, y in pairs], dtype=np.int64)
    labels = clusters_from_pairs(len(nodes), a, b)  # smallest index = smallest node
    for i, label in enumerate(labels.tolist()):
        if label != i:
            yield nodes[i], nodes[label]


def _large_star(edges: DataFrame) -> DataFrame:
    """Each node links its larger neighbours to the smallest node of its neighbourhood."""
    from pyspark.sql import functions as F

    both = edges.union(edges.select(F.col("v").alias("u"), F.col("u").alias("v")))
    low = both.groupBy("u").agg(F.min("v").alias("m"))
    low = low.select("u", F.least("m", "u").alias("m"))
    return both.join(low, "u").where(F.col("v") > F.col("u")).select(
        F.col("v").alias("u"), F.col("m").alias("v")
    ).distinct()  # fmt: skip


def _small_star(edges: DataFrame) -> DataFrame:
    """Each node links itself and its smaller neighbours to the smallest of them."""
    from pyspark.sql import functions as F

    low = edges.groupBy("u").agg(F.min("v").alias("m"))
    neighbours = edges.join(low, "u").where(F.col("v") != F.col("m"))
    linked = neighbours.select(F.col("v").alias("u"), F.col("m").alias("v"))
    return linked.union(low.select("u", F.col("m").alias("v"))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Edges (u larger, v smaller) form stars around their smallest nodes: every larger end has
    one edge, and no node is a larger end and a smaller end at once. One Spark job."""
    from pyspark.sql import functions as F

    forked = edges.groupBy("u").count().where(F.col("count") > 1).select("u")
    centres = edges.select(F.col("v").alias("u")).distinct()
    chained = edges.select("u").join(centres, "u")
    return forked.union(chained).limit(1).count() == 0


def _cluster_sources(clusters: Iterable[Any]) -> Iterator[tuple[int, int]]:
    """Executor: (member, source) for every member of each cluster (`choose_source`).

    A cluster arrives with its verified pairs and its members' dates. Each member's wins
    (summed naturalness margins) and closeness (mean identity) are summed in the local
    engine's order (`np.add.at` over the pairs with the member as first side, then as second
    side, each in pair order), so the floats agree bit for bit and ties break the same way.
    """
    from unspin.trace.cluster import Member, choose_source

    for cluster in clusters:
        pairs = sorted(tuple(p) for p in cluster.pairs)  # (a, b, margin, identity)
        dates = dict(tuple(m) for m in cluster.members)
        wins = dict.fromkeys(dates, 0.0)
        closeness = dict.fromkeys(dates, 0.0)
        degree = dict.fromkeys(dates, 0.0)
        for a, _, margin, identity in pairs:
            wins[a] += margin
            closeness[a] += identity
            degree[a] += 1.0
        for _, b, margin, identity in pairs:
            wins[b] += -margin
            closeness[b] += identity
            degree[b] += 1.0
        members = [
            Member(key, dates[key], round(wins[key], 9), closeness[key] / max(degree[key], 1.0))
            for key in sorted(dates)
        ]
        source = choose_source(members)
        for m in members:
            yield m.index, source


# --------------------------------------------------------------------------- stage 6


def _restore_rows(copies: Iterable[Any]) -> Iterator[tuple[int, str]]:
    """Executor: consensus restoration of each spun copy from its cluster's first members."""
    from unspin.trace.cluster import consensus_restore
    from unspin.trace.fingerprint import default_canonicalizer

    canon = default_canonicalizer()
    for copy in copies:
        voters = sorted(tuple(v) for v in copy.voters)
        others = [text for key, text in voters if key != copy.key][:RESTORE_VOTERS]
        restored, _ = consensus_restore(copy.text, others, canon)
        yield copy.key, restored


# --------------------------------------------------------------------------- stage 7


def _output_lines(documents: Iterable[Any]) -> Iterator[tuple[int, str, str | None]]:
    """Executor: (key, JSON line, copy kind or None) of each document."""
    for d in documents:
        if d.similarity is not None:
            row = document_row(
                d.id, "copy", source_id=d.source_id, similarity=d.similarity,
                spin_ratio=d.spin_ratio, exact_copy=d.exact == d.source_exact,
                restored=d.restored,
            )  # fmt: skip
        elif d.source is not None:
            row = document_row(d.id, "source")
        else:
            row = document_row(d.id, "unique")
        yield d.key, json.dumps(row, ensure_ascii=False), row.get("kind")


# --------------------------------------------------------------------------- the run

_SCHEMAS = {
    "documents": "key bigint, id string, date string, exact bigint, bands array<bigint>, "
    "text string",
    "candidates": "a bigint, b bigint",
    "verified": "a bigint, b bigint, similarity double, identity double, spin_a double, "
    "spin_b double, margin double",
    "clusters": "key bigint, source bigint",
    "links": "key bigint, source bigint, similarity double, spin_ratio double",
    "restored": "key bigint, text string",
    "rows": "key bigint, line string, kind string",
}
"""The columns of each stage's table (Spark DDL)."""


class _Job:
    """One run's stages: each is computed once (or found done), written, then read back."""

    def __init__(self, spark: SparkSession, work: _WorkDir, report: Progress) -> None:
        self.spark = spark
        self.work = work
        self.report = report
        self.reused: list[str] = []

    def stage(self, name: str, build: Callable[[], DataFrame]) -> DataFrame:
        """The stage's table: read back when a previous run finished it, else built, written
        as Parquet (Spark commits `_SUCCESS` last), then read back."""
        path = self.work.path(name)
        if self.work.done(name):
            self.reused.append(name)
        else:
            build().write.mode("overwrite").parquet(path)
        self.report("spark stages", _STAGES.index(name) + 1, len(_STAGES))
        return self.spark.read.parquet(path)

    def python(self, frame: DataFrame, fn: Callable[..., Iterator[Any]], name: str,
               *args: Any) -> DataFrame:  # fmt: skip
        """`fn` over the rows of each partition of `frame` (on the executors), as a table of
        stage `name`'s columns: where the project's pure functions run."""
        rows = frame.rdd.mapPartitions(lambda part: fn(part, *args))
        return self.spark.createDataFrame(rows, _SCHEMAS[name])


def run_spark_dedup(
    paths: Sequence[str],
    output: str | os.PathLike[str],
    config: DedupConfig | None = None,
    settings: SparkSettings | None = None,
    *,
    progress: Progress | None = None,
) -> DedupStats:
    """Cluster the documents of `paths` on Spark and write `output` (JSONL); see the module doc.

    Uses the active Spark session if there is one (and leaves it running), else starts one
    from `settings` and stops it at the end.
    """
    config = config or DedupConfig()
    settings = settings or SparkSettings()
    out = Path(output)
    return run_job(settings, lambda spark: _run(spark, paths, out, config, settings, progress))


def run_job(settings: SparkSettings, job: Callable[[SparkSession], T]) -> T:
    """`job` on the active Spark session (left running), or on one started from `settings`
    and stopped at the end; an input error an executor reported is raised as `InputError`."""
    spark, started = spark_session(settings)
    try:
        try:
            return job(spark)
        except Exception as exc:
            found = _input_error(exc)
            if found is not None:
                raise found from None
            failure = _executor_failure(exc)
            if failure is not None:
                raise RuntimeError(f"a Spark task failed: {failure}") from exc
            raise
    finally:
        if started:
            spark.stop()


def _run(
    spark: SparkSession, paths: Sequence[str], out: Path, config: DedupConfig,
    settings: SparkSettings, progress: Progress | None,
) -> DedupStats:  # fmt: skip
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    sc = spark.sparkContext
    stats = DedupStats()
    tasks = read_tasks(paths)
    stats.partitions = len(tasks)
    work = _WorkDir(spark, settings.work_dir or str(work_dir_for(out).absolute()))
    stats.resumed = _prepare(work, input_manifest(paths, config, ENGINE_VERSION))
    sc.setCheckpointDir(work.path("spark-checkpoints"))
    job = _Job(spark, work, progress or (lambda stage, done, total: None))
    params = config.params
    partitions = settings.partitions or max(2 * sc.defaultParallelism, 1)
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))

    # 1. documents: read on the executors (one task per read task), fingerprinted
    def build_documents() -> DataFrame:
        raw = sc.parallelize(list(enumerate(tasks)), max(1, len(tasks))).flatMap(_read_task)
        if len(tasks) < partitions:  # few big files: spread their documents before the work
            raw = raw.repartition(partitions)
        rows = raw.mapPartitions(lambda docs: _fingerprint_partition(docs, params))
        return spark.createDataFrame(rows, _SCHEMAS["documents"])

    docs = job.stage("documents", build_documents)
    stats.documents = docs.count()
    if settings.partitions is None:  # at least one partition per 20,000 documents
        partitions = max(partitions, -(-stats.documents // 20_000))
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    stats.partitions_reused = len(tasks) if "documents" in job.reused else 0

    # 2. candidates: members of each exact-key and (band, key) bucket, paired in key order
    def build_candidates() -> DataFrame:
        exact = docs.select(F.lit(-1).alias("band"), F.col("exact").alias("value"), "key")
        bands = docs.where(F.col("bands").isNotNull()).select(
            F.posexplode("bands").alias("band", "value"), "key"
        )
        buckets = (
            exact.union(bands.select("band", "value", "key"))
            .groupBy("band", "value")
            .agg(F.collect_list("key").alias("members"))
            .where(F.size("members") > 1)
            .select("members")
        )
        pairs = job.python(buckets, _bucket_candidates, "candidates", config.bucket_neighbours)
        return pairs.distinct()

    candidates = job.stage("candidates", build_candidates)
    stats.candidate_pairs = candidates.count()

    # 3. verified: every candidate pair aligned word by word
    verified = job.stage(
        "verified",
        lambda: job.python(_pairs_with_texts(candidates, docs), _verify_rows, "verified"),
    )
    good = verified.where(F.col("similarity") >= config.min_similarity)
    stats.verified_pairs = good.count()

    # 4. clusters: components, members' figures, the source of each
    def build_clusters() -> DataFrame:
        labels = connected_components(good.select("a", "b"))
        pairs = (
            good.join(labels.select(F.col("node").alias("a"), "label"), "a")
            .groupBy("label")
            .agg(F.collect_list(F.struct("a", "b", "margin", "identity")).alias("pairs"))
        )
        members = (
            labels.join(docs.select(F.col("key").alias("node"), "date"), "node")
            .groupBy("label")
            .agg(F.collect_list(F.struct("node", "date")).alias("members"))
        )
        grouped = pairs.join(members, "label").select("pairs", "members")
        return job.python(grouped, _cluster_sources, "clusters")

    clusters = job.stage("clusters", build_clusters)
    copies = clusters.where(F.col("key") != F.col("source"))
    stats.clusters = clusters.where(F.col("key") == F.col("source")).count()

    # 5. links: each copy's figures against its source
    def build_links() -> DataFrame:
        as_a = good.select(F.col("a").alias("key"), F.col("b").alias("source"), "similarity",
                           F.col("spin_a").alias("spin_ratio"))  # fmt: skip
        as_b = good.select(F.col("b").alias("key"), F.col("a").alias("source"), "similarity",
                           F.col("spin_b").alias("spin_ratio"))  # fmt: skip
        known = as_a.union(as_b)
        found = copies.join(known, ["key", "source"])
        # Never verified against its source (not a candidate pair, or under the threshold):
        # aligned now. A pair belongs to one copy (a source is no copy): joined back by pair.
        missing = copies.join(known, ["key", "source"], "left_anti").select(
            "key", "source", F.least("key", "source").alias("a"),
            F.greatest("key", "source").alias("b"),
        )  # fmt: skip
        aligned = job.python(_pairs_with_texts(missing, docs), _verify_rows, "verified")
        computed = missing.join(aligned, ["a", "b"]).select(
            "key", "source", "similarity",
            F.when(F.col("key") == F.col("a"), F.col("spin_a"))
            .otherwise(F.col("spin_b")).alias("spin_ratio"),
        )  # fmt: skip
        return found.select("key", "source", "similarity", "spin_ratio").union(computed)

    links = job.stage("links", build_links)
    stats.copies = links.count()

    # 6. restored: spun copies by majority over their cluster's first members
    restored = None
    if config.restore:

        def build_restored() -> DataFrame:
            first = Window.partitionBy("source").orderBy("key")
            voters = (
                clusters.withColumn("rank", F.row_number().over(first))
                .where(F.col("rank") <= RESTORE_VOTERS + 1)
                .join(docs.select("key", "text"), "key")
                .select("source", F.struct("key", "text").alias("voter"))
            )
            spun = links.where(F.col("spin_ratio") >= SPUN_MIN).select("key", "source")
            jobs = (
                spun.join(voters, "source")
                .groupBy("key")
                .agg(F.collect_list("voter").alias("voters"))
                .join(docs.select("key", "text"), "key")
                .select("key", "text", "voters")
            )
            return job.python(jobs, _restore_rows, "restored")

        restored = job.stage("restored", build_restored)

    # 7. rows: one JSON line per document
    def build_rows() -> DataFrame:
        placed = docs.select("key", "id", "exact").join(clusters, "key", "left")
        sources = docs.select(F.col("key").alias("source"), F.col("id").alias("source_id"),
                              F.col("exact").alias("source_exact"))  # fmt: skip
        detail = links.join(sources, "source").drop("source")
        if restored is not None:
            detail = detail.join(restored.withColumnRenamed("text", "restored"), "key", "left")
        else:
            detail = detail.withColumn("restored", F.lit(None).cast("string"))
        table = placed.join(detail, "key", "left").select(
            "key", "id", "exact", "source", "source_id", "source_exact", "similarity",
            "spin_ratio", "restored",
        )  # fmt: skip
        return job.python(table, _output_lines, "rows")

    rows = job.stage("rows", build_rows)
    kinds = rows.where(F.col("kind").isNotNull()).groupBy("kind").count().collect()
    stats.by_kind = {r["kind"]: int(r["count"]) for r in kinds}

    write_lines((row[0] for row in rows.orderBy("key").select("line").toLocalIterator()), out)
    if not config.keep_work:
        work.delete()
    return stats


def write_lines(lines: Iterable[str], out: Path) -> None:
    """`lines` as the file `out`, one per line, written under a temporary name, synced and
    renamed into place (`unspin.io.results.atomic_text`): a killed run never leaves half an
    output."""
    from unspin.io.results import atomic_text

    with atomic_text(out) as fh:
        for line in lines:
            fh.write(line + "\n")


def main(argv: Sequence[str] | None = None, command: str = "dedup") -> None:
    """`unspin COMMAND --engine spark ARGS...` (dedup by default): the entry point for
    `python -m` and spark-submit (`unspin.engines.spark_scan` runs it for scan)."""
    from unspin.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    cli_main([command, "--engine", "spark", *args])


def run_as_script(file: str, command: str) -> None:
    """Run `main` for `command` from a module run as a file (spark-submit, python -m)."""
    # Run as a file, the module's folder heads sys.path; drop it so that `local`, `spark` and
    # `common` are not importable as top-level modules: the CLI imports the engines again under
    # their package names (the names executors unpickle their functions by).
    here = os.path.dirname(os.path.abspath(file))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)
    main(command=command)


if __name__ == "__main__":  # pragma: no cover - run as a script by spark-submit or python -m
    run_as_script(__file__, "dedup")
