"""`unspin scan --engine spark`: a corpus scanned as a pyspark job, with one machine's results.

Each document is scanned on its own, so the job is one map:

1. documents — the input files are listed on the driver and read on the executors by the
   project's readers, one read task per file (small files grouped; the dedup engine's
   `read_tasks`). A document's key is (task << 40) | position in the task, so sorting by key is
   input order. Documents are spread over the partitions before the work.
2. results — each partition is scanned by `unspin.api.scan`, the model loaded once per executor
   Python worker (its encoder on one thread: Spark runs a worker per core), into the JSON line
   `unspin scan --format jsonl` writes for it.

The results table is written as Parquet under the work dir (default `<output>.work`) and counts
as done when Spark committed it (`_SUCCESS`): a rerun of a killed job whose scan had finished
only writes the output. The output is streamed to the driver in key order into a temporary
file renamed over `output` at the end, so it is the same file, byte for byte, as `unspin scan
--output` of the same inputs on one machine (JSONL, or Parquet for a `.parquet` output).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from unspin import __version__
from unspin.engines.common import Progress, input_stamps, work_dir_for
from unspin.engines.spark import (
    SparkSettings,
    _prepare,
    _WorkDir,
    read_tasks,
    run_job,
    task_documents,
    write_lines,
)
from unspin.io.corpus import CorpusSource
from unspin.io.readers import OnError, ReadStats

if TYPE_CHECKING:  # pyspark is an optional dependency: imported where a job runs
    from pyspark.sql import SparkSession

__all__ = ["ScanJobStats", "run_spark_scan"]

ENGINE_VERSION = "spark-scan-1"
_SCHEMA = "key bigint, line string, verdict string, skipped int"
# Input bytes per partition when none is asked for: a partition is one executor task, and about
# 4 MB of text (600,000 words) is a few minutes' scan on one core, so tasks stay even while the
# model load (a second or two per worker process, once) does not matter.
PARTITION_BYTES = 4 * 2**20


@dataclass
class ScanJobStats:
    """What a Spark scan did: documents scanned (`read`), how many abstained, input records
    skipped (malformed under on_error="skip", or without text), whether a finished scan of a
    previous run was reused."""

    read: int = 0
    abstained: int = 0
    skipped: int = 0
    resumed: bool = False


def run_spark_scan(
    paths: Sequence[str],
    output: str | os.PathLike[str],
    *,
    fast: bool = False,
    model: str | None = None,
    settings: SparkSettings | None = None,
    on_error: OnError = "raise",
    keep_work: bool = False,
    progress: Progress | None = None,
) -> ScanJobStats:
    """Scan the documents of `paths` on Spark and write one result each to `output`, in input
    order: JSONL, or Parquet when `output` ends in `.parquet`. `model`: a model file every
    executor can read (None: the shipped one); `on_error`: a malformed record fails the job
    ("raise", an `InputError` naming file and line) or is skipped and counted ("skip"). Uses
    the active Spark session if there is one (and leaves it running), else starts one from
    `settings` and stops it at the end."""
    settings = settings or SparkSettings(app_name="unspin scan")
    return run_job(
        settings,
        lambda spark: _run(
            spark, paths, Path(output), fast, model, settings, on_error, keep_work, progress
        ),
    )


def _run(
    spark: SparkSession, paths: Sequence[str], out: Path, fast: bool, model: str | None,
    settings: SparkSettings, on_error: OnError, keep_work: bool, progress: Progress | None,
) -> ScanJobStats:  # fmt: skip
    report = progress or (lambda stage, done, total: None)
    sc = spark.sparkContext
    tasks = read_tasks(paths)
    work = _WorkDir(spark, settings.work_dir or str(work_dir_for(out).absolute()))
    from unspin.detect.model import default_model_path

    # Checkpoints of another job (other inputs, model, mode or unspin) are not reused.
    manifest = {
        "engine": ENGINE_VERSION,
        "unspin": __version__,
        "inputs": input_stamps(paths),
        "config": {
            "fast": fast,
            "model": input_stamps([model or str(default_model_path())])[0],
            "on_error": on_error,
        },
    }
    stats = ScanJobStats(resumed=_prepare(work, manifest) and work.done("results"))
    path = work.path("results")
    if not stats.resumed:
        size = sum(os.path.getsize(source.path) for task in tasks for source in task)
        partitions = settings.partitions or max(sc.defaultParallelism, -(-size // PARTITION_BYTES))
        raw = sc.parallelize(list(enumerate(tasks)), max(1, len(tasks)))
        docs = raw.flatMap(lambda task: _read_counted(task, on_error))
        if partitions != len(tasks):  # spread the documents: a scan is CPU work, reading is not
            docs = docs.repartition(partitions)
        rows = docs.mapPartitions(lambda part: _scan_partition(part, fast, model))
        spark.createDataFrame(rows, _SCHEMA).write.mode("overwrite").parquet(path)
    report("spark scan", 1, 2)
    results = spark.read.parquet(path)
    counts = results.groupBy("verdict").agg({"skipped": "sum", "key": "count"}).collect()
    for row in counts:
        if row["verdict"] is None:  # the read tasks' counts of records skipped
            stats.skipped += int(row["sum(skipped)"] or 0)
        else:
            stats.read += int(row["count(key)"])
            stats.abstained += int(row["count(key)"]) * (row["verdict"] == "abstain")
    documents = results.where(results["line"].isNotNull()).orderBy("key").select("line")
    _write_output((r[0] for r in documents.toLocalIterator()), out)
    report("spark scan", 2, 2)
    if not keep_work:
        work.delete()
    return stats


def _read_counted(
    task: tuple[int, list[CorpusSource]], on_error: OnError
) -> Iterator[tuple[int, str | None, str | None, int]]:
    """Executor: (key, id, text, 0) of every document of one read task, in order, then
    (-1 - task, None, None, records skipped): the count travels with the results."""
    stats = ReadStats()
    for key, doc in task_documents(task, on_error, stats):
        yield key, doc.id, doc.text, 0
    yield -1 - task[0], None, None, stats.skipped


def _scan_partition(
    docs: Iterable[tuple[int, str | None, str | None, int]], fast: bool, model: str | None
) -> Iterator[tuple[int, str | None, str | None, int]]:
    """Executor: (key, JSON line, verdict, 0) of each document of one partition; the read
    tasks' skip counts pass through."""
    os.environ.setdefault("UNSPIN_ENCODER_THREADS", "1")
    from unspin.api import scan
    from unspin.engines.scan import tune_gc_for_batch
    from unspin.io.results import json_line

    tune_gc_for_batch()
    for key, doc_id, text, skipped in docs:
        if doc_id is None or text is None:
            yield key, None, None, skipped
            continue
        result = scan(text, doc_id=doc_id, fast=fast, model=model)
        yield key, json_line(result.to_dict()), result.verdict, 0


def _write_output(lines: Iterable[str], out: Path) -> None:
    """The result lines, in order, as `out` (JSONL, or Parquet for a .parquet name), written
    under a temporary name and renamed into place when complete."""
    if out.suffix.lower() == ".parquet":
        from unspin.io.results import ParquetResults

        with ParquetResults(out) as table:
            for line in lines:
                table.write(json.loads(line))
        return
    write_lines(lines, out)


if __name__ == "__main__":  # pragma: no cover - run as a script by spark-submit or python -m
    from unspin.engines.spark import run_as_script

    run_as_script(__file__, "scan")
