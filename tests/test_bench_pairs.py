"""The bench on real (original, spun) pairs: labels from alignment, figures, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unspin.bench.pairs import Pair, evaluate_pairs, labels, read_pairs
from unspin.cli import main
from unspin.errors import InputError

# Written for these tests: a paragraph and a copy spun by hand the way article spinners do.
ORIGINAL = (
    "The city council agreed on Tuesday to build a new footbridge over the river, ending a "
    "dispute that had divided residents for nearly three years. Work will begin in the spring "
    "and should take about a year, officials said. The mayor told reporters that the bridge "
    "would help children walk safely to school and give local shops more visitors."
)
SPUN = (
    "The town council concurred on Tuesday to construct a new footbridge over the stream, "
    "finishing a dispute that had separated inhabitants for almost three years. Work will "
    "commence in the spring and should take about a year, authorities stated. The mayor told "
    "journalists that the bridge would assist kids walk securely to school and give "
    "neighborhood shops more guests."
)
SWAPS = [
    ("town", "city"),
    ("concurred", "agreed"),
    ("construct", "build"),
    ("stream", "river"),
    ("finishing", "ending"),
    ("separated", "divided"),
    ("inhabitants", "residents"),
    ("almost", "nearly"),
    ("commence", "begin"),
    ("authorities", "officials"),
    ("stated", "said"),
    ("journalists", "reporters"),
    ("assist", "help"),
    ("kids", "children"),
    ("securely", "safely"),
    ("neighborhood", "local"),
    ("guests", "visitors"),
]


def test_the_copys_swaps_become_labels_with_their_original_wording() -> None:
    found = labels(Pair("bridge", ORIGINAL, SPUN))
    assert [(SPUN[a:b], w) for a, b, w in found["originals"]] == SWAPS
    assert found["swaps"] == [(a, b) for a, b, _ in found["originals"]]
    assert found["dropped"] == 0 and found["other_edits"] == 0


def test_dropped_words_and_long_rewrites_are_counted_not_labelled() -> None:
    spun = (
        SPUN.replace("The mayor told journalists", "The mayor told the journalists")
        .replace(
            "should take about a year",
            "should take about one full year of steady and careful "
            "building by crews from two firms",
        )
        .replace("new footbridge", "footbridge")
    )
    found = labels(Pair("bridge", ORIGINAL, spun))
    assert found["dropped"] == 1  # "new"
    assert found["other_edits"] == 1  # the long rewrite
    assert ("town", "city") in [(spun[a:b], w) for a, b, w in found["originals"]]


def test_figures_compare_the_copy_with_its_original() -> None:
    figures, rows = evaluate_pairs([Pair("bridge", ORIGINAL, SPUN)])
    assert figures["pairs"] == 1 and figures["swaps"] == len(SWAPS)
    spun, originals = figures["spun"], figures["originals"]
    assert spun["auroc"] == 1.0  # the copy reads as more likely spun than its original
    assert rows[0]["p_spun"] > rows[0]["p_original"]
    assert 0 < spun["flag_precision"] <= 1 and 0 < spun["flag_recall"] <= 1
    assert originals["docs"] == 1 and originals["words"] == len(ORIGINAL.split())
    assert rows[0]["swaps"] == len(SWAPS) and rows[0]["flags"] >= 1


def test_read_pairs_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    good = json.dumps({"id": "a", "original": ORIGINAL, "spun": SPUN})
    path.write_text(good + "\n" + json.dumps({"id": "b", "original": ORIGINAL}) + "\n")
    with pytest.raises(InputError, match=r"pairs\.jsonl:2"):
        list(read_pairs(path))
    path.write_text(good + "\n\n{not json\n")
    with pytest.raises(InputError, match=r"pairs\.jsonl:3"):
        list(read_pairs(path))


def test_cli_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"id": "bridge", "original": ORIGINAL, "spun": SPUN}) + "\n")
    with pytest.raises(SystemExit) as done:
        main(["bench", "pairs", str(path), "--out", str(tmp_path / "out")])
    assert done.value.code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["swaps"] == len(SWAPS)
    saved = json.loads((tmp_path / "out" / "figures.json").read_text())
    assert saved["per_pair"][0]["id"] == "bridge"
    assert f"{len(SWAPS)} aligned substitutions" in (tmp_path / "out" / "report.md").read_text()
    with pytest.raises(SystemExit) as done:
        main(["bench", "pairs", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o2")])
    assert done.value.code == 2
    assert "nope.jsonl" in capsys.readouterr().err
