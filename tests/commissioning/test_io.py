"""Reading the report's inputs: a bad record is named and skipped, the rest is read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.meetings.plugin import import_sources
from fama_adapters.meetings.report import MeetingFeedError
from fama_adapters.meetings.store import dump_directory
from fama_adapters.plugins import PluginHost
from fama_adapters.report.io import load_caseload, load_meetings
from fama_core.commissioning import from_directory
from fama_core.events import event_to_json

from .caseload import hand_checked_events

ROOT = Path(__file__).parents[2]


def _saved_directory(tmp_path):
    meetings, _reports = import_sources(ROOT / "examples" / "meetings", PluginHost())
    path = tmp_path / "directory.json"
    path.write_text(dump_directory(meetings))
    return path, meetings


def test_saved_directory_is_read_in_the_areas_time(tmp_path):
    path, meetings = _saved_directory(tmp_path)
    read = load_meetings([path, path], week_of=dt.date(2026, 7, 27))
    assert len(read) == len(meetings)  # a meeting in two files counts once
    by_id = {m.meeting_id: m for m in read}
    # Tuesday 14:00 in New York is Tuesday 19:00 in London in July
    assert by_id["transatlantic-newcomers"].slots == ((2, dt.time(19, 0)),)
    # Sunday is ISO day 7; the women's group carries the W code
    assert by_id["sunday-morning-reflections"].slots == ((7, dt.time(10, 30)),)
    assert "W" in by_id["wednesday-womens-group"].types


@settings(max_examples=40)
@given(st.sampled_from(["Europe/London", "America/New_York", "Asia/Kolkata"]), st.dates())
def test_converting_to_the_areas_zone_keeps_every_slot(area, week_of):
    meetings, _reports = import_sources(ROOT / "examples" / "meetings", PluginHost())
    read = from_directory(meetings, week_of=week_of, area_timezone=area)
    assert [len(m.slots) for m in read] == [len(m.slots) for m in meetings]
    assert all(1 <= day <= 7 for m in read for day, _t in m.slots)


def test_a_file_that_is_not_a_saved_directory_is_refused(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("[]")
    with pytest.raises(MeetingFeedError, match="not a fama-meetings/1 directory file"):
        load_meetings([path], week_of=dt.date(2026, 7, 27))


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


def _interleave(logs, order):
    """Merge per-client logs in the order ``order`` gives (client indices), each kept in order."""
    positions = [0] * len(logs)
    out = []
    for i in order:
        if positions[i] < len(logs[i]):
            out.append(logs[i][positions[i]])
            positions[i] += 1
    for i, log in enumerate(logs):
        out += log[positions[i] :]
    return out


@settings(max_examples=25, deadline=None)
@given(
    clients=st.integers(1, 12),
    order=st.lists(st.integers(0, 11), max_size=80),
    split_at=st.integers(0, 200),
    bad_line=st.booleans(),
)
def test_streamed_journeys_equal_folding_everything(
    tmp_path_factory, clients, order, split_at, bad_line
):
    from fama_adapters.report.io import stream_journeys
    from fama_adapters.report.sample import area_caseload
    from fama_core.commissioning import journeys_from_caseload

    logs = list(area_caseload(clients, seed=3).values())
    events = _interleave(logs, [i for i in order if i < clients])
    lines = [event_to_json(e) + "\n" for e in events]
    if bad_line:
        lines.insert(len(lines) // 2, "{not json}\n")
    folder = tmp_path_factory.mktemp("logs")
    first, second = folder / "a.jsonl", folder / "b.jsonl"
    first.write_text("".join(lines[:split_at]))
    second.write_text("".join(lines[split_at:]))
    q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    streamed = stream_journeys([first, second], [(None, None), q1])
    states, problems = load_caseload([first, second])
    for start, end in ((None, None), q1):
        expected = journeys_from_caseload(states.values(), start=start, end=end)
        assert sorted(map(repr, streamed.journeys[(start, end)])) == sorted(map(repr, expected))
    assert [str(p) for p in streamed.problems] == [str(p) for p in problems]
    assert streamed.clients == len(states)
