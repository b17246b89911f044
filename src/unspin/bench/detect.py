"""`unspin bench detect`: detection, pinpointing and restoration on held-out spun paragraphs.

Held-out paragraphs (test split of the corpora) are spun by every simulator profile at several
rates and scanned next to their clean originals. Figures: document AUROC and calibration, flag F1,
restoration gain, clean damage, clean paragraphs flagged, tortured phrases restored, speed and
memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from unspin.bench import metrics
from unspin.bench.datasets import paragraphs as all_paragraphs
from unspin.bench.datasets import sample_paragraphs

RATES = (0.1, 0.2, 0.3)
_WARM_TEXT = (
    "The harbour committee met on Tuesday evening to argue about the new ferry timetable, "
    "and several members said the early crossing should stay because nurses and bakers "
    "depend on it every morning of the week."
)


def _scan_job(args: tuple) -> dict:
    """Spin (or not) one paragraph, scan it, and return what the metrics need."""
    text, profile, rate, seed, fast, model_path = args
    from unspin.api import scan
    from unspin.spin import spin

    if profile is None:
        spun, changes = text, []
    else:
        res = spin(text, profile, rate=rate, seed=seed)
        spun, changes = res.text, [(s.start, s.end, s.original) for s in res.swaps]
    swaps = [(a, b) for a, b, _ in changes]
    result = scan(spun, fast=fast, model=model_path)
    return {
        "profile": profile or "clean",
        "rate": rate,
        "p": result.spin_probability,
        "verdict": result.verdict,
        "flags": [(f.start, f.end) for f in result.flags],
        "suggestions": [(f.start, f.end, f.suggestion) for f in result.flags],
        "swaps": swaps,
        "originals": changes,
        "original": text,
        "spun": spun,
        "restored": result.restored,
        "words": result.words,
    }


def _score(rows: list[dict], clean: list[dict]) -> dict:
    """Metrics for a group of spun rows against the clean rows."""
    pos = [r["p"] for r in rows if r["p"] is not None]
    neg = [r["p"] for r in clean if r["p"] is not None]
    counts = np.zeros(4, dtype=int)
    suggested = np.zeros(2, dtype=int)
    wer_spun = wer_restored = 0
    for r in rows:
        counts += metrics.flag_counts(r["flags"], r["swaps"])
        suggested += metrics.suggestion_counts(r["suggestions"], r["originals"])
        spun_errors, restored_errors = _word_errors(r)
        wer_spun += spun_errors
        wer_restored += restored_errors
    flag = metrics.f1_from_counts(*counts.tolist())
    return {
        "docs": len(rows),
        "auroc": round(metrics.auroc(pos, neg), 4),
        "flag_precision": round(flag["precision"], 4),
        "flag_recall": round(flag["recall"], 4),
        "flag_f1": round(flag["f1"], 4),
        "restoration_gain": round(1 - wer_restored / wer_spun, 4) if wer_spun else None,
        # of the swaps flagged exactly, the share whose first suggestion is the original
        "suggestion_right": round(suggested[0] / suggested[1], 4) if suggested[1] else None,
        "detected_spun": round(float(np.mean([r["verdict"] == "spun" for r in rows])), 4),
    }


def _word_errors(row: dict) -> tuple[int, int]:
    """Word edit distances of a row's spun and restored texts to its original, computed once
    per row (kept in it): a row is scored in several groups (its profile, all profiles), and
    the distance is quadratic in the text's length."""
    hit = row.get("word_errors")
    if hit is None:
        orig = metrics.word_list(row["original"])
        hit = row["word_errors"] = (
            metrics.edit_distance(metrics.word_list(row["spun"]), orig),
            metrics.edit_distance(metrics.word_list(row["restored"]), orig),
        )
    return hit


def _clean_figures(clean: list[dict]) -> dict:
    words = sum(len(metrics.word_list(r["original"])) for r in clean)
    changed = sum(
        metrics.edit_distance(metrics.word_list(r["restored"]), metrics.word_list(r["original"]))
        for r in clean
    )
    flags = sum(len(r["flags"]) for r in clean)
    return {
        "docs": len(clean),
        "words": words,
        "changed_per_1000": round(1000 * changed / max(words, 1), 3),
        "flags_per_1000": round(1000 * flags / max(words, 1), 3),
        "flagged_spun_share": round(float(np.mean([r["verdict"] == "spun" for r in clean])), 4),
    }


def _run_jobs(jobs: list[tuple], workers: int) -> list[dict]:
    if workers <= 1:
        return [_scan_job(j) for j in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_scan_job, jobs, chunksize=8))


def evaluate(
    texts: Sequence[str],
    profiles: Sequence[str],
    *,
    seed: int,
    fast: bool,
    model_path: str | None,
    workers: int,
    clean_only: Sequence[str] = (),
) -> tuple[dict, list[dict]]:
    """Scan clean and spun versions of `texts`; return figures by profile and rate, and rows.

    `clean_only` paragraphs are scanned clean only: they join the clean side of every figure
    (AUROC negatives, damage, share judged spun), which at 1 % would be one or two paragraphs
    of a spun-set-sized sample.
    """
    everything = [*texts, *clean_only]
    jobs = [(t, None, 0.0, seed + k, fast, model_path) for k, t in enumerate(everything)]
    for profile in profiles:
        for rate in RATES:
            jobs += [
                (t, profile, rate, seed + 1000 * int(rate * 10) + k, fast, model_path)
                for k, t in enumerate(texts)
            ]
    rows = _run_jobs(jobs, workers)
    clean = [r for r in rows if r["profile"] == "clean"]
    figures: dict = {"clean": _clean_figures(clean), "by_profile": {}}
    for profile in profiles:
        figures["by_profile"][profile] = {
            str(rate): _score(
                [r for r in rows if r["profile"] == profile and r["rate"] == rate], clean
            )
            for rate in RATES
        }
    spun = [r for r in rows if r["profile"] != "clean"]
    figures["all_profiles"] = {
        str(rate): _score([r for r in spun if r["rate"] == rate], clean) for rate in RATES
    }
    # Is P(spun) a probability? Spun texts of every profile and rate against the clean ones,
    # at the even odds it is calibrated for.
    figures["calibration"] = metrics.reliability(
        [r["p"] for r in spun if r["p"] is not None],
        [r["p"] for r in clean if r["p"] is not None],
    )
    return figures, rows


def tortured_figures(csv_path: str, *, fast: bool, model_path: str | None, limit: int) -> dict:
    """Share of real tortured phrases whose expected original is restored exactly."""
    from unspin.api import scan
    from unspin.bench.tortured import cases

    items = cases(csv_path, limit=limit)
    exact = flagged = 0
    for case in items:
        result = scan(case.spun_text, fast=fast, model=model_path)
        exact += result.restored.lower() == case.expected_text.lower()
        start = case.spun_text.index(case.tortured)
        span = (start, start + len(case.tortured))
        flagged += any(metrics.overlaps((f.start, f.end), span) for f in result.flags)
    n = max(len(items), 1)
    return {
        "phrases": len(items),
        "restored_exactly": round(exact / n, 4),
        "flagged": round(flagged / n, 4),
    }


def distinct_spun(texts: Sequence[str], profiles: Sequence[str], *, seed: int) -> list[str]:
    """Each text spun once at rate 0.2, the profile taking turns: the speed sample.

    Distinct paragraphs, not the same few spun many ways, so the scan's caches (candidate
    lists, word frequencies) meet vocabulary as fresh as a real corpus's.
    """
    from unspin.spin import spin

    return [
        spin(t, profiles[k % len(profiles)], rate=0.2, seed=seed + k).text
        for k, t in enumerate(texts)
    ]


def speed_figures(
    texts: Sequence[str], *, fast: bool, model_path: str | None, workers: int = 1
) -> dict:
    """Words/s of `unspin scan --format jsonl` on one core, model load time, peak RSS.

    With `workers` > 1, `scan --workers N` on every core this process may use instead (peak
    RSS is then the largest single process's)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "docs.jsonl"
        with open(src, "w", encoding="utf-8") as fh:
            for k, t in enumerate(texts):
                fh.write(json.dumps({"id": f"d{k}", "text": t}) + "\n")
        words = sum(len(t.split()) for t in texts)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        pin = ["taskset", "-c", "0"] if _has_taskset() and workers == 1 else []
        # Load time as a user meets it: model, lexicon, LM and the lazy tables a first scan
        # touches (word frequencies, inflection rules), on a sentence of our own.
        load_code = (
            "import time; t=time.perf_counter();"
            "from unspin.api import scan;"
            f"scan({_WARM_TEXT!r}, fast={fast!r}, model={model_path!r});"
            "print(time.perf_counter()-t)"
        )
        load = subprocess.run(
            [*pin, sys.executable, "-c", load_code], capture_output=True, text=True, env=env,
            check=True,
        )
        cmd = [*pin, sys.executable, "-m", "unspin.cli", "scan", str(src), "--format", "jsonl"]
        if fast:
            cmd.append("--fast")
        if model_path:
            cmd += ["--model", model_path]
        if workers > 1:
            cmd += ["--workers", str(workers)]
        stdout, rss_kb, wall = run_measured(cmd, env)
    n_out = sum(1 for line in stdout.splitlines() if line.strip())
    load_seconds = float(load.stdout.strip().splitlines()[-1])
    return {
        "docs": n_out,
        "words": words,
        "wall_seconds": round(wall, 2),
        "words_per_second": round(words / wall, 1),
        # throughput once loaded: what a long batch run sees
        "words_per_second_loaded": round(words / max(wall - load_seconds, 1e-3), 1),
        "model_load_seconds": round(load_seconds, 3),
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "one_core": bool(pin),
        "workers": workers,
    }


# Runs argv[1:] and reports that child's own peak RSS on stderr's last line. A process records
# the resident peak of the memory image it replaces at exec, so a child started straight from
# the bench would count the bench's own (several hundred MB); started from this small process
# it counts a few MB of it at most.
_MEASURE = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n{usage.ru_maxrss} {time.perf_counter() - start}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: Sequence[str], env: dict[str, str]) -> tuple[str, int, float]:
    """Run `cmd` (check=True), returning its stdout, its own peak RSS in KB and its wall time
    in seconds (the measuring process's start not included). The peak is the largest resident
    set of that process, or of the largest process it waited for (`--workers`), not of every
    child the bench ever ran (the process-wide RUSAGE_CHILDREN figure)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True, env=env
    )
    *err, last = done.stderr.rstrip("\n").split("\n")
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, list(cmd), done.stdout, "\n".join(err))
    peak, seconds = last.split()
    return done.stdout, int(peak), float(seconds)


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


def run_detect_bench(
    corpus: Sequence[str],
    out: str,
    *,
    paragraphs: int = 200,
    seed: int = 0,
    fast: bool = False,
    model: str | None = None,
    left_out_model: str | None = None,
    left_out_profile: str | None = None,
    tortured_csv: str | None = None,
    tortured_limit: int = 400,
    workers: int = 2,
    speed_docs: int = 1000,
    articles: int = 0,
    clean_paragraphs: int = 0,
) -> dict:
    """Run the detection benchmark, write report.md and plots into `out`, return the figures.

    `clean_paragraphs`: the clean side holds this many held-out paragraphs (at least the
    `paragraphs` that are also spun; the rest are scanned clean only).
    """
    from unspin.bench.report import write_detect_report
    from unspin.detect.model import load_model
    from unspin.spin import PROFILES

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    # One seeded order: the spun set is its first `paragraphs`, the clean-only ones follow.
    paras = sample_paragraphs(corpus, "test", max(paragraphs, clean_paragraphs), seed=seed)
    texts = [p.text for p in paras[:paragraphs]]
    clean_only = [p.text for p in paras[paragraphs:]]
    trained_on = load_model(model).meta.get("profiles", list(PROFILES))
    figures: dict = {
        "mode": "fast" if fast else "default",
        "paragraphs": len(texts),
        "clean_paragraphs": len(texts) + len(clean_only),
        "seed": seed,
        "model_profiles": trained_on,
    }
    t0 = time.time()
    figures["main"], rows = evaluate(
        texts, list(PROFILES), seed=seed, fast=fast, model_path=model, workers=workers,
        clean_only=clean_only,
    )
    left_out = bool(left_out_model and left_out_profile)
    if left_out:
        lo, _ = evaluate(
            texts, [left_out_profile], seed=seed, fast=fast, model_path=left_out_model,
            workers=workers, clean_only=clean_only,
        )
        lo["profile"] = left_out_profile
        lo["model_profiles"] = load_model(left_out_model).meta.get("profiles")
        figures["left_out"] = lo
    if articles:
        from unspin.bench.datasets import sample_articles

        docs = [a.text for a in sample_articles(corpus, "test", articles, seed=seed)]
        words = round(float(np.mean([len(d.split()) for d in docs])) if docs else 0.0, 1)
        figures["articles"], _ = evaluate(
            docs, list(PROFILES), seed=seed, fast=fast, model_path=model, workers=workers
        )
        figures["articles"].update(documents=len(docs), mean_words=words)
        if left_out:  # the same articles, spun by the left-out profile only
            lo_articles, _ = evaluate(
                docs, [left_out_profile], seed=seed, fast=fast, model_path=left_out_model,
                workers=workers,
            )
            lo_articles.update(documents=len(docs), mean_words=words)
            figures["left_out"]["articles"] = lo_articles
    if tortured_csv:
        figures["tortured"] = tortured_figures(
            tortured_csv, fast=fast, model_path=model, limit=tortured_limit
        )
        if left_out:
            figures["left_out"]["tortured"] = tortured_figures(
                tortured_csv, fast=fast, model_path=left_out_model, limit=tortured_limit
            )
    speed_texts = distinct_spun([*texts, *clean_only][:speed_docs], list(PROFILES), seed=seed)
    figures["speed"] = speed_figures(speed_texts, fast=fast, model_path=model)
    if not fast:  # the --fast speed target is checked in every run; its quality with --fast
        figures["speed_fast"] = speed_figures(speed_texts, fast=True, model_path=model)
    # --fast is the bulk mode: also over every held-out paragraph, where start-up is a smaller
    # share and the scan's caches fill as they do on a real corpus.
    bulk = [p.text for p in all_paragraphs(corpus, "test")]
    bulk = distinct_spun(bulk, list(PROFILES), seed=seed)
    figures["speed_fast_bulk"] = speed_figures(bulk, fast=True, model_path=model)
    from unspin.context.encoder import usable_cores

    cores = usable_cores()
    if cores > 1:  # what a batch run gets from every core (`scan --workers`), for reference
        figures["speed_all_cores"] = speed_figures(
            speed_texts, fast=fast, model_path=model, workers=cores
        )
    figures["bench_seconds"] = round(time.time() - t0, 1)
    write_detect_report(figures, rows, outdir)
    (outdir / "figures.json").write_text(json.dumps(figures, indent=2))
    return figures
