"""The fold's shortcuts give what the declaration and the plain constructors give.

Each event kind has an applier that tests its guards' conditions inline and
applies; when any may fail, the engine runs the declared guards in order (and
checks ``same_episode`` and ``not_before_opening`` inline there, running those
guards only when one fails). States are built by the fold's own constructors
(``fama_core.state._maker``), an episode by position. Each shortcut is held here
to the slow form it replaces; ``test_fold_differential.py`` holds the whole fold
to the one before these shortcuts.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import pickle
from pathlib import Path

import pytest

from fama_core import workflow as wf
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, Obstacle
from fama_core.errors import TransitionRefused
from fama_core.events import event_from_json
from fama_core.state import (
    STATE_ADAPTER,
    AccompanimentState,
    ClientState,
    CommitmentState,
    EpisodeState,
    GoalState,
    ObstacleState,
    RuleBreach,
    SessionSummary,
    _new_accompaniment,
    _new_breach,
    _new_client,
    _new_commitment,
    _new_episode,
    _new_goal,
    _new_obstacle,
    _new_session,
)

CORPUS = Path(__file__).parent / "corpus" / "events-2026-11.jsonl"


def corpus_states() -> list[ClientState]:
    by_client: dict[str, list[str]] = {}
    for line in CORPUS.read_text("utf-8").splitlines():
        by_client.setdefault(json.loads(line)["client_id"], []).append(line)
    return [
        wf.fold([event_from_json(x) for x in lines], flag_newer_rules=True)
        for lines in by_client.values()
    ]


STATES = corpus_states()


def field_values(obj: object) -> list[tuple[str, object]]:
    return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]  # type: ignore[arg-type]


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.client_id)
def test_an_episode_frozen_by_position_has_every_field_where_it_was(state):
    for episode in state.episodes:
        frozen = wf._EpisodeDraft(episode).freeze()
        assert field_values(frozen) == field_values(episode)
        assert frozen == EpisodeState(**dict(field_values(episode)))


def test_an_episode_freezes_by_position_in_the_declared_field_order():
    # Every field given a value no other field has: a field out of place shows.
    values = {f.name: (f"value-{i}",) for i, f in enumerate(dataclasses.fields(EpisodeState))}
    draft = wf._EpisodeDraft.__new__(wf._EpisodeDraft)
    for name in wf._EpisodeDraft.__slots__:
        setattr(draft, name, values.get(name))
    draft.goals = {"g": values["goals"][0]}
    draft.commitments = {"c": values["commitments"][0]}
    draft.accompaniments = {"a": values["accompaniments"][0]}
    frozen = draft.freeze()
    assert field_values(frozen) == list(values.items())


@pytest.mark.parametrize("state", STATES, ids=lambda s: s.client_id)
def test_a_client_frozen_by_the_fold_equals_one_built_by_its_constructor(state):
    frozen = wf._ClientDraft(state).freeze()
    built = ClientState(client_id=state.client_id, episodes=state.episodes, version=state.version)
    assert frozen == built == state
    assert type(frozen) is ClientState and not hasattr(frozen, "__dict__")
    assert dict(frozen.applied) == dict(state.applied)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.version = 0  # type: ignore[misc]


MAKERS = [
    (SessionSummary, _new_session),
    (GoalState, _new_goal),
    (CommitmentState, _new_commitment),
    (ObstacleState, _new_obstacle),
    (AccompanimentState, _new_accompaniment),
    (RuleBreach, _new_breach),
    (EpisodeState, _new_episode),
]


@pytest.mark.parametrize(("cls", "make"), MAKERS, ids=lambda x: getattr(x, "__name__", ""))
def test_the_folds_constructor_builds_what_the_class_constructor_builds(cls, make):
    # Every field given a value no other field has: a field out of place shows.
    values = [f"value-{i}" for i, _ in enumerate(dataclasses.fields(cls))]
    made = make(*values)
    assert type(made) is cls
    assert made == cls(*values)
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == values
    assert STATE_ADAPTER.dump_python(ClientState("c")) == STATE_ADAPTER.dump_python(
        _new_client("c", (), 0, {})
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.event_id = "other"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.event_id


def test_the_folds_client_constructor_keeps_the_events_applied():
    applied: dict[str, object] = {"e1": object()}
    made = _new_client("c", (), 1, applied)
    assert type(made) is ClientState and made == ClientState("c", (), 1)
    assert made.applied == applied
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.version = 2  # type: ignore[misc]


def test_a_client_state_pickles_and_copies_with_its_events_applied():
    state = STATES[0]
    for twin in (pickle.loads(pickle.dumps(state)), copy.copy(state), copy.deepcopy(state)):
        assert twin == state
        assert dict(twin.applied) == dict(state.applied)
        assert wf.apply(twin, next(iter(state.applied.values()))) is twin  # still a repeat


def test_the_inline_episode_checks_stand_for_the_first_two_guards_only():
    for (state, kind), compiled in wf._TABLE.items():
        names = [name for name, _ in compiled.guards]
        if names[:2] == list(wf._EPISODE):
            assert compiled.after_episode_checks == compiled.guards[2:], (state, kind)
        else:
            assert compiled.after_episode_checks is None, (state, kind)


def journey() -> JourneyBuilder:
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    b.open().session1().goal(GoalKind.READ_HANDOUTS)
    return b


def refusal(events: list) -> TransitionRefused:
    with pytest.raises(TransitionRefused) as caught:
        wf.fold(events)
    return caught.value


def test_an_event_of_another_episode_is_refused_by_the_same_episode_guard():
    b = journey()
    stray = b.events[-1].model_copy(update={"episode_id": "elsewhere"})
    problem = refusal([*b.events[:-1], stray])
    assert problem.condition == "same_episode"
    assert "elsewhere" in problem.detail


def test_an_event_dated_before_the_opening_is_refused_by_its_guard():
    b = journey()
    early = b.events[-1].model_copy(update={"occurred_on": dt.date(2025, 12, 31)})
    problem = refusal([*b.events[:-1], early])
    assert problem.condition == "not_before_opening"
    assert problem.detail == "the event is dated before the episode was opened"


def test_a_session_leads_to_committed_or_uncommitted_by_its_commitment():
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(reason="not ready")
    assert wf.fold(b.events).status.value == "uncommitted"
    b.session2(commit_to=m)
    assert wf.fold(b.events).status.value == "committed"


def test_every_row_of_the_declaration_has_a_checking_applier():
    for (state, kind), compiled in wf._TABLE.items():
        assert compiled.checks, (state, kind)
        assert wf._FAST[state][kind] is compiled.apply
    assert {kind for _, kind in wf._TABLE} == set(wf._INLINE_GUARDS) == set(wf._APPLIERS)


def test_a_row_with_a_guard_its_applier_does_not_test_falls_back_to_the_declared_guards():
    rows = [
        dataclasses.replace(t, guards=(*t.guards, "sessions_in_order"))
        if t.event == "goal_set"
        else t
        for t in wf.TRANSITIONS
    ]
    table, tables = wf._compile(rows)
    assert not table[("introduced", "goal_set")].checks
    assert all("goal_set" not in fast for fast in tables.values())
    assert table[("introduced", "goal_updated")].checks


def test_valid_journeys_take_the_inline_path_at_every_event():
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    b.journal(m, days_after=2, contacts=1).session3(commit_to=m).journal(m, days_after=3)
    b.obstacle(Obstacle.GETTING_THERE).accompany().session3(commit_to=m).journal(m)
    b.session3().engaged(complete=True).open(days_later=3).session1().closed()
    draft = wf._ClientDraft.empty("c1")
    for e in b.events:
        applier = draft.fast.get(e.kind)
        assert applier is not None and applier(draft, draft.cur, e, e.__dict__, True), e.kind
    assert draft.freeze().episodes == wf.fold(b.events).episodes


def every_kind_of_event() -> list:
    """Events built, decoded from the stored corpus (every kind) and copied with an update."""
    b = JourneyBuilder("c1", start=dt.date(2026, 1, 5))
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m).journal(m)
    decoded = [event_from_json(line) for line in CORPUS.read_text("utf-8").splitlines()]
    return [*b.events, *decoded, *(e.model_copy(update={"event_id": "x"}) for e in b.events)]


def test_every_event_keeps_every_field_in_its_dict_where_the_appliers_read_it():
    events = every_kind_of_event()
    assert {e.kind for e in events} == set(wf._APPLIERS)
    for e in events:
        fields = vars(e)
        assert set(fields) == set(type(e).model_fields), e.kind
        assert all(fields[name] is getattr(e, name) for name in fields), e.kind
