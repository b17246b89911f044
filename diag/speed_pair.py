"""Scan speed of two checkouts in alternating pairs, on one core, with byte-identical outputs.

This host's speed swings by more than most changes, so a speed change is measured against the
code it replaces on the same work, turn by turn. Run from the repository root:

    git worktree add /tmp/base <commit>
    python diag/speed_pair.py /tmp/base/src [--fast] [--texts bulk|sample] [--rounds 2]

`sample` is the detection bench's speed sample (1,000 held-out paragraphs spun at rate 0.2, the
profiles taking turns); `bulk` is every held-out paragraph of 40+ words spun the same way. Each
turn is `unspin scan FILE --format jsonl` end to end (start-up included), pinned to one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from unspin.bench.datasets import paragraphs, sample_paragraphs
from unspin.bench.detect import distinct_spun
from unspin.spin import PROFILES

CORPORA = [
    "../shared/data/corpora/allsides_news_2012_2020.jsonl.gz",
    "../shared/data/corpora/bbc_news_2004_2005.jsonl.gz",
    "../shared/data/corpora/reuters21578_1987.jsonl.gz",
]


def texts(which: str) -> list[str]:
    """The spun paragraphs of the bench's speed sample or of its bulk run."""
    if which == "bulk":
        originals = [p.text for p in paragraphs(CORPORA, "test")]
    else:
        originals = [p.text for p in sample_paragraphs(CORPORA, "test", 1000, seed=0)]
    return distinct_spun(originals, list(PROFILES), seed=0)


def run(src: str, path: Path, fast: bool) -> tuple[float, bytes]:
    """Seconds for one end-to-end scan with `src` first on the path, and its output."""
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1")
    cmd = ["taskset", "-c", "0", sys.executable, "-m", "unspin.cli", "scan", str(path)]
    cmd += ["--format", "jsonl", *(["--fast"] if fast else [])]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, env=env, check=True).stdout
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="src/ directory of the checkout to compare against")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--texts", choices=("sample", "bulk"), default="sample")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    docs = texts(args.texts)
    words = sum(len(t.split()) for t in docs)
    here = str(Path(__file__).resolve().parent.parent / "src")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        path.write_text(
            "".join(json.dumps({"id": f"d{k}", "text": t}) + "\n" for k, t in enumerate(docs))
        )
        outputs = {}
        for _ in range(args.rounds):
            for name, src in (("base", args.base), ("this", here)):
                seconds, outputs[name] = run(src, path, args.fast)
                print(f"{name}: {seconds:.2f} s, {words / seconds:,.0f} words/s ({words:,} words)")
        print("outputs identical" if outputs["base"] == outputs["this"] else "OUTPUTS DIFFER")


if __name__ == "__main__":
    main()
