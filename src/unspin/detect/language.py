"""A cheap English check: enough of the words must be common English words.

The detector is only meaningful on English, so other languages get verdict "abstain".
"""

from __future__ import annotations

from unspin.text.frequency import zipf
from unspin.types import Token

MIN_WORDS = 25
MIN_ENGLISH_SHARE = 0.6
# Running English prose has ~30-50 % of its words among these; French, Spanish or German prose
# (whose words wordfreq often also knows as English loans) has almost none.
MIN_FUNCTION_SHARE = 0.12
_ENGLISH_FUNCTION_WORDS = frozenset(
    """the of and to a in that is was for it with as on be by at this are from or have has had
    an not but which were their they been its he she his her we will would there can said more
    also who than other into about after when after up out only new one all them these some
    if could our you your i my what no so over such""".split()
)


def english_share(words: list[Token]) -> float:
    """Share of word tokens that are known English words (wordfreq zipf ≥ 1)."""
    if not words:
        return 0.0
    sample = words[:400]
    known = sum(1 for w in sample if zipf(w.text) >= 1.0)
    return known / len(sample)


def function_share(words: list[Token]) -> float:
    """Share of word tokens that are common English function words."""
    if not words:
        return 0.0
    sample = words[:400]
    return sum(1 for w in sample if w.text.lower() in _ENGLISH_FUNCTION_WORDS) / len(sample)


def abstain_reason(words: list[Token]) -> tuple[str | None, str | None]:
    """Return (reason, language): a reason to abstain, or None; language "en" when English."""
    if len(words) < MIN_WORDS:
        share = english_share(words)
        lang = "en" if words and share >= MIN_ENGLISH_SHARE else None
        return f"too short to judge: {len(words)} words (need {MIN_WORDS})", lang
    if english_share(words) < MIN_ENGLISH_SHARE or function_share(words) < MIN_FUNCTION_SHARE:
        return "not English", None
    return None, "en"
