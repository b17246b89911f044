"""The FastAPI app behind `unspin serve`: the page at `/`, the JSON API under `/api`.

Contracts (design.md §3): `POST /api/scan`, `/api/restore` and `/api/trace` take `{"text": ...}`
and answer with the CLI's JSON. A body over `max_body_bytes` answers 413 before it is read,
malformed JSON or a missing field 422, a trace without an index 409; user input never yields a
500. Detection runs in worker threads, one document at a time (the language model is not
shared across threads), each request capped in time and text length.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unspin import __version__
from unspin.detect.model import SpinModel
from unspin.web.evidence import resolve_model, scan_with_word_probabilities, word_diff_chunks

log = logging.getLogger("unspin.web")

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_MAX_BODY_BYTES = 2_000_000
DEFAULT_MAX_TEXT_CHARS = 200_000
DEFAULT_TIME_LIMIT_S = 120.0

# The page loads only its own files; /docs loads Swagger UI from its CDN with inline script.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_DOCS_PATHS = ("/docs", "/redoc")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

T = TypeVar("T")


# --------------------------------------------------------------------------- request bodies


class TextRequest(BaseModel):
    """A document to scan, restore or trace."""

    text: str = Field(description="The document's text; offsets in the answer index into it.")
    id: str = Field("doc", max_length=500, description="The id echoed in the answer.")
    fast: StrictBool | None = Field(
        None, description="Skip the trigram LM (faster). Default: the server's setting."
    )


class HtmlRequest(BaseModel):
    """A web page whose main text the page should scan."""

    html: str = Field(description="The page's HTML source.")


# --------------------------------------------------------------------------- answers (for /docs)


class FlagOut(BaseModel):
    """A span the detector thinks a spinner swapped."""

    start: int
    end: int
    text: str
    probability: float
    suggestion: str | None
    alternatives: list[str]


class WordProbabilityOut(BaseModel):
    """One word's span and P(swapped) (only with `?words=1`)."""

    start: int
    end: int
    p: float


class DiffChunkOut(BaseModel):
    """A run of the word diff between the text and its restoration (only with `?diff=1`)."""

    old: str
    new: str
    changed: bool


class ScanOut(BaseModel):
    """The scan result: the JSON `unspin scan --format json` prints for one document."""

    id: str
    spin_probability: float | None
    verdict: str
    reason: str | None
    language: str | None
    words: int
    flags: list[FlagOut]
    restored: str
    evidence: str
    source_id: str | None
    word_probabilities: list[WordProbabilityOut] | None = Field(
        None, description="Every word's P(swapped); present only with `?words=1`."
    )
    diff: list[DiffChunkOut] | None = Field(
        None, description="Word diff text → restored; present only with `?diff=1`."
    )


class RestoreOut(BaseModel):
    """The restored text (what `unspin restore` prints), and its diff with `?diff=1`."""

    id: str
    restored: str
    diff: list[DiffChunkOut] | None = None


class ExtractOut(BaseModel):
    """The main text of a web page, as `unspin scan page.html` reads it."""

    text: str


class ErrorOut(BaseModel):
    """Why a request failed, in one line."""

    detail: str


class InvalidOut(ErrorOut):
    """A request the API cannot read: `detail` in one line, and each problem found."""

    message: str = Field(description="The same line as `detail` (for older clients).")
    errors: list[dict[str, Any]] = Field(
        default_factory=list, description="Each problem: `loc` (where), `msg`, `type`."
    )


# --------------------------------------------------------------------------- middleware


class PayloadTooLarge(HTTPException):
    """The request body is over the limit (raised while the body streams in)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: the limit is {limit:,} bytes")


class BodySizeLimit:
    """Answer 413 for bodies over `max_bytes`: from Content-Length before reading anything, or
    as soon as a chunked body streams past the limit.

    The rest of a body up to `drain_factor` times the limit is then read and dropped before the
    answer goes out, so that the client, still sending, gets its 413 on a connection it can
    reuse: closed with unread data, the socket would reset and the client see a broken
    connection instead. A larger body is not read; its answer says `Connection: close`.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, drain_factor: float = 2.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.drain_limit = int(max_bytes * drain_factor)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            if not declared.isdigit():
                answer = JSONResponse(
                    {"detail": "invalid Content-Length header"},
                    status_code=400,
                    headers={"connection": "close"},
                )
            else:
                drained = int(declared) <= self.drain_limit and await _drain(receive, 0)
                answer = self._too_large(drained)
            await answer(scope, receive, send)
            return
        received = 0
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise PayloadTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except PayloadTooLarge:
            if started:
                raise
            drained = body_done or await _drain(receive, received, self.drain_limit)
            await self._too_large(drained)(scope, receive, send)

    def _too_large(self, drained: bool) -> JSONResponse:
        return JSONResponse(
            {"detail": str(PayloadTooLarge(self.max_bytes).detail)},
            status_code=413,
            headers={} if drained else {"connection": "close"},
        )


async def _drain(receive: Receive, received: int, limit: int | None = None) -> bool:
    """Read and drop the rest of a request body (at most `limit` bytes in all, and for at most
    a few seconds); True when the body was read to its end."""
    with anyio.move_on_after(_DRAIN_SECONDS):
        while limit is None or received <= limit:
            message = await receive()
            if message["type"] != "http.request":
                return False  # the client went away
            received += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
    return False


_DRAIN_SECONDS = 5.0


class SecurityHeaders:
    """Content-Security-Policy and friends on every answer: user text is data, never markup."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(_DOCS_PATHS) else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


# --------------------------------------------------------------------------- the detector


class ServiceUnavailable(HTTPException):
    """The server cannot answer now (no model, busy, out of time); not the user's fault."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail)


class _Detector:
    """Runs scans in worker threads, one at a time, each within the request's deadline."""

    def __init__(self, model: str | SpinModel | None, fast: bool, time_limit_s: float) -> None:
        self._model_arg = model
        self._model: SpinModel | None = model if isinstance(model, SpinModel) else None
        self.fast = fast
        self.time_limit_s = time_limit_s
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(4)

    def model(self) -> SpinModel:
        """The model, loaded on first use; a missing or stale model file is a 503."""
        if self._model is None:
            try:
                self._model = resolve_model(self._model_arg)
            except FileNotFoundError as exc:
                raise ServiceUnavailable(
                    f"no detector model installed ({exc.filename}); build one with "
                    "'unspin train' or start the server with --model PATH"
                ) from exc
            except ValueError as exc:
                raise ServiceUnavailable(f"the detector model cannot be used: {exc}") from exc
        return self._model

    def warm_up(self) -> None:
        """Load the model, lexicon and language model by scanning a short text (holds the lock,
        so requests that arrive meanwhile wait for it rather than load them a second time)."""
        sample = " ".join(["The council met on Tuesday and voted to repair the old bridge."] * 3)
        with self._lock:
            try:
                from unspin.api import scan

                scan(sample, fast=self.fast, model=self.model())
            except Exception:  # a missing model is reported on the first request instead
                log.warning("warm-up failed", exc_info=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker thread, holding the detector lock, within the time limit."""
        deadline = time.monotonic() + self.time_limit_s

        def locked() -> T:
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise ServiceUnavailable("the server is busy with other texts; try again soon")
            try:
                return fn(*args)
            finally:
                self._lock.release()

        try:
            with anyio.fail_after(self.time_limit_s):
                return await anyio.to_thread.run_sync(
                    locked, abandon_on_cancel=True, limiter=self._limiter
                )
        except TimeoutError:
            raise ServiceUnavailable(
                f"this text took longer than {self.time_limit_s:g} s to scan; "
                "try a shorter text or fast mode"
            ) from None


class _Tracer:
    """The source index given to the server (`--index`): tracing, and source evidence for scans."""

    def __init__(self, index_path: str | Path | None) -> None:
        self.index_path = str(index_path) if index_path is not None else None
        self._index: Any = None
        self._open_lock = threading.Lock()

    @staticmethod
    def _index_class() -> Any:
        """`unspin.api.Index`, or None where tracing is not part of this installation."""
        try:
            from unspin import api

            return getattr(api, "Index", None)
        except ImportError:  # tracing's own dependencies are missing
            return None

    @property
    def available(self) -> bool:
        """Whether an index was given and this installation can trace."""
        return self.index_path is not None and self._index_class() is not None

    def check(self) -> None:
        """409 without an index, 501 where tracing is not part of this installation."""
        if self.index_path is None:
            raise HTTPException(
                409,
                "no source index is loaded: start the server with "
                "'unspin serve --index PATH' to trace texts to their sources",
            )
        if self._index_class() is None:
            raise HTTPException(501, "tracing is not available in this version of unspin")

    def index(self) -> Any:
        """The open index (opened once), or None without one; a bad index is a 503 (set-up)."""
        if self.index_path is None:
            return None
        self.check()
        with self._open_lock:
            if self._index is None:
                try:
                    self._index = self._index_class()(self.index_path)
                except Exception as exc:  # missing file, not an index, other settings
                    raise ServiceUnavailable(
                        f"the source index {self.index_path} cannot be opened: {exc}"
                    ) from exc
            return self._index

    def trace(self, text: str, doc_id: str) -> dict[str, Any]:
        """The trace JSON of design.md §3 for one text (call `check` first)."""
        from unspin.api import trace

        return trace(text, index=self.index(), doc_id=doc_id).to_dict()


# --------------------------------------------------------------------------- the app


def create_app(
    index_path: str | Path | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    *,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    model: str | SpinModel | None = None,
    fast: bool = False,
    warm_up: bool = False,
) -> FastAPI:
    """The web app: the page at `/`, the JSON API under `/api`, OpenAPI docs at `/docs`.

    `model` is a path or a loaded model (default: the shipped one, loaded on first use); `fast`
    is the default mode for requests that do not say; `index_path` enables `/api/trace`;
    `warm_up` loads the lexicon and language model in the background at start-up, so the first
    visitor does not wait for them.
    """
    detector = _Detector(model, fast, time_limit_s)
    tracer = _Tracer(index_path)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            threading.Thread(target=detector.warm_up, name="unspin-warm-up", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="unspin",
        version=__version__,
        description=(
            "Unmask machine-spun text. `POST /api/scan`, `/api/restore` and `/api/trace` take "
            '`{"text": ...}` and answer with the JSON of `unspin scan`, `unspin restore` and '
            f"`unspin trace`. Request bodies are limited to {max_body_bytes:,} bytes and texts "
            f"to {max_text_chars:,} characters (413 beyond); malformed JSON or a missing field "
            "answers 422; a trace without a loaded index answers 409."
        ),
    )
    app.state.detector = detector
    app.state.tracer = tracer
    errors: dict[int | str, dict[str, Any]] = {
        413: {"model": ErrorOut, "description": "Body or text over the limit."},
        422: {"model": InvalidOut, "description": "Malformed JSON, or a field missing or wrong."},
        503: {"model": ErrorOut, "description": "No model, busy, or over the time limit."},
    }

    def check_text(body: TextRequest) -> str:
        if len(body.text) > max_text_chars:
            raise HTTPException(
                413,
                f"text too long: {len(body.text):,} characters; the limit is "
                f"{max_text_chars:,}",
            )
        # JSON can carry unpaired surrogates; they cannot be encoded back, so they become
        # U+FFFD (one character for one: offsets stay the same).
        return _LONE_SURROGATE.sub("\ufffd", body.text)

    def mode(body: TextRequest) -> bool:
        return detector.fast if body.fast is None else body.fast

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes the input back, which may be megabytes of user text.
        problems = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in exc.errors()
        ]
        summary = "; ".join(
            f"{'.'.join(str(part) for part in p['loc'])}: {p['msg']}" for p in problems
        )
        # `detail` is one line, as in every other error answer; the problems one by one are in
        # `errors` (`message` repeats `detail` for older clients).
        line = f"invalid request: {summary}"
        return JSONResponse(
            {"detail": line, "message": line, "errors": problems}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 for a body it cannot decode (not UTF-8, say); to the API that is
        # malformed JSON like any other, which the contract answers with 422.
        if exc.status_code == 400 and request.url.path.startswith("/api/"):
            detail = (
                "invalid request: the body cannot be read as JSON (not UTF-8 text, nested too "
                "deeply, or a number too long)"
            )
            return JSONResponse({"detail": detail, "message": detail}, status_code=422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s", request.url.path)
        return JSONResponse(
            {"detail": f"internal error: {exc.__class__.__name__}"}, status_code=500
        )

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        """Limits and what this server can do (the page reads it at start)."""
        return {
            "version": __version__,
            "max_body_bytes": max_body_bytes,
            "max_text_chars": max_text_chars,
            "time_limit_s": time_limit_s,
            "fast": detector.fast,
            "index": tracer.index_path is not None,
            "trace": tracer.available,
        }

    @app.post("/api/scan", response_model=ScanOut, responses=errors)
    async def scan(
        body: TextRequest,
        words: bool = Query(False, description="Also return every word's P(swapped)."),
        diff: bool = Query(False, description="Also return a word diff text → restored."),
    ) -> JSONResponse:
        """Scan one text: the JSON of `unspin scan --format json` for it (one object).

        With an index loaded, a source found there decides flags and restoration, as with
        `unspin scan --index`.
        """
        text = check_text(body)
        fast = mode(body)

        def work() -> dict[str, Any]:
            model = detector.model()
            index = tracer.index()
            if words:
                result, probs = scan_with_word_probabilities(
                    text, doc_id=body.id, fast=fast, model=model, index=index
                )
            else:
                from unspin.api import scan as api_scan

                result = api_scan(text, doc_id=body.id, fast=fast, model=model, index=index)
                probs = []
            out = result.to_dict()
            if words:
                out["word_probabilities"] = [w.to_dict() for w in probs]
            if diff:
                out["diff"] = [c.to_dict() for c in word_diff_chunks(text, result.restored)]
            return out

        return JSONResponse(await detector.run(work))

    @app.post("/api/restore", response_model=RestoreOut, responses=errors)
    async def restore(
        body: TextRequest,
        diff: bool = Query(False, description="Also return a word diff text → restored."),
    ) -> JSONResponse:
        """The restored text, as `unspin restore` prints it."""
        text = check_text(body)
        fast = mode(body)

        def work() -> dict[str, Any]:
            from unspin.api import restore as api_restore

            restored = api_restore(
                text, fast=fast, model=detector.model(), index=tracer.index()
            )
            out: dict[str, Any] = {"id": body.id, "restored": restored}
            if diff:
                out["diff"] = [c.to_dict() for c in word_diff_chunks(text, restored)]
            return out

        return JSONResponse(await detector.run(work))

    @app.post(
        "/api/trace",
        responses={
            **errors,
            409: {"model": ErrorOut, "description": "No index loaded."},
            501: {"model": ErrorOut, "description": "Tracing not built in."},
        },
    )
    async def trace(body: TextRequest) -> JSONResponse:
        """Likely sources of a text in the loaded index: the JSON of `unspin trace`."""
        tracer.check()
        text = check_text(body)
        return JSONResponse(await detector.run(tracer.trace, text, body.id))

    @app.post("/api/extract", response_model=ExtractOut, responses=errors)
    async def extract(body: HtmlRequest) -> dict[str, str]:
        """The main text of an HTML page (boilerplate dropped), as `unspin scan` reads .html."""
        from unspin.io import html_main_text

        html = _LONE_SURROGATE.sub("\ufffd", body.html)
        return {"text": await detector.run(html_main_text, html)}

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    return app


# Settings of `unspin serve --workers N`: uvicorn starts each worker process from an import
# string, so the command line's settings reach `app_from_env` through this variable (JSON).
SERVE_CONFIG_ENV = "UNSPIN_SERVE_CONFIG"


def serve_config(
    index_path: str | None,
    max_body_bytes: int,
    *,
    max_text_chars: int,
    time_limit_s: float,
    model: str | None,
    fast: bool,
) -> str:
    """The JSON that `app_from_env` reads: `create_app`'s keyword arguments, the model as a
    path."""
    return json.dumps(
        {
            "index_path": index_path,
            "max_body_bytes": max_body_bytes,
            "max_text_chars": max_text_chars,
            "time_limit_s": time_limit_s,
            "model": model,
            "fast": fast,
        }
    )


def app_from_env() -> FastAPI:
    """The app of one `unspin serve --workers N` process: `create_app` with the settings in
    $UNSPIN_SERVE_CONFIG; each process loads its own model and warms up at start."""
    return create_app(**json.loads(os.environ[SERVE_CONFIG_ENV]), warm_up=True)
