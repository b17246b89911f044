"""Fingerprints that spinning cannot change: immutable-word streams, shingles, MinHash, LSH bands.

A spinner rewrites a text with its thesaurus: every word it writes is a thesaurus word (or an
inflection of one, even a broken one such as "leadings"). Words the thesaurus cannot produce —
names, numbers, codes, most jargon — survive spinning untouched and in order. DSpin (Zhang et al.,
2014) calls them *immutables*. Here a word is mutable when it, or a lemma of it, occurs anywhere
in the project lexicon (inside multiword phrases too: "inter alia" makes "alia" producible), or it
is a small function word (phrase swaps insert and remove those). The canonical stream of a text
is its immutables, in order, lower-cased. Every synonym class of the lexicon thus collapses to
"skip", which is the one class assignment that no choice of synonym can break: on the corpora,
the immutable 3-shingle sets of a text and of its spun copies (rates 0.1-0.4, every simulator
profile) are identical, while unrelated texts share almost none.

Everything here is pure and cheap to ship to other processes (the Spark engine pickles a
`Canonicalizer` and calls these same functions): the only state is a frozenset of producible
words, and the lexicon is loaded only by `default_canonicalizer()`.

Pipeline: `Canonicalizer.stream(text)` (uint64 token hashes) → `shingle_hashes` (k-grams, mixed)
→ `minhash` (multiply-add-shift permutations, numpy) → `band_keys` (LSH: one int64 per band).
`fingerprint()` runs it all and adds an exact-copy key.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "MIN_IMMUTABLES",
    "WORD_RE",
    "Canonicalizer",
    "Fingerprint",
    "FingerprintParams",
    "band_keys",
    "default_canonicalizer",
    "estimated_similarity",
    "exact_key",
    "fingerprint",
    "minhash",
    "normalize_word",
    "normalized_words",
    "word_spans",
    "shingle_hashes",
]

# Words, numbers and codes with inner . , ' ’ - ("U.S", "1.5bn", "600,000", "don't",
# "crisis-wracked"). Much faster than the full tokenizer (which also finds sentences and
# punctuation, not needed here), and deterministic on any text, which is all a fingerprint needs.
WORD_RE = re.compile(r"[^\W_]+(?:[.,'\u2019\-][^\W_]+)*")
# Texts with fewer immutables get no LSH keys: a handful of names or numbers ("Reuters", "mln")
# is shared by thousands of unrelated short texts. They are still matched as exact copies.
MIN_IMMUTABLES = 4
MIN_SKELETON = 12
_EMPTY = np.uint32(0xFFFFFFFF)
_SPAN = operator.methodcaller("span")

# Small words phrase swaps add and drop ("help" -> "lend a hand", "in recent years" ->
# "lately"); never immutable, whatever the lexicon holds.
FUNCTION_WORDS = frozenset(
    """a an the of to in on at by for from and or nor not no as is are was were be been being am
    it its it's he she they them his her hers their theirs we us our you your i me my mine this
    that these those which who whom whose what where why how there here than do does did done
    doing 's can could will would shall should may might must over under above below near across
    against between upon toward towards all any such less few whether unless even already yet
    thus within besides whereas instead more with about after before""".split()
)
# Function words in the skeleton of short texts: the ones spinners neither swap nor drop.
_SKELETON_WORDS = FUNCTION_WORDS - frozenset(
    """with about after before the a an that on of to in at for more all""".split()
)


def normalize_word(word: str) -> str:
    """The form words are compared in: lower case, curly apostrophes straightened."""
    return word.lower().replace("\u2019", "'")


def normalized_words(text: str) -> list[str]:
    """The words of `text` in normalized form (one pass over the whole text: fast)."""
    return WORD_RE.findall(text.lower().replace("\u2019", "'"))


@lru_cache(maxsize=64)
def word_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Normalized words of `text` with their character spans in `text` (do not mutate them).

    Lower-casing the whole text at once keeps offsets unless a character changes length when
    lower-cased (e.g. "İ"); such texts are normalized word by word instead. Memoised for the
    last few texts: verification aligns one text against several others in a row.
    """
    lowered = text.lower().replace("\u2019", "'")
    if len(lowered) == len(text):
        # Two passes in C (findall, map over finditer) beat one Python loop by ~2x.
        return WORD_RE.findall(lowered), list(map(_SPAN, WORD_RE.finditer(lowered)))
    keys, spans = [], []
    for m in WORD_RE.finditer(text):
        keys.append(normalize_word(m.group()))
        spans.append(m.span())
    return keys, spans


@dataclass(frozen=True, slots=True)
class FingerprintParams:
    """Shingle size, MinHash permutations and LSH banding; `bands * rows <= num_perm`.

    The default (32 bands of 4 rows) makes a pair a candidate with probability 1-(1-J^4)^32:
    0.998 at Jaccard 0.7, 0.5 at 0.42, 0.003 at 0.1. Spun copies sit near J = 1.0.
    """

    shingle: int = 3
    num_perm: int = 128
    bands: int = 32
    rows: int = 4
    seed: int = 1

    def __post_init__(self) -> None:
        if self.shingle < 1 or self.num_perm < 1 or self.bands < 1 or self.rows < 1:
            raise ValueError("fingerprint parameters must be positive")
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands * rows must not exceed num_perm")

    @property
    def threshold(self) -> float:
        """The Jaccard similarity at which a pair becomes a candidate half the time (approx.)."""
        return (1.0 / self.bands) ** (1.0 / self.rows)

    def to_dict(self) -> dict[str, int]:
        """Plain data, for storing next to an index."""
        return {
            "shingle": self.shingle,
            "num_perm": self.num_perm,
            "bands": self.bands,
            "rows": self.rows,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One document's fingerprint.

    `signature`: MinHash (uint32 x num_perm; all 0xFFFFFFFF when the text has no immutables).
    `bands`: LSH keys (int64 x bands; from the skeleton below `MIN_IMMUTABLES` immutables, none
    for a skeleton under `MIN_SKELETON` words). `exact`: a key
    equal for texts with the same words in the same order (case and punctuation aside).
    `immutables`: length of the canonical stream.
    """

    signature: np.ndarray
    bands: np.ndarray
    exact: int
    immutables: int


@dataclass(frozen=True)
class Canonicalizer:
    """Maps words to their fingerprint class: a hash for immutables, None for mutable words.

    `producible` holds every word the thesaurus can write (lower case); `function_words` the
    small words that are never immutable. Picklable: the memo is rebuilt after unpickling.
    """

    producible: frozenset[str]
    function_words: frozenset[str] = FUNCTION_WORDS
    _memo: dict[str, int | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_lexicon(cls, lexicon: Any) -> Canonicalizer:
        """Build from an `unspin.lexicon.Lexicon`: every word of every phrase it stores."""
        words: set[str] = set()
        for phrase in _lexicon_phrases(lexicon):
            words.update(phrase.split(" "))
        words.discard("")
        return cls(frozenset(words))

    def __getstate__(self) -> dict[str, Any]:
        return {"producible": self.producible, "function_words": self.function_words}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "producible", state["producible"])
        object.__setattr__(self, "function_words", state["function_words"])
        object.__setattr__(self, "_memo", {})

    def is_mutable(self, word: str) -> bool:
        """Whether a spinner could have written `word` (or removed it): see the module doc."""
        w = normalize_word(word)
        if w in self.function_words or w in self.producible:
            return True
        if not any(c.isalpha() for c in w) or any(c.isdigit() for c in w):
            return False  # numbers and codes: never thesaurus output
        if any(lemma in self.producible for lemma in _lemmas(w)):
            return True
        # Hyphenated thesaurus words come inflected at the end ("well-beings", "looker-ons").
        parts = w.split("-")
        return len(parts) > 1 and all(p in self.producible or self.is_mutable(p) for p in parts)

    def key(self, word: str) -> int | None:
        """The token hash of an immutable word, None for a mutable one (memoised)."""
        memo = self._memo
        if word in memo:
            return memo[word]
        k = None if self.is_mutable(word) else _token_hash(normalize_word(word))
        if len(memo) >= 1_000_000:  # bounded on endless vocabularies
            memo.clear()
        memo[word] = k
        return k

    def stream(self, text: str) -> np.ndarray:
        """The canonical stream of `text`: token hashes of its immutables, in order (uint64)."""
        return self.stream_of(normalized_words(text))

    def stream_of(self, words: list[str]) -> np.ndarray:
        """The canonical stream of already normalized words (see `normalized_words`)."""
        memo = self._memo
        key = self.key
        out = []
        for w in words:
            k = memo[w] if w in memo else key(w)
            if k is not None:
                out.append(k)
        return np.fromiter(out, dtype=np.uint64, count=len(out))

    def skeleton_of(self, words: list[str]) -> np.ndarray:
        """Hashes of the immutables and stable function words of normalized words, in order."""
        memo = self._memo
        key = self.key
        out = []
        for w in words:
            k = memo[w] if w in memo else key(w)
            if k is not None:
                out.append(k)
            elif w in _SKELETON_WORDS:
                out.append(_token_hash(w))
        return np.fromiter(out, dtype=np.uint64, count=len(out))

    def immutable_words(self, text: str) -> list[str]:
        """The immutables of `text` as words (lower case): the stream, readable, for debugging."""
        return [w for w in normalized_words(text) if self.key(w) is not None]


def _lexicon_phrases(lexicon: Any) -> Iterable[str]:
    """Every phrase string a lexicon stores (its forms and lemmas, one or more words).

    `Lexicon` has no public listing yet; its string pool is exactly that list. A lexicon-like
    object (tests) may offer `phrases()` instead.
    """
    phrases = getattr(lexicon, "phrases", None)
    if callable(phrases):
        return phrases()
    return lexicon._pool  # noqa: SLF001 - read-only use of the pool of stored strings


# Suffixes to strip (and what to put back) to reach a lemma of a form no dictionary knows, such
# as the broken forms spinners write ("leadings", "lookers", "companied", "rived").
_SUFFIXES = (
    ("ings", ""), ("ing", ""), ("ing", "e"), ("ies", "y"), ("ied", "y"), ("iest", "y"),
    ("ier", "y"), ("es", ""), ("ed", ""), ("ed", "e"), ("ers", ""), ("er", ""), ("er", "e"),
    ("est", ""), ("est", "e"), ("s", ""), ("d", ""), ("ly", ""),
)  # fmt: skip


@lru_cache(maxsize=200_000)
def _lemmas(word: str) -> frozenset[str]:
    """Dictionary lemmas of `word` (lemminflect), else the stems its suffix rules give."""
    from lemminflect import getAllLemmas

    out: set[str] = set()
    for forms in getAllLemmas(word).values():
        out.update(forms)
    if not out and word.isalpha():
        for suffix, repl in _SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix):
                out.add(word[: -len(suffix)] + repl)
    return frozenset(out)


def _token_hash(token: str) -> int:
    """A stable 64-bit hash of a token (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


@lru_cache(maxsize=1)
def default_canonicalizer() -> Canonicalizer:
    """The canonicalizer of the project lexicon (loads the lexicon once per process)."""
    from unspin.lexicon import get_lexicon

    return Canonicalizer.from_lexicon(get_lexicon())


# --------------------------------------------------------------------------- hashing


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, vectorised: spreads every input bit over the output."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


_SHINGLE_MULT = np.uint64(0x9E3779B97F4A7C15)


def shingle_hashes(stream: np.ndarray, k: int) -> np.ndarray:
    """Distinct hashes of the k-token windows of a canonical stream (uint64, sorted).

    A stream shorter than k gives one shingle of the whole stream; an empty one gives none.
    """
    n = len(stream)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    k = min(k, n)
    with np.errstate(over="ignore"):
        h = stream[: n - k + 1].copy()
        for j in range(1, k):
            h = _mix64(h * _SHINGLE_MULT + stream[j : n - k + 1 + j])
    return np.unique(_mix64(h))


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiply-add-shift hash parameters: odd 64-bit multipliers and 64-bit offsets."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    a.setflags(write=False)
    b.setflags(write=False)
    return a, b


def minhash(shingles: np.ndarray, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """MinHash signature (uint32 x num_perm) of a set of 64-bit shingle hashes.

    Permutation i is h_i(x) = ((a_i * x + b_i) mod 2^64) >> 32 on the 32-bit folded shingle, the
    multiply-add-shift family (strongly universal for 32-bit keys). Empty set: all 0xFFFFFFFF.
    """
    if len(shingles) == 0:
        return np.full(num_perm, _EMPTY, dtype=np.uint32)
    a, b = _permutations(num_perm, seed)
    x = (shingles ^ (shingles >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    with np.errstate(over="ignore"):
        hv = (a[:, None] * x[None, :] + b[:, None]) >> np.uint64(32)
    return hv.min(axis=1).astype(np.uint32)


def band_keys(signature: np.ndarray, params: FingerprintParams) -> np.ndarray:
    """LSH keys: one int64 per band, hashing that band's rows and its band number.

    Two documents share band j's key exactly when their signatures agree on band j's rows
    (barring 64-bit collisions); the band number is mixed in so that one table holds all bands.
    """
    rows = signature[: params.bands * params.rows].astype(np.uint64).reshape(params.bands, -1)
    with np.errstate(over="ignore"):
        h = np.arange(1, params.bands + 1, dtype=np.uint64) * _SHINGLE_MULT
        for j in range(params.rows):
            h = _mix64(h * _SHINGLE_MULT + rows[:, j])
    return h.view(np.int64)


def exact_key(text: str) -> int:
    """A key shared by texts with the same words in the same order (case, punctuation aside)."""
    return _exact_key_of(normalized_words(text))


def _exact_key_of(words: list[str]) -> int:
    digest = hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def fingerprint(
    text: str, canon: Canonicalizer | None = None, params: FingerprintParams | None = None
) -> Fingerprint:
    """The full fingerprint of one text (pure: same text and settings, same fingerprint)."""
    canon = canon or default_canonicalizer()
    params = params or FingerprintParams()
    words = normalized_words(text)
    stream = canon.stream_of(words)
    sig = minhash(shingle_hashes(stream, params.shingle), params.num_perm, params.seed)
    bands = np.empty(0, dtype=np.int64)
    if len(stream) >= MIN_IMMUTABLES:
        bands = band_keys(sig, params)
    else:
        # Too few names and numbers to tell this text from other short ones. The count of
        # immutables survives spinning, so its copies land here too: fingerprint them all by
        # their skeleton instead (immutables and the small words spinners rarely touch).
        skeleton = canon.skeleton_of(words)
        if len(skeleton) >= MIN_SKELETON:
            sig = minhash(shingle_hashes(skeleton, params.shingle), params.num_perm, params.seed)
            bands = band_keys(sig, params)
    return Fingerprint(sig, bands, _exact_key_of(words), len(stream))


def fingerprints(
    texts: Iterable[str],
    canon: Canonicalizer | None = None,
    params: FingerprintParams | None = None,
) -> list[Fingerprint]:
    """`fingerprint` of many texts (one canonicalizer, one memo)."""
    canon = canon or default_canonicalizer()
    params = params or FingerprintParams()
    return [fingerprint(t, canon, params) for t in texts]


def estimated_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two shingle sets estimated from their signatures (0 if empty)."""
    if a[0] == _EMPTY and (a == _EMPTY).all():
        return 0.0
    return float(np.mean(a == b))
