"""A writer process for the crash and concurrency tests: appends batches and acknowledges each.

    python store_writer.py URL NAME CLIENTS BATCHES SIZE [slow]

Appends BATCHES batches of SIZE events, round-robin over CLIENTS clients
(shared by every writer), re-reading the version after a conflict. Just before
each append it prints ``begin BATCH``; after the append returns,
``ack CLIENT VERSION BATCH`` (a line printed is a batch acknowledged); after a
conflict, ``conflict BATCH``. ``BATCHES`` 0 means "until killed".

``slow`` stretches each append's transaction (SQLite: a progress handler that
pauses every hundred virtual-machine steps; PostgreSQL: a row trigger that
sleeps a millisecond per inserted row, in the test's own schema) and prints
``inserting`` once the first row of a batch is being inserted (SQLite's trace
callback; a notice from the PostgreSQL trigger), so that a kill sent then
lands while the batch's rows are going in. The writer reaches into the
store's private connection for this: test code only.
"""

from __future__ import annotations

import sys
import time
from itertools import count

from store_events import batch

from fama_adapters.store import open_store
from fama_core.errors import ConcurrencyConflict

SLOW_TRIGGER = (
    "CREATE OR REPLACE FUNCTION fama_test_slow() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE NOTICE 'inserting'; PERFORM pg_sleep(0.001); RETURN NEW; END $$",
    "CREATE OR REPLACE TRIGGER fama_test_slow BEFORE INSERT ON fama_events "
    "FOR EACH ROW EXECUTE FUNCTION fama_test_slow()",
)


_announced: set[str] = set()
_current = [""]


def _inserting() -> None:
    if _current[0] not in _announced:
        _announced.add(_current[0])
        print("inserting", flush=True)


def _slow_down(store) -> None:
    conn = store._conn
    if url_is_sqlite(store.url):
        conn.set_progress_handler(lambda: time.sleep(0.0002) or 0, 100)
        conn.set_trace_callback(lambda sql: _inserting() if sql.startswith("INSERT") else None)
    else:
        for statement in SLOW_TRIGGER:
            conn.execute(statement)
        conn.add_notice_handler(lambda notice: _inserting())


def url_is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def main() -> None:
    url, name, clients, batches, size = sys.argv[1:6]
    store = open_store(url)
    if sys.argv[6:] == ["slow"]:
        _slow_down(store)
    rounds = count() if int(batches) == 0 else range(int(batches))
    for n in rounds:
        client = f"c{n % int(clients)}"
        tag = f"{name}-b{n}"
        events = batch(client, tag, int(size))
        version = store.version(client)
        while True:
            print(f"begin {tag}", flush=True)
            _current[0] = tag
            try:
                result = store.append(client, events, expected_version=version)
                break
            except ConcurrencyConflict as conflict:
                print(f"conflict {tag}", flush=True)
                version = conflict.actual
        print(f"ack {client} {result.version} {tag}", flush=True)
    store.close()


if __name__ == "__main__":
    main()
