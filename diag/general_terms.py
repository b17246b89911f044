"""Evidence for the term reader's general terms (WordNet's multiword nouns, `unspin.detect.terms`).

Run from the repository root: `python diag/general_terms.py`. The calibration (odd) rows of the
tortured-phrases list are cut in two: terms are learned from half A (`lexicon.observed`) and the
phrases of half B are placed in carrier sentences of our own (`collocations.CARRIERS`, not the
bench's). Prints how many B phrases the reader reads back right and wrong, and how many words it
changes per 1,000 in 1,500 clean train-split news paragraphs, with the A terms alone, with the
general terms added as shipped, and for a grid of the general terms' two thresholds (each reading
of a general term kept when the LM prefers it by more than G nats and the observed run's
association is under X). The general terms are read through GENERAL_SOURCES thesaurus sources
per word as shipped (`terms.split_indexes`); one line reads them through all 24 a scan looks up,
in one index with the spinner terms, for comparison. The even rows, which the bench scores, are
not read.
"""

from __future__ import annotations

from pathlib import Path

import unspin.detect.terms as terms
from unspin.bench.datasets import sample_paragraphs
from unspin.context.model import get_context_model
from unspin.detect.collocations import CARRIERS
from unspin.detect.features import norm_word
from unspin.detect.terms import (
    TermIndex,
    _context_gain,
    association,
    find_term_repairs,
    split_indexes,
)
from unspin.lexicon import get_lexicon
from unspin.lexicon.observed import learn_terms
from unspin.lexicon.wordnet_terms import wordnet_terms
from unspin.spin.calibrate import calibration_pairs
from unspin.text import tokenize, words

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
CSV = Path("../shared/data/real/tortured_phrases.csv")


def _prepare(text: str) -> tuple[list[str], list[int], list[bool]]:
    ws = words(tokenize(text))
    adjacent = [b.start - a.end <= 2 for a, b in zip(ws, ws[1:], strict=False)]
    return [norm_word(w.text) for w in ws], [w.sentence for w in ws], adjacent


def main() -> None:
    lexicon, context = get_lexicon(), get_context_model()
    pairs = list(calibration_pairs(CSV))
    half_a, half_b = pairs[0::2], pairs[1::2]
    learned = dict(learn_terms(half_a))
    cases = []
    for k, (expected, tortured) in enumerate(half_b):
        carrier = CARRIERS[k % len(CARRIERS)]
        head = len(words(tokenize(carrier.split("{}")[0])))
        cases.append((_prepare(carrier.format(tortured)), head, len(tortured.split()), expected))
    clean = [_prepare(p.text) for p in sample_paragraphs(CORPORA, "train", 1500, seed=7)]
    clean_words = sum(len(c[0]) for c in clean)

    def repairs(index: TermIndex | tuple[TermIndex, ...]):
        """(B repairs in the phrase as (right?, gain, association)), (clean ones likewise)."""
        out_b, out_clean = [], []
        for (normed, sent, adj), head, n, expected in cases:
            for r in find_term_repairs(normed, sent, lexicon, context, index=index, adjacent=adj):
                if head - 1 <= r.first < head + n:
                    out_b.append((r.term == expected, *_gates(normed, sent, r, index)))
        for normed, sent, adj in clean:
            for r in find_term_repairs(normed, sent, lexicon, context, index=index, adjacent=adj):
                out_clean.append((r.last - r.first, *_gates(normed, sent, r, index)))
        return out_b, out_clean

    def _gates(normed, sent, r, index):
        observed, term = tuple(normed[r.first : r.last]), tuple(r.term.split())
        gain = _context_gain(context, normed, sent, r.first, r.last, term, observed)
        indexes = (index,) if isinstance(index, TermIndex) else index
        general = any(r.term in ix.general for ix in indexes)
        return general, gain, association(context, observed)

    def report(name: str, found_b, found_clean, keep=lambda general, gain, assoc: True) -> None:
        right = sum(1 for ok, *g in found_b if ok and keep(*g))
        wrong = sum(1 for ok, *g in found_b if not ok and keep(*g))
        changed = sum(n for n, *g in found_clean if keep(*g))
        print(
            f"{name:28s} right {right:4d}  wrong {wrong:4d}  of {len(cases)} phrases; "
            f"clean words changed per 1,000: {1000 * changed / clean_words:.3f}"
        )

    print(f"{len(learned)} terms learned from half A; {len(wordnet_terms())} general terms")
    report("half-A terms only", *repairs(TermIndex(learned)))
    report("with general terms", *repairs(split_indexes(learned, wordnet_terms())))
    report("general terms, 24 sources", *repairs(TermIndex(learned, general=wordnet_terms())))
    # The grid: the general terms' own test switched off, then applied after the fact.
    saved = terms.MIN_GENERAL_GAIN, terms.MAX_GENERAL_ASSOCIATION
    terms.MIN_GENERAL_GAIN, terms.MAX_GENERAL_ASSOCIATION = 0.0, terms.MAX_ASSOCIATION
    try:
        found = repairs(split_indexes(learned, wordnet_terms()))
    finally:
        terms.MIN_GENERAL_GAIN, terms.MAX_GENERAL_ASSOCIATION = saved
    for min_gain in (0.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0):
        for max_assoc in (terms.MAX_ASSOCIATION, 1.0, 0.0):

            def keep(general, gain, assoc, g=min_gain, x=max_assoc):
                return not general or (gain > g and assoc < x)

            report(f"G {min_gain:.0f}, X {max_assoc:.0f}", *found, keep=keep)


if __name__ == "__main__":
    main()
