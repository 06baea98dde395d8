"""The JSON bodies of ``fama serve``, as its OpenAPI document shows them.

Events are the core's own models (:data:`fama_core.events.Event`); client
state is the core's :class:`~fama_core.state.EpisodeState`. Models here only
wrap them in what HTTP needs (versions, ids, redaction flags).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fama_core.events import Event
from fama_core.refresh import MeetingAlert
from fama_core.state import EpisodeState

__all__ = [
    "ClientView",
    "DueNextView",
    "DueStep",
    "ErasureView",
    "ExportSummaryView",
    "Health",
    "HeldCategory",
    "HistoryLine",
    "IntegrityProblemView",
    "RecordedView",
    "RuleCount",
    "StoredEventView",
    "SubjectAccessView",
    "SubjectEventView",
    "ValidationView",
    "VerifyView",
    "WhoAmI",
]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordedView(_Out):
    """What a write did."""

    client_id: str
    version: int = Field(description="The client's version after the write (also the ``ETag``).")
    stored: list[str] = Field(description="Ids of the events written by this request.")
    duplicates: list[str] = Field(
        description="Ids of events already recorded: sent again, stored once, not written again."
    )
    status: str | None = Field(description="The current episode's status after the write.")


class HistoryLine(_Out):
    """One stored event, without its content."""

    version: int
    kind: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    event_id: str
    episode_id: str


class ClientView(_Out):
    """A client's FAMA record: every episode folded from its events, and its history."""

    client_id: str
    version: int = Field(description="Events recorded so far; send it back in ``If-Match``.")
    status: str | None = Field(description="The latest episode's status.")
    episodes: list[EpisodeState]
    history: list[HistoryLine]
    redacted: bool = Field(description="True when free text is replaced by ``[redacted]``.")


class StoredEventView(_Out):
    """A stored event with its content (free text redacted unless ``reveal``)."""

    version: int
    stored_at: dt.datetime
    event: Event


class DueGoal(_Out):
    goal_id: str
    kind: str
    status: str
    target_date: dt.date | None
    meeting: str | None
    description: str | None


class DueCommitment(_Out):
    commitment_id: str
    meeting: str
    organisation: str
    planned_date: dt.date
    accompaniment_requested: bool
    made_in_session: int


class DueAccompaniment(_Out):
    arrangement_id: str
    meeting: str
    date: dt.date


class DueStep(_Out):
    """A step of the next session, from the catalogue."""

    id: str
    title: str


class DueNextView(_Out):
    """What is due at the client's next session."""

    client_id: str
    version: int = Field(description="Send it back in ``If-Match`` when recording the session.")
    status: str | None
    episode_id: str | None
    next_session: str | None = Field(description="``1``, ``2`` or ``3``; null when none is open.")
    commitment_to_review: DueCommitment | None
    goals_to_review: list[DueGoal]
    goals_proposed: list[DueGoal]
    open_accompaniments: list[DueAccompaniment]
    allowed_events: list[str]
    steps: list[DueStep]
    meeting_alerts: list[MeetingAlert] = Field(
        default_factory=list,
        description="Open commitments or accompaniments whose meeting a refresh found changed "
        "or removed (empty unless the host passes a change report).",
    )


class WhoAmI(_Out):
    """The token's identity: its id and name, agency, role and what it may do."""

    token: str
    name: str
    agency: str
    role: str
    may: list[str]


class ExportSummaryView(BaseModel):
    """What an NDTMS export did or would do: rows, and what was left out, by reason.

    Further counts the exporter gains appear as further keys (``additionalProperties``).
    """

    model_config = ConfigDict(extra="allow")

    rows_written: int
    clients_with_rows: int
    episodes_with_rows: int = 0
    rejected: dict[str, int] = Field(description="Reason → records left out.")
    withheld: dict[str, int] = Field(description="Reason → treatment episodes withheld.")
    unflagged: dict[str, int] = Field(
        default_factory=dict, description="Reason → FAMA activities that set no flag."
    )
    reviews_left_out: dict[str, int] = Field(
        default_factory=dict, description="Reason → host reviews left out (would not validate)."
    )
    examples: dict[str, list[str]] = Field(description="Reason → records, never personal data.")


class RuleCount(_Out):
    """One validation rule an extract broke, how often, and the first rows that broke it."""

    code: str
    severity: str
    title: str
    national_code: str | None
    count: int
    examples: list[str]


class ValidationView(_Out):
    """The recovery-support checks of an NDTMS extract."""

    dataset: str
    errors: int = Field(description="Findings of severity error; warnings are the rest.")
    rules: list[RuleCount]


class Health(_Out):
    """The service is up; which fama it runs."""

    status: str
    version: str


class ErasureView(_Out):
    """What erasing a client did: its key is deleted, its personal text unreadable for good."""

    client_id: str
    events: int = Field(
        description="Events the stream held when erased: they stay, ids, codes and dates "
        "readable, every free text and typed-in name reading ``[erased]``."
    )
    erased_at: dt.datetime = Field(description="When the client was erased (UTC).")
    already: bool = Field(
        description="The client had been erased before; nothing more was done (``erased_at`` "
        "is the first erasure's)."
    )
    wal_cleared: bool = Field(
        description="The store's write-ahead log was emptied too. ``false``: a reader held it; "
        "erase again once it is released (the key is already gone from the database)."
    )


class HeldCategory(_Out):
    """A category of data fama holds about a client, and why."""

    what: str
    why: str


class SubjectEventView(_Out):
    """One stored event in full, as recorded (a subject access export hides nothing)."""

    version: int
    kind: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    stored_at: dt.datetime
    event: dict[str, Any] = Field(
        description="The event exactly as stored (its schema version's fields; free text "
        "included, or ``[erased]`` after an erasure)."
    )


class SubjectAccessView(_Out):
    """Everything fama holds about one client, for a subject access request (UK GDPR Art. 15).

    Personal text is included: it is the subject's own data. Deliver it securely.
    """

    client_id: str
    agency: str
    generated_at: dt.datetime
    erased_at: dt.datetime | None = Field(
        description="When the client's personal text was erased (null: never)."
    )
    held: list[HeldCategory] = Field(description="What fama holds, and why, in plain words.")
    events: list[SubjectEventView]
    episodes: list[EpisodeState] = Field(description="The record folded from the events.")


class IntegrityProblemView(_Out):
    """One finding of a log verification: where, what, and a sentence without any content."""

    client_id: str = Field(description="The stream concerned (empty for the store as a whole).")
    version: int | None = Field(description="The version concerned (null: the whole stream).")
    problem: str = Field(description="``edited``, ``removed``, ``moved``, ``head`` or ``damaged``.")
    detail: str


class VerifyView(_Out):
    """The agency's hash chains checked: every stream, every event, every head."""

    clients: int
    events: int
    ok: bool = Field(
        description="Nothing found, and the seal is the one expected when ``expect_seal`` was "
        "given."
    )
    problems: list[IntegrityProblemView]
    seal: str = Field(
        description="Digest of every stream's head. Keep it: a later verify given it as "
        "``expect_seal`` also finds events removed or rewritten since."
    )
    seal_matches: bool | None = Field(description="Null unless ``expect_seal`` was given.")
