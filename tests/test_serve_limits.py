"""``unspin serve`` under hostile or heavy load (issue 11, "a server that holds").

Protocol-level limits (header and body timeouts, the connection bound, the Host check, JSON
for every error) are tested against a real uvicorn server on 127.0.0.1 in a thread, with
raw sockets; the language-model queue with FastAPI's TestClient and a stand-in restorer,
so none of this needs the model. Timing figures are in BENCHMARKS.md, not here.
"""

from __future__ import annotations

import time

import pytest

from unspin import injected, lexicons


# --- caches that grow with unseen words ----------------------------------------------


@pytest.mark.parametrize("fn", [lexicons.zipf, lexicons.word_pos, injected._zipf_en, injected.foreign_language_of])
def test_per_word_caches_are_bounded(fn):
    """Each cache keyed by input words has a finite size (they were ``functools.cache``)."""
    assert fn.cache_info().maxsize is not None and fn.cache_info().maxsize <= 1 << 17


def test_zipf_cache_stops_growing_at_its_bound():
    size = lexicons.zipf.cache_info().maxsize
    for i in range(size + 500):
        lexicons.zipf(f"qx{i}zv")  # unseen words
    assert lexicons.zipf.cache_info().currsize == size


# --- helpers -------------------------------------------------------------------------

SPUN = (
    "The board met so you're able to discuss brand new budget, and you may the fresh members asked "
    "of a lot questions. Officials said you to definitely costs would rise."
)


def _serve_or_skip():
    pytest.importorskip("fastapi", reason="the serve API needs fastapi: pip install 'unspin[serve]'")
    pytest.importorskip("uvicorn", reason="unspin serve needs uvicorn: pip install 'unspin[serve]'")
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx: pip install httpx")


def _client(app, **kw):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    return TestClient(app, **kw)


def _app(**kw):
    _serve_or_skip()
    from unspin.serve import create_app

    return create_app(**kw)


def _status(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:80]
    return int(reply.split(b" ", 2)[1])


def _json_body(reply: bytes) -> dict:
    import json

    return json.loads(reply.split(b"\r\n\r\n", 1)[1])


def _limits(**kw):
    from unspin.serve.limits import ConnectionLimits

    return ConnectionLimits(**kw)


# --- timeouts: half-sent requests are answered 408 and closed ------------------------


def test_half_sent_headers_get_408_and_the_connection_is_closed():
    from live_server import raw, read_all, running

    with running(_app(), _limits(header_timeout=0.5)) as (port, _):
        s = raw(port, b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        reply, took, closed = read_all(s, limit=8)
        s.close()
    assert closed, "the half-sent request was left open"
    assert took < 5
    assert _status(reply) == 408
    assert "timed out" in _json_body(reply)["error"]


def test_half_sent_body_gets_408_and_the_connection_is_closed():
    from live_server import raw, read_all, running

    head = b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    with running(_app(), _limits(header_timeout=5, body_timeout=0.5)) as (port, _):
        s = raw(port, head + b'{"text": "The board')
        reply, took, closed = read_all(s, limit=8)
        s.close()
    assert closed and took < 4
    assert _status(reply) == 408


def test_an_idle_connection_is_closed_without_an_answer():
    from live_server import raw, read_all, running

    with running(_app(), _limits(header_timeout=0.5)) as (port, _):
        s = raw(port)
        reply, took, closed = read_all(s, limit=8)
        s.close()
    assert closed and took < 5 and reply == b""


def test_a_whole_request_is_still_answered_and_kept_alive():
    from live_server import raw, read_all, request, running

    with running(_app(), _limits(header_timeout=0.5)) as (port, _):
        s = raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)
        s.sendall(request("GET", "/healthz"))  # the same connection, a second request
        reply, _, closed = read_all(s)
        s.close()
    assert closed and reply.count(b"HTTP/1.1 200 OK") == 2


# --- the connection bound -------------------------------------------------------------


def test_a_flood_of_half_sent_sockets_does_not_lock_out_a_new_client():
    """At the connection bound, a new client takes the place of the socket that has waited
    longest for its headers (a flood of half-sent requests cannot hold the server), and
    the evicted one is told 408 and closed."""
    from live_server import raw, read_all, request, running

    with running(_app(), _limits(header_timeout=30, max_connections=20, evict_after=0.2)) as (port, server):
        hung = [raw(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n") for _ in range(20)]
        assert _wait(lambda: len(server.server_state.connections) == 20)
        time.sleep(0.3)
        s = raw(port, request("GET", "/healthz"))
        reply, took, closed = read_all(s, limit=5)
        s.close()
        assert _status(reply) == 200 and took < 3
        evicted, _, closed = read_all(hung[0], limit=3)
        assert closed and _status(evicted) == 408
        for h in hung:
            h.close()


def test_connections_beyond_the_bound_get_503_json_when_all_are_busy(monkeypatch):
    """When every connection holds a whole request, a new one is answered 503 with
    Retry-After at once, and the server answers again once they are done."""
    import threading

    from live_server import raw, read_all, request, running

    import unspin

    release = threading.Event()
    real_check = unspin.check
    real_check("The board met on Monday to discuss the budget for the coming year.")  # load the tables first

    def slow_check(text, config=None):
        release.wait(20)
        return real_check(text, config)

    monkeypatch.setattr(unspin, "check", slow_check)
    with running(_app(), _limits(max_connections=5)) as (port, server):
        busy = [raw(port, request("POST", "/v1/check", b'{"text": "The board met on Monday to discuss it."}'))
                for _ in range(5)]
        assert _wait(lambda: len(server.server_state.tasks) == 5)
        s = raw(port, request("GET", "/healthz"))
        reply, took, closed = read_all(s, limit=5)
        s.close()
        assert _status(reply) == 503 and closed and took < 3
        assert b"retry-after: 1" in reply.lower()
        assert "limit of 5 open connections" in _json_body(reply)["error"]
        release.set()
        for b in busy:
            assert _status(read_all(b, limit=30)[0]) == 200
            b.close()
        s = raw(port, request("GET", "/healthz"))
        reply, _, _ = read_all(s, limit=5)
        s.close()
    assert _status(reply) == 200


def test_malformed_http_gets_a_json_400():
    from live_server import raw, read_all, running

    with running(_app()) as (port, _):
        s = raw(port, b"THIS IS NOT HTTP\r\n\r\n")
        reply, _, closed = read_all(s, limit=5)
        s.close()
    assert closed and _status(reply) == 400
    assert _json_body(reply)["error"].startswith("invalid HTTP request")


# --- the Host allow-list (DNS rebinding) --------------------------------------------------


def test_loopback_server_refuses_other_host_names():
    from unspin.serve.limits import loopback_hosts

    c = _client(_app(allowed_hosts=loopback_hosts("127.0.0.1")))
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", "localhost.evil.example:80"):
        r = c.get("/healthz", headers={"Host": host})
        assert r.status_code == 421, host
        assert "DNS-rebinding" in r.json()["error"] and "evil" not in r.json()["error"]
        assert c.post("/v1/check", json={"text": SPUN}, headers={"Host": host}).status_code == 421
    for host in ("127.0.0.1", "127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000"):
        assert c.get("/healthz", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_follow_the_bind_address():
    from unspin.serve.limits import loopback_hosts

    assert loopback_hosts("0.0.0.0") is None  # bound beyond loopback: no check unless asked
    assert loopback_hosts("0.0.0.0", ("unspin.example",)) == {"unspin.example"}
    assert {"localhost", "127.0.0.1", "::1", "box.internal"} <= loopback_hosts("::1", ("box.internal",))


# --- every error is {"error": ...} and echoes nothing ----------------------------------


def test_404_405_400_and_500_are_json_errors(monkeypatch):
    import unspin

    c = _client(_app(), raise_server_exceptions=False)
    r = c.get("/no/such/page")
    assert r.status_code == 404 and r.json()["error"].startswith("not found") and "detail" not in r.json()
    r = c.get("/v1/check")
    assert r.status_code == 405 and r.json()["error"].startswith("method not allowed") and "POST" in r.json()["error"]
    r = c.post("/v1/check", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["error"].startswith("invalid request")

    def boom(text, config=None):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(unspin, "check", boom)
    r = c.post("/v1/check", json={"text": SPUN})
    assert r.status_code == 500
    assert r.json()["error"].startswith("internal error") and "secret" not in r.text


def test_an_unknown_field_name_is_not_echoed():
    c = _client(_app())
    key = "k" * 2_000_000
    r = c.post("/v1/check", json={"text": SPUN, key: 1})
    assert r.status_code == 422
    assert len(r.content) < 2_000  # was 4 MB: the key twice
    assert "kkkk" not in r.text
    d = r.json()
    assert d["error"].startswith("invalid request: unknown field") and "deep" in d["error"]
    assert d["detail"][0]["loc"] == ["body", "(unknown field)"]


def test_many_validation_errors_are_listed_at_most_ten_times():
    c = _client(_app())
    body = {"text": SPUN, **{f"x{i}": 1 for i in range(5000)}}
    r = c.post("/v1/check", json=body)
    assert r.status_code == 422 and len(r.json()["detail"]) == 10 and len(r.content) < 5_000


# --- response schemas -----------------------------------------------------------------------


def test_openapi_has_the_response_bodies():
    import unspin

    spec = _client(_app()).get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    ok = lambda path, method: spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok("/v1/check", "post")["$ref"].endswith("/ReportOut")
    assert ok("/v1/restore", "post")["$ref"].endswith("/RestorationOut")
    assert ok("/healthz", "get")["$ref"].endswith("/HealthOut")
    for code in ("413", "422", "503"):
        ref = spec["paths"]["/v1/restore"]["post"]["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorOut")
    assert set(schemas["SpanOut"]["properties"]["kind"]["enum"]) == set(unspin.KINDS)
    assert set(schemas["ReportOut"]["properties"]["verdict"]["enum"]) == set(unspin.VERDICTS)
    assert {"text", "changes"} <= set(schemas["RestorationOut"]["required"])


# --- the restore size limit and the model's window -------------------------------------


def _use(monkeypatch, restorer=None, lm=None):
    from unspin.serve import app as serve_app

    if restorer is not None:
        monkeypatch.setattr(serve_app, "_restore_fn", lambda: restorer)
    if lm is not None:
        monkeypatch.setattr(serve_app, "_load_lm", lambda: lm)


def _echo(text, config=None, lm=None):
    from unspin import Restoration

    return Restoration(text, text, [])


def test_restore_limit_is_20000_characters_by_default(monkeypatch):
    _use(monkeypatch, _echo)
    c = _client(_app())
    text = (SPUN + " ") * 200
    r = c.post("/v1/restore", json={"text": text[:20_000]})
    assert r.status_code == 200
    r = c.post("/v1/restore", json={"text": text[:20_001]})
    assert r.status_code == 413
    assert r.json()["error"].startswith("text too long to restore: the limit is 20,000 characters")
    assert c.post("/v1/check", json={"text": text}).status_code == 200  # checks keep the big limit


def test_restore_limit_is_configurable(monkeypatch):
    _use(monkeypatch, _echo)
    c = _client(_app(max_restore_chars=100))
    assert c.post("/v1/restore", json={"text": SPUN[:100]}).status_code == 200
    assert "the limit is 100 characters" in c.post("/v1/restore", json={"text": SPUN[:101]}).json()["error"]


def test_a_sentence_past_the_model_window_is_refused_before_the_model(monkeypatch):
    calls = []
    _use(monkeypatch, lambda text, config=None, lm=None: calls.append(text) or _echo(text))
    c = _client(_app())
    run_on = " ".join(["word"] * 2000)  # 9,999 characters, no sentence punctuation
    r = c.post("/v1/restore", json={"text": run_on})
    assert r.status_code == 422
    err = r.json()["error"]
    assert "9,999 bytes long without sentence punctuation" in err and "2,000 bytes" in err
    assert calls == []
    # the same words with full stops every few words are fine
    r = c.post("/v1/restore", json={"text": ". ".join(["word word word word"] * 400)})
    assert r.status_code == 200 and len(calls) == 1


def test_the_model_stand_in_refuses_a_window_past_its_limit():
    import threading

    from unspin.serve.lmqueue import MAX_WINDOW_BYTES, CancellableLM, WindowTooLong

    class FakeLM:
        def analyse(self, texts, topk_at=None, k=40):
            return [len(t) for t in texts]

    lm = CancellableLM(FakeLM, threading.Event())
    assert lm.analyse(["a" * MAX_WINDOW_BYTES]) == [MAX_WINDOW_BYTES]
    with pytest.raises(WindowTooLong):
        lm.analyse(["short", "é" * (MAX_WINDOW_BYTES // 2 + 1)])  # bytes, not characters
    assert MAX_WINDOW_BYTES + 1 <= 8192  # byte-level BPE: at most one token a byte, plus the start token


# --- the model queue: bounded, 503 with Retry-After, clients that left -----------------


class _SlowLM:
    """A stand-in language model whose one method takes ``step`` seconds."""

    def __init__(self, step=0.05):
        self.step = step
        self.calls = 0

    def score(self):
        self.calls += 1
        time.sleep(self.step)


def _slow_restorer(started, calls_before_done=400):
    from unspin import Restoration

    def restore(text, config=None, lm=None):
        started.append(text)
        for _ in range(calls_before_done):
            lm.score()
        return Restoration(text, text, [])

    return restore


def _wait(cond, limit=10.0):
    deadline = time.monotonic() + limit
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


def test_a_full_model_queue_answers_503_with_retry_after(monkeypatch):
    import threading

    release = threading.Event()
    started = []

    def restore(text, config=None, lm=None):
        started.append(text)
        release.wait(20)
        return _echo(text)

    _use(monkeypatch, restore)
    app = _app(lm_queue=2)
    c = _client(app)
    results = []
    threads = [threading.Thread(target=lambda t=t: results.append(c.post("/v1/restore", json={"text": t})))
               for t in ("first text here.", "second text here.")]
    for t in threads:
        t.start()
        time.sleep(0.2)
    assert _wait(lambda: app.state.lm_queue.load() == 2)
    r = c.post("/v1/restore", json={"text": "third text here."})
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) >= 1
    assert "busy" in r.json()["error"]
    release.set()
    for t in threads:
        t.join(20)
    assert sorted(r.status_code for r in results) == [200, 200]
    assert started == ["first text here.", "second text here."]  # first come, first served
    assert app.state.lm_queue.counts["refused"] == 1


def test_a_running_restore_stops_when_its_client_leaves(monkeypatch):
    from live_server import raw, request, running

    lm = _SlowLM()
    started = []
    _use(monkeypatch, _slow_restorer(started), lm)
    app = _app()
    with running(app) as (port, _):
        s = raw(port, request("POST", "/v1/restore", b'{"text": "The board met."}'))
        assert _wait(lambda: lm.calls >= 3)
        s.close()  # the client leaves
        assert _wait(lambda: app.state.lm_queue.counts["cancelled"] == 1, 5)
        calls = lm.calls
        time.sleep(0.5)
        assert lm.calls == calls  # the job stopped
        assert calls < 100  # of the 400 it would have made
        assert app.state.lm_queue.load() == 0


def test_a_long_model_call_stops_at_its_next_forward_pass(monkeypatch):
    """One ``analyse`` call can take tens of seconds on a long text: the job stops inside it,
    at the model's next forward pass, not after it."""
    from live_server import raw, request, running

    from unspin import Restoration

    class BatchedLM:
        forwards = 0

        def _forward(self, **kw):
            BatchedLM.forwards += 1
            time.sleep(0.05)

        def analyse(self, texts, topk_at=None, k=40):
            for _ in range(400):  # one call, many batches
                self._forward(input_ids=None)
            return []

    def restore(text, config=None, lm=None):
        lm.analyse([text])
        return Restoration(text, text, [])

    _use(monkeypatch, restore, BatchedLM())
    app = _app()
    with running(app) as (port, _):
        s = raw(port, request("POST", "/v1/restore", b'{"text": "The board met."}'))
        assert _wait(lambda: BatchedLM.forwards >= 3)
        s.close()
        assert _wait(lambda: app.state.lm_queue.counts["cancelled"] == 1, 5)
    assert BatchedLM.forwards < 100


def test_a_waiting_restore_is_dropped_when_its_client_leaves(monkeypatch):
    from live_server import raw, read_all, request, running

    lm = _SlowLM(step=0.02)
    started = []
    _use(monkeypatch, _slow_restorer(started, calls_before_done=50), lm)
    app = _app()
    with running(app) as (port, _):
        first = raw(port, request("POST", "/v1/restore", b'{"text": "First."}'))
        assert _wait(lambda: started == ["First."])
        second = raw(port, request("POST", "/v1/restore", b'{"text": "Second."}'))
        assert _wait(lambda: app.state.lm_queue.load() == 2)
        second.close()  # leaves while waiting
        reply, _, _ = read_all(first, limit=10)
        first.close()
        assert _status(reply) == 200
        assert _wait(lambda: app.state.lm_queue.counts["dropped"] == 1, 5)
    assert started == ["First."]  # the second job never ran


def test_restore_gets_valid_unicode(monkeypatch):
    """A lone surrogate (JSON ``\\ud800``) reaches the restorer as U+FFFD, one for one."""
    seen = []
    _use(monkeypatch, lambda text, config=None, lm=None: seen.append(text) or _echo(text))
    c = _client(_app())
    body = b'{"text": "The board met \\ud800 on Monday. It voted."}'
    r = c.post("/v1/restore", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and seen == ["The board met \ufffd on Monday. It voted."]



def test_the_server_restores_as_unspin_restore_does(monkeypatch):
    """The server calls the restorer module itself (to hand it the cancellable model); it must
    pass what ``unspin.restore`` passes, so a new default there is noticed here."""
    import importlib

    import unspin
    from unspin.config import DEFAULT

    mod = importlib.import_module("unspin.restore")
    calls = []

    def spy(text, config=None, report=None, lm=None, **kw):
        calls.append((text, config or DEFAULT, report, kw))
        return _echo(text)

    monkeypatch.setattr(mod, "restore", spy)
    unspin.restore(SPUN)
    assert _client(_app()).post("/v1/restore", json={"text": SPUN}).status_code == 200
    library, server = calls
    assert library == server
