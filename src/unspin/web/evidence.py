"""Evidence for the web page: every word's swap probability and a word diff of the restoration.

The page tints each word by how likely a spinner swapped it (the scan contract only lists the
flagged spans) and shows the restored text as a diff. Both come from the same single scan that
produces the contract JSON, so the page never disagrees with the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from unspin.detect.model import SpinModel, load_model
from unspin.detect.scan import scan_text
from unspin.restore.diff import DiffChunk, word_diff_chunks
from unspin.types import ScanResult, Token

__all__ = [
    "DiffChunk",
    "WordProbability",
    "resolve_model",
    "scan_with_word_probabilities",
    "word_diff_chunks",
]



@dataclass(frozen=True, slots=True)
class WordProbability:
    """One word's character span in the scanned text and its P(swapped)."""

    start: int
    end: int
    p: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, probability rounded like the contract's flags."""
        return {"start": self.start, "end": self.end, "p": round(self.p, 4)}


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
