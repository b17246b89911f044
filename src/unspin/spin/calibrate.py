"""Calibrate how spinners pick a synonym, on real tortured phrases from published papers.

For each usable calibration row of the tortured-phrases list (the odd data rows: 1st, 3rd, ...;
the even rows are kept for evaluation), find where the real tortured choice ranks among the
lexicon's synonyms of the expected wording, by word frequency (wordfreq zipf) and by lexicon
weight, and fit the pick model of the simulator, P(c) ∝ exp(a·zipf(c) + b·ln weight(c)), by
maximum likelihood (conditional logit). Multiword terms are also aligned word by word
("data mining" -> "information mining" gives data -> information), since paper mills swap the
words of a term one at a time.

    python -m unspin.spin.calibrate [--csv PATH] [--limit N]

prints the statistics and the fitted (a, b); `PICK_BIAS` in simulator.py hard-codes them.
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unspin.spin.simulator import (
    _CANDIDATES,
    PICK_BIAS,
    LexiconLike,
    _zipf,
    plain_candidates,
)

# The repository's sibling shared/ folder (not shipped with the package).
DEFAULT_CSV = Path(__file__).resolve().parents[4] / "shared/data/real/tortured_phrases.csv"

_QUOTED = re.compile(r'"([^"]+)"')
_PAREN = re.compile(r"\([^)]*\)")


@dataclass(frozen=True, slots=True)
class Observation:
    """One real choice: the spinner turned `source` into `chosen` among `candidates`."""

    source: str
    chosen: str
    candidates: tuple[tuple[str, float], ...]  # (text, weight), lexicon order


def calibration_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """(expected, tortured) lower-cased pairs from the odd data rows; uncertain rows skipped."""
    with open(path, newline="", encoding="utf-8") as fh:
        for k, row in enumerate(csv.DictReader(fh)):
            if k % 2:  # even rows (0-based odd index) are reserved for evaluation
                continue
            expected = row["expected_phrase"]
            if "?" in expected:
                continue
            quoted = _QUOTED.findall(row["tortured_phrase"])
            tortured = quoted[0] if quoted else row["tortured_phrase"].split(" AND ")[0]
            expected = _PAREN.sub(" ", expected)
            expected = re.split(r"[/,;]| or ", expected)[0]
            expected = " ".join(expected.lower().split())
            tortured = " ".join(tortured.lower().strip('" ').split())
            if expected and tortured and expected != tortured:
                yield expected, tortured


def _candidates(lexicon: LexiconLike, phrase: str, limit: int) -> list[tuple[str, float]]:
    """The simulator's own candidate set (all sources): (text, weight)."""
    return [(t, w) for t, w, _ in plain_candidates(lexicon, phrase, limit)]


def observations(
    pairs: list[tuple[str, str]], lexicon: LexiconLike, limit: int
) -> tuple[list[Observation], dict[str, int]]:
    """Real choices found among the lexicon's candidates, deduplicated by (source, chosen)."""
    counts = {"rows": len(pairs), "choices": 0, "whole_phrase": 0, "word_aligned": 0}
    seen: set[tuple[str, str]] = set()
    found: list[Observation] = []
    for expected, tortured in pairs:
        trials: list[tuple[str, str, str]] = [(expected, tortured, "whole_phrase")]
        ew, tw = expected.split(), tortured.split()
        if len(ew) == len(tw) and len(ew) > 1:
            trials += [(e, t, "word_aligned") for e, t in zip(ew, tw, strict=True) if e != t]
        for src, chosen, kind in trials:
            if (src, chosen) in seen:
                continue
            seen.add((src, chosen))
            if kind == "word_aligned" or len(ew) == 1:
                counts["choices"] += 1
            cands = _candidates(lexicon, src, limit)
            if len(cands) >= 2 and any(t == chosen for t, _ in cands):
                counts[kind] += 1
                found.append(Observation(src, chosen, tuple(cands)))
    return found, counts


def _features(obs: Observation) -> tuple[np.ndarray, int]:
    x = np.array([[_zipf(t), math.log(w)] for t, w in obs.candidates], dtype=float)
    return x, next(i for i, (t, _) in enumerate(obs.candidates) if t == obs.chosen)


def fit_pick_model(
    found: list[Observation], use: tuple[bool, bool] = (True, True), steps: int = 100
) -> tuple[float, float, float, float]:
    """Maximum-likelihood (a, b) of P(c) ∝ exp(a·zipf + b·ln weight); also the mean
    log-likelihood per choice of the fit and of a uniform pick. `use` switches either term off
    (its coefficient stays 0)."""
    mask = np.array(use, dtype=float)
    data = [(x * mask, y) for x, y in (_features(o) for o in found)]
    theta = np.zeros(2)
    lr = 0.5
    for _ in range(steps):
        grad = np.zeros(2)
        hess = np.zeros((2, 2))
        for x, y in data:
            s = x @ theta
            p = np.exp(s - s.max())
            p /= p.sum()
            mu = p @ x
            grad += x[y] - mu
            xc = x - mu
            hess -= (xc * p[:, None]).T @ xc
        step = np.linalg.solve(hess - np.diag(1e-6 + (1 - mask)), grad)
        theta -= lr * step if np.abs(step).max() > 1 else step
        if np.abs(step).max() < 1e-6:
            break
    ll = ll0 = 0.0
    for x, y in data:
        s = x @ theta
        ll += s[y] - (s.max() + math.log(np.exp(s - s.max()).sum()))
        ll0 -= math.log(len(x))
    n = max(len(data), 1)
    return float(theta[0]), float(theta[1]), ll / n, ll0 / n


def rank_stats(found: list[Observation]) -> dict[str, float]:
    """Where the real choice ranks among the candidates, by frequency and by lexicon weight."""
    by_freq, by_weight, top_freq, top_weight, n_cands = [], [], 0, 0, []
    for o in found:
        texts = [t for t, _ in o.candidates]
        z = {t: _zipf(t) for t in texts}
        w = dict(o.candidates)
        order_f = sorted(texts, key=lambda t: -z[t])
        order_w = sorted(texts, key=lambda t: -w[t])
        rf, rw = order_f.index(o.chosen), order_w.index(o.chosen)
        denom = len(texts) - 1
        by_freq.append(rf / denom)
        by_weight.append(rw / denom)
        top_freq += rf == 0
        top_weight += rw == 0
        n_cands.append(len(texts))
    n = max(len(found), 1)
    return {
        "choices_found": len(found),
        "mean_candidates": float(np.mean(n_cands)) if n_cands else 0.0,
        "top1_by_frequency": top_freq / n,
        "top1_by_weight": top_weight / n,
        "uniform_top1": float(np.mean([1 / c for c in n_cands])) if n_cands else 0.0,
        "median_pct_rank_by_frequency": float(np.median(by_freq)) if by_freq else 0.0,
        "median_pct_rank_by_weight": float(np.median(by_weight)) if by_weight else 0.0,
        "share_in_top_third_by_frequency": float(np.mean(np.array(by_freq) <= 1 / 3))
        if by_freq
        else 0.0,
    }


def pick_shares(
    lexicon: LexiconLike, limit: int, sample: int = 1000
) -> dict[str, tuple[float, float, float]]:
    """For each `PICK_BIAS` setting, the expected share of picks that take the lexicon's first
    candidate, one of its first three, and one from rank 10 on, over common English words
    (wordfreq's list, ranks 300 to 300 + `sample`) that have at least five candidates."""
    from wordfreq import top_n_list

    words = [w for w in top_n_list("en", 300 + sample)[300:] if w.isalpha()]
    rows: list[np.ndarray] = []
    for w in words:
        cands = _candidates(lexicon, w, limit)
        if len(cands) >= 5:
            rows.append(np.array([[_zipf(t), math.log(x)] for t, x in cands]))
    out: dict[str, tuple[float, float, float]] = {}
    for name, (a, b) in PICK_BIAS.items():
        top1 = top3 = tail = 0.0
        for x in rows:
            s = x @ np.array([a, b])
            p = np.exp(s - s.max())
            p /= p.sum()
            top1 += p[0]
            top3 += p[:3].sum()
            tail += p[10:].sum()
        n = max(len(rows), 1)
        out[name] = (top1 / n, top3 / n, tail / n)
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the calibration statistics and the fitted pick model."""
    ap = argparse.ArgumentParser(prog="python -m unspin.spin.calibrate", description=__doc__)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--limit", type=int, default=_CANDIDATES, help="candidates per phrase")
    args = ap.parse_args(argv)
    if not args.csv.exists():
        print(f"calibrate: no such file: {args.csv}", file=sys.stderr)
        return 2
    from unspin.lexicon import get_lexicon

    lexicon = get_lexicon()
    pairs = list(calibration_pairs(args.csv))
    found, counts = observations(pairs, lexicon, args.limit)
    stats = rank_stats(found)
    fits = {
        "zipf only": fit_pick_model(found, (True, False)),
        "weight only": fit_pick_model(found, (False, True)),
        "zipf + weight": fit_pick_model(found),
    }
    print(f"calibration rows (odd data rows, certain answers): {counts['rows']}")
    print(
        f"distinct choices tried: {counts['choices']}  found among the top {args.limit}: "
        f"{counts['whole_phrase']} whole-phrase + {counts['word_aligned']} word-aligned"
    )
    for k, v in stats.items():
        print(f"{k:34s} {v:.3f}" if isinstance(v, float) else f"{k:34s} {v}")
    print("pick model P(c) ~ exp(a*zipf + b*ln weight), mean log-likelihood per choice:")
    for name, (a, b, ll, ll0) in fits.items():
        print(f"  {name:14s} a = {a:6.3f}  b = {b:6.3f}  loglik {ll:.3f}  (uniform {ll0:.3f})")
    print(f"implied pick shares over common English words (top {args.limit} candidates):")
    print("  setting      first  first-3  rank>=10")
    for name, (top1, top3, tail) in pick_shares(lexicon, args.limit).items():
        print(f"  {name:10s} {top1:7.2f} {top3:8.2f} {tail:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
