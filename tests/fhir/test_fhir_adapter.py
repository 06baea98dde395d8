"""The fhir-r4 record system, its Questionnaire, command and demo step, through the plugin host."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir_strategies import mutated
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.cli import main
from fama_adapters.fhir.adapter import FhirR4RecordSystem
from fama_adapters.fhir.mapping import FHIR_MEDIA_TYPE, client_bundle
from fama_adapters.fhir.questionnaire import journal_questionnaire
from fama_adapters.fhir.tables import (
    JOURNAL_ITEMS,
    JOURNAL_QUESTIONNAIRE_URL,
    JOURNAL_QUESTIONNAIRE_VERSION,
)
from fama_adapters.plugins import PluginHost
from fama_adapters.record_systems import RecordSystem
from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome, CommitmentOutcome
from fama_core.errors import InvalidRecord, TransitionRefused
from fama_core.events import AccompanimentConcluded
from fama_core.workflow import apply, fold

ROOT = Path(__file__).parent.parent.parent


def test_the_plugin_host_registers_fhir_r4():
    systems = PluginHost(entry_points=False).record_systems()
    assert isinstance(systems["fhir-r4"], RecordSystem)
    assert isinstance(systems["fhir-r4"], FhirR4RecordSystem)


def test_outbound_is_one_fhir_json_bundle_per_client(journeys):
    _client, state, events = journeys[0]
    (doc,) = FhirR4RecordSystem().outbound(state, events)
    assert doc.name == f"{state.client_id}.fhir-bundle.json"
    assert doc.media_type == FHIR_MEDIA_TYPE
    assert json.loads(doc.content) == client_bundle(state, events)


# ------------------------------------------------------------------ Questionnaire


def test_the_questionnaire_is_valid_r4_and_matches_the_item_table():
    q = journal_questionnaire()
    Questionnaire.model_validate(q)
    assert (q["url"], q["version"]) == (JOURNAL_QUESTIONNAIRE_URL, JOURNAL_QUESTIONNAIRE_VERSION)
    assert [
        (i["linkId"], i["text"], i["type"], i.get("required", False), i.get("repeats", False))
        for i in q["item"]
    ] == [(i.link_id, i.text, i.type, i.required, i.repeats) for i in JOURNAL_ITEMS]


ANSWER_TYPE = {
    "string": "valueString",
    "text": "valueString",
    "choice": "valueCoding",
    "date": "valueDate",
    "boolean": "valueBoolean",
    "integer": "valueInteger",
}


def test_every_journal_response_answers_the_questionnaire(journeys):
    items = {i["linkId"]: i for i in journal_questionnaire()["item"]}
    seen = 0
    for _client, state, events in journeys:
        for entry in client_bundle(state, events)["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] != "QuestionnaireResponse":
                continue
            seen += 1
            QuestionnaireResponse.model_validate(resource)
            assert resource["questionnaire"] == (
                f"{JOURNAL_QUESTIONNAIRE_URL}|{JOURNAL_QUESTIONNAIRE_VERSION}"
            )
            answered = {i["linkId"] for i in resource["item"]}
            assert {k for k, i in items.items() if i.get("required")} <= answered
            for item in resource["item"]:
                question = items[item["linkId"]]
                assert len(item["answer"]) == 1 or question.get("repeats")
                for answer in item["answer"]:
                    assert list(answer) == [ANSWER_TYPE[question["type"]]]
    assert seen > 0


# ------------------------------------------------------------------ inbound


def open_accompaniment():
    b = JourneyBuilder("client-4").open().session1()
    b.session2(commit_to=b.meeting(), accompaniment=True).accompany("vol-2")
    return b


def test_a_task_the_volunteer_side_failed_comes_back_as_an_event():
    b = open_accompaniment()
    state = fold(b.events)
    bundle = client_bundle(state, b.events)
    task = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")
    task["status"] = "failed"
    task["statusReason"] = {
        "coding": [
            {
                "system": "https://fama.example/fhir/CodeSystem/accompaniment-outcome",
                "code": "volunteer_did_not_attend",
            }
        ]
    }
    task["lastModified"] = "2026-01-15T18:30:00+00:00"
    result = FhirR4RecordSystem().inbound(json.dumps(bundle).encode())
    assert result.problems == ()
    (event,) = result.events
    assert isinstance(event, AccompanimentConcluded)
    assert event.result.outcome is AccompanimentOutcome.VOLUNTEER_DID_NOT_ATTEND
    assert event.keyworker_id == "kw-1"
    after = apply(state, event)
    assert after.current.accompaniments[0].outcome is AccompanimentOutcome.VOLUNTEER_DID_NOT_ATTEND
    again = FhirR4RecordSystem().inbound(json.dumps(bundle).encode())
    assert again.events == result.events  # the same Task gives the same event id


def test_an_outcome_fama_already_holds_changes_nothing(journeys):
    _client, state, events = journeys[2]  # the nervous client, accompanied
    (doc,) = FhirR4RecordSystem().outbound(state, events)
    result = FhirR4RecordSystem().inbound(doc.content)
    assert result.problems == ()
    (event,) = result.events
    assert event.result.outcome is AccompanimentOutcome.ACCOMPANIED
    with pytest.raises(TransitionRefused):
        apply(state, event)


def test_an_ended_task_without_last_modified_is_a_problem_not_an_event():
    b = open_accompaniment()
    b.accompaniment_outcome(b.events[-1].arrangement.arrangement_id)
    state = fold(b.events)
    bundle = client_bundle(state)  # no events: no Task.lastModified
    result = FhirR4RecordSystem().inbound(json.dumps(bundle).encode())
    assert result.events == ()
    assert "lastModified" in str(result.problems[0])


@pytest.mark.parametrize(
    "payload", [b"", b"\xff\xfe", b"[]", b'{"resourceType": "Patient"}', b"not json"]
)
def test_inbound_garbage_is_a_problem_not_an_exception(payload):
    result = FhirR4RecordSystem().inbound(payload)
    assert result.events == ()
    assert len(result.problems) == 1


def test_commitment_outcomes_travel_on_the_care_plan():
    b = JourneyBuilder("client-5").open().session1(commit_to=JourneyBuilder("x").meeting())
    b.session2(commit_to=b.meeting(), review=CommitmentOutcome.NOT_ATTENDED)
    plan = client_bundle(fold(b.events))["entry"][0]["resource"]
    assert [a["detail"]["status"] for a in plan["activity"]] == ["cancelled", "scheduled"]


# ------------------------------------------------------------------ command line and demo


def test_the_demo_writes_bundles_and_shows_resubmission_creates_nothing(tmp_path):
    out = io.StringIO()
    code = main(
        ["demo", "--examples", str(ROOT / "examples"), "--out", str(tmp_path)],
        stdout=out,
        host=PluginHost(entry_points=False),
    )
    assert code == 0
    files = sorted(p.name for p in (tmp_path / "fhir").iterdir())
    assert "handout-10-journal.questionnaire.json" in files
    assert len([f for f in files if f.endswith(".fhir-bundle.json")]) == 5
    section = out.getvalue().split("FHIR R4 transaction bundles", 1)[1]
    section = section.split("loopback FHIR server holds", 1)[0]  # later demo steps print too
    rows = [line.split() for line in section.splitlines() if line.startswith("demo-c0")]
    assert len(rows) == 5
    assert all(int(row[-3]) > 0 and row[-2] == "0" for row in rows)  # created, then none


def test_fama_fhir_bundle_writes_one_file_per_client(tmp_path):
    log = tmp_path / "events.jsonl"
    log.write_text(
        "".join(
            (ROOT / "examples" / "journeys" / f).read_text("utf-8")
            for f in ("engaged-after-two-cycles.jsonl", "transferred.jsonl")
        )
        + "not json\n"
    )
    out = io.StringIO()
    err = io.StringIO()
    code = main(
        ["fhir", "bundle", str(log), "--out", str(tmp_path / "b")],
        stdout=out,
        stderr=err,
        host=PluginHost(entry_points=False),
    )
    assert code == 1  # one bad line, reported; the rest written
    assert "line" in err.getvalue()
    assert len(list((tmp_path / "b").glob("*.fhir-bundle.json"))) == 2


def test_fama_fhir_docs_check_reports_a_current_doc():
    out = io.StringIO()
    code = main(
        ["fhir", "docs", "--check", "--file", str(ROOT / "docs" / "fhir.md")],
        stdout=out,
        host=PluginHost(entry_points=False),
    )
    assert code == 0, out.getvalue()


@settings(max_examples=60)
@given(data=st.data())
def test_inbound_never_raises_on_a_damaged_bundle(data, journeys):
    _client, state, events = journeys[2]
    bundle = data.draw(mutated(client_bundle(state, events)))
    result = FhirR4RecordSystem().inbound(json.dumps(bundle).encode())
    assert all(isinstance(p, InvalidRecord) for p in result.problems)


@settings(max_examples=60)
@given(st.binary(max_size=200))
def test_inbound_never_raises_on_arbitrary_bytes(payload):
    result = FhirR4RecordSystem().inbound(payload)
    assert result.events == ()


def _ended_task_bundle(status, reason=None):
    b = open_accompaniment()
    state = fold(b.events)
    bundle = client_bundle(state, b.events)
    task = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")
    if status is None:
        task.pop("status")
    else:
        task["status"] = status
    if reason is not None:
        task["statusReason"] = {
            "coding": [
                {
                    "system": "https://fama.example/fhir/CodeSystem/accompaniment-outcome",
                    "code": reason,
                }
            ]
        }
    task["lastModified"] = "2026-01-15T18:30:00+00:00"
    return json.dumps(bundle).encode()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("entered-in-error", None),
        ("rejected", None),
        (None, "accompanied"),
        ("bogus", "accompanied"),
        ("failed", "accompanied"),
        ("completed", "client_did_not_attend"),
        ("cancelled", "accompanied"),
    ],
)
def test_a_task_whose_status_does_not_end_it_consistently_is_a_problem_not_an_outcome(
    status, reason
):
    """Review finding: outcomes were invented from wrong or contradictory Task states."""
    result = FhirR4RecordSystem().inbound(_ended_task_bundle(status, reason))
    assert result.events == ()
    assert result.problems and "Task.status" in str(result.problems[0])


@pytest.mark.parametrize(
    ("status", "reason", "outcome"),
    [
        ("completed", "accompanied", AccompanimentOutcome.ACCOMPANIED),
        ("completed", None, AccompanimentOutcome.ACCOMPANIED),
        ("failed", "client_did_not_attend", AccompanimentOutcome.CLIENT_DID_NOT_ATTEND),
        ("cancelled", None, AccompanimentOutcome.CANCELLED),
    ],
)
def test_a_consistently_ended_task_becomes_its_outcome(status, reason, outcome):
    result = FhirR4RecordSystem().inbound(_ended_task_bundle(status, reason))
    assert result.problems == ()
    (event,) = result.events
    assert event.result.outcome is outcome


def test_fama_fhir_bundle_reports_an_unmappable_client_and_writes_the_others(tmp_path):
    """Review finding: one client's MappingError stopped every remaining client."""
    from fama_core.events import event_to_json

    bad = JourneyBuilder("client-bad").open().session1()
    bad.session2(commit_to=bad.meeting()).journal()
    entry = bad.events[-1].entry.model_copy(update={"reactions": "secret\x01text"})
    bad.events[-1] = bad.events[-1].model_copy(update={"entry": entry})
    good = (ROOT / "examples" / "journeys" / "transferred.jsonl").read_text("utf-8")
    log = tmp_path / "events.jsonl"
    log.write_text("".join(event_to_json(e) + "\n" for e in bad.events) + good)
    err = io.StringIO()
    code = main(
        ["fhir", "bundle", str(log), "--out", str(tmp_path / "b")],
        stdout=io.StringIO(),
        stderr=err,
        host=PluginHost(entry_points=False),
    )
    assert code == 1
    assert "client client-bad" in err.getvalue() and "secret" not in err.getvalue()
    assert [p.name for p in (tmp_path / "b").glob("*.fhir-bundle.json")] == [
        "demo-c005.fhir-bundle.json"
    ]
