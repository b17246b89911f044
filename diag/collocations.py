"""What the disguised-collocation reader changes in clean news (`unspin.detect.collocations`).

Run from the repository root: `python diag/collocations.py [--fast] [--paragraphs N]`. Scans
clean train-split paragraphs from the encoder's half (as the scorer's own clean data, but a
different sample: seed 7) with the shipped model and prints every pair the reader repairs, with
its score, in context; then the count per 1,000 words. Every one of them is a false repair.
`--split test` reads the bench's test split instead: text no model, scorer or count table of
the training saw, so its rate shows whether the scorer's threshold holds on new text.
"""

from __future__ import annotations

import argparse

from unspin.bench.datasets import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.collocations import _scan_inputs, find_collocation_repairs
from unspin.detect.model import load_model
from unspin.lexicon import get_lexicon

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--paragraphs", type=int, default=2000)
    parser.add_argument("--split", choices=("train", "test"), default="train")
    parser.add_argument("--model", default=None, help="a model file (default: the shipped one)")
    args = parser.parse_args()
    lexicon, context = get_lexicon(), get_context_model()
    model = load_model(args.model).for_mode(args.fast)
    part = "encoder" if args.split == "train" else None
    sample = sample_paragraphs(CORPORA, args.split, args.paragraphs, seed=7, part=part)
    n_words = n_repairs = 0
    for p in sample:
        doc = _scan_inputs(p.text, lexicon, context, model, args.fast)
        n_words += len(doc.normed)
        for r in find_collocation_repairs(
            doc.normed,
            doc.sent,
            lexicon,
            context,
            doc.probabilities,
            doc.adjacent,
            scorer=model.collocation_scorer,
        ):
            n_repairs += 1
            before = " ".join(doc.normed[max(0, r.first - 4) : r.first])
            after = " ".join(doc.normed[r.last : r.last + 4])
            observed = " ".join(doc.normed[r.first : r.last])
            print(f"{r.score:5.2f}  {before} [{observed} -> {r.term}] {after}")
    rate = 1000 * n_repairs / max(n_words, 1)
    print(f"{n_repairs} repairs in {n_words} clean words: {rate:.3f} per 1,000")


if __name__ == "__main__":
    main()
