"""The HTTP API: ``create_app()`` builds a FastAPI application around :func:`unspin.check`
and :func:`unspin.restore`.

=======================  ===============================================================
``GET /``                the web page (``static/index.html``, self-contained)
``GET /healthz``         ``{"status": "ok", "version": ..., "restore_available": bool}``
``POST /v1/check``       ``{"text": str, "tier": "auto"|"fast"|"model" = the server's,
                         "deep": bool = false}`` -> the Report as JSON (``deep``: the
                         model tier, as ``unspin check --deep``)
``POST /v1/restore``     ``{"text": str}`` -> the Restoration as JSON (``text``, ``changes``)
``GET /docs``            interactive OpenAPI docs (Swagger UI loads its scripts from a CDN;
                         the schema itself is ``/openapi.json``, with every response body)
=======================  ===============================================================

Every error is a JSON object with one ``error`` string (validation errors add a ``detail``
list); nothing the client sent is echoed back:

* 400 malformed HTTP or a body that cannot be parsed; 404 unknown path; 405 wrong method;
* 408 the request's headers or body arrived too slowly (``unspin serve``'s protocol layer,
  :mod:`unspin.serve.limits`);
* 413 the body or the text is over the limit (:data:`MAX_TEXT_CHARS` characters for a
  check; :data:`MAX_RESTORE_CHARS` for a restore, which runs the language model over
  every sentence); the message says the limit and what to do instead;
* 421 the Host header names a host this server does not answer to (DNS rebinding);
* 422 a body that is not JSON, has the wrong field types or unknown fields, text unspin
  refuses (:class:`~unspin.errors.InputError`), or a sentence too long for the model;
* 503 the language model is missing (``restore``, the model tier: the message names the
  install command), or a queue is full or the server at its connection limit (with
  ``Retry-After``);
* 500 anything else (the server log has the traceback).

Empty or too-short text is not an error: ``check`` answers with the verdict
``not_applicable`` and its reason, as the library does.

Checks go through the cascade (:func:`unspin.check`, ``Config.tier``), concurrently in the
thread pool: texts the fast tier decides return at once, and the model tier's passes take
turns (its encoder holds a lock). Restores go through one bounded queue
(:class:`~unspin.serve.lmqueue.LMQueue`): one job at a time, a few waiting, the rest
refused with 503; a job whose client left is dropped or stopped.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at
# run time.

import base64
import hashlib
import importlib
import importlib.resources
import importlib.util
import re
import sys
import threading

from ..config import DEFAULT, TIERS, Config
from ..errors import InputError, MissingComponent, requires
from .lmqueue import MAX_WINDOW_BYTES, Busy, CancellableLM, Cancelled, LMQueue, WindowTooLong

#: Longest text (in characters) one check may carry. Longer documents get HTTP 413; split
#: them, or use ``unspin scan`` for corpora.
MAX_TEXT_CHARS = 1_000_000
#: Longest text one restore may carry: it runs the language model, whose cost grows with
#: the text (about a second per sentence with evidence on two quiet cores).
MAX_RESTORE_CHARS = 20_000
#: Restores admitted at once (one runs, the others wait); more get 503.
LM_QUEUE = 4
#: The raw body may be longer than the text it carries (JSON escapes such as ``\\u00e9``
#: take up to 6 bytes a character); bodies over this many bytes a character are refused
#: before they are parsed.
_BODY_BYTES_PER_CHAR = 6
_BODY_SLACK = 64 * 1024
#: Validation errors listed at most in a 422's ``detail``.
_MAX_DETAIL = 10

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


def _restore_fn():
    """The restorer, ``restore(text, config, lm=...)`` of the ``unspin.restore`` module
    (the package's ``unspin.restore`` takes no ``lm``), looked up at call time so tests can
    replace it. The text must have been through :func:`unspin.textio.clean_text`, as
    ``unspin.restore`` does first."""
    return importlib.import_module("unspin.restore").restore


def _load_lm():
    from ..lm import load

    return load()


def _lm_message(exc: MissingComponent, what: str) -> str:
    msg = str(exc)
    if "unspin[lm]" not in msg or "models fetch" not in msg:
        msg += f" (the language-model tier: {LM_HINT})"
    return f"{what} is unavailable on this server: {msg}"


def _preload(lock: threading.Lock) -> None:
    """Load the language model and the restorer's tables now (under the model lock, so a
    request that arrives meanwhile waits for this load instead of starting its own)."""
    with lock:
        if not restore_available():
            return
        try:
            from .. import lexicons

            _load_lm()
            restore_mod = importlib.import_module("unspin.restore")
            for table in (getattr(restore_mod, "_sibling_index", None), getattr(lexicons, "sibling_index", None)):
                if table is not None:
                    table()
        except Exception as exc:  # the first request will report the problem properly
            print(f"unspin: could not preload the language model: {exc}", file=sys.stderr, flush=True)


def longest_sentence(text: str) -> tuple[int, int]:
    """(start, UTF-8 bytes) of the longest sentence of ``text`` as the restorer splits it
    into model windows (:func:`unspin.tokenize.sentence_spans`)."""
    from ..tokenize import sentence_spans

    best = (0, 0)
    for a, b in sentence_spans(text):
        n = len(text[a:b].strip().encode("utf-8", "surrogatepass"))
        if n > best[1]:
            best = (a, n)
    return best


def _sanitise(errors: list[dict], fields: frozenset[str]) -> list[dict]:
    """Validation errors without anything the client sent: no ``input``, no ``ctx``, and
    field names other than ours replaced (an unknown key may be megabytes long)."""
    out = []
    for e in errors[:_MAX_DETAIL]:
        loc = []
        for x in e.get("loc", ()):
            if isinstance(x, int) or x in fields or x == "body":
                loc.append(x)
            else:
                loc.append("(unknown field)")
        out.append({"type": str(e.get("type", "")), "loc": loc, "msg": str(e.get("msg", ""))[:200]})
    return out


class _TooLong(Exception):
    def __init__(self, message: str):
        super().__init__(message)


class _Unavailable(Exception):
    pass


class _Conflict(Exception):
    pass


def _model_tier_available() -> bool:
    """Whether the model tier can run here (:func:`unspin.probe.available`; cheap)."""
    from .. import probe

    return probe.available()


def _model_tier_missing() -> str:
    from .. import probe

    return probe.unavailable_reason()


def create_app(config: Config | None = None, *, max_text_chars: int = MAX_TEXT_CHARS,
               max_restore_chars: int = MAX_RESTORE_CHARS, lm_queue: int = LM_QUEUE,
               allowed_hosts=None, preload: bool = False):
    """Build the FastAPI application.

    ``config`` is passed to every ``check`` and ``restore`` call (default: ``Config()``).
    ``max_text_chars`` is the longest text a check may carry, ``max_restore_chars`` the
    longest a restore may (HTTP 413 above them). ``lm_queue`` is how many restores are
    admitted at once, running or waiting (503 beyond; the queue is ``app.state.lm_queue``). ``allowed_hosts`` is a set of host names the Host header must
    name (421 otherwise; ``None``: any; see :func:`unspin.serve.limits.loopback_hosts`).
    ``preload`` loads the language model in a background thread right away (``unspin
    serve`` does), so the first restore does not also wait for the model; the thread is
    ``app.state.preload``.
    Raises :class:`~unspin.errors.MissingComponent` when the ``serve`` extra is not installed.
    """
    fastapi = requires("fastapi", "serve")
    requires("pydantic", "serve")
    import anyio
    from fastapi import Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.exceptions import HTTPException

    import unspin

    from ..textio import clean_text
    from . import schemas
    from .limits import Guard

    cfg = config or DEFAULT
    max_restore_chars = min(max_restore_chars, max_text_chars)
    too_long = (
        f"text too long: the limit is {max_text_chars:,} characters a request; split the document, "
        "or use 'unspin scan' for corpora"
    )
    lm_too_long = (
        f"the limit is {max_restore_chars:,} characters a request, because the language model reads every "
        "sentence; split the text"
    )
    fields = frozenset(schemas.CheckRequest.model_fields) | frozenset(schemas.RestoreRequest.model_fields)
    errors = {code: {"model": schemas.ErrorOut} for code in (413, 422, 503)}

    app = fastapi.FastAPI(
        title="unspin",
        version=unspin.__version__,
        description="Find text rewritten by article spinners, show the evidence, restore the original.",
    )
    app.add_middleware(
        Guard, body_limit=max_text_chars * _BODY_BYTES_PER_CHAR + _BODY_SLACK,
        body_message=f"request body too large; {too_long}",
        allowed_hosts=None if allowed_hosts is None else frozenset(allowed_hosts),
    )

    # -- errors: always {"error": ...}, never the client's input -----------------------
    @app.exception_handler(HTTPException)
    def _http_error(request, exc):
        if exc.status_code == 404:
            msg = ("not found: this server has GET /, GET /healthz, POST /v1/check, POST /v1/restore "
                   "and GET /openapi.json")
        elif exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            msg = f"method not allowed here{': use ' + allow if allow else ''}"
        elif isinstance(exc.detail, str) and len(exc.detail) <= 200:
            msg = f"invalid request: {exc.detail}" if exc.status_code == 400 else exc.detail
        else:
            msg = f"HTTP {exc.status_code}"
        return JSONResponse({"error": msg}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    def _invalid(request, exc):
        errs = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors()]
        detail = _sanitise(errs, fields)
        first = errs[0] if errs else {}
        loc = [str(x) for x in detail[0]["loc"] if x != "body"] if detail else []
        if first.get("type") == "json_invalid":
            why = str((exc.errors()[0].get("ctx") or {}).get("error", ""))[:200]
            msg = f"invalid request: the body is not valid JSON{' (' + why + ')' if why else ''}"
        elif first.get("type") == "model_attributes_type" and not loc:
            msg = ('invalid request: send a JSON object such as {"text": "..."} '
                   "with Content-Type: application/json")
        elif first.get("type") == "extra_forbidden":
            msg = f"invalid request: unknown field (the fields are {', '.join(sorted(fields))})"
        else:
            msg = f"invalid request: {'.'.join(loc) + ': ' if loc else ''}{detail[0]['msg'] if detail else 'not valid'}"
        return JSONResponse({"error": msg, "detail": detail}, status_code=422)

    @app.exception_handler(_Conflict)
    def _conflict(request, exc):
        return JSONResponse({"error": f"invalid request: {exc}"}, status_code=422)

    @app.exception_handler(_TooLong)
    def _too_long(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=413)

    @app.exception_handler(InputError)
    def _bad_input(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(WindowTooLong)
    def _window(request, exc):
        return JSONResponse({"error": f"cannot run the language model on this text: {exc}"}, status_code=422)

    @app.exception_handler(_Unavailable)
    def _unavailable(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=503)

    @app.exception_handler(Busy)
    def _busy(request, exc):
        return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(Cancelled)
    def _cancelled(request, exc):  # nobody reads this: the client has gone
        return JSONResponse({"error": "cancelled: the client closed the connection"}, status_code=499)

    @app.exception_handler(Exception)
    def _internal(request, exc):
        return JSONResponse({"error": "internal error: the server failed on this request (its log has the details)"},
                            status_code=500)

    # -- language-model work ------------------------------------------------------------
    by_tier = {t: cfg.replace(tier=t) for t in TIERS}  # checks go through the cascade, unspin.check
    queue = LMQueue(lm_queue)
    app.state.lm_queue = queue
    app.state.preload = None
    if preload:
        app.state.preload = threading.Thread(target=_preload, args=(queue.lock,), name="unspin-preload", daemon=True)
        app.state.preload.start()

    def _lm_limits(text: str, what: str) -> None:
        if len(text) > max_restore_chars:
            raise _TooLong(f"text too long {what}: {lm_too_long}")
        at, size = longest_sentence(text)
        if size > MAX_WINDOW_BYTES:
            raise WindowTooLong(
                f"the sentence at character {at:,} is {size:,} bytes long without sentence punctuation "
                f"(. ! ? or a blank line), and the model reads at most {MAX_WINDOW_BYTES:,} bytes "
                "(about as many characters of English) at a time; add punctuation or blank lines, or split the text"
            )

    async def _on_model(request, job, what: str):
        try:
            return await queue.run(job, request.is_disconnected)
        except ImportError as exc:
            raise _Unavailable(_lm_message(MissingComponent(f"{what} not available ({exc})"), what)) from None
        except MissingComponent as exc:
            raise _Unavailable(_lm_message(exc, what)) from None

    # -- endpoints -----------------------------------------------------------------------
    html = page_html()
    csp = _page_csp(html)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(html, headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"})

    @app.get("/healthz", response_model=schemas.HealthOut, summary="liveness, version, and whether restore can work here")
    def healthz():
        return {"status": "ok", "version": unspin.__version__, "restore_available": restore_available()}

    @app.post("/v1/check", response_model=schemas.ReportOut, responses=errors,
              summary="is this text spun? verdict, calibrated score and evidence spans")
    async def check(req: schemas.CheckRequest):
        if len(req.text) > max_text_chars:
            raise _TooLong(too_long)
        if req.deep and req.tier not in (None, "model"):
            raise _Conflict(f'"deep": true means the model tier; it cannot go with "tier": "{req.tier}"')
        tier = "model" if req.deep else (req.tier or cfg.tier)
        if tier == "model" and not _model_tier_available():
            raise _Unavailable(_lm_message(MissingComponent(_model_tier_missing()), "the model tier"))
        # In the thread pool, concurrently: texts the fast tier decides return at once, and the
        # model tier's passes take turns (its encoder holds a lock), so they do not hold up
        # the others. (Batching concurrent requests into one check_many would make every
        # text wait for the slowest model pass.)
        try:
            report = await anyio.to_thread.run_sync(unspin.check, req.text, by_tier[tier])
        except MissingComponent as exc:
            raise _Unavailable(_lm_message(exc, "the model tier")) from None
        return report.to_dict()

    @app.post("/v1/restore", response_model=schemas.RestorationOut, responses=errors,
              summary="put the likely original wording back (needs the language model)")
    async def restore(req: schemas.RestoreRequest, request: Request):
        _lm_limits(req.text, "to restore")
        text = clean_text(req.text)[0]  # lone surrogates -> U+FFFD, one for one (as unspin.restore does)

        def job(cancel):
            return _restore_fn()(text, cfg, lm=CancellableLM(_load_lm, cancel))

        restoration = await _on_model(request, job, "restore")
        return restoration.to_dict()

    return app
