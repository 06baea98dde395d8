"""Event schema versions: the upcaster chain is checked when built and upgrades old events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from fama_core.builders import JourneyBuilder
from fama_core.errors import EvolutionDefinitionError, InvalidRecord, UnknownSchemaVersion
from fama_core.events import (
    CURRENT_VERSIONS,
    EVOLUTION,
    EpisodeOpened,
    event_from_json,
    event_from_mapping,
    event_to_json,
    events_from_json_lines,
)
from fama_core.upcasters import UPCASTERS, Upcaster, UpcasterChain, check_chain


def trail(kind: str, start: int) -> Any:
    """An upcaster function that notes its step in the event, so tests see the order run."""

    def step(d: dict[str, Any]) -> dict[str, Any]:
        d["trail"] = [*d.get("trail", []), f"{kind}:{start}"]
        return d

    return step


def full_chain(current: dict[str, int]) -> list[Upcaster]:
    return [
        Upcaster(kind, v, v + 1, trail(kind, v), f"{kind} {v} to {v + 1}")
        for kind, top in current.items()
        for v in range(1, top)
    ]


versions = st.dictionaries(
    st.sampled_from(["alpha", "beta", "gamma", "delta"]), st.integers(1, 6), min_size=1
)


# ---------------------------------------------------------------- the declaration


def test_fama_declares_a_sound_chain_and_every_kind_is_at_version_1_today():
    assert check_chain(CURRENT_VERSIONS, UPCASTERS) == []
    assert set(CURRENT_VERSIONS.values()) == {1}


@given(versions, st.randoms(use_true_random=False))
def test_a_complete_chain_in_any_order_is_sound(current, rnd):
    chain = full_chain(current)
    rnd.shuffle(chain)
    assert check_chain(current, chain) == []
    UpcasterChain(current, chain)


@given(versions, st.data())
def test_a_stored_version_is_upgraded_one_version_at_a_time_to_the_current_one(current, data):
    chain = UpcasterChain(current, full_chain(current))
    kind = data.draw(st.sampled_from(sorted(current)))
    start = data.draw(st.integers(1, current[kind]))
    raw = {"kind": kind, "schema_version": start, "x": 1}
    if start == 1 and data.draw(st.booleans()):
        del raw["schema_version"]  # stored before events had versions
    out = chain.upcast(kind, raw)
    assert out.get("trail", []) == [f"{kind}:{v}" for v in range(start, current[kind])]
    assert out.get("schema_version", 1) == current[kind]
    assert out["x"] == 1
    assert "trail" not in raw  # the stored event is never changed


MUTATIONS = ["drop", "duplicate", "skip", "backwards", "unknown_kind", "beyond", "zero"]


@given(versions.filter(lambda c: max(c.values()) >= 3), st.sampled_from(MUTATIONS), st.data())
def test_any_gap_cycle_duplicate_or_stray_upcaster_is_refused_when_built(current, how, data):
    chain = full_chain(current)
    victim = data.draw(st.sampled_from(chain))
    kind, v = victim.kind, victim.from_version
    if how == "drop":
        chain.remove(victim)
    elif how == "duplicate":
        chain.append(Upcaster(kind, v, v + 1, trail(kind, v), "again"))
    elif how == "skip":
        chain.append(Upcaster(kind, v, v + 2, trail(kind, v), "jumps"))
    elif how == "backwards":
        chain.append(Upcaster(kind, v + 1, v, trail(kind, v), "back"))
    elif how == "unknown_kind":
        chain.append(Upcaster("omega", 1, 2, trail("omega", 1), "who"))
    elif how == "beyond":
        top = current[kind]
        chain.append(Upcaster(kind, top, top + 1, trail(kind, top), "future"))
    else:
        chain.append(Upcaster(kind, 0, 1, trail(kind, 0), "zero"))
    assert check_chain(current, chain)
    with pytest.raises(EvolutionDefinitionError) as raised:
        UpcasterChain(current, chain)
    assert raised.value.problems


def test_each_problem_is_named():
    current = {"a": 3, "b": 2}
    chain = [
        Upcaster("a", 1, 2, trail("a", 1), ""),
        Upcaster("a", 1, 2, trail("a", 1), ""),
        Upcaster("a", 2, 1, trail("a", 2), ""),
        Upcaster("b", 1, 3, trail("b", 1), ""),
        Upcaster("z", 1, 2, trail("z", 1), ""),
    ]
    problems = check_chain(current, chain)
    assert "upcaster a 1->2: a second upcaster from version 1" in problems
    assert "upcaster a 2->1: goes back or stays put (a cycle)" in problems
    assert "a: no upcaster from version 2 to 3 (a gap)" in problems
    assert any(p.startswith("upcaster b 1->3: skips a version") for p in problems)
    assert "b: no upcaster from version 1 to 2 (a gap)" in problems
    assert "upcaster z 1->2: no event kind z" in problems


# ---------------------------------------------------------------- reading versions


@given(versions, st.data())
def test_a_version_newer_than_the_current_one_is_an_error_that_says_upgrade(current, data):
    chain = UpcasterChain(current, full_chain(current))
    kind = data.draw(st.sampled_from(sorted(current)))
    newer = data.draw(st.integers(current[kind] + 1, 10**6))
    with pytest.raises(PydanticCustomError) as raised:
        chain.upcast(kind, {"kind": kind, "schema_version": newer})
    assert raised.value.type == "future_schema_version"
    assert "upgrade fama" in str(raised.value)


@given(st.one_of(st.integers(max_value=0), st.booleans(), st.text(), st.floats(), st.none()))
def test_a_version_that_is_not_a_whole_number_from_1_is_refused_without_quoting_it(value):
    with pytest.raises(PydanticCustomError) as raised:
        EVOLUTION.upcast("episode_opened", {"schema_version": value})
    assert raised.value.type == "schema_version_invalid"
    assert str(raised.value) == "schema_version must be a whole number from 1"


def test_an_upcaster_that_fails_on_old_data_names_the_step_not_the_data():
    def needs_field(d: dict[str, Any]) -> dict[str, Any]:
        d["note"] = d.pop("notes")
        return d

    chain = UpcasterChain({"a": 2}, [Upcaster("a", 1, 2, needs_field, "notes → note")])
    assert chain.upcast("a", {"notes": "secret text"}) == {
        "note": "secret text",
        "schema_version": 2,
    }
    with pytest.raises(PydanticCustomError) as raised:
        chain.upcast("a", {"other": "secret text"})
    assert raised.value.type == "upcast_failed"
    assert "secret" not in str(raised.value)
    assert "version 1 of a could not be upgraded to 2" in str(raised.value)


def test_an_upcaster_may_not_change_the_kind():
    def rename(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "kind": "b"}

    chain = UpcasterChain({"a": 2, "b": 1}, [Upcaster("a", 1, 2, rename, "")])
    with pytest.raises(PydanticCustomError, match="a new meaning is a new kind"):
        chain.upcast("a", {"kind": "a"})


# ---------------------------------------------------------------- events


def _opened() -> dict[str, Any]:
    b = JourneyBuilder("c-1").open()
    return json.loads(event_to_json(b.events[0]))


def test_an_event_built_in_python_carries_its_kinds_current_version():
    event = JourneyBuilder("c-1").open().events[0]
    assert event.schema_version == CURRENT_VERSIONS["episode_opened"]
    assert json.loads(event_to_json(event))["schema_version"] == 1


def test_a_stored_event_without_a_version_decodes_as_version_1():
    raw = _opened()
    del raw["schema_version"]
    assert event_from_mapping(raw).schema_version == 1
    assert event_from_json(json.dumps(raw)) == event_from_mapping(raw)


def test_a_future_version_is_an_unknown_schema_version_naming_the_record():
    raw = {**_opened(), "schema_version": 7}
    with pytest.raises(UnknownSchemaVersion) as raised:
        event_from_json(json.dumps(raw), record="line 4")
    assert isinstance(raised.value, InvalidRecord)
    assert str(raised.value).startswith("line 4: invalid episode_opened: schema_version:")
    assert "schema_version 7 of episode_opened is newer than this fama reads" in str(raised.value)
    with pytest.raises(UnknownSchemaVersion):
        event_from_mapping(raw)
    with pytest.raises(ValidationError, match="future_schema_version"):
        EpisodeOpened(**{k: v for k, v in raw.items() if k != "kind"})


def test_a_log_with_a_future_event_reports_that_line_and_keeps_the_rest():
    good = _opened()
    lines = [json.dumps(good), json.dumps({**good, "event_id": "x-2", "schema_version": 2})]
    results = list(events_from_json_lines(lines))
    assert isinstance(results[0][1], EpisodeOpened)
    assert results[1][0] == 2 and isinstance(results[1][1], UnknownSchemaVersion)
