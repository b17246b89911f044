"""Restoration from a found source: flags and wording from the alignment, not from a model.

When the index holds a text's source, the spinner's swaps are no longer a guess: each spin
substitution of the alignment is a flag, and its source wording is the restoration.
`source_restore` returns a `ScanResult` with `evidence="source"` and the `source_id`, or None
when no indexed text is similar enough (the caller then falls back to the model).
"""

from __future__ import annotations

from unspin.trace.align import apply_substitutions
from unspin.trace.index import MIN_SIMILARITY, Index, Match
from unspin.types import Flag, ScanResult

__all__ = ["SPUN_MIN", "scan_result_from_match", "source_restore"]

SPUN_MIN = 0.02  # spin ratio from which a text is judged spun against its source


def scan_result_from_match(text: str, doc_id: str, match: Match) -> ScanResult:
    """The scan contract's result for `text` given its best source match."""
    from unspin.detect.language import abstain_reason
    from unspin.text import tokenize, words

    word_tokens = words(tokenize(text))
    _, language = abstain_reason(word_tokens)
    p = round(match.similarity, 4)
    flags = [
        Flag(s.start, s.end, s.text, p, s.source_text, [s.source_text])
        for s in match.substitutions
        if s.end > s.start  # a dropped word has no span to flag; it is restored all the same
    ]
    spun = match.spin_ratio >= SPUN_MIN
    return ScanResult(
        id=doc_id,
        spin_probability=p if spun else round(1.0 - p, 4),
        verdict="spun" if spun else "clean",
        reason=None,
        language=language or "en",
        words=len(word_tokens),
        flags=flags,
        restored=apply_substitutions(text, match.substitutions),
        evidence="source",
        source_id=match.source_id,
    )


def source_restore(
    text: str, index: Index, *, doc_id: str = "doc", min_similarity: float = MIN_SIMILARITY
) -> ScanResult | None:
    """Scan `text` against its best source in `index`; None when no source is found."""
    result = index.trace(text, doc_id=doc_id, limit=1, min_similarity=min_similarity)
    if not result.matches:
        return None
    return scan_result_from_match(text, doc_id, result.matches[0])
