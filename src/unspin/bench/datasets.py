"""Paragraphs from clean corpora, split into train/test by a stable hash of the document id.

The split is fixed forever (it depends on the id only), so training never sees a test document.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Split = Literal["train", "test"]
Part = Literal["encoder", "words"]
TEST_BUCKETS = 1  # of 10: 10 % of documents are held out for evaluation


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph of a clean document, with its document id and source name."""

    doc_id: str
    index: int
    text: str
    source: str


def split_of(doc_id: str) -> Split:
    """The fixed split of a document: 'test' for 10 % of ids, else 'train'."""
    bucket = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) % 10
    return "test" if bucket < TEST_BUCKETS else "train"


def part_of(doc_id: str) -> Part:
    """Which half of the train split a document feeds: the encoder's fine-tune or the word
    model's fit. Disjoint, so the word model learns how far to trust the encoder on text the
    encoder never saw. Independent of `split_of` (other hex digits of the hash)."""
    bucket = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[8:16], 16) % 2
    return "encoder" if bucket == 0 else "words"


def _open(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path)


def documents(
    paths: Iterable[str], split: Split, part: Part | None = None
) -> Iterator[tuple[str, str, str]]:
    """Stream (doc_id, source, text) of the JSONL corpora's documents in one split (and, if
    given, one part of it)."""
    for path in paths:
        with _open(path) as fh:
            for line in fh:
                if not line.strip():
                    continue
                doc = json.loads(line)
                doc_id = str(doc.get("id"))
                if split_of(doc_id) != split or (part is not None and part_of(doc_id) != part):
                    continue
                source = str(doc.get("outlet") or doc.get("source") or "unknown")
                yield doc_id, source, str(doc.get("text", ""))


def paragraphs(
    paths: Iterable[str],
    split: Split,
    *,
    min_words: int = 40,
    max_words: int = 250,
    part: Part | None = None,
) -> Iterator[Paragraph]:
    """Stream paragraphs of `min_words`..`max_words` words from JSONL corpora, one split only."""
    for doc_id, source, text in documents(paths, split, part):
        for k, para in enumerate(text.split("\n\n")):
            n = len(para.split())
            if min_words <= n <= max_words:
                yield Paragraph(doc_id, k, para.strip(), source)


def encoder_half_texts(paths: Iterable[str]) -> Iterator[str]:
    """Every paragraph of the train split's encoder half, however short: the text the news
    count tables (`unspin.text.register`, `unspin.context.news`) are built from, which neither
    the word model's half nor the test split shares."""
    return (p.text for p in paragraphs(paths, "train", part="encoder", min_words=1))


def sample_paragraphs(
    paths: Iterable[str],
    split: Split,
    n: int,
    *,
    seed: int = 0,
    min_words: int = 40,
    part: Part | None = None,
    per_doc: int = 3,
) -> list[Paragraph]:
    """A seeded random sample of n paragraphs, at most `per_doc` per document to spread
    topics (evaluation keeps 3; training may take more, since more text beats more epochs)."""
    taken: dict[str, int] = {}
    pool: list[Paragraph] = []
    for p in paragraphs(paths, split, min_words=min_words, part=part):
        if taken.get(p.doc_id, 0) >= per_doc:
            continue
        taken[p.doc_id] = taken.get(p.doc_id, 0) + 1
        pool.append(p)
    rng = random.Random(seed)
    rng.shuffle(pool)
    return pool[:n]


def sample_articles(
    paths: Iterable[str],
    split: Split,
    n: int,
    *,
    seed: int = 0,
    min_words: int = 150,
    max_words: int = 900,
) -> list[Paragraph]:
    """A seeded sample of whole documents of `min_words`..`max_words` words (index -1), for
    judging articles as users scan them rather than single paragraphs."""
    pool = [
        Paragraph(doc_id, -1, text.strip(), source)
        for doc_id, source, text in documents(paths, split)
        if min_words <= len(text.split()) <= max_words
    ]
    rng = random.Random(seed)
    rng.shuffle(pool)
    return pool[:n]
