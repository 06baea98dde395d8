"""Properties of the store contract: hypothesis drives random batches against a model.

The model is the contract in a few lines: a batch either raises (a reused id
with other content; a stale expected version when it holds a new event) and
changes nothing, or appends its first-seen new events with dense versions.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_events import event

from fama_adapters.store import plan_append
from fama_adapters.store.memory import MemoryEventStore
from fama_adapters.store.sqlite import SqliteEventStore
from fama_core.errors import ConcurrencyConflict, IdempotencyConflict
from fama_core.events import event_to_json

CLIENTS = ("c1", "c2")
# An event is (client, tag, variant): same tag and client means the same id;
# a different variant is different content under that id.
events_st = st.tuples(st.sampled_from(CLIENTS), st.integers(0, 5), st.integers(0, 1))
batch_st = st.lists(events_st, max_size=5)
op_st = st.tuples(st.sampled_from(CLIENTS), batch_st, st.sampled_from(["right", "stale", "none"]))


def make(spec):
    client, tag, variant = spec
    return event(client, f"t{tag}", keyworker=f"kw-{variant}")


@settings(max_examples=150)
@given(stored=st.lists(events_st, max_size=6, unique_by=lambda s: (s[0], s[1])), batch=batch_st)
def test_plan_append_sorts_new_from_duplicates_and_refuses_reused_ids(stored, batch):
    client = "c1"
    batch = [b for b in batch if b[0] == client]
    known = {make(s).event_id: (s[0], event_to_json(make(s))) for s in stored}

    def lookup(ids):
        return {i: known[i] for i in ids if i in known}

    contents: dict[str, set[str]] = {}
    for s in batch:
        contents.setdefault(make(s).event_id, set()).add(event_to_json(make(s)))
    reused = any(
        len(c) > 1 or (i in known and known[i] != (client, next(iter(c))))
        for i, c in contents.items()
    )
    events = [make(s) for s in batch]
    if reused:
        with pytest.raises(IdempotencyConflict):
            plan_append(client, events, lookup)
        return
    plan = plan_append(client, events, lookup)
    first_seen = list(dict.fromkeys(e.event_id for e in events))
    assert [e.event_id for e, _ in plan.new] == [i for i in first_seen if i not in known]
    assert len(plan.new) + len(plan.duplicates) == len(events)
    assert all(payload == event_to_json(e) for e, payload in plan.new)


class Model:
    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, str]]] = {}
        self.by_id: dict[str, tuple[str, str]] = {}

    def append(self, client, events, expected):
        stream = self.streams.setdefault(client, [])
        seen: dict[str, str] = {}
        new = []
        for e in events:
            payload = event_to_json(e)
            if e.event_id in seen:
                if seen[e.event_id] != payload:
                    return "idempotency"
                continue
            seen[e.event_id] = payload
            if e.event_id in self.by_id:
                if self.by_id[e.event_id] != (client, payload):
                    return "idempotency"
                continue
            new.append((e.event_id, payload))
        if new and expected is not None and expected != len(stream):
            return "concurrency"
        stream.extend(new)
        self.by_id.update((i, (client, p)) for i, p in new)
        return len(stream)


def _run(store, ops):
    model = Model()
    for client, specs, how in ops:
        events = [make((client, tag, variant)) for _, tag, variant in specs]
        current = len(model.streams.get(client, []))
        expected = {"right": current, "stale": current + 1, "none": None}[how]
        want = model.append(client, events, expected)
        try:
            got = store.append(client, events, expected_version=expected).version
        except IdempotencyConflict:
            got = "idempotency"
        except ConcurrencyConflict:
            got = "concurrency"
        assert got == want
    for client in CLIENTS:
        stored = store.read(client)
        assert [(e.event_id, e.payload) for e in stored] == model.streams.get(client, [])
        assert [e.version for e in stored] == list(range(1, len(stored) + 1))


@settings(max_examples=60)
@given(ops=st.lists(op_st, max_size=8))
def test_the_memory_store_behaves_as_the_model(ops):
    _run(MemoryEventStore(), ops)


@settings(max_examples=30)
@given(ops=st.lists(op_st, max_size=8))
def test_the_sqlite_store_behaves_as_the_model(ops):
    with tempfile.TemporaryDirectory() as tmp, SqliteEventStore(Path(tmp) / "p.db") as store:
        _run(store, ops)


def test_the_postgres_store_behaves_as_the_model(postgres_server):
    import psycopg

    from fama_adapters.store.postgres import PostgresEventStore

    @settings(max_examples=15)
    @given(ops=st.lists(op_st, max_size=6))
    def check(ops):
        schema = f"p_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in postgres_server else "?"
        url = f"{postgres_server}{sep}options=-c%20search_path%3D{schema}"
        with PostgresEventStore(url) as store:
            _run(store, ops)

    check()
