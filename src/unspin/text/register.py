"""News register: how much more (or less) often news prose uses a word than English at large.

Spinners pick thesaurus synonyms that are common English but not the words news is written in
("kids", "guests", "commence"), so a word's frequency in news against its general frequency
(wordfreq) says something about whether a news writer chose it. The news counts are a word
list with counts (`data/news_unigrams.tsv`), built from clean news by `python -m
unspin.text.register` (see README, "Rebuilding the model"); the table is read on first use.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from unspin.text.frequency import zipf

# Words seen fewer times than this are left out of the table (read as the floor).
MIN_COUNT = 2
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def default_path() -> Path:
    """The shipped news counts."""
    return Path(str(resources.files("unspin") / "data" / "news_unigrams.tsv"))


@lru_cache(maxsize=4)
def news_table(path: str | None = None) -> tuple[dict[str, float], float]:
    """{word: news Zipf frequency} and the floor a word outside the table gets (the Zipf value
    of one occurrence), from the counts file (first line: the total word count)."""
    with open(path or default_path(), encoding="utf-8") as fh:
        total = max(int(fh.readline().split("\t")[1]), 1)
        table = {}
        for line in fh:
            word, count = line.rstrip("\n").split("\t")
            table[word] = math.log10(int(count) / total * 1e9)
    return table, math.log10(1 / total * 1e9)


def register(words: Sequence[str]) -> float:
    """Mean over lower-cased `words` of news Zipf frequency minus wordfreq's: above 0 for
    words news uses more than English at large, below 0 for words it avoids."""
    table, floor = news_table()
    return sum(table.get(w, floor) - zipf(w) for w in words) / max(len(words), 1)


@lru_cache(maxsize=1 << 16)
def phrase_register(words: tuple[str, ...]) -> float:
    """`register` of a phrase's words, remembered: the candidate ranker asks it of the same
    thesaurus candidates again and again."""
    return register(words)


def count_words(texts: Iterable[str]) -> Counter[str]:
    """Lower-cased word counts of `texts` (letters, with an inner apostrophe)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_WORD.findall(text.lower()))
    return counts


def write_counts(counts: Counter[str], path: Path, min_count: int = MIN_COUNT) -> None:
    """The counts file: the total, then words seen `min_count` times or more, commonest first."""
    total = sum(counts.values())
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(f"#total\t{total}\n")
        fh.writelines(f"{w}\t{counts[w]}\n" for w in kept)


def main(argv: list[str] | None = None) -> int:
    """Build the news counts from the encoder's half of a corpus's train split: the word
    model trains on the other half and the bench reads the test split, so neither sees text
    whose own words made the table."""
    from unspin.bench.datasets import encoder_half_texts

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True, help="JSONL(.gz) corpus")
    parser.add_argument("--out", default=str(default_path()))
    args = parser.parse_args(argv)
    counts = count_words(encoder_half_texts(args.corpus))
    write_counts(counts, Path(args.out))
    print(f"{sum(counts.values())} words, {len(counts)} distinct -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
