"""Scan speed of two checkouts in alternating pairs, on one core, with byte-identical outputs.

This host's speed swings by more than most changes, so a speed change is measured against the
code it replaces on the same work, turn by turn. Run from the repository root:

    git worktree add /tmp/base <commit>
    python diag/speed_pair.py /tmp/base/src [--fast] [--texts bulk|sample] [--rounds 2]

`sample` is the detection bench's speed sample (1,000 held-out paragraphs spun at rate 0.2, the
profiles taking turns); `bulk` is every held-out paragraph of 40+ words spun the same way. Each
turn is `unspin scan FILE --format jsonl` end to end (start-up included), pinned to one core.
With `--warm`, each turn instead scans the texts twice in one process and times the second
pass: the speed of a long run whose caches have filled.
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


_WARM = """
import json, sys, time
from unspin.api import scan
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]
for text in texts:
    scan(text, fast=sys.argv[2] == "1")
start = time.perf_counter()
out = [scan(text, fast=sys.argv[2] == "1").to_dict() for text in texts]
sys.stderr.write(f"{time.perf_counter() - start}\\n")
print(json.dumps(out))
"""


def run_warm(src: str, path: Path, fast: bool) -> tuple[float, bytes]:
    """Seconds for a second pass over the texts in one process, and its results."""
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1")
    cmd = ["taskset", "-c", "0", sys.executable, "-c", _WARM, str(path), str(int(fast))]
    done = subprocess.run(cmd, capture_output=True, env=env, check=True)
    return float(done.stderr.decode().strip().splitlines()[-1]), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="src/ directory of the checkout to compare against")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--texts", choices=("sample", "bulk"), default="sample")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm", action="store_true", help="time a second pass in-process")
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
                seconds, outputs[name] = (run_warm if args.warm else run)(src, path, args.fast)
                print(f"{name}: {seconds:.2f} s, {words / seconds:,.0f} words/s ({words:,} words)")
        print("outputs identical" if outputs["base"] == outputs["this"] else "OUTPUTS DIFFER")


if __name__ == "__main__":
    main()
