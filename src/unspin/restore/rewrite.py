"""Pure text rewriting with character spans; everything outside the edits is kept byte for byte."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace text[start:end] by `replacement`."""

    start: int
    end: int
    replacement: str


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits; overlapping ones after the first are ignored."""
    out: list[str] = []
    pos = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            continue
        out.append(text[pos : edit.start])
        out.append(edit.replacement)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def match_case(observed: str, suggestion: str, sentence_start: bool) -> str:
    """Give `suggestion` the case pattern of the words it replaces.

    A capital in mid-sentence on a common word is a typical spinner slip, so it is not copied:
    only sentence-initial capitals and all-caps words carry over.
    """
    if observed.isupper() and len(observed) > 1:
        return suggestion.upper()
    if observed[:1].isupper() and sentence_start:
        return suggestion[:1].upper() + suggestion[1:]
    return suggestion
