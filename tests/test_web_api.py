"""HTTP API tests (`unspin serve`): contract JSON, limits, error codes, and user text as data.

A stand-in model (tests/web_stub.py) runs over the real lexicon and language model, so these
tests need no trained model file.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web_stub import stub_model
from web_texts import SOURCE, SPUN, SPUN_COPY

import unspin.api
from unspin import cli
from unspin.detect.features import FEATURE_NAMES
from unspin.detect.model import MODEL_FORMAT, SpinModel
from unspin.web import create_app
from unspin.web.app import STATIC_DIR, BodySizeLimit
from unspin.web.evidence import scan_with_word_probabilities, word_diff_chunks

# Written for these tests: a plain paragraph (its spun version is web_texts.SPUN).
CLEAN = (
    "Our small village school will shut its doors in July after one hundred years. Parents said "
    "the decision came as a shock, and many children will now travel by bus to a larger school "
    "in the next town."
)
SCRIPT = '<script>alert("owned")</script> The huge crowd <img src=x onerror=alert(1)> cheered.'


@pytest.fixture(scope="module")
def model() -> SpinModel:
    return stub_model()


@pytest.fixture(scope="module")
def client(model: SpinModel) -> Iterator[TestClient]:
    with TestClient(create_app(model=model)) as c:
        yield c


def post(client: TestClient, path: str, body: Any) -> Any:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- contract JSON


def test_scan_answers_the_api_json(client: TestClient, model: SpinModel) -> None:
    got = post(client, "/api/scan", {"text": SPUN})
    assert got == unspin.api.scan(SPUN, model=model).to_dict()
    assert got["verdict"] == "spun"
    assert got["flags"], "the spun paragraph should have flagged spans"
    assert "word_probabilities" not in got and "diff" not in got  # only when asked for


def test_scan_id_and_fast_mode_follow_the_request(client: TestClient, model: SpinModel) -> None:
    got = post(client, "/api/scan", {"text": SPUN, "id": "letter-7", "fast": True})
    assert got == unspin.api.scan(SPUN, doc_id="letter-7", fast=True, model=model).to_dict()


def test_scan_answers_the_cli_json(
    client: TestClient, model: SpinModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The stand-in model saved like a trained one, so the CLI can load it with --model.
    model.meta["features"] = list(FEATURE_NAMES)
    model_path = tmp_path / "stub.pkl"
    model_path.write_bytes(pickle.dumps({"format": MODEL_FORMAT, "model": model}))
    doc = tmp_path / "school.txt"
    doc.write_text(SPUN, encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        cli.main(["scan", str(doc), "--format", "json", "--model", str(model_path)])
    assert done.value.code == 0
    (from_cli,) = json.loads(capsys.readouterr().out)
    from_web = post(client, "/api/scan", {"text": SPUN, "id": from_cli["id"]})
    assert from_web == from_cli


def test_restore_answers_the_restored_text(client: TestClient, model: SpinModel) -> None:
    got = post(client, "/api/restore", {"text": SPUN})
    assert got == {"id": "doc", "restored": unspin.api.restore(SPUN, model=model)}
    assert got["restored"] != SPUN


def test_scan_with_words_tints_every_word(client: TestClient, model: SpinModel) -> None:
    got = post(client, "/api/scan?words=1", {"text": SPUN})
    words = got.pop("word_probabilities")
    assert got == unspin.api.scan(SPUN, model=model).to_dict()  # the rest is unchanged
    assert [SPUN[w["start"] : w["end"]] for w in words] == re.findall(r"[A-Za-z]+", SPUN)
    assert all(0.0 <= w["p"] <= 1.0 for w in words)
    # Every flagged span is made of words at or over the flag threshold.
    for flag in got["flags"]:
        inside = [w["p"] for w in words if flag["start"] <= w["start"] < flag["end"]]
        assert inside and max(inside) == pytest.approx(flag["probability"], abs=1e-4)
        assert max(inside) >= model.flag_threshold


def test_word_probabilities_match_the_scan_flags(model: SpinModel) -> None:
    result, words = scan_with_word_probabilities(CLEAN, model=model)
    assert result.to_dict() == unspin.api.scan(CLEAN, model=model).to_dict()
    assert len(words) == result.words
    flagged_words = {(w.start, w.end) for w in words if w.p >= model.flag_threshold}
    flag_spans = {(f.start, f.end) for f in result.flags}
    for start, end in flagged_words:
        assert any(s <= start and end <= e for s, e in flag_spans)


def test_scan_with_diff_rebuilds_both_texts(client: TestClient) -> None:
    got = post(client, "/api/scan?diff=1", {"text": SPUN})
    chunks = got["diff"]
    assert "".join(c["old"] for c in chunks) == SPUN
    assert "".join(c["new"] for c in chunks) == got["restored"]
    changed = [c for c in chunks if c["changed"]]
    assert changed and all(c["old"] != c["new"] for c in changed)
    restored = post(client, "/api/restore?diff=1", {"text": SPUN})
    assert restored["diff"] == chunks


def test_word_diff_merges_changes_separated_by_spaces() -> None:
    chunks = word_diff_chunks(
        "Prices rose as a result of the storm.", "Prices rose due to the storm."
    )
    assert [(c.old, c.new) for c in chunks if c.changed] == [("as a result of", "due to")]
    assert word_diff_chunks("same text", "same text")[0].changed is False


def test_abstaining_text_has_no_word_probabilities(client: TestClient) -> None:
    got = post(client, "/api/scan?words=1", {"text": "Bonjour à tous."})
    assert got["verdict"] == "abstain" and got["reason"]
    assert got["word_probabilities"] == []


# --------------------------------------------------------------------------- user text is data


def test_markup_comes_back_as_text(client: TestClient) -> None:
    response = client.post("/api/scan?words=1&diff=1", json={"text": SCRIPT})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    got = response.json()
    # Offsets index the text as sent: tags are characters in it, not something removed.
    assert got["restored"].startswith("<script>alert(")
    for item in got["flags"] + got["word_probabilities"]:
        assert SCRIPT[item["start"] : item["end"]] in SCRIPT
    assert "".join(c["old"] for c in got["diff"]) == SCRIPT


def test_page_is_served_with_a_strict_content_security_policy(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200


def test_page_script_never_parses_text_as_html() -> None:
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


# --------------------------------------------------------------------------- error codes


def test_body_over_the_limit_is_413(model: SpinModel) -> None:
    with TestClient(create_app(model=model, max_body_bytes=1_000)) as small:
        response = small.post("/api/scan", json={"text": "word " * 400})
        assert response.status_code == 413
        assert "1,000 bytes" in response.json()["detail"]
        # Without a Content-Length (chunked upload) the limit holds as the body streams in.
        chunks = (b'{"text": "' + b"a" * 300, b"a" * 300, b"a" * 300, b"a" * 300 + b'"}')
        response = small.post(
            "/api/scan", content=iter(chunks), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert small.post("/api/scan", json={"text": SPUN[:200]}).status_code == 200


def test_413_is_answered_before_the_body_is_read() -> None:
    reads: list[str] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - not reached
        raise AssertionError("the app should not run")

    async def receive() -> dict[str, Any]:
        reads.append("read")
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/scan",
        "headers": [(b"content-length", b"5000000000")],
    }
    asyncio.run(BodySizeLimit(app, max_bytes=2_000_000)(scope, receive, send))
    assert sent[0]["status"] == 413
    assert reads == []


def test_text_over_the_length_cap_is_413(model: SpinModel) -> None:
    with TestClient(create_app(model=model, max_text_chars=100)) as small:
        response = small.post("/api/scan", json={"text": "x" * 101})
        assert response.status_code == 413
        assert "101 characters" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"text": "unterminated', "body"),
        (b"", "body"),
        (b"[1, 2]", "body"),
        (b"{}", "text"),
        (b'{"txt": "typo in the field name"}', "text"),
        (b'{"text": 42}', "text"),
        (b'{"text": null}', "text"),
        (b'{"text": "A fine text.", "fast": "yes"}', "fast"),  # no "truthy" strings
        (b'{"text": "A fine text.", "fast": 1}', "fast"),
    ],
)
def test_malformed_json_or_missing_field_is_422(
    client: TestClient, body: bytes, where: str
) -> None:
    for path in ("/api/scan", "/api/restore", "/api/trace"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, body)
        got = response.json()
        assert got["detail"].startswith("invalid request") and "\n" not in got["detail"]
        assert got["message"] == got["detail"]
        assert any(where in p["loc"] for p in got["errors"])
        assert "input" not in response.text  # the user's body is not echoed back


def test_a_body_json_cannot_read_says_why_in_one_line(client: TestClient) -> None:
    deep = b'{"text": "A fine text.", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for body in (deep, b'{"text": "A fine text.", "n": ' + b"7" * 5000 + b"}"):
        response = client.post(
            "/api/scan", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert "nested too deeply, or a number too long" in response.json()["detail"]


def test_the_page_answers_head(client: TestClient) -> None:
    assert client.head("/").status_code == 200


def test_trace_without_an_index_is_409(client: TestClient) -> None:
    response = client.post("/api/trace", json={"text": SPUN})
    assert response.status_code == 409
    assert "--index" in response.json()["detail"]


@pytest.fixture(scope="module")
def source_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A source index holding SOURCE (and an unrelated text)."""
    from unspin.api import Index
    from unspin.types import Document

    path = tmp_path_factory.mktemp("index") / "sources.idx"
    with Index(path, create=True) as index:
        index.add([Document("kestrel-bay", SOURCE), Document("other", CLEAN)])
    return path


@pytest.fixture(scope="module")
def indexed(model: SpinModel, source_index: Path) -> Iterator[TestClient]:
    with TestClient(create_app(index_path=source_index, model=model)) as c:
        yield c


def test_trace_with_an_index_finds_the_source(indexed: TestClient, source_index: Path) -> None:
    assert indexed.get("/api/info").json()["trace"] is True
    got = post(indexed, "/api/trace", {"text": SPUN_COPY, "id": "copy"})
    assert got == unspin.api.trace(SPUN_COPY, index=source_index, doc_id="copy").to_dict()
    (match,) = got["matches"]
    assert match["source_id"] == "kestrel-bay"
    pairs = {(s["text"], s["source_text"]) for s in match["substitutions"]}
    assert {("enormous", "huge"), ("stated", "said"), ("additional", "extra")} <= pairs
    for sub in match["substitutions"]:
        assert SPUN_COPY[sub["start"] : sub["end"]] == sub["text"]


def test_with_an_index_a_found_source_decides_scan_and_restore(
    indexed: TestClient, model: SpinModel, source_index: Path
) -> None:
    expected = unspin.api.scan(SPUN_COPY, model=model, index=source_index).to_dict()
    assert expected["evidence"] == "source" and expected["source_id"] == "kestrel-bay"
    assert post(indexed, "/api/scan", {"text": SPUN_COPY}) == expected
    with_words = post(indexed, "/api/scan?words=1", {"text": SPUN_COPY})
    assert len(with_words.pop("word_probabilities")) == expected["words"]  # tinted by the model
    assert with_words == expected
    restored = post(indexed, "/api/restore", {"text": SPUN_COPY})["restored"]
    assert restored == SOURCE == expected["restored"]
    # No source for this text: the model decides, as without an index.
    without_source = unspin.api.scan(SPUN, model=model).to_dict()
    assert post(indexed, "/api/scan", {"text": SPUN}) == without_source


def test_an_index_that_cannot_be_opened_is_503(model: SpinModel, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.idx"
    bogus.write_bytes(b"this is not a database")
    with TestClient(create_app(index_path=bogus, model=model)) as traced:
        response = traced.post("/api/trace", json={"text": SPUN})
        assert response.status_code == 503
        assert "cannot be opened" in response.json()["detail"]


def test_trace_without_tracing_built_in_is_501(
    model: SpinModel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import unspin.web.app as web_app

    monkeypatch.setattr(web_app._Tracer, "_index_class", staticmethod(lambda: None))
    with TestClient(create_app(index_path=tmp_path / "x.idx", model=model)) as traced:
        assert traced.get("/api/info").json()["trace"] is False
        response = traced.post("/api/trace", json={"text": SPUN})
        assert response.status_code == 501
        assert "not available" in response.json()["detail"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "\u0000\u0000 nul bytes \u0000",
        "\ud800 a lone surrogate in the middle \udfff of text",
        "Emoji 🎉🎉 before the crowd 👍 cheered at the harbour festival last night.",
        "x" * 5000,
        "אבג דהו " * 20,
        "Bonjour à tous, merci d'être venus si nombreux ce soir.",
        "1 2 3 4 5 6 7 8 9 10 11 12",
        "... --- !!! ??? ;;; ''' \"\"\"",
        SCRIPT,
    ],
)
def test_odd_user_input_never_yields_a_server_error(client: TestClient, text: str) -> None:
    body = json.dumps({"text": text})  # escapes lone surrogates as \ud800
    for path in ("/api/scan?words=1&diff=1", "/api/restore?diff=1"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 200, (path, response.text)
        assert len(response.json()["restored"]) == len(text)  # nothing to restore here


def test_a_missing_model_is_503_not_500(tmp_path: Path) -> None:
    with TestClient(create_app(model=str(tmp_path / "no-model.pkl"))) as bare:
        response = bare.post("/api/scan", json={"text": SPUN})
        assert response.status_code == 503
        assert "no detector model" in response.json()["detail"]


class _SlowWordModel:
    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        time.sleep(1.0)
        return np.tile([0.9, 0.1], (len(matrix), 1))


def test_scan_over_the_time_cap_is_503(model: SpinModel) -> None:
    slow = SpinModel(_SlowWordModel(), model.doc_model)
    with TestClient(create_app(model=slow, time_limit_s=0.2)) as capped:
        started = time.monotonic()
        response = capped.post("/api/scan", json={"text": SPUN})
        assert response.status_code == 503
        assert "longer than 0.2 s" in response.json()["detail"]
        assert time.monotonic() - started < 0.9  # the answer does not wait for the scan


# --------------------------------------------------------------------------- the rest


def test_extract_returns_the_main_text_of_a_page(client: TestClient) -> None:
    html = (
        "<html><head><script>var tracker = 1;</script></head><body>"
        '<nav><a href="/">Home</a> <a href="/news">News</a></nav>'
        f"<article><h1>School news</h1><p>{SPUN}</p></article></body></html>"
    )
    got = post(client, "/api/extract", {"html": html})
    assert "little hamlet school" in got["text"]
    assert "tracker" not in got["text"]


def test_openapi_docs_describe_the_api(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    for path in ("/api/scan", "/api/restore", "/api/trace"):
        assert "post" in schema["paths"][path]
    assert "413" in schema["paths"]["/api/scan"]["post"]["responses"]


def test_info_reports_limits(client: TestClient) -> None:
    got = client.get("/api/info").json()
    assert got["max_body_bytes"] == 2_000_000
    assert got["index"] is False and got["trace"] is False


def test_serve_command_starts_uvicorn_with_the_app(
    monkeypatch: pytest.MonkeyPatch,
    model: SpinModel,
    source_index: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import uvicorn

    started: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[Any]) -> None:
        started.update(app=server.config.app, port=sockets[0].getsockname()[1])
        sockets[0].close()

    monkeypatch.setattr(cli, "_load_model", lambda path: model)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--port", "0", "--index", str(source_index)])
    assert done.value.code == 0
    # --port 0: the port the system chose is the one announced
    assert started["port"] > 0
    assert f"serving on http://127.0.0.1:{started['port']}/" in capsys.readouterr().err
    with TestClient(started["app"]) as served:
        assert served.get("/api/info").json()["index"] is True


def test_serve_on_a_port_in_use_exits_2_before_announcing(
    monkeypatch: pytest.MonkeyPatch, model: SpinModel, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    monkeypatch.setattr(cli, "_load_model", lambda path: model)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as done:
            cli.main(["serve", "--port", str(port)])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"unspin: cannot listen on 127.0.0.1:{port}: Address already in use"]


def test_serve_with_a_missing_index_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--index", "/no/such/index"])
    assert done.value.code == 2
    assert "no such index" in capsys.readouterr().err


def test_warm_up_scans_once_in_the_background(
    model: SpinModel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scanned: list[str] = []
    real_scan = unspin.api.scan
    monkeypatch.setattr(
        unspin.api, "scan", lambda text, **kw: scanned.append(text) or real_scan(text, **kw)
    )
    with TestClient(create_app(model=model, warm_up=True)) as warm:
        deadline = time.monotonic() + 30
        while not scanned and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(scanned) == 1
        assert warm.post("/api/scan", json={"text": SPUN}).status_code == 200
    # Without a model the warm-up gives up quietly; requests then say what is missing.
    with TestClient(create_app(model=str(tmp_path / "none.pkl"), warm_up=True)) as bare:
        assert bare.post("/api/scan", json={"text": SPUN}).status_code == 503


def test_serve_with_a_file_that_is_not_an_index_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.idx"
    bogus.write_text("just some notes", encoding="utf-8")
    with pytest.raises(SystemExit) as done:
        cli.main(["serve", "--index", str(bogus)])
    assert done.value.code == 2
    assert "not an unspin index" in capsys.readouterr().err


def _stub_file(model: SpinModel, tmp_path: Path) -> Path:
    model.meta["features"] = list(FEATURE_NAMES)
    path = tmp_path / "stub.pkl"
    path.write_bytes(pickle.dumps({"format": MODEL_FORMAT, "model": model}))
    return path


def test_serve_workers_build_each_app_from_the_command_line_settings(
    monkeypatch: pytest.MonkeyPatch, model: SpinModel, source_index: Path, tmp_path: Path
) -> None:
    import uvicorn

    from unspin.web.app import SERVE_CONFIG_ENV, app_from_env

    monkeypatch.setenv(SERVE_CONFIG_ENV, "")  # restored after the test
    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    args = ["serve", "--workers", "3", "--index", str(source_index), "--fast"]
    args += ["--model", str(_stub_file(model, tmp_path)), "--max-body-bytes", "5000"]
    with pytest.raises(SystemExit) as done:
        cli.main(args)
    assert done.value.code == 0
    assert started["app"] == "unspin.web.app:app_from_env"
    assert started["factory"] is True and started["workers"] == 3
    with TestClient(app_from_env()) as served:  # what each worker process builds
        info = served.get("/api/info").json()
        assert info["index"] is True and info["fast"] is True
        assert info["max_body_bytes"] == 5000
        got = post(served, "/api/scan", {"text": SPUN})
        assert got == unspin.api.scan(SPUN, fast=True, model=model).to_dict()


def test_serve_workers_answer_concurrent_requests(model: SpinModel, tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    cmd = [sys.executable, "-m", "unspin", "serve", "--workers", "2", "--port", str(port)]
    cmd += ["--model", str(_stub_file(model, tmp_path))]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/api/info", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        texts = [SPUN, CLEAN, SPUN_COPY, SOURCE]

        def ask(text: str) -> httpx.Response:
            return httpx.post(url + "/api/scan", json={"text": text}, timeout=120)

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(ask, texts))
        assert [a.status_code for a in answers] == [200] * 4
        expected = [unspin.api.scan(t, model=model).to_dict() for t in texts]
        assert [a.json() for a in answers] == expected
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) is not None
