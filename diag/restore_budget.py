"""How far the restore thresholds' clean budget holds on texts calibration never saw.

Run from the repository root: `python diag/restore_budget.py MODEL [MODEL...] [--z 0 1]`. Builds
examples (a seeded mix of clean and spun paragraphs, as `unspin train` does) from 6,000
paragraphs of the encoder's half of the train split, which the word, rank and restore models
never fit on, and which the `--fast` mode reads without the encoder. Half (A) stands in for a
calibration sample, the other half (B) for new text. For each model's `--fast` part it reports,
on B, the clean words changed per 1,000 (restorations plus the disguised-term reader's) and the
repairs net of damage in the spun texts: first with the thresholds the model shipped with, then
with thresholds re-chosen on A by `unspin.detect.train.calibrate` at each `--z`.
"""

from __future__ import annotations

import argparse
import copy
import pickle
from pathlib import Path

from unspin.bench.datasets import sample_paragraphs
from unspin.detect import train as T
from unspin.detect.model import SpinModel

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
PROFILES = ["spinbot", "spinnerchief", "bestspinner", "wordnet", "moby-rare", "tortured"]


def examples(cache: Path | None) -> tuple[list[T.Example], list[T.Example]]:
    """Samples A and B (cached as features only: no text is stored)."""
    if cache is not None and cache.exists():
        with open(cache, "rb") as fh:
            return pickle.load(fh)
    texts = [p.text for p in sample_paragraphs(CORPORA, "train", 6000, seed=7, part="encoder")]
    a = T.build_examples(texts[:3000], PROFILES, seed=11, workers=2)
    b = T.build_examples(texts[3000:], PROFILES, seed=12, workers=2)
    if cache is not None:
        with open(cache, "wb") as fh:
            pickle.dump((a, b), fh)
    return a, b


def evaluate(model: SpinModel, sample: list[T.Example]) -> dict:
    """Clean words changed per 1,000 and net repairs in spun texts, as the scan decides them."""
    words = changed = right = damage = 0
    for e in sample:
        d = e.fast
        probs = model.word_probabilities(d.matrix)
        rows, ok = T.restore_rows(d, model.rank_model)
        conf = model.restore_probabilities(rows)
        at = model.restore_at(model.doc_probability(probs))
        applied = (probs >= model.flag_threshold) & (conf >= at)
        if e.spun:
            right += int((applied & (ok == 1)).sum())
            damage += int((applied & (e.labels == 0)).sum())
        else:
            words += len(probs)
            changed += int(applied.sum()) + d.term_words
    return {
        "clean_changed_per_1000": round(1000 * changed / max(words, 1), 3),
        "repairs": right,
        "damaged": damage,
        "net": right - damage,
    }


def thresholds(model: SpinModel) -> tuple:
    return (model.restore_doc_threshold, model.restore_threshold, model.spun_restore_threshold)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--z", type=float, nargs="*", default=[0.0, 1.0])
    ap.add_argument("--cache", type=Path, default=None, help="pickle of the examples to reuse")
    args = ap.parse_args()
    a, b = examples(args.cache)
    for path in args.models:
        shipped = SpinModel.load(path).fast
        print(path, "as shipped", thresholds(shipped), evaluate(shipped, b), flush=True)
        for z in args.z:
            m = copy.deepcopy(shipped)
            T.calibrate(m, a, fast=True, seed=0, z=z)
            print(path, f"re-chosen on A, z={z}", thresholds(m), evaluate(m, b), flush=True)


if __name__ == "__main__":
    main()
