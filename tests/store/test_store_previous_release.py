"""A store written by the previous release (fama 0.1.0, before event versions) still serves.

``fixtures/store-layout-1.db`` was written by that release's SQLite store from
the frozen corpus (``tests/corpus/make_corpus.py``). Tests work on a copy: the
fixture itself is never opened for writing.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from fama_adapters.facade import Fama
from fama_adapters.store import plan_append
from fama_core.errors import IdempotencyConflict
from fama_core.events import event_from_json, event_to_json
from fama_core.state import STATE_ADAPTER

FIXTURE = Path(__file__).parent / "fixtures" / "store-layout-1.db"
_spec = importlib.util.spec_from_file_location(
    "corpus_for_store_tests", Path(__file__).parent.parent / "corpus" / "test_corpus.py"
)
assert _spec is not None and _spec.loader is not None
_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_corpus)
EXPECTED, LINES, differences = _corpus.EXPECTED, _corpus.LINES, _corpus.differences


@pytest.fixture
def old_store(tmp_path: Path) -> str:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    return f"sqlite:///{copy}"


def test_the_previous_release_wrote_events_without_versions(old_store):
    with Fama.open(old_store) as fama:
        payloads = [e.payload for e in fama.store.stream_all()]
    assert len(payloads) == len(LINES)
    assert not any("schema_version" in p for p in payloads)


def test_every_client_of_the_old_store_folds_to_the_frozen_state(old_store):
    with Fama.open(old_store) as fama:
        summary = fama.replay()
        states = {c: STATE_ADAPTER.dump_python(fama.state(c), mode="json") for c in EXPECTED}
    assert summary.problems == []
    for client_id, expected in EXPECTED.items():
        assert differences(expected, states[client_id]) == [], client_id


def test_sending_the_old_events_again_stores_nothing_new(old_store):
    events = [event_from_json(line) for line in LINES]
    with Fama.open(old_store) as fama:
        before = fama.store.stats()
        for client_id in EXPECTED:
            done = fama.record([e for e in events if e.client_id == client_id])
            assert done.stored == ()
        assert fama.store.stats() == before


def test_an_old_payload_is_the_same_event_as_its_versioned_form_but_a_changed_one_is_not():
    line = LINES[0]
    event = event_from_json(line)
    old = {event.event_id: (event.client_id, line)}
    plan = plan_append(event.client_id, [event], lambda ids: old)
    assert plan.duplicates == (event.event_id,) and plan.new == ()
    changed = json.loads(line)
    changed["keyworker_id"] = "kw-other"
    other = {event.event_id: (event.client_id, json.dumps(changed))}
    with pytest.raises(IdempotencyConflict):
        plan_append(event.client_id, [event], lambda ids: other)
    assert json.loads(event_to_json(event))["schema_version"] == 1
