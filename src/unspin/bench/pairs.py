"""The detection bench on real (original, spun) pairs that a user supplies.

`unspin bench detect` measures unspin on the simulator's spinning; what matters is real spinner
output. Given pairs of an original text and its spun copy, this aligns each copy to its original
(`unspin.trace.align`: the swapped words and phrases become the labels, with their original
wording), scans both, and reports the detection bench's figures for them: AUROC of P(spun)
between copies and originals, the share judged spun, flag precision, recall and F1 against the
aligned substitutions, restoration gain, the first suggestion right, and the originals' clean
damage. Words the spinner dropped and rewrites too long to be a swap are counted, not labelled.

Input: JSONL(.gz) lines `{"id": ..., "original": ..., "spun": ...}`.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from unspin.bench.detect import _clean_figures, _score
from unspin.errors import InputError


@dataclass(frozen=True, slots=True)
class Pair:
    """One original text and its spun copy."""

    id: str
    original: str
    spun: str


def read_pairs(path: str | Path) -> Iterator[Pair]:
    """The pairs of a JSONL(.gz) file, streamed; a line that is no pair raises `InputError`
    naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", str(path))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"not JSON ({exc.msg})", str(path), n) from None
            if not isinstance(row, dict) or not all(
                isinstance(row.get(k), str) for k in ("original", "spun")
            ):
                raise InputError('need "original" and "spun" strings', str(path), n)
            yield Pair(str(row.get("id", n)), row["original"], row["spun"])


def labels(pair: Pair) -> dict:
    """The spun copy's substitutions as labels: spans in the copy with their original wording,
    and the counts of dropped words and of edits too long to be a swap."""
    from unspin.trace.align import align

    found = align(pair.spun, pair.original)
    subs = [s for s in found.substitutions if s.text.strip()]
    return {
        "swaps": [(s.start, s.end) for s in subs],
        "originals": [(s.start, s.end, s.source_text) for s in subs],
        "dropped": sum(1 for s in found.substitutions if not s.text.strip()),
        "other_edits": found.edits,
    }


def evaluate_pairs(
    pairs: list[Pair], *, fast: bool = False, model: str | None = None
) -> tuple[dict, list[dict]]:
    """The bench's figures over `pairs` (see the module doc) and one row per pair."""
    from unspin.api import scan

    spun_rows, clean_rows, per_pair = [], [], []
    for pair in pairs:
        lab = labels(pair)
        copy = scan(pair.spun, doc_id=pair.id, fast=fast, model=model)
        original = scan(pair.original, doc_id=pair.id, fast=fast, model=model)
        row = {
            "p": copy.spin_probability,
            "verdict": copy.verdict,
            "flags": [(f.start, f.end) for f in copy.flags],
            "suggestions": [(f.start, f.end, f.suggestion) for f in copy.flags],
            "swaps": lab["swaps"],
            "originals": lab["originals"],
            "original": pair.original,
            "spun": pair.spun,
            "restored": copy.restored,
        }
        clean = {
            "p": original.spin_probability,
            "verdict": original.verdict,
            "flags": [(f.start, f.end) for f in original.flags],
            "original": pair.original,
            "restored": original.restored,
        }
        spun_rows.append(row)
        clean_rows.append(clean)
        one = _score([row], [clean])
        per_pair.append(
            {
                "id": pair.id,
                "words": copy.words,
                "p_spun": copy.spin_probability,
                "verdict": copy.verdict,
                "p_original": original.spin_probability,
                "swaps": len(lab["swaps"]),
                "dropped": lab["dropped"],
                "other_edits": lab["other_edits"],
                "flags": len(copy.flags),
                "flag_f1": one["flag_f1"],
                "restoration_gain": one["restoration_gain"],
            }
        )
    figures = {
        "pairs": len(pairs),
        "mode": "fast" if fast else "default",
        "swaps": sum(r["swaps"] for r in per_pair),
        "dropped_words": sum(r["dropped"] for r in per_pair),
        "other_edits": sum(r["other_edits"] for r in per_pair),
        "spun": _no_nan(_score(spun_rows, clean_rows)) if pairs else {},
        "originals": _clean_figures(clean_rows) if pairs else {},
    }
    return figures, per_pair


def _no_nan(figures: dict) -> dict:
    """None where a figure is undefined (AUROC without a scored copy or original), so the
    figures stay valid JSON."""
    return {k: None if isinstance(v, float) and v != v else v for k, v in figures.items()}


def write_report(figures: dict, per_pair: list[dict], out: str | Path) -> Path:
    """figures.json (with the per-pair rows) and report.md in `out`; returns the report's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(
        json.dumps({**figures, "per_pair": per_pair}, indent=2), encoding="utf-8"
    )
    s, o = figures.get("spun", {}), figures.get("originals", {})
    lines = [
        f"# unspin on real spun pairs ({figures['mode']} mode)",
        "",
        f"{figures['pairs']} pairs; {figures['swaps']} aligned substitutions in the spun copies, "
        f"{figures['dropped_words']} dropped words and {figures['other_edits']} longer rewrites "
        "(counted, not labelled).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| AUROC, P(spun) of copies against originals | {s.get('auroc')} |",
        f"| copies judged spun | {s.get('detected_spun')} |",
        f"| flag precision / recall / F1 | {s.get('flag_precision')} / {s.get('flag_recall')} / "
        f"{s.get('flag_f1')} |",
        f"| restoration gain | {s.get('restoration_gain')} |",
        f"| first suggestion right (swaps flagged exactly) | {s.get('suggestion_right')} |",
        f"| originals judged spun | {o.get('flagged_spun_share')} |",
        f"| originals: words changed by restoration per 1,000 | {o.get('changed_per_1000')} |",
        "",
        "| id | words | P(spun) copy | P(spun) original | substitutions | flags | flag F1 | gain |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in per_pair:
        lines.append(
            f"| {r['id']} | {r['words']} | {_p(r['p_spun'])} | {_p(r['p_original'])} | "
            f"{r['swaps']} | {r['flags']} | {r['flag_f1']} | {r['restoration_gain']} |"
        )
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _p(p: float | None) -> str:
    return "abstain" if p is None else f"{p:.4f}"
