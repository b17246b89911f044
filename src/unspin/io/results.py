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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "ParquetResults", "atomic_target", "atomic_text", "check_output", "json_line",
    "result_schema",
]  # fmt: skip

_BATCH = 1024
_LINE_BREAKERS = ("\x85", "\u2028", "\u2029")


def check_output(output: str | os.PathLike[str], inputs: Sequence[str] = ()) -> None:
    """Refuse an output path (`InputError`) that is a folder, one of a run's inputs (which it
    would overwrite, or append results to), or a corpus file inside an input folder (which the
    next run would read as input); make a missing folder for it, unless one cannot be."""
    from unspin.errors import InputError
    from unspin.io.corpus import FOLDER_SUFFIXES

    path = Path(output)
    if path.is_dir():
        raise InputError("is a directory, not a file", str(output))
    real = Path(os.path.realpath(path))
    for given in inputs:
        if given == "-" or not os.path.exists(given):
            continue
        if os.path.isdir(given):
            inside = Path(os.path.realpath(given)) in real.parents
            if inside and real.name.lower().endswith(FOLDER_SUFFIXES):
                raise InputError(
                    "is inside an input folder: a rerun would read it as input; write elsewhere",
                    str(output),
                )
        elif path.exists() and os.path.samefile(given, path):
            raise InputError("is also an input of this run: write elsewhere", str(output))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("cannot make its folder: a file is in the way", str(output)) from None
    except OSError as exc:
        raise InputError(f"cannot make its folder ({exc.strerror})", str(output)) from None


def atomic_target(path: str | os.PathLike[str]) -> Path | None:
    """The file to write a whole output for `path` into, under a temporary name then renamed:
    `path`, or the file a symbolic link there points to (so the link stays a link); None where
    `path` is a special file (a FIFO, /dev/null, a terminal), which is written in place."""
    path = Path(path)
    if path.exists() and not path.is_file():  # both follow symbolic links
        return None
    return Path(os.path.realpath(path))


def _temporary(target: Path) -> Path:
    """Where a whole output for `target` is written before it is renamed into place."""
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _sync(fh: IO[Any]) -> None:
    """Flush `fh` to disk where it is a regular file (fsync fails on devices and pipes)."""
    fh.flush()
    if os.path.isfile(fh.name):
        os.fsync(fh.fileno())


@contextmanager
def atomic_text(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """A text file written under a temporary name and renamed over `path` (see
    `atomic_target`) only when complete, so a killed or failed run leaves the previous file
    (or none), never half of one; a special file is written in place."""
    target = atomic_target(path)
    if target is None:
        with open(path, "w", encoding="utf-8") as fh:
            yield fh
        return
    tmp = _temporary(target)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            yield fh
            _sync(fh)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
        target = atomic_target(self.path)
        # written in place where the output is a special file (see `atomic_target`)
        self._target = target or self.path
        self._tmp = _temporary(target) if target else None
        self._rows: list[dict[str, Any]] = []
        self._writer: Any = None
        self._schema: Any = None
        self._special: Any = None

    def __enter__(self) -> ParquetResults:
        import pyarrow.parquet as pq

        self._schema = result_schema()
        if self._tmp is not None:
            self._writer = pq.ParquetWriter(str(self._tmp), self._schema)
        else:  # a pipe or device: through a Python file, as Arrow's own file would seek
            self._special = open(self._target, "wb")  # noqa: SIM115 - closed in __exit__
            self._writer = pq.ParquetWriter(self._special, self._schema)
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
            if kind is None and self._tmp is not None:
                os.replace(self._tmp, self._target)
        finally:
            if self._special is not None:
                self._special.close()
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
