"""A per-document time budget (``Config.time_budget``).

Every stage of the fast tier is linear in the input, and ``Config.max_chars`` bounds the input,
so a document cannot take hours. The budget is the safety net for what that argument misses
(a stage with a super-linear corner nobody found yet, a machine under heavy load): past it the
document gets ``not_applicable`` with a reason that says so, instead of holding a scan worker
or a server thread.

:func:`limit` sets a deadline for the code it wraps (per thread and per asyncio task, through a
context variable); stages call :func:`checkpoint` between pieces of work, and the first one
past the deadline raises :class:`OverBudget`. A stage is never interrupted in the middle of
one regular-expression call, so a document can overrun the budget by one stage's work.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from typing import Iterator, NamedTuple

from .errors import UnspinError


class OverBudget(UnspinError):
    """A document took longer than ``Config.time_budget``; :func:`unspin.check` turns this
    into a ``not_applicable`` report."""

    exit_code = 2

    def __init__(self, stage: str, elapsed: float, budget: float):
        self.stage, self.elapsed, self.budget = stage, elapsed, budget
        super().__init__(
            f"over the time budget: gave up after {elapsed:.1f} s in {stage} "
            f"(Config.time_budget is {budget:g} s a document)"
        )


class _Deadline(NamedTuple):
    at: float
    started: float
    seconds: float


_DEADLINE: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar("unspin_deadline", default=None)


@contextmanager
def limit(seconds: float | None) -> Iterator[None]:
    """Run the block under a deadline ``seconds`` from now (``0`` or ``None``: no limit). An
    enclosing deadline that ends sooner stays in force."""
    if not seconds or seconds <= 0:
        yield
        return
    now = time.monotonic()
    outer = _DEADLINE.get()
    if outer is not None and outer.at <= now + seconds:
        yield
        return
    token = _DEADLINE.set(_Deadline(now + seconds, now, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def checkpoint(stage: str) -> None:
    """Raise :class:`OverBudget` if the current deadline has passed (``stage`` names the work
    that was going on, for the reason line)."""
    d = _DEADLINE.get()
    if d is not None:
        now = time.monotonic()
        if now > d.at:
            raise OverBudget(stage, now - d.started, d.seconds)
