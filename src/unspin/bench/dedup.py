"""Dedup and trace benchmark: unspin against datasketch MinHashLSH on one corpus, in one run.

The corpus: documents of the clean corpora plus, for a seeded sample of them, planted copies:
an exact copy, a lightly edited copy (a sentence dropped, a line added, a number changed) and
spun copies at rates 0.1, 0.2, 0.3 and 0.4, each with a simulator profile drawn per copy.
Both systems read the same JSONL file:

- unspin: `unspin.engines.local.run_dedup` end to end (fingerprints, LSH, verification by
  alignment, clusters, output), timed with `workers` processes and, for the like-for-like time
  ratio, with one.
- datasketch: MinHash of word 5-grams (128 permutations, `update_batch`), MinHashLSH at
  threshold 0.7; each document queried against those inserted before it; timed the same way.

Recall of a copy = it ends up in its source's cluster (unspin) or its source is among its LSH
candidates (datasketch, i.e. before any verification: the generous reading). Pair precision =
predicted same-cluster pairs that are true copies: of one planted family, or natural duplicates
already in the corpora (word 5-gram containment >= 0.5 between the two underlying texts).

Trace: an index of the whole corpus; for each spun copy the first-ranked source must be its
source (or an exact copy of it). With the source indexed, `scan --index` flags are scored
against the simulator's swaps (flag F1; dropped words have no span and are left out on both
sides) and the restored text against the original (restoration gain = 1 - WER after / WER
before). Consensus restoration is scored the same way, from the clusters alone (no index).
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import json
import os
import random
import re
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

from unspin.bench import metrics

__all__ = ["light_edit", "run_dedup_bench", "run_scale_bench", "synthetic_corpus"]

RATES = (0.1, 0.2, 0.3, 0.4)
PROFILES = ("spinbot", "spinnerchief", "wordai", "bestspinner", "wordnet", "moby-rare")
_WORDS = re.compile(r"\S+")


# --------------------------------------------------------------------------- corpus


def _read_jsonl(path: str) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _stable(value: str) -> int:
    return int(hashlib.sha1(value.encode("utf-8")).hexdigest()[:12], 16)


def light_edit(text: str, rng: random.Random) -> str:
    """A lightly edited copy: one inner sentence dropped, one digit changed, a line appended."""
    from unspin.text import sentence_spans

    spans = sentence_spans(text)
    if len(spans) >= 4:
        k = rng.randrange(1, len(spans) - 1)
        start = spans[k][0]
        end = spans[k + 1][0]
        text = text[:start] + text[end:]
    digits = [m.start() for m in re.finditer(r"\d", text)]
    if digits:
        at = digits[rng.randrange(len(digits))]
        text = text[:at] + str((int(text[at]) + 1) % 10) + text[at + 1 :]
    return text + "\n\nThis story was first published by our partner site."


def build_corpus(
    paths: Sequence[str], out: Path, *, docs: int, copies: int, seed: int
) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Write the benchmark corpus (JSONL) and return its path and the planted copies' truth.

    truth[id] = {"source": source id, "kind": exact|edit|spun, "rate", "profile", "swaps",
    "original"} for every planted copy.
    """
    from unspin.spin import spin

    pool = [d for p in paths for d in _read_jsonl(p) if len(_WORDS.findall(d["text"])) >= 60]
    pool.sort(key=lambda d: _stable(f"{seed}:{d['id']}"))
    chosen = pool[:docs]
    rng = random.Random(seed)
    sources = rng.sample(chosen, min(copies, len(chosen)))
    truth: dict[str, dict[str, Any]] = {}
    planted: list[dict[str, Any]] = []
    for k, src in enumerate(sources):
        sid, text = src["id"], src["text"]
        planted.append({"id": f"{sid}~exact", "text": text})
        truth[f"{sid}~exact"] = {"source": sid, "kind": "exact"}
        planted.append({"id": f"{sid}~edit", "text": light_edit(text, rng)})
        truth[f"{sid}~edit"] = {"source": sid, "kind": "edit"}
        for rate in RATES:
            profile = PROFILES[rng.randrange(len(PROFILES))]
            res = spin(text, profile, rate=rate, seed=seed * 100_000 + k)
            cid = f"{sid}~spin{rate}"
            planted.append({"id": cid, "text": res.text})
            truth[cid] = {
                "source": sid,
                "kind": "spun",
                "rate": rate,
                "profile": profile,
                "swaps": [(s.start, s.end) for s in res.swaps if s.end > s.start],
            }
    # Copies are spread through the corpus (seeded), so no engine sees them next to the source.
    records = [{"id": d["id"], "text": d["text"], "date": d.get("date")} for d in chosen]
    for rec in planted:
        records.insert(rng.randrange(len(records) + 1), rec)
    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for rec in records:
            if rec.get("date") is None:
                rec.pop("date", None)
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return corpus, truth


# --------------------------------------------------------------------------- datasketch


def datasketch_dedup(corpus: Path) -> tuple[list[tuple[str, str]], float]:
    """Candidate pairs of datasketch MinHashLSH (word 5-grams, 128 perms, threshold 0.7).

    Each document is queried against those inserted before it, then inserted. Returns the pairs
    and the wall time (reading included).
    """
    from datasketch import MinHash, MinHashLSH

    t0 = time.perf_counter()
    lsh = MinHashLSH(threshold=0.7, num_perm=128)
    pairs: list[tuple[str, str]] = []
    for k, rec in enumerate(_read_jsonl(str(corpus))):
        words = rec["text"].split()
        shingles = {" ".join(words[i : i + 5]).encode("utf-8") for i in range(len(words) - 4)}
        m = MinHash(num_perm=128)
        m.update_batch(list(shingles) or [rec["text"].encode("utf-8")])
        key = f"{k}\t{rec['id']}"
        for other in lsh.query(m):
            pairs.append((other.split("\t", 1)[1], rec["id"]))
        lsh.insert(key, m)
    return pairs, time.perf_counter() - t0


# --------------------------------------------------------------------------- scoring


def _family(doc_id: str, truth: dict[str, dict[str, Any]]) -> str:
    return truth[doc_id]["source"] if doc_id in truth else doc_id


def _shingles5(text: str) -> set[str]:
    w = [x.lower() for x in _WORDS.findall(text)]
    return {" ".join(w[i : i + 5]) for i in range(max(len(w) - 4, 1))}


def _pair_truth(
    pairs: set[tuple[str, str]], truth: dict[str, dict[str, Any]], texts: dict[str, str]
) -> tuple[int, int]:
    """(true pairs, natural duplicates among them): same planted family, or the underlying
    texts share >= 50 % of the smaller one's word 5-grams (a copy already in the corpora)."""
    good = natural = 0
    cache: dict[str, set[str]] = {}
    for a, b in pairs:
        fa, fb = _family(a, truth), _family(b, truth)
        if fa == fb:
            good += 1
            continue
        sa = cache.setdefault(fa, _shingles5(texts[fa]))
        sb = cache.setdefault(fb, _shingles5(texts[fb]))
        if len(sa & sb) >= 0.5 * min(len(sa), len(sb)):
            good += 1
            natural += 1
    return good, natural


def _cluster_pairs(rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r["role"] != "unique":
            members[r["cluster"]].append(r["id"])
    out: set[tuple[str, str]] = set()
    for group in members.values():
        group = sorted(group)
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                out.add((group[i], group[j]))
    return out


def _components(pairs: list[tuple[str, str]]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def _recall_by(
    truth: dict[str, dict[str, Any]], found: set[str]
) -> dict[str, dict[str, float | int]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for cid, t in truth.items():
        groups[f"spun {t['rate']}" if t["kind"] == "spun" else t["kind"]].append(cid)
    return {
        k: {"copies": len(v), "recall": round(sum(c in found for c in v) / len(v), 4)}
        for k, v in sorted(groups.items())
    }


Scored = tuple[list[tuple[int, int]], list[tuple[int, int]], str, str, str]


def _flag_and_gain(items: list[Scored]) -> tuple[dict[str, float], float | None]:
    """Flag P/R/F1 over (flags, swaps, spun, restored, original) items, and restoration gain."""
    counts = [0, 0, 0, 0]
    wer_before = wer_after = 0
    for flags, swaps, spun, restored, original in items:
        for i, c in enumerate(metrics.flag_counts(flags, swaps)):
            counts[i] += c
        orig = metrics.word_list(original)
        # the same word-level Levenshtein distance as `metrics.edit_distance`, in C++
        wer_before += Levenshtein.distance(metrics.word_list(spun), orig)
        wer_after += Levenshtein.distance(metrics.word_list(restored), orig)
    f1 = metrics.f1_from_counts(*counts)
    gain = 1 - wer_after / wer_before if wer_before else None
    return {k: round(v, 4) for k, v in f1.items()}, (round(gain, 4) if gain is not None else None)


# --------------------------------------------------------------------------- the benchmark


def run_dedup_bench(
    corpus: Sequence[str],
    out: str | os.PathLike[str],
    *,
    docs: int = 4000,
    copies: int = 300,
    seed: int = 0,
    workers: int = 2,
) -> dict[str, Any]:
    """Run the benchmark; write report.md, recall.png and figures.json under `out`."""
    from unspin.engines.local import DedupConfig, run_dedup
    from unspin.trace.cluster import consensus_restore
    from unspin.trace.fingerprint import default_canonicalizer
    from unspin.trace.index import Index
    from unspin.trace.restore import scan_result_from_match

    out_dir = Path(out)
    t0 = time.perf_counter()
    path, truth = build_corpus(corpus, out_dir, docs=docs, copies=copies, seed=seed)
    build_s = time.perf_counter() - t0
    records = list(_read_jsonl(str(path)))
    texts = {r["id"]: r["text"] for r in records}
    default_canonicalizer()  # load the lexicon outside the timed runs (datasketch has none)

    # --- timed runs, one after the other on the same file
    ds_pairs, ds_time = datasketch_dedup(path)
    timings: dict[str, float] = {"datasketch": round(ds_time, 2)}
    rows: list[dict[str, Any]] = []
    for w in sorted({1, workers}):
        clusters = out_dir / f"clusters-{w}.jsonl"
        t = time.perf_counter()
        run_dedup([str(path)], clusters, DedupConfig(workers=w))
        timings[f"unspin_workers_{w}"] = round(time.perf_counter() - t, 2)
        rows = [json.loads(line) for line in open(clusters, encoding="utf-8")]

    # --- recall and precision
    cluster_of = {r["id"]: r["cluster"] for r in rows}
    found = {c for c, t in truth.items() if cluster_of.get(c) == cluster_of.get(t["source"])}
    ds_comp = _components(ds_pairs)
    ds_direct = {(a, b) for a, b in ds_pairs} | {(b, a) for a, b in ds_pairs}
    ds_found = {c for c, t in truth.items() if (c, t["source"]) in ds_direct}
    pred = _cluster_pairs(rows)
    good, natural = _pair_truth(pred, truth, texts)
    ds_pred = {tuple(sorted(p)) for p in ds_pairs}
    ds_good, ds_natural = _pair_truth(ds_pred, truth, texts)
    n_sources = len({t["source"] for t in truth.values()})
    role_ok = sum(
        1
        for sid in {t["source"] for t in truth.values()}
        if any(r["id"] in (sid, f"{sid}~exact") and r["role"] == "source" for r in rows)
    )

    # --- trace, source restoration, consensus restoration
    index_path = out_dir / "index.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index_path}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    with Index(index_path, create=True) as ix:
        ix.add(_documents(records), workers=workers)
        timings["index_build"] = round(time.perf_counter() - t, 2)
        spun = sorted(c for c, tr in truth.items() if tr["kind"] == "spun")
        top1 = 0
        src_items, cons_items = [], []
        members: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            members[r["cluster"]].append(r["id"])
        t = time.perf_counter()
        for cid in spun:
            tr = truth[cid]
            original = texts[tr["source"]]
            result = ix.trace(texts[cid], doc_id=cid, limit=1)
            if result.matches and texts[result.matches[0].source_id] == original:
                top1 += 1
            # what `scan --index` answers (`source_restore`), from the same trace
            scanned = (
                scan_result_from_match(texts[cid], cid, result.matches[0])
                if result.matches
                else None
            )
            if scanned is not None:
                flags = [(f.start, f.end) for f in scanned.flags]
                restored = scanned.restored
            else:
                flags, restored = [], texts[cid]
            src_items.append((flags, tr["swaps"], texts[cid], restored, original))
            others = [m for m in members.get(cluster_of[cid], []) if m != cid][:15]
            c_restored, subs = consensus_restore(texts[cid], [texts[m] for m in others])
            cons_flags = [(s.start, s.end) for s in subs if s.end > s.start]
            cons_items.append((cons_flags, tr["swaps"], texts[cid], c_restored, original))
        per_copy = (time.perf_counter() - t) / max(len(spun), 1)
        timings["trace_and_restore_per_copy"] = round(per_copy, 4)
    src_f1, src_gain = _flag_and_gain(src_items)
    cons_f1, cons_gain = _flag_and_gain(cons_items)

    figures: dict[str, Any] = {
        "corpus": {
            "documents": len(records),
            "originals": len(records) - len(truth),
            "planted_copies": len(truth),
            "sources_with_copies": len({t["source"] for t in truth.values()}),
            "seed": seed,
            "build_seconds": round(build_s, 1),
        },
        "recall": {"unspin": _recall_by(truth, found), "datasketch": _recall_by(truth, ds_found)},
        "pair_precision": {
            "unspin": round(good / len(pred), 4) if pred else None,
            "unspin_pairs": len(pred),
            "unspin_natural_duplicate_pairs": natural,
            "datasketch": round(ds_good / len(ds_pred), 4) if ds_pred else None,
            "datasketch_pairs": len(ds_pred),
            "datasketch_natural_duplicate_pairs": ds_natural,
        },
        "source_role_accuracy": round(role_ok / max(n_sources, 1), 4),
        "time_seconds": timings,
        "time_ratio_vs_datasketch": round(timings["unspin_workers_1"] / timings["datasketch"], 3),
        "trace": {
            "spun_copies": len(spun),
            "source_ranked_first": round(top1 / max(len(spun), 1), 4),
        },
        "restore_with_source": {"flags": src_f1, "restoration_gain": src_gain},
        "restore_by_consensus": {"flags": cons_f1, "restoration_gain": cons_gain},
        "datasketch_components": len(set(ds_comp.values())),
    }
    (out_dir / "figures.json").write_text(json.dumps(figures, indent=2))
    _write_report(out_dir, figures)
    return figures


def _documents(records: list[dict[str, Any]]) -> Iterator[Any]:
    from unspin.types import Document

    for r in records:
        yield Document(r["id"], r["text"], {"date": r["date"]} if r.get("date") else {})


def _write_report(out: Path, f: dict[str, Any]) -> None:
    from unspin.bench.report import _plt

    plt = _plt()
    rates = [f"spun {r}" for r in RATES]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, style in (("unspin", "o-"), ("datasketch", "s--")):
        ax.plot(RATES, [f["recall"][name][r]["recall"] for r in rates], style, label=name)
    ax.set(xlabel="spin rate", ylabel="recall of spun copies", ylim=(0, 1.05))
    ax.set_title("Spun copies found, by spin rate")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall.png", dpi=110)
    plt.close(fig)
    lines = [
        "# Dedup benchmark: unspin vs datasketch MinHashLSH",
        "",
        f"Corpus: {f['corpus']['documents']:,} documents ({f['corpus']['originals']:,} from the "
        f"corpora, {f['corpus']['planted_copies']:,} planted copies of "
        f"{f['corpus']['sources_with_copies']} of them), seed {f['corpus']['seed']}.",
        "",
        "| copies | n | unspin recall | datasketch recall |",
        "|---|---|---|---|",
    ]
    for k, v in f["recall"]["unspin"].items():
        ds = f["recall"]["datasketch"][k]["recall"]
        lines.append(f"| {k} | {v['copies']} | {v['recall']:.3f} | {ds:.3f} |")
    p = f["pair_precision"]
    lines += [
        "",
        f"Pair precision: unspin {p['unspin']} ({p['unspin_pairs']:,} pairs), datasketch "
        f"{p['datasketch']} ({p['datasketch_pairs']:,} candidate pairs).",
        f"Likely source marked right: {f['source_role_accuracy']:.3f} of planted clusters.",
        "",
        "| time (s) | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in f["time_seconds"].items()],
        "",
        f"unspin (1 worker) / datasketch: {f['time_ratio_vs_datasketch']}",
        "",
        f"Trace: source ranked first for {f['trace']['source_ranked_first']:.3f} of "
        f"{f['trace']['spun_copies']} spun copies.",
        f"Restore with the source indexed: flag F1 {f['restore_with_source']['flags']['f1']}, "
        f"restoration gain {f['restore_with_source']['restoration_gain']}.",
        f"Consensus restoration (clusters only): flag F1 "
        f"{f['restore_by_consensus']['flags']['f1']}, restoration gain "
        f"{f['restore_by_consensus']['restoration_gain']}.",
        "",
        "![recall by rate](recall.png)",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- scale


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def _sentence_pool(paths: Sequence[str]) -> list[str]:
    """Sentences of 8-60 words from the corpora (a cheap split: this only feeds a generator)."""
    out: list[str] = []
    for path in paths:
        for doc in _read_jsonl(path):
            for para in doc["text"].split("\n\n"):
                for s in _SENTENCE_END.split(para):
                    if 8 <= len(s.split()) <= 60:
                        out.append(s.strip())
    return out


def synthetic_corpus(
    paths: Sequence[str], n: int, *, seed: int = 0, spun_pool: int = 5000
) -> Iterator[dict[str, Any]]:
    """Stream n synthetic documents: shuffled corpus sentences, a fifth of them in copy pairs.

    Of every ten documents, eight are 6-18 random sentences of the corpora; the ninth is a
    family original drawn from a pool of `spun_pool` sentences that were spun in advance (two
    simulator variants each, rate 0.3), and the tenth is its copy: exact, or spun sentence by
    sentence. Ids say what a document is: "syn<k>", "fam<k>", "fam<k>~exact" / "fam<k>~spun".
    Cheap per document (no spinning in the stream), so millions are generated in minutes.
    """
    from unspin.spin import spin

    pool = _sentence_pool(paths)
    rng = random.Random(seed)
    rng.shuffle(pool)
    family = pool[:spun_pool]
    variants = [
        [spin(s, profile, rate=0.3, seed=seed + i).text for i, s in enumerate(family)]
        for profile in ("spinbot", "bestspinner")
    ]
    for k in range(n):
        r = random.Random(f"{seed}:{k}")
        slot = k % 10
        if slot < 8:
            picks = [pool[r.randrange(len(pool))] for _ in range(r.randint(6, 18))]
            yield {"id": f"syn{k}", "text": " ".join(picks)}
        elif slot == 8:
            idx = [r.randrange(len(family)) for _ in range(r.randint(6, 12))]
            yield {"id": f"fam{k}", "text": " ".join(family[i] for i in idx)}
        else:
            src = random.Random(f"{seed}:{k - 1}")
            idx = [src.randrange(len(family)) for _ in range(src.randint(6, 12))]
            if r.random() < 0.25:
                yield {"id": f"fam{k - 1}~exact", "text": " ".join(family[i] for i in idx)}
            else:
                v = variants[r.randrange(2)]
                yield {"id": f"fam{k - 1}~spun", "text": " ".join(v[i] for i in idx)}


class _PeakRss:
    """Samples the summed RSS of a process and all its descendants (Linux /proc)."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        import threading

        self.pid = pid
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children[ppid].append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(self._rss(p) for p in self._tree()))
            self._stop.wait(self.every)

    def stop(self) -> int:
        """Stop sampling; the peak in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak


def run_scale_bench(
    corpus: Sequence[str],
    out: str | os.PathLike[str],
    *,
    sizes: Sequence[int] = (10_000, 100_000, 1_000_000),
    seed: int = 0,
    workers: int = 2,
    engine: str = "local",
) -> dict[str, Any]:
    """`unspin dedup` on synthetic corpora of growing size: wall time, peak RSS, recall.

    Each corpus is generated to `out/syn-<n>.jsonl` first (not timed), then deduplicated by the
    CLI (`--engine engine`) in a child process whose whole process tree (a Spark JVM included)
    is sampled for memory. Figures are appended to `out/scale.json` after each size (keyed by
    size, and engine when not local), so a long run reports as it goes.
    """
    import subprocess
    import sys

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "scale.json"
    results: dict[str, Any] = (
        json.loads(results_path.read_text()) if results_path.exists() else {}
    )
    # The corpus of n documents is the first n of any larger one: generate the largest once.
    largest = out_dir / f"syn-{max(sizes)}.jsonl"
    gen_s = None
    if not largest.exists():
        t = time.perf_counter()
        tmp = largest.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for rec in synthetic_corpus(corpus, max(sizes), seed=seed):
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(tmp, largest)
        gen_s = time.perf_counter() - t
    for n in sorted(sizes):
        name = str(n) if engine == "local" else f"{n}-{engine}"
        if name in results:
            continue
        path = out_dir / f"syn-{n}.jsonl"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with open(largest, encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
                for line in itertools.islice(src, n):
                    dst.write(line)
            os.replace(tmp, path)
        clusters = out_dir / f"clusters-{name}.jsonl"
        cmd = [sys.executable, "-m", "unspin.cli", "dedup", str(path), "--output", str(clusters),
               "--workers", str(workers), "--engine", engine]  # fmt: skip
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        monitor = _PeakRss(proc.pid)
        _, err = proc.communicate()
        peak = monitor.stop()
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"dedup of {path} failed: {err.strip()[-500:]}")
        rows = {}
        for line in open(clusters, encoding="utf-8"):
            r = json.loads(line)
            rows[r["id"]] = r
        copies = [i for i in rows if "~" in i]
        found = sum(rows[c]["cluster"] == rows[c.split("~")[0]]["cluster"] for c in copies)
        false_copies = sum(
            1 for i, r in rows.items() if r["role"] == "copy" and "~" not in i
            and r["cluster"].split("~")[0] != i.split("~")[0]
        )  # fmt: skip
        results[name] = {
            "engine": engine,
            "documents": len(rows),
            "wall_seconds": round(wall, 1),
            "seconds_per_1k_docs": round(1000 * wall / max(len(rows), 1), 2),
            "peak_rss_mb": round(peak / 2**20),
            "planted_copies": len(copies),
            "copy_recall": round(found / max(len(copies), 1), 4),
            "unplanted_copies": false_copies,
            "generation_seconds_largest": round(gen_s, 1) if gen_s is not None else None,
            "workers": workers,
            "summary": err.strip().splitlines()[-1] if err.strip() else "",
        }
        results_path.write_text(json.dumps(results, indent=2))
    return results
