"""The fold's shortcuts give what the declaration and the plain constructors give.

The engine checks ``same_episode`` and ``not_before_opening`` inline and runs
those guards only when one fails; the sessions' two outcomes are read off the
commitment directly; a draft freezes into an ``EpisodeState`` by position and a
``ClientState`` by filling its ``__dict__``. Each shortcut is held here to the
slow form it replaces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from fama_core import workflow as wf
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.errors import TransitionRefused
from fama_core.events import event_from_json
from fama_core.state import ClientState, EpisodeState

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
def test_a_client_frozen_through_its_dict_equals_one_built_by_its_constructor(state):
    frozen = wf._ClientDraft(state).freeze()
    built = ClientState(client_id=state.client_id, episodes=state.episodes, version=state.version)
    assert frozen == built == state
    assert vars(frozen).keys() == vars(built).keys()
    assert dict(frozen.applied) == dict(state.applied)
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.version = 0  # type: ignore[misc]


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
    without = {"session_1_held": "introduced"}
    for (_, kind), compiled in wf._TABLE.items():
        if kind.startswith("session_"):
            assert compiled.by_commitment is not None
            made, none = compiled.by_commitment
            assert (made.value, none.value) == ("committed", without.get(kind, "uncommitted"))
        else:
            assert compiled.by_commitment is None
