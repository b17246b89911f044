"""What the noisy-channel columns add to the candidate ranker and the word model.

Run from the repository root: `python diag/channel.py [--paragraphs N] [--fast]`. Spins
paragraphs of the word model's half of the train split (seeded; the bench's test split is not
read), builds the ranker's and the word model's rows the way `unspin train` does, fits each
model on 60 % of the paragraphs with and without the channel columns (`channel`,
`log_out_weight` and their gaps for the ranker; `best_channel`, `channel_odds`,
`out_weight_observed` for the word model) and scores it on the other 40 %: for the ranker, how
often the original of a single swap comes first (by profile); for the word model, word AUROC
and the best word F1. Without the encoder's columns, which only `unspin train` computes.
The word model's channel columns are the default mode's only (zero with `--fast`, see
`features.NO_CHANNEL`), so with `--fast` its two lines agree.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from unspin.bench.datasets import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.features import FEATURE_NAMES
from unspin.detect.train import _rank_forest, _word_forest, label_words, mode_data, spun_version
from unspin.lexicon import get_lexicon
from unspin.restore.rank import RANK_FEATURE_NAMES
from unspin.text import tokenize

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
PROFILES = ("spinbot", "spinnerchief", "wordai", "bestspinner", "wordnet", "moby-rare", "tortured")
RANK_CHANNEL = ("log_out_weight", "channel", "out_weight_gap", "channel_gap")
WORD_CHANNEL = ("best_channel", "channel_odds", "out_weight_observed")


def _without(names: tuple[str, ...], drop: tuple[str, ...]) -> list[int]:
    return [k for k, name in enumerate(names) if name not in drop]


def _auroc(p: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _best_f1(p: np.ndarray, y: np.ndarray) -> float:
    ys = y[np.argsort(-p)]
    tp = np.cumsum(ys)
    return float(np.max(2 * tp / (np.arange(1, len(ys) + 1) + ys.sum())))


def examples(n_paragraphs: int, fast: bool, seed: int) -> tuple[list, list, int]:
    """Ranker and word-model examples of `n_paragraphs` word-half train paragraphs, 35 % clean
    and the rest spun by the profiles in turn: (paragraph, profile, rows, labels) per single
    swap whose original is among its ranked candidates, (paragraph, matrix, labels) per
    paragraph, and the paragraph number where the 40 % held out begins."""
    lexicon, context = get_lexicon(), get_context_model()
    rng = random.Random(seed)
    texts = sample_paragraphs(CORPORA, "train", n_paragraphs, seed=seed, part="words")
    spans, words = [], []
    for k, p in enumerate(texts):
        if rng.random() < 0.35:
            profile, text, swaps = "clean", p.text, []
        else:
            profile = PROFILES[k % len(PROFILES)]
            rate = rng.choice((0.1, 0.2, 0.3))
            text, swaps = spun_version(p.text, profile, rate, seed * 10_000 + k)
        tokens = tokenize(text)
        data = mode_data(tokens, swaps, fast=fast, lexicon=lexicon, context=context)
        ranges = [(t.start, t.end) for t in tokens if t.kind == "word"]
        words.append((k, data.matrix, label_words(ranges, swaps)))
        for span, original, rows in zip(data.spans, data.originals, data.rank_rows, strict=True):
            if original is None or not len(rows):
                continue
            y = np.array([c == original for c in span.candidates[: len(rows)]], dtype=np.int8)
            if y.any():
                spans.append((k, profile, rows, y))
    return spans, words, int(len(texts) * 0.6)


def ranker_line(label: str, spans: list, cut: int, cols: list[int]) -> str:
    """Fit the ranker on columns `cols` of the examples before `cut`; how often the original
    comes first in the rest, overall and by profile."""
    train = [s for s in spans if s[0] < cut]
    test = [s for s in spans if s[0] >= cut]
    x = np.concatenate([r[:, cols] for _, _, r, _ in train])
    y = np.concatenate([lab for *_, lab in train])
    ranker = _rank_forest(x, y, 0)
    hits: dict[str, list[int]] = {}
    for _, profile, rows, lab in test:
        p = ranker.predict_proba(rows[:, cols])[:, 1]
        hits.setdefault(profile, []).append(int(lab[int(np.argmax(p))]))
    every = [h for v in hits.values() for h in v]
    by = ", ".join(f"{k} {np.mean(v):.3f}" for k, v in sorted(hits.items()))
    return f"{label}: original first {np.mean(every):.4f} of {len(every)} swaps ({by})"


def word_line(label: str, words: list, cut: int, cols: list[int]) -> str:
    """Fit the word model on columns `cols` of the paragraphs before `cut`; its word AUROC and
    best word F1 on the rest."""
    wx = [(m, lab) for k, m, lab in words if k < cut]
    tx = [(m, lab) for k, m, lab in words if k >= cut]
    model = _word_forest(
        np.concatenate([m[:, cols] for m, _ in wx]), np.concatenate([lab for _, lab in wx]), 0
    )
    y = np.concatenate([lab for _, lab in tx])
    p = model.predict_proba(np.concatenate([m[:, cols] for m, _ in tx]))[:, 1]
    return f"{label}: word AUROC {_auroc(p, y):.4f}, best F1 {_best_f1(p, y):.4f}"


def examples_from_args(description: str) -> tuple[list, list, int]:
    """`examples` for the command line's --paragraphs, --fast and --seed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--paragraphs", type=int, default=2500)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    return examples(args.paragraphs, args.fast, args.seed)


def main() -> None:
    spans, words, cut = examples_from_args(__doc__.splitlines()[0])
    for label, cols in (
        ("ranker without channel", _without(RANK_FEATURE_NAMES, RANK_CHANNEL)),
        ("ranker with channel   ", list(range(len(RANK_FEATURE_NAMES)))),
    ):
        print(ranker_line(label, spans, cut, cols))
    for label, cols in (
        ("word model without channel", _without(FEATURE_NAMES, WORD_CHANNEL)),
        ("word model with channel   ", list(range(len(FEATURE_NAMES)))),
    ):
        print(word_line(label, words, cut, cols))


if __name__ == "__main__":
    main()
