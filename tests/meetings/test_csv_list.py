"""Hand-kept lists: a CSV with hand-out 6a's columns, read as people write times."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.meetings import (
    MeetingFeedError,
    format_when,
    parse_when,
    read_csv_file,
    read_csv_text,
    write_csv,
)
from fama_adapters.meetings.csv_list import _Bad
from fama_core.codes import AttendanceMode
from fama_core.directory import Weekday

from .factories import meeting, slot
from .factories import slot_strategy as slot_strategy_factory

EXAMPLES = Path(__file__).parents[2] / "examples" / "meetings"
HEADER = "Group name,Summary description,When & where,Contact details\n"


def test_the_sample_list_imports_and_reports_its_mistyped_row():
    report = read_csv_file(EXAMPLES / "local-list.csv")
    assert [m.meeting_id for m in report.meetings] == [
        "wednesday-evening-smart",
        "smart-online-saturday",
        "monday-family-support",
    ]
    (problem,) = report.problems
    assert problem.record == "row 5" and problem.problems[0].location == "When & where"
    online = report.meetings[1]
    assert online.attendance is AttendanceMode.ONLINE and online.address is None
    assert report.meetings[2].last_verified == dt.date(2026, 2, 12)  # DD/MM/YYYY


@pytest.mark.parametrize(
    ("text", "slots", "where"),
    [
        (
            "Tuesdays 7.30pm-9pm, St Mary's Hall",
            [slot(Weekday.TUESDAY, "19:30", "21:00")],
            "St Mary's Hall",
        ),
        (
            "Mon & Thu 19:00, Quaker Meeting House",
            [slot(Weekday.MONDAY, "19:00"), slot(Weekday.THURSDAY, "19:00")],
            "Quaker Meeting House",
        ),
        ("Sat 10am to noon", [slot(Weekday.SATURDAY, "10:00", "12:00")], None),
        ("Friday 11pm-12.30am, Café", [slot(Weekday.FRIDAY, "23:00", "00:30")], "Café"),
        (
            "Wed/Fri at 18.15, Hall, 2 Road",
            [slot(Weekday.WEDNESDAY, "18:15"), slot(Weekday.FRIDAY, "18:15")],
            "Hall, 2 Road",
        ),
        ("By appointment, ring the hub", [], "ring the hub"),
    ],
)
def test_when_and_where_reads_as_people_write_it(text, slots, where):
    assert parse_when(text) == (tuple(slots), where)


@pytest.mark.parametrize(
    "text", ["Tuesday", "Someday 19:00", "Tue 19", "Tue 13pm", "Tue 19:00-19:00"]
)
def test_an_unreadable_when_and_where_is_refused(text):
    with pytest.raises(_Bad):
        parse_when(text)


places = (
    st.text(
        st.characters(whitelist_categories=("L", "N", "Zs"), whitelist_characters="',.-"),
        min_size=1,
        max_size=30,
    )
    .map(str.strip)
    .filter(bool)
)
slot_strategy = slot_strategy_factory()


@settings(max_examples=150)
@given(st.lists(slot_strategy, max_size=6, unique=True), st.none() | places)
def test_every_weekly_slot_round_trips_through_when_and_where(slots, where):
    back, place = parse_when(format_when(slots, where))
    assert place == where
    assert sorted(back, key=repr) == sorted(slots, key=repr)  # grouped by time, none lost
    assert len(back) == len(slots)


def test_a_list_without_the_six_a_columns_is_refused_whole():
    with pytest.raises(MeetingFeedError, match="Contact details"):
        read_csv_text("Group name,Summary description,When & where\nx,y,Mon 19:00\n")


def test_columns_are_matched_whatever_their_case_and_order():
    text = "contact details,WHEN & WHERE,group name,summary description\nhub,Mon 19:00,Group,\n"
    (m,) = read_csv_text(text).meetings
    assert m.name == "Group" and m.contact == "hub" and m.summary is None


def test_each_bad_row_is_reported_and_the_rest_import():
    text = HEADER + "A,,Mon 19:00,\n,,Tue 19:00,\nC,,Wed 99:00,\nD,,Thu 19:00,\n"
    report = read_csv_text(text)
    assert [m.name for m in report.meetings] == ["A", "D"]
    assert [p.record for p in report.problems] == ["row 3", "row 4"]


@settings(max_examples=40)
@given(
    st.lists(
        st.builds(lambda i, d: (i, d), st.integers(0, 5), st.sampled_from(list(Weekday))),
        max_size=15,
    )
)
def test_a_written_list_reads_back_the_same_meetings(items):
    meetings = [
        meeting(f"m{n}", day=day, start=f"{10 + i}:00", end=None)
        for n, (i, day) in enumerate(items)
    ]
    report = read_csv_text(write_csv(meetings))
    assert not report.problems
    assert [(m.meeting_id, m.slots, m.features) for m in report.meetings] == [
        (m.meeting_id, m.slots, m.features) for m in meetings
    ]


def test_a_list_without_zones_warns_once_and_strict_refuses_the_row():
    from fama_adapters.meetings import ImportOptions

    text = (
        "Group name,Summary description,When & where,Contact details\n"
        "Tuesday Group,Open,Tue 19:00-20:00,Hall\n"
    )
    report = read_csv_text(text, source="kw-list.csv")
    assert [w for w in report.warnings if "time zone" in w] == [
        "kw-list.csv: 1 meeting(s) name no time zone and none was given "
        "(--timezone, or 'timezone' in the sources file); taken as Europe/London"
    ]
    strict = read_csv_text(text, options=ImportOptions(strict=True))
    assert strict.problems[0].record == "row 2"
    assert strict.problems[0].problems[0][:2] == ("Time zone", "missing")
