"""Per-word features: does the thesaurus offer an original, and does it fit the context better?

For every run of 1..L words that some thesaurus entry could have produced, the observed wording is
scored against each candidate original in the same context. Each word gets the features of the
most suspicious span covering it. Pure function of (tokens, lexicon, context model).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from operator import add
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from unspin.context.model import BOS, EOS, ContextModel
from unspin.context.news import NewsBigrams, news_bigrams
from unspin.text.frequency import zipf as _zipf
from unspin.text.register import register
from unspin.types import Token

if TYPE_CHECKING:
    from unspin.lexicon import Lexicon

FEATURE_NAMES: tuple[str, ...] = (
    "has_candidates",
    "log_n_candidates",
    "span_len",
    "best_len_diff",
    "zipf_observed",
    "zipf_best",
    "max_prior",
    "prior_of_best",
    "lm_delta_best",
    "lm_delta_top_prior",
    "lm_delta_best_per_word",
    "bigram_delta_best",
    "lm_observed_per_word",
    "unigram_observed",
    "oov_observed",
    "capital_mid_sentence",
    "sentence_start",
    "function_word",
    "best_source_phrase",
    "best_source_both",
    "best_source_observed",
    "candidate_in_document",
    "best_channel",
    "channel_odds",
    "out_weight_observed",
    "context_surprise",
    "capital_run",
    "news_register",
    "neighbour_max_delta",
    "window_mean_delta",
    "window_mean_lm",
    "news_fit_observed",
    "news_fit_delta",
    "news_fit_vs_web",
)
# Columns filled per span by _score_span; then three derived from neighbours and the window,
# and three from the news bigram model (`news_columns`).
N_SPAN_FEATURES = FEATURE_NAMES.index("neighbour_max_delta")
_NEWS = FEATURE_NAMES.index("news_fit_observed")
# Candidates per span (in the scan's order) whose fit in news prose the word model reads.
NEWS_CANDIDATES = 3
N_FEATURES = len(FEATURE_NAMES)
_OUT_WEIGHT_COLUMN = FEATURE_NAMES.index("out_weight_observed")
_SURPRISE = FEATURE_NAMES.index("context_surprise")
_IN_NAME = FEATURE_NAMES.index("capital_run")
_REGISTER = FEATURE_NAMES.index("news_register")
# Words on each side of a word whose mean fit and P(swapped) tell it how odd its surroundings
# read: a paragraph is one window, an article several. A mean over a whole article would be one
# number that every word of it splits on, so a nudge to it (int8 rounding) could move dozens of
# flags at once.
CONTEXT_WINDOW = 40

# Small closed-class words: spinners swap some of them, so they are scored, but the model needs to
# know they are function words because their context fit behaves differently.
FUNCTION_WORDS = frozenset(
    """a an the and or but if because since as while although though so yet also however
    of in on at by for with about against between into through during before after above below
    to from up down over under again further then once here there when where why how all any
    both each few more most other some such no nor not only own same than too very can will
    just should now have has had having do does did is are was were be been being get got
    many much several this that these those it its they them their he she his her we our you
    your i me my said says say told tell""".split()
)

# How much a candidate's thesaurus prior counts against its fit in context (log-linear).
PRIOR_WEIGHT = 1.0

# Candidate originals kept per span, by default and in --fast mode.
MAX_CANDIDATES = 24
# How many thesaurus sources the candidate ranker draws its extra candidates from
# (`unspin.restore.rank.EXTRA_CANDIDATES`); the entry table holds them for common words.
DEEP_LIMIT = 200
FAST_CANDIDATES = 6

# How many candidates per span the trigram LM re-scores after the cheap bigram pass.
TRIGRAM_SHORTLIST = 4
# What the default mode takes off the score of a candidate the trigram LM did not re-score, so
# that it ranks after those it did.
NOT_SHORTLISTED = 1e6

_T = TypeVar("_T")
_APOSTROPHES = re.compile("[\u2019\u2018]")


@dataclass(slots=True)
class PhraseEntry:
    """What does not depend on context for an observed phrase: its candidate originals and
    their priors, frequencies and sources. Cached and shared, since the same words recur
    constantly: read-only by convention (not `frozen`, whose field-by-field `__setattr__`
    made building one cost twice as much; a scan builds one per new word)."""

    names: tuple[str, ...]
    split: tuple[tuple[str, ...], ...]
    pair_keys: np.ndarray  # per candidate: a row of ContextModel.pair_keys
    log_prior: tuple[float, ...]
    weights: tuple[float, ...]
    sources: tuple[str, ...]
    zipf_observed: float
    unigram: float
    first_unigram: float  # the first word's web unigram log-probability
    function: bool
    log_n: float  # log1p(number of candidates)
    max_weight: float
    # per candidate: is it a phrase link, in both WordNet and Moby, an observed swap; and its
    # content (non-function) words, for "does the original survive elsewhere in the text"
    source_flags: tuple[tuple[float, float, float], ...]
    content: tuple[tuple[str, ...], ...]
    # how much more often news uses the phrase's words than English at large (`text.register`)
    register: float


_ENTRY_CACHE: dict[tuple[int, str, int], PhraseEntry | None] = {}
_ENTRY_CACHE_MAX = 300_000


def phrase_entry(
    lexicon: Lexicon, context: ContextModel, phrase: str, limit: int
) -> PhraseEntry | None:
    """The cached entry for `phrase`, or None for a multiword phrase with no sources.

    A common word's entry comes from the precomputed table of the lexicon's cache
    (`unspin.detect.entry_table`) where there is one: the same entry, without its lexicon walk.
    """
    key = (id(lexicon), phrase, limit)
    hit = _ENTRY_CACHE.get(key, _MISSING)
    if hit is not _MISSING:
        return hit  # type: ignore[return-value]
    entry = None if " " in phrase else _table_entry(lexicon, context, phrase, limit)
    if entry is None:
        entry = compute_entry(lexicon, context, phrase, limit)
    return _remember(_ENTRY_CACHE, key, entry)


def _remember(memo: dict, key: object, value: _T) -> _T:
    """Store `value` in one of this module's memos and return it; a full memo is emptied
    first, so a long run's memory stays bounded."""
    if len(memo) >= _ENTRY_CACHE_MAX:
        memo.clear()
    memo[key] = value
    return value


def compute_entry(
    lexicon: Lexicon, context: ContextModel, phrase: str, limit: int
) -> PhraseEntry | None:
    """`phrase_entry` from the lexicon itself, uncached."""
    words = phrase.split(" ")
    if len(words) == 1 or lexicon.has_entry(phrase):
        cands = lexicon.sources_of(phrase, limit=limit)
        if cands or len(words) == 1:
            names = tuple(c.text for c in cands)
            split = tuple(map(split_name, names))
            return entry_from_parts(
                phrase,
                names,
                tuple(c.weight for c in cands),
                tuple(c.source for c in cands),
                tuple(context.unigram_logprob(w) for w in words),
                context.pair_keys(split),
                split,
            )
    return None


def entry_from_parts(
    phrase: str,
    names: tuple[str, ...],
    weights: tuple[float, ...],
    sources: tuple[str, ...],
    unigrams: tuple[float, ...],
    pair_keys: np.ndarray,
    split: tuple[tuple[str, ...], ...] | None = None,
    zipf_observed: float | None = None,
) -> PhraseEntry:
    """A phrase entry from its candidates (names, link weights, sources), its words' web
    unigram log-probabilities and the candidates' `ContextModel.pair_keys` rows; the rest is
    derived here (`zipf_observed` too, unless given), the same way whether the parts were just
    looked up or read from a table."""
    words = phrase.split(" ")
    if split is None:
        split = tuple(map(split_name, names))
    return PhraseEntry(
        names=names,
        split=split,
        pair_keys=pair_keys,
        log_prior=tuple([PRIOR_WEIGHT * v for v in map(math.log, weights)]),
        weights=weights,
        sources=sources,
        zipf_observed=_zipf(phrase) if zipf_observed is None else zipf_observed,
        unigram=sum(unigrams) / len(words),
        first_unigram=unigrams[0],
        function=all(w in FUNCTION_WORDS for w in words),
        log_n=math.log1p(len(names)),
        max_weight=max(weights, default=0.0),
        source_flags=tuple(map(_source_flags, sources)),
        content=tuple(map(content_words, split)),
        register=register(words),
    )


# Per candidate, not per entry: the same candidates recur in the entries of many words.
@lru_cache(maxsize=200_000)
def split_name(name: str) -> tuple[str, ...]:
    """A candidate's words."""
    return tuple(name.split())


@lru_cache(maxsize=200_000)
def content_words(words: tuple[str, ...]) -> tuple[str, ...]:
    """A candidate's content (non-function) words."""
    return tuple(w for w in words if w not in FUNCTION_WORDS)


def _table_entry(
    lexicon: Lexicon, context: ContextModel, word: str, limit: int
) -> PhraseEntry | None:
    """A word's entry from the precomputed table, or None where it has none."""
    from unspin.detect.entry_table import table_entry

    return table_entry(lexicon, context, word, limit)


_MISSING = object()
# Floor of an out-weight (`Lexicon.out_weight`) before its log.
MIN_OUT_WEIGHT = 1e-3


def channel_features(
    lexicon: Lexicon,
    context: ContextModel,
    phrase: str,
    split: Sequence[tuple[str, ...]],
    weights: Sequence[float],
    observed_unigram: float,
) -> tuple[float, float, float]:
    """How a noisy-channel spinner explains `phrase`, from its candidate originals (`split`,
    link `weights`) and its summed web unigram log-probability:

    - the most likely candidate's log P(phrase | candidate): its link weight over everything
      the candidate could have been spun into (`Lexicon.out_weight`);
    - the log odds that some candidate was spun into it rather than it being written:
      log sum_c P(c) P(phrase | c) - log P(phrase), P by web unigrams;
    - the log of the phrase's own out-weight (how many ways a spinner could replace it).

    All 0.0 for a phrase without candidates."""
    own = candidate_terms(lexicon, context, tuple(phrase.split(" ")))[0]
    if not split:
        return (0.0, 0.0, own)
    best_channel = -math.inf
    joint = []
    for ws, w in zip(split, weights, strict=True):
        log_out, unigram = candidate_terms(lexicon, context, ws)
        channel = log_channel(w, log_out)
        best_channel = max(best_channel, channel)
        joint.append(channel + unigram)
    top = max(joint)
    odds = top + math.log(sum(math.exp(x - top) for x in joint)) - observed_unigram
    return (best_channel, odds, own)


# What --fast reads instead: the channel columns cost a lexicon walk per new word, and with
# them the --fast model judged 1.2 % of held-out clean paragraphs spun (over the 1 % budget).
NO_CHANNEL = (0.0, 0.0, 0.0)
_CHANNEL_CACHE: dict[tuple[int, int, str, tuple[str, ...]], tuple[float, float, float]] = {}


def entry_channel(
    lexicon: Lexicon, context: ContextModel, phrase: str, entry: PhraseEntry
) -> tuple[float, float, float]:
    """`channel_features` of an observed phrase and its entry (cached)."""
    key = (id(lexicon), id(context), phrase, entry.names)
    hit = _CHANNEL_CACHE.get(key)
    if hit is None:
        hit = _table_channel(lexicon, context, phrase, entry.names)
        if hit is None:
            hit = compute_channel(lexicon, context, phrase, entry)
        _remember(_CHANNEL_CACHE, key, hit)
    return hit


def compute_channel(
    lexicon: Lexicon, context: ContextModel, phrase: str, entry: PhraseEntry
) -> tuple[float, float, float]:
    """`entry_channel` from the lexicon itself, uncached."""
    observed = candidate_terms(lexicon, context, tuple(phrase.split(" ")))[1]
    return channel_features(lexicon, context, phrase, entry.split, entry.weights, observed)


def _table_channel(
    lexicon: Lexicon, context: ContextModel, phrase: str, names: tuple[str, ...]
) -> tuple[float, float, float] | None:
    """A word's `channel_features` from the precomputed table, for the candidates `names`."""
    if " " in phrase:
        return None
    from unspin.detect.entry_table import table_channel

    return table_channel(lexicon, context, phrase, names)


def log_channel(weight: float, log_out: float) -> float:
    """log P(observed | candidate) up to a constant of the observed phrase: the link's weight
    over the candidate's out-weight (given as its log, from `candidate_terms`)."""
    return math.log(max(weight, 1e-6)) - log_out


_TERMS_CACHE: dict[tuple[int, int, tuple[str, ...]], tuple[float, float]] = {}


def candidate_terms(
    lexicon: Lexicon, context: ContextModel, words: tuple[str, ...]
) -> tuple[float, float]:
    """A candidate's log out-weight and summed web unigram log-probability (cached: the same
    candidates recur across many observed words)."""
    key = (id(lexicon), id(context), words)
    hit = _TERMS_CACHE.get(key)
    if hit is None:
        out = lexicon.out_weight(" ".join(words))
        hit = (
            math.log(max(out, MIN_OUT_WEIGHT)),
            sum(context.unigram_logprob(w) for w in words),
        )
        _remember(_TERMS_CACHE, key, hit)
    return hit


@lru_cache(maxsize=64)
def _source_flags(source: str) -> tuple[float, float, float]:
    """A link's source as features: a phrase link, in both WordNet and Moby, an observed swap
    (one shared tuple per source name, not one per candidate)."""
    return (
        float("phrase" in source),
        float("wordnet" in source and "moby" in source),
        float("observed" in source),
    )


@lru_cache(maxsize=300_000)
def _unknown_to_lm(context: ContextModel, phrase: str) -> bool:
    """Whether some word of `phrase` is outside the trigram LM's vocabulary (a default-mode
    feature; --fast, which has no trigram LM, never asks)."""
    return not all(context.known(w) for w in phrase.split(" "))


@dataclass(slots=True)
class Span:
    """A run of words the thesaurus could have produced, with ranked candidate originals."""

    first: int  # index into the word list
    last: int  # exclusive
    candidates: list[str]
    scores: list[float]
    suspicion: float
    features: list[float] = field(default_factory=list)
    # the web bigram fit of the observed words between their neighbours
    observed_bigram: float = 0.0


@dataclass(slots=True)
class DocFeatures:
    """Word tokens, their feature matrix and the span each word's features came from."""

    words: list[Token]
    matrix: np.ndarray
    spans: list[Span]
    word_span: list[int]  # per word: index into spans, or -1
    normed: list[str]  # per word: `norm_word` of its text, the form lexicon and LM use
    sentences: list[int]  # per word: its sentence number


def norm_word(word: str) -> str:
    """Lower-case a word and unify curly apostrophes, the form lexicon and LM use."""
    return _APOSTROPHES.sub("'", word.lower())


def extract(
    tokens: list[Token],
    lexicon: Lexicon,
    context: ContextModel,
    *,
    fast: bool = False,
    max_candidates: int = MAX_CANDIDATES,
) -> DocFeatures:
    """Compute the feature matrix for the word tokens of one document.

    `fast` skips the trigram LM and uses web bigram counts only (several times faster).
    """
    words = [t for t in tokens if t.kind == "word"]
    n = len(words)
    normed = [norm_word(w.text) for w in words]
    # Context skips punctuation but stops at sentence edges (the LM has no punctuation).
    sent = [w.sentence for w in words]
    sentence_start = [i == 0 or sent[i - 1] != sent[i] for i in range(n)]
    capital_run = name_runs(words, sentence_start)
    spans: list[Span] = []
    word_span = [-1] * n
    best_for_word = [-math.inf] * n
    max_len = max(1, min(lexicon.max_phrase_len, 5))
    # Spinners are inconsistent: the original often survives elsewhere in the same document.
    vocabulary = set(normed)
    limit = FAST_CANDIDATES if fast else max_candidates

    # Only whitespace between two words: a phrase may span them (punctuation breaks it).
    adjacent = [b.start - a.end <= 2 for a, b in zip(words, words[1:], strict=False)]
    may_start_phrase, may_continue = lexicon.may_start_phrase, lexicon.may_continue
    # Every run of words the thesaurus could have produced, with its neighbours: the cheap
    # first stage (web bigram fit of every candidate) is done for all of them at once.
    found: list[tuple[int, int, PhraseEntry, str, str, str]] = []
    for i in range(n):
        s = sent[i]
        before = normed[i - 1] if i and sent[i - 1] == s else BOS
        for length in range(1, max_len + 1):
            j = i + length
            if j > n or sent[j - 1] != s:
                break
            if length > 1 and not adjacent[j - 2]:
                break
            if length == 2 and not may_start_phrase(normed[i], normed[i + 1]):
                break
            if length > 2 and not may_continue(normed[i : j - 1]):
                break
            phrase = " ".join(normed[i:j])
            entry = phrase_entry(lexicon, context, phrase, limit)
            if entry is None:
                continue
            after = normed[j] if j < n and sent[j] == s else EOS
            found.append((i, j, entry, before, after, phrase))
    fits = context.bigram_fits_many(
        [f[3] for f in found], [f[2].pair_keys for f in found], [f[4] for f in found]
    )
    own = None if fast else own_logprobs(context, normed, sent)
    offset = 0
    for i, j, entry, before, after, phrase in found:
        n_cands = len(entry.names)
        channel = NO_CHANNEL if fast else entry_channel(lexicon, context, phrase, entry)
        span = _score_span(
            i,
            j,
            before,
            after,
            fits[offset : offset + n_cands],
            normed,
            sent,
            entry,
            context,
            fast,
            words,
            sentence_start,
            vocabulary,
            capital_run,
            channel,
            own,
        )
        offset += n_cands
        spans.append(span)
        k = len(spans) - 1
        suspicion = span.suspicion
        for w in range(i, j):
            if suspicion > best_for_word[w]:
                best_for_word[w] = suspicion
                word_span[w] = k

    matrix = np.zeros((n, N_FEATURES), dtype=np.float32)
    if n:  # one conversion for the whole document: row by row costs several times more
        empty = [0.0] * N_SPAN_FEATURES
        rows = [spans[k].features if k >= 0 else empty for k in word_span]
        matrix[:, :N_SPAN_FEATURES] = np.array(rows, dtype=np.float32)
    _add_pooled_features(matrix)
    news_columns(matrix, normed, sent, spans, word_span, context, news_bigrams())
    return DocFeatures(
        words=words,
        matrix=matrix,
        spans=spans,
        word_span=word_span,
        normed=normed,
        sentences=sent,
    )


# Columns the swapped-word encoder (`unspin.context.encoder`) adds after FEATURE_NAMES in the
# default mode; `--fast` skips the encoder.
ENCODER_FEATURE_NAMES: tuple[str, ...] = (
    "encoder_logit",
    "encoder_neighbour_max",
    "encoder_window_mean",
)
_LOGIT_CAP = 12.0


def encoder_columns(logits: np.ndarray) -> np.ndarray:
    """The encoder's view of each word: its own swap logit, the most suspicious of its two
    neighbours on each side (a swap spoils its neighbours' context too), and the mean
    P(swapped) of the words within CONTEXT_WINDOW of it."""
    x = np.clip(np.asarray(logits, dtype=np.float32), -_LOGIT_CAP, _LOGIT_CAP)
    n = len(x)
    out = np.zeros((n, len(ENCODER_FEATURE_NAMES)), dtype=np.float32)
    if n == 0:
        return out
    pad = np.full(2, -_LOGIT_CAP, dtype=np.float32)
    padded = np.concatenate([pad, x, pad])
    neighbours = np.stack([padded[k : k + n] for k in (0, 1, 3, 4)])
    out[:, 0] = x
    out[:, 1] = neighbours.max(axis=0)
    out[:, 2] = window_mean(1.0 / (1.0 + np.exp(-x)))
    return out


def window_mean(
    values: np.ndarray, mask: np.ndarray | None = None, half: int = CONTEXT_WINDOW
) -> np.ndarray:
    """For each position, the mean of `values` (where `mask`) within `half` positions on either
    side, itself included; 0 where the window holds no masked value."""
    n = len(values)
    v = np.asarray(values, dtype=np.float64)
    m = np.ones(n) if mask is None else np.asarray(mask, dtype=np.float64)
    sums = np.concatenate([[0.0], np.cumsum(v * m)])
    counts = np.concatenate([[0.0], np.cumsum(m)])
    lo = np.maximum(np.arange(n) - half, 0)
    hi = np.minimum(np.arange(n) + half + 1, n)
    total, count = sums[hi] - sums[lo], counts[hi] - counts[lo]
    return np.where(count > 0, total / np.maximum(count, 1.0), 0.0)


def with_encoder(feats: DocFeatures, logits: np.ndarray) -> DocFeatures:
    """`feats` with the encoder columns appended to its word matrix."""
    matrix = np.hstack([feats.matrix, encoder_columns(logits)])
    return replace(feats, matrix=matrix)


# Extra inputs of the restore model (see `restore_matrix`), after the word features.
RESTORE_EXTRA_NAMES: tuple[str, ...] = (
    "top_margin",
    "top_two_close",
    "rank_top_p",
    "rank_top_share",
)
_MARGIN_CAP = 20.0


def restore_matrix(
    matrix: np.ndarray,
    spans: Sequence[Span],
    word_span: Sequence[int],
    ranked: dict[int, tuple[float, float]] | None = None,
) -> np.ndarray:
    """Word features plus how clearly each word's span prefers its leading candidate: the restore
    model asks "is the top suggestion the original?", not only "was this word swapped?".

    `ranked` holds, per span re-ranked by the candidate ranker (`unspin.restore.rank`), the
    ranker's probability for its leading candidate and that candidate's share; 0 elsewhere.
    """
    n = len(matrix)
    ranked = ranked or {}
    extra = np.zeros((n, len(RESTORE_EXTRA_NAMES)), dtype=np.float32)
    margins: dict[int, float] = {}
    for w, k in enumerate(word_span):
        if k < 0:
            continue
        if k not in margins:
            scores = spans[k].scores
            if len(scores) >= 2:
                margins[k] = min(max(scores[0] - scores[1], 0.0), _MARGIN_CAP)
            else:
                margins[k] = _MARGIN_CAP if scores else 0.0
        m = margins[k]
        top_p, share = ranked.get(k, (0.0, 0.0))
        extra[w] = (m, float(m < 1.0), top_p, share)
    return np.hstack([matrix, extra])


_DELTA = FEATURE_NAMES.index("lm_delta_best")
_HAS = FEATURE_NAMES.index("has_candidates")
_LM = FEATURE_NAMES.index("lm_observed_per_word")


def _add_pooled_features(matrix: np.ndarray) -> None:
    """Neighbour and surrounding context: a swap also spoils its neighbours' fit, and a text's
    own style (wire jargon, dense names) shifts every word's fit around it."""
    n = len(matrix)
    if n == 0:
        return
    delta = np.where(matrix[:, _HAS] > 0, matrix[:, _DELTA], -20.0)
    left = np.concatenate([[-20.0], delta[:-1]])
    right = np.concatenate([delta[1:], [-20.0]])
    matrix[:, N_SPAN_FEATURES] = np.maximum(left, right)
    matrix[:, N_SPAN_FEATURES + 1] = window_mean(matrix[:, _DELTA], matrix[:, _HAS] > 0)
    matrix[:, N_SPAN_FEATURES + 2] = window_mean(matrix[:, _LM])


def news_columns(
    matrix: np.ndarray,
    normed: Sequence[str],
    sent: Sequence[int],
    spans: Sequence[Span],
    word_span: Sequence[int],
    context: ContextModel,
    news: NewsBigrams,
) -> None:
    """Fill each word's news columns from its best span (the word alone where it has none):
    how well the observed words fit their neighbours in news prose (per pair), how much better
    the best of the span's first NEWS_CANDIDATES candidates fits there, and the observed fit in
    news against the web's. A spinner's choice may be fine English but unlike news wording.
    Every pair of a document is looked up in one batch (`NewsBigrams.logprobs`)."""
    n = len(normed)
    if n == 0:
        return
    before = [normed[k - 1] if k and sent[k - 1] == sent[k] else BOS for k in range(n)]
    units: dict[tuple[int, int], int] = {}  # each word's (first, last) -> unit number
    unit_of_word = []
    unit_span = []  # per unit: its span, or -1 (the word alone)
    for w in range(n):
        k = word_span[w]
        key = (spans[k].first, spans[k].last) if k >= 0 else (w, w + 1)
        u = units.get(key)
        if u is None:
            u = units[key] = len(unit_span)
            unit_span.append(k)
        unit_of_word.append(u)
    # Pairs: every word after its left neighbour, then each unit's last word before EOS where
    # its sentence ends there; and each candidate's chain between the unit's neighbours.
    ends: list[str] = []  # the last words before EOS
    chains: list[list[str]] = []
    first: list[int] = []
    last: list[int] = []
    end_at: list[int] = []  # per unit: its EOS pair's place in `ends`, or -1
    cand_lo: list[int] = []
    cand_hi: list[int] = []
    web: list[float] = []
    for i, j in units:  # in unit order
        first.append(i)
        last.append(j)
        follows = j < n and sent[j] == sent[i]
        after = normed[j] if follows else EOS
        if follows:
            end_at.append(-1)
        else:
            end_at.append(len(ends))
            ends.append(normed[j - 1])
        k = unit_span[len(web)]
        cand_lo.append(len(chains))
        if k >= 0:
            span = spans[k]
            web.append(span.observed_bigram)
            head = span.candidates[:NEWS_CANDIDATES]
            chains += [[before[i], *split_name(name), after] for name in head]
        else:
            lp = context.bigram_logprob
            web.append(lp(before[i], normed[i]) + lp(normed[j - 1], after))
        cand_hi.append(len(chains))
    logprobs = news.logprobs([*before, *ends], [*normed, *[EOS] * len(ends)])
    cand_fit = news.fits(chains)
    first_a, last_a, end_a = np.array(first), np.array(last), np.array(end_at)
    lo, hi = np.array(cand_lo), np.array(cand_hi)
    into = logprobs[:n]
    to_end = np.append(logprobs[n:], 0.0)  # [-1]: a unit its sentence goes on
    running = np.concatenate([[0.0], np.cumsum(into)])
    follow_term = np.where(end_a < 0, np.append(into, 0.0)[last_a], to_end[end_a])
    observed = running[last_a] - running[first_a] + follow_term
    has = hi > lo
    best = observed.copy()
    if chains:
        best[has] = np.maximum.reduceat(cand_fit, lo[has])
    rows = np.stack(
        [observed / (last_a - first_a + 1), best - observed, observed - np.array(web)], axis=1
    )
    matrix[:, _NEWS : _NEWS + 3] = rows[unit_of_word]


def name_runs(words: Sequence[Token], sentence_start: Sequence[bool]) -> list[bool]:
    """Per word: capitalised in mid-sentence next to another such word of its sentence, as in
    "the River Tell" or "Cape Town". A lone mid-sentence capital ("the Resistance said") is a
    typical spinner slip; one inside a run of them is most likely a name, and the simulator, like
    real spinners, leaves names alone."""
    n = len(words)
    cap = [
        not sentence_start[i] and words[i].text[:1].isupper() and not words[i].text.isupper()
        for i in range(n)
    ]
    # A capital in mid-sentence is never a sentence's first word, so neighbours share it.
    return [cap[i] and ((i > 0 and cap[i - 1]) or (i + 1 < n and cap[i + 1])) for i in range(n)]


@dataclass(slots=True)
class OwnLogprobs:
    """The trigram LM's log-probability of each word of a document given the two before it in
    its sentence (BOS at its start), and of each sentence's end: a span's observed window
    (`context_window` around its own words) is a sum of these, the same sum in the same order
    as `ContextModel.window_logprob` makes, so the scan looks each up once, not once per span
    that covers it."""

    at: list[float]  # per word
    end: list[float]  # per word: the EOS term of its sentence
    sent: Sequence[int]

    def window(self, i: int, j: int) -> float:
        """`window_logprob` of words [i, j) between their own neighbours."""
        at, sent, n = self.at, self.sent, len(self.at)
        total = 0.0
        for k in range(i, j):
            total += at[k]
        if j < n and sent[j] == sent[i]:
            total += at[j]
            total += at[j + 1] if j + 1 < n and sent[j + 1] == sent[i] else self.end[i]
        else:
            total += self.end[i]
        return total


def own_logprobs(context: ContextModel, normed: Sequence[str], sent: Sequence[int]) -> OwnLogprobs:
    """`OwnLogprobs` of a document's normalised words and their sentence numbers."""
    at: list[float] = []
    end: list[float] = []
    n = len(normed)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and sent[stop] == sent[start]:
            stop += 1
        terms = context.sequence_logprobs([BOS, *normed[start:stop], EOS])
        at += terms[:-1]
        end += [terms[-1]] * (stop - start)
        start = stop
    return OwnLogprobs(at, end, sent)


def context_window(
    normed: Sequence[str], sent: Sequence[int], i: int, j: int
) -> tuple[list[str], list[str]]:
    """Up to two words left and right of words [i, j) in the same sentence, padded with
    BOS/EOS at the sentence edges: the window the LM scores a phrase in."""
    s = sent[i]
    n = len(normed)
    left = []  # written out: every span of every scan asks for its window
    if i >= 2 and sent[i - 2] == s:
        left.append(normed[i - 2])
    if i >= 1 and sent[i - 1] == s:
        left.append(normed[i - 1])
    if len(left) < 2:
        left.insert(0, BOS)
    right = []
    if j < n and sent[j] == s:
        right.append(normed[j])
    if j + 1 < n and sent[j + 1] == s:
        right.append(normed[j + 1])
    if len(right) < 2:
        right.append(EOS)
    return left, right


def _score_span(
    i: int,
    j: int,
    before: str,
    after: str,
    bigram: list[float],
    normed: list[str],
    sent: list[int],
    entry: PhraseEntry,
    context: ContextModel,
    fast: bool,
    words: list[Token],
    sentence_start: list[bool],
    vocabulary: set[str],
    capital_run: list[bool],
    channel: tuple[float, float, float] = NO_CHANNEL,
    own: OwnLogprobs | None = None,
) -> Span:
    """Score words [i, j) against their candidate originals; `before` and `after` are the
    neighbouring words in the sentence (BOS/EOS at its edges), `bigram` the candidates' web
    bigram fits between them, `channel` the phrase's `channel_features`, `own` the trigram LM
    terms of the document's own words (default mode)."""
    observed = normed[i:j]
    length = j - i
    bigram_logprob = context.bigram_logprob
    first_fit = bigram_logprob(before, observed[0])
    obs_bigram = first_fit + bigram_logprob(observed[-1], after)
    if fast:
        obs_fit = obs_bigram
        # How much the left context raises the first word's probability over its base rate.
        surprise = first_fit - entry.first_unigram
    else:
        assert own is not None  # `extract` gives it in the default mode
        left, right = context_window(normed, sent, i, j)
        obs_fit = own.window(i, j)
        surprise = own.at[i] - context.logprob(observed[0])

    # Stage 1: every candidate by web bigram fit and prior (cheap). Stage 2 (default mode):
    # the most promising few, and the top-prior one, again with the trigram LM window.
    split, log_w = entry.split, entry.log_prior
    n_cands = len(split)
    scores = list(map(add, bigram, log_w))  # map, not a comprehension: no frame per span
    fits = bigram
    if not fast and n_cands:
        fits = list(bigram)
        shortlist = sorted(range(n_cands), key=scores.__getitem__, reverse=True)
        shortlist = shortlist[:TRIGRAM_SHORTLIST]
        if 0 not in shortlist:
            shortlist.append(0)
        for k in shortlist:
            fits[k] = context.window_logprob(left, split[k], right)
        # candidates not rescored rank after the rescored ones
        scores = [
            fits[k] + log_w[k] if k in shortlist else scores[k] - NOT_SHORTLISTED
            for k in range(n_cands)
        ]
    # Best first; the sort is stable, so ties keep the thesaurus order (as max() would).
    order = sorted(range(n_cands), key=scores.__getitem__, reverse=True)
    best_idx = order[0] if n_cands else -1

    head = words[i].text
    capital_mid = float(head[:1].isupper() and not sentence_start[i] and not head.isupper())
    in_name = float(any(capital_run[i:j]))
    zipf_obs = entry.zipf_observed
    function = float(entry.function)
    oov = 0.0 if fast else float(_unknown_to_lm(context, " ".join(observed)))
    unigram = entry.unigram

    if best_idx >= 0:
        best_len = len(split[best_idx])
        delta = fits[best_idx] - obs_fit
        phrase_link, both, observed_swap = entry.source_flags[best_idx]
        feats = [
            1.0,
            entry.log_n,
            float(length),
            float(best_len - length),
            zipf_obs,
            _zipf(entry.names[best_idx]),
            entry.max_weight,
            entry.weights[best_idx],
            delta,
            fits[0] - obs_fit,
            delta / max(length, best_len),
            bigram[best_idx] - obs_bigram,
            obs_fit / (length + 2),
            unigram,
            oov,
            capital_mid,
            float(sentence_start[i]),
            function,
            phrase_link,
            both,
            observed_swap,
            float(not vocabulary.isdisjoint(entry.content[best_idx])),
            *channel,
            surprise,
            in_name,
            entry.register,
        ]
        suspicion = delta + 2.0 * capital_mid
    else:
        feats = [0.0] * N_SPAN_FEATURES
        feats[_SURPRISE] = surprise
        feats[_IN_NAME] = in_name
        feats[_REGISTER] = entry.register
        feats[2] = float(length)
        feats[4] = zipf_obs
        feats[12] = obs_fit / (length + 2)
        feats[13] = unigram
        feats[14] = oov
        feats[15] = capital_mid
        feats[16] = float(sentence_start[i])
        feats[17] = function
        feats[_OUT_WEIGHT_COLUMN] = channel[2]
        suspicion = -50.0 + 2.0 * capital_mid
    return Span(
        first=i,
        last=j,
        candidates=list(map(entry.names.__getitem__, order)),
        scores=list(map(scores.__getitem__, order)),
        suspicion=suspicion,
        features=feats,
        observed_bigram=obs_bigram,
    )
