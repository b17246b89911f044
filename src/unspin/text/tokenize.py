"""Regex tokenizer and rule-based sentence splitter, with exact character offsets.

One compiled regex walks the text for tokens (after a light pass for sentence ends). Every later
stage relies on `text[t.start:t.end] == t.text`, so nothing here normalizes or rewrites text.

Tokens:
- word: letters/digits (with combining marks) joined by inner apostrophes (' and ’, before a
  letter: "don't", "Venezuela’s") or inner hyphens ("crisis-wracked", "30-million-strong");
  dotted initialisms ("U.S.", "e.g.") are one word token, final dot included.
- number: digits with inner "." or "," ("1.5", "600,000", "2016"); "1.5bn" is a word;
  "2015-2016" is number, punct, number.
- punct: any other visible character, one each, except that "..." is one token.
Zero-width spaces, word joiners and byte-order marks are skipped like whitespace.
"""

from __future__ import annotations

import gc
import re
import sys
import unicodedata
from dataclasses import fields
from functools import cache

from unspin.types import Token

# Apostrophes and hyphens that may join two parts of one word.
_APOSTROPHES = "'\u2019"
_HYPHENS = "\\-\u2010\u2011"
# Characters that continue a word without being letters: soft hyphen, ZWNJ, ZWJ.
_WORD_JOINERS = "\u00ad\u200c\u200d"
# Invisible characters that are not `\s` but separate nothing: skipped, never tokens.
_INVISIBLE = "\u200b\u2060\ufeff"


@cache
def _mark_pattern() -> str:
    """A regex group matching one combining mark (Mn, Mc, Me) or word joiner.

    `re` has no \\p{M}; without marks, decomposed "café" or Hindi words would be cut apart.
    Marks beyond the BMP get their own guarded class: a set with astral members compiles to a
    linear list of ranges, which would slow every word down; a BMP-only set is a bitmap.
    """
    bmp = [c for c in range(0x10000) if unicodedata.category(chr(c))[0] == "M"]
    bmp += [ord(c) for c in _WORD_JOINERS]
    astral = [c for c in range(0x10000, 0x20000) if unicodedata.category(chr(c))[0] == "M"]
    astral += range(0xE0100, 0xE01F0)  # variation selectors supplement (Mn)
    return rf"(?:[{_ranges(sorted(bmp))}]|(?=[\U00010000-\U0010ffff])[{_ranges(astral)}])"


def _ranges(codes: list[int]) -> str:
    """Character-class body for sorted code points, consecutive runs written as ranges."""
    parts: list[str] = []
    start = prev = codes[0]
    for c in [*codes[1:], -1]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
        start = prev = c
    return "".join(parts)


@cache
def _token_re() -> re.Pattern[str]:
    """The single-pass token regex; built lazily because scanning for marks takes ~30 ms."""
    mark = _mark_pattern()
    letter = rf"(?:[^\W\d_]|{mark})"  # a letter, or a mark continuing one
    alnum = rf"(?:[^\W_]|{mark})"
    # Marks are rare: a tight class loop first, marks only where they occur.
    part = rf"[^\W_]++(?:{mark}++[^\W_]*+)*+"
    join = (
        rf"(?:[{_APOSTROPHES}](?=[^\W\d_])"  # don't, Venezuela’s, 1990's
        rf"|(?<={letter})[{_HYPHENS}](?=[^\W_])"  # crisis-wracked, COVID-19
        rf"|(?<=\d)[{_HYPHENS}](?=[^\W\d_])"  # 30-million (but 2015-2016 splits)
        r"|(?<=\d)[.,](?=\d))"  # v1.5, 3.5mm
    )
    number = (
        r"(?>\d+(?:[.,]\d+)*)"  # atomic: "1.5bn" must not fall back to number "1"
        rf"(?!{alnum}|[{_APOSTROPHES}][^\W\d_]|[{_HYPHENS}][^\W\d_])"
    )
    initialism = r"[^\W\d_]\.(?:[^\W\d_]\.)+(?![^\W_])"
    return re.compile(
        rf"(?P<number>{number})"
        rf"|(?P<word>{initialism}|{part}(?:{join}{part})*)"
        r"|(?P<punct>\.\.\.|"
        rf"[^\s{_INVISIBLE}])"
    )


# --- sentences ----------------------------------------------------------------------------

# A sentence may end after terminal punctuation plus closing quotes/brackets, before whitespace
# or the end of the text; a blank line (paragraph break) always ends one.
_CLOSERS = "\"'\u201d\u2019\u00bb)\\]}"
_OPENERS = "\"'\u201c\u2018\u00ab([{"
_TERMINALS = ".!?\u2026\u203c\u2047-\u2049"
_BOUNDARY_RE = re.compile(
    rf"(?=[{_TERMINALS}\n])"  # a first-character filter: makes the scan ~2x faster
    rf"(?:(?P<term>[{_TERMINALS}]+)[{_CLOSERS}]*(?=\s|$)|(?P<para>\n[^\S\n]*\n\s*))"
)
_NEXT_RE = re.compile(rf"\s*[{_OPENERS}]*(?P<next>[\w]*)")
_SPAN_RE = re.compile(r"\S(?:.*\S)?", re.DOTALL)
_INITIALISM_RE = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")

# Never end a sentence: titles before a name, Latin abbreviations that introduce something.
_NEVER_FINAL = frozenset(
    """mr mrs ms messrs mme mlle dr prof sen rep gov gen col lt sgt capt cpt maj cmdr adm rev
    st mt hon pres supt fr e.g i.e vs v cf viz approx ca""".split()
)
# Not final before a number: "No. 5", "Jan. 12", "p. 4".
_BEFORE_NUMBER = frozenset(
    """no nos vol vols p pp fig figs art sec ch op jan feb mar apr jun jul aug sep sept oct nov
    dec""".split()
)
# May end a sentence, but usually do not: final only if a typical sentence opener follows.
_AMBIGUOUS = frozenset(
    """inc corp co ltd llc plc bros jr sr al est dept univ assn ave blvd rd a.m p.m""".split()
)
_SENTENCE_OPENERS = frozenset(
    """the a an it its he she they we i you his her their our my this that these those there
    then but and or so yet in on at for from with by as if when while after before however
    meanwhile although though since because what why how who where which some many most all
    both each one no not neither nor one two three several other others still also instead
    now today yesterday later last next such mr mrs ms dr""".split()
)


def _is_boundary(text: str, term_start: int, after: int) -> bool:
    """Decide whether terminal punctuation ending at `after` ends a sentence."""
    nxt = _NEXT_RE.match(text, after)
    assert nxt is not None  # the pattern can match the empty string
    following = nxt.group("next")
    if not following:
        return True  # end of text, or a symbol/quote the opener class missed: be safe, split
    first = following[0]
    if first.islower():
        return False  # "e.g. something", "Inc. said", "Really?" she asked
    if text[term_start] != "." or text.startswith("..", term_start):
        return True  # "!", "?", and ellipses before a capital or number
    # The word before the dot: the last whitespace-separated chunk, minus opening punctuation.
    chunk = text[max(0, term_start - 40) : term_start].rsplit(None, 1)
    prev = chunk[-1].lstrip(_OPENERS + ".'\u2019-\u2014") if chunk else ""
    if not prev:
        return True
    word = prev.lower()
    if word in _NEVER_FINAL:
        return False
    if word in _BEFORE_NUMBER and first.isdigit():
        return False
    opener = following.lower() in _SENTENCE_OPENERS
    if word in _AMBIGUOUS:
        return opener
    # Initials and initialisms: "J. K. Rowling", "the U.S. Senate" vs "in the U.S. The ...".
    if _INITIALISM_RE.fullmatch(word) and (len(word) > 1 or prev.isupper()):
        return opener
    return True


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences; each span starts and ends on a non-space character.

    Rules, not a model: terminal punctuation (plus closing quotes) before whitespace ends a
    sentence unless a lowercase word follows or the word before is a known abbreviation;
    a paragraph break ("\\n\\n") always does.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        if m.lastgroup == "term":
            if not _is_boundary(text, m.start(), m.end()):
                continue
            end = m.end()
        else:
            end = m.start()
        span = _SPAN_RE.search(text, start, end)
        if span is not None:
            spans.append(span.span())
        start = m.end()
    span = _SPAN_RE.search(text, start)
    if span is not None:
        spans.append(span.span())
    return spans


def tokenize(text: str) -> list[Token]:
    """Split `text` into word, number and punct tokens with exact spans and sentence indices.

    A token's sentence is the span from `sentence_spans` that contains it (tokens never fall
    between spans: spans cover every non-whitespace character).
    """
    if len(text) < _GC_PAUSE_CHARS:
        return _tokenize(text)
    # Hundreds of thousands of new Tokens trigger the cyclic GC over and over (~20% of the
    # time); Tokens hold no cycles, so pause it for long texts and restore the caller's state.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _tokenize(text)
    finally:
        if enabled:
            gc.enable()


_GC_PAUSE_CHARS = 50_000


def _tokenize(text: str) -> list[Token]:
    ends = [e for _, e in sentence_spans(text)]
    ends.append(sys.maxsize)
    sentence = 0
    bound = ends[0]
    out: list[Token] = []
    append = out.append
    if not _SLOTS_OK:
        for m in _token_re().finditer(text):
            start = m.start()
            while start >= bound:
                sentence += 1
                bound = ends[sentence]
            append(Token(m.group(), start, m.end(), m.lastgroup, sentence))  # type: ignore[arg-type]
        return out
    # Token creation is half of the time; setting the slots directly is ~2x faster than the
    # frozen dataclass __init__ (which goes through object.__setattr__ per field).
    new = object.__new__
    set_text, set_start, set_end = _TEXT.__set__, _START.__set__, _END.__set__
    set_kind, set_sentence = _KIND.__set__, _SENTENCE.__set__
    for m in _token_re().finditer(text):
        start = m.start()
        while start >= bound:
            sentence += 1
            bound = ends[sentence]
        token = new(Token)
        set_text(token, m.group())
        set_start(token, start)
        set_end(token, m.end())
        set_kind(token, m.lastgroup)
        set_sentence(token, sentence)
        append(token)
    return out


# The slot descriptors the fast path writes; it is used only while Token's fields are exactly
# these, so a changed Token falls back to its constructor instead of a half-built object.
_SLOTS_OK = hasattr(Token, "__slots__") and tuple(f.name for f in fields(Token)) == (
    "text",
    "start",
    "end",
    "kind",
    "sentence",
)
if _SLOTS_OK:
    _TEXT, _START, _END = Token.text, Token.start, Token.end  # type: ignore[attr-defined]
    _KIND, _SENTENCE = Token.kind, Token.sentence  # type: ignore[attr-defined]


def words(tokens: list[Token]) -> list[Token]:
    """Keep only the word tokens (drop numbers and punctuation), order preserved."""
    return [t for t in tokens if t.kind == "word"]
