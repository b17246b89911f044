"""What the ranker's extra candidates (`rank.EXTRA_CANDIDATES`, from deeper in the thesaurus)
buy: how often the original of a single swap comes first, over every single swap.

Run from the repository root: `python diag/deep_candidates.py [--paragraphs N] [--fast]
[--extras 0 2 4] [--deep N]` (`--deep`: how many thesaurus sources the extras are drawn from).
Spins paragraphs of the word model's half of the train split (seeded; the bench's test split is
not read) as `diag/channel.py` does, builds the ranker's rows of each
span that is exactly one swap with each number of extras, fits the ranker (`unspin train`'s
forest) on the spans of the first 60 % of the paragraphs and scores the rest. Unlike
`diag/channel.py`, swaps whose original is not among the rows count as misses, since reaching
more originals is the point.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from unspin.bench.datasets import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.features import FAST_CANDIDATES, MAX_CANDIDATES, extract
from unspin.detect.train import _rank_forest, span_originals, spun_version
from unspin.lexicon import get_lexicon
from unspin.restore import rank
from unspin.restore.rank import candidate_rows
from unspin.text import tokenize

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
PROFILES = ("spinbot", "spinnerchief", "wordai", "bestspinner", "wordnet", "moby-rare", "tortured")


def spans(n_paragraphs: int, fast: bool, seed: int, extras: list[int]) -> tuple[list, int]:
    """Per single-swap span: (paragraph, profile, {extras: (rows, labels)}), and where the
    held-out 40 % begins."""
    lexicon, context = get_lexicon(), get_context_model()
    limit = FAST_CANDIDATES if fast else MAX_CANDIDATES
    rng = random.Random(seed)
    texts = sample_paragraphs(CORPORA, "train", n_paragraphs, seed=seed, part="words")
    out = []
    for k, p in enumerate(texts):
        profile = PROFILES[k % len(PROFILES)]
        text, swaps = spun_version(p.text, profile, rng.choice((0.1, 0.2, 0.3)), seed * 10_000 + k)
        feats = extract(tokenize(text), lexicon, context, fast=fast)
        originals = span_originals(feats, swaps)
        vocabulary = set(feats.normed)
        for s in sorted(set(feats.word_span) - {-1}):
            if originals[s] is None:
                continue
            by = {}
            for e in extras:
                rows = candidate_rows(
                    feats.spans[s], feats.normed, feats.sentences, vocabulary, lexicon, context,
                    fast=fast, limit=limit, extra=e,
                )  # fmt: skip
                by[e] = (rows.matrix, np.array([c == originals[s] for c in rows.names], np.int8))
            out.append((k, profile, by))
    return out, int(len(texts) * 0.6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=2500)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--extras", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--deep", type=int, default=rank.DEEP_LIMIT, help="sources read")
    args = parser.parse_args()
    rank.DEEP_LIMIT = args.deep
    examples, cut = spans(args.paragraphs, args.fast, args.seed, args.extras)
    for e in args.extras:
        train = [by[e] for k, _, by in examples if k < cut and len(by[e][0]) and by[e][1].any()]
        ranker = _rank_forest(
            np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]), 0
        )
        hits: dict[str, list[int]] = {}
        reach: list[int] = []
        for k, profile, by in examples:
            if k < cut:
                continue
            x, y = by[e]
            hit = bool(len(x)) and bool(y[int(np.argmax(ranker.predict_proba(x)[:, 1]))])
            hits.setdefault(profile, []).append(int(hit))
            reach.append(int(y.any()))
        every = [h for v in hits.values() for h in v]
        by_profile = ", ".join(f"{p} {np.mean(v):.3f}" for p, v in sorted(hits.items()))
        print(
            f"extras {e}: original first {np.mean(every):.4f} of {len(every)} single swaps, "
            f"among the rows {np.mean(reach):.4f} ({by_profile})"
        )


if __name__ == "__main__":
    main()
