"""Events: structural validation, JSON decoding, and errors that never leak record text."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_core import events as ev
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, GoalStatus, Obstacle, SessionStage, Step, StepStatus
from fama_core.errors import FamaError, InvalidRecord, TransitionRefused
from fama_core.models import Goal, ObstacleRecord
from fama_core.workflow import apply, fold

SECRET = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=12, max_size=40)


def sample_events() -> list[ev.Event]:
    b = JourneyBuilder("c1", start=dt.date(2026, 2, 2))
    m = b.meeting()
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany().journal(m)
    b.obstacle(Obstacle.GETTING_THERE)
    b.session3().engaged()
    return b.events


def test_every_event_kind_round_trips_through_json():
    for event in sample_events():
        assert ev.event_from_json(ev.event_to_json(event)) == event


def test_a_session_record_must_list_every_step_once():
    raw = json.loads(ev.event_to_json(sample_events()[1]))
    raw["steps"] = raw["steps"][1:] + raw["steps"][:1] + raw["steps"][:1]
    with pytest.raises(InvalidRecord) as info:
        ev.event_from_mapping(raw, record="line 2")
    message = str(info.value)
    assert message.startswith("line 2: invalid session_1_held")
    assert "recorded twice: s1.identify_need" in message


def test_a_session_record_refuses_steps_of_another_session():
    raw = json.loads(ev.event_to_json(sample_events()[1]))
    raw["steps"].append({"step": Step.S3_GOALS.value, "status": StepStatus.DONE.value})
    with pytest.raises(InvalidRecord, match="not steps of session 1: s3.goals"):
        ev.event_from_mapping(raw)


def test_unknown_fields_are_refused_by_name():
    raw = json.loads(ev.event_to_json(sample_events()[0]))
    raw["nhs_number"] = "9434765919"
    with pytest.raises(InvalidRecord) as info:
        ev.event_from_mapping(raw)
    assert info.value.problems[0].location == "nhs_number"
    assert "9434765919" not in str(info.value)


def test_a_naive_recorded_at_is_refused():
    raw = json.loads(ev.event_to_json(sample_events()[0]))
    raw["recorded_at"] = "2026-02-02T17:00:00"
    with pytest.raises(InvalidRecord, match="recorded_at"):
        ev.event_from_mapping(raw)


def test_bad_lines_are_reported_and_the_rest_of_the_batch_carries_on():
    lines = [ev.event_to_json(e) for e in sample_events()]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"kind": "session_9_held"}))
    results = list(ev.events_from_json_lines(lines))
    problems = [(n, r) for n, r in results if isinstance(r, InvalidRecord)]
    assert [n for n, _ in problems] == [3, 5]
    assert [r.problems[0].code for _, r in problems] == ["json_invalid", "union_tag_invalid"]
    good = [r for _, r in results if not isinstance(r, InvalidRecord)]
    assert fold(good).status == "engaged"


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_decoding_arbitrary_bytes_raises_only_invalid_record(data):
    try:
        ev.event_from_json(data)
    except InvalidRecord:
        pass


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(["kind", "event_id", "steps", "goal", "x"]), JSONISH))
def test_validating_arbitrary_mappings_raises_only_invalid_record(data):
    if "kind" in data and isinstance(data["kind"], str):
        data["kind"] = "session_1_held"
    try:
        ev.event_from_mapping(data)
    except InvalidRecord:
        pass


@settings(max_examples=60)
@given(secret=SECRET)
def test_validation_errors_never_quote_record_text(secret):
    raw = json.loads(ev.event_to_json(sample_events()[2]))
    raw["no_commitment_reason"] = secret  # now both commitment and reason: invalid
    raw["steps"][0]["note"] = secret
    raw["steps"][1]["status"] = secret
    with pytest.raises(InvalidRecord) as info:
        ev.event_from_mapping(raw)
    assert secret not in str(info.value)
    assert all(secret not in p.reason for p in info.value.problems)


@settings(max_examples=60)
@given(secret=SECRET)
def test_refusals_never_quote_record_text(secret):
    b = JourneyBuilder("c1", start=dt.date(2026, 2, 2)).open().session1()
    b.session2(reason=secret).session3()  # session 3 with nothing to review
    state = fold(b.events[:-1])
    with pytest.raises(TransitionRefused) as info:
        apply(state, b.events[-1])
    assert secret not in str(info.value)


def test_every_error_derives_from_fama_error():
    import fama_core.errors as errors

    classes = [getattr(errors, name) for name in errors.__all__]
    exceptions = [c for c in classes if isinstance(c, type) and issubclass(c, Exception)]
    assert exceptions and all(issubclass(c, FamaError) for c in exceptions)


def test_steps_by_stage_cover_every_step_once():
    from fama_core.codes import STEPS_BY_STAGE

    listed = [s for stage in SessionStage for s in STEPS_BY_STAGE[stage]]
    assert sorted(listed) == sorted(Step)


def test_unicode_spaces_in_free_text_become_plain_spaces():
    from fama_core.models import JournalEntry, MeetingRef

    entry = JournalEntry(
        entry_id="j1",
        meeting=MeetingRef(name="Monday\u00a0Group", organisation="aa"),
        date=dt.date(2026, 2, 2),
        attended=True,
        reactions="felt\u2003welcome\u2028will go again\x0b",
    )
    assert entry.meeting.name == "Monday Group"
    assert entry.reactions == "felt welcome\nwill go again\x0b"


def _goal_line(**goal: object) -> str:
    line = JourneyBuilder("g").open().goal(GoalKind.READ_HANDOUTS).events[-1]
    document = json.loads(ev.event_to_json(line))
    document["goal"].update(goal)
    return json.dumps(document)


@pytest.mark.parametrize("status", [s.value for s in GoalStatus])
def test_a_new_goal_is_proposed_or_agreed(status):
    # The check compares enum members by identity (a member read once, decisions S9): each
    # status, from JSON and from Python, is accepted or refused as the rule says.
    line = _goal_line(status=status)
    if status in ("proposed", "agreed"):
        assert ev.event_from_json(line).goal.status == status  # type: ignore[union-attr]
        assert Goal(goal_id="g1", kind=GoalKind.READ_HANDOUTS, status=status).status == status
    else:
        with pytest.raises(InvalidRecord, match="proposed or agreed"):
            ev.event_from_json(line)
        with pytest.raises(ValueError, match="proposed or agreed"):
            Goal(goal_id="g1", kind=GoalKind.READ_HANDOUTS, status=status)


def test_a_goal_or_an_obstacle_of_kind_other_needs_its_text():
    with pytest.raises(InvalidRecord, match="goal of kind other needs a description"):
        ev.event_from_json(_goal_line(kind="other"))
    assert ev.event_from_json(_goal_line(kind="other", description="walk the dog first"))
    with pytest.raises(ValueError, match="needs the agreed response"):
        ObstacleRecord(obstacle=Obstacle.OTHER)
    assert ObstacleRecord(obstacle=Obstacle.OTHER, response="leave early").response
    assert ObstacleRecord(obstacle=Obstacle.GETTING_THERE).response is None
