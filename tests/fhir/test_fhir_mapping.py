"""The FHIR mapping: valid R4, lossless for what FHIR carries, fama-enforced codes, tables."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_strategies import CONTROL, client_states, mutated
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.fhir import tables
from fama_adapters.fhir.mapping import carried, client_bundle, read_bundle
from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    GoalStatus,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.errors import InvalidRecord, MappingError
from fama_core.models import (
    AccompanimentArrangement,
    Goal,
    JournalEntry,
    MeetingCommitment,
    MeetingRef,
    StepRecord,
)
from fama_core.state import (
    AccompanimentState,
    ClientState,
    CommitmentState,
    EpisodeState,
    GoalState,
    SessionSummary,
)

ROOT = Path(__file__).parent.parent.parent

CAREPLAN_STATUS = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}
REQUEST_STATUS = CAREPLAN_STATUS
TASK_STATUS = {
    "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
    "in-progress", "on-hold", "failed", "completed", "entered-in-error",
}  # fmt: skip
ACTIVITY_STATUS = {
    "not-started", "scheduled", "in-progress", "on-hold", "completed", "cancelled",
    "stopped", "unknown", "entered-in-error",
}  # fmt: skip


def resources(bundle, rtype=None):
    return [
        e["resource"]
        for e in bundle["entry"]
        if rtype is None or e["resource"]["resourceType"] == rtype
    ]


# ------------------------------------------------------------------ validity


def test_every_demo_bundle_validates_as_fhir_r4(journeys):
    for _client, state, events in journeys:
        bundle = client_bundle(state, events)
        Bundle.model_validate(bundle)  # raises on any invalid element, every resource included


@settings(max_examples=40)
@given(client_states())
def test_every_generated_bundle_validates_as_fhir_r4(state):
    Bundle.model_validate(client_bundle(state))


@settings(max_examples=40)
@given(client_states(), st.sampled_from(["create", "upsert"]))
def test_round_trip_is_lossless_for_what_fhir_carries(state, write):
    wire = json.loads(json.dumps(client_bundle(state, write=write)))
    read = read_bundle(wire)
    assert read.problems == ()
    assert read.episodes == carried(state)


def test_the_demo_journeys_round_trip(journeys):
    for _client, state, events in journeys:
        read = read_bundle(client_bundle(state, events))
        assert read.problems == ()
        assert read.episodes == carried(state)


@settings(max_examples=25)
@given(client_states())
def test_the_same_state_gives_the_same_bundle(state):
    assert json.dumps(client_bundle(state)) == json.dumps(client_bundle(replace(state)))


@settings(max_examples=25)
@given(client_states())
def test_every_entry_is_a_conditional_create_on_its_own_identifier(state):
    bundle = client_bundle(state)
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    for entry in bundle["entry"]:
        ident = entry["resource"]["identifier"]
        ident = ident if isinstance(ident, dict) else ident[0]
        assert entry["request"] == {
            "method": "POST",
            "url": entry["resource"]["resourceType"],
            "ifNoneExist": f"identifier={ident['system']}|{ident['value']}",
        }
        assert entry["fullUrl"].startswith("urn:uuid:")


@settings(max_examples=25)
@given(client_states())
def test_upsert_mode_writes_conditional_updates_except_for_tasks(state):
    """A Task's status is the volunteer side's once it exists: fama only creates it."""
    for entry in client_bundle(state, write="upsert")["entry"]:
        rtype = entry["resource"]["resourceType"]
        if rtype == "Task":
            assert entry["request"]["method"] == "POST"
            assert entry["request"]["ifNoneExist"].startswith("identifier=")
            continue
        assert entry["request"]["method"] == "PUT"
        assert entry["request"]["url"].startswith(rtype + "?identifier=")


@settings(max_examples=40)
@given(client_states())
def test_status_codes_come_from_their_r4_value_sets(state):
    """fhir.resources does not check value sets, so fama does."""
    bundle = client_bundle(state)
    for plan in resources(bundle, "CarePlan"):
        assert plan["status"] in CAREPLAN_STATUS
        for activity in plan.get("activity", []):
            if "detail" in activity:
                assert activity["detail"]["status"] in ACTIVITY_STATUS
    for goal in resources(bundle, "Goal"):
        assert goal["lifecycleStatus"] in tables.GOAL_LIFECYCLE_CODES
        for coding in goal.get("achievementStatus", {}).get("coding", []):
            assert coding["code"] in tables.GOAL_ACHIEVEMENT_CODES
    for request in resources(bundle, "ServiceRequest"):
        assert request["status"] in REQUEST_STATUS
        assert request["intent"] == "order"
    for task in resources(bundle, "Task"):
        assert task["status"] in TASK_STATUS
        assert task["intent"] == "order"
        assert task["code"]["coding"][0]["code"] == "fulfill"
        assert task["focus"]["reference"] in {e["fullUrl"] for e in bundle["entry"]}


def test_code_maps_cover_every_fama_code():
    assert set(tables.CAREPLAN_STATUS) == set(EpisodeStatus)
    assert set(tables.GOAL_LIFECYCLE) == set(GoalStatus) == set(tables.GOAL_ACHIEVEMENT)
    assert set(tables.ACCOMPANIMENT_TASK_STATUS) == {None, *AccompanimentOutcome}
    assert set(tables.ACCOMPANIMENT_REQUEST_STATUS) == {None, *AccompanimentOutcome}
    assert set(tables.COMMITMENT_ACTIVITY_STATUS) == {None, *CommitmentOutcome}


def test_goal_status_pairs_are_distinct_so_goals_read_back():
    pairs = [(tables.GOAL_LIFECYCLE[s], tables.GOAL_ACHIEVEMENT[s]) for s in GoalStatus]
    assert len(set(pairs)) == len(pairs)


# ------------------------------------------------------------------ bad input


@settings(max_examples=30)
@given(bad=st.sampled_from(CONTROL), rest=st.text(max_size=5))
def test_a_control_character_is_a_mapping_error_naming_record_and_field(bad, rest, journeys):
    _client, state, _events = journeys[2]
    ep = state.current
    secret = f"secret{rest}{bad}"
    entry = JournalEntry(
        entry_id="j-bad",
        meeting=MeetingRef(name="Group", organisation="aa"),
        date=ep.opened_on,
        attended=True,
        reactions=secret,
    )
    broken = ClientState(state.client_id, (replace(ep, journal=(*ep.journal, entry)),))
    with pytest.raises(MappingError) as caught:
        client_bundle(broken)
    assert "journal entry j-bad" in str(caught.value)
    assert "reactions" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_unreadable_resources_are_listed_and_the_rest_carry_on(journeys):
    _client, state, events = journeys[0]
    bundle = client_bundle(state, events)
    goals = resources(bundle, "Goal")
    goals[0]["lifecycleStatus"] = "bogus"
    del goals[1]["description"]
    goals[2]["startDate"] = "secret-value"
    read = read_bundle(bundle)
    assert len(read.problems) == 3
    assert {p.problems[0].location for p in read.problems} == {
        "lifecycleStatus",
        "description",
        "startDate",
    }
    assert all("secret" not in str(p) for p in read.problems)
    assert len(read.episodes[0].goals) == len(carried(state)[0].goals) - 3
    assert read.episodes[0].sessions == carried(state)[0].sessions


def test_a_resource_without_its_care_plan_is_a_problem(journeys):
    _client, state, events = journeys[0]
    bundle = client_bundle(state, events)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "CarePlan"]
    read = read_bundle(bundle)
    assert read.episodes == ()
    assert len(read.problems) == len(bundle["entry"])
    assert "no CarePlan" in str(read.problems[0])


# ------------------------------------------------------------------ tables and docs


def _paths(node, prefix):
    """Leaf element paths as FIELD_TABLES names them (extensions by their last URL part)."""
    if isinstance(node, list):
        for item in node:
            yield from _paths(item, prefix)
        return
    if not isinstance(node, dict) or "system" in node:
        yield prefix
        return
    for key, value in node.items():
        if key in ("resourceType", "url"):
            continue
        if key == "extension":
            for ext in value:
                name = ext["url"].rsplit("/", 1)[-1]
                inner = {k: v for k, v in ext.items() if k != "url"}
                if "extension" in inner:
                    yield from _paths(inner, f"{prefix}.extension:{name}")
                else:
                    yield f"{prefix}.extension:{name}"
        else:
            yield from _paths(value, f"{prefix}.{key}")


def _written_paths(bundle):
    found = {"Bundle.type"}
    for entry in bundle["entry"]:
        rtype = entry["resource"]["resourceType"]
        found.add("Bundle.entry.fullUrl")
        found |= {f"Bundle.entry.request.{k}" for k in entry["request"]}
        for path in _paths(entry["resource"], rtype):
            meeting = re.match(r"^(\w+\.(?:.*\.)?extension:meeting)\.(.*)$", path)
            if meeting:  # the meeting extension has a table of its own
                found.add(meeting.group(1))
                path = f"extension:meeting.{meeting.group(2)}"
            if rtype == "QuestionnaireResponse" and path.startswith(f"{rtype}.item"):
                path = f"{rtype}.item"
            found.add(path)
    return found


def test_every_written_element_is_documented_and_every_documented_element_is_written(journeys):
    written = set()
    for _client, state, events in journeys:
        written |= _written_paths(client_bundle(state, events))
        written |= _written_paths(client_bundle(state, events, write="upsert"))
    documented = {row.path for _title, rows in tables.FIELD_TABLES for row in rows}
    rich = _written_paths(client_bundle(_rich_state(journeys), journeys[2][2]))
    assert written | rich == documented


def _rich_state(journeys):
    """A state with every optional element set (meeting ids and modes, notes, outcomes …)."""
    meeting = MeetingRef(
        meeting_id="m-1", name="Tuesday", organisation="aa", attendance_mode=AttendanceMode.HYBRID
    )
    day = dt.date(2026, 1, 5)
    episode = EpisodeState(
        episode_id="ep-1",
        client_id="c-1",
        keyworker_id="kw-1",
        team_id=None,
        status=EpisodeStatus.CLOSED,
        opened_on=day,
        ended_on=day,
        sessions=(
            SessionSummary(
                1,
                SessionStage.INTRODUCTION,
                day,
                "kw-1",
                (StepRecord(step=Step.S1_INTRODUCE, status=StepStatus.DONE, note="n"),),
                "e-1",
            ),
        ),
        goals=(
            GoalState(
                Goal(
                    goal_id="g-1",
                    kind=GoalKind.ATTEND_NAMED_MEETING,
                    description="d",
                    target_date=day,
                    meeting=meeting,
                ),
                GoalStatus.ACHIEVED,
                day,
                1,
            ),
        ),
        journal=(
            JournalEntry(
                entry_id="j-1",
                meeting=meeting,
                date=day,
                attended=True,
                reactions="r",
                benefits=("b",),
                disadvantages=("x",),
                contacts_made=2,
            ),
        ),
        commitments=(
            CommitmentState(
                MeetingCommitment(
                    commitment_id="c-1",
                    meeting=meeting,
                    planned_date=day,
                    accompaniment_requested=True,
                ),
                day,
                1,
                CommitmentOutcome.ATTENDED,
            ),
        ),  # fmt: skip
        accompaniments=(
            AccompanimentState(
                AccompanimentArrangement(
                    arrangement_id="a-1",
                    volunteer_id="v-1",
                    volunteer_kind=VolunteerKind.GROUP_MEMBER,
                    meeting=meeting,
                    date=day,
                    commitment_id="c-1",
                ),
                day,
                AccompanimentOutcome.ACCOMPANIED,
            ),
        ),
    )
    return ClientState("c-1", (episode,))


def test_docs_fhir_md_holds_the_current_tables():
    text = (ROOT / "docs" / "fhir.md").read_text("utf-8")
    assert tables.update_markdown(text) == text, "run `fama fhir docs`"


@settings(max_examples=60)
@given(data=st.data())
def test_reading_a_damaged_bundle_reports_problems_and_never_raises(data, journeys):
    _client, state, events = journeys[data.draw(st.integers(0, len(journeys) - 1))]
    bundle = data.draw(mutated(client_bundle(state, events)))
    read = read_bundle(bundle)
    assert all(isinstance(p, InvalidRecord) for p in read.problems)
