"""Disguised terms: runs of words one thesaurus step from a known multiword term."""

from __future__ import annotations

from unspin.context.model import get_context_model
from unspin.detect.features import norm_word
from unspin.detect.scan import scan_text
from unspin.detect.terms import TERM_PROBABILITY, TermIndex, find_term_repairs
from unspin.lexicon import get_lexicon
from unspin.text import tokenize, words

# Written for these tests: a made-up term list and plain sentences around it.
INDEX = TermIndex({"data mining": 5, "neural network": 7, "heart disease": 3})
CARRIER = (
    "In this study we apply {} to a large set of hospital records. The records were collected "
    "over ten years and checked by two people before any analysis started."
)


def _repairs(text: str, index: TermIndex = INDEX):
    ws = words(tokenize(text))
    normed = [norm_word(w.text) for w in ws]
    found = find_term_repairs(
        normed, [w.sentence for w in ws], get_lexicon(), get_context_model(), index=index
    )
    return [(" ".join(normed[r.first : r.last]), r.term) for r in found]


def test_a_disguised_term_is_read_back() -> None:
    assert _repairs(CARRIER.format("information mining")) == [("information mining", "data mining")]


def test_the_term_itself_and_unrelated_words_are_left_alone() -> None:
    assert _repairs(CARRIER.format("data mining")) == []
    assert _repairs(CARRIER.format("careful reading")) == []


def test_no_terms_no_repairs() -> None:
    assert _repairs(CARRIER.format("information mining"), TermIndex({})) == []


def test_a_term_is_not_read_across_sentences() -> None:
    text = "We stored all the information. Mining the records took a week of careful work."
    assert _repairs(text) == []


def _disguised_shipped_term() -> tuple[str, str, str]:
    """(carrier text, disguise, term): a term of the shipped list disguised through a thesaurus
    source of its first word, which the term reader reads back."""
    from unspin.detect.terms import shipped_indexes

    index = shipped_indexes()[0]
    assert len(index.counts) > 500
    lex = get_lexicon()
    for term in sorted(index.counts, key=lambda t: -index.counts[t]):
        first, rest = term.split(" ", 1)
        syn = [c.text for c in lex.synonyms_of(first, limit=5) if " " not in c.text]
        if not syn:
            continue
        text = CARRIER.format(f"{syn[0]} {rest}")
        if _repairs(text, index) == [(f"{syn[0]} {rest}", term)]:
            return text, f"{syn[0]} {rest}", term
    raise AssertionError("no shipped term could be disguised and read back")


def test_scan_flags_and_restores_a_disguised_term_with_the_shipped_list() -> None:
    """The shipped list (learned from calibration rows) knows common technical terms."""
    text, disguise, term = _disguised_shipped_term()
    result = scan_text(text)
    flag = next(f for f in result.flags if f.text == disguise)
    assert flag.suggestion == term and flag.probability >= TERM_PROBABILITY
    assert result.restored == CARRIER.format(term)


def test_training_counts_term_rewrites_of_clean_text_against_the_budget() -> None:
    """A clean calibration text carries the words the term reader would change in it (each
    one damage); spun texts carry none, and a text without a disguise none."""
    from unspin.detect.train import mode_data
    from unspin.spin.simulator import Swap

    text, disguise, _ = _disguised_shipped_term()
    lex, ctx = get_lexicon(), get_context_model()
    data = mode_data(tokenize(text), [], fast=True, lexicon=lex, context=ctx)
    assert data.term_words == len(disguise.split())
    plain = CARRIER.format("careful reading")
    assert mode_data(tokenize(plain), [], fast=True, lexicon=lex, context=ctx).term_words == 0
    at = text.index("records")
    swap = Swap(at, at + 7, "records", at, at + 5, "files")
    spun = mode_data(tokenize(text), [swap], fast=True, lexicon=lex, context=ctx)
    assert spun.term_words == 0


def test_an_established_collocation_is_not_read_as_a_disguise(monkeypatch) -> None:
    """The thesaurus gives 'states' as a source of 'nations', and the LM likes 'united states'
    better anywhere; but 'united nations' is English in its own right, not a disguise."""
    import unspin.detect.terms as terms
    from unspin.detect.terms import association

    index = TermIndex({"united states": 1, "economic development": 2})
    context = get_context_model()
    assert association(context, ["united", "nations"]) >= terms.MAX_ASSOCIATION
    assert association(context, ["economic", "evolution"]) < terms.MAX_ASSOCIATION
    text = "Delegates to the United Nations voted on Monday on a plan for {} in the region."
    assert _repairs(text.format("clean water")) == []
    assert _repairs(text.format("clean water"), index) == []
    # an odd run is still read back
    expected = [("economic evolution", "economic development")]
    assert _repairs(text.format("economic evolution"), index) == expected
    # the collocation gate, not the context check, is what keeps "united nations"
    monkeypatch.setattr(terms, "MAX_ASSOCIATION", float("inf"))
    assert _repairs(text.format("clean water"), index) == [("united nations", "united states")]


def test_general_terms_join_the_index_below_the_spinner_terms() -> None:
    """A general term counts as seen once; one the spinner list has keeps its own count."""
    import unspin.detect.terms as terms

    index = TermIndex({"data mining": 5}, general=["neural network", "data mining"])
    assert index.general == {"neural network"}
    assert index.counts == {"data mining": 5, "neural network": terms.GENERAL_TERM_COUNT}
    assert "network" in index.vocabulary and index.last_lengths["network"] == 1 << 2


def test_a_general_term_needs_the_stricter_context_test(monkeypatch) -> None:
    """The same disguise is read back from the spinner list whenever the LM prefers the term,
    from the general list only when it prefers it by MIN_GENERAL_GAIN nats or more."""
    import unspin.detect.terms as terms
    from unspin.detect.terms import _context_gain

    text = CARRIER.format("information mining")
    spinner = TermIndex({"data mining": 1})
    general = TermIndex({}, general=["data mining"])
    ws = words(tokenize(text))
    normed = [norm_word(w.text) for w in ws]
    at = normed.index("information")
    gain = _context_gain(
        get_context_model(),
        normed,
        [w.sentence for w in ws],
        at,
        at + 2,
        ("data", "mining"),
        ("information", "mining"),
    )
    assert gain > 0
    monkeypatch.setattr(terms, "MAX_GENERAL_ASSOCIATION", float("inf"))
    monkeypatch.setattr(terms, "MIN_GENERAL_GAIN", gain + 0.5)
    assert _repairs(text, general) == []
    assert _repairs(text, spinner) == [("information mining", "data mining")]
    monkeypatch.setattr(terms, "MIN_GENERAL_GAIN", gain - 0.5)
    assert _repairs(text, general) == [("information mining", "data mining")]


def test_wordnet_terms_are_multiword_common_nouns(tmp_path, monkeypatch) -> None:
    """Built from WordNet once, then read from the cache dir: plain lower-case nouns of two to
    four words, no names."""
    from unspin.lexicon import wordnet_terms as module

    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    module.wordnet_terms.cache_clear()
    try:
        built = module.wordnet_terms()
        assert module.cache_path().exists()
        module.wordnet_terms.cache_clear()
        assert module.wordnet_terms() == built  # read back from the cache file
    finally:
        module.wordnet_terms.cache_clear()
    assert list(built) == sorted(built) and len(built) > 20_000
    terms = set(built)
    assert {"blood vessel", "interest rate", "gross domestic product"} <= terms
    assert "albert einstein" not in terms and "new york" not in terms  # names
    assert all(2 <= len(t.split()) <= 4 and t.replace(" ", "").isalpha() for t in built)


def test_the_shipped_index_is_read_back_from_its_cache_copy(tmp_path, monkeypatch) -> None:
    """Built and written once, then read back field for field; a damaged copy is rebuilt."""
    from unspin.detect import terms
    from unspin.lexicon.observed import shipped_terms
    from unspin.lexicon.wordnet_terms import wordnet_terms

    monkeypatch.setenv("UNSPIN_CACHE_DIR", str(tmp_path))
    built = [ix.state() for ix in terms.split_indexes(shipped_terms(), wordnet_terms())]

    def states() -> list[tuple]:
        return [ix.state() for ix in terms.shipped_indexes()]

    terms.shipped_indexes.cache_clear()
    try:
        assert states() == built
        path = terms.index_cache_path()
        assert path.exists()
        terms.shipped_indexes.cache_clear()
        with monkeypatch.context() as patch:  # building again would fail here
            patch.setattr(terms.TermIndex, "__init__", None)
            assert states() == built
        path.write_bytes(b"not an index")
        terms.shipped_indexes.cache_clear()
        assert states() == built
    finally:
        terms.shipped_indexes.cache_clear()


def test_an_index_reads_words_through_its_own_number_of_sources(monkeypatch) -> None:
    """`TermIndex.sources` caps how deep into a word's thesaurus sources the index looks: the
    disguise is read back once the term's word is within the cap, not before."""
    import unspin.detect.terms as terms

    monkeypatch.setattr(terms, "MIN_GENERAL_GAIN", 0.0)
    monkeypatch.setattr(terms, "MAX_GENERAL_ASSOCIATION", terms.MAX_ASSOCIATION)
    names = [c.text for c in get_lexicon().sources_of("information", limit=24)]
    rank = names.index("data")
    text = CARRIER.format("information mining")
    expected = [("information mining", "data mining")]
    assert _repairs(text, TermIndex({}, ["data mining"], sources=rank + 1)) == expected
    assert _repairs(text, TermIndex({}, ["data mining"], sources=rank)) == []
    assert _repairs(text, TermIndex({}, ["data mining"])) == expected


def test_several_indexes_are_read_together() -> None:
    """Repairs of every index are merged; a run that one index knows as a term is read by
    none."""
    first = TermIndex({"heart disease": 3})
    second = TermIndex({"data mining": 5})
    text = CARRIER.format("information mining") + " Many suffer from core illness."
    assert _repairs(text, [first, second]) == _repairs(text, INDEX)
    assert [t for _, t in _repairs(text, [first, second])] == ["data mining", "heart disease"]
    knows_it = TermIndex({"information mining": 1})
    assert _repairs(CARRIER.format("information mining"), [knows_it, second]) == []
