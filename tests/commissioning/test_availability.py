"""Availability from a small hand-made directory, every count worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_core.catalogue import load_catalogue
from fama_core.codes import AttendanceMode as Mode
from fama_core.commissioning import (
    DirectoryMeeting,
    GapKind,
    MeetingKind,
    TimeBand,
    TimeGap,
    analyse_availability,
    time_band,
)

T = dt.time
AS_OF = dt.date(2026, 7, 1)
FRESH = dt.date(2026, 6, 1)


def meeting(mid, org, days, start, mode=Mode.IN_PERSON, types=(), verified=FRESH):
    return DirectoryMeeting.weekly(
        mid,
        org,
        tuple(days),
        start,
        attendance_mode=mode,
        types=frozenset(types),
        last_verified=verified,
    )


DIRECTORY = [
    meeting("aa1", "aa", [1, 3], T(19, 30)),  # Mon + Wed evening: 2 slots
    meeting("aa2", "aa", [2], T(7, 0), mode=Mode.HYBRID, verified=dt.date(2025, 12, 1)),
    meeting("na1", "na", [3], T(12, 0), types=["W"]),  # women-only afternoon
    meeting("sm1", "smart", [5], T(18, 0), verified=None),
    meeting("ma1", "ma", [6], T(20, 0), mode=Mode.ONLINE),
    meeting("an1", "al-anon", [2], T(19, 0)),
    meeting("ca1", "ca", [4], T(19, 0), mode=Mode.INACTIVE),
    meeting("da1", "daa", [], None),  # by appointment
    meeting("lo1", "local-rco", [7], T(4, 30)),  # not in the catalogue; late night
]


@pytest.fixture(scope="module")
def report():
    return analyse_availability(
        DIRECTORY, load_catalogue().organisations, as_of=AS_OF, stale_after_days=180
    )


def test_entries_slots_inactive_and_by_appointment(report):
    # 9 entries; active with a day and time: aa1 (2), aa2, na1, sm1, ma1, an1, lo1 = 8 slots
    assert (report.meetings, report.slots, report.inactive, report.by_appointment) == (9, 8, 1, 1)


def test_time_bands_split_at_five_noon_and_five_pm():
    assert time_band(T(5, 0)) is TimeBand.MORNING
    assert time_band(T(11, 59)) is TimeBand.MORNING
    assert time_band(T(12, 0)) is TimeBand.AFTERNOON
    assert time_band(T(16, 59)) is TimeBand.AFTERNOON
    assert time_band(T(17, 0)) is TimeBand.EVENING
    assert time_band(T(4, 59)) is TimeBand.EVENING


def test_weekly_grid_of_in_person_meetings(report):
    k = MeetingKind.ANY_IN_PERSON
    assert report.count(k, 1, TimeBand.EVENING) == 1  # aa1 Monday
    assert report.count(k, 2) == 2  # aa2 hybrid morning, al-anon evening
    assert report.count(k, 3) == 2  # aa1 evening, na1 afternoon
    assert report.count(k, 4) == 0  # CA is inactive
    assert report.count(k, 5, TimeBand.EVENING) == 1  # SMART
    assert report.count(k, 6) == 0  # MA is online only
    assert report.count(k, 7, TimeBand.EVENING) == 1  # 04:30 counts as evening


def test_kinds_counted_per_slot(report):
    # aa1 twice, aa2, na1, and Al-Anon (a 12-step family group in the catalogue)
    assert sum(report.count(MeetingKind.TWELVE_STEP, d) for d in range(1, 8)) == 5
    assert sum(report.count(MeetingKind.SECULAR, d) for d in range(1, 8)) == 1
    assert sum(report.count(MeetingKind.WOMEN_ONLY, d) for d in range(1, 8)) == 1
    assert sum(report.count(MeetingKind.FAMILY, d) for d in range(1, 8)) == 1
    assert sum(report.count(MeetingKind.ONLINE, d) for d in range(1, 8)) == 2  # aa2 hybrid, ma1


def test_per_organisation(report):
    rows = {o.code: o for o in report.organisations}
    aa = rows["aa"]
    assert (aa.annex, aa.in_person, aa.online, aa.women_only, aa.weekdays_covered) == (
        "1",
        3,
        1,
        0,
        3,
    )
    assert rows["al-anon"].annex == "2"
    assert rows["local-rco"].annex is None and rows["local-rco"].in_person == 1


def test_annex_organisations_with_no_local_meeting(report):
    # ca inactive, daa by appointment, ma online only; alateen and fa absent
    assert set(report.no_local_meeting) == {"ca", "daa", "ma", "alateen", "fa"}
    assert report.online_only == ("ma",)


def test_unknown_organisations_are_listed(report):
    assert report.unknown_organisations == ("local-rco",)


def test_days_and_evenings_with_no_meeting_of_a_kind(report):
    gaps = {(g.kind, g.weekday, g.gap) for g in report.time_gaps}
    k = MeetingKind.ANY_IN_PERSON
    assert (k, 4, GapKind.WHOLE_DAY) in gaps
    assert (k, 6, GapKind.WHOLE_DAY) in gaps
    assert (k, 3, GapKind.EVENING) not in gaps  # aa1 Wednesday evening
    assert (MeetingKind.WOMEN_ONLY, 3, GapKind.EVENING) in gaps  # women's meeting at noon
    in_person = sorted((g.weekday, g.gap.value) for g in report.time_gaps if g.kind is k)
    assert in_person == [(4, "whole_day"), (6, "whole_day")]


def test_entries_not_verified_recently_never_verified_first(report):
    assert [(s.meeting_id, s.days_since) for s in report.stale] == [("sm1", None), ("aa2", 212)]


def test_a_directory_with_only_inactive_meetings_has_every_day_as_a_gap():
    report = analyse_availability(
        [meeting("x", "aa", [1], T(19, 0), mode=Mode.INACTIVE)],
        load_catalogue().organisations,
        as_of=AS_OF,
    )
    assert report.slots == 0
    assert TimeGap(kind=MeetingKind.ANY_IN_PERSON, weekday=1, gap=GapKind.WHOLE_DAY) in (
        report.time_gaps
    )


def test_bad_weekday_is_refused():
    with pytest.raises(ValueError, match="ISO days"):
        meeting("x", "aa", [0], T(9, 0))


@settings(max_examples=60)
@given(
    st.lists(
        st.builds(
            meeting,
            mid=st.text("abc", min_size=1, max_size=3),
            org=st.sampled_from(["aa", "na", "smart", "al-anon", "zz"]),
            days=st.lists(st.integers(1, 7), max_size=3),
            start=st.none() | st.times(),
            mode=st.sampled_from(list(Mode)),
            types=st.sets(st.sampled_from(["W", "M", "O"])),
            verified=st.none() | st.dates(dt.date(2024, 1, 1), dt.date(2026, 7, 1)),
        ),
        max_size=15,
    )
)
def test_grid_totals_match_slots_and_gaps_match_empty_cells(meetings):
    report = analyse_availability(meetings, load_catalogue().organisations, as_of=AS_OF)
    per_slot = sum(c.meetings for c in report.grid if c.kind is MeetingKind.ANY_IN_PERSON) + sum(
        c.meetings for c in report.grid if c.kind is MeetingKind.ONLINE
    )
    hybrid_slots = sum(len(set(m.slots)) for m in meetings if m.attendance_mode is Mode.HYBRID)
    assert per_slot - hybrid_slots == report.slots
    for kind in MeetingKind:
        for day in range(1, 8):
            whole = report.count(kind, day) == 0
            assert (
                TimeGap(kind=kind, weekday=day, gap=GapKind.WHOLE_DAY) in report.time_gaps
            ) is whole
    assert report.inactive + report.by_appointment <= report.meetings
