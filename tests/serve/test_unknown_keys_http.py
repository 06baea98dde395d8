"""``fama serve`` names an unknown key only when it looks like a field name."""

from __future__ import annotations

from serve_helpers import as_json, opened

from fama_core.errors import UNRECOGNISED_FIELD

NAME_AS_KEY = "Jane Doe 07700 900123"


def test_a_key_that_is_not_field_like_is_never_echoed(server):
    events = as_json(opened("uk-http-1").events)
    events[1]["steps"][0][NAME_AS_KEY] = "x"
    events[0]["keyworkr_id"] = "kw-1"
    with server.client("kw_a") as http:
        r = http.post("/v1/clients/uk-http-1/events", json=events)
    assert r.status_code == 400, r.text
    assert "Jane" not in r.text and "07700" not in r.text
    assert UNRECOGNISED_FIELD in r.text
    assert "keyworkr_id" in r.text  # a misspelling is still spotted
