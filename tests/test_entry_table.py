"""The table of common words' phrase entries gives exactly the entries the lexicon gives."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from unspin.context import get_context_model
from unspin.detect import features
from unspin.detect.entry_table import (
    build_table,
    load_table,
    table_channel,
    table_deep_sources,
    table_entry,
    table_path,
    table_words,
)
from unspin.lexicon import Lexicon, get_lexicon


def _same(a: features.PhraseEntry, b: features.PhraseEntry) -> list[str]:
    """Names of the fields where two entries differ (values, types or array shapes)."""
    out = []
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            ok = isinstance(y, np.ndarray) and x.shape == y.shape and np.array_equal(x, y)
        else:
            ok = type(x) is type(y) and x == y
        if not ok:
            out.append(field.name)
    return out


@pytest.fixture(scope="module")
def shared():
    lexicon, context = get_lexicon(), get_context_model()
    if load_table(lexicon, context) is None:
        pytest.skip("no writable cache dir for the table")
    return lexicon, context


def test_table_entries_equal_computed_ones_at_every_limit(shared) -> None:
    lexicon, context = shared
    table = load_table(lexicon, context)
    assert table is not None and len(table) == len(table_words())
    words = random.Random(7).sample(sorted(table), 300) + ["said", "the", "energy"]
    with_candidates = 0
    for word in words:
        for limit in (1, features.FAST_CANDIDATES, features.MAX_CANDIDATES):
            got = table_entry(lexicon, context, word, limit)
            want = features.compute_entry(lexicon, context, word, limit)
            assert got is not None and want is not None
            assert _same(got, want) == [], (word, limit)
        full = features.compute_entry(lexicon, context, word, features.MAX_CANDIDATES)
        with_candidates += bool(full.names)
        assert table_channel(lexicon, context, word, full.names) == features.compute_channel(
            lexicon, context, word, full
        )
    assert with_candidates > 100  # the sample is not all names and numbers


def test_table_deep_sources_equal_the_lexicons(shared) -> None:
    """The ranker's extras are drawn from a word's first DEEP_LIMIT sources: the table's list
    is the lexicon's, candidate for candidate (its head is the entry's own candidates)."""
    lexicon, context = shared
    table = load_table(lexicon, context)
    words = random.Random(11).sample(sorted(table), 200) + ["said", "purchase"]
    longer = 0
    for word in words:
        want = lexicon.sources_of(word, limit=features.DEEP_LIMIT)
        got = table_deep_sources(lexicon, context, word)
        assert got is not None and list(zip(*got, strict=True)) == [
            (c.text, c.weight, c.source) for c in want
        ], word
        longer += len(want) > features.MAX_CANDIDATES
    assert longer > 20  # many common words have more sources than a scan reads
    assert table_deep_sources(lexicon, context, "zzqxv") is None


def test_table_answers_only_what_it_holds(shared) -> None:
    lexicon, context = shared
    assert table_entry(lexicon, context, "zzqxv", features.MAX_CANDIDATES) is None
    assert table_entry(lexicon, context, "said", features.MAX_CANDIDATES + 1) is None
    short = features.compute_entry(lexicon, context, "said", features.FAST_CANDIDATES)
    assert short is not None and short.names
    # channel features belong to the default limit's candidates only
    full = features.compute_entry(lexicon, context, "said", features.MAX_CANDIDATES)
    if full.names != short.names:
        assert table_channel(lexicon, context, "said", short.names) is None


def test_phrase_entry_reads_the_table_for_common_words(shared) -> None:
    lexicon, context = shared
    features._ENTRY_CACHE.clear()
    entry = features.phrase_entry(lexicon, context, "energy", features.MAX_CANDIDATES)
    want = features.compute_entry(lexicon, context, "energy", features.MAX_CANDIDATES)
    assert _same(entry, want) == []
    # read from the table: its pair keys are a view of the table's bytes, not a fresh array
    assert not entry.pair_keys.flags.writeable
    assert want.pair_keys.flags.writeable


def test_no_table_for_a_lexicon_built_in_memory(shared) -> None:
    lexicon, context = shared
    copy = Lexicon(lexicon._arrays)
    assert copy.source_path is None and table_path(copy) is None
    assert load_table(copy, context) is None
    assert table_entry(copy, context, "energy", features.MAX_CANDIDATES) is None


def test_table_name_follows_the_lexicon_file(shared, tmp_path) -> None:
    lexicon, _ = shared
    here = table_path(lexicon)
    assert here is not None and here.parent == lexicon.source_path.parent
    moved = Lexicon(lexicon._arrays)
    moved.source_path = tmp_path / "lexicon-other.npz"
    there = table_path(moved)
    assert there is not None and there.parent == tmp_path and there.name != here.name


def test_build_table_of_chosen_words(shared) -> None:
    lexicon, context = shared
    table = build_table(lexicon, context, ["energy", "opposition"])
    assert sorted(table) == ["energy", "opposition"]
