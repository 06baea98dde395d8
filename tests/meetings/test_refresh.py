"""Refresh with a change report: the diff, provenance, failed sources, and the clients concerned."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.meetings.refresh import (
    SourceEntry,
    load_changes,
    read_sources_file,
    refresh_sources,
)
from fama_adapters.meetings.sources import BUILTIN_SOURCES
from fama_adapters.meetings.store import dump_directory
from fama_adapters.store.memory import MemoryEventStore
from fama_core.builders import JourneyBuilder
from fama_core.directory import Weekday
from fama_core.models import MeetingRef
from fama_core.refresh import ChangeKind, MeetingChange, alerts_for, diff_meetings
from fama_core.workflow import fold

from .factories import meeting, slot

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC)
SOURCES = {s.name: s for s in BUILTIN_SOURCES}
LIST_HEADER = "Group name,Summary description,When & where,Contact details,Meeting ID,Time zone\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# --- the diff ---------------------------------------------------------------------------


def test_added_changed_with_fields_and_removed():
    before = [meeting("a"), meeting("b"), meeting("c")]
    after = [meeting("a"), meeting("b", day=Weekday.FRIDAY, start="18:00"), meeting("d")]
    changes = diff_meetings(before, after)
    assert [(c.kind, c.meeting_id, c.fields) for c in changes] == [
        (ChangeKind.CHANGED, "b", ("slots",)),
        (ChangeKind.ADDED, "d", ()),
        (ChangeKind.REMOVED, "c", ()),
    ]


def test_a_new_retrieval_time_alone_is_no_change():
    first = meeting("a").model_copy(update={"retrieved_at": NOW})
    again = meeting("a").model_copy(update={"retrieved_at": NOW + dt.timedelta(days=7)})
    assert diff_meetings([first], [again]) == ()


def test_a_renamed_meeting_keeps_its_previous_name():
    (change,) = diff_meetings([meeting("a", name="Old")], [meeting("a", name="New")])
    assert change.fields == ("name",) and change.previous_name == "Old"


_IDS = st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=8)


@settings(max_examples=100)
@given(_IDS, _IDS, st.sets(st.sampled_from("abcdefgh")))
def test_the_diff_accounts_for_every_id_once(before_ids, after_ids, moved):
    before = [meeting(i) for i in before_ids]
    after = [meeting(i, start="08:00" if i in moved else "19:30") for i in after_ids]
    changes = diff_meetings(before, after)
    kinds = {c.meeting_id: c.kind for c in changes}
    assert len(kinds) == len(changes)
    assert {i for i, k in kinds.items() if k is ChangeKind.ADDED} == set(after_ids) - set(
        before_ids
    )
    assert {i for i, k in kinds.items() if k is ChangeKind.REMOVED} == set(before_ids) - set(
        after_ids
    )
    assert {i for i, k in kinds.items() if k is ChangeKind.CHANGED} == (
        set(before_ids) & set(after_ids) & moved
    )


# --- the clients concerned --------------------------------------------------------------


def _committed(meeting_ref: MeetingRef, *, accompanied: bool = False) -> JourneyBuilder:
    b = JourneyBuilder("client-0007", keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1().session2(commit_to=meeting_ref, accompaniment=accompanied)
    if accompanied:
        b.accompany(meeting=meeting_ref)
    return b


def _removed(meeting_id: str, name: str = "Meeting x", organisation: str = "aa") -> MeetingChange:
    return MeetingChange(
        kind=ChangeKind.REMOVED, meeting_id=meeting_id, name=name, organisation=organisation
    )


def test_a_removed_meeting_with_an_open_commitment_alerts_that_client():
    ref = MeetingRef(meeting_id="m-7", name="Tuesday Newcomers", organisation="aa")
    state = fold(_committed(ref).events)
    (alert,) = alerts_for(state, [_removed("m-7"), _removed("m-8")])
    assert (alert.client_id, alert.refers, alert.change.meeting_id) == (
        "client-0007",
        "commitment",
        "m-7",
    )
    assert alert.planned_date is not None


def test_an_added_meeting_or_another_meeting_concerns_nobody():
    ref = MeetingRef(meeting_id="m-7", name="Tuesday Newcomers", organisation="aa")
    state = fold(_committed(ref).events)
    added = MeetingChange(kind=ChangeKind.ADDED, meeting_id="m-7", name="x", organisation="aa")
    assert alerts_for(state, [added, _removed("m-9")]) == ()


def test_a_reference_without_an_id_matches_by_organisation_and_earlier_name():
    ref = MeetingRef(name="Tuesday Newcomers", organisation="aa")
    state = fold(_committed(ref).events)
    renamed = MeetingChange(
        kind=ChangeKind.CHANGED,
        meeting_id="m-7",
        name="Tuesday Beginners",
        organisation="aa",
        fields=("name",),
        previous_name="Tuesday Newcomers",
    )
    assert len(alerts_for(state, [renamed])) == 1
    assert alerts_for(state, [_removed("m-7", "Tuesday Newcomers", "na")]) == ()


def test_an_open_accompaniment_is_alerted_too_and_a_concluded_one_is_not():
    ref = MeetingRef(meeting_id="m-7", name="Tuesday Newcomers", organisation="aa")
    b = _committed(ref, accompanied=True)
    refers = sorted(a.refers for a in alerts_for(fold(b.events), [_removed("m-7")]))
    assert refers == ["accompaniment", "commitment"]
    arrangement_id = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement_id)
    refers = [a.refers for a in alerts_for(fold(b.events), [_removed("m-7")])]
    assert refers == ["commitment"]


def test_a_reviewed_commitment_is_history():
    ref = MeetingRef(meeting_id="m-7", name="Tuesday Newcomers", organisation="aa")
    b = _committed(ref)
    b.session3()
    assert alerts_for(fold(b.events), [_removed("m-7")]) == ()


def test_due_next_carries_the_alert():
    ref = MeetingRef(meeting_id="m-7", name="Tuesday Newcomers", organisation="aa")
    fama = Fama(MemoryEventStore())
    fama.record(_committed(ref).events)
    due = fama.due_next("client-0007", meeting_changes=[_removed("m-7")])
    assert [a.change.kind for a in due.meeting_alerts] == [ChangeKind.REMOVED]
    assert due.to_json()["meeting_alerts"][0]["change"]["meeting_id"] == "m-7"
    assert fama.due_next("client-0007").meeting_alerts == ()


# --- refreshing sources -----------------------------------------------------------------


def _list(tmp_path: Path, name: str, *rows: str) -> str:
    (tmp_path / name).write_text(LIST_HEADER + "".join(r + "\n" for r in rows), "utf-8")
    return name


def _entry(tmp_path: Path, name: str) -> SourceEntry:
    return SourceEntry(
        label=name, location=str(tmp_path / name), format="csv", organisation="smart"
    )


ROW_A = "Group A,Open,Tue 19:00-20:00,Hall,a,Europe/London"
ROW_B = "Group B,Open,Wed 19:00-20:00,Hall,b,Europe/London"
ROW_B_MOVED = "Group B,Open,Thu 19:00-20:00,Hall,b,Europe/London"
ROW_C = "Group C,Open,Fri 19:00-20:00,Hall,c,Europe/London"


def test_a_refresh_reports_per_source_and_keeps_provenance(tmp_path):
    _list(tmp_path, "one.csv", ROW_A, ROW_B)
    first = refresh_sources([_entry(tmp_path, "one.csv")], [], SOURCES, now=NOW)
    assert [c.kind for c in first.changes] == [ChangeKind.ADDED, ChangeKind.ADDED]
    assert {(m.source, m.retrieved_at) for m in first.meetings} == {("one.csv", NOW)}
    _list(tmp_path, "one.csv", ROW_B_MOVED, ROW_C)
    later = NOW + dt.timedelta(days=7)
    second = refresh_sources([_entry(tmp_path, "one.csv")], first.meetings, SOURCES, now=later)
    (outcome,) = second.sources
    assert [(c.kind, c.meeting_id, c.fields) for c in outcome.changes] == [
        (ChangeKind.CHANGED, "b", ("slots",)),
        (ChangeKind.ADDED, "c", ()),
        (ChangeKind.REMOVED, "a", ()),
    ]
    assert {m.retrieved_at for m in second.meetings} == {later}


def test_a_source_that_cannot_be_read_keeps_its_meetings_and_says_so(tmp_path):
    _list(tmp_path, "one.csv", ROW_A)
    _list(tmp_path, "two.csv", ROW_C)
    entries = [_entry(tmp_path, "one.csv"), _entry(tmp_path, "two.csv")]
    first = refresh_sources(entries, [], SOURCES, now=NOW)
    (tmp_path / "one.csv").unlink()
    second = refresh_sources(entries, first.meetings, SOURCES, now=NOW)
    failed, read = second.sources
    assert failed.failure and "one.csv" in failed.failure and failed.changes == ()
    assert [m.meeting_id for m in second.meetings] == ["a", "c"]
    assert second.partial and read.failure is None


def test_a_source_no_longer_listed_has_its_meetings_removed(tmp_path):
    _list(tmp_path, "one.csv", ROW_A)
    _list(tmp_path, "two.csv", ROW_C)
    both = [_entry(tmp_path, "one.csv"), _entry(tmp_path, "two.csv")]
    first = refresh_sources(both, [], SOURCES, now=NOW)
    second = refresh_sources(both[:1], first.meetings, SOURCES, now=NOW)
    assert [(s.entry.label, [c.kind for c in s.changes]) for s in second.sources] == [
        ("one.csv", []),
        ("two.csv", [ChangeKind.REMOVED]),
    ]


def test_an_id_listed_by_two_sources_is_refused_in_the_later(tmp_path):
    _list(tmp_path, "one.csv", ROW_A)
    _list(tmp_path, "two.csv", ROW_A.replace("Group A", "Group A again"))
    report = refresh_sources(
        [_entry(tmp_path, "one.csv"), _entry(tmp_path, "two.csv")], [], SOURCES, now=NOW
    )
    assert [m.name for m in report.meetings] == ["Group A"]
    problem = report.sources[1].report.problems[0]  # type: ignore[union-attr]
    assert problem.problems[0].code == "duplicate"


def test_the_sources_file_names_a_bad_entry(tmp_path):
    (tmp_path / "sources.json").write_text(json.dumps([{"file": "x.csv", "format": "csv"}]))
    try:
        read_sources_file(tmp_path / "sources.json")
    except Exception as exc:  # noqa: BLE001 - the class is checked below
        assert type(exc).__name__ == "InvalidRecord"
        assert "sources[0]" in str(exc) and "organisation" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("a source without an organisation was accepted")


def test_the_command_writes_the_directory_the_change_report_and_names_the_client(tmp_path):
    _list(tmp_path, "one.csv", ROW_A, ROW_B)
    (tmp_path / "sources.json").write_text(
        json.dumps([{"file": "one.csv", "format": "csv", "organisation": "smart"}])
    )
    directory = tmp_path / "dir.json"
    code, out, _ = run(
        "meetings", "refresh", str(tmp_path / "sources.json"), "--directory", str(directory)
    )
    assert code == 0 and "one.csv  2" in out
    ref = MeetingRef(meeting_id="b", name="Group B", organisation="smart")
    log = tmp_path / "events.jsonl"
    log.write_text("".join(e.model_dump_json() + "\n" for e in _committed(ref).events))
    _list(tmp_path, "one.csv", ROW_A, ROW_B_MOVED)
    code, out, _ = run(
        "meetings",
        "refresh",
        str(tmp_path / "sources.json"),
        "--directory",
        str(directory),
        "--events",
        str(log),
    )
    assert code == 0
    assert 'one.csv: changed "Group B" (slots)' in out
    assert "client-0007: commitment on" in out and 'meeting changed "Group B" (slots)' in out
    (change,) = load_changes(tmp_path / "dir.changes.json")
    assert change.meeting_id == "b"
    saved = json.loads(directory.read_text())["meetings"]
    assert all(m["retrieved_at"] for m in saved)


def test_show_flags_the_changed_meeting_in_due_next(tmp_path):
    ref = MeetingRef(meeting_id="b", name="Group B", organisation="smart")
    log = tmp_path / "events.jsonl"
    log.write_text("".join(e.model_dump_json() + "\n" for e in _committed(ref).events))
    store = f"sqlite:///{tmp_path / 'fama.db'}"
    assert run("init", "--store", store)[0] == 0
    assert run("record", str(log), "--store", store)[0] == 0
    changes = tmp_path / "changes.json"
    changes.write_text(
        json.dumps(
            {
                "format": "fama-meeting-changes/1",
                "sources": [
                    {"changes": [_removed("b", "Group B", "smart").model_dump(mode="json")]}
                ],
            }
        )
    )
    code, out, _ = run("show", "client-0007", "--store", store, "--meeting-changes", str(changes))
    assert code == 0 and "NOTE commitment on" in out and 'removed "Group B"' in out
    code, out, _ = run("show", "client-0007", "--store", store)
    assert "NOTE" not in out


def test_dumped_directories_keep_provenance_through_a_reload(tmp_path):
    from fama_adapters.meetings.store import load_directory

    m = meeting("a", slots=(slot(Weekday.MONDAY, "19:00"),)).model_copy(
        update={"source": "one.csv", "retrieved_at": NOW}
    )
    (tmp_path / "d.json").write_text(dump_directory([m]))
    (back,) = load_directory(tmp_path / "d.json")
    assert (back.source, back.retrieved_at) == ("one.csv", NOW)
