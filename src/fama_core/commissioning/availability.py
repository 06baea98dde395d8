"""Availability of mutual aid: what the local meeting directory offers, and where the gaps are.

The commissioners' guide asks partnerships to understand "the availability of
mutual aid" and "identify any gaps": which organisations of annexes 1 and 2
meet locally, on which days and at which times, in person or online, for women,
for families, and whether the directory itself is current. This module counts
meetings (public information, not people: nothing here is suppressed).

It reads any object shaped like :class:`MeetingLike`;
:func:`from_directory` gives that view of the meeting directory's own
:class:`~fama_core.directory.Meeting` (Sunday-0 weekdays become ISO days, the
meeting's features become Meeting Guide type codes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import Field

from fama_core.codes import AttendanceMode, OrganisationApproach, OrganisationAudience
from fama_core.directory import Meeting, Weekday, zone
from fama_core.models import FamaModel, Organisation

__all__ = [
    "DEFAULT_STALE_AFTER_DAYS",
    "WEEKDAYS",
    "AvailabilityReport",
    "DayBandCount",
    "DirectoryMeeting",
    "GapKind",
    "MeetingKind",
    "MeetingLike",
    "OrganisationAvailability",
    "StaleEntry",
    "TimeBand",
    "TimeGap",
    "analyse_availability",
    "from_directory",
    "kinds_of",
    "time_band",
]

DEFAULT_STALE_AFTER_DAYS = 365
"""A directory entry not verified in this many days is listed as not verified recently.

The same age the meeting directory uses to flag a listing stale, so a
hand-out and the commissioners' report agree on which entries need checking.
"""

WEEKDAYS: tuple[str, ...] = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
"""ISO weekday names, index 0 is ISO day 1 (Monday)."""


@runtime_checkable
class MeetingLike(Protocol):
    """What availability needs from a meeting in a directory.

    ``slots`` are the weekly occurrences as ``(ISO weekday, local start time)``
    pairs (1 Monday … 7 Sunday), empty for a meeting by appointment. ``types``
    are Meeting Guide type codes (``W`` women, ``M`` men, ``ONL`` online …) in
    upper case.
    """

    @property
    def meeting_id(self) -> str:
        """The directory's key for the meeting."""

    @property
    def organisation(self) -> str:
        """Code of the organisation holding it (``aa``, ``smart`` …)."""

    @property
    def slots(self) -> tuple[tuple[int, dt.time], ...]:
        """Weekly occurrences: (ISO weekday, local start time)."""

    @property
    def attendance_mode(self) -> AttendanceMode:
        """In person, online, hybrid, or inactive."""

    @property
    def types(self) -> frozenset[str]:
        """Meeting Guide type codes."""

    @property
    def last_verified(self) -> dt.date | None:
        """When someone last checked the entry is right."""


@dataclass(frozen=True, slots=True)
class DirectoryMeeting:
    """A plain meeting record satisfying :class:`MeetingLike` (fixtures, demos, hosts)."""

    meeting_id: str
    organisation: str
    slots: tuple[tuple[int, dt.time], ...] = ()
    attendance_mode: AttendanceMode = AttendanceMode.IN_PERSON
    types: frozenset[str] = field(default_factory=frozenset)
    last_verified: dt.date | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if any(not 1 <= day <= 7 for day, _start in self.slots):
            raise ValueError("weekdays are ISO days 1 (Monday) to 7 (Sunday)")

    @classmethod
    def weekly(
        cls,
        meeting_id: str,
        organisation: str,
        weekdays: tuple[int, ...] | list[int],
        start_time: dt.time | None,
        *,
        attendance_mode: AttendanceMode = AttendanceMode.IN_PERSON,
        types: frozenset[str] = frozenset(),
        last_verified: dt.date | None = None,
        name: str = "",
    ) -> DirectoryMeeting:
        """A meeting held at one start time on each of ``weekdays`` (none: by appointment)."""
        slots = tuple((day, start_time) for day in weekdays) if start_time is not None else ()
        return cls(meeting_id, organisation, slots, attendance_mode, types, last_verified, name)


def _area_slots(meeting: Meeting, area: str, week_of: dt.date) -> tuple[tuple[int, dt.time], ...]:
    if meeting.timezone == area:
        return tuple(
            (7 if slot.day is Weekday.SUNDAY else int(slot.day), slot.start)
            for slot in meeting.slots
        )
    out = []
    for slot in meeting.slots:
        start = next(slot.occurrences(meeting.tz, week_of, week_of + dt.timedelta(days=6)))
        here = start.astimezone(zone(area))
        out.append((here.isoweekday(), here.time().replace(tzinfo=None)))
    return tuple(out)


def from_directory(
    meetings: Iterable[Meeting], *, week_of: dt.date, area_timezone: str = "Europe/London"
) -> list[DirectoryMeeting]:
    """The directory's meetings as availability reads them, in the area's local time.

    A meeting listed in another time zone (an online meeting run from
    elsewhere) is placed by when it happens in ``area_timezone`` during the
    week starting ``week_of``, so clock changes are taken as they fall then.
    """
    zone(area_timezone)  # refuse an unknown zone at once, before any meeting
    return [
        DirectoryMeeting(
            meeting_id=m.meeting_id,
            organisation=m.organisation,
            slots=_area_slots(m, area_timezone, week_of),
            attendance_mode=m.attendance,
            types=frozenset(code.upper() for code in m.type_codes()),
            last_verified=m.last_verified,
            name=m.name,
        )
        for m in meetings
    ]


class TimeBand(StrEnum):
    """Time of day of a meeting's start (fama's bands, ``docs/decisions.md``)."""

    MORNING = "morning"
    """05:00-11:59."""
    AFTERNOON = "afternoon"
    """12:00-16:59."""
    EVENING = "evening"
    """17:00-04:59: evening and late-night meetings, counted on their own weekday."""


def time_band(start: dt.time) -> TimeBand:
    """The band a local start time falls in."""
    if 5 <= start.hour < 12:
        return TimeBand.MORNING
    if 12 <= start.hour < 17:
        return TimeBand.AFTERNOON
    return TimeBand.EVENING


class MeetingKind(StrEnum):
    """Kinds of meeting a partnership looks for on each day (the gaps are per kind)."""

    ANY_IN_PERSON = "any_in_person"
    """Any meeting one can attend in person (in person or hybrid)."""
    TWELVE_STEP = "twelve_step"
    """A 12-step fellowship meeting attended in person."""
    SECULAR = "secular"
    """A secular meeting (SMART Recovery …) attended in person."""
    WOMEN_ONLY = "women_only"
    """A women-only meeting (Meeting Guide type ``W``), in person."""
    FAMILY = "family"
    """A meeting for families and friends (annex 2), in person."""
    ONLINE = "online"
    """A meeting one can join online (online or hybrid)."""


def kinds_of(meeting: MeetingLike, organisations: Mapping[str, Organisation]) -> set[MeetingKind]:
    """Every kind a meeting counts as; an inactive meeting counts as none."""
    mode = meeting.attendance_mode
    if mode is AttendanceMode.INACTIVE:
        return set()
    kinds: set[MeetingKind] = set()
    if mode in (AttendanceMode.ONLINE, AttendanceMode.HYBRID):
        kinds.add(MeetingKind.ONLINE)
    if mode in (AttendanceMode.IN_PERSON, AttendanceMode.HYBRID):
        kinds.add(MeetingKind.ANY_IN_PERSON)
        org = organisations.get(meeting.organisation)
        if org is not None and org.approach is OrganisationApproach.TWELVE_STEP:
            kinds.add(MeetingKind.TWELVE_STEP)
        if org is not None and org.approach is OrganisationApproach.SECULAR:
            kinds.add(MeetingKind.SECULAR)
        if org is not None and org.audience is OrganisationAudience.FAMILIES_AND_FRIENDS:
            kinds.add(MeetingKind.FAMILY)
        if "W" in meeting.types:
            kinds.add(MeetingKind.WOMEN_ONLY)
    return kinds


class GapKind(StrEnum):
    """Whether a gap covers a whole day or only its evening."""

    WHOLE_DAY = "whole_day"
    EVENING = "evening"


class OrganisationAvailability(FamaModel):
    """One organisation's meetings in the directory, by how they are attended."""

    code: str
    name: str
    annex: str | None = Field(description="'1' or '2' for the guide's annexes; None for local.")
    in_person: int = Field(description="Weekly meeting slots attended in person (incl. hybrid).")
    online: int = Field(description="Weekly meeting slots joinable online (incl. hybrid).")
    women_only: int
    weekdays_covered: int = Field(description="Distinct weekdays with an in-person meeting.")

    @property
    def has_local_meeting(self) -> bool:
        """At least one meeting one can attend in person."""
        return self.in_person > 0


class DayBandCount(FamaModel):
    """How many weekly meeting slots of one kind start on one weekday in one time band."""

    kind: MeetingKind
    weekday: int = Field(ge=1, le=7)
    band: TimeBand
    meetings: int


class TimeGap(FamaModel):
    """A weekday (or its evening) with no meeting of a kind."""

    kind: MeetingKind
    weekday: int = Field(ge=1, le=7)
    gap: GapKind


class StaleEntry(FamaModel):
    """A directory entry not verified recently (or never)."""

    meeting_id: str
    organisation: str
    last_verified: dt.date | None
    days_since: int | None


class AvailabilityReport(FamaModel):
    """What the directory offers and where it falls short, as of one date."""

    as_of: dt.date
    stale_after_days: int
    meetings: int = Field(description="Directory entries read (active and inactive).")
    inactive: int
    by_appointment: int = Field(description="Active entries with no weekday or start time.")
    slots: int = Field(description="Active weekly meeting slots (one per meeting per weekday).")
    organisations: tuple[OrganisationAvailability, ...]
    grid: tuple[DayBandCount, ...]
    no_local_meeting: tuple[str, ...] = Field(
        description="Codes of annex 1 and 2 organisations with no in-person meeting."
    )
    online_only: tuple[str, ...] = Field(
        description="Codes of organisations with online meetings but none in person."
    )
    time_gaps: tuple[TimeGap, ...]
    stale: tuple[StaleEntry, ...]
    unknown_organisations: tuple[str, ...] = Field(
        description="Organisation codes in the directory that the catalogue does not know."
    )

    def count(self, kind: MeetingKind, weekday: int, band: TimeBand | None = None) -> int:
        """Slots of ``kind`` on ``weekday`` (in ``band``, or all day)."""
        return sum(
            c.meetings
            for c in self.grid
            if c.kind is kind and c.weekday == weekday and (band is None or c.band is band)
        )


def _annex(org: Organisation) -> str | None:
    if org.local:
        return None
    return "2" if org.audience is OrganisationAudience.FAMILIES_AND_FRIENDS else "1"


def analyse_availability(
    meetings: Iterable[MeetingLike],
    organisations: Mapping[str, Organisation],
    *,
    as_of: dt.date,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> AvailabilityReport:
    """Count a directory's meetings and find its gaps.

    ``organisations`` is the catalogue's (``load_catalogue().organisations``),
    possibly with a host's local ones. A meeting counts once per weekday it
    meets on (a *slot*). Inactive meetings are counted apart and fill no gap.
    """
    if stale_after_days < 0:
        raise ValueError("stale_after_days must not be negative")
    cells: dict[tuple[MeetingKind, int, TimeBand], int] = {}
    per_org: dict[str, dict[str, int]] = {}
    per_org_days: dict[str, set[int]] = {}
    stale: list[StaleEntry] = []
    unknown: set[str] = set()
    total = inactive = by_appointment = slot_count = 0
    for meeting in meetings:
        total += 1
        verified = meeting.last_verified
        age = (as_of - verified).days if verified is not None else None
        if age is None or age > stale_after_days:
            stale.append(
                StaleEntry(
                    meeting_id=meeting.meeting_id,
                    organisation=meeting.organisation,
                    last_verified=verified,
                    days_since=age,
                )
            )
        if meeting.organisation not in organisations:
            unknown.add(meeting.organisation)
        if meeting.attendance_mode is AttendanceMode.INACTIVE:
            inactive += 1
            continue
        slots = sorted(set(meeting.slots))
        if not slots:
            by_appointment += 1
            continue
        kinds = kinds_of(meeting, organisations)
        counts = per_org.setdefault(
            meeting.organisation, {"in_person": 0, "online": 0, "women_only": 0}
        )
        for day, start in slots:
            band = time_band(start)
            slot_count += 1
            for kind in kinds:
                cells[(kind, day, band)] = cells.get((kind, day, band), 0) + 1
            if MeetingKind.ANY_IN_PERSON in kinds:
                counts["in_person"] += 1
                per_org_days.setdefault(meeting.organisation, set()).add(day)
            if MeetingKind.ONLINE in kinds:
                counts["online"] += 1
            if MeetingKind.WOMEN_ONLY in kinds:
                counts["women_only"] += 1
    org_rows = []
    for code in sorted(set(organisations) | set(per_org)):
        org = organisations.get(code)
        counts = per_org.get(code, {"in_person": 0, "online": 0, "women_only": 0})
        org_rows.append(
            OrganisationAvailability(
                code=code,
                name=org.name if org else code,
                annex=_annex(org) if org else None,
                in_person=counts["in_person"],
                online=counts["online"],
                women_only=counts["women_only"],
                weekdays_covered=len(per_org_days.get(code, ())),
            )
        )
    grid = tuple(
        DayBandCount(kind=kind, weekday=day, band=band, meetings=cells.get((kind, day, band), 0))
        for kind in MeetingKind
        for day in range(1, 8)
        for band in TimeBand
    )
    gaps: list[TimeGap] = []
    for kind in MeetingKind:
        for day in range(1, 8):
            whole = sum(cells.get((kind, day, b), 0) for b in TimeBand)
            if whole == 0:
                gaps.append(TimeGap(kind=kind, weekday=day, gap=GapKind.WHOLE_DAY))
            elif cells.get((kind, day, TimeBand.EVENING), 0) == 0:
                gaps.append(TimeGap(kind=kind, weekday=day, gap=GapKind.EVENING))
    annexed = [r for r in org_rows if r.annex is not None]
    return AvailabilityReport(
        as_of=as_of,
        stale_after_days=stale_after_days,
        meetings=total,
        inactive=inactive,
        by_appointment=by_appointment,
        slots=slot_count,
        organisations=tuple(org_rows),
        grid=grid,
        no_local_meeting=tuple(r.code for r in annexed if r.in_person == 0),
        online_only=tuple(r.code for r in org_rows if r.in_person == 0 and r.online > 0),
        time_gaps=tuple(gaps),
        stale=tuple(sorted(stale, key=lambda s: (s.days_since is not None, -(s.days_since or 0)))),
        unknown_organisations=tuple(sorted(unknown)),
    )
