"""Store layouts: a store of the previous release migrates forward, a newer one is refused."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.store.sqlite import SCHEMA_VERSION, SqliteEventStore
from fama_core.errors import StoreError

FIXTURE = Path(__file__).parent / "fixtures" / "store-layout-1.db"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def old(tmp_path: Path) -> Path:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, copy)
    return copy


def layout_sql(path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(
            (name, " ".join(sql.split()))
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
            )
        )
    finally:
        conn.close()


def test_the_fixture_is_layout_1():
    conn = sqlite3.connect(f"{FIXTURE.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()


def test_the_previous_release_store_migrates_on_open_to_what_a_new_store_is(old, tmp_path):
    with SqliteEventStore(old, create=False) as store:
        assert (store.migrated_from, store.layout) == (1, SCHEMA_VERSION)
    SqliteEventStore(tmp_path / "new.db").close()
    assert layout_sql(old) == layout_sql(tmp_path / "new.db")


def test_after_migration_every_chain_verifies_and_appends_carry_on(old):
    url = f"sqlite:///{old}"
    with Fama.open(url) as fama:
        report = fama.verify()
        assert report.ok and report.events == 37 and report.streams == 3
        assert fama.replay().problems == []


def test_fama_migrate_checks_then_migrates_and_says_so(old):
    url = f"sqlite:///{old}"
    code, out, _ = run("migrate", "--store", url, "--check", "--json")
    assert code == 1 and json.loads(out) | {"store": ""} == {
        "store": "",
        "layout": 1,
        "current": SCHEMA_VERSION,
        "pending": True,
    }
    code, out, _ = run("migrate", "--store", url)
    assert code == 0 and f"migrated from layout 1 to {SCHEMA_VERSION}" in out
    code, out, _ = run("migrate", "--store", url)
    assert code == 0 and "up to date" in out
    assert run("migrate", "--store", url, "--check")[0] == 0
    conn = sqlite3.connect(old)
    assert [r[0] for r in conn.execute("SELECT layout FROM fama_migrations")] == list(
        range(2, SCHEMA_VERSION + 1)
    )


def test_any_command_on_an_old_store_migrates_it_and_says_so_on_stderr(old):
    code, out, err = run("replay", "--store", f"sqlite:///{old}")
    assert code == 0
    assert f"migrated the store sqlite:///{old} from layout 1 to {SCHEMA_VERSION}" in err


def test_without_migrate_an_old_store_is_refused_with_what_to_do(old):
    with pytest.raises(StoreError, match="run `fama migrate`"):
        SqliteEventStore(old, create=False, migrate=False)


def test_a_failed_migration_leaves_the_store_as_it_was(old):
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("DROP TRIGGER fama_events_no_update")
    conn.execute("UPDATE fama_events SET stored_at = 'Mr Smith' WHERE version = 3")
    conn.close()
    with pytest.raises(StoreError) as raised:
        SqliteEventStore(old, create=False)
    assert "stored_at is not a date" in str(raised.value) and "Smith" not in str(raised.value)
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"fama_events"}


def test_a_store_of_a_newer_layout_is_refused_by_open_and_by_check(tmp_path):
    path = tmp_path / "f.db"
    SqliteEventStore(path).close()
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(
        StoreError, match=f"newer fama .layout 99; this fama knows up to {SCHEMA_VERSION}"
    ):
        SqliteEventStore(path)
    code, _, err = run("show", "c1", "--store", f"sqlite:///{path}")
    assert code == 3 and "upgrade fama" in err


def test_another_applications_sqlite_file_is_refused_even_by_init(tmp_path):
    path = tmp_path / "theirs.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE patients (name TEXT)")
    conn.execute("INSERT INTO patients VALUES ('Ada Lovelace')")
    conn.commit()
    conn.close()
    code, out, err = run("init", "--store", f"sqlite:///{path}")
    assert code == 3 and "another application's SQLite database" in err
    assert "Ada" not in out + err
    assert {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")} == {
        "patients"
    }


def test_a_fama_events_table_of_another_shape_is_not_a_fama_store(tmp_path):
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE fama_events (id INTEGER, body TEXT)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not fama's"):
        SqliteEventStore(path, create=False)


def test_a_damaged_sqlite_file_is_a_clear_error(old):
    data = bytearray(old.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the first page after the header: the schema
    old.write_bytes(bytes(data))
    code, out, err = run("show", "c1", "--store", f"sqlite:///{old}")
    assert code == 3 and "damaged" in err and "Traceback" not in err


# ---------------------------------------------------------------- PostgreSQL


def test_a_postgres_store_of_layout_1_migrates_once_and_verifies(postgres_url):
    import psycopg

    from fama_adapters.store.postgres import LAYOUT_1, PostgresEventStore
    from fama_adapters.store.postgres import SCHEMA_VERSION as PG_LAYOUT

    lines = (Path(__file__).parent.parent / "corpus" / "events-2026-11.jsonl").read_text()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for statement in LAYOUT_1:
            conn.execute(statement)
        versions: dict[str, int] = {}
        for line in lines.splitlines():  # as fama 0.1.0 inserted them
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
    assert PostgresEventStore.layout_at(postgres_url) == 1
    code, out, _ = run("migrate", "--store", postgres_url, "--check")
    assert code == 1 and "layout 1" in out
    with PostgresEventStore(postgres_url, create=False) as store:
        assert (store.migrated_from, store.layout) == (1, PG_LAYOUT)
    with PostgresEventStore(postgres_url, create=False) as store:
        assert store.migrated_from is None
    with Fama.open(postgres_url) as fama:
        report = fama.verify()
        assert report.ok and report.events == 37
        assert fama.replay().problems == []
        journal = fama.state("corpus-engaged").episodes[0].journal[0]
        assert journal.reactions == "nervous at first, then welcomed"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        payloads = [r[0] for r in conn.execute("SELECT payload::text FROM fama_events")]
        assert not any("nervous at first" in p for p in payloads)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO fama_migrations (layout, fama_version) VALUES (99, 'future')")
    with pytest.raises(StoreError, match="newer fama .layout 99"):
        PostgresEventStore(postgres_url)
