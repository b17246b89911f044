"""Real paper-mill "tortured phrases" placed in neutral sentences written for this benchmark.

Only rows at even positions of the CSV (2nd, 4th, … data row) are used here: the odd rows
calibrate the simulator and teach the lexicon the links real spinners make
(`unspin.lexicon.observed`), so evaluation never sees them. An even row that repeats an odd row's
phrase pair word for word is left out too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

# Neutral carrier paragraphs (written for unspin); "{}" is where the phrase goes.
TEMPLATES = (
    "The second part of this report looks at {} in some detail. We collected the material over "
    "two years and checked every record by hand before the analysis began, so the figures below "
    "should be read with that process in mind.",
    "Several groups have studied the question before, and their results do not always agree. "
    "In this paper we focus on {} and compare it with the approach most teams use today, "
    "keeping the same data and the same measures throughout.",
    "Our results suggest that {} plays a larger role than earlier work assumed. The effect "
    "held across all the settings we tried, although it was weaker in the smallest samples, "
    "as the tables in the appendix show.",
)

_PAREN = re.compile(r"\s*\([^)]*\)")


@dataclass(frozen=True, slots=True)
class TorturedCase:
    """A tortured phrase, the expected original, and the carrier texts."""

    tortured: str
    expected: str
    spun_text: str
    expected_text: str


def evaluation_rows(path: str) -> list[tuple[str, str]]:
    """(tortured, expected) for even-position rows with one phrase and a certain answer."""
    from pathlib import Path

    from unspin.spin.calibrate import calibration_pairs

    seen = {(t, e) for e, t in calibration_pairs(Path(path))}
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        for k, row in enumerate(csv.DictReader(fh)):
            if k % 2 == 0:  # 1st, 3rd, ... rows are for calibration only
                continue
            tortured, expected = row["tortured_phrase"], row["expected_phrase"]
            if " AND " in tortured or " NOT " in tortured or "?" in expected:
                continue
            tortured = tortured.strip().strip('"').strip()
            expected = _PAREN.sub("", expected).strip()
            if (tortured.lower(), expected.lower()) in seen:
                continue  # the same pair is a calibration row
            if tortured and expected and '"' not in tortured:
                out.append((tortured, expected))
    return out


def cases(path: str, limit: int | None = None) -> list[TorturedCase]:
    """Benchmark cases: each phrase placed in one of the carrier paragraphs."""
    rows = evaluation_rows(path)[:limit] if limit else evaluation_rows(path)
    result = []
    for k, (tortured, expected) in enumerate(rows):
        template = TEMPLATES[k % len(TEMPLATES)]
        result.append(
            TorturedCase(
                tortured,
                expected,
                template.format(tortured),
                template.format(expected),
            )
        )
    return result
