"""What changed between two reads of the meeting directory, and which clients it concerns.

Pure: two lists of :class:`~fama_core.directory.Meeting` in, a list of
:class:`MeetingChange` out (added, changed with the fields that changed,
removed); then, for one client's state, the :class:`MeetingAlert` for each
open commitment or peer accompaniment whose meeting was changed or removed.
A keyworker sees those alerts in the client's due-next, before the session
that reviews the commitment: a meeting that moved day or closed is the first
thing to tell a client who promised to go.

A meeting is the same meeting when its ``meeting_id`` is the same. Fields
compared are every :class:`Meeting` field except the provenance of the read
itself (``retrieved_at``); a meeting read from another source counts as changed
in ``source``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from pydantic import Field

from fama_core.directory import Meeting
from fama_core.models import FamaModel, MeetingRef
from fama_core.state import ClientState

__all__ = [
    "COMPARED_FIELDS",
    "ChangeKind",
    "MeetingAlert",
    "MeetingChange",
    "alerts_for",
    "diff_meetings",
]

COMPARED_FIELDS: tuple[str, ...] = tuple(
    name for name in Meeting.model_fields if name not in ("retrieved_at",)
)
"""The :class:`Meeting` fields a refresh compares, in declaration order."""


class ChangeKind(StrEnum):
    """What became of a meeting between two reads of its source."""

    ADDED = "added"
    CHANGED = "changed"
    REMOVED = "removed"


class MeetingChange(FamaModel):
    """One meeting added, changed or removed by a refresh."""

    kind: ChangeKind
    meeting_id: str
    name: str = Field(description="The meeting's name now (its last name when removed).")
    organisation: str
    source: str | None = Field(
        default=None, description="The source it came from (the earlier one when removed)."
    )
    fields: tuple[str, ...] = Field(
        default=(), description="For a change: which Meeting fields differ, in model order."
    )
    previous_name: str | None = Field(
        default=None, description="The name before a change, when the name changed."
    )

    def text(self) -> str:
        """One line for a report: ``changed "Name" (slots, address)``."""
        line = f'{self.kind.value} "{self.name}"'
        if self.fields:
            line += f" ({', '.join(self.fields)})"
        return line


def _changed_fields(before: Meeting, after: Meeting) -> tuple[str, ...]:
    return tuple(f for f in COMPARED_FIELDS if getattr(before, f) != getattr(after, f))


def diff_meetings(before: Iterable[Meeting], after: Iterable[Meeting]) -> tuple[MeetingChange, ...]:
    """Changes from ``before`` to ``after``: added and changed in ``after``'s order, then removed.

    Unchanged meetings give nothing. Ids are expected unique on each side
    (a :class:`~fama_core.directory.MeetingDirectory` guarantees it); when not,
    the last of an id wins.
    """
    old = {m.meeting_id: m for m in before}
    changes: list[MeetingChange] = []
    seen: set[str] = set()
    for meeting in after:
        seen.add(meeting.meeting_id)
        earlier = old.get(meeting.meeting_id)
        if earlier is None:
            changes.append(
                MeetingChange(
                    kind=ChangeKind.ADDED,
                    meeting_id=meeting.meeting_id,
                    name=meeting.name,
                    organisation=meeting.organisation,
                    source=meeting.source,
                )
            )
            continue
        fields = _changed_fields(earlier, meeting)
        if fields:
            changes.append(
                MeetingChange(
                    kind=ChangeKind.CHANGED,
                    meeting_id=meeting.meeting_id,
                    name=meeting.name,
                    organisation=meeting.organisation,
                    source=meeting.source,
                    fields=fields,
                    previous_name=earlier.name if earlier.name != meeting.name else None,
                )
            )
    for meeting_id, earlier in old.items():
        if meeting_id not in seen:
            changes.append(
                MeetingChange(
                    kind=ChangeKind.REMOVED,
                    meeting_id=meeting_id,
                    name=earlier.name,
                    organisation=earlier.organisation,
                    source=earlier.source,
                )
            )
    return tuple(changes)


class MeetingAlert(FamaModel):
    """An open commitment or accompaniment whose meeting was changed or removed."""

    client_id: str
    episode_id: str
    refers: Literal["commitment", "accompaniment"]
    reference_id: str = Field(description="The commitment or arrangement id.")
    planned_date: dt.date | None = Field(
        default=None, description="The date the client planned to attend (a commitment)."
    )
    change: MeetingChange

    def text(self) -> str:
        """One line for a keyworker: what was agreed and what became of its meeting."""
        when = f" on {self.planned_date:%a %d %b}" if self.planned_date else ""
        return f"{self.refers}{when}: meeting {self.change.text()}"


def _refers_to(ref: MeetingRef, change: MeetingChange) -> bool:
    """Whether a recorded meeting reference names the changed meeting.

    By id when the record has one; a record without an id (the host keeps no
    directory ids) is matched by organisation and exact name, the name it had
    before the change.
    """
    if ref.meeting_id is not None:
        return ref.meeting_id == change.meeting_id
    names = {change.name, change.previous_name or change.name}
    return ref.organisation == change.organisation and ref.name in names


def alerts_for(state: ClientState, changes: Iterable[MeetingChange]) -> tuple[MeetingAlert, ...]:
    """Alerts for the client's open commitment and open accompaniments (current episode only).

    Added meetings concern nobody; a changed or removed meeting concerns the
    commitment awaiting review and each accompaniment whose outcome is not yet
    recorded. Closed episodes and reviewed commitments are history.
    """
    episode = state.current
    if episode is None or episode.ended_on is not None:
        return ()
    relevant = [c for c in changes if c.kind is not ChangeKind.ADDED]
    alerts: list[MeetingAlert] = []
    outstanding = episode.outstanding_commitment
    if outstanding is not None:
        commitment = outstanding.commitment
        for change in relevant:
            if _refers_to(commitment.meeting, change):
                alerts.append(
                    MeetingAlert(
                        client_id=state.client_id,
                        episode_id=episode.episode_id,
                        refers="commitment",
                        reference_id=commitment.commitment_id,
                        planned_date=commitment.planned_date,
                        change=change,
                    )
                )
    for accompaniment in episode.accompaniments:
        if accompaniment.outcome is not None:
            continue
        arrangement = accompaniment.arrangement
        for change in relevant:
            if _refers_to(arrangement.meeting, change):
                alerts.append(
                    MeetingAlert(
                        client_id=state.client_id,
                        episode_id=episode.episode_id,
                        refers="accompaniment",
                        reference_id=arrangement.arrangement_id,
                        change=change,
                    )
                )
    return tuple(alerts)
