"""How far the verdict threshold moves with its calibration sample.

Run from the repository root after `diag/restore_budget.py --cache FILE` has built its samples:
`python diag/verdict_spread.py FILE MODEL [MODEL...]`. For each model's `--fast` part, calibrates
on sample A and counts the clean paragraphs of sample B at or above the verdict threshold (and
the spun ones at rate 0.2), then the other way round; next to the shipped rule, two variants:
the lone-paragraph group from every clean calibration paragraph, and a 1 % budget whose count is
taken one standard error high.
"""

from __future__ import annotations

import copy
import pickle
import sys

import numpy as np

from unspin.detect import train as T
from unspin.detect.model import SpinModel


def count_threshold(p: np.ndarray, share: float, z: float) -> float:
    """The lowest P(spun) threshold (at least 0.5) whose clean count, `z` binomial standard
    errors high, stays within `share` of the texts."""
    for t in sorted({0.5, *np.round(p + 1e-6, 6).tolist()}):
        if t < 0.5:
            continue
        k = int((p >= t).sum())
        if k + z * np.sqrt(k * (1 - k / len(p))) <= share * len(p):
            return round(float(t), 4)
    return 1.0


def main(cache: str, models: list[str]) -> None:
    with open(cache, "rb") as fh:
        a, b = pickle.load(fh)
    for path in models:
        base = SpinModel.load(path).fast
        for cal, test, name in ((a, b, "A->B"), (b, a, "B->A")):
            m = copy.deepcopy(base)
            T.calibrate(m, cal, fast=True, seed=0)
            half = len(cal) // 2
            probs = [m.doc_probability(m.word_probabilities(e.fast.matrix)) for e in cal]
            lone_all = np.array([p for p, e in zip(probs, cal, strict=True) if not e.spun])
            lone_half = np.array(
                [
                    p
                    for k, (p, e) in enumerate(zip(probs, cal, strict=True))
                    if not e.spun and k >= half
                ]
            )
            scored = [m.doc_probability(m.word_probabilities(e.fast.matrix)) for e in test]
            clean = np.array([p for p, e in zip(scored, test, strict=True) if not e.spun])
            spun = np.array(
                [
                    p
                    for p, e in zip(scored, test, strict=True)
                    if e.spun and abs(e.rate - 0.2) < 1e-9
                ]
            )
            rules = {
                "shipped rule": m.doc_threshold,
                "lone group from all clean, 0.6 %": max(
                    m.doc_threshold, T._clean_quantile_threshold(lone_all, 0.006)
                ),
                "lone half, 1 % one s.e. high": count_threshold(lone_half, 0.01, 1.0),
                "lone all, 1 % one s.e. high": count_threshold(lone_all, 0.01, 1.0),
            }
            for label, t in rules.items():
                print(
                    path, name, label, f"threshold {t:.4f}",
                    f"clean judged spun {(clean >= t).sum()} of {len(clean)}",
                    f"spun at 0.2 judged spun {(spun >= t).mean():.3f}", flush=True,
                )  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
