"""The FHIR client against a real loopback server and httpx.MockTransport.

Retries, Retry-After, idempotent resubmission, timeouts, 4xx errors, and no
resource content in logs or errors.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import socket

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.fhir.client import (
    FhirClient,
    FhirRefused,
    FhirResponseInvalid,
    FhirTransactionFailed,
    FhirUnavailable,
)
from fama_adapters.fhir.mapping import client_bundle, read_bundle
from fama_adapters.fhir.testing import FakeFhirServer, ScriptedFailure
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, GoalReviewOutcome
from fama_core.errors import MappingError, TransportError
from fama_core.workflow import fold

SECRET = "SECRET-reaction-text"


@pytest.fixture
def server():
    with FakeFhirServer() as s:
        yield s


@pytest.fixture
def http():
    with httpx.Client(timeout=5.0) as c:
        yield c


class Sleeps(list):
    """Records the waits the client asks for instead of sleeping."""

    def __call__(self, seconds):
        self.append(seconds)


def fhir(base, http, **kw):
    kw.setdefault("sleep", Sleeps())
    kw.setdefault("jitter", False)
    return FhirClient(base, http, **kw)


def journey_state(goal_outcome=GoalReviewOutcome.CARRIED_FORWARD):
    b = JourneyBuilder("client-9").open().session1()
    b.goal(GoalKind.READ_HANDOUTS)
    b.journal()
    b.session2(commit_to=b.meeting(), goals=goal_outcome)
    return fold(b.events), b.events


def bundle_with_secret():
    state, events = journey_state()
    bundle = client_bundle(state, events)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "QuestionnaireResponse":
            entry["resource"]["item"].append(
                {"linkId": "reactions", "answer": [{"valueString": SECRET}]}
            )
    return bundle


def search_all(server, http):
    entries = []
    for rtype in (
        "CarePlan",
        "Goal",
        "Procedure",
        "QuestionnaireResponse",
        "ServiceRequest",
        "Task",
    ):
        page = http.get(f"{server.base_url}/{rtype}").json()
        entries += page["entry"]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


# ------------------------------------------------------------------ idempotency


def test_resubmitting_a_bundle_creates_nothing(server, http):
    state, events = journey_state()
    bundle = client_bundle(state, events)
    client = fhir(server.base_url, http)
    first = client.submit(bundle)
    held = server.count()
    second = client.submit(bundle)
    assert first.created == len(bundle["entry"]) == held
    assert second.created == 0
    assert server.count() == held
    assert [e.location for e in first.entries] == [e.location for e in second.entries]


def test_references_resolve_to_the_server_ids(server, http):
    state, events = journey_state()
    fhir(server.base_url, http).submit(client_bundle(state, events))
    plans = http.get(f"{server.base_url}/CarePlan").json()["entry"]
    goal_refs = [g["reference"] for g in plans[0]["resource"]["goal"]]
    assert all(ref.startswith("Goal/") for ref in goal_refs)


def test_what_the_server_holds_reads_back_as_sent(server, http):
    state, events = journey_state()
    bundle = client_bundle(state, events)
    fhir(server.base_url, http).submit(bundle)
    assert read_bundle(search_all(server, http)) == read_bundle(bundle)


def test_upsert_resubmission_updates_in_place(server, http):
    state, events = journey_state()
    client = fhir(server.base_url, http)
    client.submit(client_bundle(state, events, write="upsert"))
    held = server.count()
    b = JourneyBuilder("client-9").open().session1()
    b.goal(GoalKind.READ_HANDOUTS)
    b.journal()
    b.session2(commit_to=b.meeting(), goals=GoalReviewOutcome.ACHIEVED)
    later = fold(b.events)
    again = client.submit(client_bundle(later, b.events, write="upsert"))
    assert again.created == 0
    assert server.count() == held
    goals = http.get(f"{server.base_url}/Goal").json()["entry"]
    assert goals[0]["resource"]["lifecycleStatus"] == "completed"


def test_a_bundle_with_an_unconditional_entry_is_refused_before_sending():
    calls = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(200))
    bundle = client_bundle(journey_state()[0])
    del bundle["entry"][1]["request"]["ifNoneExist"]
    with httpx.Client(transport=transport) as http, pytest.raises(MappingError, match="entry 1"):
        fhir("http://fhir.test/r4", http).submit(bundle)
    assert calls == []


# ------------------------------------------------------------------ retries


def test_server_errors_are_retried_with_growing_waits(server, http):
    server.fail_next(ScriptedFailure(503), ScriptedFailure(500))
    sleeps = Sleeps()
    outcome = fhir(server.base_url, http, sleep=sleeps, backoff=0.5).submit(bundle_with_secret())
    assert outcome.attempts == 3
    assert outcome.created > 0
    assert sleeps == [0.5, 1.0]


def test_retry_after_seconds_is_honoured(server, http):
    server.fail_next(ScriptedFailure(429, retry_after="7"))
    sleeps = Sleeps()
    outcome = fhir(server.base_url, http, sleep=sleeps).submit(bundle_with_secret())
    assert outcome.attempts == 2
    assert sleeps == [7.0]


def test_retry_after_as_an_http_date_is_honoured(server, http):
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    server.fail_next(ScriptedFailure(503, retry_after=later))
    sleeps = Sleeps()
    fhir(server.base_url, http, sleep=sleeps, now=lambda: now).submit(bundle_with_secret())
    assert sleeps == [30.0]


def test_a_retry_after_longer_than_allowed_ends_the_attempts(server, http):
    server.fail_next(ScriptedFailure(503, retry_after="3600"))
    with pytest.raises(FhirUnavailable) as caught:
        fhir(server.base_url, http, max_retry_after=60).submit(bundle_with_secret())
    assert caught.value.attempts == 1
    assert caught.value.retry_after == 3600
    assert server.count() == 0


def test_attempts_run_out_with_a_clear_error(server, http):
    server.fail_next(*[ScriptedFailure(502)] * 3)
    with pytest.raises(FhirUnavailable) as caught:
        fhir(server.base_url, http, max_attempts=3).submit(bundle_with_secret())
    assert caught.value.attempts == 3
    assert caught.value.status_code == 502
    assert "safe to send again" in str(caught.value)
    assert isinstance(caught.value, TransportError)


def test_connection_errors_are_retried_then_reported(http):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = Sleeps()
    with pytest.raises(FhirUnavailable) as caught:
        fhir(f"http://127.0.0.1:{port}/fhir", http, sleep=sleeps, max_attempts=3).submit(
            bundle_with_secret()
        )
    assert caught.value.cause == "ConnectError"
    assert caught.value.status_code is None
    assert len(sleeps) == 2


def test_jittered_waits_stay_under_the_back_off_ceiling():
    with httpx.Client() as http:
        client = FhirClient("http://fhir.test", http, backoff=1.0, max_backoff=5.0)
        waits = [client._wait(attempt) for attempt in range(1, 8) for _ in range(20)]
    assert all(0 <= w <= 5.0 for w in waits)
    assert len(set(waits)) > 1


# ------------------------------------------------------------------ timeouts


def test_a_timed_out_transaction_is_safe_to_send_again(server):
    bundle = bundle_with_secret()
    server.delay = 0.3  # the server applies the bundle, but after the client gave up
    with httpx.Client(timeout=0.05) as http:
        with pytest.raises(FhirUnavailable) as caught:
            fhir(server.base_url, http, max_attempts=1).submit(bundle)
    assert caught.value.cause == "ReadTimeout"
    server.delay = 0.0
    with httpx.Client(timeout=5.0) as http:
        fhir(server.base_url, http).submit(bundle)
        fhir(server.base_url, http).submit(bundle)
    assert server.count() == len(bundle["entry"])


def test_the_timeout_given_bounds_every_request():
    """The timeout is each request's overall deadline: no operation may wait longer."""
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"])
        raise httpx.ReadTimeout("slow", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(FhirUnavailable):
            fhir("http://fhir.test/r4", http, timeout=2.5, max_attempts=2).submit(
                bundle_with_secret()
            )
    assert len(seen) == 2
    assert all(0 < t[op] <= 2.5 for t in seen for op in ("connect", "read", "write", "pool"))


# ------------------------------------------------------------------ 4xx


def outcome_with_secret(code="invalid"):
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": f"value '{SECRET}' is not allowed",
                "details": {"text": SECRET},
                "expression": [f"Bundle.entry[3].resource.item.where(text='{SECRET}')"],
            }
        ],
    }


def test_a_4xx_is_a_clear_error_without_resource_content(server, http):
    server.fail_next(ScriptedFailure(422, outcome=outcome_with_secret()))
    with pytest.raises(FhirRefused) as caught:
        fhir(server.base_url, http).submit(bundle_with_secret())
    error = caught.value
    assert error.status_code == 422
    assert str(error.issues[0]) == "error/invalid at Bundle.entry[3].resource.item.where"
    assert "validation" in str(error)
    assert SECRET not in str(error)
    assert len(server.requests) == 1  # a refusal is not retried


def test_a_412_says_duplicates_exist(server, http):
    server.fail_next(ScriptedFailure(412, outcome=outcome_with_secret("duplicate")))
    with pytest.raises(FhirRefused, match="more than one resource"):
        fhir(server.base_url, http).submit(bundle_with_secret())


def test_a_4xx_without_an_operation_outcome_still_says_what_happened():
    transport = httpx.MockTransport(lambda request: httpx.Response(404, text="<html>no</html>"))
    with httpx.Client(transport=transport) as http, pytest.raises(FhirRefused) as caught:
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())
    assert "404" in str(caught.value)
    assert "no FHIR endpoint" in str(caught.value)


def test_a_success_without_a_transaction_response_is_invalid():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with httpx.Client(transport=transport) as http, pytest.raises(FhirResponseInvalid):
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())


def test_the_request_is_fhir_json_posted_to_the_base():
    seen = []

    def handler(request):
        seen.append(request)
        sent = json.loads(request.content)["entry"]
        return httpx.Response(
            200,
            json={
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [{"response": {"status": "200 OK"}} for _ in sent],
            },
        )

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        fhir("http://fhir.test/r4/", http).submit(bundle_with_secret())
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://fhir.test/r4"
    assert request.headers["content-type"].startswith("application/fhir+json")
    assert json.loads(request.content)["type"] == "transaction"


# ------------------------------------------------------------------ logs


def test_logs_never_carry_resource_content(server, http, caplog):
    caplog.set_level(logging.DEBUG)
    server.fail_next(ScriptedFailure(503), ScriptedFailure(422, outcome=outcome_with_secret()))
    with pytest.raises(FhirRefused):
        fhir(server.base_url, http).submit(bundle_with_secret())
    fhir(server.base_url, http).submit(bundle_with_secret())
    assert caplog.records, "the client logs its attempts"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in text
    assert "client-9" not in text


def _answer(status, body):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return httpx.Client(transport=transport)


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Bundle", "type": "transaction-response", "entry": [None]},
        {"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": []}]},
        {"resourceType": "Bundle", "type": "transaction-response", "entry": [{"response": None}]},
    ],
)
def test_a_malformed_transaction_response_is_a_fama_error(body):
    """Review finding: malformed bodies raised TypeError/AttributeError after the commit."""
    with _answer(200, body) as http, pytest.raises(FhirResponseInvalid):
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())


def test_a_null_entry_list_confirms_nothing():
    """Issue 11 item 2: a response without entries used to count as a success."""
    body = {"resourceType": "Bundle", "type": "transaction-response", "entry": None}
    with _answer(200, body) as http, pytest.raises(FhirTransactionFailed) as caught:
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())
    assert "answered 0 entries for" in str(caught.value)


@pytest.mark.parametrize("issues", [None, "x", [None, 3], [{"expression": None}]])
def test_a_malformed_operation_outcome_is_still_a_clear_refusal(issues):
    body = {"resourceType": "OperationOutcome", "issue": issues}
    with _answer(422, body) as http, pytest.raises(FhirRefused):
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())


def test_an_unquoted_value_in_an_issue_path_is_not_repeated():
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "expression": ["Patient.identifier.where(value=9434765919)"],
                "location": ["/f:Patient/f:identifier[value='9434765919']"],
            }
        ],
    }
    with _answer(422, body) as http, pytest.raises(FhirRefused) as caught:
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())
    assert "9434765919" not in str(caught.value)
    assert str(caught.value.issues[0]) == "error/invalid at Patient.identifier.where"


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "POST", "url": "Goal", "ifNoneExist": "_count=1"},
        {"method": "PUT", "url": "Goal?"},
        {"method": "POST", "url": "Goal"},
    ],
)
def test_only_identifier_conditional_entries_may_be_sent(request_):
    """Review finding: `_count=1` or `PUT Goal?` passed as conditional; a retry could duplicate."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Goal"}, "request": request_}],
    }
    with _answer(200, {}) as http, pytest.raises(MappingError, match="not a conditional"):
        fhir("http://fhir.test/r4", http).submit(bundle)


# ------------------------------------------------ issue 11: the response, entry by entry


def _response_body(entries):
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def _ok(rtype="Goal"):
    return {"response": {"status": "201 Created", "location": f"{rtype}/1/_history/1"}}


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("empty", "answered 0 entries for"),
        ("all-500", "status 500, not written"),
        ("one-missing", "no answer"),
        ("one-409", "status 409, not written"),
        ("201-no-location", "without a location"),
        ("201-wrong-type", "another resource type"),
        ("garbage-status", "not an HTTP status code"),
    ],
)
def test_a_transaction_response_that_does_not_confirm_every_entry_is_a_failure(
    server, http, shape, expected
):
    """Issue 11 item 2: a 200 with `entry: []` or every entry 500 was reported as success."""
    bundle = bundle_with_secret()
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    good = [_ok(t) for t in types]
    entries = {
        "empty": [],
        "all-500": [{"response": {"status": "500 Internal Server Error"}} for _ in types],
        "one-missing": good[:-1],
        "one-409": [*good[:-1], {"response": {"status": "409 Conflict"}}],
        "201-no-location": [*good[:-1], {"response": {"status": "201 Created"}}],
        "201-wrong-type": [*good[:-1], _ok("Patient" if types[-1] != "Patient" else "Goal")],
        "garbage-status": [*good[:-1], {"response": {"status": f"OK {SECRET}"}}],
    }[shape]
    server.fail_next(ScriptedFailure(200, outcome=_response_body(entries)))
    with pytest.raises(FhirTransactionFailed) as caught:
        fhir(server.base_url, http).submit(bundle)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)
    last = len(types) - 1
    if shape in ("one-missing", "one-409", "201-no-location", "201-wrong-type"):
        assert caught.value.problems[-1].startswith(f"entry {last} ({types[-1]})")


_STATUSES = st.sampled_from(["200 OK", "201 Created", "201", "204", "400", "500 Error", "", "x"])


@given(
    st.lists(
        st.tuples(_STATUSES, st.sampled_from([None, "Goal/1", "Task/2/_history/3", "x y"])),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=5),
)
def test_only_a_response_confirming_every_entry_counts_anything_created(answers, n_sent):
    sent = [
        {
            "resource": {"resourceType": "Goal"},
            "request": {"method": "POST", "url": "Goal", "ifNoneExist": f"identifier=s|{i}"},
        }
        for i in range(n_sent)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": sent}
    body = _response_body(
        [{"response": {"status": s, **({"location": loc} if loc else {})}} for s, loc in answers]
    )
    confirmed = len(answers) == n_sent and all(
        s[:3] in ("200", "201", "204") and (not s.startswith("201") or loc in ("Goal/1",))
        for s, loc in answers
    )
    with _answer(200, body) as http:
        client = fhir("http://fhir.test/r4", http)
        if confirmed:
            outcome = client.submit(bundle)
            assert outcome.created == sum(1 for s, _ in answers if s.startswith("201"))
        else:
            with pytest.raises(FhirTransactionFailed):
                client.submit(bundle)


def test_a_refusal_never_repeats_what_the_server_put_in_its_codes_or_paths():
    """Issue 11 item 7: a 4xx printed an unquoted value from the server's expression."""
    body = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": f"error {SECRET}",
                "code": SECRET,
                "expression": [
                    f"Patient.name = {SECRET}",
                    f"Goal.description.text {SECRET}",
                    "Goal.note[0].text",
                ],
            }
        ],
    }
    with _answer(422, body) as http, pytest.raises(FhirRefused) as caught:
        fhir("http://fhir.test/r4", http).submit(bundle_with_secret())
    assert SECRET not in str(caught.value)
    assert SECRET.split("-")[0] not in str(caught.value)
    assert "Goal.note[0].text" in str(caught.value)


# ------------------------------------------------ issue 11: deadline, size, redirects


def test_a_server_dripping_its_answer_is_cut_off_at_the_timeout():
    """Issue 11 item 3: `--timeout 3` against a one-byte-a-second server ran for minutes."""
    from fama_adapters.net_testing import Drip, LoopbackHttpServer

    with LoopbackHttpServer({"/fhir": Drip(interval=0.05, headers_too=True)}) as drip:
        with pytest.raises(FhirUnavailable) as caught:
            FhirClient(drip.url + "/fhir", None, timeout=1.0, max_attempts=1).submit(
                bundle_with_secret()
            )
    assert "within 1 s" in caught.value.cause


def test_a_huge_answer_is_refused_without_reading_it():
    from fama_adapters.net_testing import Huge, LoopbackHttpServer

    with LoopbackHttpServer({"/fhir": Huge(64 * 1024 * 1024, declare_length=False)}) as big:
        with pytest.raises(FhirResponseInvalid, match="larger than"):
            FhirClient(big.url + "/fhir", max_response_bytes=1 << 20).submit(bundle_with_secret())


def test_a_redirect_to_another_server_is_not_followed(server):
    from fama_adapters.net_testing import LoopbackHttpServer, Redirect

    with LoopbackHttpServer({"/fhir": Redirect(server.base_url, 307)}) as moved:
        with pytest.raises(FhirUnavailable, match="another origin"):
            FhirClient(moved.url + "/fhir", max_attempts=1).submit(bundle_with_secret())
    assert server.requests == []


# ------------------------------------------------- red team (2026-11-30)


@given(
    st.binary(min_size=1, max_size=12).filter(lambda b: b.strip() and b"\r" not in b)
    | st.sampled_from([b"\xb2", b"\xb9", b"\xbc", b"9" * 400, b"-1", b"1e3", b"NaN", b" 5 "])
)
def test_any_retry_after_a_server_sends_is_a_wait_or_ignored_never_a_crash(value):
    # str.isdigit() is true of "²" (a Latin-1 byte 0xB2 in a header): float() then raised
    # ValueError out of submit(), a traceback for `fama fhir submit`.
    sleeps = Sleeps()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers=[(b"Retry-After", value)])

    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        with pytest.raises(FhirUnavailable):
            fhir("http://fhir.example/fhir", http, sleep=sleeps, max_attempts=2).submit(bundle)
    assert all(s >= 0 for s in sleeps)
