"""Corpus readers: stream Documents from .jsonl[.gz], .parquet, .warc[.gz] and folders.

`read_corpus(paths)` is what `unspin index build`, `unspin dedup` and the benchmarks read with.
Every single file goes through `unspin.io.read_path` (so `unspin scan` reads these formats
too); this module reads the formats a crawl or a data pipeline produces, and folders:

- .parquet — one document per row: `id` and `text` columns (any other column goes to meta, e.g.
  `date`); read batch by batch, so memory stays bounded on big files.
- .warc / .warc.gz — every HTTP response with an HTML (or plain text) body becomes a document of
  its main text (`unspin.io.html_main_text`); id = the target URI, meta["date"] = WARC-Date.
- a folder — every .txt/.html/.htm (and corpus file) under it, recursively, in sorted path order;
  ids are paths relative to the folder, so two "index.html" in different folders stay distinct.

Order is deterministic (the order of `paths`, then file order, then record order): the dedup
engine numbers documents by position to resume a killed run without losing or repeating one.
Problems a user can cause raise `InputError` (exit 2) naming the file.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from unspin.errors import InputError
from unspin.io.readers import OnError, ReadStats, html_main_text, read_path
from unspin.types import Document

__all__ = [
    "CORPUS_SUFFIXES",
    "CorpusSource",
    "corpus_files",
    "path_sources",
    "read_corpus",
    "read_parquet",
    "read_source",
    "read_warc",
]

log = logging.getLogger("unspin.io")

CORPUS_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".warc", ".warc.gz")
FOLDER_SUFFIXES = (".txt", ".html", ".htm", *CORPUS_SUFFIXES)  # what a folder is read for
_PARQUET_BATCH = 2048
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_WARC_TYPES = frozenset(
    "warcinfo response resource request metadata revisit conversion continuation".split()
)


def _kind(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".jsonl.gz", ".warc.gz"):
        if name.endswith(suffix):
            return suffix[1:]
    return path.suffix.lower()[1:]


def corpus_files(path: str | os.PathLike[str]) -> list[Path]:
    """The readable files under a folder, recursively, sorted by relative path (hidden skipped).

    Linked folders are followed, as linked files are read; a folder met again through a link
    (a loop, or the same folder twice) is read once."""
    root = Path(path)
    found: list[Path] = []
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(FOLDER_SUFFIXES):
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def read_corpus(
    paths: Iterable[str | os.PathLike[str]],
    *,
    on_error: OnError = "raise",
    stats: ReadStats | None = None,
) -> Iterator[Document]:
    """Stream the documents of files and folders in a fixed order; see the module doc."""
    stats = stats if stats is not None else ReadStats()
    for path in paths:
        for source in path_sources(path):
            yield from read_source(source, on_error=on_error, stats=stats)


@dataclass(frozen=True, slots=True)
class CorpusSource:
    """One file `read_corpus` reads: its path ("-": stdin), and for a .txt/.html file found in
    a folder, the document id (its path relative to that folder)."""

    path: str
    doc_id: str | None = None


def path_sources(path: str | os.PathLike[str]) -> list[CorpusSource]:
    """The files behind one corpus argument, in reading order (a folder: sorted, recursive).

    With `read_source` this splits `read_corpus` into units of work that can be read apart,
    in other processes or on other machines (the Spark engine reads them on its executors).
    """
    p = Path(path)
    if os.fspath(path) == "-" or not p.is_dir():
        return [CorpusSource(os.fspath(path))]
    files = corpus_files(p)
    if not files:
        raise InputError("no .txt, .html, .jsonl, .parquet or .warc files inside", str(p))
    return [
        CorpusSource(
            os.fspath(f),
            f.relative_to(p).as_posix() if _kind(f) in ("txt", "html", "htm") else None,
        )
        for f in files
    ]


def read_source(
    source: CorpusSource, *, on_error: OnError = "raise", stats: ReadStats | None = None
) -> Iterator[Document]:
    """Stream the documents of one `CorpusSource`, as `read_corpus` would."""
    stats = stats if stats is not None else ReadStats()
    # `read_path` reads every single file, Parquet and WARC included, and stdin.
    for doc in read_path(source.path, on_error=on_error, stats=stats):
        if source.doc_id is not None:
            doc = Document(source.doc_id, doc.text, doc.meta)
        yield doc


# --------------------------------------------------------------------------- parquet


def read_parquet(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = "raise",
    stats: ReadStats | None = None,
) -> Iterator[Document]:
    """Stream the rows of a Parquet file as Documents (`text` column required, `id` optional).

    A row whose text is null is skipped with a warning; one whose text is not a string is
    malformed: an `InputError` naming the file and row, or with on_error="skip" a warning. Both
    are counted in `stats.skipped`, so a batch run reports every row it did not read.
    """
    import pyarrow.parquet as pq

    stats = stats if stats is not None else ReadStats()
    name = os.fspath(path)
    try:
        pf = pq.ParquetFile(name)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"not a Parquet file ({exc.__class__.__name__})", name) from None
    columns = pf.schema_arrow.names
    if "text" not in columns:
        raise InputError(f'no "text" column (columns: {", ".join(columns)})', name)
    stem = Path(name).name
    row = 0
    for batch in pf.iter_batches(batch_size=_PARQUET_BATCH):
        for record in batch.to_pylist():
            row += 1
            text = record.pop("text")
            if not isinstance(text, str):
                if text is not None and on_error == "raise":
                    raise InputError(
                        f'"text" must be a string, got {type(text).__name__}', name, row
                    )
                problem = "no text" if text is None else f"text is {type(text).__name__}"
                log.warning("%s:%d: skipped: %s", name, row, problem)
                stats.skipped += 1
                continue
            raw_id = record.pop("id", None)
            doc_id = f"{stem}:{row}" if raw_id in (None, "") else str(raw_id)
            meta: dict[str, Any] = {k: _plain(v) for k, v in record.items()}
            meta.update(path=name, line=row, format="parquet")
            yield Document(doc_id, text, meta)
    if row == 0:  # as a JSONL file of blank lines is: nothing to read is bad input
        raise InputError("empty file (no rows)", name)


def _plain(value: Any) -> Any:
    """Dates and timestamps as ISO strings, so meta stays JSON-ready."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- warc


def read_warc(
    path: str | os.PathLike[str], *, stats: ReadStats | None = None
) -> Iterator[Document]:
    """Stream the HTML (and plain-text) responses of a WARC file as main-text Documents.

    Non-response records and other content types are no documents and pass unread; a page
    with no main text (a menu, an empty body) is skipped with a warning and counted in
    `stats.skipped`, as a Parquet row with no text is. A truncated or corrupt file (broken
    headers, a failed digest, bytes left over) is an `InputError` naming the file.
    """
    name = os.fspath(path)
    n = 0
    for record, body in _warc_records(name):
        wanted = record.rec_type == "response" and record.http_headers is not None
        ctype = ""
        if wanted:
            ctype = (record.http_headers.get_header("Content-Type") or "").lower()
            wanted = ctype.startswith(_TEXT_TYPES)
        if not wanted:
            continue
        n += 1
        text = _decode_body(body, ctype)
        if "html" in ctype:
            text = html_main_text(text)
        uri = record.rec_headers.get_header("WARC-Target-URI")
        if not text.strip():
            log.warning("%s:%d: skipped: no main text in %s", name, n, uri or "a response")
            if stats is not None:
                stats.skipped += 1
            continue
        rid = record.rec_headers.get_header("WARC-Record-ID")
        meta = {
            "path": name,
            "format": "warc",
            "url": uri,
            "date": record.rec_headers.get_header("WARC-Date"),
            "record": n,
        }
        yield Document(uri or rid or f"{Path(name).name}:{n}", text, meta)


# What warcio raises on damaged headers (a bad length, a non-ASCII or NUL byte, a broken digest
# name, a missing status line) besides its own ArchiveLoadFailed: all of them mean a corrupt file.
_WARC_DAMAGE = (OSError, EOFError, zlib.error, ValueError, TypeError, AttributeError,
                IndexError, KeyError, UnicodeError)  # fmt: skip


def _warc_records(name: str) -> Iterator[tuple[Any, bytes]]:
    """Each record of a WARC file with its whole body, checked complete (see `read_warc`)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        fh = open(name, "rb")  # noqa: SIM115 - closed below, around the yields
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", name) from None
    with fh:
        records = ArchiveIterator(fh, check_digests=True)
        end = 0
        while True:
            try:
                record = next(records, None)
                if record is None:
                    # warcio stops quietly at a record cut off inside its headers: bytes left.
                    fh.seek(end)
                    if fh.read(4096).strip():
                        raise InputError(
                            "truncated or corrupt WARC file (partial last record)", name
                        )
                    return
                if record.format != "warc":  # warcio reads other text as a legacy ARC record
                    raise InputError("not a WARC file (no WARC/1.x record header)", name)
                if record.rec_type not in _WARC_TYPES:
                    raise InputError("truncated or corrupt WARC file (broken record)", name)
                body = record.content_stream().read()  # read all: digests are checked at its end
                _check_complete(record, name)
                end = records.get_record_offset() + records.get_record_length()
            except ArchiveLoadFailed as exc:
                raise InputError(f"not a readable WARC file ({_one_line(exc)})", name) from None
            except _WARC_DAMAGE as exc:
                what = f"{exc.__class__.__name__}: {_one_line(exc)}"
                raise InputError(f"truncated or corrupt WARC file ({what})", name) from None
            yield record, body


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _check_complete(record: Any, name: str) -> None:
    """A record whose digest fails, or cannot be checked because its data ends early, is bad.

    A payload digest is only meaningful where warcio parsed HTTP headers (it reads responses to
    non-HTTP URIs, such as dns:, as one block), and a digest in an unknown algorithm cannot be
    checked at all: neither makes a record corrupt.
    """
    checker = record.digest_checker
    if checker is None:
        return
    problems = [str(p) for p in checker.problems]
    failed = [
        p for p in problems
        if p.startswith("block digest failed")
        or (p.startswith("payload digest failed") and record.http_headers is not None)
    ]  # fmt: skip
    if failed:
        raise InputError("truncated or corrupt WARC file (record digest does not match)", name)
    headers = record.rec_headers
    has_digest = headers.get_header("WARC-Block-Digest") or headers.get_header(
        "WARC-Payload-Digest"
    )
    unknown = any(p.startswith("unknown hash") for p in problems)
    if has_digest and checker.passed is None and not unknown:
        raise InputError("truncated or corrupt WARC file (record ends before its digest)", name)


def _decode_body(body: bytes, ctype: str) -> str:
    """Decode an HTTP body: the declared charset, else UTF-8 with replacement characters."""
    charset = "utf-8"
    for part in ctype.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "charset" and value:
            charset = value.strip("\"' ")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
