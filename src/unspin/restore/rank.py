"""Candidate ranking: which of a span's candidate originals did the spinner start from?

The scan orders candidates by LM fit plus thesaurus prior, which puts the original first for
only about half of the swaps. A learned ranker re-scores the leading candidates of a span with
what that sum leaves out: left and right fit apart, the full LM window for every candidate
(the scan re-scores only a shortlist), which sources link them, how common the candidate is,
whether it occurs elsewhere in the document, the noisy channel (how likely a spinner
starting from the candidate was to write the observed words, of all it could have written),
how much more newsy the candidate reads than the observed words (`unspin.text.register`),
and how well it fits its neighbours in news prose (`unspin.context.news`).
Pure functions of (span, document words, lexicon, context model); the ranker itself is a
`CompiledForest` trained by `unspin train`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from unspin.context.news import NewsBigrams, PhraseParts, news_bigrams
from unspin.detect.features import (
    DEEP_LIMIT,
    NOT_SHORTLISTED,
    PRIOR_WEIGHT,
    PhraseEntry,
    Span,
    candidate_terms,
    content_words,
    context_window,
    log_channel,
    phrase_entry,
    split_name,
)
from unspin.text.frequency import zipf as _zipf
from unspin.text.register import phrase_register

if TYPE_CHECKING:
    from unspin.context.model import ContextModel
    from unspin.lexicon import Lexicon

# Candidates per span the ranker re-scores (in the scan's order); the rest keep their places.
RANK_DEPTH = 10
# And this many more from deeper among the thesaurus sources of the observed words (its first
# DEEP_LIMIT): those that fit best between the span's neighbours in news prose. The scan reads
# only the first sources and orders them by web fit and prior, and for about a fifth of the
# single swaps it flagged the original was not among the ten (see docs/notes.md).
EXTRA_CANDIDATES = 2

RANK_FEATURE_NAMES: tuple[str, ...] = (
    "scan_rank",
    "fit_delta",
    "fit_gap",
    "fit_rank",
    "bigram_delta",
    "bigram_gap",
    "left_delta",
    "right_delta",
    "left_gap",
    "right_gap",
    "log_prior",
    "prior_gap",
    "lexicon_rank",
    "source_wordnet",
    "source_moby",
    "source_phrase",
    "source_observed",
    "zipf_candidate",
    "zipf_delta",
    "zipf_gap",
    "len_diff",
    "in_document",
    "function_candidate",
    "span_len",
    "n_candidates",
    "zipf_observed",
    "log_out_weight",
    "channel",
    "out_weight_gap",
    "channel_gap",
    "register_candidate",
    "register_delta",
    "register_gap",
    "news_fit_delta",
    "news_fit_gap",
)


@dataclass(frozen=True, slots=True)
class SpanCandidates:
    """The ranker's input for one span: one feature row per re-scored candidate."""

    names: list[str]  # the first RANK_DEPTH candidates in the scan's order, then the extras
    scores: list[float]  # their scan scores (an extra's made the scan's way: see `_rows`)
    matrix: np.ndarray  # (len(names), len(RANK_FEATURE_NAMES)) float32


def candidate_rows(
    span: Span,
    normed: Sequence[str],
    sent: Sequence[int],
    vocabulary: set[str],
    lexicon: Lexicon,
    context: ContextModel,
    *,
    fast: bool,
    limit: int,
    extra: int = EXTRA_CANDIDATES,
) -> SpanCandidates:
    """Feature rows for the leading candidates of `span` in its document.

    `normed`/`sent` are the document's normalised words and their sentence numbers,
    `vocabulary` the set of its words, `limit` the candidate limit the scan used, `extra`
    how many candidates from deeper in the thesaurus join the scan's leading ones.
    """
    deep = _extras([span], normed, sent, lexicon, context, extra)[0]
    lead = _leading(span, normed, lexicon, context, limit, deep)
    if lead is None:
        return _NO_ROWS
    return _rows(span, lead, normed, sent, vocabulary, context, fast=fast)


@dataclass(frozen=True, slots=True)
class _Lead:
    """The candidates a span's ranking reads (the scan's leading ones, then the extras) and
    what their rows need of each."""

    names: list[str]
    split: list[tuple[str, ...]]
    pair_keys: np.ndarray  # rows of ContextModel.pair_keys
    log_prior: list[float]
    weights: list[float]
    sources: list[str]
    content: list[tuple[str, ...]]
    lexicon_rank: list[int]  # place among the thesaurus sources of the observed words
    log_out: list[float]
    scores: list[float | None]  # the scan's scores; None for an extra (see `_rows`)
    entry: PhraseEntry  # the scan's entry of the observed words


def _rows(
    span: Span,
    lead: _Lead,
    normed: Sequence[str],
    sent: Sequence[int],
    vocabulary: set[str],
    context: ContextModel,
    *,
    fast: bool,
    halves: tuple[list[float], list[float]] | None = None,
    news_fits: Sequence[float] | None = None,
) -> SpanCandidates:
    """`candidate_rows` of a span whose `_leading` candidates are known. `halves`, if given,
    are their left and right bigram log-probabilities in context, and `news_fits` the news
    fits of the observed words and then of each candidate (`rank_spans` batches both);
    otherwise they are looked up here."""
    names, entry, log_out = lead.names, lead.entry, lead.log_out
    i, j = span.first, span.last
    observed = list(normed[i:j])
    left, right = context_window(normed, sent, i, j)
    before, after = left[-1], right[0]
    bigram_lp = context.bigram_logprob
    zipf_obs = entry.zipf_observed
    split = lead.split
    # A bigram fit is the left plus the right bigram (`ContextModel.bigram_fit`); --fast fits
    # with bigrams alone, the default mode with the trigram LM window.
    obs_left = bigram_lp(before, observed[0])
    obs_right = bigram_lp(observed[-1], after)
    obs_bigram = obs_left + obs_right
    if halves is None:
        lefts = [bigram_lp(before, words[0]) for words in split]
        rights = [bigram_lp(words[-1], after) for words in split]
    else:
        lefts, rights = halves
    bigrams = [a + b for a, b in zip(lefts, rights, strict=True)]
    if fast:
        obs_fit, fits = obs_bigram, bigrams
    else:
        obs_fit = context.window_logprob(left, observed, right)
        fits = [context.window_logprob(left, words, right) for words in split]
    priors = lead.log_prior
    # The noisy channel: log P(observed | candidate) up to a constant of the span, the link's
    # weight over all the candidate could have been turned into.
    channels = [log_channel(w, out) for w, out in zip(lead.weights, log_out, strict=True)]
    # An extra gets a score made the scan's way from its bigram fit and prior (in the default
    # mode below every candidate the trigram LM re-scored), even one the scan scored itself
    # among its later candidates: the restore margins read scores of the ranked head only.
    offset = 0.0 if fast else NOT_SHORTLISTED
    scores = [
        bigrams[r] + priors[r] - offset if score is None else score
        for r, score in enumerate(lead.scores)
    ]
    best_out, best_channel = max(log_out), max(channels)
    fit_order = sorted(range(len(names)), key=fits.__getitem__, reverse=True)
    fit_rank = {k: r for r, k in enumerate(fit_order)}
    zipfs = [_zipf(name) for name in names]
    best_fit, best_bigram, best_prior = max(fits), max(bigrams), max(priors)
    best_left, best_right, best_zipf = max(lefts), max(rights), max(zipfs)
    # News register: the original was written by a news writer, its replacement picked from a
    # thesaurus, so the original tends to read more like news than the words in its place.
    registers = [phrase_register(words) for words in split]
    best_register = max(registers)
    # And the pairs it makes with its neighbours in news prose, against the observed words'.
    if news_fits is None:
        news_fits = news_bigrams().fits(_news_chains(before, observed, split, after)).tolist()
    obs_news, news_fits = news_fits[0], news_fits[1:]
    best_news = max(news_fits)
    rows = []  # one conversion to float32 at the end: cheaper than filling row by row
    for r, words in enumerate(split):
        source = lead.sources[r]
        zipf_c = zipfs[r]
        rows.append(
            (
                r,
                fits[r] - obs_fit,
                fits[r] - best_fit,
                fit_rank[r],
                bigrams[r] - obs_bigram,
                bigrams[r] - best_bigram,
                lefts[r] - obs_left,
                rights[r] - obs_right,
                lefts[r] - best_left,
                rights[r] - best_right,
                priors[r],
                priors[r] - best_prior,
                lead.lexicon_rank[r],
                "wordnet" in source,
                "moby" in source,
                "phrase" in source,
                "observed" in source,
                zipf_c,
                zipf_c - zipf_obs,
                zipf_c - best_zipf,
                len(words) - len(observed),
                not vocabulary.isdisjoint(lead.content[r]),  # a content word in the text
                not lead.content[r],  # function words only
                len(observed),
                len(entry.names),
                zipf_obs,
                log_out[r],
                channels[r],
                log_out[r] - best_out,
                channels[r] - best_channel,
                registers[r],
                registers[r] - entry.register,
                registers[r] - best_register,
                news_fits[r] - obs_news,
                news_fits[r] - best_news,
            )
        )
    matrix = np.array(rows, dtype=np.float32).reshape(len(rows), len(RANK_FEATURE_NAMES))
    return SpanCandidates(names, scores, matrix)


def _news_chains(
    before: str, observed: Sequence[str], split: Sequence[Sequence[str]], after: str
) -> list[list[str]]:
    """The observed words, then each candidate, between the span's neighbours: the chains
    whose news fit the ranker reads."""
    return [[before, *words, after] for words in [observed, *split]]


def _leading(
    span: Span,
    normed: Sequence[str],
    lexicon: Lexicon,
    context: ContextModel,
    limit: int,
    deep: Sequence[_Deep] = (),
) -> _Lead | None:
    """The candidates the ranker reads for `span` (the scan's leading ones, then the extras
    `deep` from `_extras`) and what their rows need; None when there is nothing to rank."""
    names = span.candidates[:RANK_DEPTH]
    phrase = " ".join(normed[span.first : span.last])
    entry = phrase_entry(lexicon, context, phrase, limit)
    if not names or entry is None:
        return None
    where = {name: k for k, name in enumerate(entry.names)}
    idx = [where[name] for name in names]
    split = [entry.split[k] for k in idx]
    pair_keys = entry.pair_keys[idx]
    log_prior = [entry.log_prior[k] for k in idx]
    weights = [entry.weights[k] for k in idx]
    sources = [entry.sources[k] for k in idx]
    content = [entry.content[k] for k in idx]
    scores: list[float | None] = list(span.scores[: len(names)])
    if deep:
        more = [split_name(c.text) for c in deep]
        names = [*names, *(c.text for c in deep)]
        split += more
        pair_keys = np.concatenate([pair_keys, context.pair_keys(more)])
        log_prior += [PRIOR_WEIGHT * math.log(c.weight) for c in deep]
        weights += [c.weight for c in deep]
        sources += [c.source for c in deep]
        content += [content_words(words) for words in more]
        idx += [c.rank for c in deep]
        scores += [None] * len(deep)
    log_out = [candidate_terms(lexicon, context, words)[0] for words in split]
    return _Lead(
        names, split, pair_keys, log_prior, weights, sources, content, idx, log_out, scores, entry
    )


@dataclass(frozen=True, slots=True)
class _Deep:
    """A candidate from deeper among the thesaurus sources: its place there, and its link."""

    text: str
    weight: float
    source: str
    rank: int


def _extras(
    spans: Sequence[Span],
    normed: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    extra: int,
) -> list[list[_Deep]]:
    """For each span: up to `extra` sources of its observed words (among their first
    DEEP_LIMIT, outside the scan's leading candidates) that fit best between the span's
    neighbours in news prose, best first. One news lookup for all the spans."""
    news = news_bigrams()
    asked: list[tuple[DeepSources, str, str, set[str]] | None] = []
    for span in spans:
        names = span.candidates[:RANK_DEPTH]
        sources = None
        if extra and names:
            sources = deep_sources(lexicon, context, " ".join(normed[span.first : span.last]))
        if sources is None or not sources.names:
            asked.append(None)
            continue
        left, right = context_window(normed, sent, span.first, span.last)
        asked.append((sources, left[-1], right[0], set(names)))
    live = [a for a in asked if a is not None]
    _fill_parts([a[0] for a in live], news)
    fits = iter(
        news.fits_between(
            [a[1] for a in live], [a[0].parts(news) for a in live], [a[2] for a in live]
        )
    )
    out: list[list[_Deep]] = []
    for a in asked:
        picked: list[_Deep] = []
        if a is not None:
            sources, _, _, taken = a
            for k in np.argsort(-next(fits), kind="stable").tolist():
                name = sources.names[k]
                if name not in taken:
                    picked.append(_Deep(name, sources.weights[k], sources.sources[k], k))
                    if len(picked) == extra:
                        break
        out.append(picked)
    return out


def _fill_parts(deeps: Sequence[DeepSources], news: NewsBigrams) -> None:
    """Compute the news parts of the sources that lack them for `news`, in one batch."""
    todo = list({id(d): d for d in deeps if not d.has_parts(news)}.values())
    if not todo:
        return
    parts = news.name_parts([name for d in todo for name in d.names])
    at = 0
    for d in todo:
        d.set_parts(parts.part(at, at + len(d.names)))
        at += len(d.names)


class DeepSources:
    """The first DEEP_LIMIT thesaurus sources of an observed phrase (their names, link weights
    and sources, as `Lexicon.sources_of` gives them), with their news-table parts
    (`NewsBigrams.name_parts`) for the table last asked for."""

    __slots__ = ("names", "weights", "sources", "_parts")

    def __init__(
        self, names: Sequence[str], weights: Sequence[float], sources: Sequence[str]
    ) -> None:
        self.names, self.weights, self.sources = names, weights, sources
        self._parts: PhraseParts | None = None

    def has_parts(self, news: NewsBigrams) -> bool:
        """Whether the candidates' parts in `news` are known."""
        return self._parts is not None and self._parts.table is news

    def set_parts(self, parts: PhraseParts) -> None:
        """Keep the candidates' parts in a table (replacing those of another)."""
        if len(parts.firsts) != len(self.names):
            raise ValueError("parts of other candidates")
        self._parts = parts

    def parts(self, news: NewsBigrams) -> PhraseParts:
        """The candidates' parts in `news` (computed when the table in use changes)."""
        if not self.has_parts(news):
            _fill_parts([self], news)
        assert self._parts is not None
        return self._parts


_DEEP_CACHE: dict[tuple[int, str], DeepSources] = {}
# Each holds up to DEEP_LIMIT candidates; only the spans a scan ranks (flagged ones) ask.
_DEEP_CACHE_MAX = 10_000


def deep_sources(lexicon: Lexicon, context: ContextModel, phrase: str) -> DeepSources:
    """`DeepSources` of `phrase` (cached; a multiword phrase the lexicon does not hold as a
    target has none)."""
    key = (id(lexicon), phrase)
    hit = _DEEP_CACHE.get(key)
    if hit is None:
        from unspin.detect.entry_table import table_deep_sources

        found = table_deep_sources(lexicon, context, phrase) if " " not in phrase else None
        if found is None:
            cands = []
            if " " not in phrase or lexicon.has_entry(phrase):
                cands = lexicon.sources_of(phrase, limit=DEEP_LIMIT, memo=False)
            found = (
                tuple(c.text for c in cands),
                tuple(c.weight for c in cands),
                tuple(c.source for c in cands),
            )
        if len(_DEEP_CACHE) >= _DEEP_CACHE_MAX:
            _DEEP_CACHE.clear()
        hit = _DEEP_CACHE[key] = DeepSources(*found)
    return hit


def rerank(
    span: Span, names: Sequence[str], p: np.ndarray, scores: Sequence[float] | None = None
) -> tuple[float, float]:
    """Reorder `span.candidates` and their scan scores (in place) so that `names`, re-scored
    with probabilities `p`, come first, best first; other candidates keep their order after them.
    `scores` are the scan scores of `names` (needed for an extra the span does not hold yet).
    Returns the ranker's probability that the new leading candidate is the original, and its
    share of the re-scored candidates' probability mass (how clearly the ranker prefers it)."""
    if not len(names):
        return 0.0, 0.0
    order = sorted(range(len(names)), key=lambda r: (-p[r], r))
    score = dict(zip(span.candidates, span.scores, strict=True))
    if scores is not None:
        score.update(zip(names, scores, strict=True))
    head = [names[r] for r in order]
    chosen = set(head)
    span.candidates = head + [c for c in span.candidates if c not in chosen]
    span.scores = [score[c] for c in span.candidates]
    top = float(p[order[0]])
    return top, top / max(float(np.sum(p)), 1e-9)


def rank_spans(
    spans: Sequence[Span],
    which: Sequence[int],
    words: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    ranker: Any,
    *,
    fast: bool,
    limit: int,
) -> dict[int, tuple[float, float]]:
    """Re-rank the candidates of spans `which` (indices into `spans`) in one batch of the ranker;
    returns, per re-ranked span, what `rerank` returns. `words` are the normalised words."""
    rows = spans_rows(spans, which, words, sent, lexicon, context, fast=fast, limit=limit)
    return rerank_batch(spans, list(zip(which, rows, strict=True)), ranker)


def spans_rows(
    spans: Sequence[Span],
    which: Sequence[int],
    words: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    *,
    fast: bool,
    limit: int,
) -> list[SpanCandidates]:
    """`candidate_rows` of spans `which` of a document (`words` its normalised words), with
    the extras, bigram halves and news fits of all of them looked up in one batch each; the
    scan and the trainer both build their rows here."""
    vocabulary = set(words)
    deeps = _extras([spans[k] for k in which], words, sent, lexicon, context, EXTRA_CANDIDATES)
    leads = [
        (k, _leading(spans[k], words, lexicon, context, limit, deep))
        for k, deep in zip(which, deeps, strict=True)
    ]
    todo = [(k, lead) for k, lead in leads if lead is not None]
    # The leading candidates' bigram halves of every span, in one batch (as the features do).
    lefts, keys, rights = [], [], []
    for k, lead in todo:
        left, right = context_window(words, sent, spans[k].first, spans[k].last)
        lefts.append(left[-1])
        keys.append(lead.pair_keys)
        rights.append(right[0])
    heads, tails = context.bigram_parts_many(lefts, keys, rights)
    chains = []  # and their news fits, each span's observed words first
    for (k, lead), before, after in zip(todo, lefts, rights, strict=True):
        observed = words[spans[k].first : spans[k].last]
        chains += _news_chains(before, observed, lead.split, after)
    news_fits = news_bigrams().fits(chains).tolist() if chains else []
    built: dict[int, SpanCandidates] = {}
    at = 0
    at_news = 0
    for k, lead in todo:
        n = len(lead.names)
        halves = (heads[at : at + n], tails[at : at + n])
        fits = news_fits[at_news : at_news + n + 1]
        at += n
        at_news += n + 1
        built[k] = _rows(
            spans[k],
            lead,
            words,
            sent,
            vocabulary,
            context,
            fast=fast,
            halves=halves,
            news_fits=fits,
        )
    return [built.get(k, _NO_ROWS) for k in which]


_NO_ROWS = SpanCandidates([], [], np.zeros((0, len(RANK_FEATURE_NAMES)), dtype=np.float32))


def rerank_batch(
    spans: Sequence[Span], batch: Sequence[tuple[int, SpanCandidates]], ranker: Any
) -> dict[int, tuple[float, float]]:
    """`rerank` each (span index, its candidates' rows) of `batch` with one call of the
    ranker; the scan and the trainer both go through here, so they rank alike."""
    batch = [b for b in batch if len(b[1].names)]
    if not batch:
        return {}
    p = ranker.predict_proba(np.concatenate([rows.matrix for _, rows in batch]))[:, 1]
    out = {}
    at = 0
    for k, rows in batch:
        n = len(rows.names)
        out[k] = rerank(spans[k], rows.names, p[at : at + n], rows.scores)
        at += n
    return out
