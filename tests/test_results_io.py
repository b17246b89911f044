"""Tests for the Parquet results writer: row groups, order, an empty run, and failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from unspin.io.results import ParquetResults, result_schema


def _row(k: int) -> dict:
    flags = [
        {
            "start": 0,
            "end": 4,
            "text": "huge",
            "probability": 0.9,
            "suggestion": "big",
            "alternatives": ["large"],
        }
    ]
    return {
        "id": f"doc-{k}",
        "spin_probability": None if k == 0 else k / 10,
        "verdict": "abstain" if k == 0 else "spun",
        "reason": "too short" if k == 0 else None,
        "language": "en",
        "words": 30 + k,
        "flags": [] if k == 0 else flags,
        "restored": f"text {k}",
        "evidence": "model",
        "source_id": None,
    }


def test_rows_come_back_in_order_across_row_groups(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "out.parquet"
    with ParquetResults(path, batch=2) as table:
        for k in range(5):
            table.write(_row(k))
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 5 and meta.num_row_groups == 3  # 2 + 2 + the last 1
    assert pq.read_table(path).to_pylist() == [_row(k) for k in range(5)]


def test_no_results_is_an_empty_table_with_the_schema(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "out.parquet"
    with ParquetResults(path):
        pass
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.schema.equals(result_schema())


def test_an_error_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "out.parquet"
    with pytest.raises(KeyError), ParquetResults(path, batch=1) as table:
        table.write(_row(1))
        raise KeyError("stop")
    assert list(tmp_path.iterdir()) == []
