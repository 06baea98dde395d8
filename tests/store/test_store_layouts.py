"""What is specific to each store's layout: SQLite's WAL and pragmas, append-only tables, URLs."""

from __future__ import annotations

import sqlite3

import pytest
from store_events import batch

from fama_adapters.plugins import PluginHost
from fama_adapters.store import open_store, redact_url
from fama_adapters.store.sqlite import SCHEMA_VERSION, SqliteEventStore, path_from_url
from fama_core.errors import PluginError, StoreError


def test_sqlite_runs_in_wal_mode_with_an_append_only_table_its_heads_and_migrations(tmp_path):
    path = tmp_path / "f.db"
    SqliteEventStore(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    assert tables == [
        "fama_erasures",
        "fama_events",
        "fama_keys",
        "fama_migrations",
        "fama_report_ledger",
        "fama_streams",
    ]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_sqlite_refuses_updates_and_deletes(tmp_path):
    path = tmp_path / "f.db"
    with SqliteEventStore(path) as store:
        store.append("c1", batch("c1", "a", 1), expected_version=0)
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE fama_events SET kind = 'x'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM fama_events")


def test_sqlite_unique_constraints_hold_even_around_the_store(tmp_path):
    path = tmp_path / "f.db"
    with SqliteEventStore(path) as store:
        store.append("c1", batch("c1", "a", 1), expected_version=0)
    conn = sqlite3.connect(path)
    row = conn.execute("SELECT * FROM fama_events").fetchone()
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO fama_events VALUES (NULL, ?, ?, 'other', ?, ?, ?, ?, ?, ?, ?, ?)",
            (*row[1:3], *row[4:]),
        )


def test_a_sqlite_file_from_a_newer_fama_is_refused(tmp_path):
    path = tmp_path / "f.db"
    SqliteEventStore(path).close()
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer fama"):
        SqliteEventStore(path)


def test_a_sqlite_file_that_is_not_a_store_is_refused_without_create(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a fama store"):
        SqliteEventStore(path, create=False)


def test_a_file_that_is_not_sqlite_is_a_store_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite file"):
        SqliteEventStore(path)


def test_sqlite_urls_and_bare_paths():
    assert path_from_url("sqlite:///out/f.db") == "out/f.db"
    assert path_from_url("sqlite:////abs/f.db") == "/abs/f.db"
    assert path_from_url("f.db") == "f.db"
    with pytest.raises(StoreError):
        path_from_url("mysql://x")


def test_open_store_takes_a_bare_path_as_sqlite(tmp_path):
    store = open_store(str(tmp_path / "bare.db"), create=True)
    assert isinstance(store, SqliteEventStore)
    store.close()


def test_passwords_never_appear_in_a_store_url():
    assert redact_url("postgresql://fama:s3cret@db/fama") == "postgresql://fama:***@db/fama"
    assert redact_url("postgresql://fama@db/fama") == "postgresql://fama@db/fama"
    assert redact_url("sqlite:///f.db") == "sqlite:///f.db"


def test_two_plugins_claiming_one_scheme_is_a_clear_error():
    from fama_adapters.hookspecs import hookimpl
    from fama_adapters.store import StoreFactory

    class Clash:
        @hookimpl
        def fama_register_event_stores(self, register):
            register(StoreFactory("sqlite", "another", lambda url, create: None))

    host = PluginHost(entry_points=False)
    host.register(Clash(), name="clash")
    try:
        with pytest.raises(PluginError, match="sqlite"):
            host.event_stores()
    finally:
        host.unregister("clash")


def test_postgres_refuses_updates_and_deletes(postgres_url):
    import psycopg

    from fama_adapters.store.postgres import PostgresEventStore

    with PostgresEventStore(postgres_url) as store:
        store.append("c1", batch("c1", "a", 1), expected_version=0)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE fama_events SET kind = 'x'")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM fama_events")


def test_postgres_without_a_table_and_without_create_is_refused(postgres_url):
    from fama_adapters.store.postgres import PostgresEventStore

    with pytest.raises(StoreError, match="fama init"):
        PostgresEventStore(postgres_url, create=False)
