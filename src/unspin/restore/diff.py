"""Word-level diffs of a text and its restoration, shared by `unspin restore --diff` and the page.

Text is split into words (with inner apostrophes or hyphens), single punctuation marks and runs
of whitespace, so joining the pieces always gives the text back.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

_DIFF_TOKEN = re.compile(r"\s+|\w+(?:['’-]\w+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class DiffChunk:
    """A run of the diff: unchanged text (`old == new`) or a change from `old` to `new`."""

    old: str
    new: str
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"old": self.old, "new": self.new, "changed": self.changed}


def word_diff_chunks(old: str, new: str) -> list[DiffChunk]:
    """A word-level diff of `old` → `new` as runs of unchanged and changed text.

    Changes separated only by whitespace are merged into one (`as a result of` → `due to` is one
    change, not three), as in `unspin restore --diff`. Joining the `old` parts gives `old` back,
    joining the `new` parts gives `new`.
    """
    a, b = _DIFF_TOKEN.findall(old), _DIFF_TOKEN.findall(new)
    if "".join(a) != old or "".join(b) != new:  # defensive: the pattern covers every character
        return [DiffChunk(old, new, old != new)]
    chunks: list[DiffChunk] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        chunks.append(DiffChunk("".join(a[i1:i2]), "".join(b[j1:j2]), op != "equal"))
    merged: list[DiffChunk] = []
    for k, chunk in enumerate(chunks):
        only_space = not chunk.changed and not chunk.old.strip()
        between_changes = 0 < k < len(chunks) - 1 and chunks[k + 1].changed
        if merged and merged[-1].changed and (chunk.changed or (only_space and between_changes)):
            prev = merged[-1]
            merged[-1] = DiffChunk(prev.old + chunk.old, prev.new + chunk.new, True)
        else:
            merged.append(chunk)
    return merged
