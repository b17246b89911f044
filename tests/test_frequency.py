"""The fast Zipf frequency reads wordfreq's table for plain words and agrees with wordfreq."""

from __future__ import annotations

import itertools

from wordfreq import iter_wordlist, zipf_frequency

from unspin.text.frequency import zipf


def test_plain_words_match_wordfreq_across_its_whole_range():
    # Every 50th plain word of the ranked list: common, mid and rare words alike.
    plain = (w for w in iter_wordlist("en") if w.isascii() and w.isalpha() and w.islower())
    sample = list(itertools.islice(plain, 0, None, 50))
    assert len(sample) > 4000
    assert [zipf(w) for w in sample] == [zipf_frequency(w, "en") for w in sample]


def test_unknown_and_non_plain_words_match_wordfreq():
    # Unknown words, capitals, digits, apostrophes, hyphens, accents and phrases.
    words = ["qzxvbw", "Harbour", "ferry's", "2019", "e-mail", "café", "u.s.", "new ferry", "B52"]
    assert [zipf(w) for w in words] == [zipf_frequency(w, "en") for w in words]
    assert zipf("qzxvbw") == 0.0 and zipf("the") > 7.0


def test_capitalised_words_match_wordfreq():
    # Title case and all capitals take the plain-word path through their lower case.
    plain = (w for w in iter_wordlist("en") if w.isascii() and w.isalpha() and w.islower())
    sample = list(itertools.islice(plain, 7, None, 200))
    forms = [f(w) for w in sample for f in (str.title, str.upper)] + ["McGregor", "QZXVBW"]
    assert [zipf(w) for w in forms] == [zipf_frequency(w, "en") for w in forms]


def test_plain_phrases_match_wordfreq():
    # Multiword thesaurus phrases of plain words: every 20th of the lexicon's, and a few of ours.
    from unspin.lexicon import get_lexicon

    def plain(phrase: str) -> bool:
        return all(w.isascii() and w.isalpha() and w.islower() for w in phrase.split(" "))

    phrases = [p for p in get_lexicon()._pool if " " in p and plain(p)][::20]
    assert len(phrases) > 1000
    phrases += ["in the course of", "the", "qzxvbw ferry", "ferry qzxvbw harbour"]
    assert [zipf(p) for p in phrases] == [zipf_frequency(p, "en") for p in phrases]
