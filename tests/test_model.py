"""The learned models: numpy exports agree with scikit-learn, thresholds do what they promise."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from unspin.detect.compiled import CompiledForest, CompiledLogistic
from unspin.detect.model import DOC_FEATURE_NAMES, DocEvidence, doc_features
from unspin.detect.train import (
    Example,
    _clean_quantile_threshold,
    _damage_threshold,
    pseudo_articles,
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


def test_damage_threshold_respects_budget():
    rng = np.random.default_rng(4)
    clean = rng.beta(1, 8, size=20000)
    t = _damage_threshold(clean, max_per_1000=1.5, floor=0.3)
    assert (clean >= t).mean() <= 0.0015
    assert t >= 0.3


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


def test_pseudo_articles_join_paragraphs_of_one_kind():
    examples, probs = [], []
    for k in range(60):
        spun = k % 3 != 0
        profile, rate = ("spinbot", 0.2) if spun else ("clean", 0.0)
        labels = np.zeros(10, dtype=np.int8)
        m = np.zeros((10, 1))
        examples.append(Example(m, m, labels, m, m, labels, labels, spun, profile, rate))
        probs.append(np.full(10, 0.9 if spun else 0.1))
    docs, y = pseudo_articles(probs, examples, seed=1, n=200)
    assert len(docs) == len(y) == 200
    assert set(y.tolist()) == {0, 1}
    for d, label in zip(docs, y, strict=True):
        assert len(d) % 10 == 0 and 10 <= len(d) <= 80
        assert set(np.round(d, 1).tolist()) == ({0.9} if label else {0.1})  # never mixed


def test_restore_labels_mark_words_whose_top_suggestion_is_the_original():
    from unspin.context.model import get_context_model
    from unspin.detect.features import extract, restore_matrix
    from unspin.detect.train import restore_labels
    from unspin.lexicon import get_lexicon
    from unspin.spin.simulator import Swap
    from unspin.text import tokenize

    # Written for this test. "purchase" is declared a swap of whatever the model ranks first
    # for it (in capitals: case must not matter), "fix" a swap of a word it does not rank first.
    text = "The town council will purchase a new fire engine and fix the old stone bridge."
    feats = extract(tokenize(text), get_lexicon(), get_context_model())
    index = {w.text: i for i, w in enumerate(feats.words)}
    top = {t: feats.spans[feats.word_span[index[t]]].candidates for t in ("purchase", "fix")}
    originals = {"purchase": top["purchase"][0].upper(), "fix": top["fix"][1]}
    swaps = []
    for observed, original in originals.items():
        start = text.index(observed)
        swaps.append(Swap(start, start + len(observed), observed, start, start, original))
    labels = restore_labels(feats, swaps)
    assert labels.shape == (len(feats.words),)
    assert labels[index["purchase"]] == 1
    assert labels[index["fix"]] == 0
    assert labels.sum() == 1  # words without a swap are never labelled
    assert restore_matrix(feats).shape[0] == len(feats.words)
