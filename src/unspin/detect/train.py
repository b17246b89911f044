"""Self-supervised training: spin clean paragraphs, label the swaps, fit the combiner.

Seeded and reproducible: the same corpus, profiles and seed give the same model.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from unspin.bench.datasets import Paragraph, sample_paragraphs
from unspin.bench.datasets import paragraphs as corpus_paragraphs
from unspin.detect.compiled import CompiledForest, CompiledLogistic
from unspin.detect.features import (
    ENCODER_FEATURE_NAMES,
    FAST_CANDIDATES,
    FEATURE_NAMES,
    MAX_CANDIDATES,
    DocFeatures,
    Span,
    extract,
    restore_matrix,
    with_encoder,
)
from unspin.detect.model import DocEvidence, SpinModel, doc_features
from unspin.restore.rank import (
    RANK_DEPTH,
    RANK_FEATURE_NAMES,
    SpanCandidates,
    candidate_rows,
    rerank_batch,
    spans_rows,
)

log = logging.getLogger(__name__)

RATES = (0.1, 0.2, 0.3)
CLEAN_SHARE = 0.35
# Share of the training paragraphs (whole source documents) kept for calibration.
HOLDOUT = 0.3
# Paragraphs per calibration-side document that the clean budgets may read besides its clean
# calibration examples (`budget_paragraphs`).
BUDGET_PER_DOC = 10
# Budgets set below the limits (1 % clean documents judged spun, 2 clean words changed
# per 1,000) to leave a margin for documents unlike the calibration paragraphs.
CLEAN_FLAGGED_SHARE = 0.006
CLEAN_CHANGES_PER_1000 = 1.5
# In text judged spun, one damaged clean word weighs as much as this many repaired swaps: 1 is
# what word error rate counts (weighing it 2 cost 3-6 points of restoration gain on the bench).
DAMAGE_COST = 1.0
# Restore thresholds must keep clean changes within budget this many standard errors above
# their calibration count (see `_upper_count`).
CLEAN_BUDGET_Z = 1.0
# Real spinner choices (calibration rows of the tortured-phrases list) count this many times as
# much as a simulated swap when the candidate ranker learns: on the list's evaluation rows they
# raised the share of originals ranked first from 43 % to 51 %, at 0.3 points on simulated swaps
# (an offline trial: ten candidates re-scored, 3,000 training paragraphs).
REAL_RANK_WEIGHT = 3.0
# Carrier paragraphs, written for unspin and unlike the bench's, that hold a real tortured phrase
# while the candidates of its swapped word are ranked.
REAL_CARRIERS = (
    "In the first section we describe {} and explain why it matters for the rest of the study. "
    "The data came from three sites and were cleaned in the same way at each of them.",
    "Earlier reports rarely discussed {} at any length, so the present work fills a gap. We kept "
    "the design simple and report every step so that others can repeat it.",
    "A short survey of {} follows, with notes on where the main methods differ from one another "
    "and on the choices we made for the experiments in the next part.",
    "The committee asked the authors to say more about {} before the final version. They added "
    "a new table and two paragraphs that set out the limits of the method.",
)


@dataclass(slots=True)
class ModeData:
    """What one feature mode (default, or --fast) yields for a paragraph."""

    matrix: np.ndarray  # word features
    spans: list[Span]  # each word's best span, candidates cut to what ranking and margins use
    word_span: np.ndarray  # per word: index into `spans`, or -1
    originals: list[str | None]  # per span: the swap's original if the span is exactly one swap
    rank_rows: list[np.ndarray]  # per span: the ranker's rows for its leading candidates
    # Words the disguised-term reader rewrites (`unspin.detect.terms`), counted in clean texts
    # only: there every one is damage, and it spends the clean budget restoration answers to.
    term_words: int = 0


@dataclass(slots=True)
class Example:
    """Features and labels of one (possibly spun) paragraph."""

    default: ModeData
    fast: ModeData
    labels: np.ndarray  # 1 where the word overlaps a swap
    spun: bool
    profile: str
    rate: float

    def mode(self, fast: bool) -> ModeData:
        """The default or --fast features."""
        return self.fast if fast else self.default


def label_words(word_spans: Sequence[tuple[int, int]], swaps) -> np.ndarray:
    """1 for each word span that overlaps a swap span of the spun text."""
    out = np.zeros(len(word_spans), dtype=np.int8)
    spans = sorted((s.start, s.end) for s in swaps)
    k = 0
    for i, (a, b) in enumerate(word_spans):
        while k < len(spans) and spans[k][1] <= a:
            k += 1
        j = k
        while j < len(spans) and spans[j][0] < b:
            if spans[j][1] > a:
                out[i] = 1
                break
            j += 1
    return out


def span_originals(feats: DocFeatures, swaps) -> list[str | None]:
    """Per span of `feats`: the original wording (normalised) when the span covers exactly one
    swap, else None. Restoring such a span to its original repairs the text."""
    by_range = {(s.start, s.end): " ".join(s.original.lower().split()) for s in swaps}
    words = feats.words
    return [by_range.get((words[s.first].start, words[s.last - 1].end)) for s in feats.spans]


def mode_data(
    tokens: list, swaps, *, fast: bool, lexicon, context, encoder_logits: np.ndarray | None = None
) -> ModeData:
    """Word features of one mode plus, for each word's best span, the ranker's candidate rows
    and the swap's original. `encoder_logits` (one per word) adds the encoder's columns."""
    feats = extract(tokens, lexicon, context, fast=fast)
    if encoder_logits is not None:
        feats = with_encoder(feats, encoder_logits)
    limit = FAST_CANDIDATES if fast else MAX_CANDIDATES
    originals_all = span_originals(feats, swaps)
    best = sorted(set(feats.word_span) - {-1})
    remap = {k: i for i, k in enumerate(best)}
    ranked = spans_rows(
        feats.spans, best, feats.normed, feats.sentences, lexicon, context, fast=fast, limit=limit
    )
    spans, originals, rows = [], [], []
    for k, cand in zip(best, ranked, strict=True):
        spans.append(ranked_head(feats.spans[k], cand))
        originals.append(originals_all[k])
        rows.append(cand.matrix)
    word_span = np.array([remap.get(k, -1) for k in feats.word_span], dtype=np.int64)
    terms = 0 if swaps else term_words(feats, lexicon, context, limit=limit)
    return ModeData(feats.matrix, spans, word_span, originals, rows, terms)


def ranked_head(span: Span, ranked: SpanCandidates) -> Span:
    """`span` cut to what ranking and margins use: the candidates the ranker reads (extras
    from deeper in the thesaurus too) with their scan scores, then at least one more of the
    span's, for the margin after re-ranking."""
    names = set(ranked.names)
    rest = [(c, s) for c, s in zip(span.candidates, span.scores, strict=True) if c not in names]
    rest = rest[: max(1, RANK_DEPTH + 1 - len(ranked.names))]
    candidates = [*ranked.names, *(c for c, _ in rest)]
    scores = [*ranked.scores, *(s for _, s in rest)]
    return Span(span.first, span.last, candidates, scores, 0.0)


def term_words(feats: DocFeatures, lexicon, context, *, limit: int) -> int:
    """How many words the scan's disguised-term reader would rewrite in a text."""
    from unspin.detect.scan import term_repairs

    repairs = term_repairs(feats, lexicon, context, limit=limit)
    return sum(r.last - r.first for r in repairs)


def restore_rows(data: ModeData, ranker: CompiledForest | None) -> tuple[np.ndarray, np.ndarray]:
    """The restore model's rows for one paragraph, after re-ranking its spans with `ranker` as
    the scan does, and labels: 1 where the word's leading suggestion is its swap's original."""
    spans = [replace(s, candidates=list(s.candidates), scores=list(s.scores)) for s in data.spans]
    ranked: dict[int, tuple[float, float]] = {}
    if ranker is not None:
        batch = [
            (k, SpanCandidates(spans[k].candidates[: len(r)], spans[k].scores[: len(r)], r))
            for k, r in enumerate(data.rank_rows)
        ]
        ranked = rerank_batch(spans, batch, ranker)
    matrix = restore_matrix(data.matrix, spans, data.word_span, ranked)
    labels = np.zeros(len(data.matrix), dtype=np.int8)
    for w, k in enumerate(data.word_span):
        if k >= 0 and spans[k].candidates and spans[k].candidates[0] == data.originals[k]:
            labels[w] = 1
    return matrix, labels


def rank_examples(data: Sequence[ModeData]) -> tuple[np.ndarray, np.ndarray]:
    """Ranker training rows: the candidates of every span that is exactly one swap and whose
    original is among the candidates re-scored; label 1 for the original."""
    xs, ys = [], []
    for d in data:
        for span, original, rows in zip(d.spans, d.originals, d.rank_rows, strict=True):
            if original is None or not len(rows):
                continue
            y = np.array([c == original for c in span.candidates[: len(rows)]], dtype=np.int8)
            if y.any():
                xs.append(rows)
                ys.append(y)
    if not xs:
        return np.zeros((0, len(RANK_FEATURE_NAMES)), dtype=np.float32), np.zeros(0, np.int8)
    return np.concatenate(xs), np.concatenate(ys)


def real_rank_examples(csv_path: str, *, fast: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ranker rows from real spinner choices: each calibration (odd) row of a tortured-phrases
    CSV whose phrase differs from its original in exactly one aligned word, placed in a carrier
    paragraph; the candidates of that word's span, label 1 for the original word. The even rows,
    which the bench scores, are never read."""
    from pathlib import Path

    from unspin.context.model import get_context_model
    from unspin.lexicon import get_lexicon
    from unspin.spin.calibrate import calibration_pairs
    from unspin.text import tokenize

    lexicon, context = get_lexicon(), get_context_model()
    limit = FAST_CANDIDATES if fast else MAX_CANDIDATES
    xs, ys = [], []
    for k, (expected, tortured) in enumerate(calibration_pairs(Path(csv_path))):
        observed, original = tortured.split(), expected.split()
        if len(observed) != len(original):
            continue
        differ = [i for i, (a, b) in enumerate(zip(observed, original, strict=True)) if a != b]
        if len(differ) != 1:
            continue
        text = REAL_CARRIERS[k % len(REAL_CARRIERS)].format(tortured)
        feats = extract(tokenize(text), lexicon, context, fast=fast)
        normed = feats.normed
        start = text.index(tortured)
        first = next(i for i, w in enumerate(feats.words) if w.start >= start)
        at = first + differ[0]
        if at >= len(normed) or normed[at] != observed[differ[0]]:
            continue  # the tokenizer split the phrase otherwise (hyphens, apostrophes)
        span = next((sp for sp in feats.spans if sp.first == at and sp.last == at + 1), None)
        if span is None or not span.candidates:
            continue
        rows = candidate_rows(
            span, normed, feats.sentences, set(normed), lexicon, context, fast=fast, limit=limit
        )
        y = np.array([c == original[differ[0]] for c in rows.names], dtype=np.int8)
        if y.any():
            xs.append(rows.matrix)
            ys.append(y)
    if not xs:
        return np.zeros((0, len(RANK_FEATURE_NAMES)), dtype=np.float32), np.zeros(0, np.int8)
    return np.concatenate(xs), np.concatenate(ys)


def spun_version(text: str, profile: str | None, rate: float, seed: int) -> tuple[str, list]:
    """The text spun by `profile` at `rate` (itself, with no swaps, when profile is None)."""
    from unspin.spin import spin

    if profile is None:
        return text, []
    result = spin(text, profile, rate=rate, seed=seed)
    return result.text, list(result.swaps)


def word_ranges(text: str) -> list[tuple[int, int]]:
    """Character spans of the words of `text`, as the scan tokenizes it."""
    from unspin.text import tokenize

    return [(t.start, t.end) for t in tokenize(text) if t.kind == "word"]


def spin_jobs(
    texts: Sequence[str], profiles: Sequence[str], *, seed: int
) -> list[tuple[str, str | None, float, int]]:
    """A seeded mix over profiles and rates, one (text, profile, rate, seed) per text; profile
    None (a clean example) for about CLEAN_SHARE of them."""
    rng = random.Random(seed)
    jobs: list[tuple[str, str | None, float, int]] = []
    for k, text in enumerate(texts):
        if rng.random() < CLEAN_SHARE:
            jobs.append((text, None, 0.0, seed + k))
        else:
            jobs.append((text, rng.choice(list(profiles)), rng.choice(RATES), seed + k))
    return jobs


def make_example(
    spun_text: str,
    swaps: list,
    profile: str | None,
    rate: float,
    encoder_logits: np.ndarray | None = None,
) -> Example:
    """Features and labels of one spun (or, without swaps, clean) text.

    `encoder_logits`: the encoder's swap logit per word of the spun text, for the default mode.
    """
    from unspin.context.model import get_context_model
    from unspin.lexicon import get_lexicon
    from unspin.text import tokenize

    tokens = tokenize(spun_text)
    lexicon, context = get_lexicon(), get_context_model()
    default = mode_data(
        tokens, swaps, fast=False, lexicon=lexicon, context=context, encoder_logits=encoder_logits
    )
    fast = mode_data(tokens, swaps, fast=True, lexicon=lexicon, context=context)
    ranges = [(t.start, t.end) for t in tokens if t.kind == "word"]
    return Example(default, fast, label_words(ranges, swaps), bool(swaps), profile or "clean", rate)


def _spun(job: tuple) -> tuple[str, list]:
    return spun_version(*job)


def _make(args: tuple) -> Example:
    return make_example(*args)


def build_examples(
    texts: Sequence[str],
    profiles: Sequence[str],
    *,
    seed: int = 0,
    workers: int = 2,
    encoder=None,
) -> list[Example]:
    """Turn clean texts into a seeded mix of clean and spun examples over profiles and rates.

    `encoder` (a `SwapEncoder`): read every spun text first, in batches, and add its columns to
    the default features.
    """
    return _examples(spin_jobs(texts, profiles, seed=seed), workers=workers, encoder=encoder)


def clean_examples(texts: Sequence[str], *, workers: int = 2, encoder=None) -> list[Example]:
    """Examples of clean texts as they stand, none spun (for the clean budgets)."""
    return _examples([(t, None, 0.0, 0) for t in texts], workers=workers, encoder=encoder)


def _examples(jobs: Sequence[tuple], *, workers: int, encoder) -> list[Example]:
    spun = [_spun(j) for j in jobs]
    logits = (
        encoder.word_logits([t for t, _ in spun], [word_ranges(t) for t, _ in spun])
        if encoder is not None
        else [None] * len(jobs)
    )
    args = [
        (text, swaps, profile, rate, lo)
        for (text, swaps), (_, profile, rate, _), lo in zip(spun, jobs, logits, strict=True)
    ]
    if workers <= 1:
        return [_make(a) for a in args]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_make, args, chunksize=16))


def budget_paragraphs(
    corpus: Sequence[str],
    paras: Sequence[Paragraph],
    spun: Sequence[bool],
    *,
    seed: int,
    holdout: float = HOLDOUT,
    per_doc: int = BUDGET_PER_DOC,
) -> list[Paragraph]:
    """Clean paragraphs for the clean budgets that no model fits on: the calibration-side
    documents' paragraphs (the side `fit` keeps with the same seed and `holdout`) other than
    their clean calibration examples, so the originals of spun examples and the paragraphs
    sampling passed over, at most `per_doc` per document, in corpus order."""
    groups = [p.doc_id for p in paras]
    _, cal_idx = split_by_group(len(paras), groups, holdout, seed)
    cal_docs = {groups[i] for i in cal_idx}
    clean_cal = {(paras[i].doc_id, paras[i].index) for i in cal_idx if not spun[i]}
    taken: Counter[str] = Counter()
    out: list[Paragraph] = []
    for p in corpus_paragraphs(corpus, "train", part="words"):
        if p.doc_id in cal_docs and (p.doc_id, p.index) not in clean_cal:
            if taken[p.doc_id] < per_doc:
                taken[p.doc_id] += 1
                out.append(p)
    return out


def encoder_reference(encoder: str, out: str) -> dict[str, str]:
    """How a model names its encoder file: by file name when the two sit in one folder (the
    shipped pair, or a copied pair), else by absolute path; with its SHA-256 to catch a swap."""
    import hashlib
    from pathlib import Path

    enc, model_dir = Path(encoder).resolve(), Path(out).resolve().parent
    digest = hashlib.sha256(enc.read_bytes()).hexdigest()
    name = enc.name if enc.parent == model_dir else str(enc)
    return {"file": name, "sha256": digest}


def _matrix(e: Example, fast: bool) -> np.ndarray:
    return e.mode(fast).matrix


def _stack(examples: Sequence[Example], fast: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([_matrix(e, fast) for e in examples if len(e.labels)])
    y = np.concatenate([e.labels for e in examples if len(e.labels)])
    return x, y


def _word_forest(x: np.ndarray, y: np.ndarray, seed: int) -> CompiledForest:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=400,
        learning_rate=0.08,
        max_leaf_nodes=48,
        max_depth=10,  # bounds the walk of the compiled forest at scan time
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        random_state=seed,
    )
    model.fit(x, y)
    # Scans run on the numpy export: no scikit-learn import at load, no thread start-up per call.
    return CompiledForest.from_sklearn(model)


def _rank_forest(
    x: np.ndarray, y: np.ndarray, seed: int, weight: np.ndarray | None = None
) -> CompiledForest:
    """P(candidate is the original) from candidate rows; smaller than the word forest, since it
    runs only on flagged spans' candidates."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=300,
        learning_rate=0.08,
        max_leaf_nodes=31,
        max_depth=8,
        l2_regularization=1.0,
        early_stopping=True,
        validation_fraction=0.1,
        random_state=seed,
    )
    model.fit(x, y, sample_weight=weight)
    return CompiledForest.from_sklearn(model)


def fit(
    examples: Sequence[Example],
    *,
    fast: bool = False,
    seed: int = 0,
    holdout: float = HOLDOUT,
    real_rank: tuple[np.ndarray, np.ndarray] | None = None,
    groups: Sequence[str] | None = None,
    lone_clean: Sequence[Example] = (),
) -> tuple[SpinModel, dict]:
    """Fit the word model on part of the examples, the document model and thresholds on the rest.

    `fast` fits on the bigram-only features used by `scan --fast`; `real_rank` adds ranker rows
    from real spinner choices (`real_rank_examples`, same mode), weighted REAL_RANK_WEIGHT.
    `groups` (one per example: its source document) keeps a document's paragraphs on one side.
    `lone_clean`: more clean paragraphs for the clean budgets only, from documents on the
    calibration side (`split_by_group` with the same groups, `holdout` and seed) or unseen.
    """
    fit_idx, cal_idx = split_by_group(len(examples), groups, holdout, seed)
    fit_part = [examples[i] for i in fit_idx]
    cal_part = [examples[i] for i in cal_idx]

    x, y = _stack(fit_part, fast)
    model = SpinModel(word_model=_word_forest(x, y, seed), doc_model=None)
    # The candidate ranker learns from the swaps of the same paragraphs; the restore model then
    # learns, from the words that have a suggestion, whether the re-ranked leader is the original.
    kx, ky = rank_examples([e.mode(fast) for e in fit_part])
    kw = np.ones(len(ky))
    if real_rank is not None and len(real_rank[1]):
        kx = np.concatenate([kx, real_rank[0]])
        ky = np.concatenate([ky, real_rank[1]])
        kw = np.concatenate([kw, np.full(len(real_rank[1]), REAL_RANK_WEIGHT)])
    model.rank_model = _rank_forest(kx, ky, seed, kw) if ky.any() else None
    restore_fit = [restore_rows(e.mode(fast), model.rank_model) for e in fit_part]
    rx = np.concatenate([r for r, _ in restore_fit])
    ry = np.concatenate([lab for _, lab in restore_fit])
    has = rx[:, FEATURE_NAMES.index("has_candidates")] > 0
    model.restore_model = _word_forest(rx[has], ry[has], seed)
    report = {
        "word_rows": int(len(y)),
        "rank_rows": int(len(ky)),
        "rank_rows_real": int(len(real_rank[1])) if real_rank is not None else 0,
        "word_positive_share": float(y.mean()),
        **calibrate(model, cal_part, fast=fast, seed=seed, lone_clean=lone_clean),
    }
    return model, report


def split_by_group(
    n: int, groups: Sequence[str] | None, holdout: float, seed: int
) -> tuple[list[int], list[int]]:
    """Seeded (fit, calibration) example indices, about `holdout` of them for calibration, with
    every group (source document) wholly on one side: calibration paragraphs whose sibling
    paragraphs the word model fitted on look cleaner to it than new documents do, and the
    thresholds set on them let more through. No groups: each example is its own."""
    rng = random.Random(seed)
    order = list(range(n))
    rng.shuffle(order)
    if groups is None:
        cut = int(n * (1 - holdout))
        return order[:cut], order[cut:]
    sizes = Counter(groups)
    keys = sorted(sizes)
    rng.shuffle(keys)
    held: set[str] = set()
    count = 0
    for key in keys:
        if count >= holdout * n:
            break
        held.add(key)
        count += sizes[key]
    return [i for i in order if groups[i] not in held], [i for i in order if groups[i] in held]


def calibrate(
    model: SpinModel,
    cal_part: Sequence[Example],
    *,
    fast: bool,
    seed: int,
    z: float = CLEAN_BUDGET_Z,
    lone_clean: Sequence[Example] = (),
) -> dict:
    """Fit `model`'s document model and choose its thresholds on calibration examples the word,
    rank and restore models never saw; returns what calibration found. `z`: how many standard
    errors of margin the clean-change budget keeps (`_upper_count`). `lone_clean`: clean
    paragraphs the models never saw that only the clean budgets read, each judged alone: the
    verdict threshold sits at a 0.6 % tail, which a thousand paragraphs place only roughly."""
    from sklearn.linear_model import LogisticRegression

    # Per-text quantities are computed once over the calibration examples and then the extra
    # clean paragraphs; only the clean budgets read the latter (indices from len(cal_part) on).
    texts = [*cal_part, *lone_clean]
    n_cal = len(cal_part)
    probs = [model.word_probabilities(_matrix(e, fast)) for e in texts]
    spun_flags = np.array([e.spun for e in cal_part], dtype=bool)
    # The evidence table is estimated on half the calibration documents, the document model on
    # pseudo-articles built from the other half.
    half = n_cal // 2
    model.evidence = DocEvidence.fit(
        np.concatenate([p for p, s in zip(probs[:half], spun_flags[:half], strict=True) if s]),
        np.concatenate([p for p, s in zip(probs[:half], spun_flags[:half], strict=True) if not s]),
    )
    doc_probs, doc_y = pseudo_articles(probs[half:n_cal], cal_part[half:], seed=seed)
    doc_x = np.stack([doc_features(p, model.evidence) for p in doc_probs])
    model.doc_model = CompiledLogistic.from_sklearn(
        LogisticRegression(C=1.0, max_iter=2000).fit(doc_x, doc_y)
    )
    doc_p = model.doc_model.predict_proba(doc_x)[:, 1]
    # The clean budget must hold for a lone paragraph as well as for a long article. Lone
    # paragraphs are the riskiest (a few odd words decide), and pseudo-articles of 1-4 of them
    # hide that, so each clean paragraph the evidence table did not read is also judged alone.
    text_doc_p = np.array([model.doc_probability(p) for p in probs])
    clean = [k for k, e in enumerate(texts) if not e.spun]
    spun = [k for k, e in enumerate(texts) if e.spun]
    lone = text_doc_p[[k for k in clean if k >= half]]
    model.doc_threshold = _verdict_threshold(
        doc_p[doc_y == 0], np.array([len(p) for p in doc_probs])[doc_y == 0], lone
    )

    all_p = np.concatenate(probs[:n_cal])
    all_y = np.concatenate([e.labels for e in cal_part])
    model.flag_threshold = _best_f1_threshold(all_p, all_y)
    # Restoration thresholds, on the restore model's confidence: the best repairs-minus-damage
    # trade-off inside spun texts, and the clean-damage budget for any text. Clean texts wrongly
    # judged spun meet the lower spun-text threshold, so their damage counts against the budget.
    rows = [restore_rows(e.mode(fast), model.rank_model) for e in texts]
    conf = [
        np.where(p >= model.flag_threshold, model.restore_probabilities(r), 0.0)
        for p, (r, _) in zip(probs, rows, strict=True)
    ]
    spun_parts = [(conf[k], rows[k][1], texts[k].labels) for k in spun]
    best_spun = _net_repair_threshold(
        np.concatenate([r for r, _, _ in spun_parts]),
        np.concatenate([ok for _, ok, _ in spun_parts]),
        np.concatenate([lab for _, _, lab in spun_parts]),
    )
    (
        model.restore_doc_threshold,
        model.restore_threshold,
        model.spun_restore_threshold,
    ) = _restore_doc_threshold(
        [conf[k] for k in clean],
        text_doc_p[clean],
        spun_parts,
        text_doc_p[spun],
        best_spun,
        verdict_at=model.doc_threshold,
        fixed=[texts[k].mode(fast).term_words for k in clean],
        z=z,
    )
    return {
        "flag_threshold": model.flag_threshold,
        "restore_threshold": model.restore_threshold,
        "spun_restore_threshold": model.spun_restore_threshold,
        "restore_doc_threshold": model.restore_doc_threshold,
        "doc_threshold": model.doc_threshold,
        "calibration_spun_detected": float((doc_p[doc_y == 1] >= model.doc_threshold).mean()),
        "calibration_doc_auroc": _auroc(doc_p[doc_y == 1], doc_p[doc_y == 0]),
        "calibration_lone_clean_paragraphs": len(lone),
        "calibration_clean_words": int(sum(len(texts[k].labels) for k in clean)),
        "calibration_docs": len(cal_part),
    }


def pseudo_articles(
    probs: Sequence[np.ndarray], examples: Sequence[Example], *, seed: int, n: int = 8000
) -> tuple[list[np.ndarray], np.ndarray]:
    """Word probabilities of 1-8 calibration paragraphs of one kind (clean, or one profile and
    rate) joined into pseudo-articles, so the document model sees real article lengths and not
    only single paragraphs."""
    groups: dict[tuple[str, float], list[int]] = {}
    for k, e in enumerate(examples):
        groups.setdefault((e.profile, e.rate), []).append(k)
    keys = sorted(groups)
    clean_keys = [k for k in keys if k[0] == "clean"]
    spun_keys = [k for k in keys if k[0] != "clean"]
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    labels: list[int] = []
    for i in range(n):
        pool = spun_keys if i % 2 else clean_keys
        if not pool:
            continue
        members = groups[pool[rng.integers(len(pool))]]
        size = min(int(rng.integers(1, 9)), len(members))
        chosen = rng.choice(members, size=size, replace=False)
        out.append(np.concatenate([probs[j] for j in chosen]))
        labels.append(i % 2)
    return out, np.asarray(labels, dtype=int)


def _best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best_t, best_f = 0.5, -1.0
    for t in np.arange(0.2, 0.95, 0.025):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        prec = tp / max(pred.sum(), 1)
        rec = tp / max((y == 1).sum(), 1)
        f = 2 * prec * rec / max(prec + rec, 1e-9)
        if f > best_f:
            best_t, best_f = float(t), f
    return round(best_t, 3)


def _auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    from unspin.bench.metrics import auroc

    return round(float(auroc(list(pos), list(neg))), 4)


def _verdict_threshold(
    clean_p: np.ndarray,
    clean_sizes: np.ndarray,
    lone_p: np.ndarray,
    share: float = CLEAN_FLAGGED_SHARE,
) -> float:
    """The P(spun) threshold that at most `share` of clean texts reach in each group: shorter
    and longer clean pseudo-articles (P `clean_p`, `clean_sizes` words), and clean paragraphs
    judged alone (`lone_p`)."""
    short = clean_sizes <= np.median(clean_sizes) if len(clean_sizes) else clean_sizes > 0
    return max(
        _clean_quantile_threshold(clean_p[short], share),
        _clean_quantile_threshold(clean_p[~short], share),
        _clean_quantile_threshold(lone_p, share),
    )


def _clean_quantile_threshold(clean_doc_p: np.ndarray, share: float) -> float:
    """Verdict threshold that at most `share` of the clean calibration documents reach."""
    if len(clean_doc_p) == 0:
        return 0.5
    t = float(np.quantile(clean_doc_p, 1.0 - share, method="higher")) + 1e-6
    return round(max(t, 0.5), 4)


def _upper_count(counts: np.ndarray, z: float) -> float:
    """The total of per-text counts plus `z` standard errors of that total over texts drawn
    like these: changes come in clumps (one odd text takes several), so a threshold that just
    fits one calibration sample overshoots on the next."""
    if len(counts) < 2:
        return float(counts.sum())
    return float(counts.sum() + z * np.sqrt(len(counts)) * counts.std(ddof=1))


def _restore_thresholds(
    clean_conf: Sequence[np.ndarray],
    judged_spun: Sequence[bool],
    spun_at: float,
    *,
    max_per_1000: float,
    floor: float,
    fixed: Sequence[int] | None = None,
    z: float = CLEAN_BUDGET_Z,
) -> tuple[float, float]:
    """(any-text, spun-text) restore thresholds that change at most `max_per_1000` of the clean
    calibration words, given each clean text's restore confidences (0 where not flagged),
    whether it was judged spun, and the words other readers change in it regardless (`fixed`).
    `spun_at` is raised until the clean texts judged spun use at most half the budget; the
    any-text threshold is then the lowest that fits the rest. Counts are taken `z` standard
    errors high (`_upper_count`)."""
    words = sum(len(c) for c in clean_conf)
    if words == 0:
        return max(floor, 0.8), min(spun_at, max(floor, 0.8))
    allowed = max_per_1000 / 1000.0 * words
    conf = np.concatenate(list(clean_conf))
    doc = np.repeat(np.arange(len(clean_conf)), [len(c) for c in clean_conf])
    spun_doc = np.asarray(judged_spun, dtype=bool)
    in_spun = spun_doc[doc]
    base = np.zeros(len(clean_conf)) if fixed is None else np.asarray(fixed, dtype=float)

    def counts(any_t: float, spun_t: float) -> np.ndarray:
        applied = conf >= np.where(in_spun, spun_t, any_t)
        return np.bincount(doc, weights=applied, minlength=len(clean_conf))

    while spun_at < 0.995 and _upper_count(counts(np.inf, spun_at), z) > allowed / 2:
        spun_at = round(spun_at + 0.025, 3)
    # Thresholds are rounded before they are tried: the model stores the rounded value.
    for t in np.round(np.arange(max(floor, 0.3), 0.995, 0.01), 3):
        if _upper_count(counts(t, min(t, spun_at)) + base, z) <= allowed:
            return round(float(t), 3), round(float(min(t, spun_at)), 3)
    return 0.995, round(float(min(0.995, spun_at)), 3)


def _restore_doc_threshold(
    clean_conf: Sequence[np.ndarray],
    clean_doc_p: np.ndarray,
    spun_parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    spun_doc_p: np.ndarray,
    spun_at: float,
    *,
    verdict_at: float,
    max_per_1000: float = CLEAN_CHANGES_PER_1000,
    fixed: Sequence[int] | None = None,
    z: float = CLEAN_BUDGET_Z,
) -> tuple[float, float, float]:
    """(P(spun) from which the spun-text threshold applies, any-text and spun-text restore
    thresholds): the P(spun) cut, at most the verdict's, whose thresholds (fitted to the clean
    budget by `_restore_thresholds`, with `fixed` words changed regardless) repair the most
    swaps net of damage in the spun calibration texts (`spun_parts`: per text its confidences
    where flagged, whether the top suggestion is right, and its swap labels)."""
    cuts = sorted({round(float(c), 3) for c in np.arange(0.3, verdict_at, 0.05)} | {verdict_at})
    best: tuple[float, tuple[float, float, float]] | None = None
    for cut in reversed(cuts):  # from the verdict down: a tie keeps the higher cut
        any_t, spun_t = _restore_thresholds(
            clean_conf,
            list(clean_doc_p >= cut),
            spun_at,
            max_per_1000=max_per_1000,
            floor=0.3,
            fixed=fixed,
            z=z,
        )
        net = 0.0
        for (conf, right, labels), p in zip(spun_parts, spun_doc_p, strict=True):
            applied = conf >= (spun_t if p >= cut else any_t)
            net += float((applied & (right == 1)).sum())
            net -= DAMAGE_COST * float((applied & (labels == 0)).sum())
        if best is None or net > best[0]:
            best = (net, (cut, any_t, spun_t))
    assert best is not None
    return best[1]


def _net_repair_threshold(conf: np.ndarray, right: np.ndarray, swapped: np.ndarray) -> float:
    """Confidence threshold with the most repairs minus damage in spun text: a right suggestion
    repairs a word, one on an unswapped word damages it (counted `DAMAGE_COST` times), a wrong
    one on a swap changes little."""
    best_t, best_net = 0.5, -np.inf
    for t in np.arange(0.1, 0.95, 0.025):
        applied = conf >= t
        net = float((applied & (right == 1)).sum() - DAMAGE_COST * (applied & (swapped == 0)).sum())
        if net > best_net:
            best_t, best_net = float(t), net
    return round(best_t, 3)


def train(
    corpus: Sequence[str],
    out: str,
    *,
    profiles: Sequence[str] | None = None,
    paragraphs: int = 6000,
    seed: int = 0,
    workers: int = 2,
    tortured_csv: str | None = None,
    encoder: str | None = None,
    per_doc: int = 3,
) -> dict:
    """Train a model from clean JSONL corpora (train split only) and save it to `out`.

    `tortured_csv`: a tortured-phrases list whose calibration rows teach the candidate ranker
    real spinner choices (see `real_rank_examples`) and fit the disguised-collocation scorers
    (`unspin.detect.collocations`). `encoder`: a head file from
    `unspin train-encoder` whose swap logits join the default mode's word features (None: a
    model without the encoder). Paragraphs come from the train split's "words" part, which the
    encoder's fine-tune never reads; at most `per_doc` from one document. The clean budgets also
    read the calibration-side documents' other paragraphs (`budget_paragraphs`), unspun.
    """
    from unspin.spin import PROFILES

    profiles = list(profiles or PROFILES)
    t0 = time.time()
    paras = sample_paragraphs(
        corpus, "train", paragraphs, seed=seed, part="words", per_doc=per_doc
    )
    swap_encoder = None
    if encoder is not None:
        from unspin.context.encoder import SwapEncoder

        swap_encoder = SwapEncoder.load(encoder, threads=max(1, workers))
    examples = build_examples(
        [p.text for p in paras], profiles, seed=seed, workers=workers, encoder=swap_encoder
    )
    budget = budget_paragraphs(corpus, paras, [e.spun for e in examples], seed=seed)
    lone_clean = clean_examples([p.text for p in budget], workers=workers, encoder=swap_encoder)
    t1 = time.time()
    real = {
        fast: real_rank_examples(tortured_csv, fast=fast) if tortured_csv else None
        for fast in (False, True)
    }
    groups = [p.doc_id for p in paras]
    model, report = fit(
        examples, seed=seed, real_rank=real[False], groups=groups, lone_clean=lone_clean
    )
    model.fast, fast_report = fit(
        examples, fast=True, seed=seed, real_rank=real[True], groups=groups, lone_clean=lone_clean
    )
    model.meta = {
        "features": list(FEATURE_NAMES) + (list(ENCODER_FEATURE_NAMES) if encoder else []),
        "encoder": encoder_reference(encoder, out) if encoder else None,
        # How the encoder's logits were computed (onnx int8 or torch): a scan reads them best
        # the same way.
        "encoder_backend": (
            f"{swap_encoder.meta.get('backend')}-{swap_encoder.meta.get('dtype')}"
            if swap_encoder is not None
            else None
        ),
        "rank_features": list(RANK_FEATURE_NAMES),
        "profiles": profiles,
        "paragraphs": len(paras),
        "budget_paragraphs": len(budget),
        "per_doc": per_doc,
        "seed": seed,
        "corpus": [str(c).rsplit("/", 1)[-1] for c in corpus],
        "tortured_csv": str(tortured_csv).rsplit("/", 1)[-1] if tortured_csv else None,
    }
    model.save(out)
    if tortured_csv:
        from unspin.detect.collocations import attach_scorers

        # Last, as they read the saved model's P(swapped) the way scans do.
        report["collocations"] = attach_scorers(out, Path(tortured_csv), corpus)
    report["fast"] = fast_report
    report.update(
        paragraphs=len(paras),
        profiles=profiles,
        feature_seconds=round(t1 - t0, 1),
        fit_seconds=round(time.time() - t1, 1),
    )
    return report
