"""A repeated query parameter is named when the operation takes it, and only counted otherwise.

Decision E4: the names an operation takes are fixed by the OpenAPI document, so naming them
shows nothing of the caller's; any other name is input (it may be a client's name pasted in the
wrong place) and is never echoed, nor is any value. Against the real server of ``conftest.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

REPORT = ("area", "as_of", "from", "to", "threshold")
"""``GET /v1/report``'s query parameters, as the OpenAPI document names them."""

CANARY = "Qz7CANARY"


def _report_parameters(openapi: dict) -> set[str]:
    op = openapi["paths"]["/v1/report"]["get"]
    return {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}


def test_the_report_takes_the_parameters_this_test_repeats(server):
    with server.client("comm_a") as http:
        assert _report_parameters(http.get("/v1/openapi.json").json()) == set(REPORT)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ours=st.lists(st.sampled_from(REPORT), unique=True, max_size=5),
    theirs=st.lists(
        st.text(max_size=12).map(lambda s: CANARY + s).filter(lambda s: s not in REPORT),
        unique=True,
        max_size=3,
    ),
    once=st.lists(st.sampled_from(REPORT), unique=True, max_size=2),
)
@example(ours=["to"], theirs=[], once=[])
@example(ours=[], theirs=[CANARY + "<script>"], once=["as_of"])
@example(ours=["from", "as_of"], theirs=[CANARY + "Smith, John"], once=[])
def test_repeated_parameters_are_named_when_ours_and_counted_when_not(server, ours, theirs, once):
    if not ours and not theirs:
        return
    params = []
    for name in ours + theirs:
        params += [(name, CANARY + "v1"), (name, CANARY + "v2")]
    params += [(name, CANARY + "v3") for name in once if name not in ours]
    with server.client("comm_a") as http:
        r = http.get("/v1/report", params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "urn:fama:problem:repeated-query-parameter"
    assert [p["location"] for p in body["problems"]] == [f"query.{n}" for n in sorted(ours)]
    assert CANARY not in r.text  # no value, no name the operation does not take
    if theirs:
        assert f"{len(theirs)} other query parameter(s) given more than once" in body["detail"]
    else:
        assert "other query parameter" not in body["detail"]
