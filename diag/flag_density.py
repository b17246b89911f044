"""Would dense texts be better served by a lower flag threshold? Word-level F1 by spin rate.

Run from the repository root: `python diag/flag_density.py [--paragraphs 600] [--fast]`. Scans
paragraphs of the calibration-side documents of the shipped model's training sample (train
split, the word model's half; no model was fitted on them), one per document, each clean and
spun by the profiles in turn at rates 0.1 to 0.5 (the bench and training stop at 0.3; real
spinners change more). Prints word-level F1 at the shipped flag threshold, the best single
threshold per rate, and rules that lower the threshold where the text's own mean P(swapped)
says it is dense: log-odds of the threshold lowered by beta * (logit(mean P) - logit(m0)), never
raised. The bench's test split is not read.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from unspin.bench.datasets import paragraphs, sample_paragraphs
from unspin.detect.model import load_model
from unspin.detect.scan import scan_text
from unspin.detect.train import HOLDOUT, split_by_group
from unspin.spin import PROFILES, spin

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
# The shipped model's training sample (`unspin train ... --paragraphs 12000 --seed 0`).
TRAIN_PARAGRAPHS, TRAIN_SEED = 12_000, 0


def calibration_paragraphs(n: int) -> list:
    """One paragraph from each of `n` calibration-side documents of the training sample."""
    sample = sample_paragraphs(CORPORA, "train", TRAIN_PARAGRAPHS, seed=TRAIN_SEED, part="words")
    _, held = split_by_group(len(sample), [p.doc_id for p in sample], HOLDOUT, TRAIN_SEED)
    docs = {sample[i].doc_id for i in held}
    pool = [p for p in paragraphs(CORPORA, "train", part="words") if p.doc_id in docs]
    np.random.default_rng(7).shuffle(pool)
    seen: set[str] = set()
    out = []
    for p in pool:
        if p.doc_id not in seen:
            seen.add(p.doc_id)
            out.append(p)
    return out[:n]


def word_rows(paras: list, fast: bool) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """(rate, word P(swapped), word labels) per scanned text."""
    model, profiles, rows = load_model(), list(PROFILES), []
    for k, p in enumerate(paras):
        for rate in RATES:
            if rate == 0.0:
                text, swaps = p.text, []
            else:
                spun = spin(p.text, profiles[k % len(profiles)], rate=rate, seed=900 + k)
                text, swaps = spun.text, [(s.start, s.end) for s in spun.swaps]
            got: dict = {}

            def keep(tokens, probs, got=got) -> None:
                got["spans"] = [(t.start, t.end) for t in tokens]
                got["p"] = probs.copy()

            scan_text(text, model=model, on_word_probabilities=keep, fast=fast)
            if "p" not in got:
                continue  # abstained
            labels = np.array([any(a < e and s < b for s, e in swaps) for a, b in got["spans"]])
            rows.append((rate, got["p"], labels))
    return rows


def f1(rows, threshold) -> float:
    """Word-level F1 with a threshold per text (`threshold(probs)`)."""
    hit = flagged = swapped = 0
    for _, p, labels in rows:
        flags = p >= threshold(p)
        hit += int((flags & labels).sum())
        flagged += int(flags.sum())
        swapped += int(labels.sum())
    precision, recall = hit / max(flagged, 1), hit / max(swapped, 1)
    return 2 * precision * recall / max(precision + recall, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=600)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args()
    model = load_model().for_mode(args.fast)
    t0 = model.flag_threshold
    rows = word_rows(calibration_paragraphs(args.paragraphs), args.fast)
    by_rate = {r: [row for row in rows if row[0] == r] for r in RATES if r}
    logit = lambda x: math.log(x / (1 - x))  # noqa: E731
    print(f"{len(rows)} texts; shipped flag threshold {t0}")
    for rate, rs in by_rate.items():
        best = max((f1(rs, lambda p, t=t: t), t) for t in np.arange(0.1, 0.9, 0.025))
        mean = np.mean([p.mean() for _, p, _ in rs])
        print(
            f"rate {rate}: F1 {f1(rs, lambda p: t0):.3f} at {t0}, best {best[0]:.3f} at "
            f"{best[1]:.3f}; mean P(swapped) {mean:.3f}"
        )
    for beta in (0.5, 1.0, 2.0):
        for m0 in (0.1, 0.15, 0.2):

            def rule(p, beta=beta, m0=m0):
                shift = beta * (logit(min(max(p.mean(), 1e-3), 0.999)) - logit(m0))
                return 1 / (1 + math.exp(-(logit(t0) - max(shift, 0.0))))

            gains = [f1(rs, rule) - f1(rs, lambda p: t0) for rs in by_rate.values()]
            changes = " ".join(f"{g:+.3f}" for g in gains)
            print(f"beta {beta}, m0 {m0}: F1 change by rate {changes}")


if __name__ == "__main__":
    main()
