"""The Spark dedup engine: same output as the local engine, resume, input errors, the CLI.

Runs pyspark in local mode (`local[2]`, one session for the module); skipped only where pyspark
is not installed (it is in the `test` extra, so CI runs these).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from unspin.engines.common import DedupConfig
from unspin.engines.local import run_dedup
from unspin.errors import InputError
from unspin.spin import spin
from unspin.trace.cluster import clusters_from_pairs
from unspin.types import Document

pytest.importorskip("pyspark")

from unspin.engines import spark as spark_engine  # noqa: E402 - needs pyspark
from unspin.engines.spark import SparkSettings, read_tasks, run_spark_dedup  # noqa: E402

# Made-up news items, written for these tests.
STORIES = {
    "ferry": (
        "The Kestrel Line cancelled its 07:40 ferry from Port Aldwin to Skerry Island on "
        "Monday after a fault was found in one of the two engines of the MV Halberd. About "
        "180 passengers were moved to a later crossing, and 26 lorries waited at the harbour "
        "for most of the morning. Captain Imogen Vass said engineers from Cardew Marine had "
        "replaced a fuel pump by noon and that the ship would return to its normal timetable "
        "on Tuesday. Islanders have asked the council for a second vessel since 2019."
    ),
    "orchard": (
        "A heritage orchard at Lowther Farm near Brindleford has been saved from development "
        "after 2,400 residents signed a petition organised by the Brindleford Trust. The "
        "planning committee voted 7 to 2 against a proposal for 64 houses on the site, where "
        "apple trees of 31 local varieties were planted in the 1920s. The trust now hopes to "
        "raise 450,000 pounds to buy the land and open it to schools, and volunteer Priya "
        "Oduya said the first harvest festival would be held there in October."
    ),
    "chess": (
        "Sixteen-year-old Tomasz Wielgus won the Northfield Open chess tournament on Sunday, "
        "beating grandmaster Elena Roskova in the final round after a game of 61 moves. "
        "Wielgus, who learned to play at a club in Harlow Street, finished with 7.5 points "
        "from nine games and takes home a prize of 3,000 euros. Organisers said 212 players "
        "from 14 countries had entered, a record for the event, which was first held in 1978 "
        "in the basement of the old Northfield library."
    ),
    "bakery": (
        "Flourish, the bakery chain founded by Marta Quell in 2011, will close 18 of its 52 "
        "shops by March, the company said on Thursday. Rising costs of butter and wheat, and "
        "rents in the centres of Dunmere and Caxby, were blamed for losses of 2.1 million "
        "pounds last year. Around 140 staff are expected to lose their jobs, although Quell "
        "said some would be offered places at the remaining branches and at a new central "
        "kitchen opening in the Fenwick industrial park."
    ),
    "telescope": (
        "Astronomers at the Corrie Ridge Observatory have photographed a comet that will pass "
        "closest to the Sun in August 2027, the observatory announced. The object, named "
        "C/2025 K3 after its discovery in May, was first spotted by amateur observer Daniel "
        "Achebe using a 28 centimetre telescope in his garden in Ettrick. Dr Saoirse Flann "
        "said the comet is currently about 640 million kilometres away and may become bright "
        "enough to see with binoculars for a few weeks."
    ),
    "marathon": (
        "More than 9,000 runners took part in the Calder Valley marathon on Saturday, despite "
        "heavy rain that flooded part of the course near Ryburn Bridge. Kenyan athlete Joseph "
        "Kiprop won the men's race in 2 hours 11 minutes, while local runner Hannah Beldon "
        "took the women's title on her first attempt. Race director Colin Mayhew thanked "
        "the 600 volunteers and said the money raised, over 800,000 pounds, would go to "
        "the hospice in Todmorden and to mountain rescue teams."
    ),
}
# Unrelated short notes (few names and numbers: fingerprinted by their skeleton).
NOTES = [
    "The meeting has been moved to next week because the hall is being painted.",
    "Please remember to bring your own cups to the picnic on the village green.",
    "Our shop will be closed for the holiday and will open again after the weekend.",
]


def _corpus() -> tuple[list[dict], list[Document], list[Document]]:
    """Three inputs: JSONL records (with dates), text files for a folder, Parquet rows."""
    rng = random.Random(5)
    profiles = ["spinbot", "bestspinner", "wordai", "moby-rare", "wordnet", "spinnerchief"]
    docs: list[Document] = [Document(k, v, {}) for k, v in STORIES.items()]
    docs += [Document(f"note{k}", t, {}) for k, t in enumerate(NOTES)]
    docs.append(Document("ferry-again", STORIES["ferry"], {}))  # an exact copy
    first, *rest = STORIES["chess"].split(". ")
    docs.append(Document("chess-edit", ". ".join(rest) + " It was sunny.", {}))  # lightly edited
    for k in range(10):
        name = ["ferry", "orchard", "bakery", "telescope", "marathon"][k % 5]
        text = spin(STORIES[name], profiles[k % 6], rate=0.1 + 0.1 * (k % 4), seed=k).text
        docs.append(Document(f"{name}-spun{k}", text, {}))
    docs.append(Document("note0-spun", spin(NOTES[0], "spinbot", rate=0.3, seed=1).text, {}))
    rng.shuffle(docs)
    # Dated documents: an earlier-dated spun copy must become its cluster's source.
    jsonl = [
        {"id": "orchard-dated", "text": STORIES["orchard"], "date": "2024-06-02"},
        {"id": "orchard-early", "text": spin(STORIES["orchard"], "wordai", rate=0.3, seed=9).text,
         "date": "2024-06-01"},
    ]  # fmt: skip
    jsonl += [{"id": d.id, "text": d.text} for d in docs[:8]]
    return jsonl, docs[8:16], docs[16:]


def _write_inputs(root: Path) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl, files, rows = _corpus()
    a = root / "a.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in jsonl))
    folder = root / "site"
    (folder / "sub").mkdir(parents=True)
    for k, d in enumerate(files):
        (folder / ("sub" if k % 2 else "") / f"{d.id}.txt").write_text(d.text)
    c = root / "c.parquet"
    pq.write_table(
        pa.table({"id": [d.id for d in rows], "text": [d.text for d in rows]}), c, row_group_size=3
    )
    return [str(a), str(folder), str(c)]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session, started = spark_engine.spark_session(
        SparkSettings(master="local[2]", conf=(("spark.sql.shuffle.partitions", "2"),))
    )
    yield session
    if started:
        session.stop()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _write_inputs(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def local_output(inputs: list[str], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("local") / "clusters.jsonl"
    run_dedup(inputs, out, DedupConfig(workers=1, partition_size=7, restore=True))
    return out.read_bytes()


def _rows(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


# --------------------------------------------------------------------------- pieces


def test_read_tasks_keep_reading_order(inputs: list[str]) -> None:
    tasks = read_tasks(inputs, max_files=3)
    flat = [s for task in tasks for s in task]
    assert len(tasks) > 2 and all(len(t) <= 3 for t in tasks)
    assert flat[0].path == inputs[0] and flat[-1].path == inputs[2]
    from unspin.io.corpus import read_corpus, read_source

    assert [d.id for s in flat for d in read_source(s)] == [d.id for d in read_corpus(inputs)]


def test_partition_stars_join_each_component_to_its_smallest_node() -> None:
    from unspin.engines.spark import _partition_stars

    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 60, size=50), rng.integers(0, 60, size=50)
    a = np.concatenate([a, np.arange(30, 49)])  # and a long path
    b = np.concatenate([b, np.arange(31, 50)])
    want = clusters_from_pairs(60, a, b)
    got = dict(_partition_stars(zip((a * 1000).tolist(), (b * 1000).tolist(), strict=True)))
    for node in set(a.tolist()) | set(b.tolist()):
        assert got.get(node * 1000, node * 1000) == want[node] * 1000


def test_verify_rows_keep_both_texts_of_a_pair_when_the_cache_is_full() -> None:
    from unspin.engines.spark import _verify_rows

    # Document 0 against 300 others: its words are cached first, so the oldest entry when
    # the word cache fills up.
    pairs = [(0, k, 7, 7, NOTES[0], NOTES[1]) for k in range(1, 301)]
    rows = list(_verify_rows(pairs))
    assert len(rows) == 300 and rows[-1][:2] == (0, 300)


# --------------------------------------------------------------------------- the engine


def _run_cli(*args: str) -> int:
    from unspin.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code)


def test_spark_engine_writes_what_the_local_engine_writes(
    spark: object, inputs: list[str], local_output: bytes, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(spark_engine, "TASK_FILES", 3)  # several read tasks, keys across them
    # Verified pairs in partitions of 3: clusters span partitions, star rounds join them up.
    monkeypatch.setattr(spark_engine, "EDGES_PER_PARTITION", 3)
    rounds = []
    large_star = spark_engine._large_star
    monkeypatch.setattr(spark_engine, "_large_star", lambda e: rounds.append(1) or large_star(e))
    out = tmp_path / "clusters.jsonl"
    args = ("dedup", *inputs, "--output", str(out), "--engine", "spark", "--restore")
    assert _run_cli(*args, "--keep-work", "--spark-partitions", "2") == 0
    assert out.read_bytes() == local_output
    assert rounds  # the distributed connected components did some work
    assert "clusters" in capsys.readouterr().err
    rows = {r["id"]: r for r in _rows(local_output)}
    assert rows["orchard-early"]["role"] == "source"  # the earliest date wins
    assert rows["orchard-dated"]["cluster"] == "orchard-early"
    assert rows["ferry-again"]["cluster"] == rows["ferry"]["cluster"]
    assert any(r.get("evidence") == "consensus" for r in rows.values())
    assert sum(r["role"] == "source" for r in rows.values()) >= 5

    # A run killed after clustering resumes from its checkpoints to the same output.
    work = out.with_name(out.name + ".work")
    assert (work / "verified" / "_SUCCESS").exists()
    for stage in ("restored", "rows"):
        shutil.rmtree(work / stage)
    (work / "links" / "_SUCCESS").unlink()  # a stage cut short is done again
    out.unlink()
    stats = run_spark_dedup(inputs, out, DedupConfig(restore=True), SparkSettings(partitions=1))
    assert stats.resumed and out.read_bytes() == local_output
    assert stats.documents == len(rows) and stats.by_kind.get("spun", 0) >= 10
    assert not work.exists()  # checkpoints removed after success
    assert not list(tmp_path.glob(".*tmp"))


def test_bad_input_is_an_input_error(spark: object, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": \n')
    with pytest.raises(InputError, match="bad.jsonl:2"):
        run_spark_dedup([str(bad)], tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_cli_without_pyspark_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import unspin.engines

    monkeypatch.setattr(unspin.engines, "spark_available", lambda: False)
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"id": "a", "text": NOTES[0]}) + "\n")
    out = tmp_path / "out.jsonl"
    assert _run_cli("dedup", str(src), "--output", str(out), "--engine", "spark") == 2
    assert "pip install 'unspin[spark]'" in capsys.readouterr().err


def test_jvm_start_notes_are_dropped_and_the_rest_passed_on() -> None:
    note = b"WARNING: Using incubator modules: jdk.incubator.vector\n"
    later = [b"26/12/01 WARN Foo: a warning\n", b"[Stage 1:>   (0 + 2) / 2]\r"]
    stream = b"Picked up options\n" + note + b"".join(later)
    for cut in range(1, len(stream)):  # every way of splitting the stream in two reads
        notes = spark_engine._StartNotesFilter()  # noqa: SLF001
        out = notes.feed(stream[:cut]) + notes.feed(stream[cut:]) + notes.pending
        assert out == stream.replace(note, b""), cut
    notes = spark_engine._StartNotesFilter()  # noqa: SLF001
    assert notes.feed(b"Picked up opt") == b""  # a line is held until it is whole
    assert notes.feed(b"ions\n" + note + later[1]) == b"Picked up options\n" + later[1]
    assert notes.feed(note) == note  # once by, nothing is read any more
    notes = spark_engine._StartNotesFilter()  # noqa: SLF001
    assert notes.feed(b"[Stage 0:>", started=True) == b"[Stage 0:>"  # the JVM is up: pass on


def test_jvm_start_notes_pass_through_a_pipe(tmp_path: Path) -> None:
    import os
    import threading

    sink = tmp_path / "stderr"
    read, write = os.pipe()
    target = os.open(sink, os.O_WRONLY | os.O_CREAT)
    thread = threading.Thread(
        target=spark_engine._pass_stderr,  # noqa: SLF001
        args=(read, target, threading.Event()),
    )
    thread.start()
    os.write(write, b"WARNING: Using incubator modules: x\nan error\n[Stage 1:>\r")
    os.close(write)
    thread.join(timeout=10)
    assert not thread.is_alive() and sink.read_bytes() == b"an error\n[Stage 1:>\r"
