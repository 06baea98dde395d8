"""Tokens, roles, agencies, limits and the access audit of ``fama serve``, on the real server."""

from __future__ import annotations

import json
import os
import stat

import pytest
from serve_helpers import as_json, opened

from fama_adapters.http.tokens import TokenError, TokenFile, hash_token


def test_a_request_without_a_token_is_a_401_that_asks_for_a_bearer(server):
    with server.client(None) as http:
        r = http.get("/v1/clients/any-1")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/problem+json"


def test_an_unknown_token_is_a_401(server):
    with server.client(None, headers={"Authorization": "Bearer fama_not-a-real-token"}) as http:
        r = http.get("/v1/clients/any-1/due")
    assert r.status_code == 401


def test_an_unauthenticated_write_is_refused_before_its_body_is_judged(server):
    with server.client(None) as http:
        r = http.post("/v1/clients/any-1/events", json=[{"nonsense": True}])
    assert r.status_code == 401


def test_a_commissioner_never_reads_or_writes_a_client(server):
    b = opened("cm-1")
    with server.client("kw_a") as http:
        http.post("/v1/clients/cm-1/events", json=as_json(b.events)).raise_for_status()
    with server.client("comm_a") as http:
        reads = [
            http.get(f"/v1/clients/cm-1{tail}") for tail in ("", "/history", "/events", "/due")
        ]
        write = http.post("/v1/clients/cm-2/events", json=as_json(opened("cm-2").events))
    assert [r.status_code for r in reads] == [403, 403, 403, 403]
    assert write.status_code == 403
    assert all("cm-1" not in r.text for r in reads)


def test_agency_b_cannot_read_agency_a_clients(server):
    b = opened("shared-1")
    with server.client("kw_a") as http:
        http.post("/v1/clients/shared-1/events", json=as_json(b.events)).raise_for_status()
    with server.client("kw_b") as http:
        reads = [http.get(f"/v1/clients/shared-1{tail}") for tail in ("", "/history", "/events")]
        due = http.get("/v1/clients/shared-1/due").json()
    assert [r.status_code for r in reads] == [404, 404, 404]
    assert due["version"] == 0 and due["status"] is None


def test_agency_b_writing_the_same_client_id_never_touches_agency_a(server):
    a = opened("same-1", keyworker="kw-a")
    b = opened("same-1", keyworker="kw-b")
    b.session2()
    with server.client("kw_a") as http:
        http.post("/v1/clients/same-1/events", json=as_json(a.events)).raise_for_status()
    with server.client("kw_b") as http:
        # B's events reuse A's event ids; in B's store they are simply new.
        r = http.post("/v1/clients/same-1/events", json=as_json(b.events))
        b_view = http.get("/v1/clients/same-1", params={"reveal": "true"}).json()
    with server.client("kw_a") as http:
        a_view = http.get("/v1/clients/same-1", params={"reveal": "true"}).json()
    assert r.status_code == 201
    assert b_view["version"] == 3
    assert a_view["version"] == 2
    assert {e["keyworker_id"] for e in a_view["episodes"]} == {"kw-a"}
    assert {e["keyworker_id"] for e in b_view["episodes"]} == {"kw-b"}
    names = {p.name for p in server.folder.glob("*.db")}
    # Other tests add agencies of their own (report ledgers); none is named for a client.
    assert {"AG1.db", "AG2.db"} <= names and not any("same" in n for n in names)


def test_a_revoked_token_stops_working_without_a_restart(server):
    tokens = TokenFile(server.token_file)
    token, record = tokens.issue(agency="AG1", role="keyworker", name="temp")
    with server.client(None, headers={"Authorization": f"Bearer {token}"}) as http:
        before = http.get("/v1/whoami")
        tokens.revoke(record.id)
        after = http.get("/v1/whoami")
    assert before.status_code == 200
    assert before.json()["agency"] == "AG1"
    assert after.status_code == 401


def test_whoami_says_what_a_role_may_do(server):
    with server.client("comm_a") as http:
        me = http.get("/v1/whoami").json()
    assert me["role"] == "commissioner"
    assert me["may"] == ["report"]


def test_a_body_over_the_limit_is_a_413_whether_declared_or_streamed(server):
    big = b"[" + b" " * (1_048_576 + 10) + b"]"

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    with server.client("kw_a") as http:
        declared = http.post(
            "/v1/clients/big-1/events", content=big, headers={"Content-Type": "application/json"}
        )
        streamed = http.post(
            "/v1/clients/big-1/events",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert streamed.json()["type"] == "urn:fama:problem:body-too-large"


def test_too_many_events_in_one_request_is_a_400(server):
    b = opened("many-1")
    events = as_json(b.events) * 300
    with server.client("kw_a") as http:
        r = http.post("/v1/clients/many-1/events", json=events)
    assert r.status_code == 400


def test_the_access_audit_names_who_touched_which_client_and_nothing_else(server):
    b = opened("au-1")
    events = as_json(b.events)
    events[1]["steps"][0]["note"] = "AUDIT-SHOULD-NOT-SEE-THIS"
    with server.client("kw_a") as http:
        w = http.post("/v1/clients/au-1/events", json=events)
        r = http.get("/v1/clients/au-1", params={"reveal": "true"})
    with server.client("kw_b") as http:
        http.get("/v1/clients/au-1")
    with server.client("comm_a") as http:
        http.get("/v1/clients/au-1")
    lines = [line for line in server.audit_lines() if line["client"] == "au-1"]
    seen = [(line["token"], line["action"], line["status"], line["detail"]) for line in lines]
    assert seen == [
        (server.token_ids["kw_a"], "record", 201, None),
        (server.token_ids["kw_a"], "read_client", 200, "reveal"),
        (server.token_ids["kw_b"], "read_client", 404, None),
        (server.token_ids["comm_a"], "read_client", 403, None),
    ]
    assert lines[0]["request_id"] == w.headers["x-request-id"]
    assert lines[1]["request_id"] == r.headers["x-request-id"]
    text = server.audit.read_text("utf-8")
    assert "AUDIT-SHOULD-NOT-SEE-THIS" not in text
    assert all(secret not in text for secret in server.tokens.values())


def test_the_application_log_names_no_client_and_no_value(server):
    b = opened("log-secret-client")
    events = as_json(b.events)
    events[1]["steps"][0]["note"] = "LOG-SHOULD-NOT-SEE-THIS"
    with server.client("kw_a") as http:
        http.post("/v1/clients/log-secret-client/events", json=events).raise_for_status()
        http.get("/v1/clients/log-secret-client", params={"reveal": "true"})
        events[0]["occurred_on"] = "LOG-BAD-VALUE"
        http.post("/v1/clients/log-secret-client/events", json=events)
    log = server.log.read_text("utf-8")
    assert "/v1/clients/{client_id}" in log  # the route template is logged …
    assert "log-secret-client" not in log  # … never the client
    assert "LOG-SHOULD-NOT-SEE-THIS" not in log
    assert "LOG-BAD-VALUE" not in log


# ----------------------------------------------------------------------- token file


def test_the_token_file_keeps_only_a_digest_and_is_private(tmp_path):
    tokens = TokenFile(tmp_path / "t.json")
    token, record = tokens.issue(agency="AG9", role="data_lead", name="lead")
    text = (tmp_path / "t.json").read_text("utf-8")
    assert token not in text
    assert hash_token(token) in text
    assert stat.S_IMODE(os.stat(tmp_path / "t.json").st_mode) == 0o600
    assert tokens.lookup(token) == record
    assert tokens.lookup(token + "x") is None


@pytest.mark.parametrize(
    ("agency", "role"),
    [
        ("AG/1", "keyworker"),
        ("", "keyworker"),
        ("AG1", "admin"),
        ("AG1\n", "keyworker"),  # regression: `^…$` with `match` let a final line feed through
    ],
)
def test_a_token_needs_a_plain_agency_code_and_a_known_role(tmp_path, agency, role):
    with pytest.raises(TokenError):
        TokenFile(tmp_path / "t.json").issue(agency=agency, role=role)


def test_a_broken_token_file_is_an_error_that_names_no_token(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"tokens": [{"id": "x", "agency": "A", "role": "boss"}]}))
    with pytest.raises(TokenError, match="entry 0"):
        TokenFile(path).records()
