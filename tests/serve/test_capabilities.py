"""Meetings, packs, NDTMS and the commissioners' report over HTTP, against the real server."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import httpx
import pytest
from serve_helpers import as_json, opened, report_agency, start_server, stop_server

from fama_adapters.cli import main
from fama_adapters.cli.core_commands import load_journeys
from fama_adapters.http.tokens import TokenFile
from fama_adapters.meetings.store import load_directory
from fama_adapters.ndtms.export import export
from fama_adapters.ndtms.plugin import demo_contexts
from fama_adapters.pack.chromium import find_chromium
from fama_core.matching import MatchRequest, match_meetings
from fama_core.ndtms.tables import load_dataset
from fama_core.workflow import fold

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = dt.date(2026, 3, 2)


def _request(name: str = "demo-c001") -> dict:
    raw = json.loads((EXAMPLES / "meetings" / "clients.json").read_text("utf-8"))[name]
    week = {**raw["availability"], "week_starts": "2026-03-03"}
    return {"preferences": raw["preferences"], "availability": week}


@pytest.fixture(scope="module")
def demo_caseload(server):
    """The sample journeys, recorded into agency AG1 through HTTP."""
    journeys = load_journeys(EXAMPLES / "journeys")
    with server.client("kw_a") as http:
        for _name, _title, events in journeys:
            client = events[0].client_id
            r = http.post(f"/v1/clients/{client}/events", json=as_json(events))
            assert r.status_code in (200, 201), r.text
    return {events[0].client_id: events for _n, _t, events in journeys}


def test_meeting_match_ranks_as_the_library_does(server):
    request = _request()
    with server.client("kw_a") as http:
        r = http.post("/v1/meetings/match", json=request, params={"today": TODAY.isoformat()})
    assert r.status_code == 200, r.text
    model = MatchRequest.model_validate(request)
    local = match_meetings(
        load_directory(server.folder / "meetings-AG1.json"),
        model.preferences,
        model.availability,
        today=TODAY,
    )
    assert [m["meeting"]["meeting_id"] for m in r.json()["chosen"]] == [
        m.meeting.meeting_id for m in local.chosen
    ]
    assert len(r.json()["excluded"]) == len(local.excluded)


def test_matching_without_a_directory_for_the_agency_is_a_409(server):
    with server.client("kw_b") as http:
        r = http.post("/v1/meetings/match", json=_request())
    assert r.status_code == 409
    assert r.json()["type"] == "urn:fama:problem:no-meeting-directory"


def test_a_commissioner_cannot_match_or_print_a_pack(server):
    with server.client("comm_a") as http:
        match = http.post("/v1/meetings/match", json=_request())
        pack = http.post("/v1/clients/pk-1/pack", json=_request())
    assert (match.status_code, pack.status_code) == (403, 403)


def test_the_client_pack_is_html_naming_the_chosen_meetings(server):
    b = opened("pk-1")
    with server.client("kw_a") as http:
        http.post("/v1/clients/pk-1/events", json=as_json(b.events)).raise_for_status()
        r = http.post(
            "/v1/clients/pk-1/pack", json=_request(), params={"prepared_on": TODAY.isoformat()}
        )
        unknown = http.post("/v1/clients/nobody-1/pack", json=_request())
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.lstrip().lower().startswith("<!doctype html")
    first = match_meetings(
        load_directory(server.folder / "meetings-AG1.json"),
        MatchRequest.model_validate(_request()).preferences,
        MatchRequest.model_validate(_request()).availability,
        today=TODAY,
    ).chosen[0]
    assert first.meeting.name.split("&")[0] in r.text
    assert unknown.status_code == 404


def test_ndtms_export_over_http_is_the_library_export_of_the_same_log(server, demo_caseload):
    states = {c: fold(events) for c, events in demo_caseload.items()}
    contexts = demo_contexts(states)
    body = [json.loads(c.model_dump_json(exclude_none=True)) for c in contexts]
    with server.client("lead_a") as http:
        r = http.post("/v1/ndtms/export", json=body, params={"dataset": "P", "as_of": "2026-07-31"})
        summary = http.post(
            "/v1/ndtms/export/summary", json=body, params={"dataset": "P", "as_of": "2026-07-31"}
        )
        stored = {
            c: [item["version"] for item in http.get(f"/v1/clients/{c}/events").json()]
            for c in demo_caseload
        }
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    # The same export run by the library over the same events (the store holds only these
    # clients' events among those the contexts name; others have no context and no rows).
    events = [e for c in sorted(demo_caseload) for e in demo_caseload[c]]
    assert all(len(v) == len(demo_caseload[c]) for c, v in stored.items())
    lines = (e.model_dump_json(exclude_none=True).encode() + b"\n" for e in events)
    ctx_lines = (
        c.model_dump_json(exclude_none=True).encode() + b"\n"
        for c in sorted(contexts, key=lambda c: c.client_id)
    )
    out = io.BytesIO()
    local = export(lines, ctx_lines, out, load_dataset("P"), as_of=dt.date(2026, 7, 31))
    assert r.content == out.getvalue()
    assert int(r.headers["x-fama-rows"]) == local.rows_written > 0
    assert summary.json()["rows_written"] == local.rows_written


def test_ndtms_is_for_data_leads_only(server):
    with server.client("kw_a") as http:
        r = http.post("/v1/ndtms/export", json=[])
        v = http.post("/v1/ndtms/validate", content=b"", headers={"Content-Type": "text/csv"})
    assert (r.status_code, v.status_code) == (403, 403)


def test_ndtms_validate_reports_each_rule_broken(server, demo_caseload):
    states = {c: fold(events) for c, events in demo_caseload.items()}
    body = [json.loads(c.model_dump_json(exclude_none=True)) for c in demo_contexts(states)]
    with server.client("lead_a") as http:
        csv = http.post("/v1/ndtms/export", json=body, params={"as_of": "2026-07-31"}).content
        good = http.post(
            "/v1/ndtms/validate",
            content=csv,
            params={"as_of": "2026-07-31"},
            headers={"Content-Type": "text/csv"},
        )
        broken = http.post(
            "/v1/ndtms/validate",
            content=csv.replace(b'"Y"', b'"maybe"'),
            params={"as_of": "2026-07-31"},
            headers={"Content-Type": "text/csv"},
        )
    assert good.status_code == 200, good.text
    assert good.json()["errors"] == 0
    assert broken.json()["errors"] > 0
    assert "maybe" not in broken.text


def test_the_commissioners_report_is_aggregate_and_names_no_client(server, demo_caseload):
    with report_agency(server, "CAP1", demo_caseload) as http:
        period = {"as_of": "2026-07-31", "to": "2026-06-30"}
        r = http.get("/v1/report", params={**period, "area": "Northbridge"})
        page = http.get("/v1/report.html", params=period)
        lowered = http.get("/v1/report", params={**period, "threshold": 1})
        other = http.get("/v1/report", params={**period, "threshold": 6})
    assert r.status_code == 200, r.text
    assert r.json()["area"] == "Northbridge"
    assert page.headers["content-type"].startswith("text/html")
    for client in demo_caseload:
        assert client not in r.text
        assert client not in page.text
    assert lowered.status_code == 400  # suppression is never lowered
    # ... nor raised by a query: the threshold is the service's (Q3)
    assert other.status_code == 400 and other.json()["type"] == "urn:fama:problem:threshold-fixed"
    assert r.json()["release"]["number"] == 1 and page.status_code == 200
    assert "answer 1 of this service, first given on" in page.text  # the page says it is frozen


def test_a_keyworker_does_not_get_the_report(server):
    with server.client("kw_a") as http:
        r = http.get("/v1/report")
    assert r.status_code == 403


def test_ndtms_over_http_offers_every_dataset_version_the_cli_does():
    """Dataset R (in force since April 2024, the CLI's default) is a version over HTTP too."""
    import typing

    from fama_adapters.http import app as http_app
    from fama_core.ndtms.tables import CURRENT_VERSION, DATASET_VERSIONS

    literal = typing.get_args(http_app._Dataset)[0]
    assert typing.get_args(literal) == DATASET_VERSIONS
    assert CURRENT_VERSION == "R"


# ----------------------------------------------------------------------- the pack as PDF


def test_the_client_pack_is_a_pdf_too(server):
    if find_chromium() is None:
        pytest.skip("Chromium is not installed: the PDF route answers 501 (tested below)")
    b = opened("pdf-1")
    with server.client("kw_a") as http:
        http.post("/v1/clients/pdf-1/events", json=as_json(b.events)).raise_for_status()
        r = http.post(
            "/v1/clients/pdf-1/pack.pdf",
            json=_request(),
            params={"prepared_on": TODAY.isoformat()},
            timeout=120,
        )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert "pdf-1" not in r.headers["content-disposition"]


def test_a_pdf_pack_is_for_the_same_roles_and_clients_as_the_html_one(server):
    with server.client("comm_a") as http:
        forbidden = http.post("/v1/clients/pdf-1/pack.pdf", json=_request())
    with server.client("kw_a") as http:
        unknown = http.post("/v1/clients/nobody-pdf/pack.pdf", json=_request())
    with server.client("kw_b") as http:
        other_agency = http.post("/v1/clients/pdf-1/pack.pdf", json=_request())
    assert forbidden.status_code == 403
    assert unknown.status_code == 404
    assert other_agency.status_code == 404


def test_without_chromium_the_pdf_pack_is_a_501_naming_what_is_missing(tmp_path):
    """A service whose machine has no Chromium: 501 pdf-unavailable, nothing else breaks."""
    tokens = TokenFile(tmp_path / "tokens.json")
    secret, _record = tokens.issue(agency="AG1", role="keyworker", name="kw")
    code = main(
        [
            "meetings",
            "import",
            str(EXAMPLES / "meetings" / "aa-northbridge.json"),
            "--organisation",
            "aa",
            "--timezone",
            "Europe/London",
            "--out",
            str(tmp_path / "meetings.json"),
        ],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert code == 0
    proc, base = start_server(
        tmp_path,
        "--store",
        f"sqlite:///{tmp_path}/{{agency}}.db",
        "--meetings",
        str(tmp_path / "meetings.json"),
        env={"FAMA_CHROMIUM": str(tmp_path / "no-chromium-here")},
    )
    try:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            http.post("/v1/clients/nc-1/events", json=as_json(opened("nc-1").events))
            pdf = http.post("/v1/clients/nc-1/pack.pdf", json=_request())
            html = http.post("/v1/clients/nc-1/pack", json=_request())
    finally:
        stop_server(proc)
    assert pdf.status_code == 501
    assert pdf.json()["type"] == "urn:fama:problem:pdf-unavailable"
    assert html.status_code == 200
