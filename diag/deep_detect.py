"""Would the word model flag more swaps if it read the ranker's view of every span? A trial of
word columns drawn from the candidate ranker's rows, which `unspin train` builds for every
span (its ten leading candidates and the two best news fits among the first 200 thesaurus
sources), though a scan builds them only for flagged spans.

Run from the repository root: `python diag/deep_detect.py [--paragraphs N]`. Builds the
training examples as `unspin train` does (as `diag/word_forest.py` does), adds to each word
the best news fit and the best context fit over its span's ranker rows (against the observed
words'), over the first ten rows and over all of them, and fits the word forest with
training's settings on the fit side with and without them. Prints AUROC and the best F1 on the
calibration side's words, both modes. The rows are the scan's leading candidates, then the two
deeper ones: where a span holds fewer than ten leading candidates (always with `--fast`, which
reads six), its first ten rows take in the deeper two as well.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from word_forest import CORPORA, best_f1  # a sibling script: run from the repository root

from unspin.bench.datasets import sample_paragraphs
from unspin.bench.metrics import auroc
from unspin.context.encoder import SwapEncoder, default_encoder_path
from unspin.detect.train import HOLDOUT, _word_forest, build_examples, split_by_group
from unspin.restore.rank import RANK_DEPTH, RANK_FEATURE_NAMES
from unspin.spin import PROFILES

NEWS = RANK_FEATURE_NAMES.index("news_fit_delta")
FIT = RANK_FEATURE_NAMES.index("fit_delta")
NAMES = ("lead_news", "lead_fit", "deep_news", "deep_fit")


def ranker_columns(data) -> np.ndarray:
    """Per word of one paragraph's mode data: the best news fit and context fit (each against
    the observed words') over its span's first ten rows, then over all its rows; NaN where
    the word has no span or no rows."""
    per_span = []
    for rows in data.rank_rows:
        if not len(rows):
            per_span.append([np.nan] * len(NAMES))
            continue
        lead = rows[:RANK_DEPTH]
        per_span.append(
            [lead[:, NEWS].max(), lead[:, FIT].max(), rows[:, NEWS].max(), rows[:, FIT].max()]
        )
    table = np.array(per_span + [[np.nan] * len(NAMES)], dtype=np.float32)  # [-1]: no span
    return table[data.word_span]


def fit_score(x, y, cx, cy) -> tuple[float, float]:
    """Calibration-side AUROC and best F1 of training's word forest fitted on (x, y)."""
    q = _word_forest(x, y, 0).predict_proba(cx)[:, 1]
    return auroc(list(q[cy == 1]), list(q[cy == 0])), best_f1(q, cy)


def main() -> None:
    """Fit with and without the ranker columns and print the calibration side's figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--paragraphs", type=int, default=12000)
    args = ap.parse_args()
    t0 = time.time()
    paras = sample_paragraphs(CORPORA, "train", args.paragraphs, seed=0, part="words", per_doc=3)
    encoder = SwapEncoder.load(default_encoder_path(), threads=2)
    examples = build_examples([p.text for p in paras], list(PROFILES), seed=0, encoder=encoder)
    fit_idx, cal_idx = split_by_group(len(examples), [p.doc_id for p in paras], HOLDOUT, 0)
    print(f"data: {time.time() - t0:.0f} s")
    for fast in (False, True):
        sides = []
        for idx in (fit_idx, cal_idx):
            part = [examples[i] for i in idx if len(examples[i].labels)]
            base = np.concatenate([e.mode(fast).matrix for e in part])
            extra = np.concatenate([ranker_columns(e.mode(fast)) for e in part])
            sides.append((base, extra, np.concatenate([e.labels for e in part])))
        (x, xe, y), (cx, cxe, cy) = sides
        mode = "--fast" if fast else "default"
        trials = (("without", []), ("first ten", [0, 1]), ("all rows", [0, 1, 2, 3]))
        for label, cols in trials:
            a, f = fit_score(np.hstack([x, xe[:, cols]]), y, np.hstack([cx, cxe[:, cols]]), cy)
            print(f"{mode:8s} {label:14s} AUROC {a:.4f}  best F1 {f:.4f}")


if __name__ == "__main__":
    main()
