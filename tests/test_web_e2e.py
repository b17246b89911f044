"""End to end: the page in real headless Chromium (Debian's, driven by Playwright's Python API).

A uvicorn server runs the app in a thread on a free port with the stand-in model of
tests/web_stub.py. `UNSPIN_SCREENSHOT=docs/screenshot.png` also writes the README screenshot
(with the shipped model, or the one at `UNSPIN_SCREENSHOT_MODEL`).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from web_stub import stub_model
from web_texts import SOURCE, SPUN, SPUN_COPY

from unspin.detect.model import SpinModel
from unspin.web import create_app

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SCREENSHOT_TEXT = (
    "The harbour celebration drew an enormous crowd on Saturday. Guests strolled along the quay, "
    "consumed fresh fish and observed the aged boats sail past the lighthouse prior to the "
    "fireworks started. Coordinators stated they anticipate twice as numerous guests next year."
)


class _Delay:
    """Seconds the stand-in model sleeps per scan (to see the progress display)."""

    seconds = 0.0


class _SlowableWordModel:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        time.sleep(_Delay.seconds)
        return self.inner.predict_proba(matrix)


def _model() -> SpinModel:
    base = stub_model()
    return SpinModel(_SlowableWordModel(base.word_model), base.doc_model, fast=base.fast)


class _Server:
    """uvicorn serving an app in a thread, on a socket bound to a free port."""

    def __init__(self, model: SpinModel, **app_options: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        app = create_app(model=model, **app_options)
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server(_model()) as running:
        # Load the lexicon and language model before the browser starts waiting on them.
        httpx.post(f"{running.url}/api/scan", json={"text": SPUN}, timeout=120)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: _Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.on(
        "console", lambda msg: errors.append(msg.text) if msg.type == "error" else None
    )
    opened.goto(server.url + "/")
    yield opened
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def _scan(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.click("#scan-button")
    page.wait_for_selector("#result:not([hidden])", timeout=60_000)


def _api(server: _Server, text: str) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/api/scan", json={"text": text}, timeout=60)
    response.raise_for_status()
    return response.json()


def test_paste_highlight_suggest_restore(page: Any, server: _Server) -> None:
    expected = _api(server, SPUN)
    _scan(page, SPUN)

    # The verdict and probability, as the API reports them.
    assert page.text_content("#verdict") == expected["verdict"] == "spun"
    assert page.text_content("#probability") == f"{round(expected['spin_probability'] * 100)}%"

    # Every word is tinted; the high bin is used; flagged spans are marked in the text.
    assert page.locator("#doc span.w").count() == expected["words"]
    assert page.locator("#doc span.w.p4").count() > 0
    assert page.locator("#legend").is_visible()
    marked = page.locator("#doc mark.flag").all_text_contents()
    flagged = [f["text"] for f in expected["flags"]]
    assert "hamlet" in marked and set(marked) <= set(flagged)
    assert page.text_content("#doc") == SPUN  # the text itself is unchanged

    # Open the suggestion for "hamlet" by clicking it.
    flag = next(f for f in expected["flags"] if f["text"] == "hamlet")
    page.locator("#doc mark.flag", has_text="hamlet").click()
    page.wait_for_selector("#pop:not([hidden])")
    assert page.text_content("#pop-suggestion") == flag["suggestion"] == "village"
    assert "hamlet" in page.text_content("#pop-title")
    others = [a for a in flag["alternatives"] if a != flag["suggestion"]]
    assert page.text_content("#pop-alternatives") == " · ".join(others)
    page.keyboard.press("Escape")
    assert page.locator("#pop").is_hidden()

    # The restored view shows the API's restored text, with the restorations marked.
    page.click("label[for=view-restored]")
    assert page.text_content("#doc") == expected["restored"]
    restored_marks = page.locator("#doc mark.restored-change").all_text_contents()
    assert any("village" in m for m in restored_marks)
    assert page.locator("#legend").is_hidden()

    # The diff view: what was given struck out, what was restored inserted.
    page.click("label[for=view-diff]")
    deleted = " ".join(page.locator("#doc del").all_text_contents())
    inserted = " ".join(page.locator("#doc ins").all_text_contents())
    assert "hamlet" in deleted and "village" in inserted

    page.click("label[for=view-given]")
    assert page.locator("#doc mark.flag").count() == len(marked)


def test_keyboard_reaches_every_suggestion(page: Any) -> None:
    _scan(page, SPUN)
    page.focus("#scan-button")
    page.keyboard.press("Tab")  # into the views
    page.keyboard.press("ArrowRight")  # radio group: the restored view
    assert page.is_checked("#view-restored")
    page.keyboard.press("ArrowLeft")
    assert page.is_checked("#view-given")
    first = page.locator("#doc mark.flag").first
    first.focus()
    page.wait_for_selector("#pop:not([hidden])")  # focus alone shows the suggestion
    page.keyboard.press("Tab")
    second = page.locator("#doc mark.flag").nth(1)
    assert second.evaluate("el => el === document.activeElement")
    page.keyboard.press("Enter")
    assert second.get_attribute("aria-expanded") == "true"
    assert second.text_content() in page.text_content("#pop-title")
    page.keyboard.press("Escape")
    assert page.locator("#pop").is_hidden()
    assert second.evaluate("el => el === document.activeElement")


def test_markup_in_the_text_stays_text(page: Any) -> None:
    payload = (
        '<img src=x onerror="window.__owned = 1"> The enormous crowd <b>cheered</b> loudly '
        "as the aged boats sail past the lighthouse <script>window.__owned = 2</script>."
    )
    _scan(page, payload)
    assert page.locator("#doc img, #doc script, #doc b").count() == 0
    assert page.text_content("#doc") == payload
    page.click("label[for=view-restored]")
    assert page.locator("#doc img, #doc script, #doc b").count() == 0
    assert page.evaluate("window.__owned") is None


def test_text_with_emoji_keeps_offsets(page: Any, server: _Server) -> None:
    text = "🎉 " + SPUN  # an astral character: one code point, two UTF-16 units
    _scan(page, text)
    assert page.text_content("#doc") == text
    assert "hamlet" in page.locator("#doc mark.flag").all_text_contents()


def test_progress_shows_while_a_scan_runs(page: Any) -> None:
    _Delay.seconds = 1.5
    try:
        page.fill("#text", SPUN)
        page.click("#scan-button")
        page.wait_for_selector("#progress:not([hidden])", timeout=5_000)
        assert "Scanning" in page.text_content("#progress-text")
        assert page.is_disabled("#scan-button")
        page.wait_for_selector("#result:not([hidden])", timeout=30_000)
        assert page.locator("#progress").is_hidden()
    finally:
        _Delay.seconds = 0.0


def test_empty_text_asks_for_text(page: Any) -> None:
    page.click("#scan-button")
    assert page.locator("#error").is_visible()
    assert "Paste some text" in page.text_content("#error")


def test_an_html_file_is_read_for_its_main_text(page: Any) -> None:
    html = (
        '<html><body><nav><a href="/">Home</a></nav><article><h1>School news</h1>'
        f"<p>{SPUN}</p></article><script>var tracker = 1;</script></body></html>"
    )
    page.set_input_files(
        "#file", files=[{"name": "school.html", "mimeType": "text/html", "buffer": html.encode()}]
    )
    page.wait_for_selector("#doc mark.flag", timeout=60_000)
    value = page.input_value("#text")
    assert SPUN in value and "tracker" not in value


def test_phone_width_has_no_sideways_scrolling(browser: Any, server: _Server) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    phone = context.new_page()
    try:
        phone.goto(server.url + "/")
        _scan(phone, SPUN)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        phone.locator("#doc mark.flag", has_text="hamlet").tap()
        phone.wait_for_selector("#pop:not([hidden])")
        box = phone.locator("#pop").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["y"] + box["height"] <= 740  # a sheet along the bottom, in view
    finally:
        context.close()


def test_with_an_index_the_page_shows_the_source(browser: Any, tmp_path: Path) -> None:
    from unspin.api import Index
    from unspin.types import Document

    index_path = tmp_path / "sources.idx"
    with Index(index_path, create=True) as index:
        index.add([Document("kestrel-bay", SOURCE)])
    with _Server(_model(), index_path=index_path) as running:
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        traced = context.new_page()
        try:
            traced.goto(running.url + "/")
            _scan(traced, SPUN_COPY)
            # The found source decides the flags and the restoration.
            assert "judged against its source kestrel-bay" in traced.text_content("#counts")
            traced.click("label[for=view-restored]")
            assert traced.text_content("#doc") == SOURCE
            # The source panel: the source, and each substitution aligned with its original.
            traced.wait_for_selector("#source table.subs", timeout=30_000)
            summary = traced.text_content("#source .source-summary")
            assert "kestrel-bay" in summary and "similarity" in summary
            rows = traced.locator("#source tbody tr").all()
            pairs = {tuple(row.locator("td").all_text_contents()) for row in rows}
            assert {("enormous", "huge"), ("stated", "said"), ("additional", "extra")} <= pairs
            # Judged against the source, a flag says where the text differs from it, and words
            # the source lacks are shown as such (their suggestion is to leave them out).
            traced.click("label[for=view-given]")
            _scan(traced, "Breaking news from our reporter in the field today. " + SPUN_COPY)
            traced.locator("#doc mark.flag", has_text="Breaking").first.click()
            traced.wait_for_selector("#pop:not([hidden])")
            assert "differs from the source" in traced.text_content("#pop-title")
            assert traced.text_content("#pop-suggestion") == "nothing: not in the source"
            traced.keyboard.press("Escape")
            traced.locator("#doc mark.flag", has_text="stated").first.click()
            traced.wait_for_selector("#pop:not([hidden])")
            assert traced.text_content("#pop-suggestion") == "said"
        finally:
            context.close()


def test_without_an_index_there_is_no_source_panel(page: Any) -> None:
    _scan(page, SPUN)
    assert page.locator("#source").is_hidden()


@pytest.mark.skipif(
    not os.environ.get("UNSPIN_SCREENSHOT"), reason="set UNSPIN_SCREENSHOT=PATH to write it"
)
def test_write_readme_screenshot(browser: Any) -> None:
    model = os.environ.get("UNSPIN_SCREENSHOT_MODEL")
    from unspin.detect.model import load_model

    with _Server(load_model(model)) as running:
        context = browser.new_context(viewport={"width": 1200, "height": 860})
        shot = context.new_page()
        shot.goto(running.url + "/")
        _scan(shot, SCREENSHOT_TEXT)
        marks = shot.locator("#doc mark.flag")
        assert marks.count() > 0
        marks.nth(min(1, marks.count() - 1)).hover()
        shot.wait_for_selector("#pop:not([hidden])")
        out = Path(os.environ["UNSPIN_SCREENSHOT"])
        out.parent.mkdir(parents=True, exist_ok=True)
        shot.screenshot(path=str(out))
        context.close()
