"""Reading the report's inputs: event logs, a meeting directory snapshot, the partnership's answers.

Each reader keeps going past a bad record and returns what went wrong beside
what it read, naming the file, line or entry and the field, never the value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from fama_core.codes import AttendanceMode
from fama_core.commissioning import DirectoryMeeting, PartnershipInput, parse_partnership_json
from fama_core.errors import FamaError, FieldProblem, InvalidRecord, invalid_record_from_pydantic
from fama_core.events import Event, events_from_json_lines
from fama_core.models import FamaModel, Identifier, OrganisationCode
from fama_core.state import ClientState
from fama_core.workflow import apply

__all__ = [
    "DirectoryEntry",
    "completeness_share",
    "load_caseload",
    "load_completeness",
    "load_directory",
    "load_partnership",
    "parse_directory",
]


class DirectoryEntry(FamaModel):
    """One meeting in a directory snapshot file (fama's minimal interchange form).

    ``weekdays`` are ISO days (1 Monday … 7 Sunday); ``start_time`` is local
    ``HH:MM``; ``types`` are Meeting Guide type codes (``W`` women-only …).
    """

    id: Identifier
    name: str = Field(default="", max_length=255)
    organisation: OrganisationCode
    weekdays: tuple[int, ...] = ()
    start_time: dt.time | None = None
    attendance_mode: AttendanceMode = AttendanceMode.IN_PERSON
    types: tuple[str, ...] = ()
    last_verified: dt.date | None = None

    @field_validator("weekdays")
    @classmethod
    def _iso_days(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= d <= 7 for d in days):
            raise ValueError("weekdays are ISO days 1 (Monday) to 7 (Sunday)")
        return days

    def to_meeting(self) -> DirectoryMeeting:
        """As the analysis reads it."""
        return DirectoryMeeting.weekly(
            self.id,
            self.organisation,
            self.weekdays,
            self.start_time,
            attendance_mode=self.attendance_mode,
            types=frozenset(t.upper() for t in self.types),
            last_verified=self.last_verified,
            name=self.name,
        )


def parse_directory(
    data: object, *, source: str = "meetings"
) -> tuple[list[DirectoryMeeting], list[InvalidRecord]]:
    """Validate a decoded directory (a JSON array); bad entries are reported and skipped."""
    if not isinstance(data, list):
        raise InvalidRecord(
            record=source,
            kind="meeting directory",
            problems=[FieldProblem("", "type", "must be a JSON array of meetings")],
        )
    meetings, problems = [], []
    for i, raw in enumerate(data):
        try:
            meetings.append(DirectoryEntry.model_validate(raw).to_meeting())
        except ValidationError as exc:
            problems.append(
                invalid_record_from_pydantic(exc, record=f"{source}[{i}]", kind="meeting")
            )
    return meetings, problems


def load_directory(path: Path) -> tuple[list[DirectoryMeeting], list[InvalidRecord]]:
    """Read a directory snapshot file (see :class:`DirectoryEntry`)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        raise InvalidRecord(
            record=path.name,
            kind="meeting directory",
            problems=[FieldProblem("", "json_invalid", "not a valid JSON document")],
        ) from None
    return parse_directory(data, source=path.name)


def load_partnership(path: Path) -> tuple[PartnershipInput, list[InvalidRecord]]:
    """Read the partnership's answers and action plan (JSON)."""
    return parse_partnership_json(path.read_bytes(), record=path.name)


def load_caseload(
    paths: Iterable[Path],
) -> tuple[dict[str, ClientState], list[FamaError]]:
    """Fold every client's events from JSON-lines logs, in file order.

    A line that is not a valid event, or an event the workflow refuses, is
    reported (file and line) and skipped; the client's other events still apply.
    """
    states: dict[str, ClientState] = {}
    problems: list[FamaError] = []
    for path in paths:
        with path.open("rb") as fh:
            for number, result in events_from_json_lines(fh):
                if isinstance(result, InvalidRecord):
                    problems.append(FamaError(f"{path.name}: {result}"))
                    continue
                event: Event = result
                try:
                    states[event.client_id] = apply(states.get(event.client_id), event)
                except FamaError as refused:
                    problems.append(FamaError(f"{path.name}: line {number}: {refused}"))
    return states, problems


def completeness_share(data: object, *, record: str = "completeness") -> float | None:
    """The share of clients with FAMA recorded whose NDTMS recovery-support review is complete.

    ``data`` is the JSON that ``fama ndtms completeness --json`` prints (its
    ``overall`` counts). Incomplete: reviews missing, flags invalid or empty.
    ``None`` when no client had facilitation recorded (nothing to measure).
    """
    overall = data.get("overall") if isinstance(data, dict) else None
    keys = ("facilitation_recorded", "reviews_missing", "invalid_flags", "flags_empty")
    if not isinstance(overall, dict) or not all(
        isinstance(overall.get(k), int) and overall[k] >= 0 for k in keys
    ):
        raise InvalidRecord(
            record=record,
            kind="NDTMS completeness",
            problems=[
                FieldProblem("overall", "missing", "needs whole-number counts: " + ", ".join(keys))
            ],
        )
    recorded = int(overall["facilitation_recorded"])
    if recorded == 0:
        return None
    incomplete = sum(int(overall[k]) for k in keys[1:])
    return max(0, recorded - incomplete) / recorded


def load_completeness(path: Path) -> float | None:
    """Read a ``fama ndtms completeness --json`` file (see :func:`completeness_share`)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except ValueError:
        raise InvalidRecord(
            record=path.name,
            kind="NDTMS completeness",
            problems=[FieldProblem("", "json_invalid", "not a valid JSON document")],
        ) from None
    return completeness_share(data, record=path.name)
