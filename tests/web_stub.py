"""A small stand-in detector model for the web tests, so they need no trained model file.

It reads two real features (does the thesaurus offer an original, and how much better does the
best one fit the context) and nothing else: enough to flag obvious swaps deterministically and
exercise the web layer end to end over the real lexicon and language model.
"""

from __future__ import annotations

import numpy as np

from unspin.detect.features import FEATURE_NAMES
from unspin.detect.model import DOC_FEATURE_NAMES, SpinModel

_HAS_CANDIDATES = FEATURE_NAMES.index("has_candidates")
_LM_DELTA = FEATURE_NAMES.index("lm_delta_best")
_SHARE_OVER_05 = DOC_FEATURE_NAMES.index("share_over_0.5")


class _WordModel:
    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        fit_gain = matrix[:, _LM_DELTA] - 2.0
        p = np.where(matrix[:, _HAS_CANDIDATES] > 0, 1.0 / (1.0 + np.exp(-fit_gain)), 0.02)
        return np.stack([1.0 - p, p], axis=1)


class _DocModel:
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        share_over_05 = x[0, _SHARE_OVER_05]
        p = float(min(1.0, share_over_05 * 5.0))
        return np.array([[1.0 - p, p]])


def stub_model() -> SpinModel:
    """A SpinModel (with a --fast variant) built from the two rules above."""
    return SpinModel(_WordModel(), _DocModel(), fast=SpinModel(_WordModel(), _DocModel()))
