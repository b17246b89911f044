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

# pocketsphinx returns log-probabilities in base 1.0001; this converts them to natural log.
_LOG_BASE = math.log(1.0001)
_LOG_ZERO = -536870912
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
        self._unigrams, self._bigrams, self._total = _load_counts()
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
        start = min(len(left), 2)
        total = 0.0
        prob = self._lm.prob
        floor = _LOG_ZERO // 2
        for j in range(start, len(seq)):
            raw = prob([seq[j], seq[j - 1], seq[j - 2]] if j >= 2 else [seq[j], seq[j - 1]])
            total += OOV_LOGPROB if raw <= floor else raw * _LOG_BASE
        return total

    def bigram_fit(self, left: str, middle: Sequence[str], right: str) -> float:
        """Smoothed log P(first | left) + log P(right | last) from web bigram counts."""
        return self.bigram_logprob(left, middle[0]) + self.bigram_logprob(middle[-1], right)

    def bigram_keys(self, phrase: Sequence[str]) -> tuple[str, str, float, float]:
        """What `bigram_fits_keyed` needs of a phrase that does not depend on its neighbours:
        its (first, last) words as the count tables spell them, the first word's smoothed
        unigram probability and the last word's count. Callers that score the same candidates
        again and again compute these once."""
        first, last = phrase[0].translate(_STRIP), phrase[-1].translate(_STRIP)
        unigrams = self._unigrams.get
        return first, last, (unigrams(first, 0.0) + 1.0) / self._total, unigrams(last, 0.0)

    def bigram_fits_keyed(
        self, left: str, keys: Sequence[tuple[str, str, float, float]], right: str
    ) -> list[float]:
        """`bigram_fit` of each phrase, given by its `bigram_keys`, between the same neighbours.

        The scan asks this for up to two dozen candidates per span; the pairs rarely repeat, so
        a memo helps less than doing the arithmetic with the tables bound locally.
        """
        unigrams, bigrams, total = self._unigrams.get, self._bigrams.get, self._total
        log = math.log
        left_s, right_s = left.translate(_STRIP), right.translate(_STRIP)
        left_count = unigrams(left_s, 0.0)
        right_uni = (unigrams(right_s, 0.0) + 1.0) / total
        left_prefix = left_s + " "
        right_suffix = " " + right_s
        left_norm = left_count + 1e3
        out = []
        for first, last, uni, last_count in keys:
            if left_count:
                pair = bigrams(left_prefix + first, 0.0)
                fit = log((pair + 0.4 * uni * 1e3) / left_norm)
            else:
                fit = log(uni)
            if last_count:
                pair = bigrams(last + right_suffix, 0.0)
                fit += log((pair + 0.4 * right_uni * 1e3) / (last_count + 1e3))
            else:
                fit += log(right_uni)
            out.append(fit)
        return out

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


@lru_cache(maxsize=1)
def _load_counts() -> tuple[dict[str, float], dict[str, float], float]:
    """The Norvig unigram and bigram counts: parsed from wordsegment's text files once, then
    read from a marshal copy in the cache dir (about twice as fast as parsing, at every load)."""
    import marshal

    import wordsegment

    from unspin.lexicon.core import default_cache_dir, write_cache_file

    base = Path(wordsegment.__file__).parent
    stamp = f"{wordsegment.__version__}-{marshal.version}-{(base / 'bigrams.txt').stat().st_size}"
    cache = default_cache_dir() / f"wordsegment-counts-{stamp}.marshal"
    try:
        unigrams, bigrams, total = marshal.loads(cache.read_bytes())
        return unigrams, bigrams, total
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not built yet, or unreadable: parse the text files
    unigrams, bigrams = _parse_counts(base / "unigrams.txt"), _parse_counts(base / "bigrams.txt")
    total = float(sum(unigrams.values()))
    write_cache_file(cache, marshal.dumps((unigrams, bigrams, total)))
    return unigrams, bigrams, total


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
