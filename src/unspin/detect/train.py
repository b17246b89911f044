"""Self-supervised training: spin clean paragraphs, label the swaps, fit the combiner.

Seeded and reproducible: the same corpus, profiles and seed give the same model.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from unspin.bench.datasets import sample_paragraphs
from unspin.detect.compiled import CompiledForest, CompiledLogistic
from unspin.detect.features import FEATURE_NAMES, DocFeatures, extract, restore_matrix
from unspin.detect.model import DocEvidence, SpinModel, doc_features

log = logging.getLogger(__name__)

RATES = (0.1, 0.2, 0.3)
CLEAN_SHARE = 0.35
# Budgets set below the limits (1 % clean documents judged spun, 2 clean words changed
# per 1,000) to leave a margin for documents unlike the calibration paragraphs.
CLEAN_FLAGGED_SHARE = 0.006
CLEAN_CHANGES_PER_1000 = 1.5
# In text judged spun, one damaged clean word weighs as much as this many repaired swaps: 1 is
# what word error rate counts (weighing it 2 cost 3-6 points of restoration gain on the bench).
DAMAGE_COST = 1.0


@dataclass(slots=True)
class Example:
    """Features and labels of one (possibly spun) paragraph."""

    matrix: np.ndarray  # default mode (trigram LM) features
    fast_matrix: np.ndarray  # --fast mode (bigram counts) features
    labels: np.ndarray  # 1 where the word overlaps a swap
    restore: np.ndarray  # default mode restore matrix (word features + candidate margins)
    fast_restore: np.ndarray
    restore_labels: np.ndarray  # 1 where the word's top suggestion gives back the original
    fast_restore_labels: np.ndarray
    spun: bool
    profile: str
    rate: float


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


def restore_labels(feats: DocFeatures, swaps) -> np.ndarray:
    """1 for each word whose span is exactly one swap and whose top candidate is that swap's
    original wording: restoring it repairs the text."""
    by_range = {(s.start, s.end): " ".join(s.original.lower().split()) for s in swaps}
    out = np.zeros(len(feats.words), dtype=np.int8)
    for w, k in enumerate(feats.word_span):
        if k < 0:
            continue
        span = feats.spans[k]
        if not span.candidates:
            continue
        key = (feats.words[span.first].start, feats.words[span.last - 1].end)
        original = by_range.get(key)
        if original is not None and original == span.candidates[0]:
            out[w] = 1
    return out


def make_example(text: str, profile: str | None, rate: float, seed: int) -> Example:
    """Spin `text` (or keep it clean when profile is None) and compute features and labels."""
    from unspin.context.model import get_context_model
    from unspin.lexicon import get_lexicon
    from unspin.spin import spin
    from unspin.text import tokenize

    if profile is None:
        spun_text, swaps = text, []
    else:
        result = spin(text, profile, rate=rate, seed=seed)
        spun_text, swaps = result.text, result.swaps
    tokens = tokenize(spun_text)
    feats = extract(tokens, get_lexicon(), get_context_model(), fast=False)
    fast_feats = extract(tokens, get_lexicon(), get_context_model(), fast=True)
    labels = label_words([(w.start, w.end) for w in feats.words], swaps)
    return Example(
        feats.matrix,
        fast_feats.matrix,
        labels,
        restore_matrix(feats),
        restore_matrix(fast_feats),
        restore_labels(feats, swaps),
        restore_labels(fast_feats, swaps),
        bool(swaps),
        profile or "clean",
        rate,
    )


def _make(args: tuple) -> Example:
    return make_example(*args)


def build_examples(
    texts: Sequence[str],
    profiles: Sequence[str],
    *,
    seed: int = 0,
    workers: int = 2,
) -> list[Example]:
    """Turn clean texts into a seeded mix of clean and spun examples over profiles and rates."""
    rng = random.Random(seed)
    jobs = []
    for k, text in enumerate(texts):
        if rng.random() < CLEAN_SHARE:
            jobs.append((text, None, 0.0, seed + k))
        else:
            jobs.append((text, rng.choice(list(profiles)), rng.choice(RATES), seed + k))
    if workers <= 1:
        return [_make(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_make, jobs, chunksize=16))


def _matrix(e: Example, fast: bool) -> np.ndarray:
    return e.fast_matrix if fast else e.matrix


def _stack(examples: Sequence[Example], fast: bool) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([_matrix(e, fast) for e in examples if len(e.labels)])
    y = np.concatenate([e.labels for e in examples if len(e.labels)])
    return x, y


def _restore_rows(e: Example, fast: bool) -> tuple[np.ndarray, np.ndarray]:
    return (e.fast_restore, e.fast_restore_labels) if fast else (e.restore, e.restore_labels)


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


def fit(
    examples: Sequence[Example], *, fast: bool = False, seed: int = 0, holdout: float = 0.3
) -> tuple[SpinModel, dict]:
    """Fit the word model on part of the examples, the document model and thresholds on the rest.

    `fast` fits on the bigram-only features used by `scan --fast`.
    """
    from sklearn.linear_model import LogisticRegression

    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    cut = int(len(order) * (1 - holdout))
    fit_part = [examples[i] for i in order[:cut]]
    cal_part = [examples[i] for i in order[cut:]]

    x, y = _stack(fit_part, fast)
    model = SpinModel(word_model=_word_forest(x, y, seed), doc_model=None)
    # The restore model learns on the same paragraphs, from the words that have a suggestion.
    rx = np.concatenate([_restore_rows(e, fast)[0] for e in fit_part if len(e.labels)])
    ry = np.concatenate([_restore_rows(e, fast)[1] for e in fit_part if len(e.labels)])
    has = rx[:, FEATURE_NAMES.index("has_candidates")] > 0
    model.restore_model = _word_forest(rx[has], ry[has], seed)
    probs = [model.word_probabilities(_matrix(e, fast)) for e in cal_part]
    spun_flags = np.array([e.spun for e in cal_part], dtype=bool)
    # The evidence table is estimated on half the calibration documents, the document model on
    # pseudo-articles built from the other half.
    half = len(cal_part) // 2
    model.evidence = DocEvidence.fit(
        np.concatenate([p for p, s in zip(probs[:half], spun_flags[:half], strict=True) if s]),
        np.concatenate([p for p, s in zip(probs[:half], spun_flags[:half], strict=True) if not s]),
    )
    doc_probs, doc_y = pseudo_articles(probs[half:], cal_part[half:], seed=seed)
    doc_x = np.stack([doc_features(p, model.evidence) for p in doc_probs])
    model.doc_model = CompiledLogistic.from_sklearn(
        LogisticRegression(C=1.0, max_iter=2000).fit(doc_x, doc_y)
    )
    doc_p = model.doc_model.predict_proba(doc_x)[:, 1]
    # The clean budget must hold for a lone paragraph as well as for a long article.
    sizes = np.array([len(p) for p in doc_probs])
    short = sizes <= np.median(sizes[doc_y == 0])
    model.doc_threshold = max(
        _clean_quantile_threshold(doc_p[(doc_y == 0) & short], CLEAN_FLAGGED_SHARE),
        _clean_quantile_threshold(doc_p[(doc_y == 0) & ~short], CLEAN_FLAGGED_SHARE),
    )

    all_p = np.concatenate(probs)
    all_y = np.concatenate([e.labels for e in cal_part])
    model.flag_threshold = _best_f1_threshold(all_p, all_y)
    # Restoration thresholds, on the restore model's confidence: the clean-damage budget for
    # any text, and the best repairs-minus-damage trade-off inside spun texts.
    restore_p = [model.restore_probabilities(_restore_rows(e, fast)[0]) for e in cal_part]
    flagged = [p >= model.flag_threshold for p in probs]
    clean_r = np.concatenate(
        [np.where(f, r, 0.0) for r, f, e in zip(restore_p, flagged, cal_part, strict=True)
         if not e.spun]
    )  # fmt: skip
    model.restore_threshold = _damage_threshold(
        clean_r, max_per_1000=CLEAN_CHANGES_PER_1000, floor=0.3
    )
    spun_parts = [
        (np.where(f, r, 0.0), _restore_rows(e, fast)[1], e.labels)
        for r, f, e in zip(restore_p, flagged, cal_part, strict=True)
        if e.spun
    ]
    model.spun_restore_threshold = min(
        _net_repair_threshold(
            np.concatenate([r for r, _, _ in spun_parts]),
            np.concatenate([ok for _, ok, _ in spun_parts]),
            np.concatenate([lab for _, _, lab in spun_parts]),
        ),
        model.restore_threshold,
    )
    report = {
        "word_rows": int(len(y)),
        "word_positive_share": float(y.mean()),
        "flag_threshold": model.flag_threshold,
        "restore_threshold": model.restore_threshold,
        "spun_restore_threshold": model.spun_restore_threshold,
        "doc_threshold": model.doc_threshold,
        "calibration_spun_detected": float((doc_p[doc_y == 1] >= model.doc_threshold).mean()),
        "calibration_doc_auroc": _auroc(doc_p[doc_y == 1], doc_p[doc_y == 0]),
        "calibration_docs": len(cal_part),
    }
    return model, report


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


def _clean_quantile_threshold(clean_doc_p: np.ndarray, share: float) -> float:
    """Verdict threshold that at most `share` of the clean calibration documents reach."""
    if len(clean_doc_p) == 0:
        return 0.5
    t = float(np.quantile(clean_doc_p, 1.0 - share, method="higher")) + 1e-6
    return round(max(t, 0.5), 4)


def _damage_threshold(clean_p: np.ndarray, max_per_1000: float, floor: float) -> float:
    """Lowest threshold that changes at most `max_per_1000` clean words per 1,000."""
    if len(clean_p) == 0:
        return max(floor, 0.8)
    allowed = max_per_1000 / 1000.0
    for t in np.arange(max(floor, 0.3), 0.995, 0.01):
        if (clean_p >= t).mean() <= allowed:
            return round(float(t), 3)
    return 0.995


def _net_repair_threshold(conf: np.ndarray, right: np.ndarray, swapped: np.ndarray) -> float:
    """Confidence threshold with the most repairs minus damage in spun text: a right suggestion
    repairs a word, one on an unswapped word damages it (counted `DAMAGE_COST` times), a wrong
    one on a swap changes little."""
    best_t, best_net = 0.5, -np.inf
    for t in np.arange(0.1, 0.95, 0.025):
        applied = conf >= t
        net = float(
            (applied & (right == 1)).sum() - DAMAGE_COST * (applied & (swapped == 0)).sum()
        )
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
) -> dict:
    """Train a model from clean JSONL corpora (train split only) and save it to `out`."""
    from unspin.spin import PROFILES

    profiles = list(profiles or PROFILES)
    t0 = time.time()
    paras = sample_paragraphs(corpus, "train", paragraphs, seed=seed)
    examples = build_examples([p.text for p in paras], profiles, seed=seed, workers=workers)
    t1 = time.time()
    model, report = fit(examples, seed=seed)
    model.fast, fast_report = fit(examples, fast=True, seed=seed)
    model.meta = {
        "features": list(FEATURE_NAMES),
        "profiles": profiles,
        "paragraphs": len(paras),
        "seed": seed,
        "corpus": [str(c).rsplit("/", 1)[-1] for c in corpus],
    }
    model.save(out)
    report["fast"] = fast_report
    report.update(
        paragraphs=len(paras),
        profiles=profiles,
        feature_seconds=round(t1 - t0, 1),
        fit_seconds=round(time.time() - t1, 1),
    )
    return report
