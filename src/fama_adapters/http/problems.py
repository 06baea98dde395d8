"""Errors as RFC 9457 problem documents (``application/problem+json``), never with values.

Each :class:`~fama_core.errors.FamaError` maps to one status and one problem
``type`` (a ``urn:fama:problem:…`` name a client can switch on) and carries
the error's structured fields: a refusal's ``state``, ``event``,
``condition`` and ``fix``; a conflict's ``expected`` and ``actual`` versions;
an invalid record's ``problems`` (field, code, reason). fama's error messages
never quote input values, and nothing here adds one; an unexpected failure is
a bare 500 naming only the request id.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fama_core.errors import (
    ClientErased,
    ConcurrencyConflict,
    FamaError,
    FieldProblem,
    IdempotencyConflict,
    InvalidRecord,
    StoreError,
    SubmissionError,
    TransitionRefused,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "FieldIssue", "Problem", "problem_for"]

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldIssue(BaseModel):
    """One failing field of an invalid record."""

    model_config = ConfigDict(extra="forbid")

    location: str = Field(description="Dotted path of the field (``0.steps.2.status``).")
    code: str = Field(description="Stable machine code (pydantic's error type or fama's own).")
    reason: str = Field(description="Why, in words; never the value sent.")


class Problem(BaseModel):
    """An RFC 9457 problem document with fama's structured fields."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="``urn:fama:problem:<name>``; switch on this, not on the text.")
    title: str = Field(description="Short, the same for every problem of this type.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong here, in words; never quotes a value.")
    request_id: str | None = Field(
        default=None, description="Also in ``X-Request-ID``; quote it when asking for help."
    )
    record: str | None = Field(default=None, description="Which record failed (``event 2`` …).")
    problems: list[FieldIssue] | None = Field(
        default=None, description="Each failing field of an invalid record."
    )
    state: str | None = Field(default=None, description="Refusal: the state the event met.")
    event: str | None = Field(default=None, description="Refusal: the event kind refused.")
    event_id: str | None = Field(default=None, description="Refusal: the refused event's id.")
    condition: str | None = Field(
        default=None, description="Refusal: the workflow's unmet condition (a stable name)."
    )
    fix: str | None = Field(default=None, description="Refusal: how to fix the event.")
    expected: int | None = Field(default=None, description="Conflict: the version you sent.")
    actual: int | None = Field(default=None, description="Conflict: the client's version now.")


def _problem(status: int, name: str, title: str, detail: str, **fields: Any) -> Problem:
    return Problem(
        type=f"urn:fama:problem:{name}", title=title, status=status, detail=detail, **fields
    )


def field_issues(problems: tuple[FieldProblem, ...] | list[FieldProblem]) -> list[FieldIssue]:
    return [FieldIssue(location=p.location, code=p.code, reason=p.reason) for p in problems]


def problem_for(exc: FamaError) -> Problem:
    """The problem document for a fama error (its message is value-free by fama's rule)."""
    if isinstance(exc, TransitionRefused):
        return _problem(
            422,
            "transition-refused",
            "The workflow refused an event",
            str(exc),
            state=exc.state,
            event=exc.event,
            event_id=exc.event_id or None,
            condition=exc.condition,
            fix=exc.fix or exc.detail,
        )
    if isinstance(exc, ConcurrencyConflict):
        return _problem(
            409,
            "version-conflict",
            "The client's record changed since you read it",
            f"expected version {exc.expected} but the record is at {exc.actual}; nothing was "
            "written. Read the client again, decide again, and send the new version in If-Match.",
            expected=exc.expected,
            actual=exc.actual,
        )
    if isinstance(exc, IdempotencyConflict):
        return _problem(
            409,
            "event-id-reused",
            "An event id was reused for a different event",
            str(exc),
            event=exc.event,
            event_id=exc.event_id,
        )
    if isinstance(exc, InvalidRecord):
        return _problem(
            400,
            "invalid-record",
            "A record does not match its schema",
            str(exc),
            record=exc.record,
            problems=field_issues(exc.problems),
        )
    if isinstance(exc, SubmissionError):
        return _problem(400, "invalid-submission", "The submission is invalid", str(exc))
    if isinstance(exc, ClientErased):
        return _problem(
            409,
            "client-erased",
            "The client was erased",
            "the client's personal text was erased; its stream takes no new events (a person "
            "who returns gets a new client key)",
        )
    if isinstance(exc, StoreError):
        return _problem(
            503, "store-unavailable", "The event store failed", "the event store failed; retry"
        )
    return _problem(500, "fama-error", "fama could not do this", str(exc))
