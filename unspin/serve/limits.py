"""What keeps ``unspin serve`` answering when clients are slow, many, or hostile.

Two layers, both small:

* :class:`Guard`, ASGI middleware in front of the application: the Host-header allow-list
  (DNS rebinding), the request-body limit (counted as it arrives, with or without a
  Content-Length). Its answers are JSON ``{"error": ...}`` like every other error.
* :func:`protocol_class`, a subclass of uvicorn's h11 protocol with one timer per
  connection: a request's headers must be complete ``header_timeout`` seconds after the
  connection opened (or the previous response ended), and its body ``body_timeout`` seconds
  after the headers. A half-sent request gets ``408`` and the connection is closed; an idle
  new connection is closed. It also bounds open connections: at ``max_connections`` a new
  one takes the place of the connection that has waited longest for its headers (idle or
  half-sent), and when every connection holds a whole request it is answered ``503`` with
  ``Retry-After`` and closed at once (uvicorn's own ``limit_concurrency`` answers in plain
  text, and idle sockets count against it until they are reaped). uvicorn's ``400`` for
  malformed HTTP becomes JSON too.

:func:`uvicorn_config` puts the two together for ``unspin serve`` and the tests.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

#: Host names a loopback-bound server answers to (plus the address it is bound to).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ConnectionLimits:
    """Per-connection limits enforced below the application (see the module docstring)."""

    #: Seconds from a connection's start (or the end of the previous response on it) to the
    #: end of the next request's headers.
    header_timeout: float = 10.0
    #: Seconds from the end of the headers to the end of the body.
    body_timeout: float = 30.0
    #: Open connections at most. At the limit, a new connection closes the one that has
    #: waited longest (at least ``evict_after`` seconds) for its next request's headers;
    #: when there is none, the new one is answered 503 and closed. Oldest first, so a
    #: client that has just connected is the last to go.
    max_connections: int = 100
    evict_after: float = 0.0
    #: Largest request line plus headers, in bytes (h11's limit; more gets 400).
    max_header_bytes: int = 16 * 1024


def json_response(status: int, message: str, extra_headers: list[tuple[bytes, bytes]] = ()) -> tuple[dict, bytes]:
    """The ASGI start message and body of a ``{"error": message}`` answer that closes the connection."""
    body = json.dumps({"error": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *extra_headers]
    return {"type": "http.response.start", "status": status, "headers": headers}, body


def raw_response(status: int, reason: str, message: str, extra: str = "") -> bytes:
    """The same answer as bytes on the wire, for the protocol layer (no request parsed yet)."""
    body = json.dumps({"error": message}).encode("utf-8")
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n{extra}\r\n")
    return head.encode("ascii") + body


def host_of(value: bytes) -> str:
    """The host name in a Host header value, lower-cased, without the port or IPv6 brackets."""
    host = value.decode("latin-1").strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def loopback_hosts(bound: str, extra: tuple[str, ...] = ()) -> frozenset[str] | None:
    """The Host names to accept for a server bound to ``bound``: for a loopback address,
    ``localhost``, ``127.0.0.1``, ``::1``, the address itself and ``extra``; ``None`` (no
    check) for any other address unless ``extra`` names hosts."""
    try:
        loop = ipaddress.ip_address(bound).is_loopback
    except ValueError:
        loop = bound.lower() == "localhost"
    names = {h.lower().strip("[]") for h in extra}
    if loop:
        return frozenset({*LOOPBACK_HOSTS, bound.lower().strip("[]"), *names})
    return frozenset(names) if names else None


class Guard:
    """ASGI middleware: the Host allow-list, then the body limit.

    ``allowed_hosts=None`` accepts any Host. A request whose Host is not in the set gets
    ``421`` (a DNS-rebinding page names its own domain in Host; the name is not echoed).
    A body over ``body_limit`` bytes gets ``413`` with ``body_message``, whether or not the
    client sent a Content-Length, without the body reaching the application.
    """

    def __init__(self, app, *, body_limit: int, body_message: str, allowed_hosts: frozenset[str] | None = None):
        self.app = app
        self.body_limit = body_limit
        self.body_message = body_message
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers", ())
        if self.allowed_hosts is not None:
            host = next((v for k, v in headers if k == b"host"), None)
            if host is not None and host_of(host) not in self.allowed_hosts:
                shown = ", ".join(sorted(self.allowed_hosts))
                return await self._send(send, 421, (
                    "this server answers only to requests addressed to " + shown + " (the Host header names "
                    "another host, as a DNS-rebinding page would); to reach it under another name, start it "
                    "with --allow-host NAME"))
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        for name, value in headers:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.body_limit:
                    return await self._send(send, 413, self.body_message)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.body_limit:
                return await self._send(send, 413, self.body_message)
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

    @staticmethod
    async def _send(send, status: int, message: str):
        start, body = json_response(status, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})


def protocol_class(limits: ConnectionLimits):
    """A subclass of uvicorn's ``H11Protocol`` that enforces ``limits`` (module docstring)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    busy = raw_response(503, "Service Unavailable", (
        f"the server is at its limit of {limits.max_connections} open connections; try again shortly"),
        "retry-after: 1\r\n")
    late = raw_response(408, "Request Timeout", (
        "request timed out: the headers must arrive within "
        f"{limits.header_timeout:g} s and the body within {limits.body_timeout:g} s"))

    class GuardedH11Protocol(H11Protocol):
        _refused = False

        def __init__(self, config, server_state, app_state, _loop=None):
            super().__init__(config, server_state, app_state, _loop)
            self._timer = None
            self._phase = None  # "headers" | "body" | None (the app has the whole request)
            self._since = 0.0  # loop time the phase began
            self._got_bytes = False

        # -- the connection bound ------------------------------------------------------
        def connection_made(self, transport):
            if len(self.connections) >= limits.max_connections:
                self._evict_one()
            if len(self.connections) >= limits.max_connections:
                self._refused = True
                self.transport = transport
                transport.write(busy)
                if transport.can_write_eof():
                    transport.write_eof()  # read (and drop) what the client still sends
                self._timer = self.loop.call_later(1.0, transport.close)
                return
            super().connection_made(transport)
            self._arm()

        def data_received(self, data):
            if self._refused:
                return
            self._got_bytes = True
            super().data_received(data)
            self._arm()

        def eof_received(self):
            if self._refused:
                self.transport.close()
                return None
            return super().eof_received()

        def connection_lost(self, exc):
            self._disarm()
            if self._refused:
                return
            super().connection_lost(exc)

        def on_response_complete(self):
            super().on_response_complete()
            self._got_bytes = False
            self._arm()

        def _evict_one(self) -> None:
            """At the limit, close the connection that has waited longest for its next request's
            headers (idle keep-alive, or half-sent: what a flood of slow sockets holds), so a
            new client still gets in. Connections with a whole request are never closed."""
            now = self.loop.time()
            waiting = [c for c in self.connections
                       if getattr(c, "_phase", None) == "headers" and now - c._since >= limits.evict_after]
            if waiting:
                oldest = min(waiting, key=lambda c: c._since)
                oldest._disarm()
                oldest._timed_out()  # 408 if it had sent part of a request; closed
                self.connections.discard(oldest)  # now, not when the loop reports it lost

        # -- the timeouts --------------------------------------------------------------
        def _disarm(self):
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _arm(self):
            if self.transport is None or self.transport.is_closing():
                return self._disarm()
            state = self.conn.their_state
            phase = "headers" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
            if phase == self._phase and (phase is None or self._timer is not None):
                return
            self._disarm()
            self._phase = phase
            self._since = self.loop.time()
            if phase is not None:
                wait = limits.header_timeout if phase == "headers" else limits.body_timeout
                self._timer = self.loop.call_later(wait, self._timed_out)

        def _timed_out(self):
            self._timer = None
            if self.transport.is_closing():
                return
            cycle = self.cycle if self._phase == "body" else None
            if self._got_bytes and not (cycle is not None and cycle.response_started):
                self.transport.write(late)
            if cycle is not None:  # the application sees the client gone and stops reading
                cycle.disconnected = True
                cycle.message_event.set()
            self.transport.close()

        # -- malformed HTTP: JSON like every other error -------------------------------
        def send_400_response(self, msg: str) -> None:
            self.transport.write(raw_response(400, "Bad Request", "invalid HTTP request: " + msg.rstrip(".")))
            self.transport.close()

    return GuardedH11Protocol


def uvicorn_config(app, limits: ConnectionLimits | None = None, **kwargs):
    """A ``uvicorn.Config`` for ``app`` with :func:`protocol_class` as its HTTP protocol
    (``kwargs`` go to ``uvicorn.Config``)."""
    import uvicorn

    limits = limits or ConnectionLimits()
    kwargs.setdefault("timeout_keep_alive", 5)
    return uvicorn.Config(app, http=protocol_class(limits), ws="none", lifespan="off",
                          h11_max_incomplete_event_size=limits.max_header_bytes, **kwargs)
