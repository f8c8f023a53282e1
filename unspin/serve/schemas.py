"""Request and response bodies of the HTTP API, as pydantic models (they make the
``/openapi.json`` schema). Imported only by :func:`unspin.serve.app.create_app`, so the
core does not need pydantic."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from ..report import KINDS, VERDICTS

Kind = Literal[KINDS]  # type: ignore[valid-type]
Verdict = Literal[VERDICTS]  # type: ignore[valid-type]


class CheckRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    text: str = Field(description="the text to judge (plain text or HTML)")
    tier: Optional[Literal["auto", "fast", "model"]] = Field(
        None, description="which detector decides: auto (the model tier when it is installed, else the fast "
        "tier), fast (lexicons only) or model (always the model tier; needs unspin[lm]); default: the server's"
    )
    deep: bool = Field(False, description='same as "tier": "model" (kept for older clients)')


class RestoreRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    text: str = Field(description="the text to restore")


class SpanOut(BaseModel):
    """One piece of evidence, or one change: ``text[start:end]`` (offsets in code points)."""

    start: int
    end: int
    text: str = Field(description="the observed words, text[start:end]")
    kind: Kind
    original: Optional[str] = Field(description='the likely original wording; "" means delete, null unknown')
    confidence: float = Field(ge=0.0, le=1.0)
    rule: str = Field(description="the lexicon entry or signal that fired")


class ReportOut(BaseModel):
    """What ``unspin.check`` found."""

    score: Optional[float] = Field(description="calibrated P(spun); null when not applicable", ge=0.0, le=1.0)
    verdict: Verdict
    reason: str
    spans: list[SpanOut]


class RestorationOut(BaseModel):
    """What ``unspin.restore`` produced; applying ``changes`` to the input gives ``text``."""

    text: str
    changes: list[SpanOut]


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    restore_available: bool = Field(description="the language model is installed, so restore and deep can work")


class ErrorDetail(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ErrorOut(BaseModel):
    """Every error: one ``error`` string; 422 from validation adds ``detail``."""

    error: str
    detail: Optional[list[ErrorDetail]] = None
