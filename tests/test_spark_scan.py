"""`unspin scan --engine spark`: the results of one machine, byte for byte; resume; bad input.

Runs pyspark in local mode (`local[2]`, one session for the module) with the shipped model;
skipped only where pyspark is not installed (it is in the `test` extra, so CI runs these).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from unspin.spin import spin

pytest.importorskip("pyspark")

from test_spark_engine import STORIES  # noqa: E402 - made-up news items of our own

from unspin.engines import spark as spark_engine  # noqa: E402 - needs pyspark
from unspin.engines.spark import SparkSettings  # noqa: E402
from unspin.engines.spark_scan import run_spark_scan  # noqa: E402


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session, started = spark_engine.spark_session(SparkSettings(master="local[2]"))
    yield session
    if started:
        session.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A JSONL file of clean and spun stories and a short note, and a Parquet file with one
    row that has no text (skipped and counted)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = tmp_path_factory.mktemp("scan-corpus")
    rows = []
    for k, (name, text) in enumerate(sorted(STORIES.items())):
        rows.append({"id": name, "text": text})
        rows.append({"id": f"{name}-spun", "text": spin(text, "spinbot", rate=0.3, seed=k).text})
    rows.append({"id": "note", "text": "Too short to judge."})
    a = root / "a.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in rows))
    b = root / "b.parquet"
    texts = [None, STORIES["chess"].upper()]
    pq.write_table(pa.table({"id": ["empty", "shouting"], "text": texts}), b)
    return [str(a), str(b)]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from unspin.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code), capsys.readouterr().err


@pytest.fixture(scope="module")
def local_results(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from unspin.cli import main

    out = tmp_path_factory.mktemp("local") / "results.jsonl"
    with pytest.raises(SystemExit):
        main(["scan", *inputs, "--output", str(out)])
    return out.read_bytes()


def test_spark_scan_writes_what_one_machine_writes(
    spark: object, inputs: list[str], local_results: bytes, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "results.jsonl"
    args = ("scan", *inputs, "--engine", "spark", "--output", str(out), "--keep-work")
    code, err = _cli(capsys, *args, "--spark-partitions", "3")
    assert code == 0 and out.read_bytes() == local_results
    rows = [json.loads(line) for line in local_results.decode().splitlines()]
    assert len(rows) == 2 * len(STORIES) + 2  # the Parquet row without text is not scanned
    assert "skipped 1 malformed, abstained 1" in err and f"read {len(rows)} documents" in err
    assert {r["verdict"] for r in rows} >= {"spun", "clean", "abstain"}

    # A run whose scan had finished (killed while writing the output) only writes it again.
    work = out.with_name(out.name + ".work")
    assert (work / "results" / "_SUCCESS").exists()
    out.unlink()
    stats = run_spark_scan(inputs, out, settings=SparkSettings(partitions=1), keep_work=True)
    assert stats.resumed and out.read_bytes() == local_results
    assert (stats.read, stats.skipped, stats.abstained) == (len(rows), 1, 1)
    # Another job (here --fast) finds those checkpoints and does not reuse them.
    stats = run_spark_scan(inputs, out, fast=True)
    assert not stats.resumed and len(out.read_bytes().splitlines()) == len(rows)
    assert not work.exists()  # checkpoints removed after success
    assert not list(tmp_path.glob(".*tmp"))


def test_spark_scan_writes_parquet(
    spark: object, inputs: list[str], local_results: bytes, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import pyarrow.parquet as pq

    out = tmp_path / "results.parquet"
    code, _ = _cli(capsys, "scan", *inputs, "--engine", "spark", "--output", str(out))
    assert code == 0
    want = [json.loads(line) for line in local_results.decode().splitlines()]
    assert pq.read_table(out).to_pylist() == want


def test_spark_scan_input_errors_and_options_it_does_not_take(
    spark: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    text = STORIES["orchard"]
    bad.write_text(json.dumps({"id": "a", "text": text}) + '\n{"id": "b", "text": \n')
    out = tmp_path / "out.jsonl"
    code, err = _cli(capsys, "scan", str(bad), "--engine", "spark", "--output", str(out))
    assert code == 2 and "bad.jsonl:2" in err.strip().splitlines()[-1]
    assert not out.exists()
    code, err = _cli(
        capsys, "scan", str(bad), "--engine", "spark", "--output", str(out), "--on-error", "skip"
    )
    assert code == 0 and "read 1 documents, wrote 1, skipped 1 malformed" in err
    spark_scan = ("scan", str(bad), "--engine", "spark", "--output", str(out))
    for extra in (("--workers", "2"), ("--index", "i.sqlite"), ("--format", "json")):
        code, err = _cli(capsys, *spark_scan, *extra)
        assert code == 2, extra
    code, err = _cli(capsys, "scan", str(bad), "--engine", "spark")  # results go to a file
    assert code == 2 and "--output" in err


def test_spark_bad_input_says_one_line_from_a_fresh_process(tmp_path: Path) -> None:
    """In a process of its own (its own JVM, started by unspin): stderr holds the one line of
    the input error, not Spark's per-task stack traces nor the JDK's start-up notes."""
    import subprocess
    import sys

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "text": STORIES["orchard"]}) + "\n{not json\n")
    out = tmp_path / "out.jsonl"
    args = ["scan", str(bad), "--engine", "spark", "--spark-master", "local[1]"]
    args += ["--output", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "unspin.cli", *args], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"unspin: {bad}:2: invalid JSON"), lines[:40]
    assert not out.exists()


def test_a_failed_task_is_reported_by_its_python_exception(spark: object) -> None:
    def job(session: object) -> list[float]:
        numbers = session.sparkContext.parallelize([1, 2], 2)  # type: ignore[attr-defined]
        return numbers.map(lambda x: x / 0).collect()

    with pytest.raises(RuntimeError, match=r"^a Spark task failed: ZeroDivisionError: ") as info:
        spark_engine.run_job(SparkSettings(), job)
    assert "Traceback" not in str(info.value) and info.value.__cause__ is not None
