"""Tests for the corpus readers: Parquet, WARC, folders, and their mix in read_corpus."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path

import pytest

from unspin.errors import InputError
from unspin.io import ReadStats
from unspin.io.corpus import corpus_files, read_corpus, read_parquet, read_warc

PAGE = """<html><head><title>Ferry news</title><script>var x = "tracking code";</script></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Ferry service to Inchmore resumes</h1>
<p>The ferry between Carrow and the island of Inchmore will run again from Saturday, the
operator said, after engineers replaced a damaged propeller on the MV Osprey.</p>
<p>Islanders had relied on a small fishing boat for supplies during the three weeks the ferry
was out of service, and the local school had moved its lessons online.</p>
<p>The operator promised an extra evening crossing on Fridays until the end of the summer to
clear the backlog of freight and visitors waiting on the mainland.</p></article>
<footer>Copyright 2024 Island Times</footer></body></html>"""


# --------------------------------------------------------------------------- parquet


def test_parquet_rows_become_documents(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "docs.parquet"
    table = pa.table(
        {
            "id": ["p1", None, "p3"],
            "text": ["First story text.", "Second story text.", None],
            "date": [dt.date(2021, 3, 4), dt.date(2021, 3, 5), None],
            "outlet": ["Gazette", "Courier", "Herald"],
        }
    )
    pq.write_table(table, path, row_group_size=1)
    stats = ReadStats()
    docs = list(read_parquet(path, stats=stats))
    assert [d.id for d in docs] == ["p1", "docs.parquet:2"]  # a row without text is skipped,
    assert stats.skipped == 1  # and counted
    assert docs[0].text == "First story text."
    assert docs[0].meta["date"] == "2021-03-04" and docs[1].meta["outlet"] == "Courier"
    assert docs[0].meta["format"] == "parquet" and docs[1].meta["line"] == 2
    json.dumps(docs[0].meta)  # meta stays JSON-ready


def test_parquet_without_rows_is_an_empty_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "none.parquet"
    empty = pa.array([], pa.string())
    pq.write_table(pa.table({"id": empty, "text": empty}), path)
    with pytest.raises(InputError, match="empty file"):
        list(read_corpus([path]))


def test_parquet_without_text_column_or_not_parquet(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), path)
    with pytest.raises(InputError, match='no "text" column'):
        list(read_parquet(path))
    fake = tmp_path / "fake.parquet"
    fake.write_text("this is not parquet")
    with pytest.raises(InputError, match="not a Parquet file"):
        list(read_corpus([fake]))


# --------------------------------------------------------------------------- warc


def _warc(path: Path, gz: bool) -> None:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gz)

        def response(uri: str, ctype: str, body: bytes) -> None:
            headers = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            rec = writer.create_warc_record(
                uri, "response", payload=io.BytesIO(body), http_headers=headers,
                warc_headers_dict={"WARC-Date": "2024-06-01T08:30:00Z"},
            )  # fmt: skip
            writer.write_record(rec)

        response("https://example.org/ferry", "text/html; charset=utf-8", PAGE.encode())
        response("https://example.org/logo.png", "image/png", b"\x89PNG\r\n\x1a\n....")
        request = io.BytesIO(b"GET /ferry HTTP/1.1\r\n\r\n")
        req = writer.create_warc_record("https://example.org/ferry", "request", payload=request)
        writer.write_record(req)
        response("https://example.org/empty", "text/html", b"<html><body></body></html>")


@pytest.mark.parametrize("gz", [False, True])
def test_warc_html_responses_become_main_text(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    _warc(path, gz)
    stats = ReadStats()
    docs = list(read_warc(path, stats=stats))
    assert [d.id for d in docs] == ["https://example.org/ferry"]
    assert stats.skipped == 1  # the page with no main text; the image and request are no pages
    text = docs[0].text
    assert "MV Osprey" in text and "extra evening crossing" in text
    assert "tracking code" not in text and "Home" not in text
    assert docs[0].meta["date"] == "2024-06-01T08:30:00Z"
    stats = ReadStats()
    assert len(list(read_corpus([path], stats=stats))) == 1 and stats.read == 1


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("keep", [0.33, 0.5, 0.8])
def test_truncated_warc_is_bad_input(tmp_path: Path, gz: bool, keep: float) -> None:
    path = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    _warc(path, gz)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(InputError, match="truncated or corrupt"):
        list(read_corpus([path]))


@pytest.mark.parametrize("gz", [False, True])
def test_text_named_warc_is_bad_input(tmp_path: Path, gz: bool) -> None:
    """warcio reads a text file as a legacy ARC record (and found no response in it): it is
    not a WARC file, and no crawl to find nothing in."""
    path = tmp_path / ("notes.warc.gz" if gz else "notes.warc")
    text = b"The ferry timetable changes on Monday.\nTwo evening crossings are added.\n"
    path.write_bytes(gzip.compress(text) if gz else text)
    with pytest.raises(InputError, match="not a WARC file"):
        list(read_corpus([path]))


# --------------------------------------------------------------------------- folders


def test_folders_are_read_recursively_in_a_fixed_order(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / "z.txt").write_text("Top level story about the harbour.")
    (root / "a" / "index.html").write_text(PAGE)
    (root / "b" / "index.html").write_text(PAGE.replace("Inchmore", "Skerray"))
    (root / "b" / "deep" / "note.txt").write_text("A short note on the council budget.")
    (root / "b" / "image.png").write_bytes(b"\x89PNG")
    (root / ".hidden.txt").write_text("never read")
    with gzip.open(root / "b" / "more.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({"id": "j1", "text": "A story from a JSONL file."}) + "\n")
    docs = list(read_corpus([root]))
    ids = [d.id for d in docs]
    assert ids == ["a/index.html", "b/deep/note.txt", "b/index.html", "j1", "z.txt"]
    assert "Skerray" in docs[2].text and "Inchmore" in docs[0].text
    assert [p.name for p in corpus_files(root)][0] == "index.html"


def test_empty_folder_and_mixed_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no .txt"):
        list(read_corpus([empty]))
    single = tmp_path / "one.txt"
    single.write_text("One text file.")
    lines = tmp_path / "two.jsonl"
    lines.write_text('{"id": "x", "text": "Line one."}\n{"id": "y", "text": "Line two."}\n')
    assert [d.id for d in read_corpus([single, lines])] == ["one.txt", "x", "y"]
    with pytest.raises(InputError, match="no such file"):
        list(read_corpus([tmp_path / "missing.parquet"]))
