"""A real ``unspin serve`` server (uvicorn with unspin's protocol limits) on 127.0.0.1 in a
thread, for tests that need real sockets: timeouts, the connection bound, clients that
leave, a browser. Not a test module (no ``test_`` prefix)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager


@contextmanager
def running(app, limits=None):
    """Serve ``app`` on a free loopback port; yields ``(port, server)``."""
    import uvicorn

    from unspin.serve.limits import uvicorn_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn_config(app, limits, log_level="critical", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="unspin-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the test server did not start"
    try:
        yield sock.getsockname()[1], server
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def raw(port: int, data: bytes = b"", timeout: float = 5.0) -> socket.socket:
    """A connected socket that has sent ``data``."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if data:
        s.sendall(data)
    return s


def read_all(s: socket.socket, limit: float = 10.0) -> tuple[bytes, float, bool]:
    """Read until the server closes: (bytes, seconds it took, closed). ``closed`` is False
    when ``limit`` seconds passed with the connection still open."""
    start = time.monotonic()
    out = b""
    s.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return out, time.monotonic() - start, True
        if not chunk:
            return out, time.monotonic() - start, True
        out += chunk
    return out, time.monotonic() - start, False


def request(method: str, path: str, body: bytes = b"", host: str = "127.0.0.1", extra: str = "") -> bytes:
    """The bytes of one HTTP/1.1 request that asks the server to close afterwards."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode("latin-1") + body
