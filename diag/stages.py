"""Where a scan's time goes: each stage of `unspin.detect.scan.scan_text` timed, one process.

Run from the repository root, pinned to one core for figures comparable with the bench:

    taskset -c 0 python diag/stages.py [--fast] [--texts bulk|sample]

The texts are those of `diag/speed_pair.py`. Stages are timed by wrapping the functions the
scan calls, so the figures include the wrappers' small cost; "other" is what no stage holds.
`--prewarm` first builds the phrase entries (thesaurus candidates, frequencies, bigram keys) of
every distinct word of the texts and prints what that took: how much of a scan is the first
sight of a word (since `unspin.detect.entry_table` most of those entries come from its table:
10,641 words, 2.09 s computed, 0.61 s with the table). `--warm` scans the texts once before the
timed pass, which then shows a long run whose caches have filled.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from speed_pair import texts  # a sibling script: run from the repository root

import unspin.detect.scan as scan_module
from unspin.api import scan
from unspin.context.model import get_context_model
from unspin.detect.features import FAST_CANDIDATES, MAX_CANDIDATES, norm_word, phrase_entry
from unspin.detect.model import SpinModel
from unspin.lexicon import get_lexicon
from unspin.text import tokenize, words

STAGES = ("extract", "term_repairs", "_rank", "_flags", "tokenize", "abstain_reason")
MODEL_STAGES = ("word_probabilities", "doc_probability", "restore_probabilities")


def timed(owner: object, name: str, totals: Counter) -> None:
    """Replace `owner.name` by a wrapper adding its time to `totals[name]`."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[name] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--texts", choices=("sample", "bulk"), default="sample")
    parser.add_argument("--prewarm", action="store_true", help="build word entries first")
    parser.add_argument(
        "--warm", action="store_true", help="scan the texts once untimed: a long run's steady state"
    )
    args = parser.parse_args()
    docs = texts(args.texts)
    totals: Counter = Counter()
    for name in STAGES:
        timed(scan_module, name, totals)
    for name in MODEL_STAGES:
        timed(SpinModel, name, totals)
    scan(docs[0], fast=args.fast)  # load everything first
    if args.prewarm:
        lexicon, context = get_lexicon(), get_context_model()
        limit = FAST_CANDIDATES if args.fast else MAX_CANDIDATES
        distinct = {norm_word(w.text) for text in docs for w in words(tokenize(text))}
        start = time.perf_counter()
        for word in distinct:
            phrase_entry(lexicon, context, word, limit)
        seconds = time.perf_counter() - start
        print(f"prewarm: {len(distinct)} distinct words' entries in {seconds:.2f} s")
    if args.warm:
        for text in docs:
            scan(text, fast=args.fast)
    totals.clear()
    start = time.perf_counter()
    for text in docs:
        scan(text, fast=args.fast)
    total = time.perf_counter() - start
    for name, seconds in totals.most_common():
        print(f"{name:24s} {seconds:7.2f} s  {100 * seconds / total:4.1f} %")
    print(f"{'other':24s} {total - sum(totals.values()):7.2f} s")
    print(f"{'total':24s} {total:7.2f} s  ({len(docs)} texts)")


if __name__ == "__main__":
    main()
