"""Disguised collocations: an unattested pair one thesaurus step from a web collocation."""

from __future__ import annotations

import math

import pytest

from unspin.context.model import get_context_model
from unspin.detect.collocations import (
    FEATURES,
    CollocationScorer,
    _narrowed,
    collocation_table,
    find_collocation_repairs,
    fit_scorer,
    readings,
)
from unspin.detect.features import FUNCTION_WORDS, norm_word
from unspin.detect.model import load_model
from unspin.detect.scan import scan_text
from unspin.detect.terms import TermRepair
from unspin.lexicon import get_lexicon
from unspin.text import tokenize, words

# Written for these tests.
CARRIER = (
    "Last week the team wrote a short note about {} and sent it to every member of the board "
    "for comment. Most replies arrived within two days."
)
CLEAN = (
    "The council met on Monday to discuss climate change and the cost of new flood defences. "
    "Several members asked for a longer consultation, and the chair agreed to publish the "
    "draft plan before the next meeting in the spring."
)
ACCEPT_ALL = CollocationScorer((0.0,) * len(FEATURES), 1.0, 0.0)


def _doc(text: str):
    ws = words(tokenize(text))
    adjacent = [b.start - a.end <= 2 for a, b in zip(ws, ws[1:], strict=False)]
    return [norm_word(w.text) for w in ws], [w.sentence for w in ws], adjacent


def _repairs(text: str, scorer: CollocationScorer, p: float = 0.5, odd: str = ""):
    """Repairs with P(swapped) `p` for the words of `odd` (all words when empty), 0.01 else."""
    normed, sent, adjacent = _doc(text)
    marked = set(odd.split())
    probs = [p if not marked or w in marked else 0.01 for w in normed]
    found = find_collocation_repairs(
        normed, sent, get_lexicon(), get_context_model(), probs, adjacent, scorer=scorer
    )
    return [(" ".join(normed[r.first : r.last]), r.term) for r in found]


def test_the_table_holds_content_word_collocations_only() -> None:
    table = collocation_table()
    assert "change" in table["climate"]
    count, pmi = table["climate"]["change"]
    assert count > 0 and pmi > 0
    for first, seconds in list(table.items())[:2000]:
        assert first not in FUNCTION_WORDS and first.isalpha()
        assert not FUNCTION_WORDS & seconds.keys()


def test_a_disguised_pair_has_a_reading_and_an_attested_pair_none() -> None:
    normed, sent, adjacent = _doc(CARRIER.format("climate alteration"))
    probs = [0.5] * len(normed)
    found = readings(normed, sent, get_lexicon(), get_context_model(), probs, adjacent)
    terms = {r.term for pair in found for r in pair}
    assert ("climate", "change") in terms
    first = normed.index("climate")
    assert all(len(r.features) == len(FEATURES) for pair in found for r in pair)
    normed, sent, adjacent = _doc(CARRIER.format("climate change"))
    found = readings(normed, sent, get_lexicon(), get_context_model(), probs, adjacent)
    assert not any(r.first == first for pair in found for r in pair)


def test_the_shipped_model_reads_collocations_in_the_default_mode_only() -> None:
    model = load_model()
    assert isinstance(model.collocation_scorer, CollocationScorer)
    assert model.for_mode(True).collocation_scorer is None
    assert [r["mode"] for r in model.meta["collocations"]] == ["default"]


def test_the_word_models_probability_weighs_in() -> None:
    only_p = CollocationScorer((0.0,) * (len(FEATURES) - 1) + (1.0,), 0.0, 1.0)
    text = CARRIER.format("climate alteration")
    odd = "climate alteration"
    assert _repairs(text, only_p, p=0.9, odd=odd) == [("alteration", "change")]
    assert _repairs(text, only_p, p=0.3, odd=odd) == []


def test_repairs_do_not_overlap_and_respect_sentences() -> None:
    normed, sent, adjacent = _doc(CARRIER.format("climate alteration"))
    probs = [0.5] * len(normed)
    found = find_collocation_repairs(
        normed, sent, get_lexicon(), get_context_model(), probs, adjacent, scorer=ACCEPT_ALL
    )
    assert found, "an accept-all scorer takes some reading"
    covered = [k for r in found for k in range(r.first, r.last)]
    assert len(covered) == len(set(covered))
    assert all(sent[r.first] == sent[r.last - 1] for r in found)


def test_a_high_threshold_takes_nothing() -> None:
    never = CollocationScorer((0.0,) * len(FEATURES), 0.0, math.inf)
    assert _repairs(CARRIER.format("climate alteration"), never) == []


def test_scan_restores_a_disguised_collocation_and_leaves_clean_text() -> None:
    text = CARRIER.format("climate alteration")
    result = scan_text(text)
    assert "climate change" in result.restored
    start = text.index("alteration")
    assert any(f.start <= start < f.end for f in result.flags)
    assert scan_text(CLEAN).restored == CLEAN


def test_a_model_without_a_scorer_reads_no_collocations(monkeypatch) -> None:
    from dataclasses import replace

    import unspin.detect.scan as scan_module

    calls = []
    real = scan_module.find_collocation_repairs
    monkeypatch.setattr(
        scan_module, "find_collocation_repairs", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    text = CARRIER.format("climate alteration")
    scan_text(text)
    assert calls
    calls.clear()
    scan_text(text, model=replace(load_model(), collocation_scorer=None))
    assert not calls


def _fixed_reading(monkeypatch, word: str, term: str) -> str:
    """Scan the carrier with the reader replaced by one repair of `word` to `term`."""
    import unspin.detect.scan as scan_module

    text = CARRIER.format("climate alteration")
    normed = _doc(text)[0]
    at = normed.index(word)
    monkeypatch.setattr(
        scan_module,
        "find_collocation_repairs",
        lambda *a, **k: [TermRepair(at, at + 1, term, 9.0)],
    )
    return scan_text(text).restored


def test_a_reading_does_not_overrule_the_word_models_own_restoration(monkeypatch) -> None:
    # The word model restores "alteration" to "change" by itself in this carrier.
    assert "climate change" in _fixed_reading(monkeypatch, "alteration", "variation")
    assert "climate change" in _fixed_reading(monkeypatch, "alteration", "change")
    # Where the word model restores nothing, the reading stands.
    assert "short notes" in _fixed_reading(monkeypatch, "note", "notes")


def test_a_pair_repair_is_narrowed_to_the_words_it_puts_back() -> None:
    normed = ["the", "interest", "charge", "was", "high"]
    assert _narrowed(TermRepair(1, 3, "finance charge", 4.0), normed) == TermRepair(
        1, 2, "finance", 4.0
    )
    rate = TermRepair(1, 3, "interest rate", 4.0)
    assert _narrowed(rate, normed) == TermRepair(2, 3, "rate", 4.0)
    both = TermRepair(1, 3, "finance rate", 4.0)
    assert _narrowed(both, normed) == both


def test_fit_scorer_keeps_held_out_clean_readings_within_the_budget() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    n = len(FEATURES)
    positives = [tuple(rng.normal(2.0, 1.0, n)) for _ in range(200)]
    negatives = [tuple(rng.normal(-1.0, 1.0, n)) for _ in range(200)]
    clean_fit = [[tuple(rng.normal(-1.0, 1.0, n))] for _ in range(500)]
    clean_held = [[tuple(rng.normal(-1.0, 1.0, n))] for _ in range(500)]
    scorer = fit_scorer(
        positives + negatives, [1] * 200 + [0] * 200, clean_fit, clean_held, 20_000, 0.5
    )
    taken = sum(max(scorer.score(r) for r in pair) >= scorer.threshold for pair in clean_held)
    assert taken <= 10  # 0.5 per 1,000 of 20,000 words
    right = sum(scorer.score(r) >= scorer.threshold for r in positives)
    assert right > 100  # separable data: most positives still pass
    again = CollocationScorer.from_json(scorer.to_json())
    assert again == scorer


def test_a_scorer_for_other_features_is_refused() -> None:
    text = ACCEPT_ALL.to_json().replace('"swaps"', '"other"')
    with pytest.raises(ValueError):
        CollocationScorer.from_json(text)


def test_the_cached_table_is_the_built_one(tmp_path, monkeypatch) -> None:
    from unspin.detect import collocations

    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    collocations.collocation_table.cache_clear()
    try:
        first = collocations.collocation_table()  # built, then written
        assert list(tmp_path.glob("collocations-*.marshal"))
        collocations.collocation_table.cache_clear()
        assert collocations.collocation_table() == first == collocations.build_table()
    finally:
        collocations.collocation_table.cache_clear()


def test_a_british_spelling_of_a_collocation_is_no_disguise() -> None:
    from unspin.detect.collocations import _attested

    table = {"industrialized": {"nations": (1e5, 3.0)}}
    assert _attested("industrialized", "nations", table)
    assert _attested("industrialised", "nations", table)
    assert not _attested("industrialised", "regions", table)
    assert not _attested("rise", "nations", table)
