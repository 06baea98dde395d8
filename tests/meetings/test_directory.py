"""The meeting model: weekly slots, type normalisation, attendance and staleness."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fama_core.codes import AttendanceMode
from fama_core.directory import (
    LANGUAGE_CODES,
    TYPE_CODES,
    Meeting,
    MeetingDirectory,
    MeetingFeature,
    Weekday,
    WeeklySlot,
    attendance_from_types,
    normalise_types,
    type_codes_of,
    zone,
)
from fama_core.errors import CatalogueError

from .factories import meeting, slot

KNOWN_CODES = sorted([*TYPE_CODES, *LANGUAGE_CODES])
codes = st.lists(
    st.one_of(
        st.sampled_from(KNOWN_CODES),
        st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789", min_size=1, max_size=6),
    ),
    max_size=12,
)


def test_weekday_counts_sunday_as_zero_like_the_spec():
    assert Weekday.of(dt.date(2026, 3, 1)) is Weekday.SUNDAY
    assert Weekday.of(dt.date(2026, 3, 7)) is Weekday.SATURDAY


def test_a_slot_ending_before_it_starts_runs_past_midnight():
    late = slot(Weekday.SATURDAY, "23:30", "00:30")
    assert late.crosses_midnight and late.duration == dt.timedelta(hours=1)
    assert not slot(Weekday.SATURDAY, "23:00", "00:00").crosses_midnight


def test_a_slot_without_end_lasts_an_hour_as_the_spec_says():
    assert slot(Weekday.MONDAY, "19:00").duration == dt.timedelta(hours=1)


def test_a_slot_whose_end_equals_its_start_is_refused():
    with pytest.raises(ValidationError, match="end time equals start time"):
        slot(Weekday.MONDAY, "19:00", "19:00")


def test_occurrences_resolve_a_time_the_clocks_skip():
    # UK clocks go forward at 01:00 on Sunday 29 March 2026: 01:30 does not exist.
    s = slot(Weekday.SUNDAY, "01:30", "02:30")
    (start,) = s.occurrences(zone("Europe/London"), dt.date(2026, 3, 29), dt.date(2026, 3, 29))
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)


def test_every_spec_type_code_maps_to_one_feature_or_language():
    assert len(set(TYPE_CODES.values())) == len(TYPE_CODES) == len(MeetingFeature)
    assert len(set(LANGUAGE_CODES.values())) == len(LANGUAGE_CODES)
    assert not set(TYPE_CODES) & set(LANGUAGE_CODES)


def test_unknown_type_codes_are_kept_not_dropped():
    features, languages, unknown = normalise_types(["O", "NA", "S", "BE"])
    assert features == (MeetingFeature.NEWCOMER, MeetingFeature.OPEN)
    assert languages == ("es",) and unknown == ("NA",)


@settings(max_examples=150)
@given(codes)
def test_type_normalisation_round_trips_through_the_codes(raw):
    features, languages, unknown = normalise_types(raw)
    again = normalise_types(type_codes_of(features, languages, unknown))
    assert again == (features, languages, unknown)


@settings(max_examples=100)
@given(codes, st.randoms())
def test_type_normalisation_ignores_order_and_repeats(raw, rnd):
    shuffled = raw + raw[:3]
    rnd.shuffle(shuffled)
    assert normalise_types(shuffled) == normalise_types(raw)


@pytest.mark.parametrize(
    ("types", "conference", "approximate", "mode"),
    [
        (["TC", "ONL"], False, False, AttendanceMode.ONLINE),
        (["TC"], False, False, AttendanceMode.INACTIVE),
        (["ONL"], False, False, AttendanceMode.HYBRID),
        (["ONL"], False, True, AttendanceMode.ONLINE),
        ([], False, False, AttendanceMode.IN_PERSON),
        ([], False, True, AttendanceMode.INACTIVE),
        (["TC"], True, False, AttendanceMode.ONLINE),
        ([], True, False, AttendanceMode.HYBRID),
    ],
)
def test_attendance_is_derived_as_twelve_step_meeting_list_does(
    types, conference, approximate, mode
):
    features = normalise_types(types)[0]
    assert (
        attendance_from_types(features, has_conference=conference, approximate=approximate) is mode
    )


def test_a_meeting_not_verified_within_the_age_is_stale():
    m = meeting(last_verified=dt.date(2025, 1, 1))
    assert m.is_stale(dt.date(2026, 3, 1), max_age_days=365)
    assert not m.is_stale(dt.date(2026, 3, 1), max_age_days=500)
    assert meeting(last_verified=None).is_stale(dt.date(2026, 3, 1))


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ValidationError, match="tz database"):
        meeting(timezone="Mars/Olympus")


def test_the_directory_refuses_a_repeated_id():
    with pytest.raises(CatalogueError, match="listed twice"):
        MeetingDirectory([meeting("a"), meeting("a")])


def test_a_meeting_names_itself_in_an_event_as_a_meeting_ref():
    ref = meeting("tue-newcomers", name="Tuesday Newcomers").ref()
    assert (ref.meeting_id, ref.name, ref.organisation) == (
        "tue-newcomers",
        "Tuesday Newcomers",
        "aa",
    )


def test_a_repeated_slot_is_refused():
    s = slot(Weekday.MONDAY, "19:00")
    with pytest.raises(ValidationError, match="listed twice"):
        Meeting(
            meeting_id="x",
            name="x",
            organisation="aa",
            slots=(s, s),
            timezone="Europe/London",
            attendance=AttendanceMode.IN_PERSON,
        )


def test_weekly_slot_label_reads_as_a_hand_out_does():
    assert WeeklySlot(day=Weekday.TUESDAY, start=dt.time(19, 30), end=dt.time(21)).label() == (
        "Tuesday 19:30-21:00"
    )
