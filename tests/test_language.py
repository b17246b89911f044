"""The English check behind verdict "abstain"."""

from unspin.detect.language import abstain_reason
from unspin.text import tokenize, words

ENGLISH = (
    "The harbour authority said on Monday that the new ferry service would start in May, "
    "after two years of delays caused by problems with the landing stage and a dispute "
    "over who should pay for the extra staff."
)
FRENCH = (
    "Le conseil municipal a voté mardi la construction d'une nouvelle passerelle sur la "
    "rivière, après des mois de débat sur son coût. Le maire a déclaré que le projet "
    "aiderait les commerces locaux et réduirait les temps de trajet."
)


def _reason(text):
    return abstain_reason(words(tokenize(text)))


def test_english_prose_is_judged():
    assert _reason(ENGLISH) == (None, "en")


def test_french_prose_abstains():
    reason, language = _reason(FRENCH)
    assert reason == "not English" and language is None


def test_short_text_abstains_with_word_count():
    reason, language = _reason("The ferry starts in May.")
    assert reason is not None and "too short" in reason and "5 words" in reason
    assert language == "en"
