"""A spinner simulator: rewrite clean text the way commercial article spinners do, with labels.

Real spinners (SpinBot, SpinnerChief, WordAI, The Best Spinner) and the paper mills behind
"tortured phrases" replace words by thesaurus synonyms picked without looking at the context.
They prefer common, fluent synonyms, swap function words and connectives as well as content
words, rewrite multiword phrases, and now and then break capitalisation or inflection or drop a
small word. Names and numbers mostly survive. `spin()` imitates this with the project lexicon as
its only thesaurus and returns every change as an exact, reversible `Swap`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from unspin.types import Token

__all__ = [
    "PICK_BIAS",
    "PROFILES",
    "LexiconLike",
    "SpinProfile",
    "SpinResult",
    "Swap",
    "eligible_words",
    "plain_candidates",
    "spin",
    "spin_documents",
]


@dataclass(frozen=True)
class SpinProfile:
    """How one kind of spinner behaves; see `PROFILES` for the documented set.

    `rate` is the default share of eligible words changed, `thesaurus` which lexicon sources may be
    used ("wordnet", "moby", "both", "phrase", or "all": both plus the links real spinners were
    seen to make), `prefer` how a synonym is picked among the
    candidates ("common", "uniform", "rare", or "tortured" for the paper-mill fit), `phrase_rate`
    the share of swaps that are multiword or function-word swaps, `keep_inflection`/`keep_case`
    False to sometimes break word form or capitalise a mid-sentence swap, `drop_rate` the chance
    to drop each small droppable function word.
    """

    name: str
    rate: float
    thesaurus: str
    prefer: str
    phrase_rate: float
    keep_inflection: bool
    keep_case: bool
    drop_rate: float
    description: str


@dataclass(frozen=True)
class Swap:
    """One change: `text` at [start, end) of the spun text replaced `original` at
    [orig_start, orig_end) of the original text. A dropped word has an empty `text`."""

    start: int
    end: int
    text: str
    orig_start: int
    orig_end: int
    original: str


@dataclass(frozen=True)
class SpinResult:
    """Spun text, the original, the exact swaps (sorted by position) and the profile name."""

    text: str
    original: str
    swaps: list[Swap] = field(default_factory=list)
    profile: str = ""

    def labels(self) -> list[tuple[int, int, int]]:
        """`(start, end, label)` for each word of the spun text; label 1 if a swap covers it."""
        from unspin.text import tokenize

        spans = [(s.start, s.end) for s in self.swaps if s.end > s.start]
        out: list[tuple[int, int, int]] = []
        k = 0
        for tok in tokenize(self.text):
            if tok.kind != "word":
                continue
            while k < len(spans) and spans[k][1] <= tok.start:
                k += 1
            hit = k < len(spans) and spans[k][0] < tok.end
            out.append((tok.start, tok.end, int(hit)))
        return out

    def undo(self) -> str:
        """Apply the swaps backwards to the spun text; gives back `original` exactly."""
        parts: list[str] = []
        pos = 0
        for s in self.swaps:
            parts.append(self.text[pos : s.start])
            parts.append(s.original)
            pos = s.end
        parts.append(self.text[pos:])
        return "".join(parts)

    @property
    def changed_words(self) -> int:
        """How many words of the original the swaps replaced (drops not included)."""
        return sum(len(s.original.split()) for s in self.swaps if s.text)

    @property
    def dropped_words(self) -> int:
        """How many small words were dropped."""
        return sum(1 for s in self.swaps if not s.text)

    def realised_rate(self) -> float:
        """Changed words over eligible words of the original: what `rate` asked for."""
        return self.changed_words / max(len(eligible_words(self.original)), 1)


class LexiconLike(Protocol):
    """What the simulator needs from `unspin.lexicon.Lexicon` (a fake one serves in tests)."""

    max_phrase_len: int

    def synonyms_of(self, phrase: str, limit: int = ...) -> list[Any]:
        """Candidates (`.text`, `.weight`, `.source`) a spinner may turn `phrase` into."""
        ...


# How a synonym is picked among the allowed candidates (the lexicon's best `_CANDIDATES`):
# P(c) ∝ exp(a * zipf(c) + b * ln weight(c)), zipf from wordfreq, weight the lexicon's link prior
# (which already favours common words). Fitted by maximum likelihood on the real word choices of
# the odd data rows of the tortured-phrases list, `python -m unspin.spin.calibrate` (1,005 real
# choices found among the top 60 candidates, 2,861 tried; median rank by weight at 24% of the
# list, by frequency at 49%, i.e. no better than chance):
#   zipf only     a = -0.01            (frequency alone does not predict the choice)
#   weight only   b = 3.01             (log-lik -3.70 per choice vs -3.95 uniform)
#   zipf + weight a = -0.63, b = 3.95  (log-lik -3.61)
# "tortured" is the joint fit: the paper mill takes the thesaurus' first synonym only ~10% of the
# time and often goes deep into the list. Commercial news spinners are more fluent: "common"
# sharpens the weight slope so that about a third of picks are the lexicon's first synonym and
# ~57% one of its first three, with ~20% still from rank 10 on (the calibration script prints
# these shares for every setting). "rare" inverts the frequency preference (crude spinners).
PICK_BIAS: dict[str, tuple[float, float]] = {
    "common": (0.0, 8.0),
    "tortured": (-0.63, 3.95),
    "uniform": (0.0, 0.0),
    "rare": (-1.0, 0.0),
}

# Which thesauri each `SpinProfile.thesaurus` setting admits. A candidate's `source` names the
# thesauri that link it ("wordnet", "moby", "phrase" for the curated swaps, "observed" for links
# real spinners made), joined by "+" when several do; "both" means WordNet and Moby.
_THESAURI: dict[str, frozenset[str]] = {
    "wordnet": frozenset({"wordnet"}),
    "moby": frozenset({"moby"}),
    "both": frozenset({"wordnet", "moby", "phrase"}),
    "phrase": frozenset({"phrase"}),
    "all": frozenset({"wordnet", "moby", "phrase", "observed"}),
}


@lru_cache(maxsize=256)
def _source_set(source: str) -> frozenset[str]:
    parts = {p.strip().lower() for p in source.replace(",", "+").split("+")}
    if "both" in parts:
        parts |= {"wordnet", "moby"}
    return frozenset(parts)


PROFILES: dict[str, SpinProfile] = {
    p.name: p
    for p in [
        SpinProfile(
            name="spinbot",
            rate=0.3,
            thesaurus="both",
            prefer="common",
            phrase_rate=0.65,
            keep_inflection=False,
            keep_case=False,
            drop_rate=0.02,
            description=(
                "SpinBot-style free spinner: common synonyms from both thesauri, many function-word"
                " and phrase swaps, an occasional wrong word form, Capitalised mid-sentence swap"
                " or dropped small word."
            ),
        ),
        SpinProfile(
            name="spinnerchief",
            rate=0.25,
            thesaurus="moby",
            prefer="common",
            phrase_rate=0.4,
            keep_inflection=False,
            keep_case=True,
            drop_rate=0.01,
            description=(
                "SpinnerChief-style: a big Moby-like thesaurus with a preference for frequent"
                " words, connectives swapped, some broken inflection, case kept."
            ),
        ),
        SpinProfile(
            name="wordai",
            rate=0.25,
            thesaurus="both",
            prefer="common",
            phrase_rate=0.75,
            keep_inflection=True,
            keep_case=True,
            drop_rate=0.0,
            description=(
                "WordAI-style 'readable' spinner: fluent, common choices, phrase-heavy rewriting,"
                " grammar kept (inflection and case intact, nothing dropped)."
            ),
        ),
        SpinProfile(
            name="bestspinner",
            rate=0.35,
            thesaurus="both",
            prefer="uniform",
            phrase_rate=0.25,
            keep_inflection=False,
            keep_case=True,
            drop_rate=0.01,
            description=(
                "The Best Spinner with 'replace all' on: any synonym from both thesauri picked"
                " uniformly, mostly one-for-one word swaps, some broken inflection."
            ),
        ),
        SpinProfile(
            name="wordnet",
            rate=0.3,
            thesaurus="wordnet",
            prefer="uniform",
            phrase_rate=0.1,
            keep_inflection=True,
            keep_case=True,
            drop_rate=0.0,
            description=(
                "Plain WordNet synonym replacement (the textbook/academic spinner): a uniform"
                " random synset member per word, few phrases."
            ),
        ),
        SpinProfile(
            name="moby-rare",
            rate=0.3,
            thesaurus="moby",
            prefer="rare",
            phrase_rate=0.2,
            keep_inflection=False,
            keep_case=False,
            drop_rate=0.01,
            description=(
                "Crude Moby-thesaurus spinners that land on rare, odd words; broken inflection and"
                " stray capitals (cheap spinners and old spam tools)."
            ),
        ),
        SpinProfile(
            name="tortured",
            rate=0.2,
            thesaurus="all",
            prefer="tortured",
            phrase_rate=0.3,
            keep_inflection=True,
            keep_case=True,
            drop_rate=0.0,
            description=(
                "Science paper mill ('tortured phrases': neural network -> neural organization,"
                " big data -> huge information): word-by-word swaps inside terms, pick calibrated"
                " on real tortured phrases."
            ),
        ),
    ]
}

# Function words that spinners do swap ("have" -> "own", "since" -> "because of"), the ones their
# curated lists cover: eligible, and their swaps count as phrase/function-word swaps. Modals and
# bare prepositions are left out: a context-free thesaurus has only nonsense for them ("will" ->
# "leave", "over" -> "ended"), and the spinners we imitate leave them alone.
SWAPPABLE_FUNCTION_WORDS = frozenset(
    """about after again almost also although among another around because before but despite
    during each enough every first had has have having however if including just later many
    most much now often only other perhaps several since so some still then therefore though
    through together until very when while with without""".split()
)
# Small words that are never swapped on their own (they can sit inside a multiword phrase).
STOPWORDS = frozenset(
    """a an the of to in on at by for from and or nor not no as is are was were be been
    being am it its it's he she they them his her hers their theirs we us our you your i me my
    mine this that these those which who whom whose what where why how there here than
    do does did done doing 's can could will would shall should may might must over under
    above below near across against between upon toward towards all any such less few whether
    unless even already yet thus within besides whereas instead more""".split()
)
# Number words stay, like digits: "45 million", "two years".
NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty
    ninety hundred hundreds thousand thousands million millions billion billions trillion
    trillions dozen dozens mln bln pct""".split()
)
# Small words a careless spinner sometimes drops ("said on Twitter" -> "said Twitter").
DROPPABLE = frozenset("the a an that on of to in at for".split())

_CASE_BREAK = 0.03  # share of mid-sentence swaps capitalised when keep_case is False
_INFLECTION_BREAK = 0.15  # share of one-word swaps given a wrong form when keep_inflection is False
_CANDIDATES = 60  # how many of the lexicon's best candidates a spinner looks at
_MIN_ZIPF = 1.0  # candidates and broken forms must be attested words
_REUSE = 0.8  # chance a repeated word gets the same replacement again within one document
_PLAIN = re.compile(r"[a-z]+(?:[-'][a-z]+)*(?: [a-z]+(?:[-'][a-z]+)*)*")  # lower-case words
_OPENERS = frozenset("\"'“‘([«")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def _resolve_profile(profile: str | SpinProfile) -> SpinProfile:
    if isinstance(profile, SpinProfile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown spin profile {profile!r} (known: {known})") from None


@lru_cache(maxsize=200_000)
def _zipf(text: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(text, "en")


def _known(phrase: str) -> bool:
    """Every word of `phrase` is a word English text actually uses (wordfreq zipf >= 1)."""
    return all(_zipf(w) >= _MIN_ZIPF for w in phrase.split())


@lru_cache(maxsize=50_000)
def _other_forms(word: str) -> tuple[str, ...]:
    """Other inflections (and the lemma) of `word`, for deliberately broken word forms."""
    from lemminflect import getAllInflections, getAllLemmas

    forms: set[str] = set()
    for lemmas in getAllLemmas(word).values():
        for lemma in lemmas:
            forms.add(lemma)
            for infl in getAllInflections(lemma).values():
                forms.update(infl)
    forms.discard(word)
    return tuple(sorted(f for f in forms if f.isalpha() and _zipf(f) >= _MIN_ZIPF))


def plain_candidates(lexicon: LexiconLike, key: str, limit: int) -> list[tuple[str, float, str]]:
    """The candidates a spinner may use for `key`: (text, weight, source), lexicon order.

    Only plain lower-case attested words (no acronym, no odd guessed inflection such as
    "choosinged"), without duplicates or the key itself.
    """
    out: list[tuple[str, float, str]] = []
    seen = {key}
    for c in lexicon.synonyms_of(key, limit=limit):
        t = c.text.strip()
        if t not in seen and _PLAIN.fullmatch(t) and _known(t):
            seen.add(t)
            out.append((t, max(float(c.weight), 1e-6), c.source))
    return out


@lru_cache(maxsize=1)
def _curated_heads() -> frozenset[str]:
    """Multiword originals of the lexicon's curated swap table ("in recent years")."""
    try:
        from unspin.lexicon.phrases import SWAPS
    except ImportError:
        return frozenset()
    return frozenset(s.original for s in SWAPS if " " in s.original)


@dataclass(frozen=True, slots=True)
class _Choices:
    """The allowed candidates of one phrase, ready to sample under one pick preference."""

    texts: tuple[str, ...]
    weights: tuple[float, ...]  # unnormalised pick probabilities
    cum: tuple[float, ...]  # running sums of `weights`, for bisection

    def pick(self, rng: random.Random) -> str:
        """Draw one candidate."""
        return rng.choices(self.texts, cum_weights=self.cum)[0]


class _LexiconCache:
    """Memo of phrase tests and sampled candidate lists for one lexicon (they repeat a lot)."""

    _MAX = 300_000  # entries per table before it is emptied (bounded memory on big corpora)

    def __init__(self, lexicon: LexiconLike) -> None:
        self.lexicon = lexicon
        self.has_entry = getattr(lexicon, "has_entry", None)
        self.phrases: dict[str, bool] = {}
        self.candidates: dict[tuple[str, str, str], _Choices | None] = {}
        self.raw: dict[str, tuple[tuple[str, frozenset[str], float], ...]] = {}

    def is_phrase(self, key: str) -> bool:
        """Whether the lexicon may hold forward links for the multiword `key` (cheap test)."""
        hit = self.phrases.get(key)
        if hit is None:
            if key in _curated_heads():
                hit = True
            elif self.has_entry is not None:
                # A reverse-index target: synonym links run both ways for nearly all phrases.
                hit = bool(self.has_entry(key))
            else:
                hit = bool(self.lexicon.synonyms_of(key, limit=1))
            if len(self.phrases) >= self._MAX:
                self.phrases.clear()
            self.phrases[key] = hit
        return hit

    def _raw(self, key: str) -> tuple[tuple[str, frozenset[str], float], ...]:
        """The lexicon's plain lower-case candidates of `key`: (text, sources, ln weight)."""
        raw = self.raw.get(key)
        if raw is None:
            raw = tuple(
                (t, _source_set(source), math.log(w))
                for t, w, source in plain_candidates(self.lexicon, key, _CANDIDATES)
            )
            if len(self.raw) >= self._MAX:
                self.raw.clear()
            self.raw[key] = raw
        return raw

    def choices(self, key: str, thesaurus: str, prefer: str) -> _Choices | None:
        """The allowed candidates of `key` with their pick weights; None when there are none."""
        memo_key = (key, thesaurus, prefer)
        if memo_key in self.candidates:
            return self.candidates[memo_key]
        allowed = _THESAURI[thesaurus]
        a, b = PICK_BIAS[prefer]
        texts: list[str] = []
        scores: list[float] = []
        for t, sources, ln_w in self._raw(key):
            if sources & allowed:
                texts.append(t)
                scores.append((a * _zipf(t) if a else 0.0) + b * ln_w)
        out: _Choices | None = None
        if texts:
            top = max(scores)
            weights = tuple(math.exp(x - top) for x in scores)
            out = _Choices(tuple(texts), weights, tuple(itertools.accumulate(weights)))
        if len(self.candidates) >= self._MAX:
            self.candidates.clear()
        self.candidates[memo_key] = out
        return out


_CACHES: dict[int, _LexiconCache] = {}


def _cache_for(lexicon: LexiconLike) -> _LexiconCache:
    # Keyed by id(); the cache holds the lexicon itself, so the id cannot be reused meanwhile.
    cache = _CACHES.get(id(lexicon))
    if cache is None or cache.lexicon is not lexicon:
        if len(_CACHES) >= 8:
            _CACHES.clear()
        cache = _CACHES[id(lexicon)] = _LexiconCache(lexicon)
    return cache


@dataclass(slots=True)
class _Word:
    tok: Token
    norm: str  # lower case, straight apostrophes
    eligible: bool
    function: bool  # a swappable function word
    initial: bool  # first word of a sentence or right after an opening quote


@dataclass(slots=True)
class _Op:
    first: int  # word index, inclusive
    last: int  # word index, exclusive
    text: str  # replacement ("" for a drop)
    orig_start: int
    orig_end: int


def _analyse(text: str) -> list[_Word]:
    """The words of `text`, each marked eligible (counted by the rate) or not."""
    from unspin.text import tokenize

    out: list[_Word] = []
    prev: Token | None = None
    tokens = tokenize(text)
    # Sentence-initial words directly followed by a capitalised word: "Mayor Helen", "New York".
    before_capital = {
        a.start
        for a, b in zip(tokens, tokens[1:], strict=False)
        if b.kind == "word" and b.text[:1].isupper() and a.sentence == b.sentence
    }
    for tok in tokens:
        if tok.kind != "word":
            prev = tok
            continue
        initial = (
            prev is None
            or prev.sentence != tok.sentence
            or (prev.kind == "punct" and prev.text in _OPENERS)
        )
        out.append(_Word(tok, tok.text.translate(_APOSTROPHES).lower(), False, False, initial))
        prev = tok
    # A capitalised word that also shows up mid-sentence is a name wherever it occurs.
    names = {w.tok.text for w in out if not w.initial and w.tok.text[:1].isupper()}
    for w in out:
        t = w.tok.text
        if not t.isalpha() or w.norm == "i":
            continue  # numbers, hyphenated or apostrophe words, "I"
        if t[:1].isupper():
            if not w.initial or t in names or (len(t) > 1 and t.isupper()):
                continue  # names and acronyms
            if w.tok.start in before_capital:
                continue  # part of a name or title
        if len(t) > 1 and not t[1:].islower():
            continue  # camelCase, ALL CAPS
        if w.norm in STOPWORDS or w.norm in NUMBER_WORDS:
            continue
        w.function = w.norm in SWAPPABLE_FUNCTION_WORDS
        w.eligible = True
    return out


def eligible_words(text: str) -> list[Token]:
    """The words of `text` that the spin rate counts: content words and swappable function
    words; not names (mid-sentence capitals), acronyms, numbers or small function words."""
    return [w.tok for w in _analyse(text) if w.eligible]


class _Spinner:
    """One spin of one text: picks spans, candidates and surface forms with a seeded RNG."""

    def __init__(
        self, text: str, prof: SpinProfile, rate: float, rng: random.Random, lexicon: LexiconLike
    ) -> None:
        self.text = text
        self.prof = prof
        self.rate = rate
        self.rng = rng
        self.lex = lexicon
        if prof.thesaurus not in _THESAURI:
            raise ValueError(f"unknown thesaurus {prof.thesaurus!r} in profile {prof.name!r}")
        if prof.prefer not in PICK_BIAS:
            raise ValueError(f"unknown preference {prof.prefer!r} in profile {prof.name!r}")
        self.cache = _cache_for(lexicon)
        self.words = _analyse(text)
        self.used = [False] * len(self.words)
        self.memo: dict[str, str] = {}

    # ---- choosing spans -------------------------------------------------------------------

    def _adjacent(self, i: int) -> bool:
        """Words i and i+1 are in one sentence with only whitespace between them."""
        a, b = self.words[i].tok, self.words[i + 1].tok
        return a.sentence == b.sentence and self.text[a.end : b.start].isspace()

    def _phrase_spans(self) -> list[tuple[int, int]]:
        """Multiword keys of the lexicon that occur in the text (no names, numbers or punct)."""
        max_len = min(max(1, int(getattr(self.lex, "max_phrase_len", 1))), 5)
        if max_len < 2:
            return []
        words = self.words
        spans: list[tuple[int, int]] = []
        for i in range(len(words)):
            if not self._inside_ok(i):
                continue
            for j in range(i + 2, min(len(words), i + max_len) + 1):
                if not self._inside_ok(j - 1) or not self._adjacent(j - 2):
                    break
                key = " ".join(w.norm for w in words[i:j])
                if not any(words[k].eligible for k in range(i, j)) and key not in _curated_heads():
                    continue  # "of the": only curated stock phrases ("more than") are all small
                if self.cache.is_phrase(key):
                    spans.append((i, j))
        return spans

    def _inside_ok(self, i: int) -> bool:
        w = self.words[i]
        if w.eligible:
            return True
        name_like = w.tok.text[:1].isupper() and not w.initial
        return w.norm in STOPWORDS and w.tok.text.isalpha() and not name_like

    def run(self) -> list[_Op]:
        words = self.words
        rng = self.rng
        n_eligible = sum(w.eligible for w in words)
        target = self.rate * n_eligible
        ops: list[_Op] = []
        if target > 0:
            phrase_pool = self._phrase_spans() + [
                (i, i + 1) for i, w in enumerate(words) if w.function
            ]
            word_pool = [(i, i + 1) for i, w in enumerate(words) if w.eligible and not w.function]
            rng.shuffle(phrase_pool)
            rng.shuffle(word_pool)
            # Stochastic rounding keeps the expected share of changed words equal to the rate.
            budget = math.floor(target + rng.random())
            changed = 0
            while changed < budget and (phrase_pool or word_pool):
                want_phrase = rng.random() < self.prof.phrase_rate
                if want_phrase and phrase_pool:
                    span, multi_only = phrase_pool.pop(), False
                elif want_phrase:
                    # No phrase left: a single word turned into a phrase ("help" -> "lend a hand").
                    span, multi_only = word_pool.pop(), True
                elif word_pool:
                    span, multi_only = word_pool.pop(), False
                else:
                    span, multi_only = phrase_pool.pop(), False
                i, j = span
                if any(self.used[i:j]):
                    continue
                op = self._swap(i, j, multi_only)
                if op is None and multi_only:
                    op = self._swap(i, j, False)
                if op is None:
                    continue
                size = j - i
                if changed + size > budget and rng.random() >= (budget - changed) / size:
                    break
                ops.append(op)
                changed += size
                for k in range(i, j):
                    self.used[k] = True
        if self.prof.drop_rate > 0:
            ops.extend(self._drops())
        ops.sort(key=lambda o: o.orig_start)
        return ops

    def _drops(self) -> list[_Op]:
        words, out = self.words, []
        last_dropped = -2
        for i in range(1, len(words) - 1):
            w = words[i]
            if (
                self.used[i]
                or self.used[i + 1]
                or w.initial
                or w.tok.text not in DROPPABLE
                or i - 1 == last_dropped
                or not self._adjacent(i - 1)
                or not self._adjacent(i)
                or self.rng.random() >= self.prof.drop_rate
            ):
                continue
            nxt = words[i + 1].tok.start
            out.append(_Op(i, i + 1, "", w.tok.start, nxt))
            self.used[i] = True
            last_dropped = i
        return out

    # ---- choosing the replacement ----------------------------------------------------------

    def _swap(self, i: int, j: int, multi_only: bool) -> _Op | None:
        words = self.words
        key = " ".join(w.norm for w in words[i:j])
        choices = self.cache.choices(key, self.prof.thesaurus, self.prof.prefer)
        if choices is None:
            return None
        rng = self.rng
        if multi_only:
            multi = [k for k, t in enumerate(choices.texts) if " " in t]
            if not multi:
                return None
            weights = [choices.weights[k] for k in multi]
            new = choices.texts[rng.choices(multi, weights=weights)[0]]
        elif (prev := self.memo.get(key)) is not None and rng.random() < _REUSE:
            # Spinners with a fixed dictionary tend to repeat their choice for a repeated word.
            new = prev
        else:
            new = choices.pick(rng)
            self.memo[key] = new
        if not self.prof.keep_inflection and " " not in new and rng.random() < _INFLECTION_BREAK:
            forms = _other_forms(new)
            if forms:
                new = forms[rng.randrange(len(forms))]
        first = words[i]
        if first.tok.text[:1].isupper():
            new = new[:1].upper() + new[1:]
        elif not self.prof.keep_case and not first.initial and rng.random() < _CASE_BREAK:
            new = new[:1].upper() + new[1:]
        start, end = first.tok.start, words[j - 1].tok.end
        if new == self.text[start:end]:
            return None
        return _Op(i, j, new, start, end)


def _apply(text: str, ops: Sequence[_Op]) -> tuple[str, list[Swap]]:
    parts: list[str] = []
    swaps: list[Swap] = []
    pos = 0
    out_len = 0
    for op in ops:
        gap = text[pos : op.orig_start]
        parts.append(gap)
        out_len += len(gap)
        parts.append(op.text)
        swaps.append(
            Swap(
                start=out_len,
                end=out_len + len(op.text),
                text=op.text,
                orig_start=op.orig_start,
                orig_end=op.orig_end,
                original=text[op.orig_start : op.orig_end],
            )
        )
        out_len += len(op.text)
        pos = op.orig_end
    parts.append(text[pos:])
    return "".join(parts), swaps


def spin(
    text: str,
    profile: str | SpinProfile = "spinbot",
    rate: float | None = None,
    seed: int = 0,
    lexicon: LexiconLike | None = None,
) -> SpinResult:
    """Spin `text` like the spinner `profile` (a name in `PROFILES` or a `SpinProfile`).

    `rate` (default: the profile's) is the expected share of eligible words changed: content
    words and swappable function words, not names (mid-sentence capitals), numbers or
    punctuation; a phrase swap counts all its words. Small-word drops (`drop_rate`) come on top.
    The same (text, profile, rate, seed) always gives the same result; `lexicon` defaults to
    `unspin.lexicon.get_lexicon()`. Every change is a `Swap`, and `SpinResult.undo()` gives
    back the original exactly.
    """
    prof = _resolve_profile(profile)
    eff_rate = prof.rate if rate is None else float(rate)
    if not 0.0 <= eff_rate <= 1.0:
        raise ValueError(f"rate must be between 0 and 1, got {eff_rate}")
    if eff_rate == 0.0:
        return SpinResult(text=text, original=text, swaps=[], profile=prof.name)
    if lexicon is None:
        from unspin.lexicon import get_lexicon

        lexicon = get_lexicon()
    rng = random.Random(f"unspin-spin:{prof.name}:{eff_rate!r}:{seed}")
    ops = _Spinner(text, prof, eff_rate, rng, lexicon).run()
    spun, swaps = _apply(text, ops)
    return SpinResult(text=spun, original=text, swaps=swaps, profile=prof.name)


def spin_documents(
    texts: Iterable[str],
    profiles: Sequence[str | SpinProfile] | None = None,
    rates: Sequence[float] | None = None,
    seed: int = 0,
    lexicon: LexiconLike | None = None,
) -> Iterator[SpinResult]:
    """Spin many texts lazily, each with a profile and rate drawn (seeded) from the choices.

    `profiles` defaults to all of `PROFILES`; `rates` to each profile's own rate. Document k gets
    its own seed derived from `seed` and k, so the stream is reproducible and order-stable.
    """
    choices = list(profiles) if profiles else list(PROFILES)
    if lexicon is None:
        from unspin.lexicon import get_lexicon

        lexicon = get_lexicon()
    for k, text in enumerate(texts):
        rng = random.Random(f"unspin-docs:{seed}:{k}")
        prof = choices[rng.randrange(len(choices))]
        rate = rates[rng.randrange(len(rates))] if rates else None
        yield spin(text, prof, rate=rate, seed=rng.randrange(2**31), lexicon=lexicon)
