"""Backup and restore of the SQLite store while it is being written, verified by its chains."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import threading
from pathlib import Path

from fama_adapters.cli import main
from fama_adapters.facade import Fama
from fama_adapters.store.sqlite import SqliteEventStore, path_from_url
from fama_core.builders import JourneyBuilder


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def journey(client: str) -> list:
    b = JourneyBuilder(client, start=dt.date(2026, 3, 2))
    return b.open().session1().session2(reason="a note to keep").events


def test_a_backup_taken_while_a_writer_appends_verifies_and_restores(sqlite_url, tmp_path):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c-first"))
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        with SqliteEventStore(path_from_url(sqlite_url), create=False) as store:
            n = 0
            while not stop.is_set() and n < 400:
                client = f"w{n:04d}"
                store.append(client, journey(client), expected_version=0)
                written.append(client)
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while len(written) < 20:  # the writer is under way
        thread.join(0.01)
    backup = tmp_path / "during.db"
    code, out, _ = run("backup", "--store", sqlite_url, "--to", str(backup), "--json")
    stop.set()
    thread.join()
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["events"] % 3 == 0  # whole batches only
    assert not Path(str(backup) + "-wal").exists()  # one file, ready to archive

    restored = tmp_path / "restored.db"
    code, out, _ = run("restore", str(backup), "--store", f"sqlite:///{restored}", "--json")
    again = json.loads(out)
    assert code == 0 and again["ok"] and again["seal"] == report["seal"]
    code, out, _ = run(
        "verify", "--store", f"sqlite:///{restored}", "--expect-seal", report["seal"]
    )
    assert code == 0


def test_restore_refuses_to_overwrite_a_store_or_to_use_a_backup_that_does_not_verify(
    sqlite_url, tmp_path
):
    with Fama.open(sqlite_url, create=True) as fama:
        fama.record(journey("c1"))
    backup = tmp_path / "b.db"
    assert run("backup", "--store", sqlite_url, "--to", str(backup))[0] == 0
    code, _, err = run("backup", "--store", sqlite_url, "--to", str(backup))
    assert code == 3 and "exists already" in err
    code, _, err = run("restore", str(backup), "--store", sqlite_url)
    assert code == 3 and "move it aside" in err
    conn = sqlite3.connect(backup, isolation_level=None)
    conn.execute("DROP TRIGGER fama_events_no_update")
    conn.execute("UPDATE fama_events SET kind = 'client_declined' WHERE version = 2")
    conn.close()
    target = tmp_path / "new.db"
    code, _, err = run("restore", str(backup), "--store", f"sqlite:///{target}")
    assert code == 3 and "does not verify" in err and not target.exists()


def test_backup_is_for_sqlite_and_says_what_to_do_for_postgres():
    code, _, err = run("backup", "--store", "postgresql://fama@db/fama", "--to", "x.db")
    assert code == 3 and "pg_dump" in err
