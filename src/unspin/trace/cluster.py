"""Clusters of copies: union-find over verified pairs, the likely source, consensus restoration.

A verified pair is two documents whose word alignment says one is a copy of the other (exact,
lightly edited or spun). Clusters are the connected components of those pairs. In each cluster
the likely source is the earliest-dated member when the input has dates; otherwise the *least
spun* one: for every substitution between two members, the wording that fits its context
better (web bigram counts) is likelier the original, and a member scores the share of its
pairwise substitutions it wins. In a cluster of one source and n spun copies the source wins
against every copy, while two copies win about half each against one another.

Consensus restoration: within a cluster of copies of one story, the wording that most members
share at a position is the likely original (spinners choose independently), so each spun
member can be restored by majority vote over all members — with no detector involved.

Pure functions over plain data; the local engine and a Spark engine call the same ones.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from unspin.trace.align import Alignment, Substitution, align, apply_substitutions
from unspin.trace.fingerprint import Canonicalizer, default_canonicalizer, word_spans

_MAX_JUDGED = 40  # substitutions judged per pair at most

__all__ = [
    "Member",
    "block_margin",
    "UnionFind",
    "choose_source",
    "clusters_from_pairs",
    "consensus_restore",
    "naturalness_margin",
]


class UnionFind:
    """Disjoint sets over 0..n-1 (numpy parent array, path halving, union by smaller root).

    Joining always keeps the smaller root, so a component's root is its first member: cluster
    labels do not depend on the order pairs arrive in.
    """

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, x: int) -> int:
        """The root (smallest member) of x's set."""
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    def union(self, a: int, b: int) -> None:
        """Join the sets of a and b."""
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = (ra, rb) if ra < rb else (rb, ra)
            self.parent[hi] = lo

    def roots(self) -> np.ndarray:
        """The root of every element (fully compressed), as one array."""
        parent = self.parent
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                return parent.copy()
            parent[:] = grand


def clusters_from_pairs(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cluster label (smallest member) of each of n documents, given the pairs (a[k], b[k])."""
    uf = UnionFind(n)
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        uf.union(x, y)
    return uf.roots()


def naturalness_margin(alignment: Alignment, text: str, source: str, context: Any = None) -> float:
    """In [-1, 1]: how much likelier `source` is the original than `text`, from their swaps.

    For each substitution of the alignment (text's wording vs the source's), the wording whose
    web-bigram fit with the neighbouring words is higher wins; the margin is
    (source wins - text wins) / substitutions (0 without substitutions).
    """
    subs = [s for s in alignment.substitutions if s.text.lower() != s.source_text.lower()]
    if not subs:
        return 0.0
    if len(subs) > _MAX_JUDGED:  # an evenly spread sample decides as well, for less work
        step = len(subs) / _MAX_JUDGED
        subs = [subs[int(k * step)] for k in range(_MAX_JUDGED)]
    if context is None:
        from unspin.context import get_context_model

        context = get_context_model()
    t_words, t_spans = word_spans(text)
    s_words, s_spans = word_spans(source)
    t_starts = [a for a, _ in t_spans]
    s_starts = [a for a, _ in s_spans]
    wins = 0
    for s in subs:
        fit_text = _fit(context, t_words, t_starts, s.start, s.end)
        fit_source = _fit(context, s_words, s_starts, s.source_start, s.source_end)
        wins += (fit_source > fit_text) - (fit_text > fit_source)
    return wins / len(subs)


def block_margin(
    blocks: list[tuple[int, int, int, int]],
    text_words: list[str],
    source_words: list[str],
    context: Any,
) -> float:
    """`naturalness_margin` from word-range blocks (see `align.compare_words`): no offsets.

    Same-length blocks are judged word by word, as `align` splits them into substitutions.
    """
    pairs: list[tuple[int, int, int, int]] = []
    for i1, i2, j1, j2 in blocks:
        if i2 - i1 == j2 - j1:
            pairs.extend((i1 + d, i1 + d + 1, j1 + d, j1 + d + 1) for d in range(i2 - i1))
        else:
            pairs.append((i1, i2, j1, j2))
    if not pairs:
        return 0.0
    if len(pairs) > _MAX_JUDGED:
        step = len(pairs) / _MAX_JUDGED
        pairs = [pairs[int(k * step)] for k in range(_MAX_JUDGED)]
    wins = 0
    for i1, i2, j1, j2 in pairs:
        fit_text = _fit_words(context, text_words, j1, j2)
        fit_source = _fit_words(context, source_words, i1, i2)
        wins += (fit_source > fit_text) - (fit_text > fit_source)
    return wins / len(pairs)


def _fit_words(context: Any, words: list[str], first: int, last: int) -> float:
    before = words[first - 1] if first > 0 else "<s>"
    after = words[last] if last < len(words) else "</s>"
    if last <= first:
        return float(context.bigram_logprob(before, after))
    return float(context.bigram_fit(before, words[first:last], after))


def _fit(context: Any, words: list[str], starts: list[int], start: int, end: int) -> float:
    """Bigram fit of the words in [start, end) between the word before and the word after."""
    first = bisect_left(starts, start)
    last = bisect_left(starts, end) if end > start else first
    before = words[first - 1] if first > 0 else "<s>"
    after = words[last] if last < len(words) else "</s>"
    if last <= first:  # a dropped word: how well the neighbours join up without it
        return float(context.bigram_logprob(before, after))
    return float(context.bigram_fit(before, words[first:last], after))


@dataclass(frozen=True, slots=True)
class Member:
    """What choosing a cluster's source needs to know about one member.

    `wins`: summed naturalness margins against the members it was verified with;
    `closeness`: its mean identity (share of equal words) with them.
    """

    index: int
    date: str | None
    wins: float
    closeness: float = 0.0


def choose_source(members: Sequence[Member]) -> int:
    """The index of a cluster's likely source: earliest date if any, else least spun.

    Least spun: the members that read more naturally than the cluster on the whole (positive
    wins; else the best one) — an unspun copy, say lightly edited, ties with the source there —
    and among them the one closest to all others (an edit drifts away from every copy), then
    the first in the input (exact copies).
    """
    dated = [m for m in members if m.date]
    if dated:
        return min(dated, key=lambda m: (m.date, -m.wins, m.index)).index
    best = max(m.wins for m in members)
    natural = [m for m in members if m.wins > 0] or [m for m in members if m.wins == best]
    return min(natural, key=lambda m: (-round(m.closeness, 9), m.index)).index


def consensus_restore(
    text: str, others: Sequence[str], canon: Canonicalizer | None = None
) -> tuple[str, list[Substitution]]:
    """Restore `text` by majority over the wording of the other members of its cluster.

    Each other member is aligned against `text`; at every span where some member has other
    wording, the text's own wording gets one vote, plus one from every member that agrees with
    it there, and each proposed wording one vote per member proposing it. The most voted
    wording wins (the text's own on a tie). Returns the restored text and the substitutions
    applied (offsets into `text`).
    """
    canon = canon or default_canonicalizer()
    proposals: dict[tuple[int, int], Counter[str]] = {}
    originals: dict[tuple[int, int], Substitution] = {}
    for other in others:
        for s in align(text, other, canon).substitutions:
            key = (s.start, s.end)
            proposals.setdefault(key, Counter())[s.source_text] += 1
            originals.setdefault(key, s)
    chosen: list[Substitution] = []
    for key, votes in sorted(proposals.items()):
        proposing = sum(votes.values())
        keep = 1 + len(others) - proposing  # the text itself and members that agree with it
        wording, count = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
        if count > keep:
            s = originals[key]
            chosen.append(Substitution(s.start, s.end, s.text, -1, -1, wording))
    restored = apply_substitutions(text, chosen)
    return restored, chosen
