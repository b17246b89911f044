"""Errors a user can cause (bad paths, bad input); the CLI turns them into exit code 2."""

from __future__ import annotations


class InputError(Exception):
    """Bad input or bad usage: one line that says what is wrong and where (file, line)."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = path or ""
        if path is not None and line is not None:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.line = line
