"""The JSON bodies of ``fama serve``, as its OpenAPI document shows them.

Events are the core's own models (:data:`fama_core.events.Event`); client
state is the core's :class:`~fama_core.state.EpisodeState`. Models here only
wrap them in what HTTP needs (versions, ids, redaction flags).
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from fama_core.events import Event
from fama_core.refresh import MeetingAlert
from fama_core.state import EpisodeState

__all__ = [
    "ClientView",
    "DueNextView",
    "DueStep",
    "ExportSummaryView",
    "Health",
    "HistoryLine",
    "RecordedView",
    "RuleCount",
    "StoredEventView",
    "ValidationView",
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
