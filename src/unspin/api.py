"""The public Python surface of unspin: scan, restore, spin and train.

The CLI and the HTTP API are thin shells over these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from unspin.detect.model import SpinModel, load_model
from unspin.detect.scan import scan_text
from unspin.spin import spin
from unspin.types import Document, ScanResult

__all__ = ["scan", "scan_documents", "restore", "spin", "train", "load_model", "SpinModel"]


def scan(
    text: str, *, doc_id: str = "doc", fast: bool = False, model: str | SpinModel | None = None
) -> ScanResult:
    """Detect spinning in one text: P(spun), flagged spans with suggestions, restored text.

    `fast` skips the trigram LM (bigram counts only); `model` is a path or a loaded model
    (default: the one shipped in the package).
    """
    return scan_text(text, doc_id, fast=fast, model=_resolve(model))


def scan_documents(
    documents: Iterable[Document], *, fast: bool = False, model: str | SpinModel | None = None
) -> Iterator[ScanResult]:
    """Scan a stream of documents lazily, one result per document, in input order."""
    resolved = _resolve(model)
    for doc in documents:
        yield scan_text(doc.text, doc.id, fast=fast, model=resolved)


def restore(text: str, *, fast: bool = False, model: str | SpinModel | None = None) -> str:
    """The text with confident swaps replaced by their likely originals; clean text unchanged."""
    return scan(text, fast=fast, model=model).restored


def train(corpus: list[str], out: str, **kwargs) -> dict:
    """Train a detector on clean JSONL corpora (self-supervised) and save it; returns a report."""
    from unspin.detect.train import train as _train

    return _train(corpus, out, **kwargs)


def _resolve(model: str | SpinModel | None) -> SpinModel:
    if isinstance(model, SpinModel):
        return model
    return load_model(model)
