"""Reading the report's inputs: event logs, saved meeting directories, the partnership's answers.

Each reader keeps going past a bad record and returns what went wrong beside
what it read, naming the file, line or entry and the field, never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from fama_adapters.meetings.store import load_directory as load_saved_directory
from fama_core import safe_json
from fama_core.commissioning import (
    AccessReport,
    DirectoryMeeting,
    PartnershipInput,
    from_directory,
    parse_partnership_json,
)
from fama_core.directory import Meeting
from fama_core.errors import FamaError, FieldProblem, InputUnreadable, InvalidRecord
from fama_core.events import Event, events_from_json_lines
from fama_core.state import ClientState
from fama_core.workflow import apply

__all__ = [
    "completeness_share",
    "load_caseload",
    "load_completeness",
    "load_completeness_data",
    "load_earlier",
    "load_meetings",
    "load_partnership",
]


def load_meetings(
    paths: Iterable[Path], *, week_of: dt.date, area_timezone: str = "Europe/London"
) -> list[DirectoryMeeting]:
    """Read saved meeting directories (``fama meetings import --out``) for availability.

    Several files (one per feed) are read together; a meeting id listed in two
    is counted once, from the first file. A file that is not a saved directory
    is a :class:`~fama_adapters.meetings.report.MeetingFeedError` naming it.
    """
    seen: set[str] = set()
    meetings: list[Meeting] = []
    for path in paths:
        for meeting in load_saved_directory(path):
            if meeting.meeting_id not in seen:
                seen.add(meeting.meeting_id)
                meetings.append(meeting)
    return from_directory(meetings, week_of=week_of, area_timezone=area_timezone)


def load_earlier(path: Path) -> AccessReport:
    """The access figures of a report already published (its ``report.json``).

    Only the ``access`` part is read; a file that is not a fama report is an
    :class:`~fama_core.errors.InputUnreadable` naming the option and the file.
    """
    source = f"--earlier {path.name}"
    data = safe_json.loads(path.read_bytes(), source=source)
    try:
        access = data["access"] if isinstance(data, dict) else None
        return AccessReport.model_validate(access)
    except (ValueError, KeyError, RecursionError):
        raise InputUnreadable(
            source=source, reason="not the report.json of a fama report (no valid access figures)"
        ) from None


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
    return completeness_share(load_completeness_data(path), record=path.name)


def load_completeness_data(path: Path) -> object:
    """The decoded ``fama ndtms completeness --json`` file (per keyworker and overall)."""
    try:
        return safe_json.loads(path.read_bytes(), source=path.name)
    except InputUnreadable:
        raise InvalidRecord(
            record=path.name,
            kind="NDTMS completeness",
            problems=[FieldProblem("", "json_invalid", "not a valid JSON document")],
        ) from None
