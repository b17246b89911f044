"""Tests for the links real spinners were seen to make: learning, the table file, the lexicon."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from unspin.lexicon import Lexicon, get_lexicon
from unspin.lexicon import core as lexicon_core
from unspin.lexicon.observed import (
    default_path,
    learn_links,
    link_prior,
    read_links,
    write_links,
)


def test_terms_of_equal_length_align_word_by_word() -> None:
    links = learn_links(
        [
            ("signal strength", "sign quality"),
            ("signal noise", "sign noise"),
            ("quickly", "in a hurry"),
            ("same words", "same words"),
        ]
    )
    assert links[("signal", "sign")] == 2
    assert links[("strength", "quality")] == 1
    assert ("noise", "noise") not in links  # unchanged words are no link
    assert links[("quickly", "in a hurry")] == 1  # lengths differ: one whole-phrase link
    assert sum(links.values()) == 4


def test_table_round_trips(tmp_path: Path) -> None:
    links = Counter({("big", "huge"): 3, ("answer", "reply"): 1, ("ask", "question"): 3})
    path = tmp_path / "links.tsv"
    write_links(links, path)
    rows = read_links(path)
    assert rows[0][2] == 3 and rows[-1] == ("answer", "reply", 1)  # most seen first
    assert {(a, b): n for a, b, n in rows} == dict(links)
    assert read_links(tmp_path / "missing.tsv") == []


def test_prior_grows_with_evidence_and_stays_below_one() -> None:
    priors = [link_prior(n) for n in (1, 2, 3, 50)]
    assert priors == sorted(priors)
    assert priors[0] < priors[1] and 0 < priors[-1] < 1


def test_the_shipped_table_is_in_the_lexicon() -> None:
    """Every common one-word link of the shipped table between base forms is found by a reverse
    lookup, marked as observed (rows that change the inflection, "nations" for "country", are
    misaligned rows and left out by the builder)."""
    from wordfreq import zipf_frequency

    from unspin.lexicon.build import _inflected

    lexicon: Lexicon = get_lexicon()
    rows = [
        (a, b)
        for a, b, n in read_links()
        if n >= 3
        and " " not in a + b
        and min(zipf_frequency(a, "en"), zipf_frequency(b, "en")) > 3
        and not _inflected(a)
        and not _inflected(b)
    ]
    assert len(rows) >= 50
    for original, replacement in rows:
        cands = {c.text: c.source for c in lexicon.sources_of(replacement, limit=200)}
        if original in cands:
            assert "observed" in cands[original], (original, replacement)
    found = sum(a in {c.text for c in lexicon.sources_of(b, limit=200)} for a, b in rows)
    assert not any(
        c.text == "country" and "observed" in c.source for c in lexicon.sources_of("nations")
    )
    assert found / len(rows) > 0.9


def test_cache_key_follows_the_link_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = lexicon_core.cache_key()
    other = tmp_path / "links.tsv"
    other.write_text(default_path().read_text(encoding="utf-8") + "zebra\thorse\t1\n")
    monkeypatch.setattr(lexicon_core, "observed_path", lambda: other)
    assert lexicon_core.cache_key() != before
