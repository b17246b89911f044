"""Evidence for the web page: every word's swap probability and a word diff of the restoration.

The page tints each word by how likely a spinner swapped it (the scan contract only lists the
flagged spans) and shows the restored text as a diff. Both come from the same single scan that
produces the contract JSON, so the page never disagrees with the CLI.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from unspin.detect.model import SpinModel, load_model
from unspin.detect.scan import scan_text
from unspin.types import ScanResult, Token

# Words (with inner apostrophes or hyphens), single punctuation marks and runs of whitespace:
# the units a diff is made of, the same way `unspin restore --diff` splits text.
_DIFF_TOKEN = re.compile(r"\s+|\w+(?:['’-]\w+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class WordProbability:
    """One word's character span in the scanned text and its P(swapped)."""

    start: int
    end: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, probability rounded like the contract's flags."""
        return {"start": self.start, "end": self.end, "p": round(self.p, 4)}


@dataclass(frozen=True, slots=True)
class DiffChunk:
    """A run of the diff: unchanged text (`old == new`) or a change from `old` to `new`."""

    old: str
    new: str
    changed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"old": self.old, "new": self.new, "changed": self.changed}


def resolve_model(model: str | SpinModel | None) -> SpinModel:
    """A loaded model: `model` itself, the file at that path, or the shipped one."""
    if isinstance(model, SpinModel):
        return model
    return load_model(model)


def scan_with_word_probabilities(
    text: str,
    *,
    doc_id: str = "doc",
    fast: bool = False,
    model: str | SpinModel | None = None,
    index: Any = None,
) -> tuple[ScanResult, list[WordProbability]]:
    """Scan `text`; return the contract result and every word's swap probability.

    The result is the one `unspin.api.scan` gives for the same arguments: with `index` (an open
    `unspin.api.Index`), a source found there decides flags and restoration, and the words are
    still tinted by the model. The word list is empty when the model abstains.
    """
    collected: list[WordProbability] = []

    def collect(tokens: list[Token], probs: np.ndarray) -> None:
        collected.extend(
            WordProbability(t.start, t.end, float(p)) for t, p in zip(tokens, probs, strict=True)
        )

    from_source = None
    if index is not None:
        from unspin.trace.restore import source_restore

        from_source = source_restore(text, index, doc_id=doc_id)
    result = scan_text(
        text, doc_id, fast=fast, model=resolve_model(model), on_word_probabilities=collect
    )
    return from_source or result, collected


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
