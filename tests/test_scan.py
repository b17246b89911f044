"""scan_text: how the document verdict decides which suggestions are applied."""

from __future__ import annotations

import numpy as np
import pytest

from unspin.detect.features import FEATURE_NAMES
from unspin.detect.model import SpinModel
from unspin.detect.scan import SPUN_RESTORE_THRESHOLD, scan_text

_HAS = FEATURE_NAMES.index("has_candidates")

# Written for this test: a plain paragraph of ordinary words, long enough to be judged.
TEXT = (
    "The town council met on Tuesday evening and agreed to repair the old stone bridge before "
    "the winter storms arrive, after residents complained that the crossing had become unsafe "
    "for children walking to school and for farmers moving their animals."
)


class _ConstantWords:
    """P(swapped) = p for every word the thesaurus could have produced, 0.01 elsewhere."""

    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        p = np.where(matrix[:, _HAS] > 0, self.p, 0.01)
        return np.stack([1 - p, p], axis=1)


class _ConstantDoc:
    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.array([[1 - self.p, self.p]])


def _model(word_p: float, doc_p: float) -> SpinModel:
    return SpinModel(
        _ConstantWords(word_p), _ConstantDoc(doc_p), flag_threshold=0.4,
        restore_threshold=0.95, doc_threshold=0.9,
    )  # fmt: skip


@pytest.mark.parametrize("doc_p, restores", [(0.97, True), (0.5, False)])
def test_spun_verdict_applies_less_certain_suggestions(doc_p, restores):
    word_p = (SPUN_RESTORE_THRESHOLD + 0.95) / 2  # between the two restore thresholds
    result = scan_text(TEXT, model=_model(word_p, doc_p))
    assert result.verdict == ("spun" if restores else "clean")
    assert result.flags and all(f.probability == pytest.approx(word_p) for f in result.flags)
    assert (result.restored != TEXT) is restores


def test_below_both_thresholds_nothing_is_restored():
    result = scan_text(TEXT, model=_model(SPUN_RESTORE_THRESHOLD - 0.1, 0.99))
    assert result.verdict == "spun"
    assert result.flags
    assert result.restored == TEXT


class _ConstantRestore:
    """P(top suggestion is the original) = c for every row."""

    def __init__(self, c: float) -> None:
        self.c = c

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        from unspin.detect.features import RESTORE_EXTRA_NAMES

        assert matrix.shape[1] == len(FEATURE_NAMES) + len(RESTORE_EXTRA_NAMES)
        p = np.full(len(matrix), self.c)
        return np.stack([1 - p, p], axis=1)


@pytest.mark.parametrize(
    "doc_p, confidence, restores",
    [(0.5, 0.9, True), (0.5, 0.6, False), (0.97, 0.6, True), (0.97, 0.3, False)],
)
def test_a_restore_model_decides_which_flags_are_restored(doc_p, confidence, restores):
    """With a restore model, its confidence (not P(swapped)) meets the restore thresholds: the
    clean-text one, or the lower one in a text judged spun."""
    model = _model(0.99, doc_p)
    model.restore_model = _ConstantRestore(confidence)
    model.restore_threshold, model.spun_restore_threshold = 0.8, 0.5
    result = scan_text(TEXT, model=model)
    assert result.flags  # every word with candidates is flagged at p = 0.99
    assert (result.restored != TEXT) is restores


@pytest.mark.parametrize("doc_p, restores", [(0.75, True), (0.6, False)])
def test_restoring_may_trust_a_lower_p_spun_than_the_verdict(doc_p, restores):
    """A model's restore_doc_threshold (below its verdict's) decides where the spun-text restore
    threshold applies; the verdict itself does not move."""
    model = _model(0.99, doc_p)
    model.restore_model = _ConstantRestore(0.6)
    model.restore_threshold, model.spun_restore_threshold = 0.8, 0.5
    model.restore_doc_threshold = 0.7
    result = scan_text(TEXT, model=model)
    assert result.verdict == "clean"  # doc_threshold 0.9
    assert (result.restored != TEXT) is restores


def test_shipped_model_weighs_the_encoder(monkeypatch):
    """The shipped model reads the encoder: the same word is more suspect when the encoder
    calls it swapped than when it calls every word original."""
    from unspin.context.encoder import SwapEncoder
    from unspin.detect.model import load_model

    model = load_model()
    assert model.uses_encoder and not model.for_mode(True).uses_encoder
    target = TEXT.index("repair")
    seen: dict[str, np.ndarray] = {}

    def fake(calls_swapped: bool):
        def word_logits(self, texts, spans, batch=32):
            out = np.full(len(spans[0]), -8.0, dtype=np.float32)
            if calls_swapped:
                out[[k for k, (a, _) in enumerate(spans[0]) if a == target]] = 8.0
            return [out]

        return word_logits

    for name, swapped in (("quiet", False), ("loud", True)):
        monkeypatch.setattr(SwapEncoder, "word_logits", fake(swapped))
        scan_text(
            TEXT,
            model=model,
            on_word_probabilities=lambda w, p, name=name: seen.update(
                {name: p[[t.start for t in w].index(target)]}
            ),
        )
    assert seen["loud"] > seen["quiet"] + 0.2, seen


@pytest.mark.parametrize("bad", [None, b"The council met on Monday.", 42])
def test_api_scan_says_when_it_is_not_given_text(bad: object) -> None:
    import unspin

    with pytest.raises(TypeError, match=r"^text must be a str, got "):
        unspin.scan(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^text must be a str, got "):
        unspin.api.restore(bad)  # type: ignore[arg-type]
