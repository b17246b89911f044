"""Does `trace` rank the source first when the index holds a whole family of spun copies?

Run from the repository root: `python diag/trace_family.py [--stories N] [--copies 8,30]`
(PYTHONPATH=that/src measures an older checkout the same way). For each of N held-out
articles of the test split, an index holds `copies` spun copies of it (profiles spinbot,
wordai, spinnerchief, bestspinner in turn, rate 0.3), then the article itself, indexed last;
three new spun copies are traced, and the share whose first match is the article is printed.
The copies that share a traced copy's synonym choices are the ones most like it, and they can
outnumber the source among the candidates a trace aligns.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from unspin.bench.datasets import sample_articles
from unspin.spin import spin
from unspin.trace.index import Index
from unspin.types import Document

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]
ROTATION = ("spinbot", "wordai", "spinnerchief", "bestspinner")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=40)
    parser.add_argument("--copies", default="8,30")
    args = parser.parse_args()
    stories = sample_articles(CORPORA, "test", args.stories, seed=0, max_words=400)
    for copies in (int(c) for c in args.copies.split(",")):
        right = total = 0
        for s, story in enumerate(stories):
            with tempfile.TemporaryDirectory() as tmp, Index(Path(tmp) / "ix", create=True) as ix:
                family = [
                    Document(f"copy{k}", spin(story.text, ROTATION[k % 4], rate=0.3, seed=k).text)
                    for k in range(copies)
                ]
                ix.add([*family, Document("source", story.text)])
                for seed in (1000 + 3 * s, 1001 + 3 * s, 1002 + 3 * s):
                    suspect = spin(story.text, ROTATION[seed % 4], rate=0.3, seed=seed).text
                    matches = ix.trace(suspect, doc_id="suspect").matches
                    right += bool(matches) and matches[0].source_id == "source"
                    total += 1
        print(f"{copies} copies indexed before the source: first match is the source for "
              f"{right} of {total} traced copies ({right / total:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
