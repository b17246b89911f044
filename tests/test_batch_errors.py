"""Malformed records in batch runs: `--on-error fail` stops with the file and line (exit 2),
`--on-error skip` warns with the file and line, counts them and writes every good document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unspin.cli import main

TEXT = (
    "The ferry between Carrow and the island of Inchmore will run again from Saturday, the "
    "operator said, after engineers replaced a damaged propeller on the MV Osprey. Islanders "
    "had relied on a small fishing boat for supplies during the three weeks it was away."
)


def _corpus(tmp_path: Path) -> Path:
    lines = [json.dumps({"id": f"d{k}", "text": f"Item {k}. {TEXT}"}) for k in range(6)]
    lines.insert(2, '{"id": "bad", "text": ')  # line 3
    lines.insert(5, '{"id": "typed", "text": 42}')  # line 6
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code, capsys.readouterr().err


def test_dedup_on_error_fail_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _corpus(tmp_path)
    out = tmp_path / "clusters.jsonl"
    code, err = _run(capsys, "dedup", str(src), "--output", str(out), "--workers", "1")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"unspin: {src}:3: invalid JSON")
    assert not out.exists()


def test_dedup_on_error_skip_counts_and_keeps_every_good_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _corpus(tmp_path)
    out = tmp_path / "clusters.jsonl"
    code, err = _run(
        capsys, "dedup", str(src), "--output", str(out), "--workers", "1", "--on-error", "skip"
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "skipped:" in line]
    assert [w.split(": ")[2] for w in warnings] == [f"{src}:3", f"{src}:6"]
    assert "read 6 documents, wrote 6, skipped 2 malformed" in err
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == [f"d{k}" for k in range(6)]


def test_dedup_on_error_must_be_known(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "dedup", str(_corpus(tmp_path)), "-o", "x.jsonl", "--on-error", "no")
    assert code == 2 and "--on-error" in err
