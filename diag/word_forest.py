"""Does the word forest stop learning where `unspin train` stops it? Word-level quality on the
calibration side against the number of boosting iterations, both modes.

Run from the repository root: `python diag/word_forest.py [--paragraphs N] [--max-iter N]
[--cache FILE]`. Builds the training examples as `unspin train` does (same paragraphs of the
train split's word half, seed, profiles and shipped encoder), splits them into the fit and
calibration sides as `fit` does, and fits the word forest with training's settings except a
larger iteration cap. Prints where early stopping ends it, then AUROC, log-loss and the best
F1 over thresholds on the calibration side's words after each hundred iterations. `--cache`
keeps the feature matrices and labels (numbers only, no text) for another run.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np

from unspin.bench.datasets import sample_paragraphs
from unspin.bench.metrics import auroc
from unspin.context.encoder import SwapEncoder, default_encoder_path
from unspin.detect.train import HOLDOUT, build_examples, split_by_group
from unspin.spin import PROFILES

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]


def data(paragraphs: int, cache: Path | None) -> dict:
    """Per mode, the fit and calibration sides' word matrices and labels."""
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    paras = sample_paragraphs(CORPORA, "train", paragraphs, seed=0, part="words", per_doc=3)
    encoder = SwapEncoder.load(default_encoder_path(), threads=2)
    examples = build_examples([p.text for p in paras], list(PROFILES), seed=0, encoder=encoder)
    fit_idx, cal_idx = split_by_group(len(examples), [p.doc_id for p in paras], HOLDOUT, 0)
    out: dict = {}
    for fast in (False, True):
        sides = []
        for idx in (fit_idx, cal_idx):
            part = [examples[i] for i in idx if len(examples[i].labels)]
            sides.append(
                (
                    np.concatenate([examples_matrix(e, fast) for e in part]),
                    np.concatenate([e.labels for e in part]),
                )
            )
        out["fast" if fast else "default"] = sides
    if cache is not None:
        cache.write_bytes(pickle.dumps(out))
    return out


def examples_matrix(example, fast: bool) -> np.ndarray:
    """The word matrix `unspin train` fits on."""
    return example.mode(fast).matrix


def best_f1(p: np.ndarray, y: np.ndarray) -> float:
    """The best word-level F1 over thresholds 0.2-0.95 (as training picks its threshold)."""
    best = 0.0
    for t in np.arange(0.2, 0.95, 0.025):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        if tp:
            prec, rec = tp / pred.sum(), tp / (y == 1).sum()
            best = max(best, 2 * prec * rec / (prec + rec))
    return best


def main() -> None:
    """Fit with a larger cap and report the calibration side's curve."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--paragraphs", type=int, default=12000)
    ap.add_argument("--max-iter", type=int, default=1500)
    ap.add_argument("--leaves", type=int, default=48)
    ap.add_argument("--cache", type=Path)
    args = ap.parse_args()
    t0 = time.time()
    sides = data(args.paragraphs, args.cache)
    print(f"data: {time.time() - t0:.0f} s")
    for mode, ((x, y), (cx, cy)) in sides.items():
        model = HistGradientBoostingClassifier(
            max_iter=args.max_iter,
            learning_rate=0.08,
            max_leaf_nodes=args.leaves,
            max_depth=10,
            l2_regularization=1.0,
            early_stopping=True,
            validation_fraction=0.1,
            random_state=0,
        )
        t = time.time()
        model.fit(x, y)
        print(f"{mode}: {len(y):,} fit rows, {len(cy):,} calibration rows; stopped after "
              f"{model.n_iter_} iterations ({time.time() - t:.0f} s)")  # fmt: skip
        for k, p in enumerate(model.staged_predict_proba(cx), start=1):
            if k % 100 and k != model.n_iter_:
                continue
            q = np.clip(p[:, 1], 1e-7, 1 - 1e-7)
            loss = -np.mean(cy * np.log(q) + (1 - cy) * np.log(1 - q))
            pos, neg = q[cy == 1], q[cy == 0]
            print(f"  {k:5d} iterations: AUROC {auroc(list(pos), list(neg)):.4f}  "
                  f"log-loss {loss:.4f}  best F1 {best_f1(q, cy):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
