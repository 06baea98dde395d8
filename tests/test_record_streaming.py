"""`fama record` streams its refusals (issue 11 item 9): nothing kept per refused line."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.store.memory import MemoryEventStore
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.events import event_to_json, events_from_json_lines


def _journey(client: str) -> list[str]:
    b = JourneyBuilder(client, keyworker_id="kw-1")
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    return [event_to_json(e) for e in b.events]


def _mixed(pattern: list[bool]) -> list[str]:
    """Lines in the given order: True a valid event of a new client, False a refused line."""
    lines, n = [], 0
    for good in pattern:
        n += 1
        lines += _journey(f"s{n}")[:1] if good else [json.dumps({"kind": "nope", "n": n})]
    return lines


@settings(max_examples=25)
@given(pattern=st.lists(st.booleans(), max_size=60), flush_every=st.integers(1, 7))
def test_streamed_refusals_come_in_line_order_and_none_are_kept(pattern, flush_every):
    lines = _mixed(pattern)
    seen = []
    with Fama(MemoryEventStore("memory://")) as fama:
        report = fama.record_lines(
            events_from_json_lines(lines), flush_every=flush_every, on_problem=seen.append
        )
    assert report.problems == []  # nothing kept in the report
    assert report.refused == len(seen) == pattern.count(False)
    assert [p.line for p in seen] == sorted(p.line for p in seen)
    assert report.recorded == pattern.count(True)


def test_without_a_sink_the_report_keeps_the_problems_as_before():
    lines = _mixed([False, True, False])
    with Fama(MemoryEventStore("memory://")) as fama:
        report = fama.record_lines(events_from_json_lines(lines))
    assert [p.line for p in report.problems] == [1, 3] and report.refused == 2


def test_record_json_is_one_document_with_every_refusal(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(_mixed([False] * 1200 + [True] * 3)) + "\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["record", str(path), "--store", "memory://", "--json"], stdout=out, stderr=err)
    data = json.loads(out.getvalue())
    assert code == 1
    assert len(data["refused"]) == 1200 and data["recorded"] == 3 and data["clients"] == 3
    assert [r["line"] for r in data["refused"]] == list(range(1, 1201))


def test_record_text_reports_each_refusal_then_the_totals(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(_mixed([True, False, True])) + "\n", "utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["record", str(path), "--store", "memory://"], stdout=out, stderr=err)
    lines = out.getvalue().splitlines()
    assert code == 1
    assert lines[0].startswith("line 2: refused (InvalidRecord")
    assert lines[-1] == "recorded 2 events for 2 clients; 0 already recorded; 1 refused"
