"""Erasure, subject access and log verification over ``fama serve``, on the real server."""

from __future__ import annotations

import re

import pytest
from serve_helpers import as_json, opened

SECRET = "RECORD-KEEPING-PRIVATE-NOTE"


def _recorded(server, client_id: str) -> int:
    """Record a two-event journey whose first step note is :data:`SECRET`; its version."""
    events = as_json(opened(client_id).events)
    events[1]["steps"][0]["note"] = SECRET
    with server.client("kw_a") as http:
        r = http.post(f"/v1/clients/{client_id}/events", json=events)
    r.raise_for_status()
    return int(r.json()["version"])


def _audit_of(server, client_id: str) -> list[tuple[str, str, int]]:
    return [
        (line["token"], line["action"], line["status"])
        for line in server.audit_lines()
        if line["client"] == client_id
    ]


# ----------------------------------------------------------------------- erasure


def test_a_data_lead_erases_a_client_and_its_text_reads_erased(server):
    version = _recorded(server, "er-1")
    with server.client("lead_a") as http:
        r = http.post("/v1/clients/er-1/erasure", headers={"If-Match": f'"{version}"'})
        view = http.get("/v1/clients/er-1", params={"reveal": "true"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["client_id"] == "er-1"
    assert body["events"] == version == 2
    assert body["already"] is False
    assert view.status_code == 200
    assert SECRET not in view.text
    assert "[erased]" in view.text
    assert view.json()["version"] == version  # the events stay: counts still add up


def test_erasing_again_answers_the_first_erasure(server):
    version = _recorded(server, "er-2")
    with server.client("lead_a") as http:
        first = http.post("/v1/clients/er-2/erasure", headers={"If-Match": str(version)})
        again = http.post("/v1/clients/er-2/erasure", headers={"If-Match": str(version)})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["already"] is True
    assert again.json()["erased_at"] == first.json()["erased_at"]


def test_an_erased_client_takes_no_new_events_and_says_why(server):
    version = _recorded(server, "er-3")
    with server.client("lead_a") as http:
        http.post("/v1/clients/er-3/erasure", headers={"If-Match": str(version)}).raise_for_status()
    b = opened("er-3")
    b.session2()
    with server.client("kw_a") as http:
        r = http.post("/v1/clients/er-3/events", json=as_json(b.events)[2:])
    assert r.status_code == 409  # not a 503: retrying can never succeed
    assert r.json()["type"] == "urn:fama:problem:client-erased"
    assert r.headers["content-type"] == "application/problem+json"


def test_erasure_without_if_match_is_a_428_and_erases_nothing(server):
    _recorded(server, "er-4")
    with server.client("lead_a") as http:
        r = http.post("/v1/clients/er-4/erasure")
        view = http.get("/v1/clients/er-4", params={"reveal": "true"})
    assert r.status_code == 428
    assert r.json()["type"] == "urn:fama:problem:if-match-required"
    assert SECRET in view.text


def test_erasure_of_a_record_that_moved_on_is_a_409_and_erases_nothing(server):
    version = _recorded(server, "er-5")
    with server.client("lead_a") as http:
        stale = http.post("/v1/clients/er-5/erasure", headers={"If-Match": str(version - 1)})
        bad = http.post("/v1/clients/er-5/erasure", headers={"If-Match": "yesterday"})
        view = http.get("/v1/clients/er-5", params={"reveal": "true"})
    assert stale.status_code == 409
    assert stale.json()["actual"] == version
    assert stale.headers["etag"] == f'"{version}"'
    assert bad.status_code == 400
    assert SECRET in view.text


def test_erasing_an_unknown_client_is_a_404(server):
    with server.client("lead_a") as http:
        r = http.post("/v1/clients/nobody-er/erasure", headers={"If-Match": "1"})
    assert r.status_code == 404
    assert r.json()["type"] == "urn:fama:problem:no-such-client"


# ----------------------------------------------------------------------- subject access


def test_a_subject_access_export_holds_every_event_in_full(server):
    version = _recorded(server, "sa-1")
    with server.client("lead_a") as http:
        r = http.get("/v1/clients/sa-1/subject-access")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["client_id"] == "sa-1"
    assert body["agency"] == "AG1"
    assert body["erased_at"] is None
    assert [e["version"] for e in body["events"]] == list(range(1, version + 1))
    assert body["events"][1]["event"]["steps"][0]["note"] == SECRET  # the subject's own data
    assert [e["episode_id"] for e in body["episodes"]] == [body["events"][0]["event"]["episode_id"]]
    assert {h["what"] for h in body["held"]}
    assert r.headers["cache-control"] == "no-store"
    assert "store" not in body  # where the store lives is the operator's, not the subject's


def test_a_subject_access_export_after_erasure_says_when(server):
    version = _recorded(server, "sa-2")
    with server.client("lead_a") as http:
        erased = http.post("/v1/clients/sa-2/erasure", headers={"If-Match": str(version)}).json()
        r = http.get("/v1/clients/sa-2/subject-access")
    assert r.status_code == 200
    assert r.json()["erased_at"] == erased["erased_at"]
    assert SECRET not in r.text


def test_subject_access_to_an_unknown_client_is_a_404(server):
    with server.client("lead_a") as http:
        r = http.get("/v1/clients/nobody-sa/subject-access")
    assert r.status_code == 404


# ----------------------------------------------------------------------- verification


def test_verify_checks_the_agency_chains_and_returns_a_seal(server):
    _recorded(server, "ve-1")
    with server.client("lead_a") as http:
        first = http.get("/v1/verify")
        seal = first.json()["seal"]
        same = http.get("/v1/verify", params={"expect_seal": seal})
        other = http.get("/v1/verify", params={"expect_seal": "0" * 64})
        bad = http.get("/v1/verify", params={"expect_seal": "not-a-seal"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["ok"] is True and body["problems"] == []
    assert body["events"] >= 2 and body["clients"] >= 1
    assert re.fullmatch("[0-9a-f]{64}", seal)
    assert body["seal_matches"] is None
    assert same.json()["seal_matches"] is True and same.json()["ok"] is True
    assert other.json()["seal_matches"] is False and other.json()["ok"] is False
    assert bad.status_code == 400
    assert "not-a-seal" not in bad.text


def test_verify_reads_only_the_token_agency(server):
    with server.client("lead_a") as http:
        a = http.get("/v1/verify").json()
    with server.client("lead_b") as http:
        b = http.get("/v1/verify").json()
    assert a["seal"] != b["seal"]
    assert b["events"] < a["events"]


# ----------------------------------------------------------------------- who may


@pytest.mark.parametrize("who", ["kw_a", "comm_a"])
def test_only_a_data_lead_erases_exports_or_verifies(server, who):
    version = _recorded(server, f"rk-{who}")
    with server.client(who) as http:
        erase = http.post(f"/v1/clients/rk-{who}/erasure", headers={"If-Match": str(version)})
        export = http.get(f"/v1/clients/rk-{who}/subject-access")
        verify = http.get("/v1/verify")
    with server.client("lead_a") as http:
        view = http.get(f"/v1/clients/rk-{who}", params={"reveal": "true"})
    assert [erase.status_code, export.status_code, verify.status_code] == [403, 403, 403]
    assert all(f"rk-{who}" not in r.text and SECRET not in r.text for r in (erase, export))
    assert SECRET in view.text  # nothing was erased


def test_a_data_lead_of_another_agency_cannot_erase_or_export_a_client(server):
    version = _recorded(server, "rk-other")
    with server.client("lead_b") as http:
        erase = http.post("/v1/clients/rk-other/erasure", headers={"If-Match": str(version)})
        export = http.get("/v1/clients/rk-other/subject-access")
    with server.client("lead_a") as http:
        view = http.get("/v1/clients/rk-other", params={"reveal": "true"})
    assert (erase.status_code, export.status_code) == (404, 404)
    assert SECRET not in export.text
    assert SECRET in view.text


def test_whoami_lists_the_record_keeping_actions_for_a_data_lead_only(server):
    with server.client("lead_a") as http:
        lead = set(http.get("/v1/whoami").json()["may"])
    with server.client("kw_a") as http:
        keyworker = set(http.get("/v1/whoami").json()["may"])
    keeping = {"erase", "subject_access", "verify"}
    assert keeping <= lead
    assert not keeping & keyworker


def test_every_record_keeping_call_is_in_the_access_audit_and_no_text_is(server):
    version = _recorded(server, "rk-audit")
    with server.client("kw_a") as http:
        http.post("/v1/clients/rk-audit/erasure", headers={"If-Match": str(version)})
    with server.client("lead_a") as http:
        http.get("/v1/clients/rk-audit/subject-access")
        http.post("/v1/clients/rk-audit/erasure")
        http.post("/v1/clients/rk-audit/erasure", headers={"If-Match": str(version)})
        verified = http.get("/v1/verify")
    ids = server.token_ids
    assert _audit_of(server, "rk-audit") == [
        (ids["kw_a"], "record", 201),
        (ids["kw_a"], "erase", 403),
        (ids["lead_a"], "subject_access", 200),
        (ids["lead_a"], "erase", 428),
        (ids["lead_a"], "erase", 200),
    ]
    verify_lines = [
        line
        for line in server.audit_lines()
        if line["request_id"] == verified.headers["x-request-id"]
    ]
    assert [(v["action"], v["client"], v["status"]) for v in verify_lines] == [
        ("verify", None, 200)
    ]
    assert SECRET not in server.audit.read_text("utf-8")
    log = server.log.read_text("utf-8")
    assert SECRET not in log
    assert "rk-audit" not in log
