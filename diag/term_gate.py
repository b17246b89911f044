"""Evidence for the disguised-term reader's collocation gate (`unspin.detect.terms`).

Run from the repository root: `python diag/term_gate.py`. Prints, for thresholds of the trigram
LM's association (least log P(b | a) - log P(b) over adjacent pairs, nats), how many multiword
tortured phrases of the calibration (odd) rows reach it, and how many of the repairs the reader
makes on 4,000 clean train-split news paragraphs do. The even rows, which the bench scores, are
not read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unspin.bench.detect import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.features import norm_word
from unspin.detect.terms import association, find_term_repairs
from unspin.lexicon import get_lexicon
from unspin.spin.calibrate import calibration_pairs
from unspin.text import tokenize, words

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
CSV = Path("../shared/data/real/tortured_phrases.csv")


def main() -> None:
    import unspin.detect.terms as terms

    terms.MAX_ASSOCIATION = float("inf")  # see every repair the other tests allow
    context, lexicon = get_context_model(), get_lexicon()
    tortured = [t.split() for _, t in calibration_pairs(CSV) if " " in t]
    fires = []
    for p in sample_paragraphs(CORPORA, "train", 4000, seed=1):
        ws = words(tokenize(p.text))
        normed = [norm_word(w.text) for w in ws]
        adjacent = [b.start - a.end <= 2 for a, b in zip(ws, ws[1:], strict=False)]
        for r in find_term_repairs(
            normed, [w.sentence for w in ws], lexicon, context, adjacent=adjacent
        ):
            fires.append((normed[r.first : r.last], r.term))
    t_assoc = np.array([association(context, t) for t in tortured])
    f_assoc = np.array([association(context, o) for o, _ in fires])
    print(f"{len(tortured)} multiword tortured phrases, {len(fires)} repairs on clean news")
    for thr in (1, 2, 3, 4, 5, 6, 7):
        print(
            f"association >= {thr}: tortured {int((t_assoc >= thr).sum())}, "
            f"clean repairs {int((f_assoc >= thr).sum())}"
        )
    for (observed, term), a in sorted(zip(fires, f_assoc, strict=True), key=lambda x: x[1]):
        print(f"{a:6.2f}  {' '.join(observed)} -> {term}")


if __name__ == "__main__":
    main()
