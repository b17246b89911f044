"""Fuzzing the HTTP API with hypothesis: any body, any field, any query answers 200 or a 4xx
with a one-line JSON reason, never a 5xx; user text comes back as data; and no request can make
the server open a file it names.

A stand-in model (tests/web_stub.py) over the real lexicon and language model keeps this quick
and independent of the trained model file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web_stub import stub_model
from web_texts import SPUN

from unspin.web import create_app

FUZZ = settings(
    max_examples=int(os.environ.get("UNSPIN_FUZZ_EXAMPLES", 60)),  # more: a deeper run
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SCAN_KEYS = {"id", "spin_probability", "verdict", "reason", "language", "words", "flags",
             "restored", "evidence", "source_id"}  # fmt: skip
ENDPOINTS = ["/api/scan", "/api/restore", "/api/trace", "/api/extract"]

ANY_TEXT = st.text(max_size=400)  # lone surrogates included: JSON can carry them escaped
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(ANY_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(model=stub_model(), max_body_bytes=20_000, max_text_chars=2_000)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def check_answer(response: Any, path: str) -> dict[str, Any]:
    """Never a 5xx; always JSON; errors carry a one-line reason."""
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    got = response.json()
    if response.status_code >= 400:
        assert response.status_code in (409, 413, 422), response.status_code
        reason = got.get("message") or got["detail"]
        assert isinstance(reason, str) and "\n" not in reason
    return got


@st.composite
def request_body(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A body of any shape: raw bytes, any JSON, or an object with odd or wrong-typed fields;
    and the text it carries when it is a well-formed request."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.binary(max_size=300)), None
    if kind == 1:
        return json.dumps(draw(JSON_VALUES)).encode(), None
    body: dict[str, Any] = {}
    text = draw(st.one_of(ANY_TEXT, st.sampled_from([SPUN, "x" * 2001, "word " * 500])))
    body["text" if kind != 2 else "html"] = text if kind != 3 else draw(JSON_VALUES)
    if draw(st.booleans()):
        body["id"] = draw(st.one_of(ANY_TEXT, JSON_VALUES))
    if draw(st.booleans()):
        body["fast"] = draw(st.one_of(st.booleans(), st.none(), JSON_VALUES))
    for key, value in draw(st.dictionaries(ANY_TEXT, JSON_VALUES, max_size=2)).items():
        body.setdefault(key, value)
    return json.dumps(body).encode(), text if kind in (4, 5) else None


@FUZZ
@given(
    body=request_body(),
    path=st.sampled_from(ENDPOINTS),
    query=st.sampled_from(["", "?words=1", "?diff=1", "?words=1&diff=true", "?words=maybe"]),
    ctype=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=x"]),
)
def test_any_request_answers_without_a_server_error(
    client: TestClient, body: tuple[bytes, str | None], path: str, query: str, ctype: str
) -> None:
    raw, text = body
    headers = {"content-type": ctype} if ctype else {}
    response = client.post(path + query, content=raw, headers=headers)
    got = check_answer(response, path)
    if response.status_code == 200 and path == "/api/scan":
        assert SCAN_KEYS <= set(got)
        assert got["verdict"] in ("spun", "clean", "abstain")
        if text is not None:  # offsets index the text as sent
            assert len(got["restored"]) == len(text) or got["flags"]
            for flag in got["flags"]:
                assert 0 <= flag["start"] < flag["end"] <= len(text)


@FUZZ
@given(text=ANY_TEXT)
def test_any_text_is_scanned_or_refused_politely(client: TestClient, text: str) -> None:
    for path in ("/api/scan?words=1&diff=1", "/api/restore?diff=1"):
        got = check_answer(client.post(path, json={"text": text}), path)
        assert len(got["restored"]) == len(text)  # offsets index the text as sent


SCRIPTS = [
    '<script>alert("owned")</script>',
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(document.cookie)",
    "</textarea><script>fetch('/api/info')</script>",
]


@pytest.mark.parametrize("payload", SCRIPTS)
def test_a_script_pasted_as_text_comes_back_as_text(client: TestClient, payload: str) -> None:
    text = f"{payload} The crowd at the harbour cheered when the old boats sailed past. {payload}"
    response = client.post("/api/scan?diff=1", json={"text": text, "id": payload})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    got = response.json()
    assert got["id"] == payload and payload in got["restored"]  # data, unchanged, not markup
    assert "".join(chunk["old"] for chunk in got["diff"]) == text


# --------------------------------------------------------------------------- server files

_OPENED: list[str] | None = None  # files opened while a request is served, when watching
_HOOKED = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _OPENED is not None and event in ("open", "os.listdir", "os.scandir", "sqlite3.connect"):
        if args and isinstance(args[0], str | bytes | Path):
            _OPENED.append(str(args[0]))


@contextmanager
def files_opened() -> Iterator[list[str]]:
    """Every path this process opens inside the block (an audit hook; hooks cannot be removed,
    so one is installed once and switched on and off)."""
    global _OPENED, _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


def test_no_request_makes_the_server_read_a_file_it_names(
    client: TestClient, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("the server's own secret file", encoding="utf-8")
    model = tmp_path / "evil-model.pkl"
    model.write_bytes(b"not a model")
    named = [str(secret), f"file://{secret}", "/etc/passwd", "../../../../etc/passwd"]
    bodies = [{"text": name, "id": name} for name in named]
    bodies += [
        {"text": SPUN, "model": str(model), "index": str(secret), "path": str(secret)},
        {"html": f'<iframe src="file://{secret}"></iframe><img src="{secret}">'
                 f'<link rel="stylesheet" href="{secret}"><p>{SPUN}</p>'},  # fmt: skip
    ]
    with files_opened() as opened:
        for body in bodies:
            for path in ENDPOINTS:
                response = client.post(path, json=body)
                got = check_answer(response, path)
                if response.status_code == 200:
                    assert "server's own secret" not in json.dumps(got)
        for path in (f"/static/..%2f..%2f{secret}", "/static/../app.py", f"/{secret}",
                     "/static/%2e%2e/%2e%2e/app.py", "/static//etc/passwd"):  # fmt: skip
            response = client.get(path)
            assert response.status_code == 404, path
    touched = [p for p in opened if "secret" in p or "evil-model" in p or "passwd" in p]
    assert touched == [], touched
