"""The learned models: numpy exports agree with scikit-learn, thresholds do what they promise."""

from __future__ import annotations

import pickle
import sys
from collections import Counter

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from unspin.detect.compiled import CompiledForest, CompiledLogistic
from unspin.detect.model import DOC_FEATURE_NAMES, DocEvidence, doc_features
from unspin.detect.train import (
    Example,
    ModeData,
    _clean_quantile_threshold,
    _restore_doc_threshold,
    _restore_thresholds,
    _upper_count,
    _verdict_threshold,
    pseudo_articles,
    split_by_group,
)


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    x[:, 0] = rng.integers(0, 2, n)  # a binary column, like has_candidates
    y = ((x[:, 1] * x[:, 0] + np.sin(x[:, 2]) + 0.3 * rng.normal(size=n)) > 0.4).astype(int)
    return x, y


@pytest.mark.parametrize("depth", [None, 4])
def test_compiled_forest_matches_sklearn(depth):
    x, y = _data()
    hgb = HistGradientBoostingClassifier(max_iter=60, max_depth=depth, random_state=0)
    x_fit = x.copy()
    x_fit[::37, 3] = np.nan  # so some splits learn where missing values go
    hgb.fit(x_fit, y)
    forest = CompiledForest.from_sklearn(hgb)
    test, _ = _data(500, seed=1)
    test[::11, 3] = np.nan
    np.testing.assert_allclose(forest.predict_proba(test), hgb.predict_proba(test), atol=1e-9)
    assert forest.predict_proba(test[:0]).shape == (0, 2)


def test_forest_in_onnxruntime_equals_the_numpy_walk():
    pytest.importorskip("onnxruntime")
    x, y = _data()
    x[::37, 3] = np.nan
    # max_iter large enough that late trees are single leaves (nothing left to split)
    hgb = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.5, random_state=0)
    forest = CompiledForest.from_sklearn(hgb.fit(x, y))
    assert forest._session() is not None
    test, _ = _data(400, seed=2)
    test[::7, 3] = np.nan
    test[::13, 1] = np.nan
    np.testing.assert_allclose(forest.decision_function(test), forest.walk(test), atol=1e-12)
    np.testing.assert_allclose(forest.predict_proba(test), hgb.predict_proba(test), atol=1e-9)
    # the session is rebuilt after unpickling, not pickled
    again = pickle.loads(pickle.dumps(forest))
    assert "_ort" not in again.__dict__
    np.testing.assert_allclose(again.decision_function(test), forest.walk(test), atol=1e-12)


def test_forest_graph_is_cached_and_read_back_without_onnx(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from unspin.detect.compiled import forest_cache_path

    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    x, y = _data()
    forest = CompiledForest.from_sklearn(HistGradientBoostingClassifier(max_iter=40).fit(x, y))
    other = CompiledForest.from_sklearn(HistGradientBoostingClassifier(max_iter=41).fit(x, y))
    assert forest_cache_path(forest) != forest_cache_path(other)
    expected = forest.decision_function(x)  # builds the graph with onnx and caches it
    assert forest_cache_path(forest).is_file()
    # A fresh copy of the same forest reads the cached graph: onnx is not needed any more.
    monkeypatch.setitem(sys.modules, "onnx", None)
    again = pickle.loads(pickle.dumps(forest))
    assert again._session() is not None
    np.testing.assert_array_equal(again.decision_function(x), expected)
    # Without the cached graph and without onnx, the numpy walk stands in.
    assert other._session() is None
    np.testing.assert_allclose(other.decision_function(x), other.walk(x), atol=0)


def test_single_leaf_trees_run_in_onnxruntime():
    pytest.importorskip("onnxruntime")
    x, y = _data(200)
    hgb = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=150, random_state=0)
    forest = CompiledForest.from_sklearn(hgb.fit(x, y))
    assert forest.is_leaf[forest.roots].all()  # every tree is one leaf
    np.testing.assert_allclose(forest.decision_function(x), forest.walk(x), atol=1e-12)


def test_compiled_forest_rejects_wrong_width():
    x, y = _data(500)
    forest = CompiledForest.from_sklearn(HistGradientBoostingClassifier(max_iter=5).fit(x, y))
    with pytest.raises(ValueError, match="matrix"):
        forest.predict_proba(x[:, :4])


def test_compiled_logistic_matches_sklearn():
    x, y = _data()
    lr = LogisticRegression(max_iter=500).fit(x, y)
    np.testing.assert_allclose(
        CompiledLogistic.from_sklearn(lr).predict_proba(x[:50]), lr.predict_proba(x[:50])
    )


def test_compiled_models_unpickle_without_sklearn(tmp_path):
    x, y = _data(500)
    forest = CompiledForest.from_sklearn(HistGradientBoostingClassifier(max_iter=5).fit(x, y))
    path = tmp_path / "f.pkl"
    path.write_bytes(pickle.dumps(forest))
    code = (
        "import pickle, sys; f = pickle.load(open(sys.argv[1], 'rb')); "
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'"
    )
    import subprocess

    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def test_clean_quantile_threshold_bounds_clean_share():
    rng = np.random.default_rng(3)
    clean = rng.beta(2, 5, size=2000)
    t = _clean_quantile_threshold(clean, 0.01)
    assert (clean >= t).mean() <= 0.01
    assert (clean >= t - 0.02).mean() > 0.005  # not pushed far above what was needed
    assert _clean_quantile_threshold(np.array([0.1, 0.2]), 0.01) == 0.5  # never below 0.5


def test_restore_thresholds_respect_the_budget_counting_texts_judged_spun():
    rng = np.random.default_rng(4)
    docs = [rng.beta(1, 8, size=100) for _ in range(200)]
    judged = [False] * 200
    any_t, spun_t = _restore_thresholds(docs, judged, 0.2, max_per_1000=1.5, floor=0.3)
    assert (np.concatenate(docs) >= any_t).mean() <= 0.0015
    assert any_t >= 0.3 and spun_t == 0.2  # no clean text judged spun: the spun one stands

    # Two clean texts judged spun, full of confident suggestions: at the low spun-text threshold
    # they alone would blow the budget, so it is raised until they use at most half of it.
    judged[:2] = [True, True]
    docs[0] = docs[1] = np.linspace(0.0, 0.99, 100)
    any_t, spun_t = _restore_thresholds(docs, judged, 0.2, max_per_1000=1.5, floor=0.3)
    changed = sum(
        int((d >= (min(any_t, spun_t) if s else any_t)).sum())
        for d, s in zip(docs, judged, strict=True)
    )
    assert changed <= 0.0015 * 20000
    assert spun_t > 0.2


def test_upper_count_adds_more_margin_when_changes_clump():
    spread = np.ones(100)
    clumped = np.zeros(100)
    clumped[:4] = 25.0  # the same 100 changes, all in four texts
    assert _upper_count(spread, 1.0) == 100.0  # no spread between texts, no margin
    assert _upper_count(clumped, 1.0) > 140.0
    assert _upper_count(clumped, 0.0) == 100.0
    assert _upper_count(clumped, 2.0) > _upper_count(clumped, 1.0)


def test_restore_thresholds_leave_room_for_fixed_changes_and_a_margin():
    rng = np.random.default_rng(6)
    docs = [np.where(rng.random(100) < 0.05, rng.random(100), 0.0) for _ in range(300)]
    judged = [False] * 300
    plain, _ = _restore_thresholds(docs, judged, 0.3, max_per_1000=1.5, floor=0.3, z=0.0)
    # Other readers already change 20 of the 30,000 clean words: restoration gets what is left.
    fixed = [1] * 20 + [0] * 280
    with_fixed, _ = _restore_thresholds(
        docs, judged, 0.3, max_per_1000=1.5, floor=0.3, fixed=fixed, z=0.0
    )
    conf = np.concatenate(docs)
    assert (conf >= with_fixed).sum() + 20 <= 45 < (conf >= plain).sum() + 20
    assert with_fixed > plain
    margin, _ = _restore_thresholds(docs, judged, 0.3, max_per_1000=1.5, floor=0.3, z=1.0)
    assert margin > plain and (conf >= margin).sum() < 45


def test_document_evidence_grows_with_length():
    """Many mildly suspicious words are stronger evidence than a few; clean words count against."""
    rng = np.random.default_rng(5)
    clean = rng.beta(1, 20, size=20000)
    spun = np.concatenate([rng.beta(1, 20, size=16000), rng.beta(6, 3, size=4000)])
    ev = DocEvidence.fit(spun, clean)
    assert ev.of(np.array([0.9]))[0] > 0 > ev.of(np.array([0.01]))[0]
    short = doc_features(spun[-20:-10], ev)
    long = doc_features(spun[-40:], ev)
    assert long[DOC_FEATURE_NAMES.index("evidence_sum")] > short[
        DOC_FEATURE_NAMES.index("evidence_sum")
    ]
    assert np.isfinite(ev.llr).all()
    assert doc_features(np.zeros(0), ev).shape == (len(DOC_FEATURE_NAMES),)


def test_verdict_threshold_holds_the_budget_for_lone_paragraphs_too():
    rng = np.random.default_rng(3)
    # Clean pseudo-articles score low whatever their size; lone clean paragraphs, where a few odd
    # words decide, have a heavier tail that the pseudo-articles do not show.
    articles = rng.uniform(0.0, 0.7, 2000)
    sizes = rng.integers(40, 800, 2000)
    lone = np.concatenate([rng.uniform(0.0, 0.7, 950), rng.uniform(0.8, 0.99, 50)])
    t = _verdict_threshold(articles, sizes, lone, share=0.01)
    assert (lone >= t).mean() <= 0.01
    assert (articles >= t).mean() <= 0.01
    without_lone = _verdict_threshold(articles, sizes, np.zeros(0), share=0.01)
    assert (lone >= without_lone).mean() > 0.01  # what the lone group guards against
    # the long group counts as much as the short one
    long_tail = np.where(sizes > np.median(sizes), articles + 0.29, articles)
    t_long = _verdict_threshold(long_tail, sizes, np.zeros(0), share=0.01)
    assert (long_tail[sizes > np.median(sizes)] >= t_long).mean() <= 0.01


def _spun_part(n_words: int, conf: float, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A spun calibration text: a fifth of its words swapped, the swaps flagged with `conf`
    and their top suggestion right; the other words unflagged."""
    labels = (rng.random(n_words) < 0.2).astype(int)
    return np.where(labels == 1, conf, 0.0), labels.copy(), labels


def test_restore_doc_threshold_goes_below_the_verdict_only_where_it_pays():
    rng = np.random.default_rng(0)
    # Spun texts whose P(spun) sits between 0.5 and the verdict's 0.9 have swaps that only the
    # spun-text threshold (0.4) repairs; clean texts (10,000 words) have a few flagged words.
    spun_parts = [_spun_part(50, 0.45, rng) for _ in range(40)]
    spun_p = np.full(40, 0.7)
    clean_conf = [np.where(rng.random(50) < 0.01, 0.45, 0.0) for _ in range(200)]
    cut, any_t, spun_t = _restore_doc_threshold(
        clean_conf, np.full(200, 0.1), spun_parts, spun_p, 0.4, verdict_at=0.9
    )
    assert cut <= 0.7 and spun_t <= 0.45 < any_t  # mid-P(spun) texts get the lower threshold
    # The same clean texts at P(spun) 0.7: the lower cut would spend the clean budget, so the
    # verdict's cut stays.
    cut, any_t, spun_t = _restore_doc_threshold(
        clean_conf, np.full(200, 0.7), spun_parts, spun_p, 0.4, verdict_at=0.9
    )
    assert cut == 0.9


def test_pseudo_articles_join_paragraphs_of_one_kind():
    examples, probs = [], []
    for k in range(60):
        spun = k % 3 != 0
        profile, rate = ("spinbot", 0.2) if spun else ("clean", 0.0)
        labels = np.zeros(10, dtype=np.int8)
        data = ModeData(np.zeros((10, 1)), [], np.full(10, -1), [], [])
        examples.append(Example(data, data, labels, spun, profile, rate))
        probs.append(np.full(10, 0.9 if spun else 0.1))
    docs, y = pseudo_articles(probs, examples, seed=1, n=200)
    assert len(docs) == len(y) == 200
    assert set(y.tolist()) == {0, 1}
    for d, label in zip(docs, y, strict=True):
        assert len(d) % 10 == 0 and 10 <= len(d) <= 80
        assert set(np.round(d, 1).tolist()) == ({0.9} if label else {0.1})  # never mixed


def test_restore_rows_mark_words_whose_top_suggestion_is_the_original():
    from unspin.context.model import get_context_model
    from unspin.detect.features import FEATURE_NAMES, RESTORE_EXTRA_NAMES, extract
    from unspin.detect.train import mode_data, rank_examples, restore_rows
    from unspin.lexicon import get_lexicon
    from unspin.spin.simulator import Swap
    from unspin.text import tokenize

    # Written for this test. "purchase" is declared a swap of whatever the scan ranks first for
    # it (in capitals: case must not matter), "fix" a swap of its second candidate.
    text = "The town council will purchase a new fire engine and fix the old stone bridge."
    lexicon, context = get_lexicon(), get_context_model()
    feats = extract(tokenize(text), lexicon, context)
    index = {w.text: i for i, w in enumerate(feats.words)}
    top = {t: feats.spans[feats.word_span[index[t]]].candidates for t in ("purchase", "fix")}
    originals = {"purchase": top["purchase"][0].upper(), "fix": top["fix"][1]}
    swaps = []
    for observed, original in originals.items():
        start = text.index(observed)
        swaps.append(Swap(start, start + len(observed), observed, start, start, original))
    data = mode_data(tokenize(text), swaps, fast=False, lexicon=lexicon, context=context)
    matrix, labels = restore_rows(data, ranker=None)  # no ranker: the scan's order stands
    assert matrix.shape == (len(feats.words), len(FEATURE_NAMES) + len(RESTORE_EXTRA_NAMES))
    assert labels[index["purchase"]] == 1
    assert labels[index["fix"]] == 0
    assert labels.sum() == 1  # words without a swap are never labelled

    # A ranker that prefers the scan's second candidate everywhere makes "fix" right instead.
    matrix, labels = restore_rows(data, ranker=_PreferRank(1))
    assert labels[index["fix"]] == 1 and labels[index["purchase"]] == 0
    rank_p = matrix[:, len(FEATURE_NAMES) + RESTORE_EXTRA_NAMES.index("rank_top_p")]
    assert rank_p[index["fix"]] == pytest.approx(0.9)

    # Ranker training rows: one group per exact swap whose original is among the candidates.
    x, y = rank_examples([data])
    assert y.sum() == 2 and len(x) == len(y) > 2


class _PreferRank:
    """A stand-in ranker: P(original) 0.9 for the candidate at scan rank `r`, 0.1 elsewhere."""

    def __init__(self, r: int) -> None:
        self.r = r

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        from unspin.restore.rank import RANK_FEATURE_NAMES

        scan_rank = matrix[:, RANK_FEATURE_NAMES.index("scan_rank")]
        p = np.where(scan_rank == self.r, 0.9, 0.1)
        return np.stack([1 - p, p], axis=1)


def test_real_rank_examples_read_calibration_rows_only(tmp_path):
    from unspin.detect.train import real_rank_examples
    from unspin.restore.rank import RANK_FEATURE_NAMES

    # Written for this test: the 1st and 3rd data rows calibrate, the 2nd is evaluation-only.
    csv = tmp_path / "tortured.csv"
    csv.write_text(
        "tortured_phrase,expected_phrase,num_papers\n"
        "huge car,big car,3\n"
        "large house,big house,2\n"
        "rapid motor vehicle,quick car,1\n"
    )
    x, y = real_rank_examples(str(csv), fast=False)
    assert x.shape[1] == len(RANK_FEATURE_NAMES) and len(x) == len(y)
    # one group: "huge" -> "big"; the evaluation row and the misaligned row add nothing
    assert y.sum() == 1
    assert len(y) > 1  # the original among other candidates


def test_fit_and_calibration_never_share_a_document():
    groups = [f"doc{k // 3}" for k in range(300)] + [f"lone{k}" for k in range(60)]
    fit_idx, cal_idx = split_by_group(len(groups), groups, 0.3, seed=2)
    assert sorted(fit_idx + cal_idx) == list(range(360))
    fit_docs = {groups[i] for i in fit_idx}
    assert fit_docs.isdisjoint(groups[i] for i in cal_idx)
    assert 0.27 * 360 <= len(cal_idx) <= 0.33 * 360
    assert split_by_group(len(groups), groups, 0.3, seed=2) == (fit_idx, cal_idx)  # seeded
    assert split_by_group(len(groups), groups, 0.3, seed=3) != (fit_idx, cal_idx)
    # Without groups every example is its own: the plain seeded 70/30 split.
    fit_idx, cal_idx = split_by_group(10, None, 0.3, seed=2)
    assert len(cal_idx) == 3 and sorted(fit_idx + cal_idx) == list(range(10))


def test_budget_paragraphs_come_from_calibration_documents_only(tmp_path):
    import gzip
    import json

    from unspin.bench.datasets import part_of, sample_paragraphs, split_of
    from unspin.detect.train import budget_paragraphs

    # Written for this test: documents of six numbered paragraphs, 40+ words each.
    body = (
        "The river rose again overnight and the council closed the lower road while crews moved "
        "sandbags to the bridge, where the water had reached the third step of the old quay, and "
        "shop owners carried their stock upstairs before the morning tide."
    )
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for k in range(120):
            paras = [f"Paragraph {j} of report {k}. {body}" for j in range(6)]
            fh.write(json.dumps({"id": f"r{k}", "text": "\n\n".join(paras)}) + "\n")
    corpus = [str(path)]
    paras = sample_paragraphs(corpus, "train", 10_000, seed=1, part="words", per_doc=3)
    spun = [k % 3 != 0 for k in range(len(paras))]
    budget = budget_paragraphs(corpus, paras, spun, seed=1, per_doc=4)

    groups = [p.doc_id for p in paras]
    fit_idx, cal_idx = split_by_group(len(paras), groups, 0.3, seed=1)
    cal_docs = {groups[i] for i in cal_idx}
    assert budget and {p.doc_id for p in budget} <= cal_docs
    assert all(split_of(p.doc_id) == "train" and part_of(p.doc_id) == "words" for p in budget)
    keys = {(p.doc_id, p.index) for p in budget}
    # The clean calibration examples are read already; the originals of spun ones are new.
    assert all((paras[i].doc_id, paras[i].index) not in keys for i in cal_idx if not spun[i])
    assert any((paras[i].doc_id, paras[i].index) in keys for i in cal_idx if spun[i])
    # The paragraphs sampling passed over count too, at most per_doc from one document.
    assert any(p.index not in {q.index for q in paras if q.doc_id == p.doc_id} for p in budget)
    assert max(Counter(p.doc_id for p in budget).values()) == 4
