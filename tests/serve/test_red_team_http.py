"""Red team, 2026-11-30: what `fama serve` wrote or sent that hostile requests controlled."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from serve_helpers import as_json, opened, report_agency

from fama_adapters.http.tokens import TokenError, TokenFile

CANARY = "QZ-RED-canary"


def test_a_path_that_is_no_client_id_never_reaches_the_access_audit(server):
    # A name typed into a URL, or filler, sent with no token at all: before the fix the
    # audit kept the path text as written (up to the 64 kB a request line may hold).
    hostile = quote(f"Jane {CANARY} Smith\r\n" + "x" * 5000, safe="")
    with server.client(None) as http:
        assert http.get(f"/v1/clients/{hostile}").status_code == 401
    with server.client("kw_a") as http:
        assert http.get(f"/v1/clients/{hostile}").status_code == 400
    text = server.audit.read_text("utf-8")
    assert CANARY not in text
    assert max(len(line) for line in text.splitlines()) < 1000


def test_a_client_id_is_still_audited_as_given(server):
    with server.client("kw_a") as http:
        http.post("/v1/clients/red-audit-1/events", json=as_json(opened("red-audit-1").events))
    assert any(line["client"] == "red-audit-1" for line in server.audit_lines())


def test_fama_pages_are_served_with_a_policy_that_nothing_loads(server):
    with report_agency(server, "RED1") as http:
        page = http.get("/v1/report.html", params={"as_of": "2026-07-31", "to": "2026-06-30"})
    assert page.status_code == 200, page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["referrer-policy"] == "no-referrer"


def test_every_answer_forbids_content_sniffing(server):
    with server.client("kw_a") as http:
        for r in (http.get("/v1/whoami"), http.get("/v1/clients/no-such-client")):
            assert r.headers["x-content-type-options"] == "nosniff"


def test_a_made_up_method_never_reaches_the_application_log(server):
    # HTTP lets a client send any token as the method: a name, a record number.
    with server.client("kw_a") as http:
        assert http.request("JANESMITHQZRED", "/v1/whoami").status_code == 405
        assert http.get("/v1/whoami").status_code == 200
    log = server.log.read_text("utf-8")
    assert "JANESMITHQZRED" not in log
    assert "(other method) /v1/whoami 405" in log
    assert "GET /v1/whoami 200" in log


def test_an_agency_code_with_a_trailing_line_feed_is_refused(tmp_path):
    # re.match with "$" lets one trailing "\n" through: "AG1\n" was issued, became a store
    # file name "AG1\n.db" and a Content-Disposition header h11 refuses to send (a 500).
    tokens = TokenFile(tmp_path / "t.json")
    with pytest.raises(TokenError):
        tokens.issue(agency="AG1\n", role="data_lead")
    _token, record = tokens.issue(agency="AG1", role="data_lead")
    data = json.loads((tmp_path / "t.json").read_text("utf-8"))
    data["tokens"][0]["agency"] = "AG1\n"  # a hand-edited file
    (tmp_path / "t.json").write_text(json.dumps(data), "utf-8")
    with pytest.raises(TokenError):
        TokenFile(tmp_path / "t.json").records()
    assert record.agency == "AG1"


@pytest.mark.parametrize("if_match", [b"\xb2", b'W/"\xb9"', b'"\xb3"'])
def test_an_if_match_of_superscript_digits_is_a_400_not_a_500(server, if_match):
    # '²' (Latin-1 0xB2) is a digit to str.isdigit() and not to int(): a 500 before.
    with server.client("kw_a") as http:
        events = as_json(opened("red-if-match").events)
        r = http.post(
            "/v1/clients/red-if-match/events", json=events, headers={"If-Match": if_match}
        )
    assert r.status_code == 400
    assert r.json()["type"] == "urn:fama:problem:bad-if-match"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", b"[]"), ("application/x-www-form-urlencoded", b"a=1"), ("text/html", b"<x>")],
)
def test_a_body_that_is_not_json_is_refused_whatever_it_claims(server, content_type, body):
    # Held (red team): no route reads a body it was not given as JSON.
    with server.client("kw_a") as http:
        r = http.post(
            "/v1/clients/red-ct/events", content=body, headers={"Content-Type": content_type}
        )
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("client", ["..%2F..%2Fetc", "%2e%2e", "a%00b", "a%2Fb", "-a", ".a"])
def test_a_client_id_that_could_name_another_file_never_reaches_a_store(server, client):
    # Held (red team): ids name SQLite streams and pack files; only identifiers pass.
    with server.client("kw_a") as http:
        r = http.get(f"/v1/clients/{client}")
    assert r.status_code in (400, 404)
