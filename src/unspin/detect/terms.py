"""Disguised terms: a run of words that the thesaurus maps back onto a known multiword term.

Paper mills swap the words of a technical term one at a time ("data mining" -> "information
mining", "artificial intelligence" -> "counterfeit consciousness"). Word by word each swap is a
plausible English word, and a news-trained context model rarely knows the term; as a whole, the
run is one thesaurus step from a term spinners are known to disguise (`lexicon.observed`) while
being no term itself. That is strong evidence, and the term is the restoration.

Pure function of (normalised words, sentence ids, lexicon, context model, term list).
"""

from __future__ import annotations

import hashlib
import marshal
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from unspin.context.model import ContextModel
from unspin.detect.features import PhraseEntry, context_window, phrase_entry

if TYPE_CHECKING:
    from unspin.lexicon import Lexicon

# P(swapped) shown for the words of a disguised term (flags and the web page; not P(spun)).
TERM_PROBABILITY = 0.9
# A reading must have log(term count + 1) + sum of log link priors of its swaps above this, and
# fit its context better than the observed words by the trigram LM (web bigram counts rarely
# hold technical terms and prefer whichever word is commoner). Chosen with terms learned from
# half the calibration rows, scored on the other half in sentences of our own (right readings
# for 120 of 600 rows, wrong for 15), and on 600 train-split news paragraphs (0.19 changed words
# per 1,000); the even rows, which the bench scores, played no part.
MIN_LINK_SCORE = 0.0
# A run whose adjacent words the trigram LM knows as a collocation (log P(b | a) - log P(b) at
# least this, in nats, for every pair) is established English in its own right ("united nations",
# "economic growth"), not a disguise of a neighbouring term. Of 3,592 multiword tortured phrases
# of the calibration rows 12 reach 2 nats; of 50 repairs on 4,000 clean train-split news
# paragraphs 27 did (`diag/term_gate.py`).
MAX_ASSOCIATION = 2.0
# A general term (WordNet's multiword nouns, `lexicon.wordnet_terms`) counts as seen once, and a
# reading of one must beat the observed words by more than MIN_GENERAL_GAIN nats in context, the
# observed run being no collocation at all (association under MAX_GENERAL_ASSOCIATION). Set with
# terms learned from half the calibration rows, their other half placed in sentences of our own,
# and 1,500 clean train-split news paragraphs (`diag/general_terms.py`): without the general terms
# 199 of 1,830 phrases read back right, 67 wrong, 0.141 clean words changed per 1,000; with them
# under the usual test (0 nats, association under 2) 248, 107 and 1.074; at 6 and 0, 233, 86 and
# 0.206. The even rows played no part.
GENERAL_TERM_COUNT = 1
MIN_GENERAL_GAIN = 6.0
MAX_GENERAL_ASSOCIATION = 0.0
# The general terms are read through each word's first GENERAL_SOURCES thesaurus sources only,
# the spinner terms through all a scan reads (24 by default). With the whole reader limited to
# 6, 12 or 24 sources, the general terms added the same 34 right readings of the 1,830 half-B
# phrases each time (186 -> 220, 196 -> 230, 199 -> 233; `diag/general_terms.py`'s set-up), while
# their 15,000 words met through 24 sources made most of the reader's cost.
GENERAL_SOURCES = 6


@dataclass(frozen=True, slots=True)
class TermRepair:
    """Words [first, last) read as a disguise of `term`; `score` ranks competing readings."""

    first: int
    last: int
    term: str
    score: float


_Reading = tuple[tuple[str, ...], float]  # (term words, link score)


class TermIndex:
    """Known terms indexed by (length, first word) for a quick scan of every window.

    `terms` are the terms spinners were seen to disguise, with counts; `general` ones (WordNet's
    multiword nouns, `lexicon.wordnet_terms`) join with a count of GENERAL_TERM_COUNT where
    `terms` lacks them, and a reading of one must pass the stricter test of `find_term_repairs`.
    `sources`: read each word through at most its first `sources` thesaurus sources (None: as
    many as the scan looked up).
    """

    def __init__(
        self, terms: Mapping[str, int], general: Iterable[str] = (), sources: int | None = None
    ) -> None:
        self.sources = sources
        self.counts = dict(terms)
        # Sorted, so that readings tied in score resolve alike in every process.
        extra = sorted(t for t in general if t not in self.counts)
        self.general = frozenset(extra)
        self.counts.update(dict.fromkeys(extra, GENERAL_TERM_COUNT))
        # Per (length, first word): each term's words and log(count + 1), the reading's base
        # score. Which term lengths a word may begin or end, as bit masks (bit n: length n): a
        # window whose words cannot is skipped before any reading is tried (most windows).
        by_first: defaultdict[tuple[int, str], list[tuple[tuple[str, ...], float]]]
        by_first = defaultdict(list)
        first_lengths: defaultdict[str, int] = defaultdict(int)
        last_lengths: defaultdict[str, int] = defaultdict(int)
        vocabulary: set[str] = set()
        log = math.log
        for term, count in self.counts.items():
            words = tuple(term.split(" "))
            n = len(words)
            by_first[n, words[0]].append((words, log(count + 1.0)))
            first_lengths[words[0]] |= 1 << n
            last_lengths[words[-1]] |= 1 << n
            vocabulary.update(words)
        self.by_first = dict(by_first)
        self.first_lengths, self.last_lengths = dict(first_lengths), dict(last_lengths)
        self.vocabulary = frozenset(vocabulary)
        self.lengths = sorted({n for n, _ in by_first}, reverse=True)
        self._reset_memos()

    # The fields `state` gives and `from_state` reads back: all an index is, memos aside.
    _STATE = (
        "sources",
        "counts",
        "general",
        "by_first",
        "first_lengths",
        "last_lengths",
        "vocabulary",
        "lengths",
    )

    def state(self) -> tuple:
        """The index as plain containers, for a marshal copy (see `shipped_indexes`)."""
        return tuple(getattr(self, name) for name in self._STATE)

    @classmethod
    def from_state(cls, state: tuple) -> TermIndex:
        """The index whose `state` this is."""
        if not isinstance(state, tuple):
            raise TypeError("not an index state")
        index = cls.__new__(cls)
        for name, value in zip(cls._STATE, state, strict=True):
            setattr(index, name, value)
        index._reset_memos()
        return index

    def _reset_memos(self) -> None:
        # Per (length, first word), built when first needed: the last words of its terms.
        self._ends: dict[tuple[int, str], frozenset[str]] = {}
        self._options: dict[tuple[str, tuple[str, ...]], WordReadings] = {}
        # (observed words, candidate limit, lexicon id) -> best reading; windows recur a lot.
        self._readings: dict[tuple[tuple[str, ...], int, int], _Reading | None] = {}

    def options(self, word: str, names: Sequence[str], weights: Sequence[float]) -> WordReadings:
        """Term words `word` may stand for: itself, or one of its thesaurus sources `names`
        (with their link priors `weights`); see `WordReadings`."""
        key = (word, tuple(names))
        hit = self._options.get(key)
        if hit is None:
            readings = {word: 0.0} if word in self.vocabulary else {}
            for name, weight in zip(names, weights, strict=True):
                if name in self.vocabulary and name not in readings:
                    readings[name] = math.log(weight)
            hit = WordReadings(
                readings,
                _lengths(readings, self.first_lengths),
                _lengths(readings, self.last_lengths),
                frozenset(readings),
                {},
            )
            if len(self._options) >= 300_000:
                self._options.clear()
            self._options[key] = hit
        return hit

    def heads(self, word: WordReadings, length: int) -> _Heads:
        """The terms of `length` words that `word`'s readings begin, with their last words, in
        the order of its readings, and all those last words together (built once per word and
        length)."""
        hit = word.heads.get(length)
        if hit is None:
            found = []
            for first in word.readings:
                terms = self.by_first.get((length, first))
                if terms is None:
                    continue
                ends = self._ends.get((length, first))
                if ends is None:
                    ends = self._ends[length, first] = frozenset(t[-1] for t, _ in terms)
                found.append((terms, ends))
            hit = word.heads[length] = (found, frozenset().union(*(e for _, e in found)))
        return hit


# Per length: (terms, their last words) per reading that begins some, and every last word.
_Heads = tuple[list[tuple[list[tuple[tuple[str, ...], float]], frozenset[str]]], frozenset[str]]


class WordReadings(NamedTuple):
    """What the term reader knows of one word: the term words it may stand for, as {term word:
    log link prior}; the term lengths those readings may begin and end (bit n: length n); the
    readings as a set; and, per length, the terms they begin (`TermIndex.heads`, filled when
    first asked)."""

    readings: dict[str, float]
    starts: int
    ends: int
    words: frozenset[str]
    heads: dict[int, _Heads]


@lru_cache(maxsize=1)
def shipped_indexes() -> tuple[TermIndex, TermIndex]:
    """The shipped term list (`lexicon.observed`) and WordNet's multiword nouns
    (`lexicon.wordnet_terms`, those the list lacks, read through GENERAL_SOURCES sources) as two
    indexes, once per process: read from a marshal copy in the cache dir, or built (70-85 ms)
    and the copy written."""
    from unspin.lexicon.core import write_cache_file
    from unspin.lexicon.observed import shipped_terms
    from unspin.lexicon.wordnet_terms import wordnet_terms

    path = index_cache_path()
    try:
        spinner, general = marshal.loads(path.read_bytes())
        return TermIndex.from_state(spinner), TermIndex.from_state(general)
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not built yet, truncated, or from other code: build it again
    indexes = split_indexes(shipped_terms(), wordnet_terms())
    write_cache_file(path, marshal.dumps(tuple(index.state() for index in indexes)))
    return indexes


def split_indexes(
    terms: Mapping[str, int], general: Iterable[str], sources: int = GENERAL_SOURCES
) -> tuple[TermIndex, TermIndex]:
    """Spinner `terms` in one index, the `general` terms they lack in another read through
    `sources` thesaurus sources per word (see GENERAL_SOURCES)."""
    return TermIndex(terms), TermIndex({}, [t for t in general if t not in terms], sources)


def index_cache_path() -> Path:
    """Where `shipped_indexes` keeps its copy: named by a hash of everything the indexes depend
    on (the shipped term list, the WordNet list's cache name, this module's code, marshal's
    format)."""
    from unspin.lexicon.core import default_cache_dir, hash_files
    from unspin.lexicon.observed import default_terms_path
    from unspin.lexicon.wordnet_terms import cache_path

    digest = hashlib.sha256(f"{marshal.version} {cache_path().name}".encode())
    hash_files(digest, (default_terms_path(), Path(__file__)))
    return default_cache_dir() / f"term-index-{digest.hexdigest()[:16]}.marshal"


def find_term_repairs(
    normed: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    index: TermIndex | Sequence[TermIndex] | None = None,
    adjacent: Sequence[bool] | None = None,
    limit: int = 24,
) -> list[TermRepair]:
    """Non-overlapping runs of words that disguise a known term, longest and best first.

    `index`: one index or several (default: `shipped_indexes`); a window is read as the term
    with the best link score in any of them, as if they were one index. `adjacent[i]` says
    whether word i+1 follows word i with only spaces between (default: all); each word may
    stand for itself or its first `limit` thesaurus sources (the ones the word features already
    looked up, so this costs no extra lexicon queries), fewer where an index says so
    (`TermIndex.sources`).
    A run qualifies when it is no term itself nor an established collocation (`association`),
    every word is the term's word or one of its thesaurus sources, and the trigram LM prefers
    the term in its context.
    """
    if index is None:
        indexes: Sequence[TermIndex] = shipped_indexes()
    else:
        indexes = (index,) if isinstance(index, TermIndex) else index
    indexes = [ix for ix in indexes if ix.counts]
    if not indexes or len(normed) < 2:
        return []
    entries = [phrase_entry(lexicon, context, w, limit) for w in normed]
    # Per window, the best reading over all indexes (the first index's on a tie).
    best: dict[tuple[int, int], tuple[tuple[str, ...], float, bool]] = {}
    for ix in indexes:
        for window, (term, link_score) in _index_readings(
            ix, indexes, normed, sent, entries, lexicon, adjacent, limit
        ).items():
            held = best.get(window)
            if held is None or link_score > held[1]:
                best[window] = (term, link_score, " ".join(term) in ix.general)
    found: list[TermRepair] = []
    for (i, j), (term, link_score, general) in sorted(best.items()):
        if link_score <= MIN_LINK_SCORE:
            continue
        observed = tuple(normed[i:j])
        if association(context, observed) >= (
            MAX_GENERAL_ASSOCIATION if general else MAX_ASSOCIATION
        ):
            continue
        gain = _context_gain(context, normed, sent, i, j, term, observed)
        if gain <= (MIN_GENERAL_GAIN if general else 0.0):
            continue
        found.append(TermRepair(i, j, " ".join(term), link_score + gain))
    return _non_overlapping(found)


def _index_readings(
    index: TermIndex,
    indexes: Sequence[TermIndex],
    normed: Sequence[str],
    sent: Sequence[int],
    entries: Sequence[PhraseEntry | None],
    lexicon: Lexicon,
    adjacent: Sequence[bool] | None,
    limit: int,
) -> dict[tuple[int, int], _Reading]:
    """Per window [i, j) of words, the reading of one index with the best link score (before
    `find_term_repairs`' tests); `indexes`: all of them, for "is the observed run a known term
    itself"."""
    n = len(normed)
    reach = limit if index.sources is None else min(limit, index.sources)
    known: list[WordReadings] = []
    for w, entry in zip(normed, entries, strict=True):
        if entry is None:
            known.append(index.options(w, (), ()))
        else:
            known.append(index.options(w, entry.names[:reach], entry.weights[:reach]))
    options = [k.readings for k in known]
    found: dict[tuple[int, int], _Reading] = {}
    for i in range(n):
        starts = known[i].starts
        if not starts:
            continue
        for length in index.lengths:
            if not (starts >> length) & 1:
                continue
            j = i + length
            if j > n or sent[j - 1] != sent[i]:
                continue
            last = known[j - 1]
            if not (last.ends >> length) & 1:
                continue
            # Most windows end here: no term of this length both begins with a reading of the
            # first word and ends with one of the last (what `_best_reading` checks first).
            heads, any_end = index.heads(known[i], length)
            lasts = last.words
            if any_end.isdisjoint(lasts):
                continue
            if not all(options[i:j]):
                continue
            if adjacent is not None and not all(adjacent[i : j - 1]):
                continue
            observed = tuple(normed[i:j])
            phrase = " ".join(observed)
            if any(phrase in ix.counts for ix in indexes):
                continue
            key = (observed, reach, id(lexicon))
            if key in index._readings:
                best = index._readings[key]
            else:
                best = _best_reading(observed, options[i:j], heads, lasts)
                if len(index._readings) >= 300_000:
                    index._readings.clear()
                index._readings[key] = best
            if best is not None:
                found[i, j] = best
    return found


def _lengths(options: Mapping[str, float], by_word: Mapping[str, int]) -> int:
    """The term lengths any of a word's readings may begin (or end), per `by_word`, as a bit
    mask."""
    out = 0
    get = by_word.get
    for word in options:
        out |= get(word, 0)
    return out


def association(context: ContextModel, words: Sequence[str]) -> float:
    """How firmly the trigram LM binds a run of normalised words: the least, over adjacent
    pairs, of log P(second | first) - log P(second). -inf for a single word."""
    pairs = zip(words, words[1:], strict=False)
    return min((context.logprob(b, [a]) - context.logprob(b) for a, b in pairs), default=-math.inf)


def _context_gain(
    context: ContextModel,
    normed: Sequence[str],
    sent: Sequence[int],
    i: int,
    j: int,
    term: tuple[str, ...],
    observed: tuple[str, ...],
) -> float:
    """How much better the trigram LM likes the term than the observed words, in context."""
    left, right = context_window(normed, sent, i, j)
    return context.window_logprob(left, list(term), right) - context.window_logprob(
        left, list(observed), right
    )


def _best_reading(
    observed: tuple[str, ...],
    options: Sequence[dict[str, float]],
    heads: Sequence[tuple[Sequence[tuple[tuple[str, ...], float]], frozenset[str]]],
    lasts: frozenset[str],
) -> tuple[tuple[str, ...], float] | None:
    """The known term every word of `observed` can come from (`options`: each word's readings),
    by link priors and frequency; `heads` are the terms of this length that the first word's
    readings begin (`TermIndex.heads`), `lasts` the last word's readings."""
    best: tuple[tuple[str, ...], float] | None = None
    length = len(observed)
    for terms, ends in heads:
        if ends.isdisjoint(lasts):
            continue  # no term of this first word ends in a word the last word can stand for
        for term, score in terms:
            if term[-1] not in lasts:
                continue  # the loop below would stop at the last word
            for k in range(length):
                s = options[k].get(term[k])
                if s is None:
                    break
                score += s
            else:
                if term != observed and (best is None or score > best[1]):
                    best = (term, score)
    return best


def _non_overlapping(found: list[TermRepair]) -> list[TermRepair]:
    """Keep the longest, then best-scoring, repairs that do not overlap."""
    taken: set[int] = set()
    out: list[TermRepair] = []
    for r in sorted(found, key=lambda r: (-(r.last - r.first), -r.score, r.first)):
        if taken.isdisjoint(range(r.first, r.last)):
            out.append(r)
            taken.update(range(r.first, r.last))
    return sorted(out, key=lambda r: r.first)
