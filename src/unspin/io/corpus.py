"""Corpus readers: stream Documents from .jsonl[.gz], .parquet, .warc[.gz] and folders.

`read_corpus(paths)` is what `unspin index build`, `unspin dedup` and the benchmarks read with.
Single text files (.txt, .html, .jsonl, .jsonl.gz) go through `unspin.io.read_path`; this module
adds the formats a crawl or a data pipeline produces:

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
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from unspin.errors import InputError
from unspin.io.readers import OnError, ReadStats, html_main_text, read_path
from unspin.types import Document

__all__ = ["CORPUS_SUFFIXES", "corpus_files", "read_corpus", "read_parquet", "read_warc"]

log = logging.getLogger("unspin.io")

CORPUS_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet", ".warc", ".warc.gz")
_FOLDER_SUFFIXES = (".txt", ".html", ".htm", *CORPUS_SUFFIXES)
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
    """The readable files under a folder, recursively, sorted by relative path (hidden skipped)."""
    root = Path(path)
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(_FOLDER_SUFFIXES):
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
        p = Path(path)
        if os.fspath(path) != "-" and p.is_dir():
            files = corpus_files(p)
            if not files:
                raise InputError("no .txt, .html, .jsonl, .parquet or .warc files inside", str(p))
            for f in files:
                rel = f.relative_to(p).as_posix()
                for doc in _read_one(f, on_error, stats):
                    if _kind(f) in ("txt", "html", "htm"):
                        doc = Document(rel, doc.text, doc.meta)
                    yield doc
        else:
            yield from _read_one(p if os.fspath(path) != "-" else "-", on_error, stats)


def _read_one(path: Path | str, on_error: OnError, stats: ReadStats) -> Iterator[Document]:
    if path == "-":
        yield from read_path("-", on_error=on_error, stats=stats)
        return
    assert isinstance(path, Path)
    kind = _kind(path)
    if kind in ("parquet", "warc", "warc.gz"):
        if not path.exists():
            raise InputError("no such file", str(path))
        if path.stat().st_size == 0:
            raise InputError("empty file", str(path))
        stats.sources += 1
        reader = read_parquet if kind == "parquet" else read_warc
        for doc in reader(path):
            stats.read += 1
            yield doc
        return
    yield from read_path(path, on_error=on_error, stats=stats)


# --------------------------------------------------------------------------- parquet


def read_parquet(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Stream the rows of a Parquet file as Documents (`text` column required, `id` optional)."""
    import pyarrow.parquet as pq

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
                if text is None:
                    log.warning("%s: row %d: no text; skipped", name, row)
                    continue
                raise InputError(f'"text" must be a string, got {type(text).__name__}', name, row)
            raw_id = record.pop("id", None)
            doc_id = f"{stem}:{row}" if raw_id in (None, "") else str(raw_id)
            meta: dict[str, Any] = {k: _plain(v) for k, v in record.items()}
            meta.update(path=name, line=row, format="parquet")
            yield Document(doc_id, text, meta)


def _plain(value: Any) -> Any:
    """Dates and timestamps as ISO strings, so meta stays JSON-ready."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- warc


def read_warc(path: str | os.PathLike[str]) -> Iterator[Document]:
    """Stream the HTML (and plain-text) responses of a WARC file as main-text Documents.

    Non-response records, other content types and pages with no main text are skipped.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    name = os.fspath(path)
    n = 0
    try:
        with open(name, "rb") as fh:
            records = ArchiveIterator(fh, check_digests=True)
            end = 0
            for record in records:
                if record.rec_type not in _WARC_TYPES:
                    raise InputError("truncated or corrupt WARC file (broken record)", name)
                wanted = record.rec_type == "response" and record.http_headers is not None
                ctype = ""
                if wanted:
                    ctype = (record.http_headers.get_header("Content-Type") or "").lower()
                    wanted = ctype.startswith(_TEXT_TYPES)
                body = record.content_stream().read()  # read all: digests are checked at its end
                _check_complete(record, name)
                end = records.get_record_offset() + records.get_record_length()
                if not wanted:
                    continue
                n += 1
                text = _decode_body(body, ctype)
                if "html" in ctype:
                    text = html_main_text(text)
                if not text.strip():
                    continue
                uri = record.rec_headers.get_header("WARC-Target-URI")
                rid = record.rec_headers.get_header("WARC-Record-ID")
                meta = {
                    "path": name,
                    "format": "warc",
                    "url": uri,
                    "date": record.rec_headers.get_header("WARC-Date"),
                    "record": n,
                }
                yield Document(uri or rid or f"{Path(name).name}:{n}", text, meta)
            # warcio stops quietly at a record cut off inside its headers: bytes left over.
            fh.seek(end)
            if fh.read(4096).strip():
                raise InputError("truncated or corrupt WARC file (partial last record)", name)
    except ArchiveLoadFailed as exc:
        raise InputError(f"not a readable WARC file ({exc})", name) from None
    except OSError as exc:  # truncated gzip member and the like
        raise InputError(f"truncated or corrupt WARC file ({exc})", name) from None


def _check_complete(record: Any, name: str) -> None:
    """A record whose digest fails, or cannot be checked because its data ends early, is bad."""
    checker = record.digest_checker
    headers = record.rec_headers
    has_digest = headers.get_header("WARC-Block-Digest") or headers.get_header(
        "WARC-Payload-Digest"
    )
    if checker is not None and (checker.passed is False or (has_digest and checker.passed is None)):
        raise InputError("truncated or corrupt WARC file (record digest does not match)", name)


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
