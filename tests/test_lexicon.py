"""Tests for the spinner's thesaurus: lookups both ways, inflection, curated table, cache."""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

import pytest

from unspin.lexicon import Candidate, Lexicon, get_lexicon
from unspin.lexicon import core as lexicon_core
from unspin.lexicon.phrases import SWAPS

SOURCES = {"wordnet", "moby", "phrase", "observed"}
# General words to sweep for invariants: nouns, verbs, adjectives, function words, phrases.
SAMPLE = (
    "energy power bargains deals stated said resistance opposition own have nation country "
    "talks discussions prices costs commerce trade good bigger better left set cut run get "
    "since because however also about many help show people company data information went"
).split() + ["in the long run", "because of", "a lot of", "neural networks", "carried out"]


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    """The real lexicon, from the shared cache (built there on first use)."""
    return get_lexicon()


def texts(cands: list[Candidate]) -> list[str]:
    return [c.text for c in cands]


@pytest.mark.parametrize(
    ("observed", "original"),
    [
        ("nation", "country"),
        ("resistance", "opposition"),
        ("own", "have"),
        ("energy", "power"),
        ("discussion", "talk"),
        ("cost", "price"),
        ("commerce", "trade"),
    ],
)
def test_reverse_lookup_finds_the_original(lexicon: Lexicon, observed: str, original: str) -> None:
    assert original in texts(lexicon.sources_of(observed, limit=12))


@pytest.mark.parametrize(
    ("observed", "original", "lemma"),
    [
        ("bargains", "deals", "deal"),
        ("stated", "said", "say"),
        ("nations", "countries", "country"),
        ("owns", "has", "have"),
        ("discussions", "talks", "talk"),
        ("bigger", "larger", "large"),
        ("encouraged", "promoted", "promote"),
    ],
)
def test_reverse_lookup_inflects_like_the_query(
    lexicon: Lexicon, observed: str, original: str, lemma: str
) -> None:
    found = texts(lexicon.sources_of(observed, limit=20))
    assert original in found
    assert lemma not in found  # candidates come inflected, not as bare lemmas


@pytest.mark.parametrize(
    ("original", "spun"),
    [
        ("said", "stated"),
        ("deals", "bargains"),
        ("have", "own"),
        ("country", "nation"),
        ("talks", "discussions"),
        ("prices", "costs"),
    ],
)
def test_forward_lookup(lexicon: Lexicon, original: str, spun: str) -> None:
    assert spun in texts(lexicon.synonyms_of(original, limit=12))


def test_multiword_phrases_both_ways(lexicon: Lexicon) -> None:
    assert "in the near future" in texts(lexicon.sources_of("in the long run"))
    assert "in the long run" in texts(lexicon.synonyms_of("in the near future"))
    # A noun phrase inflects its last word, a verb phrase its first.
    assert "neural networks" in texts(lexicon.sources_of("neural nets"))
    assert "conducted" in texts(lexicon.synonyms_of("carried out"))
    assert "carried out" in texts(lexicon.sources_of("conducted", limit=50))
    assert lexicon.max_phrase_len == max(
        len(p.split()) for s in SWAPS for p in (s.original, *s.replacements)
    )


@pytest.mark.parametrize("word", ["network", "energy", "journey"])
def test_out_weight_is_all_a_word_can_be_spun_into(lexicon: Lexicon, word: str) -> None:
    """For a base form with no other readings, the out-weight is the summed weight of every
    forward link; a word of several senses has more ways out than a narrow one."""
    everything = lexicon.synonyms_of(word, limit=100_000)
    assert everything
    assert lexicon.out_weight(word) == pytest.approx(sum(c.weight for c in everything), rel=1e-3)
    assert lexicon.out_weight("qzxv") == 0.0


def test_out_weight_counts_lemma_readings(lexicon: Lexicon) -> None:
    """An inflected form reaches its lemma's links."""
    assert lexicon.out_weight("networks") >= lexicon.out_weight("network") > 0


def test_function_words_come_from_the_curated_table(lexicon: Lexicon) -> None:
    since = next(c for c in lexicon.sources_of("because of") if c.text == "since")
    assert "phrase" in since.source.split("+")
    assert "because of" in texts(lexicon.synonyms_of("since", limit=5))
    assert "but" in texts(lexicon.sources_of("however", limit=5))
    assert "also" in texts(lexicon.sources_of("additionally", limit=5))
    assert "about" in texts(lexicon.sources_of("approximately", limit=5))


def test_every_curated_swap_works_both_ways(lexicon: Lexicon) -> None:
    missing = []
    for swap in SWAPS:
        forward = {c.text: c for c in lexicon.synonyms_of(swap.original, limit=2000)}
        for rep in swap.replacements:
            back = {c.text: c for c in lexicon.sources_of(rep, limit=2000)}
            if rep not in forward or swap.original not in back:
                missing.append((swap.original, rep))
            elif "phrase" not in back[swap.original].source:
                missing.append((swap.original, rep, back[swap.original].source))
    assert missing == []


def test_curated_swaps_outrank_plain_thesaurus_links(lexicon: Lexicon) -> None:
    assert lexicon.sources_of("owns", limit=1)[0].text == "has"
    assert lexicon.sources_of("stated", limit=1)[0].text == "said"


@pytest.mark.parametrize("phrase", SAMPLE)
def test_invariants(lexicon: Lexicon, phrase: str) -> None:
    for cands in (lexicon.sources_of(phrase), lexicon.synonyms_of(phrase)):
        assert len(cands) <= 50
        assert phrase not in texts(cands)  # no self-links
        assert len(set(texts(cands))) == len(cands)  # no duplicates
        weights = [c.weight for c in cands]
        assert all(0.0 < w <= 1.0 for w in weights)
        assert weights == sorted(weights, reverse=True)
        for c in cands:
            assert c.text == c.text.lower().strip() and "  " not in c.text
            parts = c.source.split("+")
            assert parts and set(parts) <= SOURCES and len(set(parts)) == len(parts)
    if lexicon.sources_of(phrase):
        assert lexicon.has_entry(phrase)


def test_limit_is_respected(lexicon: Lexicon) -> None:
    full = lexicon.sources_of("good", limit=50)
    assert len(full) == 50
    assert lexicon.sources_of("good", limit=3) == full[:3]
    assert lexicon.synonyms_of("good", limit=1) == lexicon.synonyms_of("good")[:1]
    assert lexicon.sources_of("good", limit=0) == []


@pytest.mark.parametrize("phrase", ["good", "said", "running", "better", "in the end", "leaves"])
def test_a_small_limit_is_the_head_of_a_large_one(lexicon: Lexicon, phrase: str) -> None:
    # Lookups convert their best-weighted neighbours in chunks and stop once `limit` distinct
    # forms are found; the result must be the head of the complete list whatever the chunking
    # (inflected readings merged, duplicates and missing forms skipped).
    for lookup in (lexicon.sources_of, lexicon.synonyms_of):
        full = lookup(phrase, limit=10_000)
        for limit in (1, 6, 24, 33, 100):
            assert lookup(phrase, limit=limit) == full[:limit]


def test_queries_are_normalised(lexicon: Lexicon) -> None:
    assert lexicon.sources_of("Resistance") == lexicon.sources_of("resistance")
    assert lexicon.sources_of("  In the  Long run ") == lexicon.sources_of("in the long run")
    assert lexicon.has_entry("Bargains")


def test_has_entry(lexicon: Lexicon) -> None:
    assert lexicon.has_entry("in the long run")
    assert lexicon.has_entry("bargains")  # inflected form of a stored target
    assert not lexicon.has_entry("qwertyuiop")
    assert not lexicon.has_entry("the of")
    assert lexicon.sources_of("qwertyuiop") == []


def test_results_are_not_shared_mutable_state(lexicon: Lexicon) -> None:
    first = lexicon.sources_of("nation")
    first.clear()
    assert lexicon.sources_of("nation")
    with pytest.raises(dataclasses.FrozenInstanceError):
        lexicon.sources_of("nation")[0].weight = 2.0  # type: ignore[misc]


def test_get_lexicon_is_shared(lexicon: Lexicon) -> None:
    assert get_lexicon() is lexicon


def test_save_and_reload_gives_an_equal_lexicon(lexicon: Lexicon, tmp_path: Path) -> None:
    path = tmp_path / "lex.npz"
    lexicon.save(path)
    assert os.listdir(tmp_path) == ["lex.npz"]  # the temp file was renamed, not left behind
    again = Lexicon._read(path)
    assert again is not None and again == lexicon
    for phrase in ("bargains", "in the long run", "since"):
        assert again.sources_of(phrase) == lexicon.sources_of(phrase)
        assert again.synonyms_of(phrase) == lexicon.synonyms_of(phrase)
    assert again.max_phrase_len == lexicon.max_phrase_len


def test_load_reads_the_cache_and_rebuilds_a_corrupt_one(
    lexicon: Lexicon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = []

    def fake_build(cls: type[Lexicon]) -> Lexicon:
        builds.append(1)
        return lexicon

    monkeypatch.setattr(Lexicon, "build", classmethod(fake_build))
    path = lexicon_core.cache_path(tmp_path)
    lexicon.save(path)
    assert Lexicon.load(tmp_path) == lexicon and builds == []

    path.write_bytes(b"not a lexicon")
    assert Lexicon.load(tmp_path) == lexicon and builds == [1]
    assert Lexicon._read(path) == lexicon  # the rebuilt one was written back

    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path / "env"))
    assert lexicon_core.cache_path().parent == tmp_path / "env"


def test_cache_key_follows_the_phrase_table(monkeypatch: pytest.MonkeyPatch) -> None:
    before = lexicon_core.cache_key()
    assert before == lexicon_core.cache_key()
    monkeypatch.setattr(lexicon_core, "SWAPS", SWAPS[:-1])
    assert lexicon_core.cache_key() != before


def test_a_truncated_cache_file_reads_as_missing(lexicon: Lexicon, tmp_path: Path) -> None:
    path = tmp_path / "lex.npz"
    lexicon.save(path)
    path.write_bytes(path.read_bytes()[: 1 << 20])
    assert Lexicon._read(path) is None


def test_phrase_gate_admits_every_target_it_must(lexicon: Lexicon) -> None:
    """The scan skips longer n-grams when `may_start_phrase` says no: it must never hide a phrase
    that `has_entry` accepts, inflected heads included."""
    rng = random.Random(5)
    targets = [p for p in lexicon._pool if " " in p and lexicon.has_entry(p)]
    for phrase in rng.sample(targets, 400):
        first, second = phrase.split(" ")[:2]
        assert lexicon.may_start_phrase(first, second), phrase
    for inflected in ("took part in", "interest rates", "looked after"):
        assert lexicon.has_entry(inflected)
        assert lexicon.may_start_phrase(*inflected.split(" ")[:2]), inflected
    # and it does cut: ordinary word pairs start no phrase
    assert not lexicon.may_start_phrase("purple", "elephants")


def test_longer_phrase_gate_admits_every_target_it_must(lexicon: Lexicon) -> None:
    """The scan stops lengthening a run when `may_continue` says no: every proper prefix of two
    or more words of a target (its first word inflected too) must pass, while two-word
    targets that begin no longer one do not."""
    targets = [p.split(" ") for p in lexicon._pool if " " in p and lexicon.has_entry(p)]
    long = [t for t in targets if len(t) >= 3]
    assert long
    for words in long:
        for k in range(2, len(words)):
            assert lexicon.may_continue(words[:k]), words
    two = {tuple(t) for t in targets if len(t) == 2}
    prefixes = {tuple(t[:k]) for t in long for k in range(2, len(t))}
    ends = sorted(two - prefixes)
    plain = [t for t in ends if not lexicon._analyses(t[0])][:200]  # first word no inflection
    assert plain and not any(lexicon.may_continue(list(t)) for t in plain)
    for inflected in ("took part in", "takes part in"):
        assert lexicon.has_entry(inflected), inflected
        assert lexicon.may_continue(inflected.split(" ")[:2]), inflected
    assert not lexicon.may_continue(["purple", "elephants"])
    # words are read as `has_entry` reads them (a modifier-letter apostrophe is an apostrophe)
    apostrophe = next(t for t in long if any("'" in w for w in t[:-1]))
    odd = [w.replace("'", "\u02bc") for w in apostrophe[:-1]]
    assert lexicon.has_entry(" ".join([*odd, apostrophe[-1]])), apostrophe
    assert lexicon.may_continue(odd), apostrophe
