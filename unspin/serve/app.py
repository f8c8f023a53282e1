"""The HTTP API: ``create_app()`` builds a FastAPI application around :func:`unspin.check`
and :func:`unspin.restore`.

=======================  ===============================================================
``GET /``                the web page (``static/index.html``, self-contained)
``GET /healthz``         ``{"status": "ok", "version": ..., "restore_available": bool}``
``POST /v1/check``       ``{"text": str, "deep": bool = false}`` -> the Report as JSON
``POST /v1/restore``     ``{"text": str}`` -> the Restoration as JSON (``text``, ``changes``)
``GET /docs``            interactive OpenAPI docs (Swagger UI loads its scripts from a CDN;
                         the schema itself is ``/openapi.json``)
=======================  ===============================================================

Errors are JSON objects with one ``error`` string (422 adds FastAPI's ``detail`` list):

* 413 when the request body or the text is over the limit (:data:`MAX_TEXT_CHARS`
  characters by default); the message says the limit and what to use instead;
* 422 for a body that is not JSON, has the wrong field types or unknown fields (FastAPI's
  validation), and for text unspin refuses (:class:`~unspin.errors.InputError`);
* 503 when the language-model tier is missing (``restore``, ``deep``); the message names
  the install command.

Empty or too-short text is not an error: ``check`` answers with the verdict
``not_applicable`` and its reason, as the library does.

The endpoints are plain functions, so FastAPI runs them in its thread pool and a long
restore does not block other requests; restores themselves run one at a time.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at
# run time, and the request models are defined inside create_app().

import base64
import hashlib
import importlib.resources
import importlib.util
import re
import sys
import threading

from ..config import DEFAULT, Config
from ..errors import InputError, MissingComponent, requires

#: Longest text (in characters) one request may carry. Longer documents get HTTP 413; split
#: them, or use ``unspin scan`` for corpora.
MAX_TEXT_CHARS = 1_000_000
#: The raw body may be longer than the text it carries (JSON escapes such as ``\\u00e9``
#: take up to 6 bytes a character); bodies over this many bytes a character are refused
#: before they are parsed.
_BODY_BYTES_PER_CHAR = 6
_BODY_SLACK = 64 * 1024

#: The command that installs the language-model tier, as ``unspin models`` prints it.
LM_HINT = "pip install 'unspin[lm]' && unspin models fetch"


def page_html() -> str:
    """The web page, read from the package (``unspin/serve/static/index.html``)."""
    return importlib.resources.files("unspin.serve").joinpath("static/index.html").read_text(encoding="utf-8")


def _page_csp(html: str) -> str:
    """A Content-Security-Policy for the page: nothing may be loaded from anywhere but this
    server, and only the page's own inline script may run (allowed by its hash)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
        for s in re.findall(r"<script>(.*?)</script>", html, re.S)
    )
    return (
        "default-src 'none'; "
        f"script-src {hashes or chr(39) + 'none' + chr(39)}; "
        "style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def restore_available() -> bool:
    """True when ``restore`` can be expected to work: the ``lm`` extra is importable and the
    model is installed. Cheap (no model is loaded)."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        return False
    from .. import models

    return models.installed()


def _restorer():
    """``unspin.restore``, looked up at call time so tests can replace it."""
    import unspin

    return unspin.restore


def _lm_message(exc: MissingComponent, what: str) -> str:
    msg = str(exc)
    if "unspin[lm]" not in msg or "models fetch" not in msg:
        msg += f" (the language-model tier: {LM_HINT})"
    return f"{what} is unavailable on this server: {msg}"


class _BodyLimit:
    """ASGI middleware: answer 413 for request bodies over ``limit`` bytes, whether or not
    the client sent a Content-Length, without handing the body to the application."""

    def __init__(self, app, limit: int, message: str):
        self.app = app
        self.limit = limit
        self.message = message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    return await self._refuse(send)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._refuse(send)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send):
        import json

        payload = json.dumps({"error": self.message}).encode("utf-8")
        await send({
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": payload})


def _preload(lock: threading.Lock) -> None:
    """Load the language model and the restorer's tables now (under the restore lock, so a
    request that arrives meanwhile waits for this load instead of starting its own)."""
    with lock:
        if not restore_available():
            return
        try:
            from ..lm import load
            from ..restore import _sibling_index

            load()
            _sibling_index()
        except Exception as exc:  # the first request will report the problem properly
            print(f"unspin: could not preload the language model: {exc}", file=sys.stderr, flush=True)


def create_app(config: Config | None = None, *, max_text_chars: int = MAX_TEXT_CHARS, preload: bool = False):
    """Build the FastAPI application.

    ``config`` is passed to every ``check`` and ``restore`` call (default: ``Config()``).
    ``max_text_chars`` is the longest text one request may carry (HTTP 413 above it).
    ``preload`` loads the language model in a background thread right away (``unspin serve``
    does), so the first restore does not also wait for the model; the thread is
    ``app.state.preload``.
    Raises :class:`~unspin.errors.MissingComponent` when the ``serve`` extra is not installed.
    """
    fastapi = requires("fastapi", "serve")
    pydantic = requires("pydantic", "serve")
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse

    import unspin

    cfg = config or DEFAULT
    too_long = (
        f"text too long: the limit is {max_text_chars:,} characters a request; split the document, "
        "or use 'unspin scan' for corpora"
    )

    class CheckRequest(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(strict=True, extra="forbid")
        text: str = pydantic.Field(description="the text to judge (plain text or HTML)")
        deep: bool = pydantic.Field(
            False, description="add language-model evidence when the fast score is in the unsure band (needs unspin[lm])"
        )

    class RestoreRequest(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(strict=True, extra="forbid")
        text: str = pydantic.Field(description="the text to restore")

    class LimitExceeded(Exception):
        pass

    class Unavailable(Exception):
        pass

    app = fastapi.FastAPI(
        title="unspin",
        version=unspin.__version__,
        description="Find text rewritten by article spinners, show the evidence, restore the original.",
    )
    app.add_middleware(
        _BodyLimit, limit=max_text_chars * _BODY_BYTES_PER_CHAR + _BODY_SLACK, message=f"request body too large; {too_long}"
    )

    @app.exception_handler(LimitExceeded)
    def _too_long(request, exc):
        return JSONResponse({"error": too_long}, status_code=413)

    @app.exception_handler(RequestValidationError)
    def _invalid(request, exc):
        # without "input": a bad request is not echoed back (it may be megabytes)
        errors = [{k: v for k, v in e.items() if k != "input"} for e in jsonable_encoder(exc.errors())]
        first = errors[0] if errors else {}
        loc = [str(x) for x in first.get("loc", ()) if x != "body"]
        if first.get("type") == "json_invalid":
            why = (first.get("ctx") or {}).get("error", "")
            msg = f"invalid request: the body is not valid JSON{' (' + why + ')' if why else ''}"
        elif first.get("type") == "model_attributes_type" and not loc:
            msg = ('invalid request: send a JSON object such as {"text": "..."} '
                   "with Content-Type: application/json")
        else:
            msg = f"invalid request: {'.'.join(loc) + ': ' if loc else ''}{first.get('msg', 'not valid')}"
        return JSONResponse({"error": msg, "detail": errors}, status_code=422)

    @app.exception_handler(InputError)
    def _bad_input(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(Unavailable)
    def _unavailable(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=503)

    def _limit(text: str) -> None:
        if len(text) > max_text_chars:
            raise LimitExceeded()

    # One restore at a time: the model is loaded once (not by two racing first requests) and
    # its CPU threads are not oversubscribed. Checks run concurrently.
    restore_lock = threading.Lock()
    app.state.preload = None
    if preload:
        app.state.preload = threading.Thread(target=_preload, args=(restore_lock,), name="unspin-preload", daemon=True)
        app.state.preload.start()
    html = page_html()
    csp = _page_csp(html)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})

    @app.get("/healthz", summary="liveness, version, and whether restore can work here")
    def healthz():
        return {"status": "ok", "version": unspin.__version__, "restore_available": restore_available()}

    @app.post("/v1/check", summary="is this text spun? verdict, calibrated score and evidence spans")
    def check(req: CheckRequest):
        _limit(req.text)
        report = unspin.check(req.text, cfg)
        if req.deep and report.verdict != "not_applicable":
            lo, hi = cfg.deep_band
            if lo <= report.score <= hi:
                try:
                    from ..deep import deep_check

                    report = deep_check(req.text, cfg, report)
                except ImportError as exc:
                    raise Unavailable(_lm_message(MissingComponent(f"deep check not available ({exc})"), "deep check")) from None
                except MissingComponent as exc:
                    raise Unavailable(_lm_message(exc, "deep check")) from None
        return report.to_dict()

    @app.post("/v1/restore", summary="put the likely original wording back (needs the language model)")
    def restore(req: RestoreRequest):
        _limit(req.text)
        try:
            with restore_lock:
                restoration = _restorer()(req.text, cfg)
        except MissingComponent as exc:
            raise Unavailable(_lm_message(exc, "restore")) from None
        return restoration.to_dict()

    return app
