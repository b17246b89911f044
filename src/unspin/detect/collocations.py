"""Disguised collocations: an unattested word pair one thesaurus step from a common one.

The disguised-term reader (`unspin.detect.terms`) knows only the terms spinners were seen to
disguise. This reader knows every content-word collocation of the web bigram counts ("climate
change", "interest rate", "target language"): when two adjacent words never occur together
there, but putting one or both back to a thesaurus source gives such a collocation, the pair may
be a spun one ("climate alteration"). Most such readings are wrong (clean text is full of rare
pairs), so a small logistic scorer decides, from the links' priors, the collocation's count and
PMI, the trigram LM's preference in context, how rare the observed words are, and the word
model's P(swapped) for them. So a scorer belongs to a word model and is kept in its file (the
default mode's only: see `ATTACHED_MODES`): `unspin train --tortured-csv ...` fits it last, and
for an existing model

    python -m unspin.detect.collocations --model src/unspin/data/model.pkl \\
        --csv ../shared/data/real/tortured_phrases.csv \\
        --corpus ../shared/data/corpora/allsides_news_2012_2020.jsonl.gz \\
        --corpus ../shared/data/corpora/bbc_news_2004_2005.jsonl.gz \\
        --corpus ../shared/data/corpora/reuters21578_1987.jsonl.gz

refits it in place. It is trained on the calibration (odd) rows of the tortured-phrases
list, placed in carrier sentences of their own, against clean news from the encoder's half of the
train split (paragraphs the word model never fitted on, read with their documents' own news
bigram counts left out, as new text would be); the threshold keeps the readings on held-out
clean news under a set rate. The even rows, which the bench scores, are never read.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from unspin.detect.features import FUNCTION_WORDS, context_window, phrase_entry
from unspin.detect.terms import TermRepair, _non_overlapping, association

if TYPE_CHECKING:
    from unspin.context.model import ContextModel
    from unspin.detect.model import SpinModel
    from unspin.lexicon import Lexicon

# Thesaurus sources read per word: the head of the scan's candidate list, the same in both
# modes (a small limit is always the head of a larger one). More sources found fewer right
# readings on the calibration rows (more wrong ones outscored them).
LINKS_PER_WORD = 6
FEATURES = (
    "link_prior",  # sum of log link weights of the words put back
    "log_count",  # log web count of the collocation
    "pmi",  # its pointwise mutual information
    "context_gain",  # trigram LM: log P(collocation) - log P(observed) in context (clipped)
    "association",  # trigram LM association of the observed pair (clipped)
    "swaps",  # words put back (1 or 2)
    "freq_gain",  # web unigram log-probability gained by the words put back
    "rarest_observed",  # the rarer observed word's web unigram log-probability
    "swap_logit",  # the word model's log-odds that a word put back was swapped (the smallest)
)
_CLIP = 15.0
_FLOOR = -50.0
_P_CLIP = 1e-4  # P(swapped) is clipped to [1e-4, 1 - 1e-4] before its log-odds
# Held-out clean readings allowed per 1,000 clean words when the threshold is set. 0.2 takes 356
# of the 472 right calibration readings (0.1: 290); on the bench it restored 30.5 % of the real
# tortured phrases instead of 29.0 %, for 1.37 changed words per 1,000 clean ones instead of 1.26.
MAX_CLEAN_PER_1000 = 0.2

# The scan modes that read disguised collocations. Not `--fast`: its clean damage was already
# near the budget of 2 changed words per 1,000 (1.71, and 1.84 for the left-out model), and with
# a scorer of its own the left-out model's went over it (2.06; bench-v38-fast).
ATTACHED_MODES = ("default",)

# Carrier paragraphs for training (written for unspin, distinct from the bench's).
CARRIERS = (
    "In the first section we describe {} and explain why it matters for the questions we "
    "ask. The later sections build on this account step by step.",
    "A small team spent three months on {} before the main trial started. They kept careful "
    "notes, and those notes shaped the design of every later stage.",
    "Readers who are new to {} may find the short summary at the end of this chapter useful. "
    "It repeats the main points without the formal detail.",
)


@dataclass(frozen=True, slots=True)
class Reading:
    """Words [first, first + 2) read as a disguise of the collocation `term`."""

    first: int
    term: tuple[str, str]
    features: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class CollocationScorer:
    """Logistic score over `FEATURES`; a reading is taken at `threshold` or above."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float

    def score(self, features: Sequence[float]) -> float:
        """The reading's log-odds."""
        return self.intercept + sum(c * x for c, x in zip(self.coef, features, strict=True))

    def to_json(self) -> str:
        """The scorer as JSON, with the feature names it expects."""
        data = {
            "features": list(FEATURES),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> CollocationScorer:
        """Read a scorer written by `to_json`; its features must be this module's."""
        data = json.loads(text)
        if tuple(data["features"]) != FEATURES:
            raise ValueError("collocation scorer was trained on other features")
        return cls(tuple(data["coef"]), float(data["intercept"]), float(data["threshold"]))


def _mode(fast: bool) -> str:
    return "fast" if fast else "default"


_Table = dict[str, dict[str, tuple[float, float]]]


def table_cache_path() -> Path:
    """Where `collocation_table` keeps its marshal copy (named by the web counts it read)."""
    from unspin.context.model import counts_stamp
    from unspin.lexicon.core import default_cache_dir

    return default_cache_dir() / f"collocations-{_TABLE_FORMAT}-{counts_stamp()}.marshal"


@lru_cache(maxsize=1)
def collocation_table() -> _Table:
    """first word -> {second word: (web count, PMI)} for the web bigrams of two alphabetic
    content words of 3+ letters (72,000 of the 258,000). Built once from the counts, then read
    from a marshal copy in the cache dir (about 0.03 s instead of 0.15-0.4 s)."""
    import marshal

    from unspin.lexicon.core import write_cache_file

    cache = table_cache_path()
    try:
        table = marshal.loads(cache.read_bytes())
        if isinstance(table, dict):
            return table
    except (OSError, EOFError, ValueError, TypeError):
        pass  # not built yet, or unreadable
    table = build_table()
    write_cache_file(cache, marshal.dumps(table))
    return table


# Bump when `build_table` changes.
_TABLE_FORMAT = 1


def build_table() -> _Table:
    """The collocation table from the web counts (see `collocation_table`)."""
    from unspin.context.model import _load_counts

    unigrams, bigrams, total, *_ = _load_counts()
    table: _Table = {}
    for pair, count in bigrams.items():
        a, _, b = pair.partition(" ")
        if len(a) < 3 or len(b) < 3 or a in FUNCTION_WORDS or b in FUNCTION_WORDS:
            continue
        if not (a.isalpha() and b.isalpha()):
            continue
        ua, ub = unigrams.get(a), unigrams.get(b)
        if ua and ub:
            table.setdefault(a, {})[b] = (count, math.log(count * total / (ua * ub)))
    return table


_Options = tuple[dict[str, float], list[tuple[str, float, dict[str, tuple[float, float]]]]]
_OPTIONS: dict[tuple[int, str, int], _Options] = {}
_OPTIONS_MAX = 300_000


# British -ise spellings, whose pairs the web counts mostly hold in the -ize spelling
# ("industrialised nations" is as English as "industrialized nations").
_BRITISH_ISE = re.compile(r"is(e|ed|es|ing|ation|ations)$")


def _attested(a: str, b: str, table: _Table) -> bool:
    """Whether the pair, or its -ize spelling, is a web collocation."""
    if b in table.get(a, ()):
        return True
    a2, b2 = _BRITISH_ISE.sub(r"iz\1", a), _BRITISH_ISE.sub(r"iz\1", b)
    return (a2, b2) != (a, b) and b2 in table.get(a2, ())


def _logit(p: float) -> float:
    q = min(1 - _P_CLIP, max(_P_CLIP, p))
    return math.log(q / (1 - q))


def _options(lexicon: Lexicon, context: ContextModel, word: str, limit: int) -> _Options:
    """The word itself (log prior 0) and its first single-word thesaurus sources, as
    {word: log prior}; and those that begin some collocation, with its followers."""
    key = (id(lexicon), word, limit)
    hit = _OPTIONS.get(key)
    if hit is not None:
        return hit
    priors = {word: 0.0}
    entry = phrase_entry(lexicon, context, word, limit)
    if entry is not None:
        for name, weight in zip(
            entry.names[:LINKS_PER_WORD], entry.weights[:LINKS_PER_WORD], strict=True
        ):
            if " " not in name and name not in priors:
                priors[name] = math.log(weight)
    table = collocation_table()
    heads = [(w, p, table[w]) for w, p in priors.items() if w in table]
    if len(_OPTIONS) >= _OPTIONS_MAX:
        _OPTIONS.clear()
    _OPTIONS[key] = hit = (priors, heads)
    return hit


def readings(
    normed: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    probabilities: Sequence[float],
    adjacent: Sequence[bool] | None = None,
    limit: int = LINKS_PER_WORD,
    scorer: CollocationScorer | None = None,
) -> list[list[Reading]]:
    """Every collocation reading of every unattested adjacent content-word pair, per pair.

    `probabilities` are the word model's P(swapped) of the words. `limit` is the candidate
    limit whose phrase entries the scan already holds (at least `LINKS_PER_WORD`), so this
    costs no extra lexicon queries. With a `scorer`, readings that could not reach its
    threshold whatever the LM says are left out before the LM is asked.
    """
    table = collocation_table()
    unigram = context.unigram_logprob
    gain_at = FEATURES.index("context_gain")
    out: list[list[Reading]] = []
    for i in range(len(normed) - 1):
        a, b = normed[i], normed[i + 1]
        if sent[i] != sent[i + 1] or (adjacent is not None and not adjacent[i]):
            continue
        if a in FUNCTION_WORDS or b in FUNCTION_WORDS or not (a.isalpha() and b.isalpha()):
            continue
        if _attested(a, b, table):
            continue  # the pair itself is English
        heads = _options(lexicon, context, a, limit)[1]
        if not heads:
            continue
        second = _options(lexicon, context, b, limit)[0]
        found: list[Reading] = []
        observed_fit = assoc = None
        for a2, prior_a, follows in heads:
            for b2, prior_b in second.items():  # (lexicon order: readings come out the same)
                hit = follows.get(b2)
                if hit is None or (a2 == a and b2 == b):
                    continue
                if assoc is None:
                    assoc = max(_FLOOR, min(_CLIP, association(context, (a, b))))
                    ua, ub = unigram(a), unigram(b)
                    la, lb = _logit(probabilities[i]), _logit(probabilities[i + 1])
                count, pmi = hit
                if a2 == a:  # only the second word put back
                    swaps, freq_gain, swap_logit = 1.0, unigram(b2) - ub, lb
                elif b2 == b:
                    swaps, freq_gain, swap_logit = 1.0, unigram(a2) - ua, la
                else:
                    swaps = 2.0
                    freq_gain = unigram(a2) - ua + unigram(b2) - ub
                    swap_logit = min(la, lb)
                features = [
                    prior_a + prior_b,
                    math.log(count),
                    pmi,
                    _CLIP,  # the LM's gain, at its most, until asked
                    assoc,
                    swaps,
                    freq_gain,
                    min(ua, ub),
                    swap_logit,
                ]
                if scorer is not None:
                    features[gain_at] = math.copysign(_CLIP, scorer.coef[gain_at])
                    if scorer.score(features) < scorer.threshold:
                        continue
                if observed_fit is None:
                    left, right = context_window(normed, sent, i, i + 2)
                    observed_fit = context.window_logprob(left, [a, b], right)
                gain = context.window_logprob(left, [a2, b2], right) - observed_fit
                features[gain_at] = max(-_CLIP, min(_CLIP, gain))
                found.append(Reading(i, (a2, b2), tuple(features)))
        if found:
            out.append(found)
    return out


def find_collocation_repairs(
    normed: Sequence[str],
    sent: Sequence[int],
    lexicon: Lexicon,
    context: ContextModel,
    probabilities: Sequence[float],
    adjacent: Sequence[bool] | None = None,
    limit: int = LINKS_PER_WORD,
    scorer: CollocationScorer | None = None,
) -> list[TermRepair]:
    """Non-overlapping disguised collocations the scorer accepts, best first where they meet,
    each narrowed to the words it puts back (a word it keeps keeps its own spelling and case).

    `scorer` must be the one trained with the word model whose `probabilities` these are."""
    if scorer is None:
        return []
    taken: list[TermRepair] = []
    for found in readings(normed, sent, lexicon, context, probabilities, adjacent, limit, scorer):
        best = max(found, key=lambda r: scorer.score(r.features))
        s = scorer.score(best.features)
        if s >= scorer.threshold:
            taken.append(TermRepair(best.first, best.first + 2, " ".join(best.term), s))
    return [_narrowed(r, normed) for r in _non_overlapping(taken)]


def _narrowed(repair: TermRepair, normed: Sequence[str]) -> TermRepair:
    """A pair repair that puts back one word, as a repair of that word alone."""
    first, second = repair.term.split(" ")
    if first == normed[repair.first]:
        return TermRepair(repair.first + 1, repair.last, second, repair.score)
    if second == normed[repair.first + 1]:
        return TermRepair(repair.first, repair.first + 1, first, repair.score)
    return repair


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scanned:
    """What the reader sees of a text in a scan: words, sentences, adjacency, P(swapped)."""

    normed: list[str]
    sent: list[int]
    adjacent: list[bool]
    probabilities: list[float]


def _scan_inputs(
    text: str, lexicon: Lexicon, context: ContextModel, model: SpinModel, fast: bool
) -> _Scanned:
    """The reader's inputs for `text`, computed by the scan's own steps."""
    from unspin.detect.scan import adjacent_words, word_features
    from unspin.text import tokenize

    feats = word_features(text, tokenize(text), model, lexicon, context, fast=fast)
    probs = model.word_probabilities(feats.matrix)
    return _Scanned(
        list(feats.normed), list(feats.sentences), adjacent_words(feats), probs.tolist()
    )


def _words(text: str) -> list[str]:
    from unspin.detect.features import norm_word
    from unspin.text import tokenize, words

    return [norm_word(w.text) for w in words(tokenize(text))]


def calibration_examples(
    pairs: Iterable[tuple[str, str]],
    lexicon: Lexicon,
    context: ContextModel,
    model: SpinModel,
    fast: bool,
) -> tuple[list[tuple[float, ...]], list[int]]:
    """Feature rows and labels from (expected, tortured) pairs in the training carriers.

    A reading is positive when it turns the tortured phrase into the expected one; every other
    reading (inside the phrase or in the carrier) is negative. Carrier readings repeat from row
    to row, so each distinct one is kept once.
    """
    rows: list[tuple[float, ...]] = []
    labels: list[int] = []
    seen_carrier: set[tuple[int, tuple[str, ...], tuple[str, str]]] = set()
    for k, (expected, tortured) in enumerate(pairs):
        template = CARRIERS[k % len(CARRIERS)]
        doc = _scan_inputs(template.format(tortured), lexicon, context, model, fast)
        head = len(_words(template.split("{}")[0]))
        spun, want = _words(tortured), _words(expected)
        found = readings(doc.normed, doc.sent, lexicon, context, doc.probabilities, doc.adjacent)
        for r in (r for pair in found for r in pair):
            j = r.first - head
            if 0 <= j and j + 2 <= len(spun):
                rows.append(r.features)
                labels.append(int(spun[:j] + list(r.term) + spun[j + 2 :] == want))
                continue
            key = (k % len(CARRIERS), tuple(doc.normed[r.first : r.first + 2]), r.term)
            if key not in seen_carrier:
                seen_carrier.add(key)
                rows.append(r.features)
                labels.append(0)
    return rows, labels


def clean_examples(
    texts: Iterable[str],
    lexicon: Lexicon,
    context: ContextModel,
    model: SpinModel,
    fast: bool,
) -> tuple[list[list[tuple[float, ...]]], int]:
    """Per unattested pair of the clean texts, the feature rows of its readings; and the
    number of words read (to state a threshold per 1,000 clean words)."""
    out: list[list[tuple[float, ...]]] = []
    n_words = 0
    for text in texts:
        doc = _scan_inputs(text, lexicon, context, model, fast)
        n_words += len(doc.normed)
        found = readings(doc.normed, doc.sent, lexicon, context, doc.probabilities, doc.adjacent)
        out.extend([r.features for r in pair] for pair in found)
    return out, n_words


def fit_scorer(
    calib_rows: Sequence[tuple[float, ...]],
    calib_labels: Sequence[int],
    clean_fit: Sequence[Sequence[tuple[float, ...]]],
    clean_held: Sequence[Sequence[tuple[float, ...]]],
    held_words: int,
    max_per_1000: float = MAX_CLEAN_PER_1000,
) -> CollocationScorer:
    """Fit the logistic scorer on calibration rows and one half of the clean pairs; set the
    threshold so the other half's pairs are read as disguises at most `max_per_1000` times
    per 1,000 of its words."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    clean_rows = [r for found in clean_fit for r in found]
    x = np.array(list(calib_rows) + clean_rows, dtype=np.float64)
    y = np.array(list(calib_labels) + [0] * len(clean_rows))
    from threadpoolctl import threadpool_limits

    # One BLAS thread and a tight tolerance: the optimum itself, not where a threaded solver
    # happened to stop, so a rebuild writes the same (rounded) numbers.
    with threadpool_limits(1):
        model = LogisticRegression(max_iter=20_000, tol=1e-9, class_weight="balanced").fit(x, y)
    # Rounded, so a rebuild on another machine (other BLAS threads) writes the same file.
    coef = tuple(round(float(c), 6) for c in model.coef_[0])
    scorer = CollocationScorer(coef, round(float(model.intercept_[0]), 6), 0.0)
    held = sorted((max(scorer.score(r) for r in found) for found in clean_held), reverse=True)
    allowed = int(max_per_1000 * held_words / 1000)
    threshold = held[allowed] + 1e-6 if allowed < len(held) else 0.0
    return CollocationScorer(coef, scorer.intercept, round(max(threshold, 0.0), 6))


def train_scorer(
    csv_path: Path,
    corpora: Sequence[str],
    *,
    fast: bool,
    paragraphs: int = 4000,
    seed: int = 1,
    max_per_1000: float = MAX_CLEAN_PER_1000,
    model: SpinModel | None = None,
) -> tuple[CollocationScorer | None, dict]:
    """Train the scorer of one scan mode; returns it with a small report. None when the data
    hold no right reading or no clean pair to learn from (the reader then stays off)."""
    from unspin.bench.datasets import paragraphs as all_paragraphs
    from unspin.bench.datasets import sample_paragraphs
    from unspin.context.model import get_context_model
    from unspin.context.news import counts_in_use, news_bigrams, scan_sentences
    from unspin.detect.model import load_model
    from unspin.lexicon import get_lexicon
    from unspin.spin.calibrate import calibration_pairs

    lexicon, context = get_lexicon(), get_context_model()
    model = (model or load_model()).for_mode(fast)
    pairs = list(calibration_pairs(csv_path))
    rows, labels = calibration_examples(pairs, lexicon, context, model, fast)
    sample = sample_paragraphs(corpora, "train", paragraphs, seed=seed, part="encoder")
    texts = [p.text for p in sample]
    half = len(texts) // 2
    # The news bigram counts hold every pair of the encoder's half, so its paragraphs would read
    # cleaner than new text: they are read with their documents' own counts left out.
    chosen = {p.doc_id for p in sample}
    documents = (
        p.text
        for p in all_paragraphs(corpora, "train", part="encoder", min_words=1)
        if p.doc_id in chosen
    )
    table = news_bigrams()
    try:
        table = table.without(scan_sentences(documents))
    except ValueError:  # another corpus than the counts': its texts are new to them already
        pass
    with counts_in_use(table):
        clean_fit, _ = clean_examples(texts[:half], lexicon, context, model, fast)
        clean_held, held_words = clean_examples(texts[half:], lexicon, context, model, fast)
    report = {
        "mode": _mode(fast),
        "calibration_readings": len(rows),
        "right_readings": int(sum(labels)),
        "clean_pairs_fit": len(clean_fit),
        "clean_pairs_held": len(clean_held),
        "held_words": held_words,
    }
    if not any(labels) or not clean_fit:
        return None, report
    scorer = fit_scorer(rows, labels, clean_fit, clean_held, held_words, max_per_1000)
    report.update(
        right_taken_in_sample=sum(
            scorer.score(r) >= scorer.threshold for r, y in zip(rows, labels, strict=True) if y
        ),
        threshold=scorer.threshold,
    )
    return scorer, report


def attach_scorers(
    model_path: str | Path,
    csv_path: Path,
    corpora: Sequence[str],
    *,
    paragraphs: int = 4000,
    seed: int = 1,
    max_per_1000: float = MAX_CLEAN_PER_1000,
    out: str | Path | None = None,
    modes: Sequence[str] = ATTACHED_MODES,
) -> list[dict]:
    """Fit the scorers of `modes` ("default", "fast") for the model at `model_path` and save
    it (to `out`, default in place) with them, the other mode's removed; returns the training
    reports, also kept in its meta."""
    from unspin.detect.model import SpinModel

    model = SpinModel.load(model_path)
    reports = []
    for fast in (False, True):
        target = model.fast if fast else model
        if target is None:
            continue
        if _mode(fast) not in modes:
            target.collocation_scorer = None
            continue
        scorer, report = train_scorer(
            csv_path,
            corpora,
            fast=fast,
            paragraphs=paragraphs,
            seed=seed,
            max_per_1000=max_per_1000,
            model=model,
        )
        target.collocation_scorer = scorer
        reports.append(report)
    model.meta["collocations"] = reports
    model.save(out or model_path)
    return reports


def main(argv: list[str] | None = None) -> int:
    """Fit a model's scorers (see the module docstring for the recorded command)."""
    from unspin.detect.model import default_model_path
    from unspin.spin.calibrate import DEFAULT_CSV

    ap = argparse.ArgumentParser(prog="python -m unspin.detect.collocations", description=__doc__)
    ap.add_argument("--model", type=Path, default=default_model_path())
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--corpus", action="append", required=True)
    ap.add_argument("--paragraphs", type=int, default=4000, help="clean train-split paragraphs")
    ap.add_argument("--max-per-1000", type=float, default=MAX_CLEAN_PER_1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="default: rewrite --model")
    args = ap.parse_args(argv)
    for path in (args.model, args.csv):
        if not path.exists():
            print(f"collocations: no such file: {path}", file=sys.stderr)
            return 2
    # Through the package module, not __main__, so the pickled scorers name their real class.
    from unspin.detect import collocations

    reports = collocations.attach_scorers(
        args.model,
        args.csv,
        args.corpus,
        paragraphs=args.paragraphs,
        seed=args.seed,
        max_per_1000=args.max_per_1000,
        out=args.out,
    )
    for report in reports:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
