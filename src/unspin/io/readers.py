"""Stream Documents from .txt, .html/.htm, .jsonl, .jsonl.gz, .parquet, .warc[.gz] files and stdin.

Every problem a user can cause (missing file, directory, empty or binary file, unknown
extension, malformed JSONL line, truncated gzip) raises `InputError` with one line naming the
file (and line), which the CLI turns into exit code 2. Warnings (invalid UTF-8 decoded with
replacement characters, skipped lines) go to the "unspin.io" logger, one line each.

Readers are generators: nothing is opened until the first document is asked for, and JSONL
is read line by line (Parquet batch by batch, WARC record by record), so a file of any size
streams in constant memory. Parquet and WARC are read by `unspin.io.corpus`, which also reads
folders.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, Literal

from unspin.errors import InputError
from unspin.types import Document

log = logging.getLogger("unspin.io")

OnError = Literal["raise", "skip"]

STDIN = "-"
_BINARY_PROBE = 8192  # bytes checked for NUL: text files never contain one
_EXTENSIONS = ".txt, .html, .htm, .jsonl, .jsonl.gz, .parquet, .warc, .warc.gz or - for stdin"
_KINDS = {".txt": "txt", ".html": "html", ".htm": "html", ".jsonl": "jsonl", ".parquet": "parquet"}
# Formats read by `unspin.io.corpus` (imported only when one is met: it needs pyarrow or warcio).
_CORPUS_KINDS = ("parquet", "warc", "warc.gz")
# Errors gzip/zlib raise on a truncated or corrupt stream (BadGzipFile is an OSError).
_GZIP_ERRORS = (EOFError, OSError, zlib.error)


@dataclass(slots=True)
class ReadStats:
    """Counts from one reading run; pass one in as `stats=` and inspect it as you go or after.

    read: documents yielded; skipped: malformed JSONL lines skipped under on_error="skip";
    sources: files (or stdin) opened; replaced: sources whose invalid UTF-8 was replaced.
    """

    read: int = 0
    skipped: int = 0
    sources: int = 0
    replaced: int = 0


def read_documents(
    paths: Iterable[str | os.PathLike[str]],
    *,
    on_error: OnError = "raise",
    stats: ReadStats | None = None,
) -> Iterator[Document]:
    """Stream the documents of every path in order ("-" is stdin); see `read_path`.

    One `stats` object, if given, accumulates the counts of all paths.
    """
    for path in paths:
        yield from read_path(path, on_error=on_error, stats=stats)


def read_path(
    path: str | os.PathLike[str],
    *,
    on_error: OnError = "raise",
    stats: ReadStats | None = None,
) -> Iterator[Document]:
    """Stream the documents of one file, chosen by extension, or of stdin for "-".

    .txt is one document, id = the file name, text = the file's text exactly (a UTF-8 byte-order
    mark dropped); .html/.htm is one document of its main text, paragraphs separated by blank
    lines; .jsonl/.jsonl.gz yield one document per `{"id": ..., "text": ...}` line, other fields
    going to meta. stdin is one text document with id "stdin", or JSONL if it starts with "{".
    A malformed JSONL line raises InputError, or with on_error="skip" is logged, counted in
    `stats.skipped` and skipped. meta always holds "path" and "format" (and "line" for JSONL).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f'on_error must be "raise" or "skip", not {on_error!r}')
    stats = stats if stats is not None else ReadStats()
    name = os.fspath(path)
    if name == STDIN:
        docs = _read_stdin(on_error, stats)
    else:
        docs = _read_file(Path(name), name, on_error, stats)
    for doc in docs:
        stats.read += 1
        yield doc


# --- files ----------------------------------------------------------------------------------


def _read_file(path: Path, name: str, on_error: OnError, stats: ReadStats) -> Iterator[Document]:
    """Check the file, then dispatch on its extension."""
    lower = path.name.lower()
    kind = next((k for k in ("jsonl.gz", "warc.gz", "warc") if lower.endswith("." + k)), "")
    kind = kind or _KINDS.get(path.suffix.lower(), "")
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError("no such file", name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", name) from None
    if path.is_dir():
        raise InputError("is a directory, not a file", name)
    if not kind:
        suffix = path.suffix or "no extension"
        raise InputError(f"unknown file type ({suffix}); expected {_EXTENSIONS}", name)
    if st.st_size == 0:
        raise InputError("empty file", name)
    stats.sources += 1
    if kind in ("jsonl", "jsonl.gz"):
        return _read_jsonl_file(path, name, kind, on_error, stats)
    if kind in _CORPUS_KINDS:
        from unspin.io.corpus import read_parquet, read_warc

        if kind == "parquet":
            return read_parquet(path, on_error=on_error, stats=stats)
        return read_warc(path, stats=stats)
    data = _read_bytes(path, name)
    if b"\0" in data[:_BINARY_PROBE]:
        raise InputError("binary file (NUL bytes), expected UTF-8 text", name)
    if not data.strip():
        raise InputError("empty file (only whitespace)", name)
    meta = {"path": name, "format": kind}
    if kind == "txt":
        text = _Utf8(name, stats).decode(data).removeprefix("\ufeff")
        return iter([Document(path.name, text, meta)])
    text = html_main_text(_decode_html(data, name, stats))
    if not text:
        raise InputError("no text found in the HTML", name)
    return iter([Document(path.name, text, meta)])


def _read_bytes(path: Path, name: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", name) from None


def _read_jsonl_file(
    path: Path, name: str, kind: str, on_error: OnError, stats: ReadStats
) -> Iterator[Document]:
    """Stream a .jsonl or .jsonl.gz file; a truncated/corrupt gzip stream is an InputError."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", name) from None
    with raw:
        fh: IO[bytes] = raw
        if kind == "jsonl.gz":
            if raw.read(2) != b"\x1f\x8b":
                raise InputError("not a gzip file", name)
            raw.seek(0)
            fh = gzip.GzipFile(fileobj=raw, mode="rb")
        yield from _parse_jsonl(fh, name, kind, on_error, stats)


# --- stdin ----------------------------------------------------------------------------------


def _read_stdin(on_error: OnError, stats: ReadStats) -> Iterator[Document]:
    """stdin: JSONL (streamed) if the first non-blank line starts with "{", else one text."""
    name = "stdin"
    stats.sources += 1
    lines = _stdin_lines()
    first: list[bytes] = []
    for line in lines:
        first.append(line)
        if line.strip():
            break
    if _looks_like_jsonl(first[-1] if first else b""):
        yield from _parse_jsonl(_chain(first, lines), name, "jsonl", on_error, stats, STDIN)
        return
    data = b"".join(_chain(first, lines))
    if b"\0" in data[:_BINARY_PROBE]:
        raise InputError("binary data (NUL bytes), expected UTF-8 text", name)
    if not data.strip():
        raise InputError("empty input", name)
    text = _Utf8(name, stats).decode(data).removeprefix("\ufeff")
    yield Document(name, text, {"path": STDIN, "format": "txt"})


def _looks_like_jsonl(line: bytes) -> bool:
    """True when a line looks like the start of a JSON object (BOM and spaces allowed)."""
    return line.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")


def _stdin_lines() -> Iterator[bytes]:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        yield from buffer
    else:  # a text stream without bytes underneath (e.g. replaced in tests or embedding)
        for line in sys.stdin:
            yield line.encode("utf-8", errors="surrogatepass")


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


# --- JSONL ----------------------------------------------------------------------------------


def _parse_jsonl(
    lines: Iterable[bytes],
    name: str,
    kind: str,
    on_error: OnError,
    stats: ReadStats,
    meta_path: str | None = None,
) -> Iterator[Document]:
    """Turn JSON lines into Documents; blank lines are skipped, an input of only blanks is empty.

    `name` is used in messages and default ids, `meta_path` (default `name`) in meta["path"].
    """
    utf8 = _Utf8(name, stats)
    stem = Path(name).name
    meta_path = name if meta_path is None else meta_path
    it = iter(lines)
    lineno = 0
    probed = 0  # bytes checked for NUL, as for text files
    seen_content = False
    while True:
        try:
            raw = next(it)
        except StopIteration:
            break
        except _GZIP_ERRORS as exc:
            # Read errors only happen mid-stream for gzip, barring a failing disk.
            what = "truncated or corrupt gzip stream" if kind == "jsonl.gz" else "cannot read"
            raise InputError(f"{what} ({exc})", name, lineno + 1) from None
        lineno += 1
        if probed < _BINARY_PROBE:
            probed += len(raw)
            if b"\0" in raw:
                raise InputError("binary data (NUL bytes), expected UTF-8 JSON lines", name)
        line = utf8.decode(raw)
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        seen_content = True
        try:
            doc = _jsonl_document(line, stem, lineno, meta_path, kind)
        except _BadLine as exc:
            if on_error == "raise":
                raise InputError(str(exc), name, lineno) from None
            stats.skipped += 1
            log.warning("%s:%d: skipped: %s", name, lineno, exc)
            continue
        yield utf8.no_surrogates(doc, lineno)
    if not seen_content:
        empty = "empty input" if meta_path == STDIN else "empty file (only whitespace)"
        raise InputError(empty, name)


class _BadLine(ValueError):
    """A JSONL line that is not a usable {"id", "text"} object; the message says why."""


def _jsonl_document(line: str, stem: str, lineno: int, meta_path: str, kind: str) -> Document:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        # some of json's messages end in "at" ("Invalid control character at")
        what = exc.msg.removesuffix(" at")
        raise _BadLine(f"invalid JSON ({what} at column {exc.colno})") from None
    except RecursionError:
        raise _BadLine("invalid JSON (nested too deeply)") from None
    except ValueError as exc:  # a number json.loads will not convert (over 4,300 digits)
        raise _BadLine(f"invalid JSON ({' '.join(str(exc).split())})") from None
    if not isinstance(record, dict):
        raise _BadLine(f"expected a JSON object, got {type(record).__name__}")
    if "text" not in record:
        raise _BadLine('missing "text"')
    text = record["text"]
    if not isinstance(text, str):
        raise _BadLine(f'"text" must be a string, got {_json_type(text)}')
    raw_id = record.get("id")
    if raw_id is None or raw_id == "":
        doc_id = f"{stem}:{lineno}"
    elif isinstance(raw_id, str):
        doc_id = raw_id
    elif isinstance(raw_id, int) and not isinstance(raw_id, bool):
        doc_id = str(raw_id)
    else:
        raise _BadLine(f'"id" must be a string or an integer, got {_json_type(raw_id)}')
    # Other fields are kept as they are; path/line/format describe where the line came from.
    meta: dict[str, Any] = {k: v for k, v in record.items() if k not in ("id", "text")}
    meta.update(path=meta_path, line=lineno, format=kind)
    return Document(doc_id, text, meta)


def _json_type(value: object) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    names.update({dict: "object", type(None): "null"})
    return names.get(type(value), type(value).__name__)


# --- decoding -------------------------------------------------------------------------------


class _Utf8:
    """Decode UTF-8; invalid bytes become U+FFFD, with one warning per source."""

    def __init__(self, name: str, stats: ReadStats) -> None:
        self.name = name
        self.stats = stats
        self.warned = False

    def decode(self, data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not self.warned:
                self.warned = True
                self.stats.replaced += 1
                log.warning(
                    "%s: invalid UTF-8 (%s at byte %d); replaced with U+FFFD",
                    self.name,
                    exc.reason,
                    exc.start,
                )
            return data.decode("utf-8", errors="replace")

    def no_surrogates(self, doc: Document, lineno: int) -> Document:
        """The document with lone surrogates (JSON escapes such as "\\ud800", which no UTF-8
        file can hold and no writer can encode) replaced by U+FFFD, one for one so offsets
        stay; warned about once per source, like invalid UTF-8."""
        if not (_SURROGATE_RE.search(doc.text) or _SURROGATE_RE.search(doc.id)):
            return doc
        if not self.warned:
            self.warned = True
            self.stats.replaced += 1
            log.warning(
                "%s:%d: unpaired surrogate escape (invalid Unicode); replaced with U+FFFD",
                self.name,
                lineno,
            )
        return Document(
            _SURROGATE_RE.sub("\ufffd", doc.id), _SURROGATE_RE.sub("\ufffd", doc.text), doc.meta
        )


_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _decode_html(data: bytes, name: str, stats: ReadStats) -> str:
    """UTF-8 first; else the charset the page declares in a <meta>; else UTF-8 with U+FFFD."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET_RE.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return _Utf8(name, stats).decode(data)


# --- HTML -----------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    """address article aside blockquote br dd details dialog div dl dt fieldset figcaption
    figure footer form h1 h2 h3 h4 h5 h6 header hr li main ol p pre section summary table td
    th tr ul""".split()
)
_DROP_TAGS = ("script", "style", "nav", "noscript", "template")
_HIDDEN_TAGS = frozenset((*_DROP_TAGS, "title"))
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_PARAGRAPH_BREAK_RE = re.compile(r"\n\s*\n")
_NON_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_MAX_EXTRACT_DEPTH = 256  # deeper pages: their visible text, without trafilatura
_MAX_EXTRACT_ELEMENTS = 30_000


def html_main_text(html: str) -> str:
    """The main text of a web page, paragraphs joined by blank lines ("" if there is none).

    trafilatura drops menus, footers and other boilerplate (script/style/nav and skip-links
    are removed first). When it finds nothing (tiny, odd or too deeply nested pages) the visible
    text of the page is used instead. Blank lines between paragraphs let the sentence splitter
    see paragraph ends.
    """
    import lxml.etree
    import trafilatura  # heavy import; only HTML input needs it

    # Characters XML cannot hold make lxml raise when it edits the tree; they are invisible
    # (controls) or broken (lone surrogates) anyway.
    html = _SURROGATE_RE.sub("\ufffd", _NON_XML_RE.sub(" ", html))
    root = _parse_html(html)
    if root is not None and _fits_extraction(root):
        _drop_boilerplate(root)
        try:
            extracted = trafilatura.extract(
                root, include_comments=False, include_tables=False, favor_precision=True
            )
        except (ValueError, RecursionError, lxml.etree.LxmlError):
            extracted = None  # odd trees trafilatura cannot walk: use the visible text
        if extracted and extracted.strip():
            return _join_paragraphs(extracted.splitlines())
    return _visible_text(html)


def _parse_html(html: str) -> Any:
    import lxml.etree
    import lxml.html

    # huge_tree: libxml2 otherwise silently drops everything nested deeper than 255 elements.
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        # lxml refuses str input that carries an XML encoding declaration; it is moot here.
        return lxml.html.document_fromstring(_XML_DECL_RE.sub("", html, count=1), parser=parser)
    except (lxml.etree.ParserError, ValueError):
        return None


def _fits_extraction(root: Any) -> bool:
    """Whether trafilatura can take this tree in reasonable time: its cost grows steeply with
    the number of elements and their depth (200,000 empty <p> take it 13 s, 3,000 nested <div>
    7 s), and no real article comes near these limits."""
    import lxml.etree

    depth = elements = 0
    for event, _ in lxml.etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            depth += 1
            elements += 1
            if depth > _MAX_EXTRACT_DEPTH or elements > _MAX_EXTRACT_ELEMENTS:
                return False
        else:
            depth -= 1
    return True


def _drop_boilerplate(root: Any) -> None:
    """Remove script/style/nav and in-page jump links such as "Skip to content".

    trafilatura drops most of these itself, but on short pages it may return a menu or a
    skip-link as the "main text"; the elements' tail text is kept.
    """
    for el in list(root.iter(*_DROP_TAGS)):
        el.drop_tree()
    for link in list(root.iter("a")):
        if link.get("href", "").startswith("#") and "skip" in link.text_content().lower():
            link.drop_tree()


class _VisibleText(HTMLParser):
    """Collects the visible text of a page, block by block, minus script/style/nav/title and
    skip-links. Python's tokenizer keeps no tree, so any nesting depth and any character
    (controls included) is fine, unlike lxml, which gives up past 2,048 levels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # depth inside elements whose text is not shown
        self.link: list[str] | None = None  # text of an in-page link, held until it closes

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and (dict(attrs).get("href") or "").startswith("#"):
            self.link = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag == "a" and self.link is not None:
            text = "".join(self.link)
            if "skip" not in text.lower():
                self.parts.append(text)
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        (self.link if self.link is not None else self.parts).append(data)


def _visible_text(html: str) -> str:
    """Fallback: the visible text of the whole page, by block (see `_VisibleText`)."""
    reader = _VisibleText()
    reader.feed(html)
    reader.close()
    if reader.link is not None:
        reader.parts.extend(reader.link)
    return _join_paragraphs(_PARAGRAPH_BREAK_RE.split("".join(reader.parts)))


def _join_paragraphs(paragraphs: Iterable[str]) -> str:
    cleaned = (" ".join(p.split()) for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)
