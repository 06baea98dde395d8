"""Matching: which local meetings can this client actually attend in the coming week?

Session two of the guide asks the client to commit to "a meeting he or she can
attend in the coming week", minding other commitments; the first meeting
should be an easy one (open, for newcomers). :func:`match_meetings` takes the
client's :class:`Preferences` and :class:`Availability` and returns every
meeting of a directory either *chosen* (ranked, with the reasons) or
*excluded* (with every reason it was excluded), so a keyworker can see why a
familiar meeting is missing.

Times: a meeting's slots are local to the meeting's time zone; the client's
windows and commitments are local to the client's. Each occurrence is placed
on the time line as an aware datetime and compared there, so an online
meeting in New York, a clock change, or a meeting that runs past midnight is
judged by when it really happens for the client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from enum import StrEnum

from pydantic import AwareDatetime, Field, field_validator, model_validator

from fama_core.catalogue import load_catalogue
from fama_core.codes import AttendanceMode, OrganisationApproach, OrganisationAudience
from fama_core.directory import (
    DEFAULT_MAX_AGE_DAYS,
    Meeting,
    MeetingFeature,
    TimeZoneName,
    Weekday,
    zone,
)
from fama_core.models import FamaModel, Organisation, OrganisationCode

__all__ = [
    "PHYSICAL_ACCESS",
    "Availability",
    "BusyPeriod",
    "ExcludedMeeting",
    "MatchRequest",
    "MatchResult",
    "MatchedMeeting",
    "Occurrence",
    "Preferences",
    "Reason",
    "ReasonCode",
    "TimeWindow",
    "match_meetings",
]

PHYSICAL_ACCESS = frozenset({MeetingFeature.WHEELCHAIR_ACCESS, MeetingFeature.WHEELCHAIR_BATHROOM})
"""Needs that only a venue can meet: waived for a meeting attended online."""


class TimeWindow(FamaModel):
    """A weekly window when someone is free, local to their time zone.

    ``end`` at or before ``start`` means the window runs past midnight
    (Friday ``22:00``-``02:00`` ends early on Saturday); ``00:00``-``00:00``
    is the whole day.
    """

    day: Weekday
    start: dt.time
    end: dt.time

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: dt.time) -> dt.time:
        # pydantic reads a number (``"start": 0``) as seconds since midnight UTC, an aware
        # time that cannot be compared with a local one: refuse it as WeeklySlot does.
        if value.tzinfo is not None:
            raise ValueError("times are local HH:MM, without a zone or a number of seconds")
        return value

    def on(self, date: dt.date, tz_name: str) -> tuple[dt.datetime, dt.datetime]:
        """The window as aware start and end instants when it opens on ``date``."""
        tz = zone(tz_name)
        start = dt.datetime.combine(date, self.start, tzinfo=tz)
        end_day = date if self.end > self.start else date + dt.timedelta(days=1)
        end = dt.datetime.combine(end_day, self.end, tzinfo=tz)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


class BusyPeriod(FamaModel):
    """Another commitment in the coming week (work, childcare, an appointment)."""

    start: AwareDatetime
    end: AwareDatetime
    label: str | None = Field(
        default=None, max_length=100, description="What it is; kept out of outputs for people."
    )

    @model_validator(mode="after")
    def _ordered(self) -> BusyPeriod:
        if self.end <= self.start:
            raise ValueError("a busy period must end after it starts")
        return self


class Availability(FamaModel):
    """When the client can go: weekly windows, other commitments, and which week."""

    timezone: TimeZoneName = Field(description="The client's tz database zone.")
    windows: tuple[TimeWindow, ...] = Field(description="Weekly windows when the client is free.")
    busy: tuple[BusyPeriod, ...] = ()
    week_starts: dt.date = Field(description="First day of the coming week (usually the session).")
    days: int = Field(default=7, ge=1, le=28, description="How many days to look ahead.")
    not_before: AwareDatetime | None = Field(
        default=None, description="Ignore occurrences starting earlier (the session's end)."
    )
    travel_minutes: int = Field(
        default=0,
        ge=0,
        le=240,
        description="Margin kept free before and after an in-person meeting.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """The coming week as aware instants, midnight to midnight in the client's zone."""
        tz = zone(self.timezone)
        first = dt.datetime.combine(self.week_starts, dt.time(), tzinfo=tz)
        last = dt.datetime.combine(
            self.week_starts + dt.timedelta(days=self.days), dt.time(), tzinfo=tz
        )
        return first.astimezone(dt.UTC), last.astimezone(dt.UTC)


class Preferences(FamaModel):
    """What the client wants from a meeting (session two, step 5; hand-out 6b).

    Hard requirements exclude a meeting; ``first_meeting`` and ``prefer`` only
    rank. ``languages`` empty means "the local language": meetings listing no
    language are assumed to be in ``local_language``.
    """

    organisations: frozenset[OrganisationCode] = Field(
        default=frozenset(), description="Only these organisations (empty: any)."
    )
    approach: OrganisationApproach | None = Field(
        default=None, description="Only 12-step or only secular organisations."
    )
    audience: OrganisationAudience = Field(
        default=OrganisationAudience.PEOPLE_WHO_USE,
        description="Groups for people who use (annex 1) or for families (annex 2).",
    )
    first_meeting: bool = Field(default=True, description="Prefer open, newcomer meetings.")
    women_only: bool = Field(default=False, description="Only women's meetings.")
    avoid: frozenset[MeetingFeature] = Field(
        default=frozenset(), description="Exclude meetings with these features (e.g. men)."
    )
    modes: frozenset[AttendanceMode] = Field(
        default=frozenset({AttendanceMode.IN_PERSON, AttendanceMode.ONLINE}),
        description="in_person and/or online; a hybrid meeting offers both.",
    )
    languages: frozenset[str] = Field(default=frozenset(), description="ISO 639-1 codes.")
    local_language: str = Field(default="en", description="Language of unlabelled meetings.")
    needs: frozenset[MeetingFeature] = Field(
        default=frozenset(), description="Accessibility needs the meeting must meet."
    )
    prefer: frozenset[MeetingFeature] = Field(
        default=frozenset(), description="Features that rank a meeting higher."
    )
    max_age_days: int = Field(
        default=DEFAULT_MAX_AGE_DAYS, ge=1, description="Older listings rank lower, flagged."
    )

    @field_validator("modes")
    @classmethod
    def _attendable_modes(cls, value: frozenset[AttendanceMode]) -> frozenset[AttendanceMode]:
        if not value or not value <= {AttendanceMode.IN_PERSON, AttendanceMode.ONLINE}:
            raise ValueError("modes must be in_person and/or online")
        return value


class MatchRequest(FamaModel):
    """Preferences and availability together, as ``fama meetings match`` reads them."""

    preferences: Preferences = Field(default_factory=Preferences)
    availability: Availability


class ReasonCode(StrEnum):
    """Why a meeting was chosen, ranked, or excluded (fama's own list)."""

    INACTIVE = "inactive"
    BY_APPOINTMENT = "by_appointment"
    ORGANISATION = "organisation"
    AUDIENCE = "audience"
    APPROACH = "approach"
    NOT_WOMEN_ONLY = "not_women_only"
    AVOIDED_FEATURE = "avoided_feature"
    MODE = "mode"
    LANGUAGE = "language"
    ACCESS_NEED = "access_need"
    NOT_THIS_WEEK = "not_this_week"
    OUTSIDE_AVAILABILITY = "outside_availability"
    CLASHES = "clashes"
    FITS = "fits"
    OPEN = "open"
    NEWCOMER = "newcomer"
    CLOSED = "closed"
    PREFERRED = "preferred"
    STALE = "stale"
    ONLINE_ONLY = "online_only"


class Reason(FamaModel):
    """One reason, machine-readable (``code``) and readable (``text``)."""

    code: ReasonCode
    text: str


class Occurrence(FamaModel):
    """One dated occurrence of a meeting, in the client's time zone."""

    start: AwareDatetime
    end: AwareDatetime
    mode: AttendanceMode = Field(description="How the client would attend (in person or online).")

    def label(self) -> str:
        """``Tuesday 10 March, 19:30-21:00`` for a hand-out."""
        end_day = "" if self.end.date() == self.start.date() else " (next day)"
        day = f"{self.start:%A} {self.start.day} {self.start:%B}"
        return f"{day}, {self.start:%H:%M}-{self.end:%H:%M}{end_day}"


class MatchedMeeting(FamaModel):
    """A meeting the client can attend, with its score and the reasons for it."""

    meeting: Meeting
    score: int
    occurrences: tuple[Occurrence, ...] = Field(description="Every fitting occurrence, in order.")
    reasons: tuple[Reason, ...]

    @property
    def next(self) -> Occurrence:
        """The first fitting occurrence."""
        return self.occurrences[0]


class ExcludedMeeting(FamaModel):
    """A meeting the client cannot or would not attend, with every reason."""

    meeting: Meeting
    reasons: tuple[Reason, ...]


class MatchResult(FamaModel):
    """Every meeting of the directory, chosen (best first) or excluded."""

    chosen: tuple[MatchedMeeting, ...]
    excluded: tuple[ExcludedMeeting, ...]

    def reasons_for(self, meeting_id: str) -> tuple[Reason, ...]:
        """The reasons recorded for one meeting, chosen or excluded."""
        for chosen in self.chosen:
            if chosen.meeting.meeting_id == meeting_id:
                return chosen.reasons
        for excluded in self.excluded:
            if excluded.meeting.meeting_id == meeting_id:
                return excluded.reasons
        raise KeyError(meeting_id)

    def excluded_for(self, code: ReasonCode) -> tuple[ExcludedMeeting, ...]:
        """The excluded meetings with a reason of this code."""
        return tuple(x for x in self.excluded if any(r.code is code for r in x.reasons))


def _modes_for(meeting: Meeting, wanted: frozenset[AttendanceMode]) -> list[AttendanceMode]:
    offered = {
        AttendanceMode.IN_PERSON: [AttendanceMode.IN_PERSON],
        AttendanceMode.ONLINE: [AttendanceMode.ONLINE],
        AttendanceMode.HYBRID: [AttendanceMode.IN_PERSON, AttendanceMode.ONLINE],
        AttendanceMode.INACTIVE: [],
    }[meeting.attendance]
    return [m for m in offered if m in wanted]


def _requirements(
    meeting: Meeting,
    prefs: Preferences,
    organisations: Mapping[str, Organisation],
    modes: list[AttendanceMode],
) -> list[Reason]:
    """Reasons the meeting fails the client's hard requirements (empty: it passes)."""
    out: list[Reason] = []
    if meeting.attendance is AttendanceMode.INACTIVE:
        out.append(Reason(code=ReasonCode.INACTIVE, text="temporarily not meeting"))
    if meeting.by_appointment:
        out.append(Reason(code=ReasonCode.BY_APPOINTMENT, text="no weekly time: by appointment"))
    if prefs.organisations and meeting.organisation not in prefs.organisations:
        wanted = ", ".join(sorted(prefs.organisations))
        out.append(
            Reason(code=ReasonCode.ORGANISATION, text=f"{meeting.organisation}, not {wanted}")
        )
    known = organisations.get(meeting.organisation)
    audience = known.audience if known else OrganisationAudience.PEOPLE_WHO_USE
    if audience is not prefs.audience:
        who = (
            "families and friends"
            if known and audience is not OrganisationAudience.PEOPLE_WHO_USE
            else "people who use"
        )
        out.append(Reason(code=ReasonCode.AUDIENCE, text=f"{meeting.organisation} is for {who}"))
    if prefs.approach is not None:
        approach = known.approach if known else OrganisationApproach.OTHER
        if approach is not prefs.approach:
            out.append(
                Reason(
                    code=ReasonCode.APPROACH,
                    text=f"{meeting.organisation} is not {prefs.approach.value.replace('_', '-')}",
                )
            )
    if prefs.women_only and not meeting.has(MeetingFeature.WOMEN):
        out.append(Reason(code=ReasonCode.NOT_WOMEN_ONLY, text="not a women's meeting"))
    for feature in sorted(prefs.avoid & set(meeting.features)):
        out.append(Reason(code=ReasonCode.AVOIDED_FEATURE, text=f"{feature.value} meeting"))
    if meeting.attendance is not AttendanceMode.INACTIVE and not modes:
        wanted = " or ".join(sorted(m.value.replace("_", " ") for m in prefs.modes))
        out.append(
            Reason(
                code=ReasonCode.MODE,
                text=f"{meeting.attendance.value.replace('_', ' ')}, client wants {wanted}",
            )
        )
    spoken = prefs.languages or {prefs.local_language}
    meeting_languages = set(meeting.languages) or {prefs.local_language}
    if not spoken & meeting_languages:
        out.append(
            Reason(
                code=ReasonCode.LANGUAGE,
                text="in " + ", ".join(sorted(meeting_languages)),
            )
        )
    unmet = sorted(n for n in prefs.needs if n not in meeting.features)
    if unmet and AttendanceMode.ONLINE in modes and all(n in PHYSICAL_ACCESS for n in unmet):
        # The venue does not list the access needed, but the client can join online.
        modes[:] = [AttendanceMode.ONLINE]
        unmet = []
    for need in unmet:
        out.append(Reason(code=ReasonCode.ACCESS_NEED, text=f"not listed: {need.value}"))
    return out


def _fits(
    start: dt.datetime,
    end: dt.datetime,
    windows: list[tuple[dt.datetime, dt.datetime]],
) -> bool:
    return any(ws <= start and end <= we for ws, we in windows)


def _clashes(start: dt.datetime, end: dt.datetime, busy: Iterable[BusyPeriod]) -> list[BusyPeriod]:
    return [b for b in busy if b.start < end and start < b.end]


def _occurrences(
    meeting: Meeting,
    avail: Availability,
    modes: list[AttendanceMode],
    windows: list[tuple[dt.datetime, dt.datetime]],
) -> tuple[list[Occurrence], list[Reason]]:
    """Fitting occurrences in the coming week, or the reasons none fits."""
    client_tz = zone(avail.timezone)
    first, last = avail.span()
    if avail.not_before is not None:
        first = max(first, avail.not_before.astimezone(dt.UTC))
    # Dates in the meeting's zone that can hold an occurrence inside the span.
    local_first = (first.astimezone(meeting.tz) - dt.timedelta(days=1)).date()
    local_last = (last.astimezone(meeting.tz) + dt.timedelta(days=1)).date()
    fitting: list[Occurrence] = []
    in_week = outside = clashing = 0
    for slot in meeting.slots:
        for start in slot.occurrences(meeting.tz, local_first, local_last):
            start_utc = start.astimezone(dt.UTC)
            if not first <= start_utc < last:
                continue
            in_week += 1
            end_utc = start_utc + slot.duration
            for mode in modes:
                margin = dt.timedelta(
                    minutes=avail.travel_minutes if mode is AttendanceMode.IN_PERSON else 0
                )
                if not _fits(start_utc - margin, end_utc + margin, windows):
                    outside += 1
                    continue
                if _clashes(start_utc - margin, end_utc + margin, avail.busy):
                    clashing += 1
                    continue
                fitting.append(
                    Occurrence(
                        start=start_utc.astimezone(client_tz),
                        end=end_utc.astimezone(client_tz),
                        mode=mode,
                    )
                )
                break  # one way of attending an occurrence is enough
    fitting.sort(key=lambda o: o.start)
    if fitting:
        return fitting, []
    if not in_week:
        return [], [Reason(code=ReasonCode.NOT_THIS_WEEK, text="does not meet in the coming week")]
    reasons = []
    if outside:
        reasons.append(
            Reason(
                code=ReasonCode.OUTSIDE_AVAILABILITY,
                text="meets when the client is not free",
            )
        )
    if clashing:
        reasons.append(Reason(code=ReasonCode.CLASHES, text="clashes with another commitment"))
    return [], reasons


def _rank(
    meeting: Meeting, prefs: Preferences, today: dt.date, occurrences: list[Occurrence]
) -> tuple[int, list[Reason]]:
    first = occurrences[0]
    reasons = [Reason(code=ReasonCode.FITS, text=f"fits: {first.label()}")]
    score = 100
    if prefs.first_meeting:
        if meeting.has(MeetingFeature.OPEN):
            score += 20
            reasons.append(Reason(code=ReasonCode.OPEN, text="open meeting: anyone may come"))
        if meeting.has(MeetingFeature.NEWCOMER):
            score += 30
            reasons.append(Reason(code=ReasonCode.NEWCOMER, text="for newcomers"))
        if meeting.has(MeetingFeature.CLOSED):
            score -= 5
            reasons.append(
                Reason(
                    code=ReasonCode.CLOSED,
                    text="closed: for people who want to stop; a supporter cannot come in",
                )
            )
    for feature in sorted(prefs.prefer & set(meeting.features)):
        score += 10
        reasons.append(Reason(code=ReasonCode.PREFERRED, text=f"{feature.value}, as preferred"))
    if all(o.mode is AttendanceMode.ONLINE for o in occurrences) and (
        AttendanceMode.IN_PERSON in prefs.modes
    ):
        score -= 5
        reasons.append(Reason(code=ReasonCode.ONLINE_ONLY, text="online only this week"))
    if meeting.is_stale(today, prefs.max_age_days):
        score -= 25
        when = f"since {meeting.last_verified:%d %B %Y}" if meeting.last_verified else "ever"
        reasons.append(
            Reason(code=ReasonCode.STALE, text=f"listing not verified {when}: check first")
        )
    return score, reasons


def match_meetings(
    meetings: Iterable[Meeting],
    preferences: Preferences,
    availability: Availability,
    *,
    organisations: Mapping[str, Organisation] | None = None,
    today: dt.date | None = None,
) -> MatchResult:
    """Rank the meetings the client can attend in the coming week; explain the rest.

    ``organisations`` maps organisation codes to their catalogue entries
    (12-step or secular; for people who use or for families), by default the
    packaged catalogue's; an organisation not in it counts as "other", for
    people who use. ``today`` dates the staleness
    check (default: the first day of the week). Every meeting appears once,
    chosen or excluded. Chosen meetings are ordered by score (best first),
    then by their first fitting occurrence, then by name and id.
    """
    if organisations is None:
        organisations = load_catalogue().organisations
    today = today or availability.week_starts
    window_instants = [
        w.on(availability.week_starts + dt.timedelta(days=offset), availability.timezone)
        for offset in range(-1, availability.days + 1)
        for w in availability.windows
        if Weekday.of(availability.week_starts + dt.timedelta(days=offset)) == w.day
    ]
    chosen: list[MatchedMeeting] = []
    excluded: list[ExcludedMeeting] = []
    for meeting in meetings:
        modes = _modes_for(meeting, preferences.modes)
        reasons = _requirements(meeting, preferences, organisations, modes)
        if not reasons:
            fitting, reasons = _occurrences(meeting, availability, modes, window_instants)
            if fitting:
                score, why = _rank(meeting, preferences, today, fitting)
                chosen.append(
                    MatchedMeeting(
                        meeting=meeting,
                        score=score,
                        occurrences=tuple(fitting),
                        reasons=tuple(why),
                    )
                )
                continue
        excluded.append(ExcludedMeeting(meeting=meeting, reasons=tuple(reasons)))
    chosen.sort(key=lambda m: (-m.score, m.next.start, m.meeting.name, m.meeting.meeting_id))
    return MatchResult(chosen=tuple(chosen), excluded=tuple(excluded))
