"""The event-store contract, run against every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from store_events import batch, event

from fama_adapters.store import AppendResult, EventStore, iter_streams
from fama_core.errors import ConcurrencyConflict, IdempotencyConflict, StoreError
from fama_core.events import event_to_json


def test_a_store_meets_the_protocol(store):
    assert isinstance(store, EventStore)
    assert "***" in store.url or ":" not in store.url.partition("@")[0].partition("://")[2]


def test_an_unknown_client_is_at_version_zero_with_no_events(store):
    assert store.version("nobody") == 0
    assert store.read("nobody") == []


def test_an_append_numbers_the_events_densely_from_one(store):
    result = store.append("c1", batch("c1", "a", 3), expected_version=0)
    assert result == AppendResult("c1", 3, ("c1-a-0", "c1-a-1", "c1-a-2"), ())
    assert [e.version for e in store.read("c1")] == [1, 2, 3]
    assert store.version("c1") == 3


def test_stored_events_keep_the_event_json_and_indexed_columns(store):
    e = event("c1", "x")
    store.append("c1", [e], expected_version=0)
    (stored,) = store.read("c1")
    assert stored.payload == event_to_json(e)
    assert stored.event() == e
    assert (stored.client_id, stored.event_id, stored.episode_id, stored.kind) == (
        "c1",
        "c1-x",
        "c1-ep-x",
        "episode_opened",
    )
    assert stored.occurred_on == e.occurred_on and stored.recorded_at == e.recorded_at
    assert stored.stored_at.tzinfo is not None


def test_a_second_append_follows_the_first(store):
    store.append("c1", batch("c1", "a", 2), expected_version=0)
    result = store.append("c1", batch("c1", "b", 2), expected_version=2)
    assert result.version == 4
    assert [e.event_id for e in store.read("c1")] == ["c1-a-0", "c1-a-1", "c1-b-0", "c1-b-1"]


def test_read_after_a_version_gives_only_newer_events(store):
    store.append("c1", batch("c1", "a", 4), expected_version=0)
    assert [e.version for e in store.read("c1", after=2)] == [3, 4]
    assert store.read("c1", after=4) == []


def test_streams_are_independent(store):
    store.append("c1", batch("c1", "a", 2), expected_version=0)
    store.append("c2", batch("c2", "a", 1), expected_version=0)
    assert store.version("c1") == 2 and store.version("c2") == 1
    assert [e.version for e in store.read("c2")] == [1]


def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(store):
    store.append("c1", batch("c1", "a", 2), expected_version=0)
    with pytest.raises(ConcurrencyConflict) as caught:
        store.append("c1", batch("c1", "b", 3), expected_version=1)
    assert (caught.value.stream, caught.value.expected, caught.value.actual) == ("c1", 1, 2)
    assert store.version("c1") == 2
    assert all(not e.event_id.startswith("c1-b") for e in store.read("c1"))


def test_an_expected_version_ahead_of_the_stream_is_a_conflict(store):
    with pytest.raises(ConcurrencyConflict):
        store.append("c1", batch("c1", "a", 1), expected_version=5)
    assert store.version("c1") == 0


def test_no_expected_version_appends_at_the_end(store):
    store.append("c1", batch("c1", "a", 2), expected_version=None)
    assert store.append("c1", batch("c1", "b", 1), expected_version=None).version == 3


def test_the_same_event_sent_twice_is_stored_once(store):
    e = event("c1", "x")
    store.append("c1", [e], expected_version=0)
    again = store.append("c1", [e], expected_version=1)
    assert again == AppendResult("c1", 1, (), ("c1-x",))
    assert store.version("c1") == 1


def test_a_resent_batch_succeeds_even_with_its_old_expected_version(store):
    """A writer that lost the acknowledgement sends the same batch again: nothing changes."""
    events = batch("c1", "a", 3)
    store.append("c1", events, expected_version=0)
    result = store.append("c1", events, expected_version=0)
    assert result.stored == () and result.duplicates == ("c1-a-0", "c1-a-1", "c1-a-2")
    assert store.version("c1") == 3


def test_a_batch_mixing_stored_and_new_events_writes_only_the_new(store):
    first = batch("c1", "a", 2)
    store.append("c1", first, expected_version=0)
    result = store.append("c1", [*first, event("c1", "new")], expected_version=2)
    assert result == AppendResult("c1", 3, ("c1-new",), ("c1-a-0", "c1-a-1"))


def test_a_mixed_batch_with_a_stale_version_is_still_a_conflict(store):
    first = batch("c1", "a", 2)
    store.append("c1", first, expected_version=0)
    with pytest.raises(ConcurrencyConflict):
        store.append("c1", [*first, event("c1", "new")], expected_version=0)
    assert store.version("c1") == 2


def test_an_event_repeated_within_a_batch_is_stored_once(store):
    e = event("c1", "x")
    result = store.append("c1", [e, e], expected_version=0)
    assert result == AppendResult("c1", 1, ("c1-x",), ("c1-x",))


def test_a_different_event_under_a_used_id_is_refused_and_writes_nothing(store):
    store.append("c1", [event("c1", "x")], expected_version=0)
    changed = event("c1", "x", keyworker="kw-2")
    with pytest.raises(IdempotencyConflict) as caught:
        store.append("c1", [event("c1", "y"), changed], expected_version=1)
    assert caught.value.event_id == "c1-x"
    assert store.version("c1") == 1
    assert store.read("c1")[0].event().keyworker_id == "kw-1"


def test_a_different_event_under_an_id_repeated_within_a_batch_is_refused(store):
    with pytest.raises(IdempotencyConflict):
        store.append(
            "c1", [event("c1", "x"), event("c1", "x", keyworker="kw-2")], expected_version=0
        )
    assert store.version("c1") == 0


def test_an_event_id_used_in_another_stream_is_refused(store):
    store.append("c1", [event("c1", "x")], expected_version=0)
    stolen = event("c1", "x").model_copy(update={"client_id": "c2"})
    with pytest.raises(IdempotencyConflict):
        store.append("c2", [stolen], expected_version=0)
    assert store.version("c2") == 0


def test_an_event_for_another_client_is_refused_and_writes_nothing(store):
    with pytest.raises(StoreError, match="another client"):
        store.append("c1", [event("c1", "a"), event("c2", "b")], expected_version=0)
    assert store.version("c1") == 0 and store.version("c2") == 0


def test_an_empty_batch_writes_nothing_and_reports_the_version(store):
    store.append("c1", batch("c1", "a", 2), expected_version=0)
    assert store.append("c1", [], expected_version=None) == AppendResult("c1", 2)


def test_stream_all_gives_every_event_by_client_then_version(store):
    store.append("c2", batch("c2", "a", 2), expected_version=0)
    store.append("c1", batch("c1", "a", 1), expected_version=0)
    store.append("c2", batch("c2", "b", 1), expected_version=2)
    rows = [(e.client_id, e.version) for e in store.stream_all(batch_size=2)]
    assert rows == [("c1", 1), ("c2", 1), ("c2", 2), ("c2", 3)]
    grouped = {c: [e.version for e in es] for c, es in iter_streams(store.stream_all())}
    assert grouped == {"c1": [1], "c2": [1, 2, 3]}


def test_stream_all_of_an_empty_store_is_empty(store):
    assert list(store.stream_all()) == []


def test_stream_all_reads_a_snapshot_while_writers_carry_on(connect):
    reader, writer = connect(), connect()
    for n in range(5):
        writer.append(f"c{n}", batch(f"c{n}", "a", 3), expected_version=0)
    stream = reader.stream_all(batch_size=2)
    first = next(stream)
    writer.append("c9", batch("c9", "late", 2), expected_version=0)
    rest = list(stream)
    assert first.client_id == "c0" and len(rest) == 14  # the late events are not in it
    assert writer.version("c9") == 2


def test_stats_count_clients_and_events(store):
    store.append("c1", batch("c1", "a", 2), expected_version=0)
    store.append("c2", batch("c2", "a", 3), expected_version=0)
    stats = store.stats()
    assert (stats.clients, stats.events) == (2, 5)


def test_of_two_writers_deciding_on_one_version_exactly_one_wins(connect):
    """Two keyworkers' screens both show version 1; both save: one write, one conflict."""
    a, b = connect(), connect()
    a.append("c1", batch("c1", "start", 1), expected_version=0)
    a.append("c1", batch("c1", "from-a", 2), expected_version=1)
    with pytest.raises(ConcurrencyConflict):
        b.append("c1", batch("c1", "from-b", 2), expected_version=1)
    assert [e.event_id for e in b.read("c1")] == ["c1-start-0", "c1-from-a-0", "c1-from-a-1"]


def test_concurrent_threads_lose_nothing_and_keep_versions_dense(connect):
    """Writers race on one client: the first round exactly one wins, then each retries."""
    writers, batches = 4, 3
    handles = [connect() for _ in range(writers)]
    barrier = threading.Barrier(writers)
    first_round: list[str] = []
    conflicts: list[int] = []

    def write(n: int) -> None:
        store = handles[n]
        for b in range(batches):
            events = batch("c1", f"w{n}-b{b}", 3)
            version = store.version("c1")
            if b == 0:
                barrier.wait()
            while True:
                try:
                    store.append("c1", events, expected_version=version)
                except ConcurrencyConflict as exc:
                    conflicts.append(n)
                    version = exc.actual
                    continue
                if b == 0 and version == 0:
                    first_round.append(f"w{n}")
                break

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = handles[0].read("c1")
    assert len(first_round) == 1 and len(conflicts) >= writers - 1
    assert [e.version for e in stored] == list(range(1, writers * batches * 3 + 1))
    # each batch is whole and contiguous
    tags = [e.event_id.rsplit("-", 1)[0] for e in stored]
    assert all(tags[i] == tags[i + 1] == tags[i + 2] for i in range(0, len(tags), 3))
    assert len(set(tags)) == writers * batches


def test_append_many_stores_several_clients_in_one_transaction(store):
    store.append("c1", batch("c1", "a", 1), expected_version=0)
    results = store.append_many(
        [("c1", batch("c1", "b", 2), 1), ("c2", batch("c2", "a", 1), 0), ("c3", [], None)]
    )
    assert [(r.client_id, r.version, len(r.stored)) for r in results] == [
        ("c1", 3, 2),
        ("c2", 1, 1),
        ("c3", 0, 0),
    ]


def test_append_many_writes_nothing_when_one_batch_conflicts(store):
    store.append("c2", batch("c2", "a", 1), expected_version=0)
    with pytest.raises(ConcurrencyConflict) as caught:
        store.append_many([("c1", batch("c1", "a", 2), 0), ("c2", batch("c2", "b", 1), 0)])
    assert caught.value.stream == "c2"
    assert store.version("c1") == 0 and store.version("c2") == 1


def test_append_many_sees_its_own_earlier_batches(store):
    """An id used by one client's batch and reused by a later batch of the same call is refused."""
    clash = event("c1", "x").model_copy(update={"client_id": "c2"})
    with pytest.raises(IdempotencyConflict):
        store.append_many([("c1", [event("c1", "x")], 0), ("c2", [clash], 0)])
    assert store.stats().events == 0


def test_append_many_refuses_one_client_named_twice(store):
    with pytest.raises(StoreError, match="twice"):
        store.append_many([("c1", batch("c1", "a", 1), 0), ("c1", batch("c1", "b", 1), 1)])
    assert store.version("c1") == 0


def test_append_many_in_opposite_client_orders_from_two_threads_never_deadlocks(connect):
    """Writers taking clients in opposite orders: each call whole, none lost, no deadlock."""
    a, b = connect(), connect()
    errors: list[BaseException] = []

    def write(store, order, name) -> None:
        for n in range(5):
            while True:
                batches = [(c, batch(c, f"{name}{n}", 2), store.version(c)) for c in order]
                try:
                    store.append_many(batches)
                    break
                except ConcurrencyConflict:
                    continue
                except BaseException as exc:  # a deadlock would surface here
                    errors.append(exc)
                    return

    threads = [
        threading.Thread(target=write, args=(a, ["c1", "c2", "c3"], "x")),
        threading.Thread(target=write, args=(b, ["c3", "c2", "c1"], "y")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(a.version(c) == 20 for c in ("c1", "c2", "c3"))
