"""Rewriting keeps everything outside the edits byte for byte."""

from hypothesis import given
from hypothesis import strategies as st

from unspin.restore import Edit, apply_edits, match_case


def test_apply_edits_replaces_spans_in_order():
    text = "We own dialog with the Resistance today."
    edits = [Edit(23, 33, "opposition"), Edit(3, 13, "have dialogue")]
    assert apply_edits(text, edits) == "We have dialogue with the opposition today."


def test_overlapping_edits_keep_the_first():
    assert apply_edits("abcdef", [Edit(0, 3, "X"), Edit(2, 4, "Y")]) == "Xdef"


@given(st.text(max_size=200))
def test_no_edits_is_identity(text):
    assert apply_edits(text, []) == text


def test_match_case():
    assert match_case("Stated", "said", sentence_start=True) == "Said"
    # a mid-sentence capital on a common word is a spinner slip, not copied
    assert match_case("Resistance", "opposition", sentence_start=False) == "opposition"
    assert match_case("NATION", "country", sentence_start=False) == "COUNTRY"
    assert match_case("nation", "country", sentence_start=True) == "country"
