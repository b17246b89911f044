"""scan: text → word swap probabilities, flags, restored text and a document verdict."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from unspin.context.model import ContextModel, get_context_model
from unspin.detect.features import DocFeatures, extract
from unspin.detect.language import abstain_reason
from unspin.detect.model import SpinModel, load_model
from unspin.lexicon import Lexicon, get_lexicon
from unspin.restore.rewrite import Edit, apply_edits, match_case
from unspin.text import tokenize, words
from unspin.types import Flag, ScanResult, Token

# Restoring a word is worth it when P(swapped) x P(best candidate is the original) beats
# P(not swapped); with the top candidate right for about 60 % of swaps, that is p >~ 0.6.
SPUN_RESTORE_THRESHOLD = 0.6


def scan_text(
    text: str,
    doc_id: str = "doc",
    *,
    fast: bool = False,
    model: SpinModel | None = None,
    lexicon: Lexicon | None = None,
    context: ContextModel | None = None,
    on_word_probabilities: Callable[[list[Token], np.ndarray], None] | None = None,
) -> ScanResult:
    """Scan one document: per-word swap probabilities pooled into a calibrated P(spun).

    `on_word_probabilities`, if given, is called with the word tokens and their P(swapped)
    (not called when the scan abstains); the web page tints every word with them.
    """
    tokens = tokenize(text)
    word_tokens = words(tokens)
    reason, language = abstain_reason(word_tokens)
    if reason is not None:
        return ScanResult(
            id=doc_id,
            spin_probability=None,
            verdict="abstain",
            reason=reason,
            language=language,
            words=len(word_tokens),
            flags=[],
            restored=text,
        )
    model = (model or load_model()).for_mode(fast)
    feats = extract(
        tokens, lexicon or get_lexicon(), context or get_context_model(), fast=fast
    )
    probs = model.word_probabilities(feats.matrix)
    if on_word_probabilities is not None:
        on_word_probabilities(feats.words, probs)
    p_doc = model.doc_probability(probs)
    spun = p_doc >= model.doc_threshold
    # In a text judged spun most odd words are swaps, so a less certain suggestion is still
    # more likely to repair than to damage; elsewhere only the clean-safe threshold applies.
    restore_at = min(model.restore_threshold, SPUN_RESTORE_THRESHOLD) if spun else None
    flags, edits = _flags(text, feats, probs, model, restore_at)
    return ScanResult(
        id=doc_id,
        spin_probability=p_doc,
        verdict="spun" if spun else "clean",
        reason=None,
        language=language,
        words=len(word_tokens),
        flags=flags,
        restored=apply_edits(text, edits),
    )


def _flags(
    text: str,
    feats: DocFeatures,
    probs: np.ndarray,
    model: SpinModel,
    restore_at: float | None = None,
) -> tuple[list[Flag], list[Edit]]:
    """Group flagged words by the span they were scored in; one flag per span. Suggestions at
    or above `restore_at` (default: the model's restore threshold) are applied."""
    restore_at = model.restore_threshold if restore_at is None else restore_at
    flags: list[Flag] = []
    edits: list[Edit] = []
    seen: set[int] = set()
    words_ = feats.words
    for w, p in enumerate(probs):
        if p < model.flag_threshold:
            continue
        k = feats.word_span[w]
        if k in seen:
            continue
        if k < 0:
            # Suspicious without a thesaurus source: flag the word, nothing to suggest.
            flags.append(
                Flag(words_[w].start, words_[w].end, words_[w].text, float(p), None, [])
            )
            continue
        seen.add(k)
        span = feats.spans[k]
        first, last = words_[span.first], words_[span.last - 1]
        span_p = float(max(probs[span.first : span.last]))
        observed = text[first.start : last.end]
        sentence_start = span.first == 0 or words_[span.first - 1].sentence != first.sentence
        alternatives = [match_case(observed, c, sentence_start) for c in span.candidates[:5]]
        suggestion = alternatives[0] if alternatives else None
        flags.append(Flag(first.start, last.end, observed, span_p, suggestion, alternatives))
        if suggestion is not None and span_p >= restore_at:
            edits.append(Edit(first.start, last.end, suggestion))
    flags.sort(key=lambda f: f.start)
    return flags, edits
