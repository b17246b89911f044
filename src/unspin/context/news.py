"""A news bigram model: how well a word fits after another in news prose.

The web counts (`unspin.context.model`) say what English at large writes; spinners pick from a
thesaurus words that fit English well enough but that a news writer would not have put there.
Counts of word pairs in clean news tell the candidate ranker which reading a news writer would
more likely have written. The counts (`data/news_bigrams.npz`: every word and word pair seen,
with its count) are built from clean news by `python -m unspin.context.news` (see README,
"Rebuilding the model"), over the words a scan reads (`norm_word` of the tokenizer's word
tokens, sentence by sentence between BOS and EOS), and read on first use.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import repeat
from pathlib import Path

import numpy as np

from unspin.context.model import BOS, EOS

# Words and pairs seen fewer times than this are left out of the file (read as unseen). A pair
# seen once still says news writes it, which the ranker uses (see docs/notes.md).
MIN_COUNT = 1
# Weight of the unigram distribution in a pair's estimate, in pseudo-counts of its first word.
BACKOFF = 2.0
# Added to every word's count, so a word news never wrote keeps a finite probability.
UNIGRAM_PRIOR = 0.5
_FORMAT = 1


def default_path() -> Path:
    """The shipped news counts."""
    return Path(str(resources.files("unspin") / "data" / "news_bigrams.npz"))


class NewsBigrams:
    """Word and word-pair counts of clean news, with a smoothed P(word | previous word).

    Words are numbered by the file's order; a pair is the number `first * len(words) +
    second`, kept sorted with its count, so the table loads as three arrays."""

    def __init__(
        self, words: Sequence[str], counts: np.ndarray, keys: np.ndarray, pair_counts: np.ndarray
    ) -> None:
        self.words = list(words)
        self.index = {w: k for k, w in enumerate(words)}
        self.counts = counts.tolist()
        self._count_array = counts.astype(np.float64)
        self.keys = keys
        self.pair_counts = pair_counts
        self.total = int(counts.sum())
        self._base_denominator = self.total + UNIGRAM_PRIOR * len(words)
        # Counted words are single tokens; `name_parts` relies on it (a table made otherwise
        # takes its slower path).
        self._spaced_words = any(" " in w for w in self.words)

    def without(self, sentences: Iterable[Sequence[str]]) -> NewsBigrams:
        """These counts less those of `sentences` (which they must include): what the table
        would say had those texts never been counted, so texts of the counted half can stand
        in for new text."""
        words, pairs = count_sentences(sentences)
        if any(word not in self.index for word in words):
            raise ValueError("the texts left out were not all counted in this table")
        counts = np.array(self.counts, dtype=np.int64)
        for word, count in words.items():
            counts[self.index[word]] -= count
        pair_counts = self.pair_counts.astype(np.int64)
        n = len(self.counts)
        keys = np.array([self.index[a] * n + self.index[b] for a, b in pairs], dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        if (self.keys[at] != keys).any():
            raise ValueError("the texts left out were not all counted in this table")
        np.subtract.at(pair_counts, at, np.array(list(pairs.values()), dtype=np.int64))
        if (counts < 0).any() or (pair_counts < 0).any():
            raise ValueError("the texts left out were not all counted in this table")
        return NewsBigrams(self.words, counts, self.keys, pair_counts)

    def pair_count(self, first: str, second: str) -> int:
        """How often news wrote `second` right after `first`."""
        a, b = self.index.get(first), self.index.get(second)
        if a is None or b is None or not len(self.keys):
            return 0
        key = a * len(self.counts) + b
        at = min(int(np.searchsorted(self.keys, key)), len(self.keys) - 1)
        return int(self.pair_counts[at]) if int(self.keys[at]) == key else 0

    def logprob(self, first: str, second: str) -> float:
        """log P(second | first): the pair's count, backed off to `second`'s unigram share."""
        return float(self.logprobs([first], [second])[0])

    def logprobs(self, firsts: Sequence[str], seconds: Sequence[str]) -> np.ndarray:
        """`logprob` of many pairs at once (a scan's every word and candidate: one lookup of
        the sorted pairs for all of them instead of a Python call each)."""
        return self.id_logprobs(self.ids(firsts), self.ids(seconds))

    def ids(self, words: Sequence[str]) -> np.ndarray:
        """The words' numbers in this table (-1 for a word news never wrote)."""
        get = self.index.get
        return np.array([get(w, -1) for w in words], dtype=np.int64)

    def id_logprobs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """`logprobs` of pairs given as word numbers (`ids`)."""
        counts = self._count_array
        known_a, known_b = a >= 0, b >= 0
        base = (np.where(known_b, counts[b], 0.0) + UNIGRAM_PRIOR) / self._base_denominator
        pair = np.zeros(len(a))
        both = np.flatnonzero(known_a & known_b)
        if len(both) and len(self.keys):
            key = a[both] * len(counts) + b[both]
            order = np.argsort(key)  # sorted queries walk the table in order: fewer cache misses
            at = np.searchsorted(self.keys, key[order])
            at = np.minimum(at, len(self.keys) - 1)
            hit = self.keys[at] == key[order]
            pair[both[order[hit]]] = self.pair_counts[at[hit]]
        history = np.where(known_a, counts[a], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = np.log((pair + BACKOFF * base) / (history + BACKOFF))
        return np.where(known_a, conditional, np.log(base))

    def fits(self, chains: Sequence[Sequence[str]]) -> np.ndarray:
        """The log-probability of each chain of words (each word after the one before it, the
        first given), all chains in one `logprobs` batch."""
        firsts: list[str] = []
        seconds: list[str] = []
        owner: list[int] = []
        for c, chain in enumerate(chains):
            firsts += chain[:-1]
            seconds += chain[1:]
            owner += [c] * (len(chain) - 1)
        weights = self.logprobs(firsts, seconds)
        return np.bincount(np.array(owner, dtype=np.int64), weights, minlength=len(chains))

    def phrase_parts(self, phrases: Sequence[Sequence[str]]) -> PhraseParts:
        """What a phrase's fit between neighbours needs that the neighbours do not change:
        computed once for candidates that are fitted in many places (`fits_between`)."""
        firsts = self.ids([p[0] for p in phrases])
        lasts = self.ids([p[-1] for p in phrases])
        inner_a = [w for p in phrases for w in p[:-1]]
        inner_b = [w for p in phrases for w in p[1:]]
        owner = np.repeat(np.arange(len(phrases)), [len(p) - 1 for p in phrases])
        inner = (
            np.bincount(owner, self.logprobs(inner_a, inner_b), minlength=len(phrases))
            if inner_a
            else np.zeros(len(phrases))
        )
        return PhraseParts(self, firsts, lasts, inner)

    def name_parts(self, names: Sequence[str]) -> PhraseParts:
        """`phrase_parts` of candidate names (their words joined by single spaces), without
        splitting the single words among them: most of a word's thesaurus sources are one
        word, whose first and last word are itself and which have no pairs inside."""
        if self._spaced_words:
            return self.phrase_parts([name.split() for name in names])
        firsts = np.fromiter(
            map(self.index.get, names, repeat(-1)), dtype=np.int64, count=len(names)
        )
        # The table's words are single tokens, so a multiword name is among the unknown.
        multi = [k for k in np.flatnonzero(firsts < 0).tolist() if " " in names[k]]
        if not multi:
            return PhraseParts(self, firsts, firsts, np.zeros(len(names)))
        lasts = firsts.copy()
        inner = np.zeros(len(names))
        parts = self.phrase_parts([names[k].split() for k in multi])
        firsts[multi], lasts[multi], inner[multi] = parts.firsts, parts.lasts, parts.inner
        return PhraseParts(self, firsts, lasts, inner)

    def fits_between(
        self, befores: Sequence[str], parts: Sequence[PhraseParts], afters: Sequence[str]
    ) -> list[np.ndarray]:
        """For each (before, phrases, after): `fits` of `[before, *phrase, after]` for every
        phrase of its parts (from this table's `phrase_parts`), all in one lookup and without
        building the chains."""
        if any(p.table is not self for p in parts):
            raise ValueError("phrase parts of another news table")
        if not parts:
            return []
        lens = [len(p.firsts) for p in parts]
        firsts = np.concatenate([p.firsts for p in parts])
        lasts = np.concatenate([p.lasts for p in parts])
        inner = np.concatenate([p.inner for p in parts])
        n = len(firsts)
        before = np.repeat(self.ids(befores), lens)
        after = np.repeat(self.ids(afters), lens)
        pairs = self.id_logprobs(np.concatenate([before, lasts]), np.concatenate([firsts, after]))
        return np.split(pairs[:n] + inner + pairs[n:], np.cumsum(lens)[:-1])

    def fit(self, before: str, words: Sequence[str], after: str) -> float:
        """log-probability of `words` between their neighbours (BOS/EOS at sentence edges)."""
        return float(self.fits([[before, *words, after]])[0])


@dataclass(frozen=True, slots=True)
class PhraseParts:
    """Phrases' first and last words' numbers in a news table and the summed log-probability
    of the pairs inside each phrase (`NewsBigrams.phrase_parts`)."""

    table: NewsBigrams
    firsts: np.ndarray
    lasts: np.ndarray
    inner: np.ndarray

    def part(self, start: int, stop: int) -> PhraseParts:
        """The parts of phrases [start, stop)."""
        cut = slice(start, stop)
        return PhraseParts(self.table, self.firsts[cut], self.lasts[cut], self.inner[cut])


_IN_USE: list[NewsBigrams] = []  # tables `counts_in_use` put in place of the shipped one


@contextmanager
def counts_in_use(table: NewsBigrams) -> Iterator[None]:
    """Within the block, `news_bigrams()` (the table scans read) is `table`: training reads
    clean texts of the counted half with their own counts left out (`NewsBigrams.without`)."""
    _IN_USE.append(table)
    try:
        yield
    finally:
        _IN_USE.pop()


def news_bigrams(path: str | None = None) -> NewsBigrams:
    """The counts file at `path`, or the table in use (by default the shipped one)."""
    if path is None and _IN_USE:
        return _IN_USE[-1]
    return _read(path)


@lru_cache(maxsize=4)
def _read(path: str | None) -> NewsBigrams:
    """The counts file at `path` (default: the shipped one), read once."""
    with np.load(path or default_path(), allow_pickle=False) as data:
        if int(data["format"]) != _FORMAT:
            raise ValueError(f"{path}: news counts format {int(data['format'])}, not {_FORMAT}")
        words = bytes(data["words"]).decode("utf-8").split("\n")
        keys = np.cumsum(data["key_steps"], dtype=np.int64)
        return NewsBigrams(words, data["counts"], keys, data["pair_counts"])


def count_sentences(sentences: Iterable[Sequence[str]]) -> tuple[Counter[str], Counter[tuple]]:
    """Word and pair counts of normalised sentences, each framed by BOS and EOS."""
    words: Counter[str] = Counter()
    pairs: Counter[tuple] = Counter()
    for sentence in sentences:
        chain = [BOS, *sentence, EOS]
        words.update(chain)
        pairs.update(zip(chain, chain[1:], strict=False))
    return words, pairs


def scan_sentences(texts: Iterable[str]) -> Iterable[list[str]]:
    """The normalised word sentences a scan reads in each text (numbers and punctuation out)."""
    from unspin.detect.features import norm_word
    from unspin.text import tokenize

    for text in texts:
        sentence: list[str] = []
        current = None
        for token in tokenize(text):
            if token.kind != "word":
                continue
            if token.sentence != current and sentence:
                yield sentence
                sentence = []
            current = token.sentence
            sentence.append(norm_word(token.text))
        if sentence:
            yield sentence


def write_counts(
    words: Counter[str], pairs: Counter[tuple], path: Path, min_count: int = MIN_COUNT
) -> None:
    """The counts file: words commonest first with their counts, and the pairs of them seen
    `min_count` times or more as sorted numbers (stored as steps, which compress well). The
    bytes depend on the counts only, so a rebuild from the same text gives the same file."""
    kept = sorted(words, key=lambda w: (-words[w], w))
    if any("\n" in w for w in kept):
        raise ValueError("a word holds a newline")
    index = {w: k for k, w in enumerate(kept)}
    numbered = sorted(
        (index[a] * len(kept) + index[b], c) for (a, b), c in pairs.items() if c >= min_count
    )
    keys = np.array([k for k, _ in numbered], dtype=np.int64)
    arrays = {
        "format": np.array(_FORMAT, dtype=np.int64),
        "words": np.frombuffer("\n".join(kept).encode("utf-8"), dtype=np.uint8),
        "counts": np.array([words[w] for w in kept], dtype=np.uint32),
        "key_steps": np.diff(keys, prepend=0).astype(np.uint32),
        "pair_counts": np.array([c for _, c in numbered], dtype=np.uint32),
    }
    if len(keys) and int(np.cumsum(arrays["key_steps"], dtype=np.int64)[-1]) != int(keys[-1]):
        raise ValueError("too many words for 32-bit key steps")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    """Build the news counts from the encoder's half of a corpus's train split: the word
    model trains on the other half and the bench reads the test split, so neither sees text
    whose own words made the table."""
    from unspin.bench.datasets import encoder_half_texts

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True, help="JSONL(.gz) corpus")
    parser.add_argument("--out", default=str(default_path()))
    parser.add_argument("--min-count", type=int, default=MIN_COUNT)
    args = parser.parse_args(argv)
    words, pairs = count_sentences(scan_sentences(encoder_half_texts(args.corpus)))
    write_counts(words, pairs, Path(args.out), args.min_count)
    print(f"{sum(words.values())} words, {len(words)} distinct, {len(pairs)} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
