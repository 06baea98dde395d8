"""Reading the report's inputs: event logs, saved meeting directories, the partnership's answers.

Each reader keeps going past a bad record and returns what went wrong beside
what it read, naming the file, line or entry and the field, never the value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fama_adapters.meetings.store import load_directory as load_saved_directory
from fama_adapters.report.bundle import NotCounted, tally_not_counted
from fama_core import safe_json
from fama_core.commissioning import (
    AccessReport,
    ClientJourney,
    DirectoryMeeting,
    PartnershipInput,
    from_directory,
    journeys_from_caseload,
    parse_partnership_json,
)
from fama_core.directory import Meeting
from fama_core.errors import FamaError, FieldProblem, InputUnreadable, InvalidRecord
from fama_core.events import Event, events_from_json_lines
from fama_core.state import ClientState
from fama_core.workflow import fold

__all__ = [
    "Period",
    "StreamedCaseload",
    "completeness_share",
    "load_caseload",
    "load_completeness",
    "load_completeness_data",
    "load_earlier",
    "load_meetings",
    "load_partnership",
    "stream_journeys",
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


Period = tuple[dt.date | None, dt.date | None]
"""First and last session-1 date of a report period (``None``: open)."""


@dataclass
class StreamedCaseload:
    """What ``fama report`` keeps of an event log: each client's journeys, nothing else."""

    journeys: dict[Period, list[ClientJourney]]
    """The journeys of each period asked for, one per client at most."""
    clients: int
    """Clients with at least one usable event."""
    problems: list[FamaError]
    not_counted: NotCounted = field(default_factory=NotCounted)
    """How many clients and events were left out, by reason (no client ids)."""


def _journeys_of(state: ClientState | None, periods: Sequence[Period]) -> tuple[Any, ...]:
    if state is None:
        return tuple(None for _ in periods)
    out = []
    for start, end in periods:
        found = journeys_from_caseload((state,), start=start, end=end)
        out.append(found[0] if found else None)
    return tuple(out)


def _apply_stored(state: ClientState | None, event: Event) -> ClientState:
    """``event`` applied to ``state`` as a stored event is replayed.

    A report reads logs already recorded: an event that breaks only a rule
    added after it was written (:data:`~fama_core.workflow.NEWER_RULES`) is
    kept and flagged on its episode, as ``fama replay``, every read of a store
    and the NDTMS export keep it, so the report counts what they count. Any
    other refusal still raises.
    """
    return fold((event,), state, flag_newer_rules=True)


def stream_journeys(paths: Sequence[Path], periods: Sequence[Period]) -> StreamedCaseload:
    """Fold each client's events and keep only its journeys: the report's path at scale.

    Events are read line by line, in file order. A client's events that come
    together (as an event store exports them, stream by stream) are folded
    as soon as the next client starts, and only the report's view of them
    (:class:`~fama_core.commissioning.ClientJourney`, one per period) is kept.
    A client whose events are split (interleaved with others, or in several
    files) is folded again from a second pass over the files that reads only
    its events. Bad lines and refused events are reported (file and line) and
    skipped, as :func:`load_caseload` does.
    """
    kept: dict[str, tuple[Any, ...]] = {}
    problems: list[tuple[str | None, FamaError]] = []
    split: set[str] = set()
    refused: dict[str, tuple[bool, dict[str, int]]] = {}
    unreadable = 0

    def fold_block(
        client: str, events: list[tuple[str, int, Event]], into: dict[str, tuple[Any, ...]]
    ) -> None:
        state: ClientState | None = None
        skipped = 0
        for name, number, event in events:
            try:
                state = _apply_stored(state, event)
            except FamaError as refusal:
                skipped += 1
                problems.append((client, FamaError(f"{name}: line {number}: {refusal}")))
        if skipped:
            refused[client] = (state is not None, {"refused": skipped})
        if state is not None:
            into[client] = _journeys_of(state, periods)

    def read(only: set[str] | None) -> Iterator[tuple[str, int, Event]]:
        nonlocal unreadable
        for path in paths:
            with path.open("rb") as fh:
                for number, result in events_from_json_lines(fh):
                    if isinstance(result, InvalidRecord):
                        if only is None:
                            unreadable += 1
                            problems.append((None, FamaError(f"{path.name}: {result}")))
                        continue
                    if only is None or result.client_id in only:
                        yield path.name, number, result

    current: str | None = None
    block: list[tuple[str, int, Event]] = []
    seen: set[str] = set()
    for name, number, event in read(None):
        if event.client_id != current:
            if current is not None:
                fold_block(current, block, kept)
            current, block = event.client_id, []
            if current in seen:
                split.add(current)
            seen.add(current)
        block.append((name, number, event))
    if current is not None:
        fold_block(current, block, kept)
    del block, seen
    if split:
        problems = [(c, p) for c, p in problems if c not in split]
        for client in split:
            kept.pop(client, None)
            refused.pop(client, None)
        gathered: dict[str, list[tuple[str, int, Event]]] = {}
        for name, number, event in read(split):
            gathered.setdefault(event.client_id, []).append((name, number, event))
        for client, events in gathered.items():
            fold_block(client, events, kept)
    journeys: dict[Period, list[ClientJourney]] = {period: [] for period in periods}
    for found in kept.values():
        for period, journey in zip(periods, found, strict=True):
            if journey is not None:
                journeys[period].append(journey)
    return StreamedCaseload(
        journeys=journeys,
        clients=len(kept),
        problems=[p for _c, p in problems],
        not_counted=tally_not_counted(
            refused.values(), {"unreadable": unreadable} if unreadable else None
        ),
    )


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
                    states[event.client_id] = _apply_stored(states.get(event.client_id), event)
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
