"""Scan results as files: a JSON line per result, or a Parquet table of them.

Corpus pipelines filter and join results with Parquet tools (DuckDB, Spark, pandas), so
`unspin scan --output results.parquet` writes them there directly. Flags are a list of structs
with the contract's keys, so `flags[1].suggestion` reads as it does in JSON. Rows are written
in row groups of `batch` documents, so memory stays bounded on any input, and the file appears
under its name only once complete (written under a temporary name, then renamed): a killed
run leaves the previous file, or none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["ParquetResults", "json_line", "result_schema"]

_BATCH = 1024
_LINE_BREAKERS = ("\x85", "\u2028", "\u2029")


def json_line(data: Any) -> str:
    """JSON on one line, non-ASCII kept as is, except the characters that some line splitters
    (Python's str.splitlines, JavaScript before ES2019) take for line ends: escaped."""
    line = json.dumps(data, ensure_ascii=False)
    if any(c in line for c in _LINE_BREAKERS):
        for c in _LINE_BREAKERS:
            line = line.replace(c, f"\\u{ord(c):04x}")
    return line


def result_schema() -> Any:
    """The Arrow schema of a results file: the JSON contract's keys, in its order."""
    import pyarrow as pa

    flag = pa.struct(
        [
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("probability", pa.float64()),
            ("suggestion", pa.string()),
            ("alternatives", pa.list_(pa.string())),
        ]
    )
    return pa.schema(
        [
            ("id", pa.string()),
            ("spin_probability", pa.float64()),
            ("verdict", pa.string()),
            ("reason", pa.string()),
            ("language", pa.string()),
            ("words", pa.int64()),
            ("flags", pa.list_(flag)),
            ("restored", pa.string()),
            ("evidence", pa.string()),
            ("source_id", pa.string()),
        ]
    )


class ParquetResults:
    """Write result dicts (`ScanResult.to_dict()`) to `path` as Parquet, `batch` rows per row
    group; use as a context manager: the file is renamed into place on a clean exit and
    removed on an error."""

    def __init__(self, path: str | os.PathLike[str], batch: int = _BATCH) -> None:
        self.path = Path(path)
        self.batch = batch
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._rows: list[dict[str, Any]] = []
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> ParquetResults:
        import pyarrow.parquet as pq

        self._schema = result_schema()
        self._writer = pq.ParquetWriter(str(self._tmp), self._schema)
        return self

    def write(self, row: dict[str, Any]) -> None:
        """Add one result; a full batch is written out as a row group."""
        self._rows.append(row)
        if len(self._rows) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self._flush()
            self._writer.close()
            if kind is None:
                os.replace(self._tmp, self.path)
        finally:
            if self._tmp.exists():
                self._tmp.unlink()
