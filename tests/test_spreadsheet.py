"""CSV formula neutralising (issue 11 item 5): every CSV fama writes for people."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.spreadsheet import FORMULA_STARTS, neutralise, people_csv_writer, restore

ROOT = Path(__file__).parent.parent
FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://x.example","y")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    # red team 2026-11-30: each of these was written unmarked before
    "\n=1+1",
    " =1+1",
    "  @SUM(A1)",
    "\u00a0=1+1",
    "\u3000+1",
    '\uff1dHYPERLINK("http://x.example","y")',
    "\uff0b1+1",
    "\uff0d2+3",
    "\uff20SUM(A1)",
]

cells = (
    st.text()
    | st.sampled_from(FORMULAS)
    | st.builds(lambda a, b: a + b, st.sampled_from(["'", "''", *FORMULA_STARTS]), st.text())
)


def _dangerous(cell: str) -> bool:
    return cell.startswith(FORMULA_STARTS) or cell.lstrip().startswith(FORMULA_STARTS)


@given(cells)
def test_a_written_cell_never_starts_a_formula_unless_it_is_only_a_number(value):
    written = neutralise(value)
    if _dangerous(written):
        float(written)  # a plain number such as -3 is the only exception


@given(
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(" \t\r\n\u00a0\u3000"),
        st.sampled_from([c for c in FORMULA_STARTS if not c.isspace()]),
        st.text(),
    )
)
def test_spaces_in_front_of_a_formula_do_not_hide_it(value):
    assert neutralise(value).startswith("'") or _plain_number(value)


def _plain_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def test_a_hostile_cell_read_back_with_the_csv_module_is_text_for_a_spreadsheet():
    buffer = io.StringIO()
    people_csv_writer(buffer).writerows([[f] for f in FORMULAS])
    back = [row[0] for row in csv.reader(io.StringIO(buffer.getvalue(), newline=""))]
    assert back == ["'" + f for f in FORMULAS]
    assert [restore(c) for c in back] == FORMULAS


@given(cells)
def test_reading_back_gives_what_was_written(value):
    assert restore(neutralise(value)) == value


@given(st.integers() | st.floats(allow_nan=False) | st.none())
def test_numbers_are_left_alone(value):
    assert neutralise(value) is value


@pytest.mark.parametrize("formula", FORMULAS)
def test_each_formula_start_gets_the_text_mark(formula):
    assert neutralise(formula) == "'" + formula


def test_the_people_writer_neutralises_every_cell():
    buffer = io.StringIO()
    people_csv_writer(buffer, lineterminator="\n").writerow(["=1+1", "ok", -3, "-3"])
    assert buffer.getvalue() == "'=1+1,ok,-3,-3\n"


def test_report_csvs_neutralise_answers_and_actions(tmp_path):
    assessment = json.loads((ROOT / "examples/commissioning/assessment.json").read_text("utf-8"))
    first = next(iter(assessment["answers"]))
    assessment["answers"][first]["evidence"] = '=HYPERLINK("http://evil.example","x")'
    assessment["actions"][0]["action"] = "+cmd|' /C calc'!A0"
    assessment["actions"][0]["lead"] = "@SUM(1+1)"
    path = tmp_path / "assessment.json"
    path.write_text(json.dumps(assessment), "utf-8")
    events = tmp_path / "events.jsonl"
    events.write_bytes((ROOT / "examples/journeys/engaged-after-two-cycles.jsonl").read_bytes())
    out, err = io.StringIO(), io.StringIO()
    code = main(
        [
            "report",
            "--events",
            str(events),
            "--assessment",
            str(path),
            "--out",
            str(tmp_path / "r"),
        ],
        stdout=out,
        stderr=err,
    )
    assert code in (0, 1), err.getvalue()
    seen = []
    for name in ("self_assessment.csv", "action_plan.csv", "figures.csv", "gaps.csv"):
        with (tmp_path / "r" / name).open(newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    seen.append(cell)
                    assert not cell.startswith(FORMULA_STARTS) or float(cell) is not None
    assert '\'=HYPERLINK("http://evil.example","x")' in seen
    assert "'+cmd|' /C calc'!A0" in seen and "'@SUM(1+1)" in seen


def test_a_meeting_list_written_for_editing_is_neutralised_and_reads_back_the_same():
    from fama_adapters.meetings.csv_list import read_csv_text, write_csv
    from fama_core.directory import Meeting

    meeting = Meeting.model_validate(
        {
            "meeting_id": "m1",
            "name": "=1+1 group",
            "organisation": "aa",
            "slots": [{"day": 1, "start": "19:00"}],
            "timezone": "Europe/London",
            "attendance": "in_person",
            "address": "1 High Street",
            "contact": "@handle",
        }
    )
    text = write_csv([meeting])
    assert "'=1+1 group" in text and "'@handle" in text
    (back,) = read_csv_text(text).meetings
    assert (back.name, back.contact) == ("=1+1 group", "@handle")
