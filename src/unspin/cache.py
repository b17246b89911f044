"""What unspin keeps in its cache dir, which of it this version still reads, and pruning the rest.

Every derived file (the lexicon, the entry table, the term index, the web-count tables, the ONNX
copies of a model's forests and encoder) is named by a hash of what it was built from, so a new
unspin version or a retrained model writes new files beside the old ones and never reads those
again. They add up (tens of MB per version). `in_use` names the files this unspin reads for
the shipped model and any others given; `prune` removes the rest of unspin's own families and
never touches a file whose name it does not know.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unspin.detect.model import SpinModel

# Name prefixes of the files unspin writes to its cache dir (with their ".lock" companions).
FAMILIES: tuple[str, ...] = (
    "lexicon-",
    "entries-",
    "term-index-",
    "wordnet-terms-",
    "collocations-",
    "wordsegment-counts-",
    "forest-",
    "encoder-",
)
# A half-written file (a build in progress in another process) is left alone this long.
TMP_GRACE = 3600.0


@dataclass(frozen=True, slots=True)
class CacheFile:
    """One file of the cache dir: its family (None for a name unspin does not write), its size
    and whether this unspin reads it for the models asked about (never for other names)."""

    path: Path
    family: str | None
    size: int
    in_use: bool


def family_of(name: str) -> str | None:
    """The family a cache file name belongs to, or None."""
    return next((f.rstrip("-") for f in FAMILIES if name.startswith(f)), None)


def in_use(models: Sequence[SpinModel] | None = None) -> set[Path]:
    """The cache files this unspin reads: those that do not depend on a model, and the forest and
    encoder copies of each of `models` (None: the shipped one). Names only; nothing is built."""
    from unspin.context.model import counts_cache_path
    from unspin.detect.collocations import table_cache_path
    from unspin.detect.entry_table import TABLE_WORDS, _path_for
    from unspin.detect.model import load_model
    from unspin.detect.terms import index_cache_path
    from unspin.lexicon.core import cache_path
    from unspin.lexicon.wordnet_terms import cache_path as wordnet_cache_path

    lexicon = cache_path()
    paths = {
        lexicon,
        _path_for(lexicon, TABLE_WORDS),
        index_cache_path(),
        wordnet_cache_path(),
        table_cache_path(),
        counts_cache_path(),
    }
    for model in [load_model()] if models is None else models:
        paths |= model_files(model)
    return paths


def model_files(model: SpinModel) -> set[Path]:
    """The cache files one model's scans read: its forests' ONNX copies (both modes) and its
    encoder's int8 copy."""
    from unspin.context.encoder import onnx_cache_path
    from unspin.detect.compiled import CompiledForest, forest_cache_path

    paths: set[Path] = set()
    for mode in (model, model.fast):
        if mode is None:
            continue
        for value in vars(mode).values():
            if isinstance(value, CompiledForest):
                paths.add(forest_cache_path(value))
    if model.uses_encoder and model.encoder_file:
        paths.add(onnx_cache_path(Path(model.encoder_file)))
    return paths


def listing(
    cache_dir: Path | None = None, models: Sequence[SpinModel] | None = None
) -> list[CacheFile]:
    """Every file of the cache dir, sorted by name; a file of unspin's families is in use when
    this unspin reads it for `models` (a ".lock" file goes with the file it locks), and a
    half-written one (".tmp") while it is under TMP_GRACE seconds old."""
    from unspin.lexicon.core import default_cache_dir

    base = cache_dir or default_cache_dir()
    if not base.is_dir():
        return []
    kept = set()
    for path in in_use(models):
        kept |= {path.name, path.with_suffix(".lock").name}
    now = time.time()
    out = []
    for path in sorted(p for p in base.iterdir() if p.is_file()):
        family = family_of(path.name)
        stat = path.stat()
        used = family is not None and (
            path.name in kept or (path.suffix == ".tmp" and now - stat.st_mtime < TMP_GRACE)
        )
        out.append(CacheFile(path, family, stat.st_size, used))
    return out


def prune(files: Iterable[CacheFile]) -> list[CacheFile]:
    """Delete the files of unspin's families not in use; returns those deleted (a file that
    vanished meanwhile counts as deleted). Files of other names are never touched."""
    gone = []
    for f in files:
        if f.family is None or f.in_use:
            continue
        f.path.unlink(missing_ok=True)
        gone.append(f)
    return gone
