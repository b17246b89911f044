"""The learned part: word features → P(swapped), pooled word probabilities → P(spun).

A gradient-boosted tree model combines the per-word features; a logistic regression over
pooled statistics of the word probabilities gives a calibrated document probability.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

DOC_FEATURE_NAMES = (
    "log_words",
    "mean_p",
    "top5_mean_p",
    "share_over_0.5",
    "share_over_0.8",
    "max_p",
    "mean_top_decile_logit",
)
MODEL_FORMAT = 1


def doc_features(word_probs: np.ndarray) -> np.ndarray:
    """Pool word swap probabilities into a fixed-size document feature vector."""
    n = len(word_probs)
    if n == 0:
        return np.zeros(len(DOC_FEATURE_NAMES), dtype=np.float64)
    p = np.sort(word_probs)[::-1]
    top = p[: max(1, n // 10)]
    logits = np.log(np.clip(top, 1e-4, 1 - 1e-4) / (1 - np.clip(top, 1e-4, 1 - 1e-4)))
    return np.array(
        [
            np.log(n),
            p.mean(),
            p[:5].mean(),
            (p > 0.5).mean(),
            (p > 0.8).mean(),
            p[0],
            logits.mean(),
        ]
    )


@dataclass
class SpinModel:
    """Word and document models plus the thresholds chosen on validation data."""

    word_model: Any
    doc_model: Any
    flag_threshold: float = 0.5
    restore_threshold: float = 0.8
    # P(spun) at or above which the verdict is "spun"; chosen so few clean documents cross it.
    doc_threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)
    fast: SpinModel | None = None  # the variant fitted on --fast (bigram-only) features

    def for_mode(self, fast: bool) -> SpinModel:
        """The model to use for default or --fast features."""
        if fast:
            if self.fast is None:
                raise ValueError("this model has no --fast variant; retrain it")
            return self.fast
        return self

    def word_probabilities(self, matrix: np.ndarray) -> np.ndarray:
        """P(swapped) for each row of a word feature matrix."""
        if len(matrix) == 0:
            return np.zeros(0)
        return self.word_model.predict_proba(matrix)[:, 1]

    def doc_probability(self, word_probs: np.ndarray) -> float:
        """Calibrated P(spun) of a document from its word probabilities."""
        x = doc_features(word_probs).reshape(1, -1)
        return float(self.doc_model.predict_proba(x)[0, 1])

    def save(self, path: str | Path) -> None:
        """Write the model to one file (pickle with a format tag)."""
        payload = {"format": MODEL_FORMAT, "model": self}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(path) + ".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @staticmethod
    def load(path: str | Path) -> SpinModel:
        """Read a model written by `save`."""
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - our own model file
        if payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: unsupported model format {payload.get('format')}")
        model = payload["model"]
        if not hasattr(model, "doc_threshold"):  # written before the field existed
            model.doc_threshold = 0.5
        from unspin.detect.features import FEATURE_NAMES

        if model.meta.get("features") != list(FEATURE_NAMES):
            raise ValueError(
                f"{path}: model was trained on other word features than this unspin computes; "
                "retrain it with `unspin train`"
            )
        return model


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return Path(str(resources.files("unspin") / "data" / "model.pkl"))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> SpinModel:
    """Load (once) the model at `path`, or the shipped one."""
    return SpinModel.load(path or default_model_path())
