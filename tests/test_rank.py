"""The candidate ranker: its feature rows, the re-ordering, and its use in a scan."""

from __future__ import annotations

import numpy as np
import pytest

from unspin.context.model import get_context_model
from unspin.context.news import news_bigrams
from unspin.detect.features import (
    FAST_CANDIDATES,
    FEATURE_NAMES,
    MAX_CANDIDATES,
    NOT_SHORTLISTED,
    extract,
    norm_word,
)
from unspin.detect.model import SpinModel
from unspin.detect.scan import scan_text
from unspin.lexicon import get_lexicon
from unspin.restore.rank import (
    DEEP_LIMIT,
    EXTRA_CANDIDATES,
    RANK_DEPTH,
    RANK_FEATURE_NAMES,
    candidate_rows,
    rank_spans,
    rerank,
)
from unspin.text import tokenize
from unspin.text.register import register

# Written for these tests. "purchase" has many thesaurus sources; "buy" occurs later on.
TEXT = (
    "The town council will purchase a new fire engine this spring, and residents who want to "
    "buy tickets for the opening parade can do so at the library from Monday morning onwards."
)
COL = {name: k for k, name in enumerate(RANK_FEATURE_NAMES)}


def _doc(fast: bool = False):
    lexicon, context = get_lexicon(), get_context_model()
    feats = extract(tokenize(TEXT), lexicon, context, fast=fast)
    normed = [norm_word(w.text) for w in feats.words]
    sent = [w.sentence for w in feats.words]
    return feats, normed, sent, lexicon, context


def _span_of(feats, word: str) -> int:
    index = next(i for i, w in enumerate(feats.words) if w.text == word)
    return feats.word_span[index]


def test_candidate_rows_describe_the_leading_candidates():
    feats, normed, sent, lexicon, context = _doc()
    span = feats.spans[_span_of(feats, "purchase")]
    rows = candidate_rows(span, normed, sent, set(normed), lexicon, context, fast=False, limit=24)
    n = min(RANK_DEPTH, len(span.candidates))
    assert rows.names[:n] == span.candidates[:n]
    assert rows.scores[:n] == span.scores[:n]
    total = len(rows.names)
    assert n < total <= n + EXTRA_CANDIDATES  # "purchase" has more sources than the scan reads
    assert rows.matrix.shape == (total, len(RANK_FEATURE_NAMES))
    assert rows.matrix[:, COL["scan_rank"]].tolist() == list(range(total))
    assert np.isfinite(rows.matrix).all() and np.isfinite(rows.scores).all()
    # "buy" appears later in the text; a candidate that appears nowhere else does not.
    in_doc = dict(zip(rows.names, rows.matrix[:, COL["in_document"]], strict=True))
    assert "buy" in in_doc and in_doc["buy"] == 1.0
    assert any(v == 0.0 for name, v in in_doc.items() if name != "buy")
    # The LM columns agree: a candidate's gap to the best fit is its fit delta minus the best.
    delta, gap = rows.matrix[:, COL["fit_delta"]], rows.matrix[:, COL["fit_gap"]]
    assert np.allclose(gap, delta - delta.max(), atol=1e-4)
    assert rows.matrix[:, COL["fit_rank"]][np.argmax(delta)] == 0


def test_extras_are_the_deeper_sources_that_fit_best_in_news():
    """Past the scan's leading candidates the ranker reads the sources of the observed words
    that fit best between its neighbours in news prose, with their place among the sources and
    the score the scan would have given them (the default mode: below every LM-rescored one)."""
    feats, normed, sent, lexicon, context = _doc()
    k = _span_of(feats, "purchase")
    span = feats.spans[k]
    rows = candidate_rows(span, normed, sent, set(normed), lexicon, context, fast=False, limit=24)
    plain = candidate_rows(
        span, normed, sent, set(normed), lexicon, context, fast=False, limit=24, extra=0
    )
    head = span.candidates[:RANK_DEPTH]
    assert plain.names == head
    extras = rows.names[len(head) :]
    sources = [c.text for c in lexicon.sources_of("purchase", limit=DEEP_LIMIT)]
    rest = [c for c in sources if c not in head]
    i = next(i for i, w in enumerate(feats.words) if w.text == "purchase")
    news = news_bigrams()
    fit = {c: news.fit(normed[i - 1], c.split(), normed[i + 1]) for c in rest}
    best = sorted(rest, key=lambda c: (-fit[c], sources.index(c)))[: len(extras)]
    assert extras == best
    ranks = rows.matrix[len(head) :, COL["lexicon_rank"]].tolist()
    assert ranks == [sources.index(c) for c in extras]
    rescored = [s for s in span.scores if s > -NOT_SHORTLISTED / 2]
    assert rescored and max(rows.scores[len(head) :]) < min(rescored)
    # The rows of the scan's own candidates do not depend on the extras beside them, except
    # where a column compares a candidate with the best of them.
    same = [COL[c] for c in ("scan_rank", "fit_delta", "log_prior", "zipf_candidate")]
    assert np.allclose(rows.matrix[: len(head)][:, same], plain.matrix[:, same])


def test_register_columns_compare_each_candidate_with_the_observed_words():
    """Spinners start from news wording: a candidate news writes more often than the observed
    word reads above it, and the three register columns agree with each other."""
    text = (  # written for this test
        "The school board said the kids would return to class on Monday after the heating in "
        "the old building was repaired by engineers from the city over the long weekend."
    )
    lexicon, context = get_lexicon(), get_context_model()
    feats = extract(tokenize(text), lexicon, context)
    normed = [norm_word(w.text) for w in feats.words]
    sent = [w.sentence for w in feats.words]
    span = feats.spans[_span_of(feats, "kids")]
    rows = candidate_rows(
        span, normed, sent, set(normed), lexicon, context, fast=False, limit=MAX_CANDIDATES
    )
    own = rows.matrix[:, COL["register_candidate"]]
    delta = rows.matrix[:, COL["register_delta"]]
    expected = [register(name.split()) for name in rows.names]
    assert np.allclose(own, expected, atol=1e-4)
    assert np.allclose(delta, own - register(["kids"]), atol=1e-4)
    assert np.allclose(rows.matrix[:, COL["register_gap"]], own - own.max(), atol=1e-4)
    assert "children" in rows.names
    assert delta[rows.names.index("children")] > 0


def test_rerank_moves_candidates_with_their_scores():
    feats, *_ = _doc()
    span = feats.spans[_span_of(feats, "purchase")]
    before = dict(zip(span.candidates, span.scores, strict=True))
    names = span.candidates[:3]
    top_p, share = rerank(span, names, np.array([0.1, 0.2, 0.7]))
    assert span.candidates[:3] == [names[2], names[1], names[0]]
    assert dict(zip(span.candidates, span.scores, strict=True)) == before
    assert top_p == pytest.approx(0.7) and share == pytest.approx(0.7)


class _PreferRank:
    """A stand-in ranker: P(original) 0.9 for the candidate at scan rank `r`, 0.1 elsewhere."""

    def __init__(self, r: int) -> None:
        self.r = r
        self.calls = 0

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        self.calls += 1
        p = np.where(matrix[:, COL["scan_rank"]] == self.r, 0.9, 0.1)
        return np.stack([1 - p, p], axis=1)


def test_rank_spans_reorders_many_spans_in_one_batch():
    feats, normed, sent, lexicon, context = _doc()
    which = sorted({k for k in feats.word_span if k >= 0 and len(feats.spans[k].candidates) > 1})
    second = {k: feats.spans[k].candidates[1] for k in which}
    ranker = _PreferRank(1)
    out = rank_spans(
        feats.spans, which, normed, sent, lexicon, context, ranker, fast=False, limit=24
    )
    assert ranker.calls == 1
    assert set(out) == set(which)
    assert all(feats.spans[k].candidates[0] == second[k] for k in which)


class _Recorder:
    """A ranker that keeps the rows it is given and ranks nothing."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        self.rows.append(matrix)
        return np.full((len(matrix), 2), 0.5)


@pytest.mark.parametrize("fast", [True, False])
def test_rank_spans_batches_the_same_rows_as_one_span_at_a_time(fast):
    # rank_spans looks the bigram halves of all spans up in one batch; the trainer builds rows
    # span by span. Both must give the ranker exactly the same numbers.
    feats, normed, sent, lexicon, context = _doc(fast)
    limit = FAST_CANDIDATES if fast else MAX_CANDIDATES
    which = sorted({k for k in feats.word_span if k >= 0})
    one_by_one = [
        candidate_rows(feats.spans[k], normed, sent, set(normed), lexicon, context, fast=fast,
                       limit=limit).matrix
        for k in which
    ]  # fmt: skip
    recorder = _Recorder()  # (re-ranking reorders the spans' candidates: after the rows above)
    rank_spans(feats.spans, which, normed, sent, lexicon, context, recorder, fast=fast, limit=limit)
    assert len(recorder.rows) == 1 and len(which) > 3
    assert np.array_equal(recorder.rows[0], np.concatenate(one_by_one))


_HAS = FEATURE_NAMES.index("has_candidates")


class _Words:
    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        p = np.where(matrix[:, _HAS] > 0, 0.9, 0.01)
        return np.stack([1 - p, p], axis=1)


class _Doc:
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.array([[0.5, 0.5]])


@pytest.mark.parametrize("with_ranker", [False, True])
def test_scan_suggests_the_rankers_choice(with_ranker):
    model = SpinModel(_Words(), _Doc(), flag_threshold=0.5, restore_threshold=0.99)
    plain = scan_text(TEXT, model=model)
    model.rank_model = _PreferRank(1) if with_ranker else None
    result = scan_text(TEXT, model=model)
    before = {(f.start, f.end): f for f in plain.flags if len(f.alternatives) > 1}
    checked = 0
    for flag in result.flags:
        if (flag.start, flag.end) in before:
            old = before[flag.start, flag.end].alternatives
            expected = old[1] if with_ranker else old[0]
            assert flag.suggestion == expected
            checked += 1
    assert checked >= 3
