"""``unspin serve``: the HTTP API and the web page (needs ``pip install 'unspin[serve]'``)."""

from __future__ import annotations

import ipaddress
import socket
import sys

from ..errors import InputError, requires


def register(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the HTTP API and a web page for checking and restoring texts",
        description="Run a local web server: a page at / for pasting text, POST /v1/check and "
        "POST /v1/restore for programs (JSON in, JSON out), GET /healthz, and the OpenAPI schema at "
        "/openapi.json. There is no authentication: keep the default 127.0.0.1 unless the network is "
        "trusted (on loopback, requests naming another Host are refused, against DNS rebinding). "
        "Limits: a request's headers must arrive within 10 s and its body within 30 s (else 408, "
        "connection closed); restores run one at a time with a bounded queue (503 with Retry-After "
        "beyond it) and stop when their client leaves. Needs the serve extra: pip install 'unspin[serve]'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000; 0 picks a free one)")
    p.add_argument(
        "--max-chars", type=int, default=None, metavar="N",
        help="longest text one request may carry; longer ones get HTTP 413 (default 1,000,000)",
    )
    p.add_argument(
        "--max-restore-chars", type=int, default=None, metavar="N",
        help="longest text a restore may carry (it runs the language model over every sentence); "
        "longer ones get HTTP 413 (default 20,000)",
    )
    p.add_argument(
        "--restore-queue", type=int, default=None, metavar="N",
        help="restores admitted at once, one running and the rest waiting; "
        "more get HTTP 503 with Retry-After (default 4)",
    )
    p.add_argument(
        "--max-connections", type=int, default=None, metavar="N",
        help="open connections at most (default 100); at the limit a new one replaces the connection that "
        "has waited longest for its headers, and gets 503 only when every one holds a request",
    )
    p.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also answer requests whose Host header names NAME (repeatable). On a loopback address "
        "only localhost, 127.0.0.1 and ::1 are answered (HTTP 421 otherwise), so a web page cannot "
        "reach the API through DNS rebinding",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="log every request (repeatable)")
    p.add_argument("--no-preload", action="store_true",
                   help="load the language model at the first restore instead of at start-up")
    p.set_defaults(func=run)


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket here, so a busy port is one clear error line, not a log dump."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, not {port}")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _at_least_1(value, default: int, flag: str) -> int:
    value = default if value is None else value
    if value < 1:
        raise InputError(f"{flag} must be at least 1, not {value}")
    return value


def run(args) -> int:
    uvicorn = requires("uvicorn", "serve")
    from ..serve.app import LM_QUEUE, MAX_RESTORE_CHARS, MAX_TEXT_CHARS, create_app
    from ..serve.limits import ConnectionLimits, loopback_hosts, uvicorn_config

    max_chars = _at_least_1(args.max_chars, MAX_TEXT_CHARS, "--max-chars")
    max_restore = _at_least_1(args.max_restore_chars, MAX_RESTORE_CHARS, "--max-restore-chars")
    queue = _at_least_1(args.restore_queue, LM_QUEUE, "--restore-queue")
    limits = ConnectionLimits(max_connections=_at_least_1(args.max_connections, ConnectionLimits.max_connections,
                                                          "--max-connections"))
    sock = _listen(args.host, args.port)
    app = create_app(max_text_chars=max_chars, max_restore_chars=max_restore, lm_queue=queue,
                     allowed_hosts=loopback_hosts(sock.getsockname()[0], tuple(args.allow_host)),
                     preload=not args.no_preload)
    import unspin

    # load the lexicons and the scorer now, so the first request is not the slow one
    unspin.check("The board met on Monday to discuss the budget for the coming year.")
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"unspin: serving on http://{shown}:{port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        print("unspin: warning: listening beyond this machine; the API has no authentication", file=sys.stderr, flush=True)
    config = uvicorn_config(
        app,
        limits,
        log_level="info" if args.verbose else "warning",
        access_log=bool(args.verbose),
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
