"""Load benchmark of the HTTP API (`unspin bench load`): many concurrent clients on loopback.

The server is `unspin serve` in a child process (or, for tests, a given app in a thread). C
clients (httpx, asyncio) fire N requests drawn with a fixed seed from a mix: scans and
restorations of short texts from the packaged examples, script payloads pasted as text, bodies
over the size limit, texts over the length limit, malformed JSON and wrong field types. Every
answer is checked against what the contract says it must be (200, 413 or 422; a script payload
comes back verbatim as JSON), and the figures are counts by kind and status, server errors
(5xx), transport errors, latency percentiles, throughput and the server's peak memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["MIX", "LoadRequest", "build_requests", "run_load_bench", "percentile"]

# Share of each kind of request in the mix, and the status the contract gives it.
MIX: dict[str, tuple[float, int]] = {
    "scan": (0.40, 200),
    "restore": (0.20, 200),
    "scan_words": (0.05, 200),  # ?words=1&diff=1: every word's probability and the diff
    "script": (0.07, 200),
    "oversized_body": (0.08, 413),
    "oversized_text": (0.08, 413),
    "malformed_json": (0.06, 422),
    "wrong_type": (0.06, 422),
}
SCRIPTS = (
    '<script>alert("owned")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(document.domain)>',
    "</textarea><script>fetch('/api/info')</script>",
)


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """One request of the run: its kind, path, body and the status it must get."""

    kind: str
    path: str
    body: bytes
    expect: int
    text: str | None = None  # for a script payload: what must come back verbatim


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _sentences() -> list[str]:
    """Sentences of the packaged example texts (clean, spun and the batch file)."""
    examples = resources.files("unspin") / "examples"
    texts = [
        (examples / "clean.txt").read_text(encoding="utf-8"),
        (examples / "spun.txt").read_text(encoding="utf-8"),
    ]
    for line in (examples / "batch.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            texts.append(json.loads(line)["text"])
    out = []
    for text in texts:
        out += [s.strip() + "." for s in text.replace("\n", " ").split(". ") if s.strip()]
    return out


def build_requests(
    n: int, *, seed: int = 0, max_body_bytes: int, max_text_chars: int, sentences: int = 4
) -> list[LoadRequest]:
    """`n` requests drawn from `MIX` with `seed`; texts are 1..2*`sentences` sentences."""
    rng = random.Random(seed)
    pool = _sentences()
    kinds = list(MIX)
    weights = [MIX[k][0] for k in kinds]

    def text() -> str:
        return " ".join(rng.choices(pool, k=rng.randint(1, 2 * sentences)))

    def body(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False).encode("utf-8")

    out = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        expect = MIX[kind][1]
        doc_id = f"load-{i}"
        if kind == "scan":
            payload = body({"text": text(), "id": doc_id})
            out.append(LoadRequest(kind, "/api/scan", payload, expect))
        elif kind == "restore":
            out.append(LoadRequest(kind, "/api/restore", body({"text": text()}), expect))
        elif kind == "scan_words":
            out.append(
                LoadRequest(kind, "/api/scan?words=1&diff=1", body({"text": text()}), expect)
            )
        elif kind == "script":
            payload = rng.choice(SCRIPTS)
            pasted = f"{payload} {text()} {payload}"
            path = rng.choice(["/api/scan?diff=1", "/api/restore?diff=1"])
            out.append(LoadRequest(kind, path, body({"text": pasted}), expect, pasted))
        elif kind == "oversized_body":
            filler = "x" * (max_body_bytes + rng.randint(1, 50_000))
            out.append(LoadRequest(kind, "/api/scan", body({"text": filler}), expect))
        elif kind == "oversized_text":
            # Under the body limit, over the text limit (when the limits allow one).
            size = max_text_chars + rng.randint(1, 1000)
            if size + 20 > max_body_bytes:
                expect = 413  # then it is an oversized body too: 413 all the same
            out.append(LoadRequest(kind, "/api/scan", body({"text": "y" * size}), expect))
        elif kind == "malformed_json":
            good = body({"text": text()})
            broken = rng.choice([good[: rng.randint(1, len(good) - 1)], b"\xff\xfe{", b"[1,"])
            path = rng.choice(["/api/scan", "/api/restore"])
            out.append(LoadRequest(kind, path, broken, expect))
        else:  # wrong_type
            bad = rng.choice([
                {"text": 42}, {"text": None}, {"txt": text()}, [text()],
                {"text": text(), "id": ["x"]}, {"text": text(), "fast": "fast"},
            ])  # fmt: skip
            path = rng.choice(["/api/scan", "/api/restore"])
            out.append(LoadRequest(kind, path, body(bad), expect))
    return out


# --------------------------------------------------------------------------- servers


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _peak_kb(pid: int) -> int | None:
    """VmHWM of a process (Linux), kB; None where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _with_descendants(pid: int) -> list[int]:
    """`pid` and every process below it (Linux /proc children lists; just `pid` elsewhere)."""
    found, queue = [], [pid]
    while queue:
        p = queue.pop()
        found.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                queue.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return found


class _ChildServer:
    """`unspin serve` in a child process on a free loopback port."""

    def __init__(self, host: str, args: Sequence[str], log: Path) -> None:
        self.host = host
        self.port = _free_port(host)
        self._log = log.open("wb")
        cmd = [sys.executable, "-m", "unspin", "serve", "--host", host, "--port", str(self.port)]
        self.proc = subprocess.Popen([*cmd, *args], stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def peak_rss_mb(self) -> float | None:
        """The server's peak resident memory (Linux), MB: with `--workers`, the sum of each
        process's own peak (the main one and its workers)."""
        peaks = [_peak_kb(pid) for pid in _with_descendants(self.proc.pid)]
        known = [p for p in peaks if p is not None]
        return sum(known) / 1024 if known else None

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class _ThreadServer:
    """A given ASGI app under uvicorn in a thread of this process (for tests)."""

    def __init__(self, app: Any, host: str) -> None:
        import uvicorn

        self.host = host
        self.port = _free_port(host)
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="unspin-load", daemon=True)
        self.thread.start()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def peak_rss_mb(self) -> float | None:
        return None  # shares this process: not the server's own figure

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


async def _wait_ready(base: str, server: Any, timeout: float) -> dict[str, Any]:
    """Poll /api/info until the server answers, then one scan so that the model is loaded
    before the clock starts."""
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        while True:
            if not server.alive:
                raise RuntimeError("the server exited before it was ready")
            try:
                info = (await client.get("/api/info")).json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within {timeout:g} s") from None
                await asyncio.sleep(0.2)
        warm = await client.post("/api/scan", json={"text": " ".join(_sentences()[:3])})
        info["warm_up_status"] = warm.status_code  # not counted: it loads the model
    return info


# --------------------------------------------------------------------------- the run


async def _fire(
    base: str, requests: list[LoadRequest], concurrency: int, timeout: float
) -> list[dict[str, Any]]:
    """Send every request with `concurrency` clients; one record per request, in order."""
    import httpx

    records: list[dict[str, Any]] = [{} for _ in requests]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(requests)):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            req = requests[i]
            started = time.perf_counter()
            record: dict[str, Any] = {"kind": req.kind, "expect": req.expect}
            try:
                response = await client.post(
                    req.path, content=req.body, headers={"content-type": "application/json"}
                )
                record["status"] = response.status_code
                record["problem"] = _check(req, response)
            except httpx.HTTPError as exc:
                record["status"] = None
                record["problem"] = f"transport error: {exc.__class__.__name__}: {exc}"
            record["latency_s"] = time.perf_counter() - started
            records[i] = record

    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
    return records


def _check(req: LoadRequest, response: Any) -> str | None:
    """What is wrong with an answer, or None: status, JSON, a script payload echoed as text."""
    if response.status_code != req.expect:
        return f"expected {req.expect}, got {response.status_code}: {response.text[:200]}"
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"not JSON: {response.headers.get('content-type')}"
    try:
        got = response.json()
    except ValueError:
        return "the answer is not valid JSON"
    if response.status_code >= 400:
        detail = got.get("message") or got.get("detail")
        if not isinstance(detail, str) or "\n" in detail:
            return "an error without a one-line reason"
        return None
    if req.text is not None:  # the diff's old side is the text exactly as it was sent
        sent_back = "".join(chunk["old"] for chunk in got.get("diff") or [])
        if sent_back != req.text:
            return "a script payload did not come back verbatim"
    return None


def _summary(records: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    latencies: dict[str, list[float]] = defaultdict(list)
    problems: Counter[str] = Counter()
    for r in records:
        by_kind[r["kind"]][str(r["status"])] += 1
        latencies[r["kind"]].append(r["latency_s"])
        latencies["all"].append(r["latency_s"])
        if r["problem"]:
            problems[r["problem"][:160]] += 1
    statuses = Counter(str(r["status"]) for r in records)
    server_errors = sum(1 for r in records if r["status"] is not None and r["status"] >= 500)
    transport_errors = sum(1 for r in records if r["status"] is None)

    def lat(values: list[float]) -> dict[str, float]:
        return {
            "p50_ms": round(percentile(values, 50) * 1000, 1),
            "p90_ms": round(percentile(values, 90) * 1000, 1),
            "p99_ms": round(percentile(values, 99) * 1000, 1),
            "max_ms": round(max(values, default=0.0) * 1000, 1),
        }

    scans = latencies["scan"] + latencies["restore"] + latencies["scan_words"]
    return {
        "requests": len(records),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(records) / wall_s, 1) if wall_s else None,
        "statuses": dict(sorted(statuses.items())),
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        "server_errors": server_errors,
        "transport_errors": transport_errors,
        "unexpected": sum(problems.values()),
        "problems": dict(problems.most_common(10)),
        "latency": lat(latencies["all"]),
        "latency_scan_restore": lat(scans),
        "latency_by_kind": {k: lat(v) for k, v in sorted(latencies.items()) if k != "all"},
    }


def run_load_bench(
    out: str | os.PathLike[str] | None,
    *,
    requests: int = 2000,
    concurrency: int = 50,
    seed: int = 0,
    sentences: int = 4,
    fast: bool = True,
    model: str | None = None,
    serve_args: Sequence[str] = (),
    app: Any = None,
    host: str = "127.0.0.1",
    request_timeout_s: float = 300.0,
    ready_timeout_s: float = 180.0,
) -> dict[str, Any]:
    """Run the load test and return its figures; with `out`, also write report.md and
    figures.json there. `app` serves that ASGI app in a thread instead of `unspin serve`.
    `ok` in the figures is True when no answer was a 5xx, none failed in transport and every
    one was what the contract says."""
    out_dir = Path(out) if out is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    if app is not None:
        server: Any = _ThreadServer(app, host)
        command = None
    else:
        args = [*(["--fast"] if fast else []), *(["--model", model] if model else []), *serve_args]
        log = out_dir / "server.log" if out_dir is not None else Path(os.devnull)
        server = _ChildServer(host, args, log)
        command = f"unspin serve {' '.join(args)}".strip()
    base = f"http://{host}:{server.port}"
    try:
        info = asyncio.run(_wait_ready(base, server, ready_timeout_s))
        plan = build_requests(
            requests,
            seed=seed,
            max_body_bytes=int(info["max_body_bytes"]),
            max_text_chars=int(info["max_text_chars"]),
            sentences=sentences,
        )
        started = time.perf_counter()
        records = asyncio.run(_fire(base, plan, concurrency, request_timeout_s))
        wall = time.perf_counter() - started
        alive = server.alive
        peak = server.peak_rss_mb()
    finally:
        server.stop()
    figures = _summary(records, wall)
    figures.update(
        concurrency=concurrency,
        seed=seed,
        fast=fast,
        server=command or "in-process app (thread)",
        server_alive_after=alive,
        server_peak_rss_mb=round(peak, 1) if peak is not None else None,
        limits={k: info[k] for k in ("max_body_bytes", "max_text_chars", "time_limit_s")},
        mean_words_scanned=_mean_words(plan),
        warm_up_status=info["warm_up_status"],
    )
    figures["ok"] = bool(
        alive and figures["server_errors"] == 0 and figures["transport_errors"] == 0
        and figures["unexpected"] == 0
    )  # fmt: skip
    if out_dir is not None:
        (out_dir / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
        (out_dir / "report.md").write_text(_report(figures), encoding="utf-8")
    return figures


def _mean_words(plan: list[LoadRequest]) -> float:
    words = [
        len(json.loads(r.body)["text"].split())
        for r in plan
        if r.kind in ("scan", "restore", "scan_words")
    ]
    return round(sum(words) / len(words), 1) if words else 0.0


def _report(f: dict[str, Any]) -> str:
    lat, scan = f["latency"], f["latency_scan_restore"]
    lines = [
        "# unspin load test",
        "",
        f"{f['requests']:,} requests from {f['concurrency']} concurrent clients on loopback "
        f"against `{f['server']}` (seed {f['seed']}); scanned texts average "
        f"{f['mean_words_scanned']} words. Result: **{'pass' if f['ok'] else 'FAIL'}**.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time | {f['wall_s']} s ({f['throughput_rps']} requests/s) |",
        f"| server errors (5xx) | {f['server_errors']} |",
        f"| transport errors | {f['transport_errors']} |",
        f"| answers other than the contract's | {f['unexpected']} |",
        f"| latency, all requests | p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, "
        f"max {lat['max_ms']} ms |",
        f"| latency, scan and restore | p50 {scan['p50_ms']} ms, p99 {scan['p99_ms']} ms, "
        f"max {scan['max_ms']} ms |",
        f"| server peak memory (all its processes) | {f['server_peak_rss_mb']} MB |",
        f"| server alive after | {f['server_alive_after']} |",
        "",
        "| kind | expected | answers by status | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for kind, statuses in f["by_kind"].items():
        k = f["latency_by_kind"][kind]
        got = ", ".join(f"{s}: {n}" for s, n in statuses.items())
        lines.append(f"| {kind} | {MIX[kind][1]} | {got} | {k['p50_ms']} | {k['p99_ms']} |")
    if f["problems"]:
        lines += ["", "Problems:", ""] + [f"- {n} × {p}" for p, n in f["problems"].items()]
    lines += ["", f"Limits: {json.dumps(f['limits'])}.", ""]
    return "\n".join(lines)
