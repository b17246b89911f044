"""Batch runs killed with SIGKILL at random points and restarted lose and repeat nothing.

`unspin scan big.jsonl --output out.jsonl` and `unspin dedup big.jsonl --output clusters.jsonl`
run as real processes; each is killed several times (during start-up, mid-write, anywhere), then
rerun to completion. Afterwards there is exactly one result per input document, the files are
whole (no torn line, no half-written JSON array), and dedup's output is byte-identical to an
uninterrupted run's. The delays are random; the seed is in every failure message.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

MODEL = Path(str(resources.files("unspin") / "data" / "model.pkl"))
needs_model = pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not built yet")
EXAMPLES = Path(str(resources.files("unspin") / "examples"))

KILLS = 3
SEED = int(os.environ.get("UNSPIN_KILL_SEED", time.time_ns() % 100_000))


def _sentences() -> list[str]:
    text = (EXAMPLES / "clean.txt").read_text(encoding="utf-8")
    return [s.strip() + "." for s in text.split(".") if s.strip()]


def _corpus(path: Path, n: int, rng: random.Random, malformed: int = 0) -> list[str]:
    """A JSONL file of `n` documents (some exact copies, so dedup finds clusters) and
    `malformed` bad lines among them; returns the ids of the good documents, in order."""
    sentences = _sentences()
    ids, lines = [], []
    for k in range(n):
        if k % 10 == 9:  # an exact copy of the document before it
            text = json.loads(lines[-1])["text"]
        else:
            picked = rng.sample(sentences, 3)
            text = f"Report {k} from Marrowby, filed on day {rng.randint(1, 300)}. " + " ".join(
                picked
            )
        ids.append(f"doc-{k:04d}")
        lines.append(json.dumps({"id": ids[-1], "text": text}))
    for j in range(malformed):
        lines.insert(rng.randint(0, len(lines)), ["{broken", '{"id": 5}', "[1, 2]"][j % 3])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ids


def _unspin(*args: str, stderr: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "UNSPIN_DEBUG"}
    with stderr.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "unspin", *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _kill_at_random(
    args: list[str], rng: random.Random, stderr: Path, max_wait: float, watch: Path | None = None
) -> str:
    """Start `unspin ARGS` and SIGKILL it at a random point; what happened, for messages.

    With `watch` (a file the run appends to), the kill waits until the file grows, then a random
    moment more, so that it lands while results are being written; without, it lands anywhere
    in the first `max_wait` seconds (start-up included).
    """
    proc = _unspin(*args, stderr=stderr)
    started = time.monotonic()
    if watch is not None:
        before = _size(watch)
        while _size(watch) == before and proc.poll() is None:
            if time.monotonic() - started > max_wait:
                break
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 1.0))
        how = "while writing"
    else:
        time.sleep(rng.uniform(0.2, max_wait))
        how = "anywhere"
    if proc.poll() is not None:
        return f"finished before the kill ({how}, rc={proc.returncode})"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return f"killed at {time.monotonic() - started:.1f}s ({how})"


def _finish(args: list[str], stderr: Path, timeout: float = 300) -> int:
    proc = _unspin(*args, stderr=stderr)
    return proc.wait(timeout=timeout)


@needs_model
def test_scan_killed_again_and_again_yields_one_result_per_document(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    src = tmp_path / "big.jsonl"
    ids = _corpus(src, 3000, rng, malformed=3)  # a few seconds of writing in fast mode
    out = tmp_path / "out.jsonl"
    err = tmp_path / "stderr.txt"
    args = ["scan", str(src), "--format", "jsonl", "--fast", "--output", str(out),
            "--on-error", "skip"]  # fmt: skip
    # The first kill lands anywhere (often in start-up), the others while results are written.
    history = [_kill_at_random(args, rng, err, max_wait=4)]
    history += [_kill_at_random(args, rng, err, 60, watch=out) for _ in range(KILLS - 1)]
    where = f"seed {SEED}: {history}"
    print(f"scan {where}")  # shown with -s: how many kills each run survived
    assert any(h.startswith("killed") and "writing" in h for h in history), where
    err.write_bytes(b"")
    assert _finish(args, err) == 0, (where, err.read_text())

    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"", f"the file ends in a torn line ({where})"
    results = [json.loads(line) for line in lines[:-1]]  # every line whole and valid
    counts = Counter(r["id"] for r in results)
    assert counts == Counter(ids), f"lost {set(ids) - set(counts)}, repeated " + str(
        [i for i, c in counts.items() if c > 1]
    ) + f" ({where})"
    assert all(r["verdict"] in ("spun", "clean", "abstain") for r in results)
    # The final run reports what it read, wrote and skipped; what earlier runs wrote it resumed.
    summary = err.read_text().strip().splitlines()[-1]
    assert f"read {len(ids)} documents" in summary, summary
    assert "skipped 3 malformed" in summary, summary
    wrote = int(summary.split("wrote ")[1].split(",")[0])
    if wrote < len(ids):
        assert f"{len(ids) - wrote} already in" in summary, summary


@needs_model
def test_a_killed_json_output_leaves_the_old_file_whole(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    src = tmp_path / "big.jsonl"
    # enough documents that the kill, up to a second after the temporary file appears, lands
    # before the run ends (about 4.5 s of scanning in --fast mode here)
    ids = _corpus(src, 2000, rng)
    out = tmp_path / "out.json"
    out.write_text('["the previous run"]\n', encoding="utf-8")
    err = tmp_path / "stderr.txt"
    args = ["scan", str(src), "--format", "json", "--fast", "--output", str(out)]
    proc = _unspin(*args, stderr=err)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.json.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 1.0))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert json.loads(out.read_text(encoding="utf-8")) == ["the previous run"]
    assert _finish(args, err) == 0, err.read_text()
    assert [r["id"] for r in json.loads(out.read_text(encoding="utf-8"))] == ids


def test_dedup_killed_again_and_again_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    src = tmp_path / "big.jsonl"
    ids = _corpus(src, 200, rng, malformed=3)
    err = tmp_path / "stderr.txt"
    common = [str(src), "--workers", "1", "--partition-size", "10", "--on-error", "skip"]
    whole = tmp_path / "whole.jsonl"
    started = time.monotonic()
    assert _finish(["dedup", *common, "--output", str(whole)], err) == 0, err.read_text()
    took = time.monotonic() - started

    out = tmp_path / "clusters.jsonl"
    args = ["dedup", *common, "--output", str(out)]
    work = tmp_path / "clusters.jsonl.work"  # checkpoints; removed after success
    history = [_kill_at_random(args, rng, err, max_wait=took) for _ in range(KILLS)]
    where = f"seed {SEED}: {history}"
    print(f"dedup {where}")
    assert _finish(args, err) == 0, (where, err.read_text())
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert Counter(r["id"] for r in rows) == Counter(ids), where
    assert out.read_bytes() == whole.read_bytes(), where
    assert not work.exists()
