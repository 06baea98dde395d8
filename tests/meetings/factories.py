"""Small factories for meeting tests: meetings, windows and requests built by name."""

from __future__ import annotations

import datetime as dt

from fama_core.codes import AttendanceMode
from fama_core.directory import Meeting, MeetingFeature, Weekday, WeeklySlot
from fama_core.matching import Availability, TimeWindow


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def slot(day: Weekday, start: str, end: str | None = None) -> WeeklySlot:
    return WeeklySlot(day=day, start=t(start), end=t(end) if end else None)


def meeting(
    meeting_id: str = "m1",
    *,
    day: Weekday = Weekday.TUESDAY,
    start: str = "19:30",
    end: str | None = "21:00",
    organisation: str = "aa",
    features: tuple[MeetingFeature, ...] = (MeetingFeature.OPEN,),
    attendance: AttendanceMode = AttendanceMode.IN_PERSON,
    timezone: str = "Europe/London",
    languages: tuple[str, ...] = (),
    last_verified: dt.date | None = dt.date(2026, 1, 1),
    slots: tuple[WeeklySlot, ...] | None = None,
    name: str | None = None,
) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        name=name or f"Meeting {meeting_id}",
        organisation=organisation,
        slots=slots if slots is not None else (slot(day, start, end),),
        timezone=timezone,
        attendance=attendance,
        features=tuple(sorted(features, key=lambda f: f.value)),
        languages=languages,
        last_verified=last_verified,
    )


def window(day: Weekday, start: str, end: str) -> TimeWindow:
    return TimeWindow(day=day, start=t(start), end=t(end))


def every_evening(start: str = "17:00", end: str = "22:00") -> tuple[TimeWindow, ...]:
    return tuple(window(d, start, end) for d in Weekday)


def availability(
    *windows: TimeWindow,
    week_starts: dt.date = dt.date(2026, 3, 2),
    timezone: str = "Europe/London",
    **kw: object,
) -> Availability:
    return Availability(
        timezone=timezone,
        windows=windows or every_evening(),
        week_starts=week_starts,
        **kw,  # type: ignore[arg-type]
    )


def slot_strategy():  # type: ignore[no-untyped-def]
    """Hypothesis strategy of valid weekly slots (minutes precision, end != start)."""
    from hypothesis import strategies as st

    # fold=0: a weekly wall-clock time has no repeated hour; hypothesis draws fold=1 too, which
    # compares equal but sorts apart by repr, so the round-trip tests flaked on it.
    minutes = st.times().map(lambda v: v.replace(second=0, microsecond=0, fold=0))
    return (
        st.tuples(st.sampled_from(list(Weekday)), minutes, st.none() | minutes)
        .filter(lambda x: x[2] != x[1])
        .map(lambda x: WeeklySlot(day=x[0], start=x[1], end=x[2]))
    )
