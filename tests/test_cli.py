"""The command line: exit codes, one-line errors, output formats, resume, and the examples.

Most tests run the real `main()` in-process with a stand-in scanner, so they check the CLI's own
plumbing without the trained model; the end-to-end tests at the bottom need the shipped model
and are skipped until it exists.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

import pytest

from unspin import cli
from unspin.cli import main
from unspin.types import Document, Flag, ScanResult

CONTRACT_KEYS = [
    "id",
    "spin_probability",
    "verdict",
    "reason",
    "language",
    "words",
    "flags",
    "restored",
    "evidence",
    "source_id",
]
FLAG_KEYS = ["start", "end", "text", "probability", "suggestion", "alternatives"]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MODEL = Path(str(resources.files("unspin") / "data" / "model.pkl"))
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not built yet")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `unspin ARGS...` in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


def _fake_scan(text: str, doc_id: str) -> ScanResult:
    """A stand-in result: the first word is flagged and 'restored' in upper case."""
    words = text.split()
    if len(words) < 3:
        return ScanResult(doc_id, None, "abstain", "too short", "en", len(words), [], text)
    first = words[0]
    start = text.index(first)
    flag = Flag(start, start + len(first), first, 0.91, first.upper(), [first.upper()])
    restored = text[:start] + first.upper() + text[start + len(first) :]
    return ScanResult(doc_id, 0.8, "spun", None, "en", len(words), [flag], restored)


@pytest.fixture
def fake_scanner(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the model and the scanner with stand-ins; returns the ids scanned, in order."""
    import unspin.api

    scanned: list[str] = []

    def scan_documents(docs: Iterable[Document], **_: object) -> Iterator[ScanResult]:
        for doc in docs:
            scanned.append(doc.id)
            yield _fake_scan(doc.text, doc.id)

    monkeypatch.setattr(unspin.api, "scan_documents", scan_documents)
    monkeypatch.setattr(cli, "_load_model", lambda path: None)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return scanned


def _batch(tmp_path: Path, n: int = 4) -> Path:
    path = tmp_path / "batch.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            text = f"Document number {k} says the river rose sharply after the storm."
            fh.write(json.dumps({"id": f"doc-{k}", "text": text}) + "\n")
    return path


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- usage and errors


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.startswith("unspin ")


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--bogus"),
        ("scan", "x.txt", "--format", "yaml"),
        ("scan", "x.txt", "--on-error", "maybe"),
        ("restore",),
        ("spin", "x.txt", "--rate", "1.5"),
        ("spin", "x.txt", "--seed", "many"),
        ("train", "--corpus", "a.jsonl"),
        ("nonsense",),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    _one_line(err)


@pytest.mark.parametrize("command", ["scan", "restore", "spin"])
def test_missing_file_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "no-such-file.txt"
    code, out, err = run(capsys, command, str(missing))
    assert code == 2
    assert out == ""
    assert str(missing) in _one_line(err)


def test_missing_corpus_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "train", "--corpus", str(tmp_path / "c.jsonl"), "--out", "m.pkl")
    assert code == 2
    assert "c.jsonl" in _one_line(err)


def test_missing_tortured_csv_exits_2_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "1", "text": "A short clean text."}\n')
    missing = tmp_path / "tortured.csv"
    code, out, err = run(
        capsys, "train", "--corpus", str(corpus), "--tortured-csv", str(missing),
        "--out", str(tmp_path / "m.pkl"),
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert "tortured.csv" in _one_line(err)
    assert not (tmp_path / "m.pkl").exists()


def test_train_with_a_missing_encoder_or_both_encoder_options_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "1", "text": "A short clean text."}\n')
    base = ["train", "--corpus", str(corpus), "--out", str(tmp_path / "m.pkl")]
    code, out, err = run(capsys, *base, "--encoder", str(tmp_path / "enc.safetensors"))
    assert code == 2 and out == "" and "enc.safetensors" in _one_line(err)
    code, out, err = run(capsys, *base, "--encoder", str(corpus), "--no-encoder")
    assert code == 2 and "--no-encoder" in _one_line(err)
    assert not (tmp_path / "m.pkl").exists()


def test_train_encoder_with_a_missing_corpus_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "train-encoder", "--corpus", str(tmp_path / "none.jsonl"),
        "--out", str(tmp_path / "e.safetensors"),
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "none.jsonl" in _one_line(err)
    assert not (tmp_path / "e.safetensors").exists()


def test_missing_model_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Some text to scan.\n")
    code, _, err = run(capsys, "scan", str(doc), "--model", str(tmp_path / "m.pkl"))
    assert code == 2
    assert "m.pkl" in _one_line(err)


def test_not_a_model_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Some text to scan.\n")
    bogus = tmp_path / "m.pkl"
    bogus.write_bytes(b"not a pickle")
    code, _, err = run(capsys, "scan", str(doc), "--model", str(bogus))
    assert code == 2
    assert "m.pkl" in _one_line(err)


def test_missing_shipped_model_is_an_internal_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import unspin.detect.model

    monkeypatch.setattr(unspin.detect.model, "default_model_path", lambda: tmp_path / "none.pkl")
    doc = tmp_path / "a.txt"
    doc.write_text("Some text to scan.\n")
    code, _, err = run(capsys, "scan", str(doc))
    assert code == 1
    assert "unspin train" in _one_line(err)


def test_internal_error_exits_1_with_hint(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_scanner: list[str],
) -> None:
    import unspin.api

    def broken(docs: Iterable[Document], **_: object) -> Iterator[ScanResult]:
        raise RuntimeError("something broke\ninside")
        yield  # pragma: no cover

    monkeypatch.setattr(unspin.api, "scan_documents", broken)
    doc = tmp_path / "a.txt"
    doc.write_text("Some text to scan.\n")
    code, _, err = run(capsys, "scan", str(doc), "--format", "json")
    assert code == 1
    line = _one_line(err)
    assert "something broke" in line and "UNSPIN_DEBUG=1" in line


def test_bad_jsonl_line_exits_2_with_file_and_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "One fine text here."}\n{"id": "b", "te\n')
    code, _, err = run(capsys, "scan", str(path), "--format", "jsonl")
    assert code == 2
    line = err.strip().splitlines()[-1]
    assert "Traceback" not in err
    assert "bad.jsonl" in line and "2" in line


def test_on_error_skip_counts_malformed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"id": "a", "text": "One fine text here."}\n{"id": "b", "te\n'
        '{"id": "c", "text": "Another fine text here."}\n'
    )
    code, out, err = run(capsys, "scan", str(path), "--format", "jsonl", "--on-error", "skip")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "c"]
    assert "skipped 1 malformed" in err


def test_scan_reads_parquet_and_counts_rows_it_cannot_read(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    fake_scanner: list[str],
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = tmp_path / "good.parquet"
    texts = ["The river rose sharply after the storm.", None, "Schools reopened on Monday."]
    pq.write_table(pa.table({"id": ["a", "b", None], "text": texts}), good)
    numbers = tmp_path / "numbers.parquet"  # a "text" column that holds no text
    pq.write_table(pa.table({"id": ["x", "y"], "text": [1, 2]}), numbers)

    code, out, err = run(capsys, "scan", str(good), str(numbers), "--format", "jsonl")
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].endswith('numbers.parquet:1: "text" must be a string, got int')
    code, out, err = run(
        capsys, "scan", str(good), str(numbers), "--format", "jsonl", "--on-error", "skip"
    )
    assert code == 0
    # the row without an id is named by file and row; the null text and both numbers are skipped
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["a", "good.parquet:3"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "unspin.io"]
    assert any(w.endswith("good.parquet:2: skipped: no text") for w in warnings)
    assert any(w.endswith("numbers.parquet:2: skipped: text is int") for w in warnings)
    assert "read 2 documents, wrote 2, skipped 3 malformed" in err


@pytest.mark.parametrize("gz", [False, True])
def test_scan_reads_warc_responses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str], gz: bool
) -> None:
    from test_corpus_io import _warc

    path = tmp_path / ("crawl.warc.gz" if gz else "crawl.warc")
    _warc(path, gz)
    code, out, err = run(capsys, "scan", str(path), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["https://example.org/ferry"]  # the one HTML page
    assert "MV Osprey" in rows[0]["restored"] and "tracking code" not in rows[0]["restored"]
    # the empty page is not silently dropped: warned about and counted
    assert "skipped: no main text in https://example.org/empty" in err
    assert "read 1 documents, wrote 1, skipped 1" in err


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "unspin.cli", "scan", str(tmp_path / "gone.txt")],
        capture_output=True,
        text=True,
        env={**os.environ, "UNSPIN_DEBUG": ""},
    )
    assert proc.returncode == 2
    assert "gone.txt" in _one_line(proc.stderr)


# --------------------------------------------------------------------------- scan output


def test_scan_jsonl_one_result_per_document(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    code, out, err = run(capsys, "scan", str(_batch(tmp_path)), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [f"doc-{k}" for k in range(4)]
    assert all(list(r) == CONTRACT_KEYS for r in rows)
    assert "read 4 documents, wrote 4" in err


def test_scan_json_is_a_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    doc = tmp_path / "one.txt"
    doc.write_text("A single plain text document.\n")
    code, out, _ = run(capsys, "scan", str(doc), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert isinstance(data, list) and len(data) == 1
    assert list(data[0]) == CONTRACT_KEYS
    assert list(data[0]["flags"][0]) == FLAG_KEYS


def test_scan_json_with_no_documents_is_an_empty_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    code, out, err = run(capsys, "scan", str(bad), "--format", "json", "--on-error", "skip")
    assert code == 0
    assert json.loads(out) == []
    assert "skipped 1 malformed" in err


def test_empty_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, out, err = run(capsys, "scan", str(empty), "--format", "json")
    assert code == 2
    assert "empty.txt" in _one_line(err)


def test_scan_text_report_marks_flags_without_colour_in_a_pipe(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    doc = tmp_path / "one.txt"
    doc.write_text("Resistance grew in the village after the vote.\n")
    code, out, _ = run(capsys, "scan", str(doc))
    assert code == 0
    assert "\x1b[" not in out
    header, body = out.split("\n", 1)
    assert header.startswith("one.txt") and "spun" in header and "0.80" in header
    assert body == "[Resistance → RESISTANCE] grew in the village after the vote.\n"


def test_scan_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fake_scanner: list[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("Text arriving on standard input today.\n"))
    code, out, _ = run(capsys, "scan", "-", "--format", "jsonl")
    assert code == 0
    assert len(out.splitlines()) == 1


def test_scan_output_resumes_after_a_killed_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    batch = _batch(tmp_path, n=5)
    out_path = tmp_path / "results.jsonl"
    first = json.dumps(_fake_scan("Document number 0 says hi there.", "doc-0").to_dict())
    second = json.dumps(_fake_scan("Document number 1 says hi there.", "doc-1").to_dict())
    # A run killed while writing the third line: two whole lines, then half a line.
    out_path.write_text(first + "\n" + second + "\n" + '{"id": "doc-2", "spin_prob')
    code, out, err = run(capsys, "scan", str(batch), "--output", str(out_path))
    assert code == 0
    assert out == ""
    assert fake_scanner == ["doc-2", "doc-3", "doc-4"]  # done documents are not rescanned
    rows = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"doc-{k}" for k in range(5)]
    assert "wrote 3" in err and "2 already in" in err

    # Rerunning a finished job does nothing and changes nothing.
    before = out_path.read_text()
    fake_scanner.clear()
    code, _, _ = run(capsys, "scan", str(batch), "--output", str(out_path))
    assert code == 0
    assert fake_scanner == []
    assert out_path.read_text() == before


def test_resume_handles_duplicate_ids(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    batch = tmp_path / "dups.jsonl"
    batch.write_text(
        "".join(
            json.dumps({"id": "same", "text": f"Copy {k} of a text that repeats."}) + "\n"
            for k in range(3)
        )
    )
    out_path = tmp_path / "results.jsonl"
    out_path.write_text(json.dumps({"id": "same", "verdict": "clean"}) + "\n")
    code, _, _ = run(capsys, "scan", str(batch), "--output", str(out_path))
    assert code == 0
    assert len(out_path.read_text().splitlines()) == 3


def test_resume_refuses_a_file_that_is_not_scan_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    out_path = tmp_path / "notes.jsonl"
    out_path.write_text("just some notes\nmore notes\n")
    code, _, err = run(capsys, "scan", str(_batch(tmp_path)), "--output", str(out_path))
    assert code == 2
    assert "notes.jsonl" in _one_line(err)
    assert out_path.read_text() == "just some notes\nmore notes\n"


def test_resume_refuses_a_corpus_given_as_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    """A corpus has ids too: appending results to it, or taking its ids for done, would
    corrupt it or skip its documents."""
    corpus = tmp_path / "other.jsonl"
    _batch(tmp_path).rename(corpus)
    before = corpus.read_text()
    code, _, err = run(capsys, "scan", str(_batch(tmp_path)), "--output", str(corpus))
    assert code == 2 and "other.jsonl:1" in _one_line(err)
    assert corpus.read_text() == before and fake_scanner == []


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_an_input_is_never_the_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str], fmt: str
) -> None:
    batch = _batch(tmp_path)
    before = batch.read_bytes()
    code, _, err = run(capsys, "scan", str(batch), "--format", fmt, "--output", str(batch))
    assert code == 2 and "is also an input" in _one_line(err)
    assert batch.read_bytes() == before and fake_scanner == []


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_output_through_a_symbolic_link_writes_its_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str], fmt: str
) -> None:
    target = tmp_path / "kept" / f"results.{fmt}"
    target.parent.mkdir()
    link = tmp_path / f"latest.{fmt}"
    link.symlink_to(target)
    code, _, _ = run(capsys, "scan", str(_batch(tmp_path)), "--format", fmt, "-o", str(link))
    assert code == 0
    assert link.is_symlink() and target.is_file() and target.stat().st_size > 0
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_output_to_a_pipe_is_written_in_place(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str], fmt: str
) -> None:
    """A named pipe (or a device such as /dev/null) cannot be renamed over: it is written in
    place, and stays what it is."""
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    fifo = tmp_path / f"results.{fmt}"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code, _, err = run(capsys, "scan", str(_batch(tmp_path)), "--format", fmt, "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 0 and "wrote 4" in err
    assert fifo.is_fifo() and not reader.is_alive()
    if fmt == "jsonl":
        assert len(got[0].decode().splitlines()) == 4
    elif fmt == "json":
        assert len(json.loads(got[0])) == 4
    else:
        assert got[0][:4] == b"PAR1" and got[0][-4:] == b"PAR1"


def test_output_folder_is_made_unless_a_file_is_in_the_way(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    batch = _batch(tmp_path)
    out = tmp_path / "new" / "deeper" / "results.jsonl"
    code, _, _ = run(capsys, "scan", str(batch), "--output", str(out))
    assert code == 0 and len(out.read_text().splitlines()) == 4
    code, _, err = run(capsys, "scan", str(batch), "--output", str(batch / "results.jsonl"))
    assert code == 2 and "a file is in the way" in _one_line(err)


def test_json_printed_before_a_failing_input_stays_one_array(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code, out, err = run(capsys, "scan", str(_batch(tmp_path)), str(empty), "--format", "json")
    assert code == 2 and "empty.txt" in _one_line(err)
    assert [r["id"] for r in json.loads(out)] == [f"doc-{k}" for k in range(4)]


def test_output_json_is_a_list_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    out_path = tmp_path / "results.json"
    code, out, _ = run(
        capsys, "scan", str(_batch(tmp_path)), "--format", "json", "--output", str(out_path)
    )
    assert code == 0 and out == ""
    assert len(json.loads(out_path.read_text())) == 4


def test_output_parquet_holds_the_json_contract(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    import pyarrow.parquet as pq

    batch = _batch(tmp_path)
    code, out, _ = run(capsys, "scan", str(batch), "--format", "jsonl")
    expected = [json.loads(line) for line in out.splitlines()]
    out_path = tmp_path / "results.parquet"  # the format follows the file's extension
    code, out, err = run(capsys, "scan", str(batch), "--output", str(out_path))
    assert code == 0 and out == "" and "wrote 4" in err
    table = pq.read_table(out_path)
    assert table.column_names == CONTRACT_KEYS
    assert table.to_pylist() == expected  # flags as structs with the contract's keys
    assert table.to_pylist()[0]["flags"][0]["suggestion"] == "DOCUMENT"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_needs_an_output_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    code, out, err = run(capsys, "scan", str(_batch(tmp_path)), "--format", "parquet")
    assert code == 2 and out == ""
    assert "--output" in _one_line(err)


def test_output_parquet_is_left_untouched_by_a_failed_run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_scanner: list[str],
) -> None:
    import unspin.api

    out_path = tmp_path / "results.parquet"
    out_path.write_bytes(b"the previous results")

    def broken(docs: Iterable[Document], **_: object) -> Iterator[ScanResult]:
        for k, doc in enumerate(docs):
            if k == 2:
                raise RuntimeError("the scanner failed halfway")
            yield _fake_scan(doc.text, doc.id)

    monkeypatch.setattr(unspin.api, "scan_documents", broken)
    code, _, err = run(capsys, "scan", str(_batch(tmp_path)), "--output", str(out_path))
    assert code == 1 and "failed halfway" in err
    assert out_path.read_bytes() == b"the previous results"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.jsonl", "results.parquet"]


def test_invalid_utf8_warned_once_per_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    doc = tmp_path / "latin1.txt"
    doc.write_bytes(
        "Caf\xe9 owners on the high street cheered the d\xe9cision.\n".encode("latin-1")
    )
    code, _, err = run(capsys, "scan", str(doc), "--format", "jsonl")
    assert code == 0
    warnings = [line for line in err.splitlines() if "latin1.txt" in line]
    assert len(warnings) == 1


# --------------------------------------------------------------------------- restore


def test_restore_prints_restored_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    doc = tmp_path / "one.txt"
    doc.write_text("Resistance grew in the village after the vote.\n")
    code, out, _ = run(capsys, "restore", str(doc))
    assert code == 0
    assert out == "RESISTANCE grew in the village after the vote.\n"


def test_restore_diff_is_word_level(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_scanner: list[str]
) -> None:
    doc = tmp_path / "one.txt"
    doc.write_text("Resistance grew in the village after the vote.\n")
    code, out, _ = run(capsys, "restore", str(doc), "--diff")
    assert code == 0
    assert out == "[-Resistance-]{+RESISTANCE+} grew in the village after the vote.\n"


def test_word_diff_marks_only_changed_words() -> None:
    text = cli.word_diff("the big dog barked loudly", "the large dog barked").plain
    assert text == "the [-big-]{+large+} dog barked[- loudly-]"
    merged = cli.word_diff("due as a result of rain", "due to rain").plain
    assert merged == "due [-as a result of-]{+to+} rain"
    assert cli.word_diff("unchanged text.", "unchanged text.").plain == "unchanged text."


# --------------------------------------------------------------------------- spin


def test_spin_list_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    from unspin.spin import PROFILES

    code, out, _ = run(capsys, "spin", "--list-profiles")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(PROFILES)


def test_spin_unknown_profile_lists_valid_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("The council approved the plan.\n")
    code, _, err = run(capsys, "spin", str(doc), "--profile", "nope")
    assert code == 2
    assert "nope" in _one_line(err) and "spinbot" in err and "wordai" in err


def test_spin_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    clean = EXAMPLES / "clean.txt"
    args = ("spin", str(clean), "--rate", "0.25", "--seed", "1", "--profile", "spinbot")
    code, first, _ = run(capsys, *args)
    assert code == 0
    _, second, _ = run(capsys, *args)
    assert first == second
    assert first != clean.read_text()
    _, other_seed, _ = run(capsys, "spin", str(clean), "--rate", "0.25", "--seed", "2")
    assert other_seed != first


def test_examples_ship_with_the_package() -> None:
    shipped = resources.files("unspin") / "examples"
    for name in ("clean.txt", "spun.txt", "batch.jsonl"):
        assert (shipped / name).read_text() == (EXAMPLES / name).read_text()


# --------------------------------------------------------------------------- with the model


@needs_model
def test_scan_example_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "scan", str(EXAMPLES / "spun.txt"), "--format", "json", "--fast")
    assert code == 0
    (result,) = json.loads(out)
    assert list(result) == CONTRACT_KEYS
    assert result["id"] and result["verdict"] in ("spun", "clean", "abstain")
    text = (EXAMPLES / "spun.txt").read_text()
    for flag in result["flags"]:
        assert list(flag) == FLAG_KEYS
        assert text[flag["start"] : flag["end"]] == flag["text"]
        assert 0.0 <= flag["probability"] <= 1.0


@needs_model
def test_scan_batch_jsonl_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "scan", str(EXAMPLES / "batch.jsonl"), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    ids = [json.loads(line)["id"] for line in (EXAMPLES / "batch.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ids
    assert all(list(r) == CONTRACT_KEYS for r in rows)
    assert any(r["verdict"] == "abstain" and r["reason"] for r in rows)
    assert f"read {len(ids)} documents" in err


@needs_model
def test_scan_output_resume_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    batch = EXAMPLES / "batch.jsonl"
    out_path = tmp_path / "out.jsonl"
    assert run(capsys, "scan", str(batch), "--fast", "--output", str(out_path))[0] == 0
    full = out_path.read_text().splitlines()
    out_path.write_text(full[0] + "\n" + full[1][: len(full[1]) // 2])
    assert run(capsys, "scan", str(batch), "--fast", "--output", str(out_path))[0] == 0
    assert out_path.read_text().splitlines() == full


@needs_model
def test_restore_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "restore", str(EXAMPLES / "spun.txt"), "--fast")
    assert code == 0
    assert out.strip()
    code, diff, _ = run(capsys, "restore", str(EXAMPLES / "spun.txt"), "--fast", "--diff")
    assert code == 0
    assert diff.strip()


@needs_model
def test_scan_workers_end_to_end_same_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = str(EXAMPLES / "batch.jsonl")
    one = run(capsys, "scan", batch, "--fast", "--format", "jsonl")
    two = run(capsys, "scan", batch, "--fast", "--format", "jsonl", "--workers", "2")
    assert one[0] == two[0] == 0
    assert two[1] == one[1] and two[1].count("\n") == 4
    assert "read 4 documents, wrote 4" in two[2]


def test_scan_workers_must_be_positive(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "scan", str(_batch(tmp_path)), "--workers", "0")
    assert code == 2
    assert "--workers" in err
