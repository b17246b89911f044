"""English word frequencies on the Zipf scale (wordfreq), fast for plain lower-case words.

`wordfreq.zipf_frequency` tokenizes every word it has not seen before (about 40 µs), which a
scan pays for most of a document's words. For a word of plain lower-case ASCII letters its
tokenizer returns the word itself, and for a phrase of such words joined by single spaces
(thesaurus phrases: "in the course of") the words, so the frequency can be read from wordfreq's
table directly; the arithmetic below is wordfreq's own, so the values are identical.
Capitalised ASCII words are read as their lower case, which is what wordfreq's tokenizer makes
of them. Anything else (digits, apostrophes, hyphens, other scripts) goes through wordfreq.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

_PLAIN = re.compile(r"[a-z]+(?: [a-z]+)*")
# wordfreq's minimum frequency for zipf_frequency's default minimum of 0 (10**0 / 1e9).
_FREQ_MIN = 1e-9


@lru_cache(maxsize=1)
def _table() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en", "best")


@lru_cache(maxsize=500_000)
def zipf(word: str) -> float:
    """`wordfreq.zipf_frequency(word, "en")`, memoised, without tokenizing plain words and
    phrases."""
    if _PLAIN.fullmatch(word) is None:
        if word.isascii() and word.isalpha():  # capitalised: wordfreq reads it lower-cased
            return zipf(word.lower())
        from wordfreq import zipf_frequency

        return zipf_frequency(word, "en")
    table = _table()
    one_over = 0.0
    for token in word.split(" "):
        f = table.get(token)
        if f is None:  # wordfreq: any unknown token gives the minimum
            return round(math.log(_FREQ_MIN, 10) + 9, 2)
        one_over += 1.0 / f
    # wordfreq combines token frequencies as 1 / sum(1 / f_i), then keeps 3 significant digits.
    freq = max(1.0 / one_over, _FREQ_MIN)
    freq = round(freq, math.floor(-math.log(freq, 10)) + 3)
    return round(math.log(freq, 10) + 9, 2)
