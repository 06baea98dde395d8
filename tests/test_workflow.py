"""The FAMA workflow rules, one behaviour per test, each with a passing and a refused case."""

from __future__ import annotations

import datetime as dt

import pytest

from fama_core import events as ev
from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
)
from fama_core.errors import FamaError, IdempotencyConflict, TransitionRefused
from fama_core.models import CommitmentReview, GoalReview
from fama_core.workflow import allowed_events, apply, fold


def journey(client: str = "c1") -> JourneyBuilder:
    return JourneyBuilder(client, start=dt.date(2026, 2, 2))


def refusal(events: list[ev.Event]) -> TransitionRefused:
    """Fold all but the last event, then return the refusal of the last one."""
    state = fold(events[:-1]) if len(events) > 1 else None
    with pytest.raises(TransitionRefused) as info:
        apply(state, events[-1])
    return info.value


def replace(event: ev.Event, **changes: object) -> ev.Event:
    return type(event).model_validate({**event.model_dump(), **changes})


def test_a_full_journey_ends_engaged():
    b = journey()
    m = b.meeting()
    b.open().session1().session2(commit_to=m).journal(m).session3().engaged()
    assert fold(b.events).status is EpisodeStatus.ENGAGED


def test_session_1_cannot_come_before_the_episode_is_opened():
    b = journey().open().session1()
    assert refusal(b.events[1:]).condition == "allowed_in_state"


def test_session_1_with_a_commitment_leaves_the_client_committed():
    b = journey()
    b.open().session1(commit_to=b.meeting())
    assert fold(b.events).status is EpisodeStatus.COMMITTED


def test_session_2_without_commitment_records_a_reason_and_awaits_session_2():
    b = journey().open().session1().session2(reason="not ready")
    state = fold(b.events)
    assert state.status is EpisodeStatus.UNCOMMITTED
    assert "session_2_held" in allowed_events(state)
    assert "session_3_held" not in allowed_events(state)


def test_session_2_cannot_end_with_neither_commitment_nor_reason():
    b = journey().open().session1().session2(reason="x")
    raw = b.events[-1].model_dump()
    raw["no_commitment_reason"] = None
    with pytest.raises(FamaError) as info:
        ev.event_from_mapping(raw)
    assert "commitment" in str(info.value)


def test_session_3_needs_an_outstanding_commitment():
    b = journey().open().session1().session2(reason="not ready")
    b.session3()
    assert refusal(b.events).condition == "allowed_in_state"


def test_session_3_must_review_the_commitment_made_before_it():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting()).session3()
    wrong = replace(
        b.events[-1],
        commitment_review=CommitmentReview(
            commitment_id="c-other", outcome=CommitmentOutcome.ATTENDED
        ).model_dump(),
    )
    assert refusal([*b.events[:-1], wrong]).condition == "reviews_outstanding_commitment"
    assert fold(b.events).status is EpisodeStatus.UNCOMMITTED


def test_session_2_must_review_an_outstanding_commitment_from_session_1():
    b = journey()
    b.open().session1(commit_to=b.meeting()).session2(commit_to=b.meeting())
    missing = replace(b.events[-1], commitment_review=None)
    assert refusal([*b.events[:-1], missing]).condition == "reviews_outstanding_commitment"
    assert fold(b.events).current.commitments[0].outcome is CommitmentOutcome.ATTENDED


def test_a_commitment_is_for_the_coming_week():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting())
    late = b.events[-1].commitment.model_copy(update={"planned_date": dt.date(2026, 3, 30)})
    event = replace(b.events[-1], commitment=late.model_dump())
    assert refusal([*b.events[:-1], event]).condition == "commitment_in_coming_week"


def test_agreed_goals_are_reviewed_at_the_next_session():
    b = journey().open().session1().goal(GoalKind.READ_HANDOUTS).session2(reason="x")
    unreviewed = replace(b.events[-1], goal_reviews=())
    assert refusal([*b.events[:-1], unreviewed]).condition == "reviews_agreed_goals"
    assert fold(b.events).current.goals[0].status is GoalStatus.ACHIEVED


def test_a_goal_can_be_carried_forward_and_stays_agreed():
    b = journey().open().session1().goal(GoalKind.CONSIDER_MEETINGS)
    b.session2(reason="x", goals=GoalReviewOutcome.CARRIED_FORWARD)
    goal = fold(b.events).current.goals[0]
    assert goal.status is GoalStatus.AGREED
    assert [r.outcome for r in goal.reviews] == [GoalReviewOutcome.CARRIED_FORWARD]


def test_proposed_goals_are_not_reviewed_until_agreed():
    b = journey().open().session1().goal(GoalKind.READ_HANDOUTS, status=GoalStatus.PROPOSED)
    goal_id = b.events[-1].goal.goal_id
    b.session2(reason="x")
    bogus = replace(
        b.events[-1],
        goal_reviews=(GoalReview(goal_id=goal_id, outcome="achieved").model_dump(),),
    )
    assert refusal([*b.events[:-1], bogus]).condition == "reviews_agreed_goals"
    assert fold(b.events).current.goals[0].status is GoalStatus.PROPOSED


def test_goal_lifecycle_refuses_reopening_a_finished_goal():
    b = journey().open().session1().goal(GoalKind.READ_HANDOUTS).session2(reason="x")
    goal_id = b.events[2].goal.goal_id
    b.add(ev.GoalUpdated(**_envelope(b, "late"), goal_id=goal_id, status=GoalStatus.AGREED))
    assert refusal(b.events).condition == "goal_change_allowed"


def test_a_goal_id_cannot_be_reused_in_an_episode():
    b = journey().open().session1().goal(GoalKind.READ_HANDOUTS)
    again = replace(b.events[-1], event_id="other-id")
    assert refusal([*b.events, again]).condition == "goal_id_new"


def test_declining_needs_session_1_but_closing_does_not():
    declined = journey().open().declined()
    assert refusal(declined.events).condition == "allowed_in_state"
    closed = journey().open().closed()
    assert fold(closed.events).status is EpisodeStatus.CLOSED


def test_declined_client_can_start_a_new_episode():
    b = journey().open().session1().declined()
    b.open(days_later=60).session1()
    state = fold(b.events)
    assert [e.status for e in state.episodes] == [EpisodeStatus.DECLINED, EpisodeStatus.INTRODUCED]
    assert state.current.episode_id == "c1-ep2"


def test_a_new_episode_cannot_start_while_one_is_open():
    b = journey().open().session1().open()
    assert refusal(b.events).condition == "allowed_in_state"


def test_a_new_episode_needs_a_new_id():
    b = journey().open().session1().declined().open("c1-ep1", days_later=5)
    reopened = replace(b.events[-1], event_id="reopen-1")
    assert refusal([*b.events[:-1], reopened]).condition == "new_episode_id"


def test_nothing_but_a_new_episode_is_accepted_after_the_end():
    b = journey().open().session1().declined().goal(GoalKind.READ_HANDOUTS)
    assert refusal(b.events).condition == "allowed_in_state"


def test_events_for_another_episode_are_refused():
    b = journey().open()
    b.episode_id = "c1-ep9"
    b.session1()
    assert refusal(b.events).condition == "same_episode"


def test_events_for_another_client_are_refused():
    b = journey().open().session1()
    other = replace(b.events[-1], client_id="c2")
    assert refusal([b.events[0], other]).condition == "same_client"


def test_sessions_cannot_go_back_in_time():
    b = journey().open().session1().session2(reason="x")
    early = replace(b.events[-1], occurred_on=dt.date(2026, 2, 1))
    assert refusal([*b.events[:-1], early]).condition in {"sessions_in_order", "not_before_opening"}


def test_accompaniment_must_name_a_known_commitment_and_conclude_once():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement
    b.accompaniment_outcome(arrangement.arrangement_id)
    assert fold(b.events).current.accompaniments[0].outcome == "accompanied"
    b.accompaniment_outcome(arrangement.arrangement_id)
    assert refusal(b.events).condition == "arrangement_open"
    bogus = arrangement.model_copy(update={"commitment_id": "c-nope", "arrangement_id": "a9"})
    event = replace(b.events[3], event_id="x9", arrangement=bogus.model_dump())
    assert refusal([*b.events[:4], event]).condition == "supports_known_commitment"


def test_replaying_an_event_returns_the_same_state():
    b = journey().open().session1()
    state = fold(b.events)
    assert apply(state, b.events[-1]) is state
    assert fold([*b.events, b.events[-1]]) == state


def test_reusing_an_event_id_for_a_different_event_is_a_conflict():
    b = journey().open().session1()
    state = fold(b.events)
    clash = replace(b.events[-1], journal_given=False)
    with pytest.raises(IdempotencyConflict) as info:
        apply(state, clash)
    assert info.value.event_id == b.events[-1].event_id


def test_a_refusal_names_state_event_and_condition():
    b = journey().open().session1().session2(reason="x").session3()
    problem = refusal(b.events)
    assert (problem.state, problem.event, problem.condition) == (
        "uncommitted",
        "session_3_held",
        "allowed_in_state",
    )
    assert "session_3_held refused in state uncommitted" in str(problem)


def test_apply_never_changes_the_state_it_is_given():
    b = journey().open().session1()
    state = fold(b.events)
    before = (state.version, state.current.status, len(state.current.sessions))
    b.session2(reason="x")
    apply(state, b.events[-1])
    assert (state.version, state.current.status, len(state.current.sessions)) == before


def test_fold_needs_an_event_or_a_state():
    with pytest.raises(ValueError):
        fold([])


def _envelope(b: JourneyBuilder, suffix: str) -> dict[str, object]:
    return {
        "event_id": f"{b.episode_id}-{suffix}",
        "client_id": b.client_id,
        "episode_id": b.episode_id,
        "keyworker_id": b.keyworker_id,
        "occurred_on": b.day,
        "recorded_at": dt.datetime(2026, 2, 28, tzinfo=dt.UTC),
    }
