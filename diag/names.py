"""Flags on words inside runs of mid-sentence capitals (names) in clean held-out news.

Run from the repository root: `python diag/names.py [MODEL]`. Scans the 1,000 held-out
paragraphs of the detection bench and 200 held-out articles, and counts the flags that overlap
a word which `unspin.detect.features.name_runs` calls part of a name. The rule is restated here
so that an older checkout (PYTHONPATH=that/src) can be measured the same way.
"""

from __future__ import annotations

import sys

from unspin.api import scan
from unspin.bench.datasets import sample_articles
from unspin.bench.detect import sample_paragraphs
from unspin.text import tokenize, words

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]


def name_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of words capitalised in mid-sentence next to another such word."""
    ws = words(tokenize(text))
    n = len(ws)
    start = [i == 0 or ws[i - 1].sentence != ws[i].sentence for i in range(n)]
    cap = [not start[i] and ws[i].text[:1].isupper() and not ws[i].text.isupper() for i in range(n)]
    run = [cap[i] and ((i > 0 and cap[i - 1]) or (i + 1 < n and cap[i + 1])) for i in range(n)]
    return [(w.start, w.end) for w, r in zip(ws, run, strict=True) if r]


def main(model: str | None) -> None:
    texts = [p.text for p in sample_paragraphs(CORPORA, "test", 1000, seed=0)]
    texts += [a.text for a in sample_articles(CORPORA, "test", 200, seed=0)]
    total = {"words": 0, "flags": 0, "name_flags": 0}
    examples = []
    for text in texts:
        spans = name_spans(text)
        result = scan(text, model=model)
        total["words"] += result.words
        total["flags"] += len(result.flags)
        for f in result.flags:
            if any(a < f.end and f.start < b for a, b in spans):
                total["name_flags"] += 1
                examples.append((f.text, f.suggestion, round(f.probability, 2)))
    print(total)
    print(examples[:30])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
