"""An event store on PostgreSQL (psycopg 3), for hosts with many concurrent keyworkers.

URL: any libpq connection string, ``postgresql://user@host:5432/db`` or
``host=/run/postgresql dbname=fama``. Install with ``pip install 'fama-mutual-aid[postgres]'``.

The same layout as the SQLite store: one append-only table ``fama_events``
(in the connection's ``search_path``) with ``UNIQUE (client_id, version)``,
``UNIQUE (event_id)`` and a trigger refusing ``UPDATE`` and ``DELETE``; the
event JSON is kept in a ``json`` column (its text exactly as written).

Writers to *different* clients proceed in parallel. Writers to the *same*
client queue on a transaction-scoped advisory lock keyed by the client id,
taken before the stream's version is read; the unique constraints remain the
last line of defence (a violation rolls the append back and it is re-planned
once). An export runs in a ``REPEATABLE READ READ ONLY`` transaction through a
server-side cursor: one snapshot, never the whole log in memory.

Each stream is hash-chained as in the SQLite store (``prev_hash`` and ``hash``
on every row, each stream's head in ``fama_streams``, moved in the append's
transaction; a trigger lets a head only move forward). ``fama_migrations``
records each layout reached; an older store is migrated forward when opened
(each step in one transaction under an advisory lock, so two processes
opening it at once migrate it once), a newer one is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from fama_adapters.store import (
    AppendResult,
    Erasure,
    LedgerEntry,
    PreparedBatch,
    StoredEvent,
    StoreStats,
    check_expected_version,
    ledger_conflict,
    plan_append,
    prepare_batches,
    redact_url,
    sql,
    utc_now,
)
from fama_adapters.store.integrity import GENESIS, VerifyReport, verify_events
from fama_adapters.store.shredding import (
    TOKEN_PREFIX,
    new_key,
    open_payload,
    reseal_streams,
)
from fama_core import __version__ as fama_version
from fama_core.errors import ClientErased, ConcurrencyConflict, StoreError
from fama_core.events import Event

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

__all__ = ["LAYOUT_1", "MIGRATIONS", "SCHEMA", "SCHEMA_VERSION", "PostgresEventStore"]

LAYOUT_1: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS fama_events (
    position    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   TEXT COLLATE "C" NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    event_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    episode_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    occurred_on DATE NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    stored_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload     JSON NOT NULL,
    UNIQUE (client_id, version)
)""",
    """CREATE OR REPLACE FUNCTION fama_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'fama_events is append-only'; END $$""",
    """CREATE OR REPLACE TRIGGER fama_events_append_only
BEFORE UPDATE OR DELETE ON fama_events
FOR EACH STATEMENT EXECUTE FUNCTION fama_events_append_only()""",
)
"""Layout 1 (fama 0.1.0): one table, a trigger function and its trigger (PostgreSQL 14 or
later). Frozen: new stores start here and are migrated."""

SCHEMA = LAYOUT_1
"""Layout 1, under its old name."""


def _to_layout_2(conn: Any) -> None:
    """Hash-chain every stream and keep each stream's head in ``fama_streams``.

    Existing events are chained as found; the append-only trigger is disabled
    for the backfill inside this transaction and enabled before it commits.
    """
    conn.execute(
        "ALTER TABLE fama_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '', "
        "ADD COLUMN hash TEXT NOT NULL DEFAULT ''"
    )
    conn.execute(
        """CREATE TABLE fama_streams (
    client_id TEXT COLLATE "C" PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version >= 1),
    head      TEXT NOT NULL
)"""
    )
    conn.execute(
        """CREATE OR REPLACE FUNCTION fama_streams_forward() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN
    IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'stream heads are never deleted'; END IF;
    IF NEW.version <= OLD.version OR NEW.client_id <> OLD.client_id THEN
        RAISE EXCEPTION 'a stream head only moves forward';
    END IF;
    RETURN NEW;
END $$"""
    )
    conn.execute(
        """CREATE TRIGGER fama_streams_forward BEFORE UPDATE OR DELETE ON fama_streams
FOR EACH ROW EXECUTE FUNCTION fama_streams_forward()"""
    )
    conn.execute("ALTER TABLE fama_events DISABLE TRIGGER fama_events_append_only")
    rows = conn.execute(
        "SELECT position, client_id, version, event_id, stored_at, payload::text "
        "FROM fama_events ORDER BY client_id, version"
    ).fetchall()
    updates, heads = sql.chain_existing(rows)
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE fama_events SET prev_hash = %s, hash = %s WHERE position = %s", updates
        )
        cur.executemany(
            "INSERT INTO fama_streams (client_id, version, head) VALUES (%s, %s, %s)",
            [(c, v, h) for c, (v, h) in heads.items()],
        )
    conn.execute("ALTER TABLE fama_events ENABLE TRIGGER fama_events_append_only")


def _to_layout_3(conn: Any) -> None:
    """Encrypt each client's personal text under a key of its own (``fama_keys``) so erasure
    can delete the key; record erasures in ``fama_erasures``.

    Events stored in plain by layouts 1 and 2 are sealed here, each stream's
    chain checked first and computed again over the sealed form. The old row
    versions stay in the table's dead tuples and in the server's WAL until
    ``VACUUM FULL fama_events`` and WAL recycling: see ``docs/data-protection.md``.
    """
    conn.execute(
        """CREATE TABLE fama_keys (
    client_id  TEXT COLLATE "C" PRIMARY KEY,
    key        BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
    )
    conn.execute(
        """CREATE TABLE fama_erasures (
    client_id    TEXT COLLATE "C" PRIMARY KEY,
    erased_at    TIMESTAMPTZ NOT NULL,
    events       INTEGER NOT NULL,
    fama_version TEXT NOT NULL
)"""
    )
    rows = conn.execute(
        "SELECT position, client_id, version, event_id, stored_at, payload::text, prev_hash, "
        "hash FROM fama_events ORDER BY client_id, version"
    ).fetchall()
    updates, heads, keys = reseal_streams(rows)
    conn.execute("ALTER TABLE fama_events DISABLE TRIGGER fama_events_append_only")
    conn.execute("ALTER TABLE fama_streams DISABLE TRIGGER fama_streams_forward")
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE fama_events SET payload = %s::json, prev_hash = %s, hash = %s "
            "WHERE position = %s",
            updates,
        )
        cur.executemany(
            "UPDATE fama_streams SET head = %s WHERE client_id = %s",
            [(h, c) for c, (_v, h) in heads.items()],
        )
        cur.executemany(
            "INSERT INTO fama_keys (client_id, key) VALUES (%s, %s)", list(keys.items())
        )
    conn.execute("ALTER TABLE fama_events ENABLE TRIGGER fama_events_append_only")
    conn.execute("ALTER TABLE fama_streams ENABLE TRIGGER fama_streams_forward")


def _to_layout_4(conn: Any) -> None:
    """Keep the report ledger (``fama_report_ledger``): every answer ``GET /v1/report`` gave,
    append-only, numbered in release order (``docs/decisions.md`` Q1)."""
    conn.execute(
        """CREATE TABLE fama_report_ledger (
    number       INTEGER PRIMARY KEY CHECK (number >= 1),
    released_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    question     TEXT NOT NULL,
    answer       TEXT NOT NULL,
    records      TEXT NOT NULL,
    fama_version TEXT NOT NULL
)"""
    )
    conn.execute(
        """CREATE OR REPLACE FUNCTION fama_report_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the report ledger is append-only'; END $$"""
    )
    conn.execute(
        """CREATE TRIGGER fama_report_ledger_append_only
BEFORE UPDATE OR DELETE ON fama_report_ledger
FOR EACH STATEMENT EXECUTE FUNCTION fama_report_ledger_append_only()"""
    )


MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _to_layout_2, 2: _to_layout_3, 3: _to_layout_4}
"""Layout ``n`` → ``n + 1``, in order; each runs in one transaction."""

SCHEMA_VERSION = 1 + len(MIGRATIONS)
"""The layout this module writes."""

_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS fama_migrations (
    layout       INTEGER PRIMARY KEY,
    applied_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    fama_version TEXT NOT NULL
)"""

_COLUMNS = "client_id, version, event_id, episode_id, kind, occurred_on, recorded_at, stored_at"
_SELECT = (
    "SELECT e.client_id, e.version, e.event_id, e.episode_id, e.kind, e.occurred_on, "
    "e.recorded_at, e.stored_at, e.payload::text, e.prev_hash, e.hash, k.key "
    "FROM fama_events e LEFT JOIN fama_keys k ON k.client_id = e.client_id"
)
_INSERT = (
    "INSERT INTO fama_events (client_id, version, event_id, episode_id, kind, occurred_on, "
    "recorded_at, stored_at, payload, prev_hash, hash) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
_HEAD_UPSERT = (
    "INSERT INTO fama_streams (client_id, version, head) VALUES (%s, %s, %s) "
    "ON CONFLICT (client_id) DO UPDATE SET version = excluded.version, head = excluded.head"
)
_T = TypeVar("_T")
_LOCK_KEY = 0x66616D61  # "fama": the seed of the per-client advisory lock's hash


def _row(r: Sequence[Any]) -> StoredEvent:
    stored = r[8]
    key = bytes(r[11]) if r[11] is not None else None
    problem = ""
    try:
        payload = open_payload(stored, key, r[0], r[2]) if TOKEN_PREFIX in stored else stored
    except StoreError as exc:  # a ciphertext changed outside fama: say so where it is read
        payload, problem = "", str(exc)
    return StoredEvent(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        payload,
        r[9],
        r[10],
        stored if payload != stored else "",
        problem,
    )


class PostgresEventStore:
    """The event log in a PostgreSQL table; one connection, shared safely between threads."""

    def __init__(self, conninfo: str, *, create: bool = True, migrate: bool = True) -> None:
        if psycopg is None:
            raise StoreError(
                "the PostgreSQL store needs psycopg: pip install 'fama-mutual-aid[postgres]'"
            )
        self._conninfo = conninfo
        self.url = redact_url(conninfo)
        self._lock = threading.Lock()
        self.layout = 0
        self.migrated_from: int | None = None
        self._conn = self._connect()
        try:
            self._prepare(create, migrate)
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(
                f"{self.url}: opening the store failed ({type(exc).__name__})"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> Any:
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"could not connect to {self.url} ({type(exc).__name__})") from None
        try:
            # Times are read in the session's zone: UTC, whatever the server's default (a UK
            # server in Europe/London), as every time fama hands on is documented to be.
            conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"could not connect to {self.url} ({type(exc).__name__})") from None
        return conn

    def _call(self, what: str, operation: Callable[[Any], _T]) -> _T:
        """Run ``operation(connection)`` under the lock, once more on a fresh connection if
        the server dropped the first (a restart, a failover).

        Trying again is safe for writes too: if the lost append had committed,
        its events come back as duplicates; if not, they are appended.
        """
        with self._lock:
            for attempt in (1, 2):
                if self._conn.closed or self._conn.broken:
                    self._conn = self._connect()
                try:
                    return operation(self._conn)
                except psycopg.OperationalError as exc:
                    if attempt == 2 or not self._conn.broken:
                        raise StoreError(
                            f"{self.url}: {what} failed ({type(exc).__name__})"
                        ) from None
                except psycopg.Error as exc:
                    raise StoreError(f"{self.url}: {what} failed ({type(exc).__name__})") from None
        raise AssertionError("unreachable")  # pragma: no cover

    @classmethod
    def layout_at(cls, conninfo: str) -> int:
        """The layout of the store at ``conninfo``, read without changing anything."""
        if psycopg is None:
            raise StoreError(
                "the PostgreSQL store needs psycopg: pip install 'fama-mutual-aid[postgres]'"
            )
        url = redact_url(conninfo)
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                layout = cls._layout_in(conn)
        except psycopg.Error as exc:
            raise StoreError(f"could not read {url} ({type(exc).__name__})") from None
        if layout == 0:
            raise StoreError(f"{url} holds no fama store")
        return layout

    @staticmethod
    def _layout_in(conn: Any) -> int:
        """0: no store; otherwise the layout (1 when there is no ``fama_migrations`` yet)."""
        (events, migrations) = conn.execute(
            "SELECT to_regclass('fama_events') IS NOT NULL, "
            "to_regclass('fama_migrations') IS NOT NULL"
        ).fetchone()
        if not events:
            return 0
        if not migrations:
            return 1
        (layout,) = conn.execute("SELECT COALESCE(MAX(layout), 1) FROM fama_migrations").fetchone()
        return int(layout)

    def _prepare(self, create: bool, migrate: bool) -> None:
        with self._lock:
            conn = self._conn
            layout = self._layout_in(conn)
            if layout == 0:
                if not create:
                    raise StoreError(f"{self.url} holds no fama store; create it with `fama init`")
                with conn.transaction():
                    # Two processes initialising at once must not race on CREATE.
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                    if self._layout_in(conn) == 0:
                        for statement in LAYOUT_1:
                            conn.execute(statement)
                self.layout = self._layout_in(conn)
                self._migrate(conn, record_from=False)
                return
            columns = tuple(
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'fama_events'::regclass "
                    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
                )
            )
            sql.check_layout(self.url, layout, columns, SCHEMA_VERSION)
            self.layout = layout
            if layout < SCHEMA_VERSION:
                if not migrate:
                    sql.refuse_unmigrated(self.url, layout, SCHEMA_VERSION, backup="take a backup")
                self._migrate(conn)

    def _migrate(self, conn: Any, *, record_from: bool = True) -> None:
        """Run each pending migration in a transaction of its own under the advisory lock, so
        two processes opening the store at once migrate it once."""
        found = self.layout

        @contextmanager
        def step() -> Iterator[int]:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                yield self._layout_in(conn)

        def apply(layout: int) -> None:
            conn.execute(_MIGRATIONS_TABLE)
            MIGRATIONS[layout](conn)
            conn.execute(
                "INSERT INTO fama_migrations (layout, fama_version) VALUES (%s, %s)",
                (layout + 1, fama_version),
            )

        sql.migrate_forward(step, apply, SCHEMA_VERSION)
        self.layout = self._layout_in(conn)
        if record_from and found < self.layout:
            self.migrated_from = found

    # ------------------------------------------------------------------ writing

    @staticmethod
    def _stored_in(conn: Any) -> Callable[[Sequence[str]], Mapping[str, tuple[str, str]]]:
        def stored(ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
            rows = conn.execute(
                "SELECT e.event_id, e.client_id, e.payload::text, k.key FROM fama_events e "
                "LEFT JOIN fama_keys k ON k.client_id = e.client_id WHERE e.event_id = ANY(%s)",
                (list(ids),),
            ).fetchall()
            return {
                r[0]: (r[1], open_payload(r[2], None if r[3] is None else bytes(r[3]), r[1], r[0]))
                for r in rows
            }

        return stored

    @staticmethod
    def _head_in(conn: Any, client_id: str) -> tuple[int, str]:
        row = conn.execute(
            "SELECT version, head FROM fama_streams WHERE client_id = %s", (client_id,)
        ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    @staticmethod
    def _erased_in(conn: Any, client_id: str) -> bool:
        return bool(
            conn.execute(
                "SELECT 1 FROM fama_erasures WHERE client_id = %s", (client_id,)
            ).fetchone()
        )

    @staticmethod
    def _key_in(conn: Any, client_id: str) -> bytes:
        """The client's key, made on its first event; an erased client takes no new events."""
        row = conn.execute(
            "SELECT key FROM fama_keys WHERE client_id = %s", (client_id,)
        ).fetchone()
        if row is not None:
            return bytes(row[0])
        if PostgresEventStore._erased_in(conn, client_id):
            raise ClientErased(client_id=client_id)
        key = new_key()
        conn.execute("INSERT INTO fama_keys (client_id, key) VALUES (%s, %s)", (client_id, key))
        return key

    def erase(self, client_id: str, *, expected_version: int | None = None) -> Erasure:
        """Make the client's personal text unreadable for good: delete its key.

        The key's row is then rewritten out of the table's file (``VACUUM FULL
        fama_keys``, a small table); the server's WAL segments and base
        backups keep it until they expire (``docs/data-protection.md``).

        ``expected_version``, when given, is checked inside the transaction
        that erases, under the client's advisory lock (the one every append to
        the stream takes): a stream that moved on since its version was read
        raises :class:`~fama_core.errors.ConcurrencyConflict` and nothing is
        erased.
        """

        def erase(conn: Any) -> Erasure:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                    (client_id, _LOCK_KEY),
                )
                check_expected_version(
                    client_id, expected_version, self._version_in(conn, client_id)
                )
                done = conn.execute(
                    "SELECT erased_at, events FROM fama_erasures WHERE client_id = %s",
                    (client_id,),
                ).fetchone()
                if done is not None:
                    return Erasure(client_id, int(done[1]), done[0].isoformat(), already=True)
                events = self._version_in(conn, client_id)
                if events == 0:
                    raise StoreError(f"no events for client {client_id} in {self.url}")
                erased_at = utc_now()
                conn.execute("DELETE FROM fama_keys WHERE client_id = %s", (client_id,))
                conn.execute(
                    "INSERT INTO fama_erasures (client_id, erased_at, events, fama_version) "
                    "VALUES (%s, %s, %s, %s)",
                    (client_id, erased_at, events, fama_version),
                )
            conn.execute("VACUUM FULL fama_keys")
            return Erasure(client_id, events, erased_at.isoformat())

        return self._call("erase", erase)

    def erasure(self, client_id: str) -> Erasure | None:
        """When the client was erased (``None`` when it was not)."""
        row = self._call(
            "read",
            lambda conn: conn.execute(
                "SELECT erased_at, events FROM fama_erasures WHERE client_id = %s", (client_id,)
            ).fetchone(),
        )
        if row is None:
            return None
        return Erasure(client_id, int(row[1]), row[0].isoformat(), already=True)

    @classmethod
    def _version_in(cls, conn: Any, client_id: str) -> int:
        return cls._head_in(conn, client_id)[0]

    def _append_once(
        self, conn: Any, prepared: list[tuple[PreparedBatch, int | None]]
    ) -> list[AppendResult]:
        results: list[AppendResult] = []
        moment = utc_now()
        heads: list[tuple[str, int, str]] = []
        with conn.transaction():
            # Locks in a fixed order, so two multi-client writers cannot deadlock.
            for client_id in sorted(batch.client_id for batch, _ in prepared):
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                    (client_id, _LOCK_KEY),
                )
            for batch, expected in prepared:
                client_id = batch.client_id
                plan = plan_append(client_id, batch, self._stored_in(conn))
                version, head = self._head_in(conn, client_id)
                if plan.new:
                    check_expected_version(client_id, expected, version)
                    rows = sql.seal_and_chain(
                        client_id,
                        version,
                        head,
                        moment,
                        plan.new,
                        key_for=lambda: self._key_in(conn, client_id),  # noqa: B023
                        erased=lambda: self._erased_in(conn, client_id),  # noqa: B023
                    )
                    with conn.cursor() as cur:
                        cur.executemany(
                            _INSERT,
                            sql.insert_params(client_id, rows, moment, text_dates=False),
                        )
                    heads.append((client_id, rows[-1][0], rows[-1][4]))
                results.append(
                    AppendResult(
                        client_id,
                        version + len(plan.new),
                        tuple(e.event_id for e, _ in plan.new),
                        plan.duplicates,
                    )
                )
            if heads:
                with conn.cursor() as cur:
                    cur.executemany(_HEAD_UPSERT, heads)
        return results

    def append(
        self, client_id: str, events: Sequence[Event], *, expected_version: int | None
    ) -> AppendResult:
        """Store a batch in one transaction (see the contract)."""
        return self.append_many([(client_id, events, expected_version)])[0]

    def append_many(
        self, batches: Sequence[tuple[str, Sequence[Event], int | None]]
    ) -> list[AppendResult]:
        """Store several clients' batches in one transaction, all or none."""
        prepared = prepare_batches(batches)  # encoded before any lock is taken

        def append(conn: Any) -> list[AppendResult]:
            try:
                return self._append_once(conn, prepared)
            except pg_errors.UniqueViolation:
                pass
            # Another writer stored one of these event ids under another client's
            # lock between our look-up and our insert; plan again, which now sees it.
            try:
                return self._append_once(conn, prepared)
            except pg_errors.UniqueViolation:
                first = prepared[0][0].client_id
                raise ConcurrencyConflict(
                    stream=first, expected=-1, actual=self._version_in(conn, first)
                ) from None

        return self._call("append", append)

    # ------------------------------------------------------------------ reading

    def read(self, client_id: str, *, after: int = 0) -> list[StoredEvent]:
        """The stream's events after version ``after``, in order."""
        rows = self._call(
            "read",
            lambda conn: conn.execute(
                f"{_SELECT} WHERE e.client_id = %s AND e.version > %s ORDER BY e.version",
                (client_id, after),
            ).fetchall(),
        )
        return [_row(r) for r in rows]

    def version(self, client_id: str) -> int:
        """How many events the client's stream holds."""
        return self._call("read", lambda conn: self._version_in(conn, client_id))

    def stream_all(self, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Every event ordered by client and version, from one snapshot, via a server cursor."""
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                with conn.cursor(name="fama_export") as cur:
                    cur.itersize = batch_size
                    cur.execute(f"{_SELECT} ORDER BY e.client_id, e.version")
                    for r in cur:
                        yield _row(r)
        finally:
            conn.close()

    def report_ledger(self) -> list[LedgerEntry]:
        """Every report ledger entry, in release order."""
        rows = self._call(
            "read the report ledger",
            lambda conn: conn.execute(
                "SELECT number, released_at, question, answer, records "
                "FROM fama_report_ledger ORDER BY number"
            ).fetchall(),
        )
        return [LedgerEntry(int(n), at, q, a, r) for n, at, q, a, r in rows]

    def add_to_ledger(
        self, question: str, answer: str, records: str, *, expected: int
    ) -> LedgerEntry:
        """Append a report ledger entry under the ledger's advisory lock, so two instances of
        the service cannot both append knowing the same entries (see
        :class:`~fama_adapters.store.ReportLedger`)."""

        def add(conn: Any) -> LedgerEntry:
            with conn.transaction():
                conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                    ("fama report ledger", _LOCK_KEY),
                )
                (count,) = conn.execute(
                    "SELECT COALESCE(MAX(number), 0) FROM fama_report_ledger"
                ).fetchone()
                if count != expected:
                    raise ledger_conflict(expected, int(count))
                (at,) = conn.execute(
                    "INSERT INTO fama_report_ledger (number, question, answer, records, "
                    "fama_version) VALUES (%s, %s, %s, %s, %s) RETURNING released_at",
                    (expected + 1, question, answer, records, fama_version),
                ).fetchone()
            return LedgerEntry(expected + 1, at, question, answer, records)

        return self._call("write the report ledger", add)

    def stats(self) -> StoreStats:
        """How many clients and events are held."""
        clients, events = self._call(
            "read",
            lambda conn: conn.execute(
                "SELECT COUNT(DISTINCT client_id), COUNT(*) FROM fama_events"
            ).fetchone(),
        )
        return StoreStats(int(clients), int(events))

    def verify(self) -> VerifyReport:
        """Check every hash chain and head, from one snapshot (see
        :mod:`fama_adapters.store.integrity`)."""
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                heads = sql.heads_from(conn.execute(sql.HEADS))
                with conn.cursor(name="fama_verify") as cur:
                    cur.itersize = 1000
                    cur.execute(f"{_SELECT} ORDER BY e.client_id, e.version")
                    report = verify_events((_row(r) for r in cur), heads)
        except psycopg.Error as exc:
            raise StoreError(f"{self.url}: verify failed ({type(exc).__name__})") from None
        finally:
            conn.close()
        return report

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> PostgresEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
