"""The news bigram model: its counts file, its probabilities and the shipped table."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from unspin.context import news as module
from unspin.context.model import BOS, EOS
from unspin.context.news import count_sentences, news_bigrams, scan_sentences, write_counts

# Written for these tests.
TEXTS = [
    "The mayor said the bridge would open in May. Residents said the bridge was late.",
    "The council said on Tuesday that the new bridge cost 4.5 million pounds.",
]


def _table(tmp_path: Path, min_count: int = 1):
    words, pairs = count_sentences(scan_sentences(TEXTS))
    path = tmp_path / "news.npz"
    write_counts(words, pairs, path, min_count=min_count)
    return path, words, pairs


def test_sentences_are_the_words_a_scan_reads() -> None:
    sentences = list(scan_sentences(TEXTS))
    assert sentences[0] == ["the", "mayor", "said", "the", "bridge", "would", "open", "in", "may"]
    assert len(sentences) == 3
    # numbers and punctuation are not words: "4.5" leaves a gap the LM does not see
    assert sentences[2][-3:] == ["cost", "million", "pounds"]


def test_counts_round_trip_and_probabilities(tmp_path: Path) -> None:
    path, words, pairs = _table(tmp_path)
    table = news_bigrams(str(path))
    assert table.total == sum(words.values())
    assert table.pair_count("the", "bridge") == pairs[("the", "bridge")] == 2
    assert table.pair_count(BOS, "the") == 2 and table.pair_count("may", EOS) == 1
    assert table.pair_count("bridge", "the") == 0
    assert table.pair_count("unseen", "the") == 0
    # a pair news wrote beats one it did not; an unknown word still has a finite probability
    assert table.logprob("the", "bridge") > table.logprob("the", "council")
    assert table.logprob("the", "council") > table.logprob("the", "viaduct") > -math.inf
    # a conditional distribution: over the words of the table, those after "said" sum to 1
    total = sum(math.exp(table.logprob("said", w)) for w in table.index)
    assert abs(total - 1.0) < 1e-9
    fit = table.fit(BOS, ["the", "bridge"], EOS)
    expected = (
        table.logprob(BOS, "the") + table.logprob("the", "bridge") + table.logprob("bridge", EOS)
    )
    assert abs(fit - expected) < 1e-12


def test_fits_between_equal_the_chains_fits(tmp_path: Path) -> None:
    """The ranker fits many candidates between their neighbours from parts computed once per
    candidate list: the same numbers as fitting each chain, multiword phrases and words the
    table never saw included; and parts belong to the table that made them."""
    path, *_ = _table(tmp_path)
    table = news_bigrams(str(path))
    phrases = [("bridge",), ("new", "bridge"), ("viaduct",), ("the", "mayor", "said")]
    parts = table.phrase_parts(phrases)
    places = [("the", "would"), (BOS, EOS), ("unseen", "was")]
    got = table.fits_between([b for b, _ in places], [parts] * 3, [a for _, a in places])
    for (before, after), fits in zip(places, got, strict=True):
        want = table.fits([[before, *p, after] for p in phrases])
        assert fits == pytest.approx(want, abs=1e-12)
    assert got[0][0] > got[0][2]  # "the bridge would" was written, "the viaduct would" not
    assert table.fits_between(["the"], [parts.part(1, 3)], ["would"])[0] == pytest.approx(
        got[0][1:3], abs=1e-12
    )
    (tmp_path / "b").mkdir()
    other = news_bigrams(str(_table(tmp_path / "b")[0]))  # the same counts, another table
    with pytest.raises(ValueError):
        other.fits_between(["the"], [parts], ["would"])


def test_name_parts_equal_the_split_phrases_parts(tmp_path: Path) -> None:
    """Candidate names give the parts their split words give, single words (known to the
    table or not) read without splitting, multiword names among them or alone."""
    path, *_ = _table(tmp_path)
    table = news_bigrams(str(path))
    for names in (
        ["bridge", "new bridge", "viaduct", "the mayor said", "unseen"],
        ["bridge", "viaduct"],
        ["new bridge"],
        [],
    ):
        got = table.name_parts(names)
        want = table.phrase_parts([tuple(n.split()) for n in names])
        for field in ("firsts", "lasts", "inner"):
            assert getattr(got, field).tolist() == getattr(want, field).tolist()
        assert got.table is table


def test_rare_pairs_can_be_left_out_and_rebuilds_are_byte_identical(tmp_path: Path) -> None:
    path, *_ = _table(tmp_path)
    again = tmp_path / "again.npz"
    words, pairs = count_sentences(scan_sentences(TEXTS))
    write_counts(words, pairs, again)
    assert path.read_bytes() == again.read_bytes()
    pruned = tmp_path / "pruned.npz"
    write_counts(words, pairs, pruned, min_count=2)
    table = news_bigrams(str(pruned))
    assert table.pair_count("the", "bridge") == 2 and table.pair_count("the", "mayor") == 0


def test_a_table_without_some_texts_equals_one_never_counting_them(tmp_path: Path) -> None:
    """`without` gives the counts of the other texts (what new text meets), and
    `counts_in_use` puts such a table where scans read the shipped one."""
    from unspin.context.news import counts_in_use

    path, *_ = _table(tmp_path)
    full = news_bigrams(str(path))
    less = full.without(scan_sentences(TEXTS[1:]))
    words, pairs = count_sentences(scan_sentences(TEXTS[:1]))
    alone = tmp_path / "alone.npz"
    write_counts(words, pairs, alone)
    reference = news_bigrams(str(alone))
    assert less.total == reference.total
    for first, second in [("the", "bridge"), ("said", "the"), (BOS, "the"), ("the", "council")]:
        assert less.pair_count(first, second) == reference.pair_count(first, second)
    assert less.pair_count("the", "council") == 0 < full.pair_count("the", "council")
    with counts_in_use(less):
        assert news_bigrams() is less
    assert news_bigrams() is not less
    with pytest.raises(ValueError):  # texts it never counted cannot be left out
        reference.without([["a", "sentence", "it", "never", "counted"]])


def test_shipped_table_prefers_news_wording() -> None:
    """Pairs of news prose against the thesaurus swaps spinners make in their place."""
    table = news_bigrams()
    for before, news_word, synonym, after in [
        ("police", "said", "stated", "the"),
        ("the", "children", "kids", "were"),
        ("the", "opposition", "resistance", "party"),
    ]:
        assert table.fit(before, [news_word], after) > table.fit(before, [synonym], after)


def test_the_build_reads_only_the_encoders_half_of_the_train_split(
    tmp_path: Path, monkeypatch
) -> None:
    """`python -m unspin.context.news` counts the train split's encoder half only."""
    seen = []

    def fake_paragraphs(paths, split, part=None, min_words=40):
        seen.append((split, part))
        return iter([TEXTS[0]])

    import unspin.bench.datasets as datasets

    monkeypatch.setattr(datasets, "paragraphs", fake_paragraphs)
    monkeypatch.setattr(module, "scan_sentences", lambda texts: [["the", "mayor"]])
    out = tmp_path / "news.npz"
    assert module.main(["--corpus", "corpus.jsonl", "--out", str(out)]) == 0
    assert seen == [("train", "encoder")]
    assert news_bigrams(str(out)).pair_count("the", "mayor") == 1
