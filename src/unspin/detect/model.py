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
    "evidence_sum",
    "evidence_mean",
    "top5_mean_logit",
    "share_over_0.5",
    "max_p",
)
MODEL_FORMAT = 4
# Word probabilities are binned on the logit scale to weigh each word's evidence (see DocEvidence).
EVIDENCE_EDGES = np.linspace(-7.0, 5.0, 25)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(q / (1 - q))


@dataclass
class DocEvidence:
    """Log-likelihood ratio of a word's P(swapped) under spun vs clean documents, by bin.

    Summed over a document's words it grows with the document's length, the way evidence does:
    one odd word in a short paragraph says little, twenty in an article say a lot.
    """

    llr: np.ndarray  # one value per bin of EVIDENCE_EDGES (len(edges) + 1 bins)

    @classmethod
    def fit(cls, spun_probs: np.ndarray, clean_probs: np.ndarray) -> DocEvidence:
        """Estimate the ratio from word probabilities of spun and of clean documents."""
        bins = len(EVIDENCE_EDGES) + 1
        spun = np.bincount(np.digitize(_logit(spun_probs), EVIDENCE_EDGES), minlength=bins)
        clean = np.bincount(np.digitize(_logit(clean_probs), EVIDENCE_EDGES), minlength=bins)
        # add-one smoothing keeps empty tail bins finite
        ratio = ((spun + 1) / (spun.sum() + bins)) / ((clean + 1) / (clean.sum() + bins))
        return cls(np.log(ratio))

    def of(self, word_probs: np.ndarray) -> np.ndarray:
        """Per-word evidence for "spun"."""
        return self.llr[np.digitize(_logit(word_probs), EVIDENCE_EDGES)]


def doc_features(word_probs: np.ndarray, evidence: DocEvidence | None = None) -> np.ndarray:
    """Pool word swap probabilities into a fixed-size document feature vector."""
    n = len(word_probs)
    if n == 0:
        return np.zeros(len(DOC_FEATURE_NAMES), dtype=np.float64)
    p = np.sort(word_probs)[::-1]
    ev = evidence.of(p) if evidence is not None else np.zeros(n)
    return np.array(
        [
            np.log(n),
            ev.sum(),
            ev.mean(),
            _logit(p[:5]).mean(),
            (p > 0.5).mean(),
            p[0],
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
    evidence: DocEvidence | None = None
    # P(the top suggestion is the original) from `features.restore_matrix`; applied at or above
    # `restore_threshold` (chosen for the clean-damage budget), or `spun_restore_threshold` in a
    # text judged spun. Without one, P(swapped) stands in (older models, tests).
    restore_model: Any = None
    spun_restore_threshold: float | None = None
    # P(spun) at or above which restoration uses `spun_restore_threshold`: below the verdict's
    # `doc_threshold` where calibration found that repairs more swaps within the clean-damage
    # budget (the verdict answers to a 1 % budget of clean texts, restoration to changed words).
    # None: the verdict decides.
    restore_doc_threshold: float | None = None
    # P(candidate is the original) from `unspin.restore.rank` rows: re-orders the candidates of
    # flagged spans before the restore model judges the leader. None: the scan's order stands.
    rank_model: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Decides which disguised web collocations to repair (`unspin.detect.collocations`): it reads
    # this model's P(swapped), so each mode has its own. None (older models): none are read.
    collocation_scorer: Any = None
    fast: SpinModel | None = None  # the variant fitted on --fast (bigram-only) features
    # The encoder head file this model's default mode reads (set by `load` from meta["encoder"]).
    encoder_file: str | None = None

    @property
    def uses_encoder(self) -> bool:
        """Whether the word features include the swapped-word encoder's columns."""
        return bool(self.meta.get("encoder"))

    def encoder(self):
        """The loaded swapped-word encoder (shared per process)."""
        from unspin.context.encoder import get_encoder

        return get_encoder(self.encoder_file)

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

    def restore_probabilities(self, restore_matrix: np.ndarray) -> np.ndarray:
        """P(the top suggestion is the original) for each row of a restore matrix."""
        if len(restore_matrix) == 0:
            return np.zeros(0)
        return self.restore_model.predict_proba(restore_matrix)[:, 1]

    def restore_at(self, p_doc: float, spun_at: float | None = None) -> float:
        """The restore confidence a flagged span needs in a text of P(spun) `p_doc`: from
        `restore_doc_threshold` up (the verdict's where unset) the lower of the any-text and the
        spun-text threshold (`spun_at`, by default the model's own), below it the any-text one."""
        cut = self.restore_doc_threshold
        if p_doc < (self.doc_threshold if cut is None else cut):
            return self.restore_threshold
        spun_at = spun_at or self.spun_restore_threshold or self.restore_threshold
        return min(self.restore_threshold, spun_at)

    def doc_probability(self, word_probs: np.ndarray) -> float:
        """Calibrated P(spun) of a document from its word probabilities."""
        x = doc_features(word_probs, self.evidence).reshape(1, -1)
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
        from unspin.detect.features import ENCODER_FEATURE_NAMES, FEATURE_NAMES

        expected = list(FEATURE_NAMES) + (list(ENCODER_FEATURE_NAMES) if model.uses_encoder else [])
        if model.meta.get("features") != expected:
            raise ValueError(
                f"{path}: model was trained on other word features than this unspin computes; "
                "retrain it with `unspin train`"
            )
        from unspin.restore.rank import RANK_FEATURE_NAMES

        if model.rank_model is not None and model.meta.get("rank_features") != list(
            RANK_FEATURE_NAMES
        ):
            raise ValueError(
                f"{path}: model's candidate ranker was trained on other features than this "
                "unspin computes; retrain it with `unspin train`"
            )
        if model.uses_encoder:
            model.encoder_file = _encoder_file(Path(path), model.meta["encoder"])
        return model


def _encoder_file(model_path: Path, ref: dict[str, str]) -> str:
    """Resolve a model's encoder reference (a name beside the model file, or an absolute path)
    and check it is the file the model was trained with."""
    import hashlib

    enc = Path(ref["file"])
    if not enc.is_absolute():
        enc = model_path.resolve().parent / enc
    if not enc.is_file():
        raise ValueError(f"{model_path}: its encoder file {enc} is missing")
    if hashlib.sha256(enc.read_bytes()).hexdigest() != ref.get("sha256"):
        raise ValueError(
            f"{model_path}: encoder file {enc} is not the one the model was trained with"
        )
    return str(enc)


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return Path(str(resources.files("unspin") / "data" / "model.pkl"))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> SpinModel:
    """Load (once) the model at `path`, or the shipped one."""
    return SpinModel.load(path or default_model_path())
