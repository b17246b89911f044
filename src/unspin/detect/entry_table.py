"""Precomputed phrase entries of common words: a scan's first sight of a word, done once.

What a scan needs of a word regardless of its context (`features.phrase_entry`: its candidate
originals from a walk of the lexicon, their priors, frequencies and bigram keys; in the default
mode also `features.entry_channel`; and for the candidate ranker's extras its further sources up
to `features.DEEP_LIMIT`) is cached in memory, but a fresh process meets every word for the
first time, and on 1,000 news paragraphs that first sight took about 2 s of a 7-9 s `--fast`
scan. This table holds it for the most frequent English words (wordfreq's top `TABLE_WORDS`):
built once next to the lexicon's cache file (about 20 s and 74 MB), read in a tenth of a
second, each word decoded on first use. Its entries are exactly those `features.compute_entry`
gives, so scan results do not change; the file's name hashes everything they depend on,
including the source of the modules that compute them, so a change rebuilds it.

Only a lexicon read from its cache file has a table (`Lexicon.source_path`); one built in memory
(tests, tools) computes every entry.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import threading
from functools import lru_cache
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unspin.context.model import ContextModel
from unspin.detect import features

if TYPE_CHECKING:
    from unspin.lexicon import Lexicon

# How many of wordfreq's most frequent English words the table holds: 96 % of the words of news
# paragraphs (50,000 words; 92.5 % with 20,000, 97 % with 100,000).
TABLE_WORDS = 50_000
# Bump when the table holds something else.
TABLE_FORMAT = 2
# Modules whose code decides an entry: their source is part of the table's name.
_SOURCES = (
    "unspin.detect.features",
    "unspin.detect.entry_table",
    "unspin.context.model",
    "unspin.lexicon.core",
    "unspin.text.frequency",
)

# A word's parts: candidate names, link weights, sources, the word's web unigram
# log-probability, its Zipf frequency, the candidates' pair keys (float64 bytes, 4 per
# candidate), the default mode's channel features for these candidates, and the names,
# weights and sources of its further thesaurus sources up to `features.DEEP_LIMIT` (the
# candidate ranker's extras are drawn from them).
_Parts = tuple[
    tuple[str, ...],
    tuple[float, ...],
    tuple[str, ...],
    float,
    float,
    bytes,
    tuple[float, float, float],
    tuple[str, ...],
    tuple[float, ...],
    tuple[str, ...],
]

_lock = threading.Lock()
# Per table file: lexicons read from the same cache file share its table.
_tables: dict[Path, dict[str, bytes] | None] = {}


def table_words(n: int = TABLE_WORDS) -> list[str]:
    """The words the table holds: wordfreq's `n` most frequent English ones, in the scan's
    normalised form, single words only."""
    from wordfreq import top_n_list

    seen: dict[str, None] = {}
    for word in top_n_list("en", n):
        normed = features.norm_word(word)
        if normed and " " not in normed:
            seen.setdefault(normed, None)
    return list(seen)


def table_path(lexicon: Lexicon, n: int = TABLE_WORDS) -> Path | None:
    """Where the table of `lexicon` lives (None for a lexicon without a cache file, or for a
    stand-in lexicon)."""
    source = getattr(lexicon, "source_path", None)
    return None if source is None else _path_for(source, n)


@lru_cache(maxsize=16)
def _path_for(source: Path, n: int) -> Path:
    """The table file for the lexicon file `source` (hashing the code costs a millisecond, so
    once per process)."""
    from unspin.lexicon.core import hash_files

    digest = hashlib.sha1()
    for part in (
        str(TABLE_FORMAT),
        str(n),
        str(features.MAX_CANDIDATES),
        str(features.DEEP_LIMIT),
        repr(features.PRIOR_WEIGHT),
        source.name,
        version("wordfreq"),
        version("wordsegment"),
    ):
        digest.update(part.encode())
    hash_files(digest, (Path(str(import_module(name).__file__)) for name in _SOURCES))
    return source.parent / f"entries-{digest.hexdigest()[:16]}.marshal"


def word_parts(lexicon: Lexicon, context: ContextModel, word: str) -> _Parts:
    """What the table keeps of `word` (see `_Parts`), computed the scan's own way."""
    entry = features.compute_entry(lexicon, context, word, features.MAX_CANDIDATES)
    assert entry is not None  # a single word always has an entry
    channel = features.compute_channel(lexicon, context, word, entry)
    # The lexicon ranks before it cuts, so the first MAX_CANDIDATES of the deep list are the
    # entry's own candidates; only the rest is kept.
    deep = lexicon.sources_of(word, limit=features.DEEP_LIMIT, memo=False)
    tail = deep[len(entry.names) :]
    return (
        entry.names,
        entry.weights,
        entry.sources,
        entry.unigram,
        entry.zipf_observed,
        np.ascontiguousarray(entry.pair_keys, dtype=np.float64).tobytes(),
        channel,
        tuple(c.text for c in tail),
        tuple(c.weight for c in tail),
        tuple(c.source for c in tail),
    )


def build_table(
    lexicon: Lexicon, context: ContextModel, words: list[str] | None = None
) -> dict[str, bytes]:
    """{word: marshalled parts} for `words` (default `table_words()`)."""
    return {
        word: marshal.dumps(word_parts(lexicon, context, word))
        for word in (table_words() if words is None else words)
    }


def load_table(lexicon: Lexicon, context: ContextModel) -> dict[str, bytes] | None:
    """The table of `lexicon`, read from its file or built and written first (once per
    lexicon and process; across processes one builds while the others wait). None for a
    lexicon without a cache file, or where the cache dir cannot be written to."""
    path = table_path(lexicon)
    if path is None:
        return None
    with _lock:
        if path not in _tables:
            _tables[path] = _read_or_build(lexicon, context, path)
        return _tables[path]


def _read(path: Path) -> dict[str, bytes] | None:
    try:
        table = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None  # missing, truncated or from another Python: build it again
    return table if isinstance(table, dict) else None


def _read_or_build(lexicon: Lexicon, context: ContextModel, path: Path) -> dict[str, bytes] | None:
    from unspin.lexicon.core import build_lock, write_cache_file

    table = _read(path)
    if table is not None:
        return table
    if not os.access(path.parent, os.W_OK):
        return None  # every process would pay the build again: compute words as met
    with build_lock(path):
        table = _read(path)  # another process may have built it meanwhile
        if table is None:
            table = build_table(lexicon, context)
            write_cache_file(path, marshal.dumps(table))
    return table


def _parts(lexicon: Lexicon, context: ContextModel, word: str) -> _Parts | None:
    if not isinstance(context, ContextModel):
        return None  # a stand-in context model: its values are not the table's
    table = load_table(lexicon, context)
    blob = None if table is None else table.get(word)
    return None if blob is None else marshal.loads(blob)


def table_entry(
    lexicon: Lexicon, context: ContextModel, word: str, limit: int
) -> features.PhraseEntry | None:
    """`word`'s phrase entry for candidate `limit` from the table, or None where the table
    cannot give it (no table, a word it lacks, a limit over the table's)."""
    if limit > features.MAX_CANDIDATES:
        return None
    parts = _parts(lexicon, context, word)
    if parts is None:
        return None
    names, weights, sources, unigram, zipf, keys = parts[:6]
    # A smaller limit is the head of a larger one: the lexicon ranks before it cuts.
    n = min(limit, len(names))
    pair_keys = np.frombuffer(keys, dtype=np.float64).reshape(-1, 4)[:n]
    return features.entry_from_parts(
        word, names[:n], weights[:n], sources[:n], (unigram,), pair_keys, zipf_observed=zipf
    )


def table_channel(
    lexicon: Lexicon, context: ContextModel, word: str, names: tuple[str, ...]
) -> tuple[float, float, float] | None:
    """`word`'s channel features from the table, if its entry there has the candidates
    `names` (the default mode's limit); else None."""
    parts = _parts(lexicon, context, word)
    if parts is None or parts[0] != names:
        return None
    return parts[6]


def table_deep_sources(
    lexicon: Lexicon, context: ContextModel, word: str
) -> tuple[tuple[str, ...], tuple[float, ...], tuple[str, ...]] | None:
    """The names, weights and sources of `Lexicon.sources_of(word,
    limit=features.DEEP_LIMIT)` from the table, or None where the table cannot give them."""
    parts = _parts(lexicon, context, word)
    if parts is None:
        return None
    return parts[0] + parts[7], parts[1] + parts[8], parts[2] + parts[9]


__all__ = [
    "TABLE_WORDS",
    "build_table",
    "load_table",
    "table_channel",
    "table_deep_sources",
    "table_entry",
    "table_path",
    "table_words",
    "word_parts",
]
