"""Bounded memory: the JSON array reader, the id index, the streamed directory file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.meetings import ImportOptions, read_csv_file, read_meeting_guide_file
from fama_adapters.meetings.jsonstream import NotAnArray, iter_json_array
from fama_adapters.meetings.report import MeetingFeedError
from fama_adapters.meetings.seen import SeenIds
from fama_adapters.meetings.store import DirectoryWriter, dump_directory, load_directory

from .factories import meeting

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150)
@given(st.lists(_JSON, max_size=12), st.integers(1, 64), st.sampled_from(["", " ", "\n  "]))
def test_any_array_reads_entry_by_entry_as_json_loads_reads_it(values, chunk, space):
    text = json.dumps(values, indent=1 if space else None).replace("[", "[" + space, 1)
    assert list(iter_json_array(io.StringIO(text), source="t", chunk=chunk)) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[1,2",
        '[{"a":1},,]',
        '[{"a":1} x]',
        "[1] 2",
        '[{"a": tru}]',
        "[" + "[" * 50_000 + "]" * 50_000 + "]",
    ],
)
def test_a_malformed_array_is_a_feed_error_naming_the_entry(text):
    with pytest.raises(MeetingFeedError, match=r"meetings\[\d+\]|after the array"):
        list(iter_json_array(io.StringIO(text), source="t", chunk=5))


def test_an_entry_longer_than_the_limit_is_refused_without_reading_on():
    text = '[{"a": "' + "x" * 10_000 + '"}]'
    with pytest.raises(MeetingFeedError, match="longer than 1000"):
        list(iter_json_array(io.StringIO(text), source="t", chunk=100, max_entry=1000))


def test_a_file_that_is_not_an_array_is_left_to_the_caller():
    with pytest.raises(NotAnArray):
        next(iter_json_array(io.StringIO('{"meetings": []}'), source="t"))


def test_the_position_of_an_error_is_the_line_and_column_json_reports():
    text = "[\n" + ",\n".join(json.dumps({"a": i}) for i in range(300)) + ',\n {"a": x}\n]'
    with pytest.raises(MeetingFeedError, match=r"\(line 302, column 8\) in meetings\[300\]"):
        list(iter_json_array(io.StringIO(text), source="t", chunk=50))


@settings(max_examples=100)
@given(st.lists(st.text(max_size=6), max_size=300))
def test_seen_ids_answers_as_a_dict_would(keys):
    seen, expected = SeenIds(capacity=2), {}
    for position, key in enumerate(keys):
        assert seen.add(key, position) == expected.get(key)
        expected.setdefault(key, position)
    assert len(seen) == len(expected)


def test_the_streamed_directory_reads_back_as_dump_directory_wrote_it(tmp_path):
    meetings = [meeting("a"), meeting("b", name="Ünïcode ☕ meeting")]
    with DirectoryWriter(tmp_path / "d.json") as out:
        for m in meetings:
            out.write(m)
    (tmp_path / "e.json").write_text(dump_directory(meetings), "utf-8")
    assert list(load_directory(tmp_path / "d.json")) == list(load_directory(tmp_path / "e.json"))


def test_a_failed_write_leaves_the_previous_directory_in_place(tmp_path):
    target = tmp_path / "d.json"
    target.write_text(dump_directory([meeting("old")]), "utf-8")
    with pytest.raises(RuntimeError), DirectoryWriter(target) as out:
        out.write(meeting("new"))
        raise RuntimeError("the feed broke half way")
    assert [m.meeting_id for m in load_directory(target)] == ["old"]
    assert not (tmp_path / "d.json.part").exists()


def _rows(n: int) -> str:
    header = "Group name,Summary description,When & where,Contact details,Meeting ID,Time zone\n"
    return header + "".join(
        f"Group {i},Open,Tue 19:00-20:00,Hall,m-{i},Europe/London\n" for i in range(n)
    )


def test_a_sink_receives_every_meeting_and_the_report_keeps_none(tmp_path):
    (tmp_path / "list.csv").write_text(
        _rows(50) + "Group 0 again,Open,Tue 19:00,Hall,m-0,Europe/London\n"
    )
    got: list[str] = []
    report = read_csv_file(
        tmp_path / "list.csv", options=ImportOptions(sink=lambda m: got.append(m.meeting_id))
    )
    assert got == [f"m-{i}" for i in range(50)]
    assert report.meetings == [] and report.imported == 50
    assert report.problems[0].record == "row 52"
    assert "id already used by row 2" in str(report.problems[0])


def test_a_streamed_meeting_guide_file_imports_as_the_whole_text_does(tmp_path):
    from fama_adapters.meetings import read_meeting_guide_json

    feed = [
        {
            "name": f"M{i}",
            "slug": f"m{i}",
            "day": i % 7,
            "time": "19:00",
            "timezone": "Europe/London",
        }
        for i in range(200)
    ] + [{"name": "dup", "slug": "m3"}, "not an object"]
    (tmp_path / "feed.json").write_text(json.dumps(feed), "utf-8")
    streamed = read_meeting_guide_file(tmp_path / "feed.json")
    whole = read_meeting_guide_json(json.dumps(feed), source="feed.json")
    assert streamed.meetings == whole.meetings
    assert [str(p) for p in streamed.problems] == [str(p) for p in whole.problems]


def test_the_import_command_streams_to_the_directory_file(tmp_path):
    from fama_adapters.cli import main

    (tmp_path / "list.csv").write_text(_rows(120), "utf-8")
    out = io.StringIO()
    code = main(
        [
            "meetings",
            "import",
            str(tmp_path / "list.csv"),
            "--out",
            str(tmp_path / "d.json"),
            "--json",
        ],
        stdout=out,
        stderr=io.StringIO(),
    )
    assert code == 0
    assert json.loads(out.getvalue())["imported"] == 120
    assert len(load_directory(tmp_path / "d.json")) == 120
    assert not Path(str(tmp_path / "d.json") + ".part").exists()


def test_a_systematic_fault_is_counted_in_full_but_its_messages_kept_to_a_limit(monkeypatch):
    from fama_adapters.meetings import report as report_module

    monkeypatch.setattr(report_module, "KEPT", 5)
    rows = "".join(
        f'G{i},Open,"Tue 19:00, Hall, 1 High St, QX9 9ZZ",x,m-{i},Europe/London\n'
        for i in range(12)
    )
    header = "Group name,Summary description,When & where,Contact details,Meeting ID,Time zone\n"
    from fama_adapters.meetings import read_csv_text

    report = read_csv_text(header + rows)
    assert len(report.warnings) == 5
    assert report.summary(__import__("datetime").date(2026, 3, 2))["warnings"] == 12
    assert report.imported == 12
