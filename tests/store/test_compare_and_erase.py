"""Compare-and-erase: the expected version is checked inside the erasure's own transaction.

``POST /v1/clients/{id}/erasure`` checked If-Match and then erased: an event
appended in between was erased too, although a record that moved on is
promised a 409 with nothing erased. Each store now checks the version under
the same lock or transaction as the erasure (memory, SQLite, PostgreSQL 15).
"""

from __future__ import annotations

import datetime as dt

import pytest

from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind
from fama_core.errors import ConcurrencyConflict
from fama_core.personal import ERASED

NOTE = "Compare-And-Erase-Canary"


def _journey(client: str) -> list:
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1().goal(GoalKind.OTHER, description=NOTE)
    return b.events


def _texts(store, client: str) -> list[str]:
    return [e.payload for e in store.read(client)]


def test_an_event_appended_after_the_version_was_read_is_a_conflict_and_nothing_is_erased(store):
    events = _journey("cae-1")
    store.append("cae-1", events[:-1], expected_version=0)
    read_version = store.version("cae-1")
    # Another writer appends between the caller's check and its erasure.
    store.append("cae-1", events[-1:], expected_version=read_version)
    with pytest.raises(ConcurrencyConflict) as raised:
        store.erase("cae-1", expected_version=read_version)
    assert (raised.value.expected, raised.value.actual) == (read_version, read_version + 1)
    assert store.erasure("cae-1") is None
    assert any(NOTE in text for text in _texts(store, "cae-1"))
    # With the version as it now is, the erasure goes ahead.
    done = store.erase("cae-1", expected_version=read_version + 1)
    assert done.events == read_version + 1 and not done.already
    assert not any(NOTE in text for text in _texts(store, "cae-1"))
    assert any(ERASED in text for text in _texts(store, "cae-1"))


def test_without_an_expected_version_erasure_is_as_before(store):
    store.append("cae-2", _journey("cae-2"), expected_version=0)
    assert not store.erase("cae-2").already
    assert store.erase("cae-2").already


def test_a_stale_version_on_an_erased_client_is_still_a_conflict(store):
    store.append("cae-3", _journey("cae-3"), expected_version=0)
    version = store.version("cae-3")
    store.erase("cae-3", expected_version=version)
    with pytest.raises(ConcurrencyConflict):
        store.erase("cae-3", expected_version=version - 1)
    assert store.erase("cae-3", expected_version=version).already
