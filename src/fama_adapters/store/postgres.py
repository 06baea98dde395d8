"""An event store on PostgreSQL (psycopg 3), for hosts with many concurrent keyworkers.

URL: any libpq connection string, ``postgresql://user@host:5432/db`` or
``host=/run/postgresql dbname=fama``. Install with ``pip install 'fama[postgres]'``.

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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from fama_adapters.store import (
    AppendResult,
    PreparedBatch,
    StoredEvent,
    StoreStats,
    check_expected_version,
    plan_append,
    prepare_batches,
    redact_url,
)
from fama_core.errors import ConcurrencyConflict, StoreError
from fama_core.events import Event

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

__all__ = ["SCHEMA", "PostgresEventStore"]

SCHEMA: tuple[str, ...] = (
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
"""The layout: one table, a trigger function and its trigger (PostgreSQL 14 or later)."""

_COLUMNS = "client_id, version, event_id, episode_id, kind, occurred_on, recorded_at, stored_at"
_SELECT = f"SELECT {_COLUMNS}, payload::text FROM fama_events"
_INSERT = (
    "INSERT INTO fama_events (client_id, version, event_id, episode_id, kind, occurred_on, "
    "recorded_at, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
_T = TypeVar("_T")
_LOCK_KEY = 0x66616D61  # "fama": the seed of the per-client advisory lock's hash


def _row(r: Sequence[Any]) -> StoredEvent:
    return StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])


class PostgresEventStore:
    """The event log in a PostgreSQL table; one connection, shared safely between threads."""

    def __init__(self, conninfo: str, *, create: bool = True) -> None:
        if psycopg is None:
            raise StoreError("the PostgreSQL store needs psycopg: pip install 'fama[postgres]'")
        self._conninfo = conninfo
        self.url = redact_url(conninfo)
        self._lock = threading.Lock()
        self._conn = self._connect()
        try:
            self._prepare(create)
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> Any:
        try:
            return psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"could not connect to {self.url} ({type(exc).__name__})") from None

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

    def _prepare(self, create: bool) -> None:
        with self._lock:
            (exists,) = self._conn.execute(
                "SELECT to_regclass('fama_events') IS NOT NULL"
            ).fetchone()
            if exists:
                return
            if not create:
                raise StoreError(f"{self.url} holds no fama store; create it with `fama init`")
            with self._conn.transaction():
                # Two processes initialising at once must not race on CREATE.
                self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                for statement in SCHEMA:
                    self._conn.execute(statement)

    # ------------------------------------------------------------------ writing

    @staticmethod
    def _stored_in(conn: Any) -> Callable[[Sequence[str]], Mapping[str, tuple[str, str]]]:
        def stored(ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
            rows = conn.execute(
                "SELECT event_id, client_id, payload::text FROM fama_events "
                "WHERE event_id = ANY(%s)",
                (list(ids),),
            ).fetchall()
            return {r[0]: (r[1], r[2]) for r in rows}

        return stored

    @staticmethod
    def _version_in(conn: Any, client_id: str) -> int:
        (version,) = conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM fama_events WHERE client_id = %s",
            (client_id,),
        ).fetchone()
        return int(version)

    def _append_once(
        self, conn: Any, prepared: list[tuple[PreparedBatch, int | None]]
    ) -> list[AppendResult]:
        results: list[AppendResult] = []
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
                version = self._version_in(conn, client_id)
                if plan.new:
                    check_expected_version(client_id, expected, version)
                    with conn.cursor() as cur:
                        cur.executemany(
                            _INSERT,
                            [
                                (
                                    client_id,
                                    version + i,
                                    e.event_id,
                                    e.episode_id,
                                    e.kind,
                                    e.occurred_on,
                                    e.recorded_at,
                                    payload,
                                )
                                for i, (e, payload) in enumerate(plan.new, start=1)
                            ],
                        )
                results.append(
                    AppendResult(
                        client_id,
                        version + len(plan.new),
                        tuple(e.event_id for e, _ in plan.new),
                        plan.duplicates,
                    )
                )
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
                f"{_SELECT} WHERE client_id = %s AND version > %s ORDER BY version",
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
                    cur.execute(f"{_SELECT} ORDER BY client_id, version")
                    for r in cur:
                        yield _row(r)
        finally:
            conn.close()

    def stats(self) -> StoreStats:
        """How many clients and events are held."""
        clients, events = self._call(
            "read",
            lambda conn: conn.execute(
                "SELECT COUNT(DISTINCT client_id), COUNT(*) FROM fama_events"
            ).fetchone(),
        )
        return StoreStats(int(clients), int(events))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> PostgresEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
