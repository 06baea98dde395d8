"""Kept states carry fewer objects for the garbage collector, and nothing else changes.

The fold builds a state's engagement evidence directly (no second validation, the
names of its fields set shared, its involvement signs one shared tuple per set of
signs) and gives a goal's first review, alone in its session, the event's own
tuple (docs/decisions.md, K1 and K2). These tests hold each of them to what the
validated model, and the fold before them (``fold_reference``), give: equality,
JSON form, pickling, copying, ``model_copy``, hashing and the fields set.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fold_reference as ref
from fama_core import workflow as wf
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, GoalReviewOutcome, InvolvementSign
from fama_core.engagement import EngagementEvidence, _evidence, _involvement
from fama_core.events import Session2Held
from fama_core.models import GoalReview
from fama_core.state import STATE_ADAPTER, ClientState
from test_fold_differential import JOURNEYS, event_logs

DATES = st.lists(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), unique=True, max_size=8)
NUMBERS = st.lists(st.integers(1, 40), unique=True, max_size=6)
SIGNS = st.frozensets(st.sampled_from(list(InvolvementSign)))


def validated(
    dates: list[dt.date], numbers: list[int], signs: frozenset[InvolvementSign]
) -> EngagementEvidence:
    """The evidence as the fold built it before: validated by pydantic from the same values."""
    return EngagementEvidence.model_validate(
        {
            "attended_dates": tuple(sorted(dates)),
            "reviews_with_attendance": tuple(numbers),
            "involvement": tuple(s for s in InvolvementSign if s in signs),
        }
    )


def built(
    dates: list[dt.date], numbers: list[int], signs: frozenset[InvolvementSign]
) -> EngagementEvidence:
    return _evidence(tuple(sorted(dates)), tuple(numbers), _involvement(signs) if signs else ())


@settings(max_examples=300)
@given(dates=DATES, numbers=NUMBERS, signs=SIGNS)
def test_evidence_built_directly_is_the_validated_model(dates, numbers, signs):
    made, expected = built(dates, numbers, signs), validated(dates, numbers, signs)
    assert type(made) is EngagementEvidence
    assert made == expected and expected == made
    assert hash(made) == hash(expected)
    assert made.model_dump() == expected.model_dump()
    assert made.model_dump_json() == expected.model_dump_json()
    assert made.model_dump(exclude_unset=True) == expected.model_dump(exclude_unset=True)
    assert made.model_fields_set == expected.model_fields_set
    assert made.__pydantic_extra__ == expected.__pydantic_extra__
    assert made.__pydantic_private__ == expected.__pydantic_private__
    assert EngagementEvidence.model_validate(made.model_dump()) == made
    assert pickle.loads(pickle.dumps(made)) == expected
    assert copy.deepcopy(made) == expected and copy.copy(made) == expected
    assert repr(made) == repr(expected)


@given(dates=DATES, numbers=NUMBERS, signs=SIGNS)
def test_the_shared_fields_set_is_never_changed(dates, numbers, signs):
    made = built(dates, numbers, signs)
    shared = made.__pydantic_fields_set__
    before = set(shared)
    changed = made.model_copy(update={"reviews_with_attendance": (1,)})
    assert changed.reviews_with_attendance == (1,)
    copied = copy.deepcopy(made)
    copied.__pydantic_fields_set__.add("x")  # a copy's set is its own
    assert shared == before == set(EngagementEvidence.model_fields)
    assert built(dates, numbers, signs).model_fields_set == before


def test_the_shared_fields_set_refuses_change_in_place_and_travels_as_a_plain_set():
    made = built([dt.date(2026, 1, 1)], [3], frozenset())
    shared = made.model_fields_set
    for change in (
        lambda s: s.add("x"),
        lambda s: s.discard("involvement"),
        lambda s: s.remove("involvement"),
        lambda s: s.pop(),
        lambda s: s.clear(),
        lambda s: s.update({"x"}),
        lambda s: s.difference_update({"involvement"}),
        lambda s: s.intersection_update(set()),
        lambda s: s.symmetric_difference_update({"x"}),
    ):
        with pytest.raises(TypeError, match="shared"):
            change(shared)
    with pytest.raises(TypeError, match="shared"):
        shared |= {"x"}
    assert shared == set(EngagementEvidence.model_fields)
    for travelled in (
        copy.copy(shared),
        copy.deepcopy(shared),
        pickle.loads(pickle.dumps(shared)),
        copy.deepcopy(made).__pydantic_fields_set__,
        pickle.loads(pickle.dumps(made)).__pydantic_fields_set__,
        made.model_copy().__pydantic_fields_set__,
        shared | {"x"},
    ):
        assert type(travelled) is set
        assert travelled >= set(EngagementEvidence.model_fields)
    assert made.model_dump(exclude_unset=True) == made.model_dump()


def test_a_frozen_evidence_refuses_assignment_as_before():
    made = built([dt.date(2026, 1, 1)], [3], frozenset())
    try:
        made.attended_dates = ()  # type: ignore[misc]
    except Exception as made_error:  # noqa: BLE001 - compared with the validated model's
        expected = validated([dt.date(2026, 1, 1)], [3], frozenset())
        try:
            expected.attended_dates = ()  # type: ignore[misc]
        except Exception as expected_error:  # noqa: BLE001
            assert type(made_error) is type(expected_error)
    else:
        raise AssertionError("assignment was allowed")
    assert made.model_fields_set == set(EngagementEvidence.model_fields)


@given(signs=SIGNS.filter(bool))
def test_involvement_tuples_are_shared_per_set_of_signs(signs):
    first, second = _involvement(signs), _involvement(frozenset(signs))
    assert first is second
    assert first == tuple(s for s in InvolvementSign if s in signs)


def engaged_state() -> ClientState:
    return wf.fold(JOURNEYS[0])


def test_a_kept_engaged_state_holds_no_set_of_its_own():
    state = engaged_state()
    evidence = state.episodes[-1].engagement_evidence
    assert evidence is not None
    other = wf.fold(JOURNEYS[2]).episodes[-1].engagement_evidence
    assert other is not None
    assert evidence.__pydantic_fields_set__ is other.__pydantic_fields_set__
    assert evidence.involvement is other.involvement  # same signs: one shared tuple


def reviewed_journey(goals: int) -> list:
    """Session 1, ``goals`` goals agreed, a session 2 that reviews each."""
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    b.open().session1()
    for _ in range(goals):
        b.goal(GoalKind.READ_HANDOUTS)
    b.session2(reason="not yet")
    return b.events


def test_a_goal_reviewed_alone_shares_the_events_tuple():
    events = reviewed_journey(1)
    session = events[-1]
    assert isinstance(session, Session2Held) and len(session.goal_reviews) == 1
    state = wf.fold(events)
    (goal,) = state.episodes[-1].goals
    assert goal.reviews is session.goal_reviews
    assert wf.fold(events) == ref.fold(events)


def test_goals_reviewed_together_or_again_get_tuples_of_their_own():
    events = reviewed_journey(2)
    session = events[-1]
    assert isinstance(session, Session2Held) and len(session.goal_reviews) == 2
    state = wf.fold(events)
    for goal, review in zip(state.episodes[-1].goals, session.goal_reviews, strict=True):
        assert goal.reviews == (review,) and goal.reviews is not session.goal_reviews
    assert state == ref.fold(events)
    # A goal carried forward and reviewed again keeps both reviews, in order.
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    b.open().session1().goal(GoalKind.READ_HANDOUTS)
    b.session2(reason="not yet", goals=GoalReviewOutcome.CARRIED_FORWARD)
    b.session2(reason="still not")
    state = wf.fold(b.events)
    (goal,) = state.episodes[-1].goals
    assert len(goal.reviews) == 2 and all(isinstance(r, GoalReview) for r in goal.reviews)
    assert state == ref.fold(b.events)


@settings(max_examples=200)
@given(log=event_logs())
def test_kept_states_equal_the_previous_folds_and_travel_alike(log):
    try:
        expected = ref.fold(log)
    except Exception as refused:  # noqa: BLE001 - the differential tests compare refusals
        try:
            wf.fold(log)
        except Exception as also:  # noqa: BLE001
            assert type(also) is type(refused)
            return
        raise AssertionError("the fold accepted what the previous fold refused") from None
    state = wf.fold(log)
    assert state == expected
    assert STATE_ADAPTER.dump_json(state) == STATE_ADAPTER.dump_json(expected)
    for travelled in (pickle.loads(pickle.dumps(state)), copy.deepcopy(state)):
        assert travelled == expected
        assert dict(travelled.applied) == dict(expected.applied)
    evidence = state.episodes[-1].engagement_evidence if state.episodes else None
    if evidence is not None:
        assert evidence.model_fields_set == set(EngagementEvidence.model_fields)


def new_tracked_objects(state: ClientState, old: set[int]) -> int:
    """Objects the collector tracks, reachable from ``state`` and made by its fold."""
    seen: set[int] = set()
    stack: list[object] = [state]
    count = 0
    while stack:
        o = stack.pop()
        if id(o) in seen or id(o) in old:
            continue
        seen.add(id(o))
        if gc.is_tracked(o):
            count += 1
            stack.extend(gc.get_referents(o))
    return count


def test_an_engaged_kept_state_is_at_most_nineteen_tracked_objects():
    # Before K1 and K2 the engaged journey kept 22 (the set, the signs' tuple and two
    # review tuples of its own): a count, not a timing.
    old = {id(o) for o in gc.get_objects()}
    old.update(id(e) for events in JOURNEYS for e in events)
    state = engaged_state()
    gc.collect()  # tuples of untracked items are untracked here, as in any host
    assert new_tracked_objects(state, old) <= 19
