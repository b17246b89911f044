"""Plain data that flows between the stages: documents, tokens, flags and scan results."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        """Return the result as plain JSON-ready data, keys in contract order (the field order).

        Built field by field: `dataclasses.asdict` deep-copies every value, which cost a batch
        scan more than its JSON encoding."""
        p = self.spin_probability
        return {
            "id": self.id,
            "spin_probability": None if p is None else round(p, 4),
            "verdict": self.verdict,
            "reason": self.reason,
            "language": self.language,
            "words": self.words,
            "flags": [
                {
                    "start": f.start,
                    "end": f.end,
                    "text": f.text,
                    "probability": round(f.probability, 4),
                    "suggestion": f.suggestion,
                    "alternatives": list(f.alternatives),
                }
                for f in self.flags
            ],
            "restored": self.restored,
            "evidence": self.evidence,
            "source_id": self.source_id,
        }
