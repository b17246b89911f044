"""Plain data that flows between the stages: documents, tokens, flags and scan results."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Document:
    """One input document: an id, its text as read, and free-form metadata (path, line, date)."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Token:
    """A word, number or punctuation mark with its character span in the document text.

    `kind` is "word" (letters, possibly with inner apostrophes/hyphens), "number" or "punct".
    `sentence` is the index of the sentence the token belongs to.
    """

    text: str
    start: int
    end: int
    kind: Literal["word", "number", "punct"]
    sentence: int


@dataclass(frozen=True, slots=True)
class Flag:
    """A span the detector thinks a spinner swapped, with the wording it likely replaced."""

    start: int
    end: int
    text: str
    probability: float
    suggestion: str | None
    alternatives: list[str] = field(default_factory=list)


Verdict = Literal["spun", "clean", "abstain"]


@dataclass(slots=True)
class ScanResult:
    """The result of scanning one document; `to_dict` gives the JSON contract of design.md §3."""

    id: str
    spin_probability: float | None
    verdict: Verdict
    reason: str | None
    language: str | None
    words: int
    flags: list[Flag]
    restored: str
    evidence: Literal["model", "source", "consensus"] = "model"
    source_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready data, keys in contract order."""
        d = asdict(self)
        if d["spin_probability"] is not None:
            d["spin_probability"] = round(d["spin_probability"], 4)
        for f in d["flags"]:
            f["probability"] = round(f["probability"], 4)
        return d
