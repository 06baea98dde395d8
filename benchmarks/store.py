"""Event-store speed: appends per second and a 300,000-client export read, against plain SQLite.

Both baselines run in the same process, on the same machine, in the same run,
taking turns with the store (a tenth of the work each) so both meet the same
disk conditions:

1. Appends. The store appends N client batches (a 3-event journey per client,
   one ``BEGIN IMMEDIATE`` transaction per batch, WAL), with ``synchronous=FULL``
   (the default: every commit waits for the disk) and with ``NORMAL``,
   doing all it does for real: JSON encoding, idempotency look-up, version
   check. The baseline inserts the *same rows* (already encoded) with a plain
   ``executemany`` into an identical table, one transaction per batch with
   the same pragmas. The ratio is the price of the store's checks; with
   ``FULL`` both are bound by the disk's flush time.
2. Import. ``append_many`` with 500 clients' batches per transaction (what
   ``fama record`` does with a file), beside plain ``executemany`` of the same
   rows grouped the same way.
3. Export. 300,000 clients' rows (a 3-event journey each: 900,000 events)
   are bulk-loaded with a plain ``executemany`` into a table of layout 1
   (fama 0.1.0's, without hashes; timed, for scale) and read back by a plain
   ``SELECT``; then the store opens the file, which migrates it to the
   current layout (hash-chaining every stream: timed). The migrated file is
   read by a plain ``SELECT`` of the same columns in the same order (the
   baseline) and by ``SqliteEventStore.stream_all`` (rows become
   ``StoredEvent`` objects, hashes included); ``verify`` checks every chain.

Since layout 2 the store also hash-chains every append (SHA-256 over the
predecessor's hash and the stored row) and moves the stream's head in the
same transaction; the baseline still inserts fama 0.1.0's rows, so the append
ratios include that price. Ratios measured before the hash chain, on this
machine (``docs/data-protection.md`` has both): FULL 0.96, NORMAL 1.75,
import 2.92, export read 1.56; with hash chains and encryption: 1.29, 2.14, 4.08, 2.23.

Scaled to stay under a minute on two cores: the append phase uses 1,000
clients with ``FULL`` and 5,000 with ``NORMAL`` (not 300,000: a durable commit
costs a disk flush each), and the export rows are made by copying one
journey's JSON with new ids rather than by building 900,000 pydantic events.
Decoding and folding events is measured by the core's replay benchmark.

Run: ``python benchmarks/store.py`` (``--clients`` / ``--export-clients`` to change the scale).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import tempfile
import time
from pathlib import Path

from fama_adapters.store.sqlite import SCHEMA, SqliteEventStore
from fama_core.builders import JourneyBuilder
from fama_core.events import event_to_json

INSERT = (
    "INSERT INTO fama_events (client_id, version, event_id, episode_id, kind, occurred_on, "
    "recorded_at, stored_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def journey(client: str):
    b = JourneyBuilder(client, keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    return b.open().session1().declined().events


def rows_of(events, now: str):
    return [
        (
            e.client_id,
            v,
            e.event_id,
            e.episode_id,
            e.kind,
            e.occurred_on.isoformat(),
            e.recorded_at.isoformat(),
            now,
            event_to_json(e),
        )
        for v, e in enumerate(events, start=1)
    ]


def plain_db(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    for statement in SCHEMA:  # layout 1, as fama 0.1.0 made it
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    return conn


ROUNDS = 10
"""The plain baseline and the store take turns, a tenth of the work each, so that both
meet the same disk: flush times on a shared machine drift by several times in seconds."""


def bench_appends(folder: Path, clients: int, synchronous: str) -> None:
    batches = [journey(f"c{n:06d}") for n in range(clients)]
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = [rows_of(b, now) for b in batches]
    events = sum(len(b) for b in batches)
    conn = plain_db(folder / f"plain-append-{synchronous}.db", synchronous)
    store = SqliteEventStore(folder / f"store-append-{synchronous}.db", synchronous=synchronous)
    plain = ours = 0.0
    step = -(-clients // ROUNDS)
    for r in range(0, clients, step):
        start = time.perf_counter()
        for batch_rows in rows[r : r + step]:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, batch_rows)
            conn.execute("COMMIT")
        plain += time.perf_counter() - start
        start = time.perf_counter()
        for batch in batches[r : r + step]:
            store.append(batch[0].client_id, batch, expected_version=0)
        ours += time.perf_counter() - start
    conn.close()
    store.close()

    print(
        f"appends, synchronous={synchronous}: {clients:,} client batches, {events:,} events, "
        "one transaction per batch"
    )
    print(f"  plain executemany      {events / plain:>12,.0f} events/s  ({plain:.2f} s)")
    print(f"  SqliteEventStore       {events / ours:>12,.0f} events/s  ({ours:.2f} s)")
    print(f"  ratio store/plain time {ours / plain:>12.2f}")


def bench_import(folder: Path, clients: int, per_transaction: int = 500) -> None:
    """``append_many`` as ``fama record`` uses it: many clients' batches per transaction."""
    batches = [journey(f"i{n:06d}") for n in range(clients)]
    now = dt.datetime.now(dt.UTC).isoformat()
    rows = [rows_of(b, now) for b in batches]
    events = sum(len(b) for b in batches)
    groups = range(0, clients, per_transaction)

    conn = plain_db(folder / "plain-import.db")
    store = SqliteEventStore(folder / "store-import.db")
    plain = ours = 0.0
    for g in groups:
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            INSERT, [r for batch_rows in rows[g : g + per_transaction] for r in batch_rows]
        )
        conn.execute("COMMIT")
        plain += time.perf_counter() - start
        start = time.perf_counter()
        store.append_many([(b[0].client_id, b, 0) for b in batches[g : g + per_transaction]])
        ours += time.perf_counter() - start
    conn.close()
    store.close()

    print(
        f"import, synchronous=FULL: {clients:,} clients, {events:,} events, "
        f"{per_transaction} clients per transaction (append_many, as fama record does)"
    )
    print(f"  plain executemany      {events / plain:>12,.0f} events/s  ({plain:.2f} s)")
    print(f"  SqliteEventStore       {events / ours:>12,.0f} events/s  ({ours:.2f} s)")
    print(f"  ratio store/plain time {ours / plain:>12.2f}")


def bench_export(folder: Path, clients: int) -> None:
    template = rows_of(journey("TEMPLATE"), dt.datetime.now(dt.UTC).isoformat())

    def rows():
        for n in range(clients):
            client = f"x{n:07d}"
            for row in template:
                yield tuple(v.replace("TEMPLATE", client) if isinstance(v, str) else v for v in row)

    path = folder / "export.db"
    conn = plain_db(path)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows())
    conn.execute("COMMIT")
    load = time.perf_counter() - start
    (events,) = conn.execute("SELECT COUNT(*) FROM fama_events").fetchone()

    columns = "client_id, version, event_id, episode_id, kind, occurred_on, recorded_at, stored_at"

    def plain_read(select: str) -> tuple[int, float]:
        start = time.perf_counter()
        count = 0
        cursor = conn.execute(f"SELECT {select} FROM fama_events ORDER BY client_id, version")
        while chunk := cursor.fetchmany(1000):
            count += len(chunk)
        return count, time.perf_counter() - start

    _, plain_layout_1 = plain_read(f"{columns}, payload")
    conn.close()

    start = time.perf_counter()
    store = SqliteEventStore(path, create=False)
    migration = time.perf_counter() - start
    # The baseline reads the same columns of the same (migrated) file as the store does.
    conn = sqlite3.connect(path)
    plain_count, plain = plain_read(f"{columns}, payload, prev_hash, hash")
    conn.close()
    start = time.perf_counter()
    ours_count = 0
    last = None
    for e in store.stream_all():
        ours_count += 1
        last = e.client_id
    ours = time.perf_counter() - start
    start = time.perf_counter()
    report = store.verify()
    verify = time.perf_counter() - start
    store.close()
    assert ours_count == plain_count == events and last == f"x{clients - 1:07d}"
    assert report.ok and report.events == events

    print(f"export: {clients:,} clients, {events:,} events")
    for label, seconds in (
        ("bulk load (plain executemany, one transaction)", load),
        ("plain SELECT, layout 1 (fama 0.1.0's table)", plain_layout_1),
        ("migration to the current layout (hash chains)", migration),
        ("plain SELECT ... ORDER BY client, version", plain),
        ("SqliteEventStore.stream_all", ours),
        ("SqliteEventStore.verify (every chain)", verify),
    ):
        print(f"  {label:<47}{events / seconds:>12,.0f} rows/s  ({seconds:.2f} s)")
    print(f"  {'ratio store/plain read time':<47}{ours / plain:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1_000, help="batches, synchronous=FULL")
    parser.add_argument("--clients-normal", type=int, default=5_000, help="synchronous=NORMAL")
    parser.add_argument("--clients-import", type=int, default=20_000, help="append_many")
    parser.add_argument("--export-clients", type=int, default=300_000)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fama-bench-") as tmp:
        bench_appends(Path(tmp), args.clients, "FULL")
        bench_appends(Path(tmp), args.clients_normal, "NORMAL")
        bench_import(Path(tmp), args.clients_import)
        bench_export(Path(tmp), args.export_clients)
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
