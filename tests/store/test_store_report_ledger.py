"""The report ledger (decision Q1), run against every store: memory, SQLite and PostgreSQL.

The ledger keeps every answer ``GET /v1/report`` gave, in the database the events live in, so
it survives a restart and every instance of the service over that database shares it. An
append names how many entries its answer knew: two instances that computed knowing the same
entries cannot both append.
"""

from __future__ import annotations

import threading

import pytest

from fama_adapters.store import ReportLedger
from fama_core.errors import ConcurrencyConflict, StoreError


def test_every_built_in_store_keeps_a_report_ledger(store):
    assert isinstance(store, ReportLedger)
    assert store.report_ledger() == []


def test_entries_are_numbered_in_release_order_and_read_back_as_written(store):
    first = store.add_to_ledger('{"q": 1}', '{"a": 1}', "d1", expected=0)
    second = store.add_to_ledger('{"q": 2}', '{"a": 2}', "d2", expected=1)
    assert (first.number, second.number) == (1, 2)
    got = store.report_ledger()
    assert [(e.number, e.question, e.answer, e.records) for e in got] == [
        (1, '{"q": 1}', '{"a": 1}', "d1"),
        (2, '{"q": 2}', '{"a": 2}', "d2"),
    ]
    assert got[0].released_at <= got[1].released_at
    assert got[0].released_at.tzinfo is not None


def test_an_append_that_did_not_know_the_latest_entry_is_a_conflict_and_writes_nothing(store):
    store.add_to_ledger("q", "a", "d", expected=0)
    with pytest.raises(ConcurrencyConflict) as caught:
        store.add_to_ledger("q2", "a2", "d2", expected=0)
    assert (caught.value.expected, caught.value.actual) == (0, 1)
    with pytest.raises(ConcurrencyConflict):
        store.add_to_ledger("q2", "a2", "d2", expected=5)
    assert [e.question for e in store.report_ledger()] == ["q"]


def test_two_handles_knowing_the_same_entries_cannot_both_append(connect):
    handles = [connect() for _ in range(4)]
    wins: list[int] = []
    losses: list[int] = []
    barrier = threading.Barrier(len(handles))

    def append(i: int) -> None:
        barrier.wait()
        try:
            handles[i].add_to_ledger(f"q{i}", "a", "d", expected=0)
            wins.append(i)
        except ConcurrencyConflict:
            losses.append(i)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(len(handles))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 3
    assert [e.question for e in handles[0].report_ledger()] == [f"q{wins[0]}"]


def test_the_ledger_survives_closing_and_reopening(store_url):
    from fama_adapters.store import open_store

    store = open_store(store_url, create=True)
    store.add_to_ledger("q", "a", "d", expected=0)
    store.close()
    again = open_store(store_url)
    try:
        assert [e.question for e in again.report_ledger()] == ["q"]
    finally:
        again.close()


def test_the_sqlite_ledger_is_append_only(sqlite_url):
    import sqlite3

    from fama_adapters.store import open_store
    from fama_adapters.store.sqlite import path_from_url

    store = open_store(sqlite_url, create=True)
    store.add_to_ledger("q", "a", "d", expected=0)
    store.close()
    conn = sqlite3.connect(path_from_url(sqlite_url))
    try:
        for statement in (
            "UPDATE fama_report_ledger SET answer = 'x'",
            "DELETE FROM fama_report_ledger",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()


def test_a_damaged_ledger_row_is_a_store_error_without_its_value(sqlite_url):
    import sqlite3

    from fama_adapters.store import open_store
    from fama_adapters.store.sqlite import path_from_url

    store = open_store(sqlite_url, create=True)
    store.close()
    conn = sqlite3.connect(path_from_url(sqlite_url))
    conn.execute("INSERT INTO fama_report_ledger VALUES (1, 'Alice Smith', 'q', 'a', 'd', 'x')")
    conn.commit()
    conn.close()
    store = open_store(sqlite_url)
    try:
        with pytest.raises(StoreError) as caught:
            store.report_ledger()
        assert "Alice" not in str(caught.value)
    finally:
        store.close()


def test_postgres_gives_every_time_in_utc_whatever_the_servers_zone(postgres_url):
    """The server's ``TimeZone`` (a UK database set to Europe/London, say) must not leak into
    times fama documents as UTC: the report page prints ``released_at`` with "(UTC)"."""
    import datetime as dt

    from fama_adapters.report.sample import JourneyShape, JourneySpec, journey_events
    from fama_adapters.store.postgres import PostgresEventStore

    # Paris is an hour from UTC all year round, so the test says the same in any month.
    store = PostgresEventStore(postgres_url + "%20-c%20TimeZone%3DEurope%2FParis")
    try:
        store.append(
            "c1",
            journey_events("c1", JourneySpec(shape=JourneyShape.INTRODUCED)),
            expected_version=0,
        )
        entry = store.add_to_ledger("q", "a", "d", expected=0)
        erased = store.erase("c1")
        moments = [
            entry.released_at,
            store.report_ledger()[0].released_at,
            store.read("c1")[0].stored_at,
            dt.datetime.fromisoformat(erased.erased_at),
            dt.datetime.fromisoformat(store.erasure("c1").erased_at),  # type: ignore[union-attr]
        ]
        assert [m.utcoffset() for m in moments] == [dt.timedelta(0)] * len(moments)
        assert store.verify().ok
    finally:
        store.close()
