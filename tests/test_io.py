"""Tests for the document readers (unspin.io)."""

from __future__ import annotations

import gzip
import io
import json
import logging
import sys
from pathlib import Path

import pytest

from unspin.errors import InputError
from unspin.io import ReadStats, html_main_text, read_documents, read_path
from unspin.types import Document

ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Harbour plan</title>
<style>body { color: red; }</style><script>var tracking = "hidden script text";</script></head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News desk</a></li>
<li><a href="/sport">Sport pages</a></li></ul></nav>
<main id="main"><article>
<h1>Town approves a new plan for the old harbour</h1>
<p>The town council approved a long-awaited plan on Monday to turn the old harbour into a
public park with walking paths and a small market.</p>
<p>Supporters said the decision would bring visitors back to a part of town that has been
quiet since the fishing fleet moved away two decades ago.</p>
<p>Opponents warned that the budget of 4.2 million pounds was too optimistic and that repairs
to the sea wall had been left out of the estimate.</p>
<p>The first stage of the work is expected to begin next spring, once the remaining boat
owners have been offered berths further along the coast.</p>
</article></main>
<footer><p>Copyright 2024 The Example Gazette. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer>
</body></html>
"""


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def jsonl(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def read_all(path: Path | str, **kwargs: object) -> list[Document]:
    return list(read_path(path, **kwargs))  # type: ignore[arg-type]


def raises_input_error(path: Path | str, **kwargs: object) -> InputError:
    with pytest.raises(InputError) as info:
        read_all(path, **kwargs)
    assert "\n" not in str(info.value)  # one line, for the CLI
    return info.value


# --- .txt -----------------------------------------------------------------------------------


def test_txt_is_one_document_with_the_exact_text(tmp_path: Path) -> None:
    text = "Rain closed the road.\r\nCrews worked all night.\n\nIt reopened at 6.\n"
    path = write(tmp_path / "story.txt", text)
    (doc,) = read_all(path)
    assert doc.id == "story.txt"
    assert doc.text == text
    assert doc.meta["path"] == str(path)
    assert doc.meta["format"] == "txt"


def test_txt_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.txt", b"\xef\xbb\xbfHello there.")
    assert read_all(path)[0].text == "Hello there."


def test_invalid_utf8_is_replaced_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = "Caf\xe9 prices rose, the \xe9lite said.".encode("latin-1")
    path = write(tmp_path / "latin.txt", data)
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="unspin.io"):
        (doc,) = read_all(path, stats=stats)
    assert doc.text == "Caf\ufffd prices rose, the \ufffdlite said."
    warnings = [r for r in caplog.records if "invalid UTF-8" in r.getMessage()]
    assert len(warnings) == 1
    assert "latin.txt" in warnings[0].getMessage()
    assert stats.replaced == 1


# --- errors common to all files ------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    err = raises_input_error(tmp_path / "nope.txt")
    assert err.path == str(tmp_path / "nope.txt")
    assert "no such file" in str(err)


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "docs.txt"
    folder.mkdir()
    assert "directory" in str(raises_input_error(folder))


@pytest.mark.parametrize("name", ["a.txt", "a.html", "a.jsonl", "a.jsonl.gz"])
def test_zero_byte_file(tmp_path: Path, name: str) -> None:
    err = raises_input_error(write(tmp_path / name, b""))
    assert "empty" in str(err) and name in str(err)


@pytest.mark.parametrize("name", ["a.txt", "a.htm", "a.jsonl"])
def test_whitespace_only_file(tmp_path: Path, name: str) -> None:
    err = raises_input_error(write(tmp_path / name, " \n\t\n\n"))
    assert "empty" in str(err)


def test_whitespace_only_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "a.jsonl.gz", gzip.compress(b"\n\n  \n"))
    assert "empty" in str(raises_input_error(path))


@pytest.mark.parametrize("name", ["pic.txt", "page.html", "rows.jsonl"])
def test_binary_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    err = raises_input_error(path)
    assert "binary" in str(err) and name in str(err)


@pytest.mark.parametrize("name", ["notes.md", "data.csv", "README"])
def test_unknown_extension(tmp_path: Path, name: str) -> None:
    err = raises_input_error(write(tmp_path / name, "Some words."))
    assert "unknown file type" in str(err) and name in str(err)


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    assert read_all(write(tmp_path / "LOUD.TXT", "Quiet please."))[0].text == "Quiet please."


def test_on_error_must_be_known(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        read_all(write(tmp_path / "a.txt", "x"), on_error="ignore")


# --- .html ----------------------------------------------------------------------------------


def test_html_main_text_drops_boilerplate(tmp_path: Path) -> None:
    (doc,) = read_all(write(tmp_path / "page.html", ARTICLE))
    assert doc.id == "page.html"
    assert doc.meta == {"path": str(tmp_path / "page.html"), "format": "html"}
    assert "The town council approved a long-awaited plan on Monday" in doc.text
    assert "further along the coast." in doc.text
    for boilerplate in ("Skip to content", "News desk", "hidden script", "color: red", "Privacy"):
        assert boilerplate not in doc.text
    # Paragraphs are separated by blank lines and their inner line breaks collapsed.
    paragraphs = doc.text.split("\n\n")
    supporters = [p for p in paragraphs if p.startswith("Supporters said")]
    assert len(supporters) == 1 and supporters[0].endswith("two decades ago.")
    assert all("\n" not in p for p in paragraphs)


def test_html_fallback_when_extraction_finds_nothing() -> None:
    # trafilatura finds no main text in a bare list; the <body> fallback keeps it, by block.
    html = """<html><head><style>li { color: red }</style></head><body>
    <a href="#content">Skip to main content</a>
    <nav><a href="/">Home</a> <a href="/about">About</a></nav><script>alert("hi")</script>
    <ul><li>Short note.</li><li>Back at <b>noon</b>.</li></ul></body></html>"""
    assert html_main_text(html) == "Short note.\n\nBack at noon."


def test_html_without_text_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.html", "<html><body><script>x = 1;</script></body></html>")
    assert "no text" in str(raises_input_error(path))


def test_html_declared_charset_is_honoured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    html = (
        '<html><head><meta charset="iso-8859-1"></head><body><p>Un caf\xe9 noir.</p></body></html>'
    )
    path = write(tmp_path / "fr.htm", html.encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="unspin.io"):
        (doc,) = read_all(path)
    assert doc.text == "Un café noir."
    assert not caplog.records


# --- .jsonl and .jsonl.gz -------------------------------------------------------------------


def test_jsonl_ids_text_and_meta(tmp_path: Path) -> None:
    content = (
        jsonl({"id": "a-1", "text": "First story.", "source": "wire", "year": 2021})
        + "\n   \n"
        + jsonl({"id": 7, "text": "Second story."}, {"text": "No id here."})
        + jsonl({"id": None, "text": ""})
    )
    path = write(tmp_path / "batch.jsonl", content)
    docs = read_all(path)
    assert [d.id for d in docs] == ["a-1", "7", "batch.jsonl:5", "batch.jsonl:6"]
    assert [d.text for d in docs] == ["First story.", "Second story.", "No id here.", ""]
    assert docs[0].meta == {
        "source": "wire",
        "year": 2021,
        "path": str(path),
        "line": 1,
        "format": "jsonl",
    }
    assert docs[1].meta["line"] == 4


def test_jsonl_gz_is_read_the_same(tmp_path: Path) -> None:
    content = jsonl({"id": "x", "text": "Zipped text."}, {"text": "More zipped text."})
    path = write(tmp_path / "batch.jsonl.gz", gzip.compress(content.encode()))
    docs = read_all(path)
    assert [(d.id, d.text) for d in docs] == [
        ("x", "Zipped text."),
        ("batch.jsonl.gz:2", "More zipped text."),
    ]
    assert docs[0].meta["format"] == "jsonl.gz"


BAD_LINES = [
    ('{"id": 1, "text": "unterminated', "invalid JSON"),
    ('["a", "list"]', "expected a JSON object"),
    ('{"id": 2}', 'missing "text"'),
    ('{"id": 3, "text": 42}', '"text" must be a string'),
    ('{"id": 4, "text": null}', '"text" must be a string'),
    ('{"id": [4], "text": "ok"}', '"id" must be a string or an integer'),
    ('{"id": true, "text": "ok"}', '"id" must be a string or an integer'),
    ("[" * 100_000, "invalid JSON"),
    ('{"id": ' + "7" * 5000 + ', "text": "ok"}', "invalid JSON (Exceeds the limit"),
    ('{"id": 5, "text": "a\tb"}', "invalid JSON (Invalid control character at column 21)"),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES)
def test_malformed_line_raises_with_path_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = write(tmp_path / "bad.jsonl", jsonl({"text": "Fine line."}) + "\n" + line + "\n")
    err = raises_input_error(path)
    assert (err.path, err.line) == (str(path), 3)
    assert str(err).startswith(f"{path}:3: ")
    assert reason in str(err)


def test_malformed_lines_can_be_skipped_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [jsonl({"text": "Kept one."}).strip()] + [line for line, _ in BAD_LINES[:3]]
    lines.append(jsonl({"text": "Kept two."}).strip())
    path = write(tmp_path / "mixed.jsonl", "\n".join(lines) + "\n")
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="unspin.io"):
        docs = read_all(path, on_error="skip", stats=stats)
    assert [d.text for d in docs] == ["Kept one.", "Kept two."]
    assert (stats.read, stats.skipped, stats.sources) == (2, 3, 1)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert messages[0].startswith(f"{path}:2: skipped: invalid JSON")
    assert all("\n" not in m for m in messages)


def test_jsonl_streams_documents_before_a_later_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path / "late.jsonl", jsonl({"text": "Early."}) * 3 + "oops\n")
    docs = read_path(path)
    assert [next(docs).text for _ in range(3)] == ["Early."] * 3
    with pytest.raises(InputError) as info:
        next(docs)
    assert info.value.line == 4


def test_jsonl_invalid_utf8_warns_once_per_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = b'{"text": "caf\xe9"}\n'
    path = write(tmp_path / "enc.jsonl", bad + b'{"text": "fine"}\n' + bad)
    stats = ReadStats()
    with caplog.at_level(logging.WARNING, logger="unspin.io"):
        docs = read_all(path, stats=stats)
    assert [d.text for d in docs] == ["caf\ufffd", "fine", "caf\ufffd"]
    assert len(caplog.records) == 1 and "enc.jsonl" in caplog.records[0].getMessage()
    assert stats.replaced == 1


def test_truncated_gzip_names_path_and_line(tmp_path: Path) -> None:
    records = [{"id": i, "text": f"Story number {i} about the river."} for i in range(3000)]
    content = jsonl(*records)
    packed = gzip.compress(content.encode())
    path = write(tmp_path / "cut.jsonl.gz", packed[: len(packed) // 2])
    docs = read_path(path)
    first = next(docs)
    assert first.id == "0"
    with pytest.raises(InputError) as info:
        list(docs)
    err = info.value
    assert err.path == str(path) and err.line is not None and err.line > 1
    assert "truncated or corrupt gzip" in str(err)


def test_corrupt_gzip(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress(jsonl({"text": "Some text to pack."}).encode() * 50))
    packed[20:40] = b"\xff" * 20
    err = raises_input_error(write(tmp_path / "bad.jsonl.gz", bytes(packed)))
    assert "gzip" in str(err)


def test_not_a_gzip_file(tmp_path: Path) -> None:
    path = write(tmp_path / "plain.jsonl.gz", jsonl({"text": "Not packed."}))
    assert "not a gzip file" in str(raises_input_error(path))


# --- stdin and several paths ----------------------------------------------------------------


def fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_stdin_text(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Piped in text.\nSecond line.\n"
    fake_stdin(monkeypatch, text.encode())
    (doc,) = read_all("-")
    assert (doc.id, doc.text, doc.meta["path"]) == ("stdin", text, "-")


def test_stdin_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, b"\n" + jsonl({"id": "p", "text": "One."}, {"text": "Two."}).encode())
    docs = read_all("-")
    assert [(d.id, d.text, d.meta["line"]) for d in docs] == [
        ("p", "One.", 2),
        ("stdin:3", "Two.", 3),
    ]


def test_stdin_without_byte_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Plain string stream."))
    assert read_all("-")[0].text == "Plain string stream."


def test_stdin_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_stdin(monkeypatch, b"  \n")
    assert "empty" in str(raises_input_error("-"))


def test_read_documents_chains_paths_and_shares_stats(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "Alpha text.")
    b = write(tmp_path / "b.jsonl", jsonl({"text": "Beta."}) + "junk\n" + jsonl({"text": "Gamma."}))
    stats = ReadStats()
    docs = list(read_documents([a, str(b)], on_error="skip", stats=stats))
    assert [d.id for d in docs] == ["a.txt", "b.jsonl:1", "b.jsonl:3"]
    assert stats == ReadStats(read=3, skipped=1, sources=2, replaced=0)
