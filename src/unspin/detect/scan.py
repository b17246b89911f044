"""scan: text → word swap probabilities, flags, restored text and a document verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from unspin.context.model import ContextModel, get_context_model
from unspin.detect.collocations import find_collocation_repairs
from unspin.detect.features import (
    FAST_CANDIDATES,
    MAX_CANDIDATES,
    DocFeatures,
    Span,
    extract,
    restore_matrix,
    with_encoder,
)
from unspin.detect.language import abstain_reason
from unspin.detect.model import SpinModel, load_model
from unspin.detect.terms import TERM_PROBABILITY, TermRepair, find_term_repairs
from unspin.lexicon import Lexicon, get_lexicon
from unspin.restore.rank import rank_spans
from unspin.restore.rewrite import Edit, apply_edits, match_case
from unspin.text import tokenize, words
from unspin.types import Flag, ScanResult, Token

# For a model without a restore model: restoring a word is worth it when P(swapped) x P(best
# candidate is the original) beats P(not swapped); with the top candidate right for about 60 %
# of swaps, that is p >~ 0.6.
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
    lexicon = lexicon or get_lexicon()
    context = context or get_context_model()
    feats = word_features(text, tokens, model, lexicon, context, fast=fast)
    probs = model.word_probabilities(feats.matrix)
    p_doc = model.doc_probability(probs)
    # Runs that disguise a known technical term are flagged and restored as a whole. They do
    # not enter P(spun): the document model is calibrated on the word model alone.
    limit = FAST_CANDIDATES if fast else MAX_CANDIDATES
    terms = term_repairs(feats, lexicon, context, limit=limit)
    word_probs = probs
    if terms:
        probs = _with_terms(probs, terms)
    spun = p_doc >= model.doc_threshold
    # In a text likely spun most odd words are swaps, so a less certain suggestion is still
    # more likely to repair than to damage; elsewhere only the clean-safe threshold applies.
    # "Likely spun" is the verdict, or the model's own lower P(spun) for restoring.
    # Only flagged words are shown with suggestions or restored: the candidate ranker re-orders
    # their spans' candidates, and the restore model judges the new leaders, on those rows alone.
    rows = np.flatnonzero(probs >= model.flag_threshold)
    ranked = _rank(feats, rows, model, lexicon, context, fast=fast, limit=limit)
    if model.restore_model is not None:
        confidence = np.zeros(len(probs))
        if len(rows):
            matrix = restore_matrix(feats.matrix, feats.spans, feats.word_span, ranked)
            confidence[rows] = model.restore_probabilities(matrix[rows])
        restore_at = model.restore_at(p_doc)
    else:
        confidence, restore_at = probs, model.restore_at(p_doc, SPUN_RESTORE_THRESHOLD)
    if model.collocation_scorer is not None:
        pairs = _collocation_repairs(
            feats, word_probs, probs, confidence, restore_at, terms, model, lexicon, context, limit
        )
        if pairs:
            terms = sorted([*terms, *pairs], key=lambda r: r.first)
            probs = _with_terms(probs, pairs)
    if on_word_probabilities is not None:
        on_word_probabilities(feats.words, probs)
    flags, edits = _flags(text, feats, probs, model, confidence, restore_at, terms)
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


def word_features(
    text: str,
    tokens: list[Token],
    model: SpinModel,
    lexicon: Lexicon,
    context: ContextModel,
    *,
    fast: bool,
) -> DocFeatures:
    """The word features `model` reads: the n-gram ones, plus the encoder's in its default mode."""
    feats = extract(tokens, lexicon, context, fast=fast)
    if model.uses_encoder:
        spans = [(w.start, w.end) for w in feats.words]
        feats = with_encoder(feats, model.encoder().word_logits([text], [spans])[0])
    return feats


def _restores(span: Span, confidence: np.ndarray, restore_at: float) -> bool:
    """Whether a flagged span's first candidate is applied."""
    return bool(span.candidates) and max(confidence[span.first : span.last]) >= restore_at


def _flags(
    text: str,
    feats: DocFeatures,
    probs: np.ndarray,
    model: SpinModel,
    confidence: np.ndarray,
    restore_at: float,
    terms: Sequence[TermRepair] = (),
) -> tuple[list[Flag], list[Edit]]:
    """Group flagged words by the span they were scored in; one flag per span. A flag's
    suggestion is applied when the span's restore `confidence` is at least `restore_at`.
    Disguised terms are one flag each, always restored."""
    flags: list[Flag] = []
    edits: list[Edit] = []
    seen: set[int] = set()
    words_ = feats.words
    in_term: set[int] = set()
    for r in terms:
        first, last = words_[r.first], words_[r.last - 1]
        observed = text[first.start : last.end]
        sentence_start = r.first == 0 or words_[r.first - 1].sentence != first.sentence
        suggestion = match_case(observed, r.term, sentence_start)
        p = float(max(probs[r.first : r.last]))
        flags.append(Flag(first.start, last.end, observed, p, suggestion, [suggestion]))
        edits.append(Edit(first.start, last.end, suggestion))
        in_term.update(range(r.first, r.last))
    for w, p in enumerate(probs):
        if p < model.flag_threshold or w in in_term:
            continue
        k = feats.word_span[w]
        if k in seen:
            continue
        if k >= 0 and not in_term.isdisjoint(range(feats.spans[k].first, feats.spans[k].last)):
            k = -1  # its best span overlaps a disguised term: flag the word alone
        if k < 0:
            # Suspicious without a thesaurus source: flag the word, nothing to suggest.
            flags.append(Flag(words_[w].start, words_[w].end, words_[w].text, float(p), None, []))
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
        if _restores(span, confidence, restore_at):
            edits.append(Edit(first.start, last.end, suggestion))
    flags.sort(key=lambda f: f.start)
    return flags, edits


def _rank(
    feats: DocFeatures,
    rows: np.ndarray,
    model: SpinModel,
    lexicon: Lexicon,
    context: ContextModel,
    *,
    fast: bool,
    limit: int,
) -> dict[int, tuple[float, float]]:
    """Re-rank the candidates of the spans behind flagged words (see `unspin.restore.rank`)."""
    if model.rank_model is None or not len(rows):
        return {}
    which = sorted({feats.word_span[w] for w in rows.tolist()} - {-1})
    return rank_spans(
        feats.spans,
        which,
        feats.normed,
        feats.sentences,
        lexicon,
        context,
        model.rank_model,
        fast=fast,
        limit=limit,
    )


def term_repairs(
    feats: DocFeatures, lexicon: Lexicon, context: ContextModel, limit: int
) -> list[TermRepair]:
    """Disguised known terms among the document's words (see `unspin.detect.terms`)."""
    return find_term_repairs(
        feats.normed,
        feats.sentences,
        lexicon,
        context,
        adjacent=adjacent_words(feats),
        limit=limit,
    )


def adjacent_words(feats: DocFeatures) -> list[bool]:
    """Whether each word is followed by the next with at most a space or two between."""
    words_ = feats.words
    return [b.start - a.end <= 2 for a, b in zip(words_, words_[1:], strict=False)]


def _with_terms(probs: np.ndarray, terms: Sequence[TermRepair]) -> np.ndarray:
    """P(swapped) with the words of disguised terms raised to `TERM_PROBABILITY`."""
    probs = probs.copy()
    for r in terms:
        probs[r.first : r.last] = np.maximum(probs[r.first : r.last], TERM_PROBABILITY)
    return probs


def _collocation_repairs(
    feats: DocFeatures,
    word_probs: np.ndarray,
    probs: np.ndarray,
    confidence: np.ndarray,
    restore_at: float,
    terms: Sequence[TermRepair],
    model: SpinModel,
    lexicon: Lexicon,
    context: ContextModel,
    limit: int,
) -> list[TermRepair]:
    """Disguised web collocations (`unspin.detect.collocations`, scored on the word model's own
    `word_probs`) that touch no disguised term and overrule no restoration the word model
    makes: where a word's own suggestion is applied anyway, a reading that puts back another
    word is dropped (the word model, which reads the whole context, was right more often on
    held-out spun news)."""
    found = find_collocation_repairs(
        feats.normed,
        feats.sentences,
        lexicon,
        context,
        word_probs,
        adjacent=adjacent_words(feats),
        limit=limit,
        scorer=model.collocation_scorer,
    )
    out = []
    for r in found:
        if any(r.first < t.last and t.first < r.last for t in terms):
            continue
        if all(
            _restored_as(feats, probs, confidence, restore_at, model, w) in (None, word)
            for w, word in zip(range(r.first, r.last), r.term.split(" "), strict=True)
        ):
            out.append(r)
    return out


def _restored_as(
    feats: DocFeatures,
    probs: np.ndarray,
    confidence: np.ndarray,
    restore_at: float,
    model: SpinModel,
    w: int,
) -> str | None:
    """What the word model restores word `w` to (its span's first candidate, when `_flags`
    would apply it and the span is that word alone), "" for a longer span, else None."""
    k = feats.word_span[w]
    if k < 0 or probs[w] < model.flag_threshold:
        return None
    span = feats.spans[k]
    if not _restores(span, confidence, restore_at):
        return None
    return span.candidates[0] if span.last - span.first == 1 else ""
