"""Metrics for the detection benchmark: AUROC, calibration, flag F1, word error rate, restoration
gain."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def auroc(scores_pos: Sequence[float], scores_neg: Sequence[float]) -> float:
    """Area under the ROC curve: P(a random positive outranks a random negative), ties half."""
    pos = np.asarray(scores_pos, dtype=float)
    neg = np.asarray(scores_neg, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    # average ranks for ties
    i = 0
    while i < len(sorted_v):
        j = i
        while j + 1 < len(sorted_v) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[: len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def roc_curve(scores_pos: Sequence[float], scores_neg: Sequence[float]):
    """False and true positive rates over all thresholds (for plotting)."""
    thresholds = np.unique(np.concatenate([scores_pos, scores_neg]))[::-1]
    pos = np.asarray(scores_pos)
    neg = np.asarray(scores_neg)
    tpr = [0.0] + [float((pos >= t).mean()) for t in thresholds] + [1.0]
    fpr = [0.0] + [float((neg >= t).mean()) for t in thresholds] + [1.0]
    return fpr, tpr


def reliability(scores_pos: Sequence[float], scores_neg: Sequence[float], bins: int = 10) -> dict:
    """How well probabilities match outcomes, at even odds: each side weighs half, as in the
    even mix P(spun) is calibrated on. Returns the Brier score, the expected calibration error
    (mean |P - spun share| over equal-width bins, weighted by their weight) and per bin the
    weighted mean P, the weighted spun share and the texts in it (bins with none left out)."""
    pos = np.asarray(scores_pos, dtype=float)
    neg = np.asarray(scores_neg, dtype=float)
    if len(pos) == 0 or len(neg) == 0:
        return {"brier": float("nan"), "ece": float("nan"), "bins": []}
    p = np.concatenate([pos, neg])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    w = np.concatenate([np.full(len(pos), 0.5 / len(pos)), np.full(len(neg), 0.5 / len(neg))])
    which = np.minimum((p * bins).astype(int), bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        weight = float(w[inside].sum())
        mean_p = float((w[inside] * p[inside]).sum() / weight)
        share = float((w[inside] * y[inside]).sum() / weight)
        ece += weight * abs(mean_p - share)
        table.append(
            {
                "low": b / bins,
                "high": (b + 1) / bins,
                "texts": int(inside.sum()),
                "mean_p": round(mean_p, 4),
                "spun_share": round(share, 4),
            }
        )
    return {
        "brier": round(float((w * (p - y) ** 2).sum()), 4),
        "ece": round(ece, 4),
        "bins": table,
    }


def word_list(text: str) -> list[str]:
    """Words of a text for WER (case kept, punctuation dropped)."""
    return _WORD.findall(text)


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two word sequences."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two half-open character spans overlap."""
    return a[0] < b[1] and b[0] < a[1]


def flag_counts(
    flags: Sequence[tuple[int, int]], swaps: Sequence[tuple[int, int]]
) -> tuple[int, int, int, int]:
    """(correct flags, all flags, swaps found, all swaps): a flag is right if it overlaps a swap."""
    correct = sum(1 for f in flags if any(overlaps(f, s) for s in swaps))
    found = sum(1 for s in swaps if any(overlaps(f, s) for f in flags))
    return correct, len(flags), found, len(swaps)


def suggestion_counts(
    flags: Sequence[tuple[int, int, str | None]], swaps: Sequence[tuple[int, int, str]]
) -> tuple[int, int]:
    """(right, judged): of the swaps flagged exactly (same span) with a suggestion, how many
    got their original wording as the first suggestion (case and spacing ignored). Measures
    candidate ranking apart from detection."""
    suggested = {(a, b): s for a, b, s in flags if s}
    right = judged = 0
    for a, b, original in swaps:
        s = suggested.get((a, b))
        if s is None:
            continue
        judged += 1
        right += " ".join(s.lower().split()) == " ".join(original.lower().split())
    return right, judged


def f1_from_counts(correct: int, n_flags: int, found: int, n_swaps: int) -> dict[str, float]:
    """Precision, recall and F1 from flag counts."""
    p = correct / n_flags if n_flags else 0.0
    r = found / n_swaps if n_swaps else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f}
