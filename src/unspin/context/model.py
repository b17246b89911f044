"""Context fit of a phrase between its neighbours.

Two sources, both shipped inside PyPI packages so nothing is downloaded at run time:
- pocketsphinx's `en-us.lm.bin`, a trigram LM over lower-cased English words (~1.3 µs a lookup);
- wordsegment's Norvig unigram/bigram counts from web text, for a cheaper bigram fit (`--fast`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

# pocketsphinx returns log-probabilities in base 1.0001; this converts them to natural log.
_LOG_BASE = math.log(1.0001)
_LOG_ZERO = -536870912
# Word ids of the count tables fit in 19 bits, so a word pair is one int64 key.
_PAIR_SHIFT = 1 << 19
# Natural-log probability charged for a word the LM does not know (about 1e-7).
OOV_LOGPROB = -16.0
BOS, EOS = "<s>", "</s>"
_STRIP = str.maketrans("", "", "'-.’")


def _norm(word: str) -> str:
    return word.lower().replace("\u2019", "'")


class ContextModel:
    """Scores how well a candidate phrase fits between a left and a right context."""

    def __init__(self) -> None:
        from pocketsphinx import Config, LogMath, NGramModel, get_model_path

        config = Config()
        path = str(Path(get_model_path()) / "en-us" / "en-us.lm.bin")
        self._lm = NGramModel(config, LogMath(1.0001), path)
        self._unigrams, self._bigrams, self._total, words, keys, counts = _load_counts()
        # The bigrams as sorted int64 pair keys, for lookups in batches (`bigram_parts_many`):
        # ids only for the words that occur in some bigram, since any other pairs with nothing.
        self._pair_ids = {w: k for k, w in enumerate(words)}
        self._pair_keys = np.frombuffer(keys, dtype=np.int64)
        self._pair_counts = np.frombuffer(counts)
        # Memoised per instance: the same word pairs recur across candidates and documents.
        self.bigram_logprob = lru_cache(maxsize=1_000_000)(self._bigram_logprob)  # type: ignore[method-assign]

    def logprob(self, word: str, history: Sequence[str] = ()) -> float:
        """Natural-log P(word | up to two previous words) under the trigram LM."""
        query = [word, *reversed(history[-2:])]
        raw = self._lm.prob(query)
        if raw <= _LOG_ZERO // 2:
            return OOV_LOGPROB
        return raw * _LOG_BASE

    def known(self, word: str) -> bool:
        """Whether the trigram LM has `word` in its vocabulary."""
        return self._lm.prob([_norm(word)]) > _LOG_ZERO // 2

    def window_logprob(
        self, left: Sequence[str], middle: Sequence[str], right: Sequence[str]
    ) -> float:
        """Log-probability of `middle` and the two words after it, given two words before.

        Words must be lower-cased; pass BOS/EOS at sentence edges. Including the right context
        lets the forward LM judge how the phrase leads into what follows.
        """
        seq = [*left[-2:], *middle, *right[:2]]
        total = 0.0
        for value in self.sequence_logprobs(seq, start=min(len(left), 2)):
            total += value
        return total

    def sequence_logprobs(self, seq: Sequence[str], start: int = 1) -> list[float]:
        """Log-probability of each word of `seq` from position `start` on, given up to two words
        before it: the terms `window_logprob` sums. For a whole sentence at once (pass it with
        BOS and EOS), every window of its own words is a sum of these."""
        prob = self._lm.prob
        floor = _LOG_ZERO // 2
        out = []
        for j in range(start, len(seq)):
            raw = prob([seq[j], seq[j - 1], seq[j - 2]] if j >= 2 else [seq[j], seq[j - 1]])
            out.append(OOV_LOGPROB if raw <= floor else raw * _LOG_BASE)
        return out

    def bigram_fit(self, left: str, middle: Sequence[str], right: str) -> float:
        """Smoothed log P(first | left) + log P(right | last) from web bigram counts."""
        return self.bigram_logprob(left, middle[0]) + self.bigram_logprob(middle[-1], right)

    def pair_keys(self, phrases: Sequence[Sequence[str]]) -> np.ndarray:
        """What a bigram fit needs of each phrase that does not depend on its neighbours, as
        one (n, 4) float64 array for `bigram_fits_many`: its first and last words' ids in the
        pair table (-1 if absent), the first word's smoothed unigram probability and the last
        word's count. Callers that score the same candidates again and again compute these
        once."""
        ids = self._pair_ids.get
        unigrams, total = self._unigrams.get, self._total
        flat: list[float] = []
        for phrase in phrases:
            first, last = phrase[0].translate(_STRIP), phrase[-1].translate(_STRIP)
            flat += (ids(first, -1), ids(last, -1), (unigrams(first, 0.0) + 1.0) / total)
            flat.append(unigrams(last, 0.0))
        return np.array(flat, dtype=np.float64).reshape(len(phrases), 4)

    def bigram_fits_many(
        self, lefts: Sequence[str], keys: Sequence[np.ndarray], rights: Sequence[str]
    ) -> list[float]:
        """`bigram_fit` of many spans' phrases at once, flattened: span k's phrases, given by
        their `pair_keys` rows `keys[k]`, between `lefts[k]` and `rights[k]`.

        A scan scores a few hundred candidates per document; looking their word pairs up in
        one sorted array instead of one dictionary probe each saves a third of the features'
        time. The arithmetic is `_bigram_logprob`'s, operation for operation, and the logarithms
        are Python's, so the values are identical (not just close) on every CPU.
        """
        heads, tails = self.bigram_parts_many(lefts, keys, rights)
        return [a + b for a, b in zip(heads, tails, strict=True)]

    def bigram_parts_many(
        self, lefts: Sequence[str], keys: Sequence[np.ndarray], rights: Sequence[str]
    ) -> tuple[list[float], list[float]]:
        """The two halves of `bigram_fits_many`, flattened alike: `bigram_logprob(left, first
        word)` and `bigram_logprob(last word, right)` of every phrase."""
        if not keys:
            return [], []
        ids, pair_keys, pair_counts = self._pair_ids.get, self._pair_keys, self._pair_counts
        unigrams, total = self._unigrams.get, self._total
        lens = [len(k) for k in keys]
        table = np.concatenate(keys)
        left_s = [w.translate(_STRIP) for w in lefts]
        right_s = [w.translate(_STRIP) for w in rights]
        left_id = np.repeat(np.array([ids(w, -1) for w in left_s], dtype=np.int64), lens)
        left_count = np.repeat(np.array([unigrams(w, 0.0) for w in left_s]), lens)
        right_id = np.repeat(np.array([ids(w, -1) for w in right_s], dtype=np.int64), lens)
        right_uni = np.repeat(np.array([(unigrams(w, 0.0) + 1.0) / total for w in right_s]), lens)
        first_id, last_id = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
        uni, last_count = table[:, 2], table[:, 3]
        pair = _pair_counts(pair_keys, pair_counts, left_id, first_id)
        head = np.where(left_count > 0, (pair + 0.4 * uni * 1e3) / (left_count + 1e3), uni)
        pair = _pair_counts(pair_keys, pair_counts, last_id, right_id)
        tail = np.where(
            last_count > 0, (pair + 0.4 * right_uni * 1e3) / (last_count + 1e3), right_uni
        )
        log = math.log
        return list(map(log, head.tolist())), list(map(log, tail.tolist()))

    def bigram_logprob(self, prev: str, word: str) -> float:
        """Smoothed log P(word | prev) from web bigram counts (words lower-cased)."""
        return self._bigram_logprob(prev, word)

    def _bigram_logprob(self, prev: str, word: str) -> float:
        # The Norvig counts hold only [a-z0-9] words: "didn't" is counted as "didnt".
        prev, word = prev.translate(_STRIP), word.translate(_STRIP)
        pair = self._bigrams.get(f"{prev} {word}", 0.0)
        prev_count = self._unigrams.get(prev, 0.0)
        uni = (self._unigrams.get(word, 0.0) + 1.0) / self._total
        # Interpolated estimate: bigram relative frequency backed off to the unigram.
        p = (pair + 0.4 * uni * 1e3) / (prev_count + 1e3) if prev_count else uni
        return math.log(p)

    def unigram_logprob(self, word: str) -> float:
        """Log relative frequency of `word` in web text (add-one smoothed)."""
        return math.log((self._unigrams.get(word.translate(_STRIP), 0.0) + 1.0) / self._total)


def _pair_counts(
    keys: np.ndarray, counts: np.ndarray, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """Count of each (first, second) word-id pair in the sorted `keys`; 0 if absent or if
    either id is -1 (a word outside the tables)."""
    query = np.where((first >= 0) & (second >= 0), first * _PAIR_SHIFT + second, -1)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, counts[pos], 0.0)


_Counts = tuple[dict[str, float], dict[str, float], float, list[str], bytes, bytes]


def counts_cache_path() -> Path:
    """Where `_load_counts` keeps its marshal copy of the web counts."""
    from unspin.lexicon.core import default_cache_dir

    return default_cache_dir() / f"wordsegment-counts-{_COUNTS_FORMAT}-{counts_stamp()}.marshal"


@lru_cache(maxsize=1)
def _load_counts() -> _Counts:
    """The Norvig unigram and bigram counts, plus the bigrams as sorted pair keys (see
    `_pair_arrays`): parsed from wordsegment's text files once, then read from a marshal copy
    in the cache dir (about twice as fast as parsing, at every load)."""
    import marshal

    import wordsegment

    from unspin.lexicon.core import write_cache_file

    base = Path(wordsegment.__file__).parent
    cache = counts_cache_path()
    try:
        counts = marshal.loads(cache.read_bytes())
        if isinstance(counts, tuple) and len(counts) == 6:
            return counts
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not built yet, or unreadable: parse the text files
    unigrams, bigrams = _parse_counts(base / "unigrams.txt"), _parse_counts(base / "bigrams.txt")
    total = float(sum(unigrams.values()))
    counts = (unigrams, bigrams, total, *_pair_arrays(bigrams))
    write_cache_file(cache, marshal.dumps(counts))
    return counts


def counts_stamp() -> str:
    """Names a cache derived from wordsegment's counts (its version, marshal's, the file size),
    so a new wordsegment or Python rebuilds it."""
    import marshal

    import wordsegment

    size = (Path(wordsegment.__file__).parent / "bigrams.txt").stat().st_size
    return f"{wordsegment.__version__}-{marshal.version}-{size}"


# Bump when `_load_counts` caches something else.
_COUNTS_FORMAT = 3


def _pair_arrays(bigrams: dict[str, float]) -> tuple[list[str], bytes, bytes]:
    """The words that occur in some bigram (a word's id is its place in this list), and the
    bigrams as sorted int64 keys `first id << 19 | second id` with their float64 counts (as
    bytes, for the marshal copy). A word outside the list has no bigram at all, so the scan
    needs no id for it: 23,000 ids instead of the unigram table's 333,000."""
    ids: dict[str, int] = {}
    firsts, seconds, counts = [], [], []
    for pair, count in bigrams.items():
        a, b = pair.split(" ")
        firsts.append(ids.setdefault(a, len(ids)))
        seconds.append(ids.setdefault(b, len(ids)))
        counts.append(count)
    if len(ids) >= _PAIR_SHIFT:
        raise ValueError("bigram table too large for 19-bit word ids")
    keys = np.array(firsts, dtype=np.int64) * _PAIR_SHIFT + np.array(seconds, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    return list(ids), keys[order].tobytes(), np.array(counts, dtype=np.float64)[order].tobytes()


def _parse_counts(path: Path) -> dict[str, float]:
    """Read a wordsegment counts file (`key<TAB>count` lines)."""
    counts: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            key, _, count = line.rstrip("\n").partition("\t")
            counts[key] = float(count)
    return counts


_LOCK = threading.Lock()
_SHARED: ContextModel | None = None


def get_context_model() -> ContextModel:
    """The process-wide context model, loaded on first use."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = ContextModel()
        return _SHARED
