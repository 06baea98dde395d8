"""Refusals and validation errors tell a host how to fix the event, in plain words (issue 10, 6).

Each names the fields or the event that would make it pass; none carries pydantic's wording,
a regular expression, or any value from the record.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_core.builders import JourneyBuilder, all_steps
from fama_core.codes import SessionStage
from fama_core.errors import InvalidRecord, TransitionRefused
from fama_core.events import EVENT_KINDS, event_from_json, event_from_mapping
from fama_core.workflow import FIXES, GUARDS, apply, fold

ENVELOPE = {
    "event_id": "evt-2",
    "client_id": "c-1042",
    "episode_id": "fama-1",
    "keyworker_id": "kw-7",
    "occurred_on": "2026-03-02",
    "recorded_at": "2026-03-02T16:45:00+00:00",
}


def invalid(data: dict) -> InvalidRecord:
    with pytest.raises(InvalidRecord) as info:
        event_from_json(json.dumps(data), record="form 88")
    return info.value


def test_a_session_2_with_neither_commitment_nor_reason_names_both_fields():
    steps = [s.model_dump(mode="json") for s in all_steps(SessionStage.ENGAGEMENT)]
    problem = invalid({**ENVELOPE, "kind": "session_2_held", "steps": steps})
    assert [p.location for p in problem.problems] == ["commitment, no_commitment_reason"]
    assert "Value error" not in str(problem)
    assert problem.kind == "session_2_held" and problem.event_id == "evt-2"


def test_a_session_2_with_a_reason_is_valid():
    steps = [s.model_dump(mode="json") for s in all_steps(SessionStage.ENGAGEMENT)]
    data = {**ENVELOPE, "kind": "session_2_held", "steps": steps, "no_commitment_reason": "x"}
    assert event_from_json(json.dumps(data)).kind == "session_2_held"


def test_a_bad_organisation_code_is_explained_without_a_regular_expression():
    problem = invalid({**ENVELOPE, "kind": "engagement_confirmed", "organisation": "Big Group"})
    (only,) = problem.problems
    assert only.location == "organisation" and "organisation code" in only.reason
    assert "^[" not in str(problem) and "Big Group" not in str(problem)


def test_an_unreadable_id_is_not_shown():
    problem = invalid({**ENVELOPE, "event_id": "not an id\n", "kind": "client_declined", "x": 1})
    assert problem.event_id is None


def test_a_session_3_before_session_2_says_to_hold_session_2():
    b = JourneyBuilder("c1").open().session1().session3()
    with pytest.raises(TransitionRefused) as info:
        fold(b.events)
    refused = info.value
    assert refused.condition == "allowed_in_state"
    assert "session_2_held" in refused.fix and "to fix:" in str(refused)


def test_a_passing_session_2_after_session_1():
    b = JourneyBuilder("c1").open().session1().session2(reason="not this week")
    assert fold(b.events).status.value == "uncommitted"


def test_every_guard_has_a_fix():
    assert set(GUARDS) <= set(FIXES)


def test_a_guard_refusal_carries_its_fix():
    b = JourneyBuilder("c1", start=dt.date(2026, 2, 2)).open().session1()
    b.session2(commit_to=b.meeting())
    late = b.events[-1].model_copy(update={"occurred_on": dt.date(2026, 1, 1)})
    with pytest.raises(TransitionRefused) as info:
        apply(fold(b.events[:-1]), late)
    assert info.value.fix == FIXES[info.value.condition]


SECRET = "SECRET-Зелёный-4471"
VALUES = st.one_of(st.just(SECRET), st.integers(), st.none(), st.lists(st.just(SECRET), max_size=2))


@given(
    kind=st.sampled_from([*EVENT_KINDS, "nope"]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "occurred_on",
                "organisation",
                "steps",
                "commitment",
                "no_commitment_reason",
                "goal",
                "entry",
                "reason",
                "colour",
                "past_experience",
            ]
        ),
        VALUES,
        max_size=4,
    ),
)
def test_no_invalid_record_quotes_a_value_or_pydantic(kind, fields):
    data = {**ENVELOPE, "kind": kind, **fields}
    try:
        event_from_mapping(data, record="form 1")
    except InvalidRecord as problem:
        text = str(problem)
        assert SECRET not in text
        assert "Value error" not in text and "String should match pattern" not in text
        assert problem.event_id == "evt-2"


def session_1(**changes) -> dict:
    steps = [s.model_dump(mode="json") for s in all_steps(SessionStage.INTRODUCTION)]
    data = {
        **ENVELOPE,
        "kind": "session_1_held",
        "steps": steps,
        "past_experience": {"level": "none"},
        "handouts_given": ["1", "2"],
        "journal_given": True,
    }
    for path, value in changes.items():
        *parents, last = path.split(".")
        target = data
        for p in parents:
            target = target[p] if not p.isdigit() else target[int(p)]
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "plain"),
    [
        ("occurred_on", "2026-13-01", "must be a real date written YYYY-MM-DD"),
        ("occurred_on", "yesterday", "must be a real date written YYYY-MM-DD"),
        ("occurred_on", None, "must be a date written YYYY-MM-DD"),
        ("recorded_at", "2026-02-30T10:00:00Z", "must be a real date and time with a time zone"),
        ("journal_given", "maybe", "must be true or false"),
        ("steps.0.status", "finished", "must be one of: done, not_done or not_applicable"),
        ("past_experience.level", "loads", "must be one of:"),
        ("keyworker_id", 7, "must be text"),
        # a newcomer's numbers for codes: "must be one of: 1, 2, …" read as if 1 were allowed
        ("handouts_given.0", 1, "must be one of these codes, written in quotes as text: 1, 2"),
        ("steps.0.status", 1, "must be one of these codes, written in quotes as text: done"),
        ("past_experience.level", True, "must be one of these codes, written in quotes as text"),
    ],
)
def test_a_field_of_the_wrong_form_is_explained_in_plain_words(path, value, plain):
    """A newcomer's typos: pydantic's "Input should be …" never reaches the host."""
    problem = invalid(session_1(**{path: value}))
    text = str(problem)
    assert plain in text, text
    assert "Input should" not in text and "should be" not in text
    if isinstance(value, str):
        assert value not in text


def test_an_event_without_a_kind_names_the_kind_field():
    """A newcomer's first line without "kind" read "(record): is missing: name the record's
    kind"; the field is named like any other missing field."""
    problem = invalid({**ENVELOPE})
    (only,) = problem.problems
    assert only.location == "kind"
    assert only.reason == "required: this field is missing (it names the record's kind)"


def test_a_code_written_as_text_keeps_the_short_words():
    problem = invalid(session_1(**{"handouts_given.0": "11"}))
    assert "must be one of: 1, 2, 3" in str(problem) and "in quotes" not in str(problem)
