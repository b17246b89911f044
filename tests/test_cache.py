"""The cache dir: which derived files this unspin still reads, and pruning the others."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from web_stub import stub_model

from unspin import cache
from unspin.cli import main
from unspin.detect.model import load_model


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    return tmp_path


def _touch(path: Path, age: float = 0.0) -> Path:
    path.write_bytes(b"x" * 10)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def test_the_files_this_unspin_reads_are_kept_and_the_rest_of_its_own_pruned(
    cache_dir: Path,
) -> None:
    kept = cache.in_use([stub_model()])
    assert {p.parent for p in kept} == {cache_dir}
    families = {cache.family_of(p.name) for p in kept}
    assert {"lexicon", "entries", "term-index", "wordnet-terms"} <= families
    for path in kept:
        _touch(path)
    lexicon = next(p for p in kept if p.name.startswith("lexicon-"))
    lock = _touch(lexicon.with_suffix(".lock"))
    stale = [
        _touch(cache_dir / "entries-0123456789abcdef.marshal"),
        _touch(cache_dir / "entries-0123456789abcdef.lock"),
        _touch(cache_dir / "forest-0123456789abcdef.onnx"),
        _touch(cache_dir / "encoder-0123456789abcdef.int8.onnx"),
        _touch(cache_dir / "term-index-0123456789abcdef.marshal.77.tmp", age=7200),
    ]
    building = _touch(cache_dir / "term-index-fedcba9876543210.marshal.78.tmp")
    foreign = _touch(cache_dir / "my-notes.txt")

    files = cache.listing(cache_dir, [stub_model()])
    by_path = {f.path: f for f in files}
    assert all(by_path[p].in_use for p in [*kept, lock, building])
    assert not any(by_path[p].in_use for p in stale)
    assert by_path[foreign].family is None

    gone = cache.prune(files)
    assert sorted(f.path for f in gone) == sorted(stale)
    assert all(p.exists() for p in [*kept, lock, building, foreign])
    assert not any(p.exists() for p in stale)


def test_a_model_keeps_its_forests_and_encoder_copies(cache_dir: Path) -> None:
    shipped = load_model()
    files = cache.model_files(shipped)
    forests = [p for p in files if p.name.startswith("forest-")]
    assert len(forests) == 6  # word, restore and rank forests of both modes
    assert [p.name for p in files if p.name.startswith("encoder-")] != []
    assert all(p.parent == cache_dir for p in files)
    assert cache.model_files(stub_model()) == set()  # no compiled forests, no encoder


def test_cli_lists_and_prunes(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = _touch(cache_dir / "forest-0123456789abcdef.onnx")
    foreign = _touch(cache_dir / "my-notes.txt")
    with pytest.raises(SystemExit) as done:
        main(["cache"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "forest" in out and "--prune" in out and stale.exists()
    with pytest.raises(SystemExit) as done:
        main(["cache", "--prune"])
    assert done.value.code == 0
    assert "deleted 1 files" in capsys.readouterr().out
    assert not stale.exists() and foreign.exists()


def test_cli_with_a_missing_model_exits_2(
    cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["cache", "--prune", "--model", str(cache_dir / "nope.pkl")])
    assert done.value.code == 2
    assert "nope.pkl" in capsys.readouterr().err
