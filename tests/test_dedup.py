"""Tests for corpus-scale dedup: candidate buckets, clusters, roles, consensus, resume, CLI."""

from __future__ import annotations

import itertools
import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from unspin.bench import metrics
from unspin.engines.local import DedupConfig, bucket_pairs, run_dedup, work_dir_for
from unspin.errors import InputError
from unspin.spin import spin
from unspin.trace.cluster import (
    Member,
    UnionFind,
    choose_source,
    clusters_from_pairs,
    consensus_restore,
)
from unspin.types import Document

STORIES = {
    "bridge": (
        "Engineers closed the Ashford Bridge over the river Lune on Tuesday after divers found "
        "cracks in two of its 1910 stone piers. The county council said traffic would be sent "
        "through Millbeck for at least three months, adding about 20 minutes to journeys into "
        "the town centre. Residents complained that they had warned officials about the damage "
        "last winter, but a spokesman for the council said earlier inspections had found "
        "nothing serious. Repairs are expected to cost around 1.8 million pounds."
    ),
    "library": (
        "The public library in Wexham will reopen in September after a renovation that took "
        "almost two years and cost 3.5 million pounds, the town's mayor Dara Finch announced. "
        "The building now has a larger reading room, a small theatre and a cafe run by "
        "volunteers. Finch said the old card catalogue, donated in 1962 by the Holloway family, "
        "would be kept on display near the entrance so that older visitors could still use it."
    ),
    "market": (
        "Shares in Quillon Foods fell 12 percent on Wednesday after the grocer warned that "
        "profits for 2024 would be lower than expected because of rising energy bills. The "
        "company, which runs 340 shops across the north, said it would freeze hiring and delay "
        "the opening of a new warehouse near Brantwick. Analysts at Harrow Lane Capital said "
        "the warning was not a surprise, given the pressure on households, but questioned "
        "whether the firm could keep its prices below those of larger rivals."
    ),
    "storm": (
        "Heavy rain flooded dozens of homes in the coastal village of Pellworth overnight, and "
        "firefighters rescued 14 people from cars trapped on the B4120. The weather service had "
        "issued an amber warning on Sunday, but many residents said the water rose faster than "
        "anyone had predicted. A rest centre was opened in the Pellworth community hall, where "
        "volunteers handed out blankets and hot drinks until the early morning."
    ),
}


def _corpus() -> tuple[list[Document], dict[str, str]]:
    """Originals, planted copies (exact, spun at three rates) and the source of each copy."""
    docs = [Document(k, v, {}) for k, v in STORIES.items()]
    truth: dict[str, str] = {}
    docs.append(Document("bridge-copy", STORIES["bridge"], {}))
    truth["bridge-copy"] = "bridge"
    for k, (profile, rate) in enumerate(
        [("spinbot", 0.1), ("bestspinner", 0.3), ("moby-rare", 0.4), ("wordai", 0.3)]
    ):
        for name in ("bridge", "market"):
            cid = f"{name}-spun{k}"
            docs.append(Document(cid, spin(STORIES[name], profile, rate=rate, seed=k).text, {}))
            truth[cid] = name
    random.Random(3).shuffle(docs)
    return docs, truth


def _write_jsonl(path: Path, docs: list[Document]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps({"id": d.id, "text": d.text, **d.meta}) + "\n")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --------------------------------------------------------------------------- pure parts


def test_bucket_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 6, size=40)
    valid = rng.random(40) > 0.2
    codes = bucket_pairs(keys, valid, neighbours=50)
    got = {(int(c) // 40, int(c) % 40) for c in codes}
    want = {
        (i, j)
        for i, j in itertools.combinations(range(40), 2)
        if valid[i] and valid[j] and keys[i] == keys[j]
    }
    assert got == want


def test_bucket_pairs_limits_huge_buckets_but_keeps_them_connected() -> None:
    keys = np.zeros(1000, dtype=np.int64)
    codes = bucket_pairs(keys, np.ones(1000, dtype=bool), neighbours=4)
    assert len(codes) == 999 + 998 + 997
    labels = clusters_from_pairs(1000, codes // 1000, codes % 1000)
    assert (labels == 0).all()


def test_union_find_labels_do_not_depend_on_pair_order() -> None:
    pairs = [(5, 2), (2, 9), (7, 8), (1, 1)]
    for perm in itertools.permutations(pairs):
        a = np.array([p[0] for p in perm])
        b = np.array([p[1] for p in perm])
        assert clusters_from_pairs(10, a, b).tolist() == [0, 1, 2, 3, 4, 2, 6, 7, 7, 2]
    uf = UnionFind(3)
    uf.union(2, 1)
    assert uf.find(2) == 1


def test_choose_source() -> None:
    undated = [Member(0, None, -0.5), Member(1, None, 1.0), Member(2, None, 1.0)]
    assert choose_source(undated) == 1  # least spun, ties to the first in the input
    # An unspun edit reads as naturally as the source, but is further from everyone.
    edit = [Member(0, None, 1.2, 0.80), Member(1, None, 1.1, 0.90), Member(2, None, -2.3, 0.85)]
    assert choose_source(edit) == 1
    spun_only = [Member(0, None, -0.5, 0.9), Member(1, None, -0.1, 0.7)]
    assert choose_source(spun_only) == 1  # no member reads naturally: the best one
    dated = [Member(0, None, 3.0), Member(1, "2021-05-01", -1.0), Member(2, "2020-01-01", -2.0)]
    assert choose_source(dated) == 2  # the earliest date wins over spin evidence


def test_consensus_restores_a_copy_from_other_copies_alone() -> None:
    original = STORIES["market"]
    copies = [spin(original, p, rate=0.3, seed=k).text for k, p in enumerate(
        ["spinbot", "bestspinner", "moby-rare", "wordnet", "spinnerchief"]
    )]  # fmt: skip
    restored, subs = consensus_restore(copies[0], copies[1:])  # the source itself not given
    assert subs
    words = metrics.word_list(original)
    before = metrics.edit_distance(metrics.word_list(copies[0]), words)
    after = metrics.edit_distance(metrics.word_list(restored), words)
    assert after <= before // 3


# --------------------------------------------------------------------------- the engine


def test_dedup_clusters_copies_with_their_source(tmp_path: Path) -> None:
    docs, truth = _corpus()
    src = tmp_path / "corpus.jsonl"
    _write_jsonl(src, docs)
    out = tmp_path / "clusters.jsonl"
    stats = run_dedup([str(src)], out, DedupConfig(workers=1, partition_size=4, restore=True))
    rows = _rows(out)
    assert [r["id"] for r in rows] == [d.id for d in docs]  # one line per document, in order
    by_id = {r["id"]: r for r in rows}
    for cid, source in truth.items():
        assert by_id[cid]["role"] == "copy"
        assert by_id[cid]["cluster"] == by_id[source]["cluster"]
    assert by_id["market"]["role"] == "source" and by_id["market"]["cluster"] == "market"
    assert by_id["bridge"]["cluster"] in ("bridge", "bridge-copy")
    assert by_id["library"]["role"] == "unique" and by_id["storm"]["role"] == "unique"
    assert by_id["bridge-copy"]["kind"] == "exact" or by_id["bridge"]["kind"] == "exact"
    for cid in truth:
        r = by_id[cid]
        if r["kind"] == "spun":
            assert r["similarity"] >= 0.9 and r["spin_ratio"] > 0
            assert r["evidence"] == "consensus" and r["restored"]
    assert stats.clusters == 2 and stats.documents == len(docs)
    assert not work_dir_for(out).exists()  # checkpoints removed after success


def test_dedup_prefers_the_earliest_date(tmp_path: Path) -> None:
    docs = [
        Document("late", STORIES["storm"], {"date": "2024-05-02"}),
        Document("spun", spin(STORIES["storm"], "spinbot", rate=0.3, seed=2).text,
                 {"date": "2024-05-01"}),
        Document("other", STORIES["library"], {}),
    ]  # fmt: skip
    src = tmp_path / "c.jsonl"
    _write_jsonl(src, docs)
    out = tmp_path / "out.jsonl"
    run_dedup([str(src)], out, DedupConfig(workers=1))
    roles = {r["id"]: (r["role"], r["cluster"]) for r in _rows(out)}
    assert roles == {
        "late": ("copy", "spun"),
        "spun": ("source", "spun"),
        "other": ("unique", "other"),
    }


class _Killed(Exception):
    pass


def _dies_after(docs: list[Document], n: int) -> Iterator[Document]:
    for k, d in enumerate(docs):
        if k == n:
            raise _Killed
        yield d


def test_a_killed_run_resumes_to_the_same_output(tmp_path: Path) -> None:
    docs, _ = _corpus()
    src = tmp_path / "corpus.jsonl"
    _write_jsonl(src, docs)
    config = DedupConfig(workers=1, partition_size=3)
    whole = tmp_path / "whole.jsonl"
    run_dedup([str(src)], whole, config)

    out = tmp_path / "resumed.jsonl"
    with pytest.raises(_Killed):
        run_dedup([str(src)], out, config, documents=_dies_after(docs, 7))
    work = work_dir_for(out)
    assert sorted(p.name for p in work.glob("part-*")) == ["part-000000", "part-000001"]
    assert not out.exists()
    stats = run_dedup([str(src)], out, config)
    assert stats.resumed and stats.partitions_reused == 2
    assert out.read_bytes() == whole.read_bytes()

    # Killed later: verification checkpoints are reused too, output identical again.
    keep = DedupConfig(workers=1, partition_size=3, keep_work=True)
    again = tmp_path / "again.jsonl"
    run_dedup([str(src)], again, keep)
    for f in work_dir_for(again).glob("links-*"):
        f.unlink()
    again.unlink()
    stats = run_dedup([str(src)], again, keep)
    assert stats.resumed and again.read_bytes() == whole.read_bytes()


def test_a_changed_input_starts_over(tmp_path: Path) -> None:
    docs, _ = _corpus()
    src = tmp_path / "corpus.jsonl"
    _write_jsonl(src, docs)
    out = tmp_path / "out.jsonl"
    keep = DedupConfig(workers=1, partition_size=5, keep_work=True)
    run_dedup([str(src)], out, keep)
    _write_jsonl(src, docs[:6])
    stats = run_dedup([str(src)], out, keep)
    assert not stats.resumed and stats.documents == 6 and len(_rows(out)) == 6


def test_a_file_changed_or_added_inside_an_input_folder_starts_over(tmp_path: Path) -> None:
    docs, _ = _corpus()
    folder = tmp_path / "site" / "deep"
    folder.mkdir(parents=True)
    for d in docs:
        (folder / f"{d.id}.txt").write_text(d.text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    keep = DedupConfig(workers=1, partition_size=5, keep_work=True)
    run_dedup([str(tmp_path / "site")], out, keep)
    changed = folder / f"{docs[0].id}.txt"
    changed.write_text(docs[1].text, encoding="utf-8")  # now an exact copy of another
    stats = run_dedup([str(tmp_path / "site")], out, keep)
    assert not stats.resumed
    rows = {r["id"]: r for r in _rows(out)}
    first, second = rows[f"deep/{docs[0].id}.txt"], rows[f"deep/{docs[1].id}.txt"]
    assert first["cluster"] == second["cluster"]  # read as it is now, in its new family
    (folder / "added.txt").write_text(docs[2].text, encoding="utf-8")
    stats = run_dedup([str(tmp_path / "site")], out, keep)
    assert not stats.resumed and stats.documents == len(docs) + 1


def test_linked_folders_are_read_once(tmp_path: Path) -> None:
    from unspin.io.corpus import corpus_files

    root = tmp_path / "site"
    (root / "real").mkdir(parents=True)
    (root / "real" / "story.txt").write_text("A story about the harbour.", encoding="utf-8")
    (root / "linked").symlink_to(root / "real", target_is_directory=True)
    (root / "real" / "loop").symlink_to(root, target_is_directory=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "other.txt").write_text("Another story, kept elsewhere.", encoding="utf-8")
    (root / "more").symlink_to(outside, target_is_directory=True)
    names = [p.relative_to(root).as_posix() for p in corpus_files(root)]
    # "linked" comes first in the sorted walk: "real" is the same folder, met again
    assert names == ["linked/story.txt", "more/other.txt"]


def test_dedup_with_worker_processes_matches_one_process(tmp_path: Path) -> None:
    docs, _ = _corpus()
    src = tmp_path / "corpus.jsonl"
    _write_jsonl(src, docs)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    run_dedup([str(src)], one, DedupConfig(workers=1, partition_size=4, pair_chunk=7))
    run_dedup([str(src)], two, DedupConfig(workers=2, partition_size=4, pair_chunk=7))
    assert one.read_bytes() == two.read_bytes()


def test_cli_dedup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import unspin.engines
    from unspin.cli import main

    docs, truth = _corpus()
    folder = tmp_path / "site"
    (folder / "a").mkdir(parents=True)
    for k, d in enumerate(docs):
        (folder / ("a" if k % 2 else "") / f"{d.id}.txt").write_text(d.text)
    out = tmp_path / "clusters.jsonl"

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        return int(exc.value.code)

    assert run("dedup", str(folder), "--output", str(out), "--workers", "1") == 0
    rows = _rows(out)
    assert len(rows) == len(docs)
    assert sum(r["role"] == "copy" for r in rows) == len(truth)
    assert "clusters" in capsys.readouterr().err
    monkeypatch.setattr(unspin.engines, "spark_available", lambda: False)  # no pyspark
    assert run("dedup", str(folder), "--output", str(out), "--engine", "spark") == 2
    assert run("dedup", str(tmp_path / "nope"), "--output", str(out)) == 2
    assert run("dedup", str(folder), "--output", str(out), "--engine", "hadoop") == 2
    shutil.rmtree(folder)


def test_cli_dedup_refuses_outputs_and_inputs_a_rerun_would_trip_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from unspin.cli import main

    docs, _ = _corpus()
    for name in ("a", "b"):  # the same file names in two folders: the same ids
        (tmp_path / name).mkdir()
        for d in docs[:4]:
            (tmp_path / name / f"{d.id}.txt").write_text(d.text, encoding="utf-8")

    def run(*args: str) -> tuple[int, list[str]]:
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        return int(exc.value.code), capsys.readouterr().err.strip().splitlines()

    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    code, err = run("dedup", a, "--output", str(tmp_path / "a" / "clusters.jsonl"))
    assert code == 2 and len(err) == 1 and "inside an input folder" in err[0]
    code, err = run("dedup", a, str(tmp_path / "a" / ".." / "a"), "--output", "x.jsonl")
    assert code == 2 and len(err) == 1 and "given twice" in err[0]
    code, err = run("dedup", a, b, "--output", str(tmp_path / "out.jsonl"), "--workers", "1")
    assert code == 0 and "warning: 4 documents have an id an earlier one has" in err[-1]


def test_api_dedup_checks_what_the_cli_checks(tmp_path: Path) -> None:
    import unspin.api

    docs, _ = _corpus()
    src = tmp_path / "corpus.jsonl"
    _write_jsonl(src, docs)
    before = src.read_bytes()
    with pytest.raises(InputError, match="is also an input"):
        unspin.api.dedup([str(src)], str(src))
    assert src.read_bytes() == before
    with pytest.raises(ValueError, match="min_similarity"):
        unspin.api.dedup([str(src)], str(tmp_path / "out.jsonl"), min_similarity=5)
    counts = unspin.api.dedup(str(src), str(tmp_path / "out.jsonl"), workers=1)  # one path
    assert counts["documents"] == len(docs) and counts["repeated_ids"] == 0


# --------------------------------------------------------------------------- bench helpers


def test_synthetic_corpus_is_a_deterministic_stream_with_copy_pairs(tmp_path: Path) -> None:
    from unspin.bench.dedup import synthetic_corpus

    src = tmp_path / "c.jsonl"
    _write_jsonl(src, [Document(k, v, {}) for k, v in STORIES.items()])
    first = list(synthetic_corpus([str(src)], 40, seed=2, spun_pool=6))
    again = list(synthetic_corpus([str(src)], 20, seed=2, spun_pool=6))
    assert again == first[:20]  # a smaller corpus is a prefix of a larger one
    ids = [d["id"] for d in first]
    assert len(set(ids)) == 40
    texts = {d["id"]: d["text"] for d in first}
    for k in range(9, 40, 10):
        copy = ids[k]
        assert copy.startswith(f"fam{k - 1}~")
        if copy.endswith("~exact"):
            assert texts[copy] == texts[f"fam{k - 1}"]
        else:
            assert texts[copy] != texts[f"fam{k - 1}"]


def test_light_edit_keeps_most_of_the_text() -> None:
    from unspin.bench.dedup import light_edit
    from unspin.trace.align import align

    edited = light_edit(STORIES["bridge"], random.Random(4))
    assert edited != STORIES["bridge"]
    assert 0.7 <= align(edited, STORIES["bridge"]).similarity < 1.0  # one of 5 sentences gone
