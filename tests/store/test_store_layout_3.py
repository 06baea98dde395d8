"""A store written at layout 3 (the release before the report ledger) opens, migrates and keeps
every row, in SQLite and PostgreSQL.

``fixtures/store-layout-3.db`` was written by fama at layout 3 (main at ``b0febe6``) from the
frozen corpus (``tests/corpus/events-2026-11.jsonl``), with ``corpus-declined`` erased, and
saved with ``fama backup``. Tests work on a copy: the fixture itself is never opened for
writing. Every table the older layout held is read raw, with ``sqlite3`` or ``psycopg``, before
and after fama opens the store: a migration adds what it adds and changes nothing of it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from fama_adapters.facade import Fama
from fama_adapters.store import ReportLedger, open_store
from fama_adapters.store.sqlite import SCHEMA_VERSION, SqliteEventStore

FIXTURE = Path(__file__).parent / "fixtures" / "store-layout-3.db"
CORPUS = Path(__file__).parent.parent / "corpus" / "events-2026-11.jsonl"
LAYOUT_3_TABLES = ("fama_events", "fama_streams", "fama_keys", "fama_erasures")


def _raw(conn: Any, tables: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    out = {}
    for table in tables:
        rows = conn.execute(f"SELECT * FROM {table}").fetchall()
        out[table] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


@pytest.fixture
def old(tmp_path: Path) -> Path:
    copy = tmp_path / "layout-3.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def test_the_fixture_is_layout_3_with_an_erased_client():
    conn = sqlite3.connect(f"{FIXTURE.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM fama_events").fetchone()[0] == 37
        assert [r[0] for r in conn.execute("SELECT client_id FROM fama_erasures")] == [
            "corpus-declined"
        ]
    finally:
        conn.close()


def test_a_layout_3_sqlite_store_migrates_and_keeps_every_row_as_it_was(old):
    conn = sqlite3.connect(old)
    before = _raw(conn, LAYOUT_3_TABLES)
    conn.close()
    with SqliteEventStore(old, create=False) as store:
        assert store.layout == SCHEMA_VERSION
        assert store.migrated_from == 3
        assert isinstance(store, ReportLedger) and store.report_ledger() == []
    conn = sqlite3.connect(old)
    after = _raw(conn, LAYOUT_3_TABLES)
    layouts = [r[0] for r in conn.execute("SELECT layout FROM fama_migrations ORDER BY layout")]
    conn.close()
    assert after == before
    assert layouts == list(range(2, SCHEMA_VERSION + 1))


def test_after_migration_the_chains_verify_the_erasure_stands_and_appends_carry_on(old):
    url = f"sqlite:///{old}"
    with Fama.open(url) as fama:
        report = fama.verify()
        assert report.ok and (report.events, report.streams) == (37, 3)
        assert fama.replay().problems == []
        journal = fama.state("corpus-engaged").episodes[0].journal[0]
        assert journal.reactions == "nervous at first, then welcomed"
        assert fama.store.erasure("corpus-declined") is not None
        assert fama.store.erasure("corpus-engaged") is None
        fama.state("corpus-declined")  # an erased client keeps its structure
    store = open_store(url)
    try:
        assert isinstance(store, ReportLedger)
        store.add_to_ledger("q", "a", "d", expected=0)
        assert [e.number for e in store.report_ledger()] == [1]
    finally:
        store.close()


def test_a_layout_3_postgres_store_migrates_and_keeps_every_row_as_it_was(postgres_url):
    """Layout 3 made as a store of that release was: layout 1 as fama 0.1.0 wrote it, then the
    module's own steps 1 → 2 → 3, each recorded; then opened by this fama."""
    import psycopg

    from fama_adapters.store.postgres import LAYOUT_1, MIGRATIONS, PostgresEventStore
    from fama_adapters.store.postgres import SCHEMA_VERSION as PG_LAYOUT

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in LAYOUT_1:
            conn.execute(statement)
        versions: dict[str, int] = {}
        for line in CORPUS.read_text().splitlines():
            e = json.loads(line)
            versions[e["client_id"]] = versions.get(e["client_id"], 0) + 1
            conn.execute(
                "INSERT INTO fama_events (client_id, version, event_id, episode_id, kind, "
                "occurred_on, recorded_at, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    e["client_id"],
                    versions[e["client_id"]],
                    e["event_id"],
                    e["episode_id"],
                    e["kind"],
                    e["occurred_on"],
                    e["recorded_at"],
                    line,
                ),
            )
        for layout in (1, 2):
            with conn.transaction():
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS fama_migrations (layout INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), fama_version TEXT NOT NULL)"
                )
                MIGRATIONS[layout](conn)
                conn.execute(
                    "INSERT INTO fama_migrations (layout, fama_version) VALUES (%s, '0.1.0')",
                    (layout + 1,),
                )
        assert PostgresEventStore.layout_at(postgres_url) == 3
        before = _raw(conn, ("fama_events", "fama_streams", "fama_keys", "fama_erasures"))
    with PostgresEventStore(postgres_url, create=False) as store:
        assert (store.layout, store.migrated_from) == (PG_LAYOUT, 3)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        after = _raw(conn, ("fama_events", "fama_streams", "fama_keys", "fama_erasures"))
    assert after == before
    with Fama.open(postgres_url) as fama:
        report = fama.verify()
        assert report.ok and report.events == 37
        assert fama.replay().problems == []
        assert isinstance(fama.store, ReportLedger) and fama.store.report_ledger() == []
