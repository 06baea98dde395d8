"""A 400 for a query parameter speaks fama's plain words and never repeats the value given.

Body errors were already worded by the core (``plain_reason``, ``error_location``); a query
parameter's error fell back to pydantic's own message where the core had no words for its
code ("Unable to parse input string as an integer, exceeded maximum size") or said only
"does not have the expected form". Every reason a query error gives is now one of a closed
vocabulary built from the core's tables, so no value can reach it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fama_core import errors

OPENAPI = Path(__file__).resolve().parents[2] / "schemas" / "openapi.json"

# (token, method, path, query parameter): every query parameter of the OpenAPI document.
QUERIES = [
    ("kw_a", "GET", "/v1/clients/qe-1", "reveal"),
    ("kw_a", "GET", "/v1/clients/qe-1/events", "after"),
    ("kw_a", "GET", "/v1/clients/qe-1/events", "reveal"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack", "prepared_on"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack", "limit"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack", "large_type"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack.pdf", "prepared_on"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack.pdf", "limit"),
    ("kw_a", "POST", "/v1/clients/qe-1/pack.pdf", "large_type"),
    ("kw_a", "POST", "/v1/meetings/match", "today"),
    ("lead_a", "POST", "/v1/ndtms/export", "dataset"),
    ("lead_a", "POST", "/v1/ndtms/export", "as_of"),
    ("lead_a", "POST", "/v1/ndtms/export/summary", "dataset"),
    ("lead_a", "POST", "/v1/ndtms/export/summary", "as_of"),
    ("lead_a", "POST", "/v1/ndtms/validate", "dataset"),
    ("lead_a", "POST", "/v1/ndtms/validate", "as_of"),
    *(
        ("comm_c", "GET", path, name)
        for path in ("/v1/report", "/v1/report.html")
        for name in ("as_of", "from", "to", "threshold", "area")
    ),
    ("lead_a", "GET", "/v1/verify", "expect_seal"),
]


def _bounds() -> set[str]:
    """Each bound of the document's query parameters, in the core's words."""
    doc = json.loads(OPENAPI.read_text("utf-8"))
    words = set()
    for ops in doc["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                # An optional parameter with no default is "anyOf: [the type, null]".
                for schema in p["schema"].get("anyOf", [p["schema"]]):
                    for key, code, name in [
                        ("minimum", "greater_than_equal", "ge"),
                        ("maximum", "less_than_equal", "le"),
                        ("minLength", "string_too_short", "min_length"),
                        ("maxLength", "string_too_long", "max_length"),
                    ]:
                        if key in schema:
                            words.add(errors._BOUNDS[code].format(**{name: schema[key]}))
    return words


#: Every reason a query parameter's 400 may give: the core's tables, nothing pydantic wrote.
VOCABULARY = {
    *errors._PLAIN.values(),
    *errors._PATTERNS.values(),
    *_bounds(),
    "must be one of: K, M, N, O, P or R",
}
NOT_PLAIN = re.compile(
    r"Input should|Unable to|String should|Value error|Field required|the value given|"
    r"expected form"
)


def send(server, who: str, method: str, path: str, params: dict[str, str]):
    if path.startswith("/v1/report") and "to" not in params:
        params = {"to": "2026-06-30", **params}  # the one required parameter, valid
    with server.client(who) as http:
        return http.request(method, path, params=params)


def assert_plain_and_value_free(response, parameter: str, value: str) -> None:
    assert response.status_code == 400, response.text
    problem = response.json()
    assert set(problem) <= {"type", "title", "status", "detail", "request_id", "problems"}
    if problem["type"] == "urn:fama:problem:invalid-record":
        for issue in problem["problems"]:
            assert issue["location"] in (f"query.{parameter}", ""), issue
            assert issue["reason"] in VOCABULARY, issue["reason"]
            assert not NOT_PLAIN.search(issue["reason"])
        assert problem["detail"] == "the request does not match the schema: " + "; ".join(
            f"{i['location'] or '(body)'}: {i['reason']}" for i in problem["problems"]
        )
    elif problem["type"] == "urn:fama:problem:bad-date":  # named, in the core's words
        for issue in problem["problems"]:
            assert issue["location"] == f"query.{parameter}", issue
            assert issue["reason"] in VOCABULARY, issue["reason"]
        assert problem["detail"] == "; ".join(
            f"{i['location']}: {i['reason']}" for i in problem["problems"]
        )
    else:  # fama's own refusal of a period or threshold: said without the value
        assert problem["type"] in (
            "urn:fama:problem:bad-period",
            "urn:fama:problem:threshold-fixed",
        ), problem["type"]
    if len(value) >= 4 and not any(value in words for words in VOCABULARY):
        assert value not in response.text
        assert json.dumps(value)[1:-1] not in response.text


def test_every_query_parameter_of_the_document_is_tried():
    doc = json.loads(OPENAPI.read_text("utf-8"))
    documented = {
        (method.upper(), re.sub(r"\{client_id\}", "qe-1", path), p["name"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        for p in op.get("parameters", [])
        if p["in"] == "query"
    }
    assert documented == {(m, path, name) for _, m, path, name in QUERIES}


def test_a_number_with_too_many_digits_is_refused_in_plain_words(server):
    """Regression: pydantic's "Unable to parse input string as an integer, exceeded maximum
    size" reached the response."""
    r = send(server, "kw_a", "GET", "/v1/clients/qe-1/events", {"after": "7" * 5000})
    assert_plain_and_value_free(r, "after", "7" * 5000)
    assert r.json()["problems"][0]["reason"] == (
        "must be a whole number, and this one has too many digits"
    )


def test_a_seal_of_the_wrong_form_says_what_a_seal_is(server):
    """Regression: "does not have the expected form" said nothing of the form expected."""
    r = send(server, "lead_a", "GET", "/v1/verify", {"expect_seal": "SEAL-Jo-07700900123"})
    assert_plain_and_value_free(r, "expect_seal", "SEAL-Jo-07700900123")
    assert r.json()["problems"][0]["reason"] == (
        "must be 64 lower-case hexadecimal digits (a SHA-256 digest, as a seal is)"
    )


VALUES = (
    st.text(max_size=40)
    | st.from_regex(r"\A-?[0-9]{1,30}(\.[0-9]+)?\Z")
    | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
    | st.sampled_from(["9" * 5000, "nan", "1e9", "true", "yes", "a" * 81, "Z" * 64, ""])
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.sampled_from(QUERIES), value=VALUES)
def test_no_query_value_ever_appears_in_a_400(server, query, value):
    who, method, path, parameter = query
    r = send(server, who, method, path, {parameter: value})
    if r.status_code == 400:
        assert_plain_and_value_free(r, parameter, value)
    else:  # taken, or refused later for another reason (no such client, no body): never a 5xx
        assert r.status_code < 500, r.text


def test_the_vocabulary_has_none_of_pydantics_words_nor_the_vague_fallback():
    assert not any(NOT_PLAIN.search(words) for words in VOCABULARY)


def test_a_date_not_written_yyyy_mm_dd_is_named_with_the_core_words(server):
    """The 400 counted "1 date parameter(s)" without saying which; it names them now (they are
    the operation's own names, never input)."""
    r = send(server, "comm_c", "GET", "/v1/report", {"as_of": "01/02/2026"})
    assert_plain_and_value_free(r, "as_of", "01/02/2026")
    assert r.json()["problems"] == [
        {
            "location": "query.as_of",
            "code": "bad-date",
            "reason": "must be a real date written YYYY-MM-DD (e.g. 2026-03-02)",
        }
    ]
