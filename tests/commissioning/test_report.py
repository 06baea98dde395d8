"""The report files: the hand-checked figures in CSV, JSON and HTML; the command; the demo."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import REPORT_FILES, render_csv, render_json, write_report
from fama_adapters.report.html import render_html
from fama_core.commissioning import PartnershipInput
from fama_core.events import event_to_json

from .caseload import hand_checked_caseload, hand_checked_events
from .test_availability import AS_OF, DIRECTORY

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def report():
    return build_report(
        area="Hand-checked area",
        as_of=AS_OF,
        caseload=hand_checked_caseload(),
        meetings=DIRECTORY,
        partnership=PartnershipInput(partnership="Hand-checked area", keyworkers_total=4),
        threshold=1,
    )


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_carries_the_hand_checked_area_funnel(report):
    figures = rows(render_csv(report)["figures.csv"])
    area = {
        r["measure"]: r["value"]
        for r in figures
        if r["section"] == "access" and r["dimension"] == "area"
    }
    assert area == {
        "introduced": "9",
        "committed": "5",
        "first_meeting": "3",
        "engaged": "2",
        "declined": "2",
        "closed": "2",
        "in_progress": "3",
        "accompaniment_arranged": "2",
        "accompaniment_used": "1",
    }


def test_csv_carries_medians_grid_and_obstacles(report):
    figures = rows(render_csv(report)["figures.csv"])
    median = next(
        r
        for r in figures
        if r["section"] == "access_median"
        and r["group"] == "kw-a"
        and r["measure"] == "days_introduced_to_committed"
    )
    assert (median["value"], median["unit"]) == ("10.5", "days")
    cell = next(
        r
        for r in figures
        if r["section"] == "availability_grid"
        and r["dimension"] == "any_in_person"
        and r["group"] == "Tuesday"
        and r["measure"] == "morning"
    )
    assert cell["value"] == "1"  # aa2, hybrid, 07:00
    obstacle = next(r for r in figures if r["section"] == "obstacles")
    assert (obstacle["measure"], obstacle["value"]) == ("getting_there", "3")


def test_gaps_and_plan_csv(report):
    csvs = render_csv(report)
    gaps = rows(csvs["gaps.csv"])
    assert {"gap": "online_only", "subject": "ma", "weekday": "", "detail": ""} in gaps
    assert any(g["gap"] == "no_meeting_whole_day" and g["weekday"] == "Thursday" for g in gaps)
    plan = rows(csvs["action_plan.csv"])
    assert all(p["status"] == "proposed" for p in plan)
    sa = rows(csvs["self_assessment.csv"])
    assert {r["question"]: r["source"] for r in sa}["clients_reach_meetings"] == "data"


def test_json_is_the_report_model(report):
    data = json.loads(render_json(report))
    assert data["access"]["groups"][0]["counts"]["introduced"] == 9
    assert data["availability"]["no_local_meeting"] == ["alateen", "ca", "daa", "fa", "ma"]
    assert "client_id" not in json.dumps(data)


def test_html_shows_the_hand_checked_figures(report):
    html = render_html(report)
    assert '<td class="n people" data-measure="introduced">9</td>' in html
    assert '<td class="n people" data-measure="first_meeting">3</td>' in html
    assert "Of the clients introduced to mutual aid in the period, 33% attended" in html


def test_html_is_self_contained(report):
    html = render_html(report)
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    assert "<link" not in html and "<img" not in html


def test_html_never_carries_client_ids(report):
    html = render_html(report)
    assert not any(f"c{n:02d}" in html for n in range(1, 11))


def test_write_report_writes_every_file(report, tmp_path):
    paths = write_report(report, tmp_path / "r")
    assert [p.name for p in paths] == list(REPORT_FILES)
    assert all(p.stat().st_size > 0 for p in paths)


# ------------------------------------------------------------------ the command
def _inputs(tmp_path):
    log = tmp_path / "events.jsonl"
    log.write_text(
        "".join(event_to_json(e) + "\n" for evs in hand_checked_events().values() for e in evs)
    )
    return log


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_report_command_writes_the_report(tmp_path):
    from fama_adapters.meetings.plugin import import_sources
    from fama_adapters.meetings.store import dump_directory
    from fama_adapters.plugins import PluginHost

    log = _inputs(tmp_path)
    directory = tmp_path / "directory.json"
    directory.write_text(
        dump_directory(import_sources(ROOT / "examples/meetings", PluginHost())[0])
    )
    code, out, err = run(
        "report",
        "--events",
        str(log),
        "--meetings",
        str(directory),
        "--assessment",
        str(ROOT / "examples/commissioning/assessment.json"),
        "--out",
        str(tmp_path / "out"),
        "--as-of",
        "2026-07-31",
        "--threshold",
        "1",
    )
    assert code == 0, err
    assert "introduced" in out and "9" in out
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    # the Northbridge directory: no Alateen, DAA, Families Anonymous or MA meeting in person
    assert data["availability"]["no_local_meeting"] == ["alateen", "daa", "fa", "ma"]


def test_report_command_reports_bad_lines_and_carries_on(tmp_path):
    log = _inputs(tmp_path)
    log.write_text(log.read_text() + "{not json}\n")
    code, out, err = run(
        "report", "--events", str(log), "--out", str(tmp_path / "o"), "--json", "--threshold", "1"
    )
    assert code == 1
    assert "events.jsonl: line" in err
    assert json.loads(out)["problems"]


def test_report_command_needs_events(tmp_path):
    code, _, err = run("report", "--out", str(tmp_path))
    assert code == 2 and "--events" in err


def test_report_command_refuses_a_zero_threshold(tmp_path):
    code, _, _ = run("report", "--events", "x", "--threshold", "0")
    assert code == 2


def test_report_period_filters(tmp_path):
    log = _inputs(tmp_path)
    code, out, _ = run(
        "report",
        "--events",
        str(log),
        "--out",
        str(tmp_path / "o"),
        "--threshold",
        "1",
        "--from",
        "2026-02-01",
        "--as-of",
        "2026-07-01",
    )
    assert code == 0
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["access"]["groups"][0]["counts"]["introduced"] == 6


def test_demo_writes_the_demo_area_report(tmp_path):
    code, out, err = run("demo", "--examples", str(ROOT / "examples"), "--out", str(tmp_path))
    assert code == 0, err
    assert "Commissioners' report for the demo area" in out
    assert (tmp_path / "report" / "report.html").is_file()
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["generated_on"] == "2026-07-31"
    assert data["access"]["threshold"] == 5


# ------------------------------------------------------------------ NDTMS completeness
def _completeness(**overall):
    counts = {
        "clients_in_treatment": 20,
        "facilitation_recorded": 10,
        "no_facilitation_in_treatment": 10,
        "no_fama_record": 4,
        "reviews_missing": 1,
        "reviews_pending": 0,
        "invalid_flags": 0,
        "flags_empty": 1,
        "not_submittable": 0,
    }
    counts.update(overall)
    return {"overall": counts, "by_keyworker": {}, "rejected": {}}


def test_completeness_share_from_the_ndtms_completeness_output():
    from fama_adapters.report.io import completeness_share

    assert completeness_share(_completeness()) == 0.8  # 10 recorded, 1 missing, 1 empty
    assert completeness_share(_completeness(facilitation_recorded=0)) is None
    with pytest.raises(Exception, match="whole-number counts"):
        completeness_share({"overall": {"facilitation_recorded": "ten"}})


def test_report_command_answers_the_ndtms_question_from_the_completeness_file(tmp_path):
    log = _inputs(tmp_path)
    path = tmp_path / "completeness.json"
    path.write_text(json.dumps(_completeness()))
    code, _, err = run(
        "report",
        "--events",
        str(log),
        "--ndtms-completeness",
        str(path),
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 0, err
    items = json.loads((tmp_path / "o" / "report.json").read_text())["assessment"]["items"]
    ndtms = next(i for i in items if i["question"]["id"] == "ndtms_recording")
    assert (ndtms["answer"], ndtms["source"]) == ("partly", "data")
    assert ndtms["evidence"].startswith("80%")


def _area_log(tmp_path, clients=120):
    from fama_adapters.report.sample import area_caseload

    log = tmp_path / "area.jsonl"
    log.write_text(
        "".join(event_to_json(e) + "\n" for evs in area_caseload(clients).values() for e in evs)
    )
    return log


def test_report_command_protects_differences_with_an_earlier_report(tmp_path):
    log = _area_log(tmp_path)
    common = ("--events", str(log), "--as-of", "2026-07-31", "--from", "2026-01-01")
    code, _, err = run("report", *common, "--to", "2026-03-31", "--out", str(tmp_path / "q1"))
    assert code == 0, err
    earlier = tmp_path / "q1" / "report.json"
    code, _, err = run(
        "report",
        *common,
        "--to",
        "2026-04-30",
        "--earlier",
        str(earlier),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 0, err
    data = json.loads((tmp_path / "b" / "report.json").read_text())
    assert "report.json" in data["sources"]


def test_report_command_refuses_an_earlier_report_from_other_records_by_file_name(tmp_path):
    common = ("--as-of", "2026-07-31", "--from", "2026-01-01", "--to", "2026-03-31")
    code, _, err = run(
        "report", "--events", str(_area_log(tmp_path, 60)), *common, "--out", str(tmp_path / "a")
    )
    assert code == 0, err
    code, _, err = run(
        "report",
        "--events",
        str(_area_log(tmp_path, 120)),
        *common,
        "--earlier",
        str(tmp_path / "a" / "report.json"),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 3, err  # content that cannot be used (docs/cli.md)
    assert "--earlier report.json: its figures cannot be reproduced" in err
    assert "Traceback" not in err


@settings(max_examples=30)
@given(text=st.text(max_size=200) | st.sampled_from(['{"access": 3}', "[]", '{"access": {}}']))
def test_an_earlier_file_that_is_not_a_report_is_refused_by_name(tmp_path_factory, text):
    from fama_adapters.report.io import load_earlier
    from fama_core.errors import InputUnreadable

    path = tmp_path_factory.mktemp("earlier") / "old.json"
    path.write_text(text)
    with pytest.raises(InputUnreadable, match="--earlier old.json: "):
        load_earlier(path)


def test_self_assessment_csv_cites_each_questions_source(report):
    sa = {r["question"]: r for r in rows(render_csv(report)["self_assessment.csv"])}
    assert sa["shared_vision"]["heading"] == "integration"
    assert "The role commissioners can play" in sa["shared_vision"]["question_source"]
    assert sa["directory_current"]["local_addition"] == "yes"
    assert sa["jsna_and_strategy"]["local_addition"] == "no"


def test_html_shows_headings_sources_local_additions_and_thresholds(report):
    html = render_html(report)
    for title in ("Availability of mutual aid locally", "Barriers within the treatment system"):
        assert title in html
    assert "local addition" in html
    assert "Source: <cite>Improving access to mutual aid" in html
    assert 'id="thresholds"' in html and "First-meeting target" in html


def test_a_completeness_file_without_per_keyworker_counts_is_reported_and_the_rest_written(
    tmp_path,
):
    path = tmp_path / "completeness.json"
    data = _completeness()
    del data["overall"]["no_fama_record"]
    path.write_text(json.dumps(data))
    code, _, err = run(
        "report",
        "--events",
        str(_inputs(tmp_path)),
        "--ndtms-completeness",
        str(path),
        "--out",
        str(tmp_path / "o"),
    )
    assert code == 1, err
    assert "no_fama_record: needs a whole number of clients" in err
    written = json.loads((tmp_path / "o" / "report.json").read_text())
    assert written["completeness"] is None


def test_report_command_refuses_earlier_reports_it_cannot_keep_protected_by_file_name(
    tmp_path, monkeypatch
):
    # analyse_access refuses when no withheld set protects the earlier reports
    # (test_attack.py); the command names the files and publishes nothing.
    from fama_core.commissioning import access
    from fama_core.commissioning.suppression import Unprotectable

    common = ("--as-of", "2026-07-31", "--from", "2026-01-01", "--to", "2026-03-31")
    log = _area_log(tmp_path, 60)
    code, _, err = run("report", "--events", str(log), *common, "--out", str(tmp_path / "a"))
    assert code == 0, err

    def cannot(*_a, **_k):
        raise Unprotectable("suppression could not protect every sensitive count")

    monkeypatch.setattr(access, "suppress", cannot)
    code, _, err = run(
        "report",
        "--events",
        str(log),
        *common,
        "--earlier",
        str(tmp_path / "a" / "report.json"),
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 3, err
    assert "--earlier report.json: this report and the earlier ones together" in err
    assert "Traceback" not in err
    assert not (tmp_path / "b" / "report.json").exists()
