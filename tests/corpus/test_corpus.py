"""The frozen corpus of 2026-11 decodes and folds to the same state with every later fama.

``events-2026-11.jsonl`` was written by fama 0.1.0, before events carried a
``schema_version``; ``expected-states-2026-11.json`` is what that fama folded
it to. Neither file may ever be edited (``make_corpus.py`` says how they were
made). A model or workflow change that alters what an old event means fails
here; a newly added optional field does not, because the comparison looks only
at the fields the frozen files have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fama_core.events import CURRENT_VERSIONS, EVENT_KINDS, event_from_json, event_to_json
from fama_core.state import STATE_ADAPTER
from fama_core.workflow import fold

HERE = Path(__file__).parent
LINES = (HERE / "events-2026-11.jsonl").read_text("utf-8").splitlines()
EXPECTED: dict[str, Any] = json.loads((HERE / "expected-states-2026-11.json").read_text("utf-8"))


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where ``actual`` disagrees with ``expected``, ignoring keys ``expected`` does not have.

    Lists must have the same length and agree item by item; a key missing from
    ``actual`` or a different scalar is a difference. So a field added later
    (absent from ``expected``) is never one, and anything changed or removed is.
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '(root)'}: was an object"]
        out: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{where}: missing")
            else:
                out.extend(differences(value, actual[key], where))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: was a list of {len(expected)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(differences(e, a, f"{path}[{i}]"))
        return out
    if expected != actual or type(expected) is not type(actual):
        return [f"{path}: changed"]
    return []


def _by_client() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in LINES:
        out.setdefault(json.loads(line)["client_id"], []).append(line)
    return out


def test_the_corpus_has_every_event_kind_and_no_schema_version():
    records = [json.loads(line) for line in LINES]
    assert {r["kind"] for r in records} == set(EVENT_KINDS)
    assert not any("schema_version" in r for r in records)


@pytest.mark.parametrize("line_number", range(len(LINES)))
def test_every_frozen_line_decodes_with_nothing_it_said_lost(line_number):
    line = LINES[line_number]
    event = event_from_json(line, record=f"corpus line {line_number + 1}")
    again = json.loads(event_to_json(event))
    assert differences(json.loads(line), again) == []
    assert again["schema_version"] == CURRENT_VERSIONS[again["kind"]]


@pytest.mark.parametrize("client_id", sorted(EXPECTED))
def test_each_client_folds_to_the_frozen_state(client_id):
    events = [event_from_json(line) for line in _by_client()[client_id]]
    # As every read of a store folds: rules added since are flagged, not refused.
    state = STATE_ADAPTER.dump_python(fold(events, flag_newer_rules=True), mode="json")
    assert differences(EXPECTED[client_id], state) == []


def test_the_corpus_breaks_only_the_rules_added_since_and_is_flagged():
    """The 2026-11 group member's arrangement records no consistent attendance."""
    breaches = []
    for client_id, lines in sorted(_by_client().items()):
        state = fold([event_from_json(line) for line in lines], flag_newer_rules=True)
        breaches += [(client_id, b.condition) for ep in state.episodes for b in ep.breaches]
    assert breaches == [("corpus-transferred", "volunteer_attendance_recorded")]


def test_the_comparison_fails_on_a_changed_or_removed_field_but_not_on_an_added_one():
    expected = EXPECTED["corpus-engaged"]
    actual = json.loads(json.dumps(expected))
    actual["episodes"][0]["new_optional_field"] = None
    assert differences(expected, actual) == []
    actual["episodes"][0]["status"] = "closed"
    assert differences(expected, actual) == ["episodes[0].status: changed"]
    del actual["episodes"][0]["journal"]
    assert "episodes[0].journal: missing" in differences(expected, actual)
    assert differences({"n": 1}, {"n": True}) == ["n: changed"]
    assert differences({"xs": [1, 2]}, {"xs": [1]}) == ["xs: was a list of 2"]
