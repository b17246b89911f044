"""A small load test of the HTTP API on loopback (the full one is `unspin bench load`).

Concurrent clients mix scans, restorations, script payloads, oversized and malformed bodies
against a real uvicorn server; no answer may be a 5xx or other than the contract's. The
in-process run uses the stand-in model (tests/web_stub.py); the command-line run needs the
shipped model and starts `unspin serve` as a child process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from web_stub import stub_model

from unspin.bench.load import MIX, build_requests, percentile, run_load_bench
from unspin.web import create_app

MODEL = Path(str(resources.files("unspin") / "data" / "model.pkl"))


def test_percentile_interpolates() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99.0


def test_the_request_mix_is_seeded_and_covers_every_kind() -> None:
    plan = build_requests(400, seed=3, max_body_bytes=5_000, max_text_chars=1_000)
    again = build_requests(400, seed=3, max_body_bytes=5_000, max_text_chars=1_000)
    assert plan == again
    kinds = Counter(r.kind for r in plan)
    assert set(kinds) == set(MIX)
    for r in plan:
        if r.kind == "oversized_body":
            assert len(r.body) > 5_000 and r.expect == 413
        if r.kind == "oversized_text":
            assert len(json.loads(r.body)["text"]) > 1_000 and r.expect == 413
        if r.kind in ("scan", "restore"):
            assert len(r.body) < 5_000 and r.expect == 200


def test_concurrent_mixed_load_gets_no_server_error(tmp_path: Path) -> None:
    app = create_app(model=stub_model(), max_body_bytes=50_000, max_text_chars=5_000)
    figures = run_load_bench(tmp_path, requests=150, concurrency=12, seed=1, sentences=2, app=app)
    assert figures["server_errors"] == 0 and figures["transport_errors"] == 0, figures
    assert figures["unexpected"] == 0, figures["problems"]
    assert figures["ok"] and figures["server_alive_after"]
    assert sum(figures["statuses"].values()) == 150
    for kind, statuses in figures["by_kind"].items():
        assert set(statuses) == {str(MIX[kind][1])}, (kind, statuses)
    lat = figures["latency"]
    assert 0 < lat["p50_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "server errors (5xx) | 0" in report and "p99" in report
    assert json.loads((tmp_path / "figures.json").read_text())["requests"] == 150


def test_a_server_over_its_time_limit_answers_503_not_500(tmp_path: Path) -> None:
    import numpy as np

    from unspin.detect.model import SpinModel

    base = stub_model()

    class Slow:
        def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
            time.sleep(0.4)
            return np.tile([0.9, 0.1], (len(matrix), 1))

    slow = SpinModel(Slow(), base.doc_model)
    app = create_app(model=slow, time_limit_s=0.3)
    figures = run_load_bench(None, requests=12, concurrency=6, seed=2, app=app)
    scans = {k: v for k, v in figures["by_kind"].items() if MIX[k][1] == 200}
    assert scans and all(set(v) <= {"503"} for v in scans.values()), figures["by_kind"]
    assert figures["statuses"].get("500") is None and figures["transport_errors"] == 0
    assert not figures["ok"]  # a 503 is a server error: the bench says so


@pytest.mark.skipif(not MODEL.exists(), reason="the shipped model is not built yet")
def test_bench_load_command_runs_unspin_serve(tmp_path: Path) -> None:
    out = tmp_path / "load"
    done = subprocess.run(
        [sys.executable, "-m", "unspin", "bench", "load", "--out", str(out), "--requests", "60",
         "--concurrency", "8", "--max-body-bytes", "20000", "--max-text-chars", "3000"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert figures["ok"] and figures["server_errors"] == 0 and figures["requests"] == 60
    assert figures["limits"]["max_body_bytes"] == 20_000
    assert figures["server_peak_rss_mb"] and figures["server_peak_rss_mb"] > 10
    assert (out / "report.md").exists() and (out / "server.log").exists()


def test_an_oversized_body_gets_its_413_and_the_connection_stays_usable() -> None:
    import httpx

    from unspin.bench.load import _ThreadServer

    server = _ThreadServer(create_app(model=stub_model(), max_body_bytes=100_000), "127.0.0.1")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            for _ in range(50):  # wait for the thread's server
                try:
                    client.get("/api/info")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            body = b'{"text": "' + b"x" * 150_000 + b'"}'
            headers = {"content-type": "application/json"}
            # Read to its end and dropped (up to twice the limit): the connection is kept.
            small = client.post("/api/scan", content=body, headers=headers)
            assert small.status_code == 413 and "connection" not in small.headers
            chunks = (body[k : k + 16_384] for k in range(0, len(body), 16_384))
            chunked = client.post("/api/scan", content=chunks, headers=headers)
            assert chunked.status_code == 413 and "connection" not in chunked.headers
            ok = client.post("/api/restore", json={"text": "The crowd cheered loudly."})
            assert ok.status_code == 200
            # Far over the limit: not read at all, and the answer says the connection closes.
            huge = client.post("/api/scan", content=b"x" * 1_000_000, headers=headers)
            assert huge.status_code == 413 and huge.headers["connection"] == "close"
            assert client.get("/api/info").status_code == 200  # a new connection, as it should
    finally:
        server.stop()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_server_memory_counts_every_process_below_the_server() -> None:
    from unspin.bench.load import _with_descendants

    sleeper = "import time; time.sleep(30)"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {sleeper!r}]); "
    code += "time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(100):  # until the grandchild exists
            found = _with_descendants(parent.pid)
            if len(found) >= 2:
                break
            time.sleep(0.1)
        assert found[0] == parent.pid and len(found) == 2
    finally:
        for pid in _with_descendants(parent.pid)[1:]:
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
