"""Reading the report's inputs: a bad record is named and skipped, the rest is read."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.report.io import load_caseload, load_directory, parse_directory
from fama_core.errors import InvalidRecord
from fama_core.events import event_to_json

from .caseload import hand_checked_events

good_entry = st.fixed_dictionaries(
    {
        "id": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
        "organisation": st.sampled_from(["aa", "na", "smart"]),
        "weekdays": st.lists(st.integers(1, 7), max_size=3),
        "start_time": st.times().map(lambda t: t.strftime("%H:%M")),
        "attendance_mode": st.sampled_from(["in_person", "online", "hybrid", "inactive"]),
    }
)
bad_entry = st.one_of(
    good_entry.map(lambda e: {**e, "weekdays": [0]}),
    good_entry.map(lambda e: {**e, "organisation": "Not A Code"}),
    good_entry.map(lambda e: {**e, "start_time": "25:00"}),
    good_entry.map(lambda e: {**e, "colour": "blue"}),
    st.just("not an object"),
)


@settings(max_examples=80)
@given(st.lists(st.tuples(st.booleans(), good_entry, bad_entry), max_size=8))
def test_directory_keeps_every_good_entry_and_names_every_bad_one(choices):
    entries = [good if ok else bad for ok, good, bad in choices]
    meetings, problems = parse_directory(entries, source="m.json")
    assert len(meetings) == sum(ok for ok, _g, _b in choices)
    assert [p.record for p in problems] == [
        f"m.json[{i}]" for i, (ok, _g, _b) in enumerate(choices) if not ok
    ]


def test_directory_entry_times_and_days_become_slots():
    meetings, problems = parse_directory(
        [
            {
                "id": "a",
                "organisation": "aa",
                "weekdays": [1, 3],
                "start_time": "19:30",
                "types": ["w"],
            }
        ]
    )
    assert problems == []
    (m,) = meetings
    assert m.slots == ((1, dt.time(19, 30)), (3, dt.time(19, 30)))
    assert m.types == frozenset({"W"})


def test_directory_that_is_not_an_array_or_not_json_is_refused(tmp_path):
    with pytest.raises(InvalidRecord, match="JSON array"):
        parse_directory({"id": "a"})
    path = tmp_path / "m.json"
    path.write_text("[")
    with pytest.raises(InvalidRecord, match="not a valid JSON document"):
        load_directory(path)


def test_caseload_skips_refused_events_and_keeps_the_rest(tmp_path):
    events = hand_checked_events()
    lines = [event_to_json(e) for evs in events.values() for e in evs]
    # c05's session 1 line moved before its opening: refused; c05's later events refused too
    c05 = [i for i, line in enumerate(lines) if '"client_id":"c05"' in line]
    lines[c05[0]], lines[c05[1]] = lines[c05[1]], lines[c05[0]]
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    states, problems = load_caseload([path])
    assert set(states) == set(events)
    assert problems and all("log.jsonl: line" in str(p) for p in problems)
    assert "session_1_held refused" in str(problems[0])
    assert states["c01"].status.value == "engaged"  # other clients unaffected
