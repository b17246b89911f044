"""Tests for the tokenizer and sentence splitter (unspin.text)."""

from __future__ import annotations

import gc
import importlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unspin.text import sentence_spans, tokenize, words
from unspin.types import Token


def texts(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.text, t.kind) for t in tokenize(text)]


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


# --- tokens ---------------------------------------------------------------------------------


def test_spans_are_exact_and_ordered() -> None:
    text = "  The ferry’s late again,\tsaid  Ana — twice!\n"
    tokens = tokenize(text)
    expected = "The ferry’s late again , said Ana — twice !".split()
    assert texts(tokens) == expected
    for t in tokens:
        assert text[t.start : t.end] == t.text
    assert [t.start for t in tokens] == sorted(t.start for t in tokens)


def test_tokens_equal_plainly_constructed_tokens() -> None:
    # The fast construction path must give ordinary, comparable Token objects.
    assert tokenize("Hi 2.") == [
        Token("Hi", 0, 2, "word", 0),
        Token("2", 3, 4, "number", 0),
        Token(".", 4, 5, "punct", 0),
    ]


def test_constructor_fallback_gives_the_same_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("unspin.text.tokenize")
    text = "Dr. Ruiz's 2-day trip cost $1,500. Worth it?\n\nMaybe."
    fast = tokenize(text)
    monkeypatch.setattr(module, "_SLOTS_OK", False)
    assert tokenize(text) == fast


@pytest.mark.parametrize(
    "word",
    ["don't", "Venezuela’s", "it's", "rock'n'roll", "crisis-wracked", "30-million-strong"],
)
def test_inner_apostrophes_and_hyphens_stay_in_one_word(word: str) -> None:
    assert kinds(f"We saw {word} today") == [
        ("We", "word"),
        ("saw", "word"),
        (word, "word"),
        ("today", "word"),
    ]


def test_outer_apostrophes_and_dashes_are_punctuation() -> None:
    assert kinds("the players' fans -- 'loud' - ok") == [
        ("the", "word"),
        ("players", "word"),
        ("'", "punct"),
        ("fans", "word"),
        ("-", "punct"),
        ("-", "punct"),
        ("'", "punct"),
        ("loud", "word"),
        ("'", "punct"),
        ("-", "punct"),
        ("ok", "word"),
    ]


@pytest.mark.parametrize("number", ["1.5", "600,000", "3.6", "2016", "0", "1,234.56"])
def test_numbers(number: str) -> None:
    assert kinds(f"about {number} people") == [
        ("about", "word"),
        (number, "number"),
        ("people", "word"),
    ]


def test_number_edges() -> None:
    assert kinds("In 2016, prices rose 3.6%.") == [
        ("In", "word"),
        ("2016", "number"),
        (",", "punct"),
        ("prices", "word"),
        ("rose", "word"),
        ("3.6", "number"),
        ("%", "punct"),
        (".", "punct"),
    ]
    # A range splits; digits glued to letters make a word.
    assert kinds("2015-2016 1.5bn COVID-19 1990s") == [
        ("2015", "number"),
        ("-", "punct"),
        ("2016", "number"),
        ("1.5bn", "word"),
        ("COVID-19", "word"),
        ("1990s", "word"),
    ]


def test_punctuation_is_one_char_except_ellipsis() -> None:
    assert kinds('Wait... "no"?!') == [
        ("Wait", "word"),
        ("...", "punct"),
        ('"', "punct"),
        ("no", "word"),
        ('"', "punct"),
        ("?", "punct"),
        ("!", "punct"),
    ]


def test_initialisms_are_one_word() -> None:
    assert texts(tokenize("The U.S. economy, e.g. jobs")) == [
        "The",
        "U.S.",
        "economy",
        ",",
        "e.g.",
        "jobs",
    ]


def test_combining_marks_stay_inside_words() -> None:
    decomposed = "cafe\u0301 de\u0301ja\u0300 vu"
    assert texts(tokenize(decomposed)) == ["cafe\u0301", "de\u0301ja\u0300", "vu"]
    assert texts(tokenize("नमस्ते दुनिया")) == ["नमस्ते", "दुनिया"]


def test_invisible_separators_are_not_tokens() -> None:
    text = "\ufeffone\u200btwo"
    assert texts(tokenize(text)) == ["one", "two"]


def test_underscore_and_symbols_are_punct() -> None:
    assert kinds("a_b $5 #tag") == [
        ("a", "word"),
        ("_", "punct"),
        ("b", "word"),
        ("$", "punct"),
        ("5", "number"),
        ("#", "punct"),
        ("tag", "word"),
    ]


def test_words_keeps_only_words() -> None:
    tokens = tokenize("Sales fell 12% in March, analysts said.")
    assert texts(words(tokens)) == ["Sales", "fell", "in", "March", "analysts", "said"]
    assert all(t.kind == "word" for t in words(tokens))


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t "])
def test_empty_text(text: str) -> None:
    assert tokenize(text) == []
    assert sentence_spans(text) == []


# --- sentences ------------------------------------------------------------------------------


def test_simple_sentences() -> None:
    text = "The bridge opened. Traffic eased at once! Did prices fall? Nobody knows."
    assert sentences(text) == [
        "The bridge opened.",
        "Traffic eased at once!",
        "Did prices fall?",
        "Nobody knows.",
    ]


def test_titles_and_company_abbreviations_do_not_split() -> None:
    text = "Mr. Lopez met Dr. Chen at Acme Inc. on Friday. They agreed."
    assert sentences(text) == ["Mr. Lopez met Dr. Chen at Acme Inc. on Friday.", "They agreed."]


def test_dates_and_latin_abbreviations_do_not_split() -> None:
    text = "The vote moved to Jan. 12 after a delay. Some towns, e.g. Leeds, objected."
    assert sentences(text) == [
        "The vote moved to Jan. 12 after a delay.",
        "Some towns, e.g. Leeds, objected.",
    ]


def test_initialisms_split_only_before_a_sentence_opener() -> None:
    text = "The U.S. Senate voted. It passed in the U.S. The rest waited."
    assert sentences(text) == [
        "The U.S. Senate voted.",
        "It passed in the U.S.",
        "The rest waited.",
    ]
    assert sentences("Books by J. K. Rowling sold well.") == ["Books by J. K. Rowling sold well."]


def test_decimals_do_not_split() -> None:
    text = "Growth was 1.5 percent in 2016. Then it fell to 0.9 percent."
    assert sentences(text) == ["Growth was 1.5 percent in 2016.", "Then it fell to 0.9 percent."]


def test_closing_quotes_belong_to_the_sentence() -> None:
    text = 'She said, "We are done." Then she left. "Why?" asked Tom. (It rained.) Fine.'
    assert sentences(text) == [
        'She said, "We are done."',
        "Then she left.",
        '"Why?" asked Tom.',
        "(It rained.)",
        "Fine.",
    ]


def test_lowercase_continuation_does_not_split() -> None:
    text = '"Really?" she asked. It was late... and dark.'
    assert sentences(text) == ['"Really?" she asked.', "It was late... and dark."]


def test_paragraph_break_always_ends_a_sentence() -> None:
    text = "A headline without a stop\n\nMr.\n\n  Body text here.\nSame sentence\ncontinues."
    assert sentences(text) == [
        "A headline without a stop",
        "Mr.",
        "Body text here.",
        "Same sentence\ncontinues.",
    ]


def test_last_sentence_without_terminal_punctuation() -> None:
    assert sentences("One. And two") == ["One.", "And two"]


def test_token_sentence_indices_follow_spans() -> None:
    text = "First one here. Second, with Mr. Ng.\n\nThird para"
    tokens = tokenize(text)
    spans = sentence_spans(text)
    assert [(t.text, t.sentence) for t in tokens if t.kind == "word"] == [
        ("First", 0),
        ("one", 0),
        ("here", 0),
        ("Second", 1),
        ("with", 1),
        ("Mr", 1),
        ("Ng", 1),
        ("Third", 2),
        ("para", 2),
    ]
    for t in tokens:
        start, end = spans[t.sentence]
        assert start <= t.start and t.end <= end


# --- robustness and speed -------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_properties_hold_for_any_unicode_text(text: str) -> None:
    tokens = tokenize(text)
    prev_end = 0
    prev_sentence = 0
    for t in tokens:
        assert text[t.start : t.end] == t.text
        assert t.start >= prev_end and t.end > t.start
        assert t.kind in ("word", "number", "punct")
        assert not any(c.isspace() for c in t.text)
        assert t.sentence >= prev_sentence
        prev_end, prev_sentence = t.end, t.sentence
    spans = sentence_spans(text)
    for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert end <= next_start
    for a, b in spans:
        assert a < b and not text[a].isspace() and not text[b - 1].isspace()
    for t in tokens:
        assert spans[t.sentence][0] <= t.start and t.end <= spans[t.sentence][1]
    # Every visible character lands in some token.
    covered = sum(t.end - t.start for t in tokens)
    assert covered == sum(1 for c in text if not c.isspace() and c not in "\u200b\u2060\ufeff")


_ALPHABET = st.sampled_from(list("ab1.,'’-‐ \n\"?!…U") + ["\u0301", "\u00ad", "\U0001d165"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_properties_on_tricky_alphabet(text: str) -> None:
    tokens = tokenize(text)
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert all(t.kind in ("word", "number", "punct") for t in tokens)
    for t in tokens:
        if t.kind == "number":
            assert t.text[0].isdigit() and t.text[-1].isdigit()
        if t.kind == "word":
            assert t.text[0].isalnum()


@pytest.mark.parametrize(
    "chunk", ["a-", "1.", "a'", "1,1-", "U.S", "..", "'-", "a\u0301-", "\n \n", ". A "]
)
def test_no_catastrophic_backtracking(chunk: str) -> None:
    text = chunk * 20_000
    started = time.perf_counter()
    tokens = tokenize(text)
    assert time.perf_counter() - started < 5
    assert all(text[t.start : t.end] == t.text for t in tokens[:1000])


def test_long_text_leaves_gc_as_it_was() -> None:
    # Speed is measured by the benchmark, not here; this checks the GC pause is undone.
    sentence = "The council's 30-member board voted 7 to 4, Mr. Diaz said on Jan. 5. "
    text = sentence * 4000  # ~56k words, over the length where tokenize pauses the GC
    tokens = tokenize(text)
    assert gc.isenabled()
    assert tokens[-1].sentence == 3999
    gc.disable()
    try:
        tokenize(text)
        assert not gc.isenabled()
    finally:
        gc.enable()
