"""Re-read every meeting source and say what changed: ``fama meetings refresh``.

The sources file lists where a service's meetings come from (the same file
the demo imports)::

    [{"file": "aa-northbridge.json", "format": "meeting-guide", "organisation": "aa"},
     {"url": "https://bmlt.example.org/main_server", "format": "bmlt",
      "organisation": "na", "timezone": "Europe/London", "name": "NA Southbridge"}]

Each entry has ``file`` (relative to the sources file) or ``url``, ``format``
and ``organisation``; optionally ``timezone`` (the default zone of its meetings)
and ``name`` (its label; else the file name or URL). A refresh reads each
source, compares its meetings with those the previous directory holds from
that source (:func:`fama_core.refresh.diff_meetings`) and keeps each meeting's
provenance (``source``, ``retrieved_at``). A source that cannot be read keeps
its previous meetings and is reported as failed, so a network failure never
reads as "every meeting removed".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from fama_adapters import net
from fama_adapters.meetings.report import ImportOptions, ImportReport, MeetingFeedError
from fama_adapters.meetings.sources import MeetingSource
from fama_core import safe_json
from fama_core.directory import Meeting
from fama_core.errors import FamaError, FieldProblem, InputUnreadable, InvalidRecord
from fama_core.refresh import ChangeKind, MeetingAlert, MeetingChange, alerts_for, diff_meetings
from fama_core.state import ClientState

__all__ = [
    "CHANGES_FORMAT",
    "RefreshReport",
    "SourceEntry",
    "SourceOutcome",
    "changes_json",
    "load_changes",
    "read_sources_file",
    "refresh_sources",
]

CHANGES_FORMAT = "fama-meeting-changes/1"
"""The format tag of the change report ``fama meetings refresh --changes`` writes."""


@dataclass(frozen=True)
class SourceEntry:
    """One source of the sources file."""

    label: str
    location: str
    """A path (resolved against the sources file's folder) or an http(s) URL."""
    format: str
    organisation: str
    timezone: str | None = None


def _entry(raw: Any, position: int, folder: Path) -> SourceEntry:
    record = f"sources[{position}]"

    def bad(name: str, reason: str) -> InvalidRecord:
        return InvalidRecord(
            record=record, kind="meeting source", problems=[FieldProblem(name, "invalid", reason)]
        )

    if not isinstance(raw, Mapping):
        raise bad("", "a source must be a JSON object")
    text: dict[str, str] = {}
    for key in ("file", "url", "format", "organisation", "timezone", "name"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > 2000:
            raise bad(key, "must be a non-empty string")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):  # a NUL crashed opening the file
            raise bad(key, "must not contain control characters")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):  # "\ud800" crashed it too
            raise bad(key, "must be text: a lone UTF-16 surrogate (\\ud800 …) is not")
        text[key] = value.strip()
    if ("file" in text) == ("url" in text):
        raise bad("file", "give exactly one of file and url")
    for key in ("format", "organisation"):
        if key not in text:
            raise bad(key, f"{key} is required")
    if "url" in text:
        if not text["url"].startswith(("http://", "https://")):
            raise bad("url", "only http and https URLs are read")
        location = text["url"]
    else:
        location = str(folder / text["file"])
    label = text.get("name") or text.get("file") or net.mask_url(location)
    return SourceEntry(
        label=label[:200],
        location=location,
        format=text["format"],
        organisation=text["organisation"],
        timezone=text.get("timezone"),
    )


def read_sources_file(path: str | Path) -> list[SourceEntry]:
    """Read and check a sources file; a bad entry is an :class:`InvalidRecord` naming it."""
    p = Path(path)
    try:
        data = safe_json.loads(p.read_bytes(), source=p.name)
    except OSError as exc:
        raise MeetingFeedError(
            source=p.name, reason=f"cannot read ({type(exc).__name__})"
        ) from exc  # the CLI tells a path it cannot open (exit 2) by this cause
    except InputUnreadable as exc:  # not JSON, nested too deeply, a 100,000-digit number
        raise MeetingFeedError(source=p.name, reason=exc.reason) from None
    if not isinstance(data, list):
        raise MeetingFeedError(source=p.name, reason="a sources file is a JSON array")
    entries = [_entry(raw, n, p.parent) for n, raw in enumerate(data)]
    labels = [e.label for e in entries]
    for n, label in enumerate(labels):
        if label in labels[:n]:
            raise InvalidRecord(
                record=f"sources[{n}]",
                kind="meeting source",
                problems=[FieldProblem("name", "duplicate", "two sources have the same label")],
            )
    return entries


@dataclass
class SourceOutcome:
    """What one source gave in a refresh."""

    entry: SourceEntry
    report: ImportReport | None = None
    failure: str | None = None
    """Why the source could not be read (its previous meetings are kept)."""
    changes: tuple[MeetingChange, ...] = ()

    def count(self, kind: ChangeKind) -> int:
        """How many meetings were added, changed or removed."""
        return sum(1 for c in self.changes if c.kind is kind)


@dataclass
class RefreshReport:
    """The outcome of a refresh: per source, the new directory and the clients concerned."""

    retrieved_at: dt.datetime
    sources: list[SourceOutcome] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    alerts: list[MeetingAlert] = field(default_factory=list)

    @property
    def changes(self) -> tuple[MeetingChange, ...]:
        """Every change, source by source."""
        return tuple(c for s in self.sources for c in s.changes)

    @property
    def partial(self) -> bool:
        """Some source failed or refused an entry."""
        return any(s.failure or (s.report and s.report.problems) for s in self.sources)


def refresh_sources(
    entries: Iterable[SourceEntry],
    previous: Iterable[Meeting],
    sources: Mapping[str, MeetingSource],
    *,
    now: dt.datetime,
    client: httpx.Client | None = None,
    states: Iterable[ClientState] = (),
    strict: bool = False,
) -> RefreshReport:
    """Re-read each source, diff it against ``previous``, and find the clients concerned.

    Meetings of ``previous`` whose source is no longer listed are reported
    removed under that source's label. ``states`` are the clients whose open
    commitments and accompaniments are checked against the changes.
    """
    report = RefreshReport(retrieved_at=now)
    by_source: dict[str | None, list[Meeting]] = {}
    for meeting in previous:
        by_source.setdefault(meeting.source, []).append(meeting)
    taken: dict[str, str] = {}
    for entry in entries:
        outcome = SourceOutcome(entry)
        report.sources.append(outcome)
        before = by_source.pop(entry.label, [])
        source = sources.get(entry.format)
        try:
            if source is None:
                raise MeetingFeedError(
                    source=entry.label,
                    reason="format: not one this installation reads (fama meetings sources)",
                )
            options = ImportOptions(
                organisation=entry.organisation,
                timezone=entry.timezone,
                source=entry.label,
                strict=strict,
                retrieved_at=now,
            )
            imported = source.load(entry.location, options=options, client=client)
        except FamaError as exc:
            outcome.failure = str(exc)
            kept = before
        else:
            outcome.report = imported
            kept = []
            for meeting in imported.meetings:
                if meeting.meeting_id in taken:
                    imported.problems.append(
                        InvalidRecord(
                            record=f"meeting {meeting.meeting_id}",
                            kind="meeting",
                            problems=[
                                FieldProblem(
                                    "meeting_id", "duplicate", "an earlier source lists this id"
                                )
                            ],
                        )
                    )
                    continue
                kept.append(meeting)
            outcome.changes = diff_meetings(before, kept)
        for meeting in kept:
            taken[meeting.meeting_id] = entry.label
            report.meetings.append(meeting)
    for label, left in by_source.items():  # sources no longer listed
        gone = SourceEntry(label=label or "(unnamed)", location="", format="", organisation="")
        report.sources.append(SourceOutcome(gone, changes=diff_meetings(left, ())))
    changes = report.changes
    for state in states:
        report.alerts.extend(alerts_for(state, changes))
    return report


def changes_json(report: RefreshReport) -> dict[str, Any]:
    """The change report as JSON (``fama-meeting-changes/1``), for ``fama show`` and scripts."""

    def source(s: SourceOutcome) -> dict[str, Any]:
        return {
            "source": s.entry.label,
            "failed": s.failure,
            "refused": len(s.report.problems) if s.report else 0,
            **{kind.value: s.count(kind) for kind in ChangeKind},
            "changes": [c.model_dump(mode="json", exclude_none=True) for c in s.changes],
        }

    return {
        "format": CHANGES_FORMAT,
        "retrieved_at": report.retrieved_at.isoformat(),
        "sources": [source(s) for s in report.sources],
        "alerts": [a.model_dump(mode="json", exclude_none=True) for a in report.alerts],
    }


def load_changes(path: str | Path) -> tuple[MeetingChange, ...]:
    """The changes of a saved change report (``--changes`` of a refresh)."""
    p = Path(path)
    try:
        data = safe_json.loads(p.read_bytes(), source=p.name)
    except OSError as exc:
        raise MeetingFeedError(
            source=p.name, reason=f"cannot read ({type(exc).__name__})"
        ) from exc  # the CLI tells a path it cannot open (exit 2) by this cause
    except InputUnreadable as exc:  # not JSON, nested too deeply, a 100,000-digit number
        raise MeetingFeedError(source=p.name, reason=exc.reason) from None
    if not isinstance(data, dict) or data.get("format") != CHANGES_FORMAT:
        raise MeetingFeedError(source=p.name, reason=f"not a {CHANGES_FORMAT} file")
    changes: list[MeetingChange] = []
    sources = data.get("sources")
    for n, item in enumerate(sources if isinstance(sources, list) else []):
        listed = item.get("changes") if isinstance(item, dict) else None
        for m, raw in enumerate(listed if isinstance(listed, list) else []):
            try:
                changes.append(MeetingChange.model_validate(raw))
            except ValueError:
                raise MeetingFeedError(
                    source=p.name, reason=f"sources[{n}].changes[{m}] is not a meeting change"
                ) from None
    return tuple(changes)
