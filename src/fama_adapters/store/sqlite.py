"""The embedded default event store: one append-only SQLite table (standard library ``sqlite3``).

URL form ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``.

* One table, ``fama_events``: a row per event with its JSON and indexed
  columns; ``UNIQUE (client_id, version)`` and ``UNIQUE (event_id)``; triggers
  refuse ``UPDATE`` and ``DELETE``, so the log is append-only.
* WAL journal mode: readers (exports, ``fama show``) never block the writer
  and see a consistent snapshot.
* Each append is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken
  before the stream's version is read, so the check and the insert cannot be
  interleaved with another writer, in this process or another.
* ``synchronous=FULL`` by default: an acknowledged append survives a crash of
  the process and of the machine. ``NORMAL`` survives a crash of the process
  (it is what SQLite recommends with WAL) and is faster; choose it knowingly.
* ``PRAGMA user_version`` records the table layout's version.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fama_adapters.store import (
    AppendResult,
    StoredEvent,
    StoreStats,
    check_expected_version,
    plan_append,
    prepare_batches,
    utc_now,
)
from fama_core.errors import ConcurrencyConflict, StoreError
from fama_core.events import Event

__all__ = ["SCHEMA", "SCHEMA_VERSION", "SqliteEventStore", "path_from_url"]

SCHEMA_VERSION = 1
"""The table layout this module writes (``PRAGMA user_version``)."""

SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS fama_events (
    position    INTEGER PRIMARY KEY,
    client_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    event_id    TEXT    NOT NULL UNIQUE,
    episode_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    occurred_on TEXT    NOT NULL,
    recorded_at TEXT    NOT NULL,
    stored_at   TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    UNIQUE (client_id, version)
)""",
    """CREATE TRIGGER IF NOT EXISTS fama_events_no_update BEFORE UPDATE ON fama_events
BEGIN SELECT RAISE(ABORT, 'fama_events is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS fama_events_no_delete BEFORE DELETE ON fama_events
BEGIN SELECT RAISE(ABORT, 'fama_events is append-only'); END""",
)
"""The whole layout: one table and two triggers."""

_COLUMNS = "client_id, version, event_id, episode_id, kind, occurred_on, recorded_at, stored_at"
_INSERT = f"INSERT INTO fama_events ({_COLUMNS}, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_SELECT = f"SELECT {_COLUMNS}, payload FROM fama_events"
_ID_CHUNK = 500  # well under SQLite's limit on bound parameters


def path_from_url(url: str) -> str:
    """The file path in a ``sqlite:///path`` URL (a bare path is returned as is)."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if "://" in url:
        raise StoreError("a SQLite store URL has the form sqlite:///path/to/file.db")
    return url


def _row(r: tuple[str, int, str, str, str, str, str, str, str]) -> StoredEvent:
    return StoredEvent(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        dt.date.fromisoformat(r[5]),
        dt.datetime.fromisoformat(r[6]),
        dt.datetime.fromisoformat(r[7]),
        r[8],
    )


class SqliteEventStore:
    """The event log in one SQLite file; safe to share between threads and processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        if not create and not self.path.is_file():
            raise StoreError(f"no fama store at {self.url}; create it with `fama init`")
        self._conn = self._connect()
        try:
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._prepare(create)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreError(f"{self.url}: not a usable SQLite file ({exc})") from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; each append says BEGIN IMMEDIATE.
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        return conn

    def _prepare(self, create: bool) -> None:
        conn = self._conn
        try:
            if conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                raise StoreError(f"{self.url}: the SQLite file could not switch to WAL mode")
            (user_version,) = conn.execute("PRAGMA user_version").fetchone()
            if user_version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.url} was written by a newer fama (layout {user_version}); upgrade fama"
                )
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fama_events'"
            ).fetchone()
            if not exists:
                if not create:
                    raise StoreError(f"{self.url} is not a fama store; create it with `fama init`")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.url}: not a usable SQLite file ({exc})") from None

    # ------------------------------------------------------------------ writing

    def _stored(self, ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            for event_id, client_id, payload in self._conn.execute(
                f"SELECT event_id, client_id, payload FROM fama_events WHERE event_id IN ({marks})",
                chunk,
            ):
                found[event_id] = (client_id, payload)
        return found

    def _version(self, client_id: str) -> int:
        (version,) = self._conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM fama_events WHERE client_id = ?", (client_id,)
        ).fetchone()
        return int(version)

    def append(
        self, client_id: str, events: Sequence[Event], *, expected_version: int | None
    ) -> AppendResult:
        """Store a batch in one ``BEGIN IMMEDIATE`` transaction (see the contract)."""
        return self.append_many([(client_id, events, expected_version)])[0]

    def append_many(
        self, batches: Sequence[tuple[str, Sequence[Event], int | None]]
    ) -> list[AppendResult]:
        """Store several clients' batches in one ``BEGIN IMMEDIATE`` transaction, all or none.

        Each ``(client_id, events, expected_version)`` is judged as
        :meth:`append` judges it; the first that fails raises and nothing of
        any batch is written.
        """
        prepared = prepare_batches(batches)  # encoded before the write lock is taken
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self.url}: could not start a write ({exc})") from None
            current = ""
            try:
                results: list[AppendResult] = []
                now = utc_now().isoformat()
                for batch, expected in prepared:
                    current = client_id = batch.client_id
                    plan = plan_append(client_id, batch, self._stored)
                    version = self._version(client_id)
                    if plan.new:
                        check_expected_version(client_id, expected, version)
                        conn.executemany(
                            _INSERT,
                            [
                                (
                                    client_id,
                                    version + i,
                                    e.event_id,
                                    e.episode_id,
                                    e.kind,
                                    e.occurred_on.isoformat(),
                                    e.recorded_at.isoformat(),
                                    now,
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
                conn.execute("COMMIT" if any(r.stored for r in results) else "ROLLBACK")
            except sqlite3.IntegrityError:
                conn.execute("ROLLBACK")
                # Only reachable if another writer bypassed BEGIN IMMEDIATE.
                raise ConcurrencyConflict(
                    stream=current, expected=-1, actual=self._version(current)
                ) from None
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"{self.url}: append failed ({type(exc).__name__})") from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return results

    # ------------------------------------------------------------------ reading

    def read(self, client_id: str, *, after: int = 0) -> list[StoredEvent]:
        """The stream's events after version ``after``, in order."""
        with self._lock:
            rows = self._conn.execute(
                f"{_SELECT} WHERE client_id = ? AND version > ? ORDER BY version",
                (client_id, after),
            ).fetchall()
        return [_row(r) for r in rows]

    def version(self, client_id: str) -> int:
        """How many events the client's stream holds."""
        with self._lock:
            return self._version(client_id)

    def stream_all(self, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Every event ordered by client and version, through a reader of its own.

        The reader's one ``SELECT`` holds a WAL snapshot for as long as the
        iteration lasts, so the export is consistent and writers carry on.
        """
        conn = self._connect()
        try:
            cursor = conn.execute(f"{_SELECT} ORDER BY client_id, version")
            while rows := cursor.fetchmany(batch_size):
                for r in rows:
                    yield _row(r)
        finally:
            conn.close()

    def stats(self) -> StoreStats:
        """How many clients and events are held."""
        with self._lock:
            clients, events = self._conn.execute(
                "SELECT COUNT(DISTINCT client_id), COUNT(*) FROM fama_events"
            ).fetchone()
        return StoreStats(int(clients), int(events))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
