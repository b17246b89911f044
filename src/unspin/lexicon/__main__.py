"""`python -m unspin.lexicon [--cache-dir DIR] [--rebuild] [PHRASE ...]`.

Builds the lexicon cache if needed (or anew with --rebuild), prints its stats, build and load
times, and the reverse and forward candidates of any PHRASE given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from unspin.lexicon.core import Lexicon, cache_path


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m unspin.lexicon", description=__doc__)
    parser.add_argument("phrases", nargs="*", metavar="PHRASE", help="phrases to look up")
    parser.add_argument("--cache-dir", default=None, help="cache directory (default: user cache)")
    parser.add_argument("--rebuild", action="store_true", help="build even if a cache exists")
    parser.add_argument("--limit", type=int, default=10, help="candidates shown per phrase")
    args = parser.parse_args(argv)

    path = cache_path(args.cache_dir)
    build_s = None
    if args.rebuild or not path.exists():
        t0 = time.perf_counter()
        if args.rebuild:
            path.parent.mkdir(parents=True, exist_ok=True)
            Lexicon.build().save(path)
        else:
            Lexicon.load(args.cache_dir)
        build_s = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    lex = Lexicon.load(args.cache_dir)
    load_s = round(time.perf_counter() - t0, 3)

    report = {
        "cache": str(path),
        "cache_bytes": path.stat().st_size,
        "build_seconds": build_s,
        "load_seconds": load_s,
        **lex.stats(),
    }
    print(json.dumps(report, indent=2))
    for phrase in args.phrases:
        for label, cands in (
            ("sources_of", lex.sources_of(phrase, args.limit)),
            ("synonyms_of", lex.synonyms_of(phrase, args.limit)),
        ):
            shown = ", ".join(f"{c.text} {c.weight:.2f} ({c.source})" for c in cands)
            print(f"{label}({phrase!r}): {shown or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
