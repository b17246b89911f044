"""What the news columns add: news register and news bigram fit, to the ranker and word model.

Run from the repository root: `python diag/news_columns.py [--paragraphs N] [--fast]`. Spins
paragraphs of the word model's half of the train split (seeded; the bench's test split is not
read, and the news counts come from the encoder's half), builds the ranker's and the word
model's rows the way `unspin train` does, and fits each model on 60 % of the paragraphs with
and without the news columns, scoring it on the other 40 %:
- the ranker without its register columns (`register_candidate`, `register_delta`,
  `register_gap`: `unspin.text.register`), without its news-fit columns (`news_fit_delta`,
  `news_fit_gap`: `unspin.context.news`), and with both: how often the original of a single
  swap comes first, by profile;
- the word model without and with its news-fit columns (`news_fit_observed`,
  `news_fit_delta`, `news_fit_vs_web`): word AUROC and the best word F1.
Without the encoder's columns, which only `unspin train` computes.
"""

from __future__ import annotations

import argparse
import random

import numpy as np
from channel import CORPORA, PROFILES, _auroc, _best_f1, _without  # a sibling script

from unspin.bench.datasets import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.features import FEATURE_NAMES
from unspin.detect.train import _rank_forest, _word_forest, label_words, mode_data, spun_version
from unspin.lexicon import get_lexicon
from unspin.restore.rank import RANK_FEATURE_NAMES
from unspin.text import tokenize

RANK_REGISTER = ("register_candidate", "register_delta", "register_gap")
RANK_NEWS = ("news_fit_delta", "news_fit_gap")
WORD_NEWS = ("news_fit_observed", "news_fit_delta", "news_fit_vs_web")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=2500)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    lexicon, context = get_lexicon(), get_context_model()
    rng = random.Random(args.seed)
    texts = sample_paragraphs(CORPORA, "train", args.paragraphs, seed=args.seed, part="words")
    spans, words = [], []  # (paragraph, profile, rows, labels) and (paragraph, matrix, labels)
    for k, p in enumerate(texts):
        if rng.random() < 0.35:
            profile, text, swaps = "clean", p.text, []
        else:
            profile = PROFILES[k % len(PROFILES)]
            rate = rng.choice((0.1, 0.2, 0.3))
            text, swaps = spun_version(p.text, profile, rate, args.seed * 10_000 + k)
        tokens = tokenize(text)
        data = mode_data(tokens, swaps, fast=args.fast, lexicon=lexicon, context=context)
        ranges = [(t.start, t.end) for t in tokens if t.kind == "word"]
        words.append((k, data.matrix, label_words(ranges, swaps)))
        for span, original, rows in zip(data.spans, data.originals, data.rank_rows, strict=True):
            if original is None or not len(rows):
                continue
            y = np.array([c == original for c in span.candidates[: len(rows)]], dtype=np.int8)
            if y.any():
                spans.append((k, profile, rows, y))
    cut = int(len(texts) * 0.6)
    train = [s for s in spans if s[0] < cut]
    test = [s for s in spans if s[0] >= cut]
    for label, cols in (
        ("ranker without register ", _without(RANK_FEATURE_NAMES, RANK_REGISTER + RANK_NEWS)),
        ("ranker without news fit ", _without(RANK_FEATURE_NAMES, RANK_NEWS)),
        ("ranker with both        ", list(range(len(RANK_FEATURE_NAMES)))),
    ):
        x = np.concatenate([r[:, cols] for _, _, r, _ in train])
        y = np.concatenate([lab for *_, lab in train])
        ranker = _rank_forest(x, y, 0)
        hits: dict[str, list[int]] = {}
        for _, profile, rows, lab in test:
            p = ranker.predict_proba(rows[:, cols])[:, 1]
            hits.setdefault(profile, []).append(int(lab[int(np.argmax(p))]))
        every = [h for v in hits.values() for h in v]
        by = ", ".join(f"{k} {np.mean(v):.3f}" for k, v in sorted(hits.items()))
        print(f"{label}: original first {np.mean(every):.4f} of {len(every)} swaps ({by})")

    wx = [(m, lab) for k, m, lab in words if k < cut]
    tx = [(m, lab) for k, m, lab in words if k >= cut]
    for label, cols in (
        ("word model without news fit", _without(FEATURE_NAMES, WORD_NEWS)),
        ("word model with news fit   ", list(range(len(FEATURE_NAMES)))),
    ):
        model = _word_forest(
            np.concatenate([m[:, cols] for m, _ in wx]), np.concatenate([lab for _, lab in wx]), 0
        )
        y = np.concatenate([lab for _, lab in tx])
        p = model.predict_proba(np.concatenate([m[:, cols] for m, _ in tx]))[:, 1]
        print(f"{label}: word AUROC {_auroc(p, y):.4f}, best F1 {_best_f1(p, y):.4f}")


if __name__ == "__main__":
    main()
