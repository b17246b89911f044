"""Fuzzing every reader with hypothesis: bad input ends in an `InputError` (exit 2), never a crash.

Each reader gets arbitrary bytes, arbitrary Unicode with control characters, huge single words,
deeply nested or malformed HTML, JSONL lines with the wrong types, truncated gzip streams and
broken WARC records. What must hold: the reader either yields well-formed Documents or raises
`InputError` with one line naming the file (and line); no other exception, no hang; and where the
right answer is known by construction (which JSONL lines are good), it is exactly that answer.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from unspin.errors import InputError
from unspin.io import ReadStats, html_main_text, read_path
from unspin.io.corpus import read_corpus, read_parquet, read_warc
from unspin.types import Document

# Few examples each: the whole fuzz set must stay quick on a shared 2-core machine.
FUZZ = settings(
    max_examples=int(os.environ.get("UNSPIN_FUZZ_EXAMPLES", 40)),  # more: a deeper run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MB = 1_000_000

# Unicode with everything a file can hold: controls, format characters, private use, emoji;
# only lone surrogates are left out (UTF-8 cannot encode them, so no file contains them).
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
CONTROL_TEXT = st.text(
    st.sampled_from(["\x00", "\x01", "\x07", "\x0b", "\x0c", "\r", "\x1b", "\x7f", "\x85",
                     "\u2028", "\u2029", "\u200b", "\ufeff", "\ufffd", " ", "a", "é", "\n"]),
    max_size=200,
)  # fmt: skip


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """One folder for the module: hypothesis examples rewrite files in it."""
    with tempfile.TemporaryDirectory(prefix="unspin-fuzz-") as d:
        yield Path(d)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def read_or_error(read: object, *args: object, **kwargs: object) -> list[Document] | InputError:
    """Run a reader to the end: its documents, or the InputError it raised (anything else fails).

    Every document must be well formed and every error one line naming where it happened.
    """
    started = time.monotonic()
    try:
        docs = list(read(*args, **kwargs))  # type: ignore[operator]
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)
        assert exc.path, f"the error names no file: {exc}"
        assert time.monotonic() - started < 60, "reader took too long"
        return exc
    assert time.monotonic() - started < 60, "reader took too long"
    for doc in docs:
        assert isinstance(doc, Document)
        assert isinstance(doc.id, str) and doc.id
        assert isinstance(doc.text, str)
        json.dumps(doc.meta)  # meta stays JSON-ready
    return docs


# --------------------------------------------------------------------------- .txt and stdin


@FUZZ
@given(data=st.binary(max_size=2000))
def test_txt_with_arbitrary_bytes(scratch: Path, data: bytes) -> None:
    got = read_or_error(read_path, write(scratch, "any.txt", data))
    if isinstance(got, InputError):
        assert not data.strip() or b"\0" in data[:8192]  # only empty or binary files fail
    else:
        (doc,) = got
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        assert doc.text == data.decode("utf-8", errors="replace")


@FUZZ
@given(text=st.one_of(ANY_TEXT, CONTROL_TEXT))
def test_txt_keeps_any_unicode_exactly(scratch: Path, text: str) -> None:
    got = read_or_error(read_path, write(scratch, "u.txt", text.encode("utf-8")))
    if isinstance(got, InputError):
        assert not text.encode().strip() or "\0" in text
    else:
        assert got[0].text == text.removeprefix("\ufeff")


def test_a_one_megabyte_word_reads_whole(tmp_path: Path) -> None:
    word = "supercalifragilistic" * (MB // 20)
    for name, data in (
        ("word.txt", word.encode()),
        ("word.jsonl", json.dumps({"id": "w", "text": word}).encode() + b"\n"),
        ("word.jsonl.gz", gzip.compress(json.dumps({"id": "w", "text": word}).encode())),
        ("word.html", f"<html><body><p>{word}</p></body></html>".encode()),
    ):
        (doc,) = read_or_error(read_path, write(tmp_path, name, data))
        assert doc.text == word, name


def _fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@FUZZ
@given(data=st.one_of(st.binary(max_size=1000), ANY_TEXT.map(lambda t: ("{" + t).encode())))
def test_stdin_with_arbitrary_bytes(data: bytes) -> None:
    with pytest.MonkeyPatch.context() as mp:
        _fake_stdin(mp, data)
        got = read_or_error(read_path, "-", on_error="skip")
    if isinstance(got, InputError):
        assert got.path == "stdin"


# --------------------------------------------------------------------------- JSONL


@dataclass(frozen=True)
class Line:
    """One generated JSONL line and what the reader must make of it."""

    raw: bytes
    good: bool  # a usable {"id", "text"} record
    doc_id: str | None = None  # expected id ("" = the default FILE:LINE id)
    text: str | None = None


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(ANY_TEXT, inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def good_line(draw: st.DrawFn) -> Line:
    text = draw(st.one_of(ANY_TEXT, CONTROL_TEXT))
    raw_id = draw(st.one_of(st.none(), st.just(""), ANY_TEXT, st.integers()))
    record: dict[str, object] = {"text": text}
    if draw(st.booleans()) or raw_id is not None:
        record["id"] = raw_id
    for key, value in draw(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=3)).items():
        if key not in ("id", "text"):
            record[key] = value
    keys = list(record)
    order = draw(st.permutations(keys))
    line = json.dumps({k: record[k] for k in order}, ensure_ascii=draw(st.booleans()))
    expected_id = "" if raw_id in (None, "") else str(raw_id)
    return Line(line.encode("utf-8"), True, expected_id, text)


@st.composite
def bad_line(draw: st.DrawFn) -> Line:
    kind = draw(st.sampled_from(["truncated", "not-object", "no-text", "text-type", "id-type",
                                 "garbage", "deep"]))  # fmt: skip
    if kind == "truncated":  # a proper prefix of a JSON object is never valid JSON
        whole = draw(good_line()).raw
        raw = whole[: draw(st.integers(1, len(whole) - 1))]
        assume(raw.strip())
        return Line(raw, False)
    if kind == "not-object":
        value = draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict)))
        return Line(json.dumps(value).encode(), False)
    if kind == "no-text":
        record = draw(st.dictionaries(ANY_TEXT.filter(lambda k: k != "text"), JSON_VALUES))
        return Line(json.dumps(record).encode(), False)
    if kind == "text-type":
        text = draw(JSON_VALUES.filter(lambda v: not isinstance(v, str)))
        return Line(json.dumps({"id": "x", "text": text}).encode(), False)
    if kind == "id-type":
        bad_id = draw(
            st.one_of(
                st.booleans(),
                st.floats(allow_nan=False),
                st.lists(st.integers(), max_size=2),
                st.dictionaries(ANY_TEXT, st.integers(), max_size=2),
            )
        )
        return Line(json.dumps({"id": bad_id, "text": "some text"}).encode(), False)
    if kind == "deep":
        depth = draw(st.integers(1000, 100_000))
        return Line(b'{"text": ' + b"[" * depth + b"]" * depth + b"}", False)
    # (no NUL: a NUL byte makes the whole file binary, a file-level error tested apart)
    garbage = draw(ANY_TEXT.filter(lambda t: t.strip() and not set(t) & {"\n", "\r", "\0"}))
    try:
        json.loads(garbage)
    except (ValueError, RecursionError):
        return Line(garbage.encode(), False)
    return Line(b"not json: " + garbage.encode(), False)


LINES = st.lists(
    st.one_of(good_line(), good_line(), bad_line(), st.just(Line(b"   ", True))),
    min_size=1,
    max_size=12,
)


def _jsonl_bytes(lines: list[Line]) -> bytes:
    return b"".join(line.raw + b"\n" for line in lines)


def _expected(lines: list[Line], stem: str) -> tuple[list[tuple[str, str]], int, int | None]:
    """(id, text) of the good records, how many bad lines, and the line number of the first."""
    docs, bad, first_bad = [], 0, None
    for n, line in enumerate(lines, start=1):
        if line.doc_id is None and line.good:  # a blank line
            continue
        if not line.good:
            bad += 1
            first_bad = first_bad or n
            continue
        docs.append((line.doc_id or f"{stem}:{n}", line.text))
    return docs, bad, first_bad


def _has_content(lines: list[Line]) -> bool:
    return any(line.raw.strip() for line in lines)


@FUZZ
@given(lines=LINES, gz=st.booleans())
def test_jsonl_good_and_bad_lines(scratch: Path, lines: list[Line], gz: bool) -> None:
    name = "mix.jsonl.gz" if gz else "mix.jsonl"
    data = _jsonl_bytes(lines)
    path = write(scratch, name, gzip.compress(data) if gz else data)
    docs, bad, first_bad = _expected(lines, name)

    # on_error="skip": exactly the good records, in order; every bad line counted.
    stats = ReadStats()
    got = read_or_error(read_path, path, on_error="skip", stats=stats)
    if not _has_content(lines):
        assert isinstance(got, InputError) and "empty" in str(got)
        return
    assert not isinstance(got, InputError), got
    assert [(d.id, d.text) for d in got] == docs
    assert stats.skipped == bad and stats.read == len(docs)

    # on_error="raise": the good records before the first bad line, then an error naming it.
    got = read_or_error(read_path, path)
    if first_bad is None:
        assert [(d.id, d.text) for d in got] == docs  # type: ignore[union-attr]
    else:
        assert isinstance(got, InputError)
        assert got.line == first_bad and str(got).startswith(f"{path}:{first_bad}: ")


@FUZZ
@given(lines=st.lists(good_line(), min_size=1, max_size=8), cut=st.floats(0.0, 1.0))
def test_truncated_gzip_gives_a_prefix_then_an_error(
    scratch: Path, lines: list[Line], cut: float
) -> None:
    data = gzip.compress(_jsonl_bytes(lines))
    path = write(scratch, "cut.jsonl.gz", data[: int(len(data) * cut)])
    whole = [(d or f"cut.jsonl.gz:{n}", t) for n, (d, t) in
             enumerate(((x.doc_id, x.text) for x in lines), start=1)]  # fmt: skip
    read: list[Document] = []
    try:
        for doc in read_path(path, on_error="skip"):
            read.append(doc)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
    else:
        assert cut == 1.0 or len(data) - int(len(data) * cut) == 0
    assert [(d.id, d.text) for d in read] == whole[: len(read)]  # never a wrong document


@FUZZ
@given(junk=st.binary(min_size=1, max_size=600), gz=st.booleans())
def test_jsonl_of_random_bytes(scratch: Path, junk: bytes, gz: bool) -> None:
    name = "junk.jsonl.gz" if gz else "junk.jsonl"
    for on_error in ("raise", "skip"):
        read_or_error(read_path, write(scratch, name, junk), on_error=on_error)
    if gz:
        read_or_error(read_path, write(scratch, name, b"\x1f\x8b" + junk), on_error="skip")


def test_invalid_utf8_in_jsonl_warns_once_and_keeps_the_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [b'{"id": "a", "text": "caf\xe9 ok"}', b'{"id": "b", "text": "\xff\xfe bad"}']
    path = write(tmp_path, "latin.jsonl", b"\n".join(lines) + b"\n")
    with caplog.at_level(logging.WARNING, logger="unspin.io"):
        docs = read_or_error(read_path, path)
    assert [d.text for d in docs] == ["caf\ufffd ok", "\ufffd\ufffd bad"]  # type: ignore[union-attr]
    assert len([r for r in caplog.records if "invalid UTF-8" in r.getMessage()]) == 1


@FUZZ
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_jsonl_surrogate_escapes_become_replacement_characters(
    scratch: Path, texts: list[str]
) -> None:
    # JSON can escape lone surrogates ("\\ud800"); no UTF-8 writer could encode them back.
    lines = [json.dumps({"id": f"{t[:3]}-{k}", "text": t}) for k, t in enumerate(texts)]
    path = write(scratch, "sur.jsonl", "\n".join(lines).encode("ascii"))
    stats = ReadStats()
    docs = read_or_error(read_path, path, stats=stats)
    fixed = [t.encode("utf-16", "surrogatepass").decode("utf-16", "replace") for t in texts]
    assert [d.text for d in docs] == fixed  # type: ignore[union-attr]
    for doc in docs:  # type: ignore[union-attr]
        doc.id.encode("utf-8")
        doc.text.encode("utf-8")  # what a writer will do with it
    assert stats.replaced == (fixed != texts or any(
        d.id != f"{t[:3]}-{k}" for k, (d, t) in enumerate(zip(docs, texts, strict=True))
    ))  # fmt: skip


# --------------------------------------------------------------------------- HTML

TAGS = """div p span b i table tr td ul li script style a article main nav h1 pre template svg
math iframe br""".split()


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    """Tag soup: random tags opened and closed in any order, attributes, text, comments."""
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 6))
        tag = draw(st.sampled_from(TAGS))
        if kind == 0:
            attr = draw(st.sampled_from(['', ' class="x"', ' href="#main"', " onload=alert(1)",
                                         ' style="a', " x=<>"]))  # fmt: skip
            parts.append(f"<{tag}{attr}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(draw(st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "<?xml?>",
                                               "<!DOCTYPE html>", "&amp;", "&#0;", "&#xD800;",
                                               "&bogus;", "<", ">", "</", "/>"])))  # fmt: skip
        else:
            parts.append(draw(st.one_of(ANY_TEXT, CONTROL_TEXT)))
    return "".join(parts)


@FUZZ
@given(html=html_soup())
def test_malformed_html_never_crashes(scratch: Path, html: str) -> None:
    assert isinstance(html_main_text(html), str)
    got = read_or_error(read_path, write(scratch, "soup.html", html.encode()))
    if isinstance(got, InputError):
        return
    assert got[0].text.strip()


@pytest.mark.parametrize("depth", [300, 3000, 100_000])
def test_deeply_nested_html_keeps_its_text(tmp_path: Path, depth: int) -> None:
    sentence = "The harbour reopened on Monday after a long winter of repairs to the quay."
    html = "<html><body>" + "<div>" * depth + f"<p>{sentence}</p>" + "</div>" * depth
    started = time.monotonic()
    (doc,) = read_or_error(read_path, write(tmp_path, "deep.html", html.encode()))
    assert sentence in doc.text
    assert time.monotonic() - started < 30


def test_deeply_nested_inline_tags_and_unclosed_tags(tmp_path: Path) -> None:
    words = "Readers wrote in to say the new bridge looks fine."
    for html in (
        "<b><i>" * 50_000 + words,
        "<p>" * 100_000 + words,
        "<table>" + "<tr><td>" * 20_000 + words,
    ):
        assert "new bridge" in html_main_text(html)


# --------------------------------------------------------------------------- WARC


def _warc_bytes(pages: list[tuple[str, bytes]], gz: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gz)
    for k, (uri, body) in enumerate(pages):
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        # Fixed ids and dates: the same pages give the same bytes (hypothesis replays them).
        fixed = {"WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-{k:012d}>",
                 "WARC-Date": "2024-06-01T08:30:00Z"}  # fmt: skip
        rec = writer.create_warc_record(
            uri, "response", payload=io.BytesIO(body), http_headers=headers,
            warc_headers_dict=fixed,
        )  # fmt: skip
        writer.write_record(rec)
    return out.getvalue()


PAGE = (
    b"<html><body><article><p>The ferry to Inchmore runs again from Saturday after engineers "
    b"replaced a damaged propeller on the MV Osprey.</p></article></body></html>"
)
WARC_PAGES = st.lists(
    st.tuples(
        st.sampled_from(["https://a.example/x", "https://b.example/y", "urn:z"]),
        st.one_of(st.just(PAGE), html_soup().map(lambda h: h.encode()), st.binary(max_size=200)),
    ),
    min_size=1,
    max_size=4,
)


@FUZZ
@given(pages=WARC_PAGES, gz=st.booleans(), data=st.data())
def test_broken_warc_records(scratch: Path, pages: list, gz: bool, data: st.DataObject) -> None:
    whole = _warc_bytes(pages, gz)
    mutation = data.draw(st.sampled_from(["none", "truncate", "flip", "insert", "append"]))
    blob = bytearray(whole)
    if mutation == "truncate":
        blob = blob[: data.draw(st.integers(1, len(blob) - 1))]
    elif mutation == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(blob) - 1))
            blob[at] ^= data.draw(st.integers(1, 255))
    elif mutation == "insert":
        at = data.draw(st.integers(0, len(blob)))
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=50))
    elif mutation == "append":
        blob += data.draw(st.binary(min_size=1, max_size=50))
    path = write(scratch, "crawl.warc.gz" if gz else "crawl.warc", bytes(blob))
    got = read_or_error(read_warc, path)
    if mutation == "none":
        assert not isinstance(got, InputError), got
        assert len(got) <= len(pages)
    # Through read_corpus (what index and dedup use) the answer is the same.
    again = read_or_error(lambda: read_corpus([path]))
    assert type(again) is type(got)


@FUZZ
@given(junk=st.binary(min_size=1, max_size=800), gz=st.booleans())
def test_warc_of_random_bytes(scratch: Path, junk: bytes, gz: bool) -> None:
    if gz:
        junk = gzip.compress(junk)
    read_or_error(read_warc, write(scratch, "junk.warc.gz" if gz else "junk.warc", junk))


# --------------------------------------------------------------------------- Parquet


@FUZZ
@given(junk=st.binary(min_size=1, max_size=800))
def test_parquet_of_random_bytes(scratch: Path, junk: bytes) -> None:
    got = read_or_error(read_parquet, write(scratch, "junk.parquet", b"PAR1" + junk + b"PAR1"))
    assert isinstance(got, InputError)


COLUMN_VALUES = st.one_of(
    st.lists(st.one_of(st.none(), ANY_TEXT), min_size=1, max_size=5),
    st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), min_size=1, max_size=5),
    st.lists(st.one_of(st.none(), st.binary(max_size=20)), min_size=1, max_size=5),
    st.lists(st.lists(st.integers(0, 9), max_size=3), min_size=1, max_size=5),
    st.lists(st.booleans(), min_size=1, max_size=5),
)


@FUZZ
@given(text=COLUMN_VALUES, ids=COLUMN_VALUES)
def test_parquet_columns_of_any_type(scratch: Path, text: list, ids: list) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = min(len(text), len(ids))
    path = scratch / "typed.parquet"
    pq.write_table(pa.table({"id": ids[:n], "text": text[:n]}), path)
    got = read_or_error(read_corpus, [path])
    if not isinstance(got, InputError):
        assert [d.text for d in got] == [t for t in text[:n] if t is not None]
        assert len({d.id for d in got}) == len(got) or len(set(map(str, ids[:n]))) < n


def test_empty_and_unreadable_corpus_files(tmp_path: Path) -> None:
    for name in ("e.parquet", "e.warc", "e.warc.gz", "e.jsonl", "e.jsonl.gz", "e.txt", "e.html"):
        got = read_or_error(read_corpus, [write(tmp_path, name, b"")])
        assert isinstance(got, InputError) and "empty" in str(got), name
    if os.geteuid() != 0:  # root reads anything
        locked = write(tmp_path, "locked.jsonl", b'{"text": "x"}\n')
        locked.chmod(0)
        assert isinstance(read_or_error(read_corpus, [locked]), InputError)
