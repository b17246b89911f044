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


def test_the_api_names_stay_callable_once_their_packages_are_imported() -> None:
    """`unspin.restore` and `unspin.spin` name both a stage's package and an API function:
    importing the package (as this file does) binds the package to the name, and the README's
    `unspin.restore(text)` and `unspin.spin(text, profile, ...)` must still work."""
    import unspin
    import unspin.api
    import unspin.spin.simulator

    text = "The council voted on Monday to close the old bridge to lorries for two months."
    assert callable(unspin.restore) and callable(unspin.spin)
    spun = unspin.spin(text, "wordai", rate=0.5, seed=3)
    assert spun == unspin.spin.simulator.spin(text, "wordai", rate=0.5, seed=3)
    assert spun.text != text
    assert unspin.restore(spun.text) == unspin.api.restore(spun.text)
