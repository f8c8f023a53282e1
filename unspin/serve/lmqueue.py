"""The server's queue for language-model work (``/v1/restore`` and ``deep`` checks).

One job runs at a time (the model's CPU threads are not oversubscribed, and the model is
loaded once); at most ``size`` jobs are admitted, running or waiting, and the next one is
refused at once with :class:`Busy` (HTTP 503 with ``Retry-After``). A job whose client has
gone is dropped while it waits, and cancelled while it runs: the job gets a
:class:`CancellableLM` in place of the model, which raises :class:`Cancelled` at the next
model call, and the model itself at its next batch, once the client has left. The
same stand-in refuses any window longer than the model's context (:class:`WindowTooLong`),
whatever the restorer's windowing does.

The queue uses threading primitives and polls (every 50 ms) rather than asyncio futures, so
it works whichever event loop a request runs on.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

#: Longest window, in UTF-8 bytes, the model may be given. The tokenizer is byte-level BPE,
#: so a window of N bytes is at most N tokens (plus the start token): far inside the
#: model's 8,192-token context, and short enough that one window costs seconds, not minutes.
MAX_WINDOW_BYTES = 2000


class Busy(Exception):
    """The queue is full; ``retry_after`` is a guess in seconds at when a place frees up."""

    def __init__(self, size: int, retry_after: int):
        super().__init__(
            f"the server is busy: {size} language-model request{'s are' if size != 1 else ' is'} already running "
            f"or waiting; try again in about {retry_after} s"
        )
        self.retry_after = retry_after


class Cancelled(Exception):
    """The client left; the job was dropped or stopped at its next model call."""


class WindowTooLong(ValueError):
    """A window longer than :data:`MAX_WINDOW_BYTES` was about to reach the model."""


#: The cancel event of the job running in this thread (set by :meth:`LMQueue.run`).
_job = threading.local()


def _check_cancelled() -> None:
    cancel = getattr(_job, "cancel", None)
    if cancel is not None and cancel.is_set():
        raise Cancelled()


#: The inner steps of :class:`unspin.lm.LanguageModel` (private names) after which a job
#: may stop: the forward pass, the vocabulary projections.
_STEPS = ("_forward", "_logprobs_from_hidden", "_row")


def _watch_forward(lm) -> None:
    """Make every inner step of ``lm`` (:data:`_STEPS`) check the running job's cancel
    event first, so a job stops within one model batch (a fraction of a second), not one
    whole ``analyse`` or ``score_many`` call (tens of seconds for a long text). Wraps those
    methods once, on the instance; calls from threads that are not running a queued job are
    unaffected. A step the model does not have is skipped (the check then stays at the
    method level, :class:`CancellableLM`)."""
    for name in _STEPS:
        step = getattr(lm, name, None)
        if step is None or getattr(step, "_unspin_watched", False):
            continue

        def watched(*args, _step=step, **kwargs):
            _check_cancelled()
            return _step(*args, **kwargs)

        watched._unspin_watched = True
        try:
            setattr(lm, name, watched)
        except AttributeError:  # a stand-in without instance attributes
            pass


class CancellableLM:
    """Stands in for the language model inside one job: every method call first checks
    that the client is still there (else :class:`Cancelled`) and, for ``analyse``, that
    no window is longer than :data:`MAX_WINDOW_BYTES` (else :class:`WindowTooLong`).
    The model is loaded (``loader()``) at the first use, so a job that needs no model
    never loads it."""

    def __init__(self, loader, cancel: threading.Event, max_window_bytes: int = MAX_WINDOW_BYTES):
        self._loader = loader
        self._cancel = cancel
        self._max = max_window_bytes
        self._lm = None

    def __getattr__(self, name):
        if self._lm is None:
            self._lm = self._loader()
            _watch_forward(self._lm)
        attr = getattr(self._lm, name)
        if not callable(attr) or not hasattr(attr, "__self__"):
            return attr  # data (tokenizer, counters): as is

        def call(*args, **kwargs):
            if self._cancel.is_set():
                raise Cancelled()
            if name == "analyse":
                texts = args[0] if args else kwargs.get("texts", ())
                longest = max((len(t.encode("utf-8", "surrogatepass")) for t in texts), default=0)
                if longest > self._max:
                    raise WindowTooLong(f"a window of {longest:,} bytes would reach the language model "
                                        f"(the limit is {self._max:,})")
            return attr(*args, **kwargs)

        return call


class LMQueue:
    """Admission and one-at-a-time running of model jobs (module docstring).

    ``lock`` is held while a job runs; the server's model preload holds it too, so a job
    that arrives during the preload waits for it.
    """

    def __init__(self, size: int, lock: threading.Lock | None = None, poll: float = 0.05):
        if size < 1:
            raise ValueError(f"the queue must admit at least one job, not {size}")
        self.size = size
        self.lock = lock or threading.Lock()
        self.poll = poll
        self._mu = threading.Lock()
        self._waiting: deque[object] = deque()
        self._running = 0
        self._seconds = 10.0  # running mean of a job's time, for Retry-After
        #: Jobs refused, dropped before running, cancelled while running, finished (for tests and logs).
        self.counts = {"refused": 0, "dropped": 0, "cancelled": 0, "done": 0}

    def load(self) -> int:
        """Jobs running or waiting now."""
        with self._mu:
            return len(self._waiting) + self._running

    async def run(self, job, gone):
        """Run ``job(cancel_event)`` in a worker thread when its turn comes and return its
        result. ``gone`` is an async callable that says whether the client has left.
        Raises :class:`Busy` when full, :class:`Cancelled` when the client left."""
        import anyio

        ticket = object()
        with self._mu:
            load = len(self._waiting) + self._running
            if load >= self.size:
                self.counts["refused"] += 1
                raise Busy(self.size, max(1, math.ceil(self._seconds * load)))
            self._waiting.append(ticket)
        try:
            while True:
                with self._mu:
                    first = self._waiting[0] is ticket
                if first and self.lock.acquire(blocking=False):
                    with self._mu:
                        self._waiting.popleft()
                        self._running += 1
                    break
                if await gone():
                    self.counts["dropped"] += 1
                    raise Cancelled()
                await anyio.sleep(self.poll)
        except BaseException:
            with self._mu:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
            raise

        cancel = threading.Event()
        started = time.monotonic()
        box: dict = {}

        def target():
            _job.cancel = cancel
            try:
                box["result"] = job(cancel)
            except BaseException as exc:  # handed to the request below
                box["error"] = exc
            finally:
                _job.cancel = None

        worker = threading.Thread(target=target, name="unspin-lm-job", daemon=True)
        try:
            worker.start()
            while worker.is_alive():
                if not cancel.is_set() and await gone():
                    cancel.set()
                await anyio.sleep(self.poll)
        finally:
            if worker.is_alive():  # this request was cancelled (shutdown): stop the job, then free the lock
                cancel.set()
                with anyio.CancelScope(shield=True):
                    while worker.is_alive():
                        await anyio.sleep(self.poll)
            self.lock.release()
            with self._mu:
                self._running -= 1
                self._seconds = 0.7 * self._seconds + 0.3 * (time.monotonic() - started)
        if "error" in box:
            if isinstance(box["error"], Cancelled):
                self.counts["cancelled"] += 1
            raise box["error"]
        self.counts["done"] += 1
        return box["result"]

