"""Links real spinners were seen to make, learned from known spun/original phrase pairs.

WordNet and Moby say what a spinner *could* swap; a list of real tortured phrases says what
spinners *do* swap ("data mining" -> "information mining" gives data -> information). This module
turns such a list into a link table, `original<TAB>replacement<TAB>count`, that the lexicon
builder adds as its fourth source ("observed"), and a list of the multiword terms the spinners
disguised (`term<TAB>count`: "data mining", "neural network"), which `unspin.detect.terms` uses to
repair a disguised term as a whole. Both shipped tables are trained artifacts: learned from the
calibration rows only (the odd data rows of the tortured-phrases CSV; the even rows measure
restoration and are never read here) and rebuilt by

    python -m unspin.lexicon.observed --csv ../shared/data/real/tortured_phrases.csv \\
        --out src/unspin/data/spinner_links.tsv --terms-out src/unspin/data/spinner_terms.tsv
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

MAX_WORDS = 4  # longest whole-phrase link kept (the lexicon's own limit)


def default_path() -> Path:
    """The link table shipped inside the package."""
    return Path(str(resources.files("unspin") / "data" / "spinner_links.tsv"))


def default_terms_path() -> Path:
    """The term list shipped inside the package."""
    return Path(str(resources.files("unspin") / "data" / "spinner_terms.tsv"))


def learn_terms(pairs: Iterable[tuple[str, str]]) -> Counter[str]:
    """Count the multiword terms (2 to MAX_WORDS plain words) that spinners disguised."""
    terms: Counter[str] = Counter()
    for expected, spun in pairs:
        words = expected.lower().split()
        if 2 <= len(words) <= MAX_WORDS and all(w.isalpha() for w in words):
            if words != spun.lower().split():
                terms[" ".join(words)] += 1
    return terms


def write_terms(terms: Counter[str], path: Path) -> None:
    """Write the term list sorted by count, then alphabetically."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# term\tcount (see unspin/lexicon/observed.py)\n")
        for term, n in sorted(terms.items(), key=lambda kv: (-kv[1], kv[0])):
            fh.write(f"{term}\t{n}\n")


def read_terms(path: Path | None = None) -> dict[str, int]:
    """term -> count of a term list; the shipped one by default."""
    path = path or default_terms_path()
    if not path.exists():
        return {}
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            term, n = line.rstrip("\n").split("\t")
            out[term] = int(n)
    return out


@lru_cache(maxsize=1)
def shipped_terms() -> dict[str, int]:
    """The shipped term list, read once."""
    return read_terms()


def learn_links(pairs: Iterable[tuple[str, str]]) -> Counter[tuple[str, str]]:
    """Count (original, replacement) links in (expected, spun) phrase pairs.

    Terms of equal length are aligned word by word (paper mills swap the words of a term one at
    a time); terms of different length give one whole-phrase link ("since" -> "because of").
    """
    links: Counter[tuple[str, str]] = Counter()
    for expected, spun in pairs:
        ew, sw = expected.lower().split(), spun.lower().split()
        if not ew or not sw or ew == sw:
            continue
        if len(ew) == len(sw):
            for e, s in zip(ew, sw, strict=True):
                if e != s and e.isalpha() and s.isalpha():
                    links[(e, s)] += 1
        elif len(ew) <= MAX_WORDS and len(sw) <= MAX_WORDS:
            links[(" ".join(ew), " ".join(sw))] += 1
    return links


def write_links(links: Counter[tuple[str, str]], path: Path) -> None:
    """Write the table sorted by count, then alphabetically (stable diffs between rebuilds)."""
    rows = sorted(links.items(), key=lambda kv: (-kv[1], kv[0]))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# original\treplacement\tcount (see unspin/lexicon/observed.py)\n")
        for (a, b), n in rows:
            fh.write(f"{a}\t{b}\t{n}\n")


def read_links(path: Path | None = None) -> list[tuple[str, str, int]]:
    """(original, replacement, count) rows of a link table; the shipped one by default."""
    path = path or default_path()
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            a, b, n = line.rstrip("\n").split("\t")
            out.append((a, b, int(n)))
    return out


def link_prior(count: int) -> float:
    """Prior that a spinner uses an observed link: higher the more often it was seen."""
    return min(0.9, 0.4 + 0.2 * count)


def main(argv: list[str] | None = None) -> int:
    """Learn the link table from the calibration rows of a tortured-phrases CSV."""
    from unspin.spin.calibrate import DEFAULT_CSV, calibration_pairs

    ap = argparse.ArgumentParser(prog="python -m unspin.lexicon.observed", description=__doc__)
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=default_path())
    ap.add_argument("--terms-out", type=Path, default=default_terms_path())
    args = ap.parse_args(argv)
    if not args.csv.exists():
        print(f"observed: no such file: {args.csv}", file=sys.stderr)
        return 2
    pairs = list(calibration_pairs(args.csv))
    links = learn_links(pairs)
    write_links(links, args.out)
    print(f"{len(links)} links ({sum(links.values())} observations) -> {args.out}")
    terms = learn_terms(pairs)
    write_terms(terms, args.terms_out)
    print(f"{len(terms)} terms -> {args.terms_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
