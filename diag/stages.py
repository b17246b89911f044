"""Where a scan's time goes: each stage of `unspin.detect.scan.scan_text` timed, one process.

Run from the repository root, pinned to one core for figures comparable with the bench:

    taskset -c 0 python diag/stages.py [--fast] [--texts bulk|sample]

The texts are those of `diag/speed_pair.py`. Stages are timed by wrapping the functions the
scan calls, so the figures include the wrappers' small cost; "other" is what no stage holds.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from speed_pair import texts  # a sibling script: run from the repository root

import unspin.detect.scan as scan_module
from unspin.api import scan
from unspin.detect.model import SpinModel

STAGES = ("extract", "_term_repairs", "_rank", "_flags", "tokenize", "abstain_reason")
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
    args = parser.parse_args()
    docs = texts(args.texts)
    totals: Counter = Counter()
    for name in STAGES:
        timed(scan_module, name, totals)
    for name in MODEL_STAGES:
        timed(SpinModel, name, totals)
    scan(docs[0], fast=args.fast)  # load everything first
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
