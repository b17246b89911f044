"""News register: news frequency against general English frequency, and its counts file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from unspin.text import register as module
from unspin.text.register import count_words, news_table, register, write_counts


def test_news_words_score_above_the_synonyms_spinners_pick() -> None:
    """The shipped counts: words of news prose against common synonyms news avoids."""
    for news_word, synonym in [
        ("said", "stated"),
        ("reporters", "journalists"),
        ("residents", "inhabitants"),
        ("children", "kids"),
        ("visitors", "guests"),
    ]:
        assert register([news_word]) > register([synonym]), (news_word, synonym)
    assert register(["said"]) > 0 > register(["kids"])
    # a phrase is the mean of its words
    both = register(["said", "kids"])
    assert abs(both - (register(["said"]) + register(["kids"])) / 2) < 1e-12


def test_counts_file_round_trip(tmp_path: Path) -> None:
    counts = count_words(["The mayor said the town's bridge opens.", "The bridge, the mayor said."])
    assert counts == Counter(
        {"the": 4, "mayor": 2, "said": 2, "bridge": 2, "town's": 1, "opens": 1}
    )
    path = tmp_path / "counts.tsv"
    write_counts(counts, path, min_count=2)
    table, floor = news_table(str(path))
    assert set(table) == {"the", "mayor", "said", "bridge"}  # seen once: left out
    assert table["the"] > table["mayor"] > floor
    assert path.read_text().splitlines()[:2] == ["#total\t12", "the\t4"]


def test_the_build_reads_only_the_encoders_half_of_the_train_split(
    tmp_path: Path, monkeypatch
) -> None:
    """`python -m unspin.text.register` counts the train split's encoder half only."""
    seen = []

    def fake_paragraphs(paths, split, part=None, min_words=40):
        seen.append((split, part))
        return iter([])

    import unspin.bench.datasets as datasets

    monkeypatch.setattr(datasets, "paragraphs", fake_paragraphs)
    out = tmp_path / "news.tsv"
    assert module.main(["--corpus", "corpus.jsonl", "--out", str(out)]) == 0
    assert seen == [("train", "encoder")]
    assert out.read_text().startswith("#total\t0")
