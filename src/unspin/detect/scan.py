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
    flags, edits = _flags(text, feats, probs, model)
    return ScanResult(
        id=doc_id,
        spin_probability=p_doc,
        verdict="spun" if p_doc >= model.doc_threshold else "clean",
        reason=None,
        language=language,
        words=len(word_tokens),
        flags=flags,
        restored=apply_edits(text, edits),
    )


def _flags(
    text: str, feats: DocFeatures, probs, model: SpinModel
) -> tuple[list[Flag], list[Edit]]:
    """Group flagged words by the span they were scored in; one flag per span."""
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
        if suggestion is not None and span_p >= model.restore_threshold:
            edits.append(Edit(first.start, last.end, suggestion))
    flags.sort(key=lambda f: f.start)
    return flags, edits
