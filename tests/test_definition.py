"""The workflow declaration is checked when it loads: mistakes are definition errors."""

from __future__ import annotations

import dataclasses

import pytest

from fama_core import workflow as wf
from fama_core.builders import JourneyBuilder
from fama_core.errors import WorkflowDefinitionError
from fama_core.workflow import TRANSITIONS, Outcome, Transition, check_definition


def without(event: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.event != event]


def test_the_shipped_declaration_is_well_formed():
    table = check_definition(TRANSITIONS)
    assert ("none", "episode_opened") in table


def test_an_event_kind_without_transition_is_an_error():
    with pytest.raises(WorkflowDefinitionError, match="no transition: goal_set"):
        check_definition(without("goal_set"))


def test_an_unreachable_state_is_an_error():
    rows = [t for t in TRANSITIONS if t.event != "engagement_confirmed"]
    rows.append(Transition("engagement_confirmed", ("committed",), (Outcome(None),)))
    with pytest.raises(WorkflowDefinitionError, match="unreachable states: engaged"):
        check_definition(rows)


def test_a_state_with_no_way_out_is_an_error():
    rows = [
        dataclasses.replace(t, sources=tuple(s for s in t.sources if s != "declined"))
        if t.event == "episode_opened"
        else t
        for t in TRANSITIONS
    ]
    with pytest.raises(WorkflowDefinitionError, match="no way out: declined"):
        check_definition(rows)


def test_an_unknown_guard_is_an_error():
    rows = [
        *without("goal_set"),
        Transition("goal_set", ("introduced",), (Outcome(None),), ("nope",)),
    ]
    with pytest.raises(WorkflowDefinitionError, match="unknown guard nope"):
        check_definition(rows)


def test_two_rows_for_one_state_and_event_are_an_error():
    rows = [*TRANSITIONS, Transition("goal_set", ("introduced",), (Outcome(None),))]
    with pytest.raises(WorkflowDefinitionError, match="two transitions for goal_set in introduced"):
        check_definition(rows)


def test_an_unknown_state_is_an_error():
    rows = [*without("goal_set"), Transition("goal_set", ("limbo",), (Outcome(None),))]
    with pytest.raises(WorkflowDefinitionError, match="unknown source state limbo"):
        check_definition(rows)


def test_a_condition_on_a_commitment_for_a_kind_without_one_is_an_error():
    rows = [
        *without("goal_set"),
        Transition(
            "goal_set",
            ("introduced", "committed", "uncommitted"),
            (Outcome("committed", "commitment_made"), Outcome(None, "no_commitment")),
        ),
    ]
    with pytest.raises(WorkflowDefinitionError, match="goal_set: condition commitment_made"):
        check_definition(rows)


def test_an_event_leads_where_the_first_outcome_that_holds_says():
    rows = [
        dataclasses.replace(t, outcomes=(Outcome("uncommitted", "no_commitment"), Outcome(None)))
        if t.event == "session_3_held"
        else t
        for t in TRANSITIONS
    ]
    compiled = check_definition(rows)[("committed", "session_3_held")]
    b = JourneyBuilder("c1").open().session1()
    m = b.meeting()
    b.session2(commit_to=m).session3(commit_to=m).session3(reason="not this week")
    *before, with_commitment, without_commitment = b.events
    for event, expected in ((with_commitment, "committed"), (without_commitment, "uncommitted")):
        draft = wf._ClientDraft.empty("c1")
        wf._run(draft, before)
        if event is without_commitment:
            wf._run(draft, [with_commitment])
        assert compiled.apply(draft, draft.cur, event, event.__dict__, True)
        assert draft.cur.status == expected  # stays committed, or the first outcome holds
