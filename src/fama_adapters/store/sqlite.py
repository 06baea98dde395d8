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
* Each stream is hash-chained (:mod:`fama_adapters.store.integrity`): every
  row records its predecessor's hash and its own, and ``fama_streams`` keeps
  each stream's head (version and last hash), written in the append's
  transaction; triggers refuse to move a head back or delete it.
  :meth:`SqliteEventStore.verify` checks it all.
* ``PRAGMA user_version`` records the layout's version and ``fama_migrations``
  when each layout was reached. A store of an older layout is migrated
  forward when opened (each step one transaction); a newer one is refused.
  A new store is made as layout 1 and migrated, so a new store and a migrated
  one are alike.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fama_adapters.store import (
    AppendResult,
    Erasure,
    LedgerEntry,
    StoredEvent,
    StoreStats,
    check_expected_version,
    ledger_conflict,
    plan_append,
    prepare_batches,
    sql,
    utc_now,
)
from fama_adapters.store.integrity import (
    GENESIS,
    IntegrityProblem,
    VerifyReport,
    verify_events,
)
from fama_adapters.store.shredding import (
    TOKEN_PREFIX,
    new_key,
    open_payload,
    reseal_streams,
)
from fama_core import __version__ as fama_version
from fama_core.errors import ClientErased, ConcurrencyConflict, StoreError
from fama_core.events import Event

__all__ = [
    "LAYOUT_1",
    "MIGRATIONS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SqliteEventStore",
    "path_from_url",
]

LAYOUT_1: tuple[str, ...] = (
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
"""Layout 1 (fama 0.1.0): one table and two triggers. Frozen: new stores start here."""

SCHEMA = LAYOUT_1
"""Layout 1, under its old name (kept for code that built a baseline table from it)."""

_NO_UPDATE = """CREATE TRIGGER fama_events_no_update BEFORE UPDATE ON fama_events
BEGIN SELECT RAISE(ABORT, 'fama_events is append-only'); END"""
_STREAMS_FORWARD = """CREATE TRIGGER fama_streams_forward BEFORE UPDATE ON fama_streams
WHEN NEW.version <= OLD.version OR NEW.client_id IS NOT OLD.client_id
BEGIN SELECT RAISE(ABORT, 'a stream head only moves forward'); END"""


def _to_layout_2(conn: sqlite3.Connection) -> None:
    """Hash-chain every stream and keep each stream's head in ``fama_streams``.

    Existing events are chained as found: tamper evidence starts with this
    migration. The append-only trigger is lifted for the backfill, inside
    this migration's transaction, and put back before it commits.
    """
    conn.execute("ALTER TABLE fama_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE fama_events ADD COLUMN hash TEXT NOT NULL DEFAULT ''")
    conn.execute(
        """CREATE TABLE fama_streams (
    client_id TEXT PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version >= 1),
    head      TEXT NOT NULL
) WITHOUT ROWID"""
    )
    conn.execute(_STREAMS_FORWARD)
    conn.execute(
        """CREATE TRIGGER fama_streams_no_delete BEFORE DELETE ON fama_streams
BEGIN SELECT RAISE(ABORT, 'stream heads are never deleted'); END"""
    )
    conn.execute("DROP TRIGGER IF EXISTS fama_events_no_update")
    rows = conn.execute(
        "SELECT position, client_id, version, event_id, stored_at, payload FROM fama_events "
        "ORDER BY client_id, version"
    ).fetchall()
    updates, heads = sql.chain_existing(
        (p, c, v, e, _parse_time(at, c, v, "stored_at"), payload)
        for p, c, v, e, at, payload in rows
    )
    conn.executemany("UPDATE fama_events SET prev_hash = ?, hash = ? WHERE position = ?", updates)
    conn.executemany(
        "INSERT INTO fama_streams (client_id, version, head) VALUES (?, ?, ?)",
        [(c, v, h) for c, (v, h) in heads.items()],
    )
    conn.execute(_NO_UPDATE)


def _to_layout_3(conn: sqlite3.Connection) -> None:
    """Encrypt each client's personal text under a key of its own (``fama_keys``), so erasure
    can delete the key; record erasures in ``fama_erasures``.

    Events stored in plain by layouts 1 and 2 are sealed here: each stream's
    chain is checked first, then re-computed over the sealed form. The file
    is vacuumed afterwards (with ``secure_delete``), so no page keeps the
    plain text.
    """
    conn.execute(
        """CREATE TABLE fama_keys (
    client_id  TEXT PRIMARY KEY,
    key        BLOB NOT NULL,
    created_at TEXT NOT NULL
) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE fama_erasures (
    client_id    TEXT PRIMARY KEY,
    erased_at    TEXT NOT NULL,
    events       INTEGER NOT NULL,
    fama_version TEXT NOT NULL
) WITHOUT ROWID"""
    )
    rows = [
        (p, c, v, e, _parse_time(at, c, v, "stored_at"), payload, prev, h)
        for p, c, v, e, at, payload, prev, h in conn.execute(
            "SELECT position, client_id, version, event_id, stored_at, payload, prev_hash, hash "
            "FROM fama_events ORDER BY client_id, version"
        )
    ]
    updates, heads, keys = reseal_streams(rows)
    now = utc_now().isoformat()
    conn.execute("DROP TRIGGER IF EXISTS fama_events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS fama_streams_forward")
    conn.executemany(
        "UPDATE fama_events SET payload = ?, prev_hash = ?, hash = ? WHERE position = ?", updates
    )
    conn.executemany(
        "UPDATE fama_streams SET head = ? WHERE client_id = ?",
        [(h, c) for c, (_v, h) in heads.items()],
    )
    conn.executemany(
        "INSERT INTO fama_keys (client_id, key, created_at) VALUES (?, ?, ?)",
        [(c, k, now) for c, k in keys.items()],
    )
    conn.execute(_NO_UPDATE)
    conn.execute(_STREAMS_FORWARD)


def _to_layout_4(conn: sqlite3.Connection) -> None:
    """Keep the report ledger (``fama_report_ledger``): every answer ``GET /v1/report`` gave,
    append-only, numbered in release order (``docs/decisions.md`` Q1)."""
    conn.execute(
        """CREATE TABLE fama_report_ledger (
    number      INTEGER PRIMARY KEY CHECK (number >= 1),
    released_at TEXT NOT NULL,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    records     TEXT NOT NULL,
    fama_version TEXT NOT NULL
)"""
    )
    conn.execute(
        """CREATE TRIGGER fama_report_ledger_no_update BEFORE UPDATE ON fama_report_ledger
BEGIN SELECT RAISE(ABORT, 'the report ledger is append-only'); END"""
    )
    conn.execute(
        """CREATE TRIGGER fama_report_ledger_no_delete BEFORE DELETE ON fama_report_ledger
BEGIN SELECT RAISE(ABORT, 'the report ledger is append-only'); END"""
    )


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _to_layout_2,
    2: _to_layout_3,
    3: _to_layout_4,
}
"""Layout ``n`` → ``n + 1``, in order. Each runs in one transaction with the layout bump."""

SCHEMA_VERSION = 1 + len(MIGRATIONS)
"""The layout this module writes (``PRAGMA user_version``)."""

_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS fama_migrations (
    layout       INTEGER PRIMARY KEY,
    applied_at   TEXT NOT NULL,
    fama_version TEXT NOT NULL
)"""

_COLUMNS = "client_id, version, event_id, episode_id, kind, occurred_on, recorded_at, stored_at"
_INSERT = (
    f"INSERT INTO fama_events ({_COLUMNS}, payload, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT e.client_id, e.version, e.event_id, e.episode_id, e.kind, e.occurred_on, "
    "e.recorded_at, e.stored_at, e.payload, e.prev_hash, e.hash, k.key "
    "FROM fama_events e LEFT JOIN fama_keys k ON k.client_id = e.client_id"
)
_ORDER = " ORDER BY e.client_id, e.version"
_HEAD_UPSERT = (
    "INSERT INTO fama_streams (client_id, version, head) VALUES (?, ?, ?) "
    "ON CONFLICT (client_id) DO UPDATE SET version = excluded.version, head = excluded.head"
)
_ID_CHUNK = 500  # well under SQLite's limit on bound parameters


def path_from_url(url: str) -> str:
    """The file path in a ``sqlite:///path`` URL (a bare path is returned as is)."""
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if "://" in url:
        raise StoreError("a SQLite store URL has the form sqlite:///path/to/file.db")
    return url


def _parse_time(value: object, client_id: object, version: object, column: str) -> dt.datetime:
    try:
        if not isinstance(value, str):
            raise TypeError
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(
            f"stored event {client_id} version {version}: {column} is not a date and time; "
            "the row was changed outside fama (run `fama verify`)"
        ) from None
    # fama writes every time with its zone; one without was written around fama: read it as
    # UTC, the zone fama stores in (verify reports the row all the same).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _row(r: tuple[Any, ...]) -> StoredEvent:
    """A stored row as a :class:`StoredEvent`; a row changed outside fama is a
    :class:`StoreError` naming the stream, version and column, never the value."""
    try:
        recorded_at = _FROM_ISO(r[6])
        stored_at = _FROM_ISO(r[7])
        if (
            type(r[1]) is int
            and recorded_at.tzinfo is not None
            and stored_at.tzinfo is not None
            and type(r[9]) is str
            and type(r[10]) is str
        ):
            stored = r[8]
            if TOKEN_PREFIX in stored:
                payload = open_payload(stored, r[11], r[0], r[2])
            else:
                payload, stored = stored, ""
            return StoredEvent(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                _DATE_FROM_ISO(r[5]),
                recorded_at,
                stored_at,
                payload,
                r[9],
                r[10],
                stored,
            )
    except (TypeError, ValueError, StoreError):
        pass
    return _careful_row(r)  # only rows changed outside fama get here


_FROM_ISO = dt.datetime.fromisoformat
_DATE_FROM_ISO = dt.date.fromisoformat


def _careful_row(r: tuple[Any, ...]) -> StoredEvent:
    """:func:`_row` for a row that failed the fast path: read it, or return a stand-in whose
    :attr:`~fama_adapters.store.StoredEvent.problem` says which column failed and why (never
    the value), so one row changed outside fama does not stop an export or a replay."""
    try:
        return _strict_row(r)
    except StoreError as exc:
        never = dt.datetime.min.replace(tzinfo=dt.UTC)
        return StoredEvent(
            r[0] if isinstance(r[0], str) else "",
            r[1] if type(r[1]) is int else 0,
            r[2] if isinstance(r[2], str) else "",
            r[3] if isinstance(r[3], str) else "",
            r[4] if isinstance(r[4], str) else "",
            never.date(),
            never,
            never,
            "",
            problem=str(exc),
        )


def _strict_row(r: tuple[Any, ...]) -> StoredEvent:
    client_id, version = r[0], r[1]
    if not isinstance(client_id, str) or type(version) is not int:
        raise StoreError(
            "a stored event's stream or version is not of its type; the row was changed "
            "outside fama (run `fama verify`)"
        )
    try:
        if not isinstance(r[5], str):
            raise TypeError
        occurred_on = dt.date.fromisoformat(r[5])
    except (TypeError, ValueError):
        raise StoreError(
            f"stored event {client_id} version {version}: occurred_on is not a date; "
            "the row was changed outside fama (run `fama verify`)"
        ) from None
    for position, column in ((2, "event_id"), (3, "episode_id"), (4, "kind"), (8, "payload")):
        if not isinstance(r[position], str):
            raise StoreError(
                f"stored event {client_id} version {version}: {column} is not text; "
                "the row was changed outside fama (run `fama verify`)"
            )
    payload = open_payload(r[8], r[11] if isinstance(r[11], bytes) else None, client_id, r[2])
    return StoredEvent(
        client_id,
        version,
        r[2],
        r[3],
        r[4],
        occurred_on,
        _parse_time(r[6], client_id, version, "recorded_at"),
        _parse_time(r[7], client_id, version, "stored_at"),
        payload,
        r[9] if isinstance(r[9], str) else "",
        r[10] if isinstance(r[10], str) else "",
        r[8] if payload != r[8] else "",
    )


class SqliteEventStore:
    """The event log in one SQLite file; safe to share between threads and processes.

    ``migrate`` (default): a store of an older layout is brought to
    :data:`SCHEMA_VERSION` when opened; without it, an older store is a
    :class:`StoreError` that says to run ``fama migrate``. :attr:`layout` is
    the layout after opening, :attr:`migrated_from` the one found (``None``
    when nothing was migrated).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        migrate: bool = True,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise StoreError("synchronous must be FULL, NORMAL or EXTRA")
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self.layout = 0
        self.migrated_from: int | None = None
        if not create and not self.path.is_file():
            raise StoreError(f"no fama store at {self.url}; create it with `fama init`")
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot be opened ({type(exc).__name__})") from None
        try:
            self._conn.execute(f"PRAGMA synchronous={synchronous}")
            self._prepare(create, migrate)
        except sqlite3.DatabaseError:
            self._conn.close()
            raise StoreError(
                f"{self.url}: not a usable SQLite file (damaged, or not SQLite at all)"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; each append says BEGIN IMMEDIATE.
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        # Deleted content (an erased client's key, plain text re-sealed by a migration) is
        # overwritten with zeros, not left in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def _tables(self) -> set[str]:
        return {
            name
            for (name,) in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }

    def _prepare(self, create: bool, migrate: bool) -> None:
        conn = self._conn
        (user_version,) = conn.execute("PRAGMA user_version").fetchone()
        tables = self._tables()
        if "fama_events" not in tables:
            if tables or user_version:
                raise StoreError(
                    f"{self.url} is another application's SQLite database, not a fama store; "
                    "fama keeps its store in a file of its own"
                )
            if not create:
                raise StoreError(f"{self.url} is not a fama store; create it with `fama init`")
            self._switch_to_wal()
            self._create()
            return
        columns = tuple(r[1] for r in conn.execute("PRAGMA table_info(fama_events)"))
        sql.check_layout(self.url, user_version, columns, SCHEMA_VERSION)
        self._switch_to_wal()
        self.layout = user_version
        if user_version < SCHEMA_VERSION:
            if not migrate:
                sql.refuse_unmigrated(
                    self.url, user_version, SCHEMA_VERSION, backup="take a `fama backup`"
                )
            self._migrate()

    def _switch_to_wal(self) -> None:
        if self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
            raise StoreError(f"{self.url}: the SQLite file could not switch to WAL mode")

    def _create(self) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if "fama_events" in self._tables():  # another process made it meanwhile
                conn.execute("ROLLBACK")
                self._prepare(create=False, migrate=True)
                return
            for statement in LAYOUT_1:
                conn.execute(statement)
            conn.execute("PRAGMA user_version = 1")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.layout = 1
        self._migrate(record_from=False)

    def _migrate(self, *, record_from: bool = True) -> None:
        """Run each pending migration in a transaction of its own, re-reading the layout under
        the write lock (another process may have migrated meanwhile)."""
        conn = self._conn
        found = self.layout
        seen = [found]  # the layout last read, for the message when a step fails

        @contextmanager
        def step() -> Iterator[int]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                (seen[0],) = conn.execute("PRAGMA user_version").fetchone()
                yield seen[0]
                conn.execute("COMMIT" if seen[0] < SCHEMA_VERSION else "ROLLBACK")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(
                    f"{self.url}: the migration from layout {seen[0]} to {seen[0] + 1} failed "
                    f"({type(exc).__name__}); nothing of it was applied"
                ) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        def apply(layout: int) -> None:
            conn.execute(_MIGRATIONS_TABLE)
            MIGRATIONS[layout](conn)
            conn.execute(
                "INSERT INTO fama_migrations (layout, applied_at, fama_version) VALUES (?, ?, ?)",
                (layout + 1, utc_now().isoformat(), fama_version),
            )
            conn.execute(f"PRAGMA user_version = {layout + 1}")

        sql.migrate_forward(step, apply, SCHEMA_VERSION)
        (self.layout,) = conn.execute("PRAGMA user_version").fetchone()
        if found < 3 <= self.layout:
            # Layout 3 sealed the plain text: rebuild the file and empty the WAL, so no page
            # of the file or its WAL keeps what was there before.
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if record_from and found < self.layout:
            self.migrated_from = found

    # ------------------------------------------------------------------ writing

    def _stored(self, ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            for event_id, client_id, payload, key in self._conn.execute(
                "SELECT e.event_id, e.client_id, e.payload, k.key FROM fama_events e "
                "LEFT JOIN fama_keys k ON k.client_id = e.client_id "
                f"WHERE e.event_id IN ({marks})",
                chunk,
            ):
                found[event_id] = (client_id, open_payload(payload, key, client_id, event_id))
        return found

    def _head(self, client_id: str) -> tuple[int, str]:
        row = self._conn.execute(
            "SELECT version, head FROM fama_streams WHERE client_id = ?", (client_id,)
        ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def _version(self, client_id: str) -> int:
        return self._head(client_id)[0]

    def _erased(self, client_id: str) -> bool:
        return bool(
            self._conn.execute(
                "SELECT 1 FROM fama_erasures WHERE client_id = ?", (client_id,)
            ).fetchone()
        )

    def _key_for(self, client_id: str, now: str) -> bytes:
        """The client's key, made on its first event; an erased client takes no new events."""
        row = self._conn.execute(
            "SELECT key FROM fama_keys WHERE client_id = ?", (client_id,)
        ).fetchone()
        if row is not None:
            return bytes(row[0])
        if self._erased(client_id):
            raise ClientErased(client_id=client_id)
        key = new_key()
        self._conn.execute(
            "INSERT INTO fama_keys (client_id, key, created_at) VALUES (?, ?, ?)",
            (client_id, key, now),
        )
        return key

    def erase(self, client_id: str, *, expected_version: int | None = None) -> Erasure:
        """Make the client's personal text unreadable for good: delete its key.

        Events keep their ids, codes and dates (counts and NDTMS history still
        add up; the chain still verifies); every personal text then reads as
        ``[erased]``. ``secure_delete`` zeroes the key's bytes in the page, and
        the WAL is checkpointed and truncated, so neither the file nor its WAL
        keeps the key. Erasing again reports the first erasure.

        ``expected_version``, when given, is checked inside the same ``BEGIN
        IMMEDIATE`` transaction as the erasure: a stream that moved on since
        its version was read raises
        :class:`~fama_core.errors.ConcurrencyConflict` and nothing is erased.
        """
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                check_expected_version(client_id, expected_version, self._version(client_id))
                done = conn.execute(
                    "SELECT erased_at, events FROM fama_erasures WHERE client_id = ?",
                    (client_id,),
                ).fetchone()
                if done is not None:
                    conn.execute("ROLLBACK")
                    return Erasure(client_id, int(done[1]), str(done[0]), already=True)
                events = self._version(client_id)
                if events == 0:
                    raise StoreError(f"no events for client {client_id} in {self.url}")
                erased_at = utc_now().isoformat()
                conn.execute("DELETE FROM fama_keys WHERE client_id = ?", (client_id,))
                conn.execute(
                    "INSERT INTO fama_erasures (client_id, erased_at, events, fama_version) "
                    "VALUES (?, ?, ?, ?)",
                    (client_id, erased_at, events, fama_version),
                )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"{self.url}: erase failed ({type(exc).__name__})") from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return Erasure(client_id, events, erased_at, already=False, wal_cleared=not busy)

    def erasure(self, client_id: str) -> Erasure | None:
        """When the client was erased (``None`` when it was not)."""
        with self._lock:
            row = self._reading(
                "read",
                lambda: self._conn.execute(
                    "SELECT erased_at, events FROM fama_erasures WHERE client_id = ?",
                    (client_id,),
                ).fetchone(),
            )
        return None if row is None else Erasure(client_id, int(row[1]), str(row[0]), already=True)

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
        any batch is written. Each new event is chained to the stream's head,
        and the head moves in the same transaction.
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
                moment = utc_now()
                now = moment.isoformat()
                heads: list[tuple[str, int, str]] = []
                for batch, expected in prepared:
                    current = client_id = batch.client_id
                    plan = plan_append(client_id, batch, self._stored)
                    version, head = self._head(client_id)
                    if plan.new:
                        check_expected_version(client_id, expected, version)
                        rows = sql.seal_and_chain(
                            client_id,
                            version,
                            head,
                            moment,
                            plan.new,
                            key_for=lambda: self._key_for(client_id, now),  # noqa: B023
                            erased=lambda: self._erased(client_id),  # noqa: B023
                        )
                        conn.executemany(
                            _INSERT,
                            sql.insert_params(client_id, rows, now, text_dates=True),
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
                    conn.executemany(_HEAD_UPSERT, heads)
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

    def _reading(self, what: str, operation: Callable[[], Any]) -> Any:
        try:
            return operation()
        except sqlite3.Error as exc:
            raise StoreError(
                f"{self.url}: {what} failed ({type(exc).__name__}); the file may be damaged: "
                "run `fama verify`"
            ) from None

    def read(self, client_id: str, *, after: int = 0) -> list[StoredEvent]:
        """The stream's events after version ``after``, in order."""
        with self._lock:
            rows = self._reading(
                "read",
                lambda: self._conn.execute(
                    f"{_SELECT} WHERE e.client_id = ? AND e.version > ? ORDER BY e.version",
                    (client_id, after),
                ).fetchall(),
            )
        return [_row(r) for r in rows]

    def version(self, client_id: str) -> int:
        """How many events the client's stream holds."""
        with self._lock:
            return int(self._reading("read", lambda: self._version(client_id)))

    def stream_all(self, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Every event ordered by client and version, through a reader of its own.

        The reader's one ``SELECT`` holds a WAL snapshot for as long as the
        iteration lasts, so the export is consistent and writers carry on.
        """
        conn = self._connect()
        try:
            try:
                cursor = conn.execute(_SELECT + _ORDER)
                while rows := cursor.fetchmany(batch_size):
                    for r in rows:
                        yield _row(r)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.url}: reading the store failed ({type(exc).__name__}); "
                    "the file may be damaged: run `fama verify`"
                ) from None
        finally:
            conn.close()

    def report_ledger(self) -> list[LedgerEntry]:
        """Every report ledger entry, in release order."""
        with self._lock:
            rows = self._reading(
                "read the report ledger",
                lambda: self._conn.execute(
                    "SELECT number, released_at, question, answer, records "
                    "FROM fama_report_ledger ORDER BY number"
                ).fetchall(),
            )
        return [
            LedgerEntry(int(n), _parse_time(at, "report ledger", n, "released_at"), q, a, r)
            for n, at, q, a, r in rows
        ]

    def add_to_ledger(
        self, question: str, answer: str, records: str, *, expected: int
    ) -> LedgerEntry:
        """Append a report ledger entry in one ``BEGIN IMMEDIATE`` transaction (see
        :class:`~fama_adapters.store.ReportLedger`)."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                (count,) = conn.execute(
                    "SELECT COALESCE(MAX(number), 0) FROM fama_report_ledger"
                ).fetchone()
                if count != expected:
                    conn.execute("ROLLBACK")
                    raise ledger_conflict(expected, int(count))
                now = utc_now()
                conn.execute(
                    "INSERT INTO fama_report_ledger "
                    "(number, released_at, question, answer, records, fama_version) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (expected + 1, now.isoformat(), question, answer, records, fama_version),
                )
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(
                    f"{self.url}: writing the report ledger failed ({type(exc).__name__})"
                ) from None
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return LedgerEntry(expected + 1, now, question, answer, records)

    def stats(self) -> StoreStats:
        """How many clients and events are held."""
        with self._lock:
            clients, events = self._reading(
                "read",
                lambda: self._conn.execute(
                    "SELECT COUNT(DISTINCT client_id), COUNT(*) FROM fama_events"
                ).fetchone(),
            )
        return StoreStats(int(clients), int(events))

    # ------------------------------------------------------------------ checking

    def verify(self) -> VerifyReport:
        """Check the file (``PRAGMA quick_check``), every hash chain and every head.

        Reads one snapshot through a connection of its own; rows changed so
        that they no longer read as events are reported, not raised.
        """
        conn = self._connect()
        damaged: list[IntegrityProblem] = []
        try:
            conn.execute("BEGIN")  # one snapshot for the rows and the heads
            try:
                (check,) = conn.execute("PRAGMA quick_check(1)").fetchone()
                if str(check).lower() != "ok":
                    damaged.append(
                        IntegrityProblem(
                            "", None, "damaged", "SQLite's own check of the file failed"
                        )
                    )
                heads = sql.heads_from(conn.execute(sql.HEADS))

                def events() -> Iterator[StoredEvent]:
                    for r in conn.execute(_SELECT + _ORDER):
                        row = _row(r)
                        if row.problem:
                            damaged.append(_unreadable(r, row.problem))
                        else:
                            yield row

                report = verify_events(events(), heads, damaged)
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.url}: the store could not be read to the end "
                    f"({type(exc).__name__}): the file is damaged"
                ) from None
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
        return report

    def backup(self, target: str | Path) -> VerifyReport:
        """Copy the store to ``target`` (a new file) while writers carry on, and verify the copy.

        SQLite's online backup copies one consistent snapshot through a
        connection of its own; appends made meanwhile are simply not in it. The
        copy is a single file (rollback journal, not WAL) ready to be archived.
        Returns the copy's :meth:`verify` report (its seal names what it holds).
        """
        target = Path(target)
        if target.exists():
            raise StoreError("the backup file exists already; fama never overwrites one")
        source = self._connect()
        try:
            dest = sqlite3.connect(target)
            try:
                source.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
        except sqlite3.Error as exc:
            target.unlink(missing_ok=True)
            raise StoreError(f"{self.url}: backup failed ({type(exc).__name__})") from None
        finally:
            source.close()
        return _verify_file(target)

    @classmethod
    def restore(cls, backup: str | Path, path: str | Path) -> VerifyReport:
        """Make a new store at ``path`` from a backup file, after verifying the backup.

        Refuses when ``path`` exists (move the damaged store aside first, for
        the record) or when the backup does not verify. A backup of an older
        layout is migrated when the restored store is opened. A ``backup`` that
        is not a file raises :class:`FileNotFoundError` (or
        :class:`IsADirectoryError`), as opening it would.
        """
        backup, path = Path(backup), Path(path)
        if not backup.is_file():  # the command line names the argument, exit 2
            missing = errno.EISDIR if backup.is_dir() else errno.ENOENT
            raise OSError(missing, os.strerror(missing), str(backup))
        if path.exists():
            raise StoreError(
                "a store exists at the restore path; move it aside first (fama never "
                "overwrites a store)"
            )
        report = _verify_file(backup, check_only=True)
        if not report.ok:
            raise StoreError(
                f"the backup does not verify ({len(report.problems)} problems); "
                "run `fama verify` on it to see them; nothing was restored"
            )
        try:
            source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
            dest = sqlite3.connect(path)
            try:
                source.backup(dest)
            finally:
                dest.close()
                source.close()
        except sqlite3.Error as exc:
            path.unlink(missing_ok=True)
            raise StoreError(f"restore failed ({type(exc).__name__})") from None
        with cls(path, create=False) as store:
            return store.verify()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _verify_file(path: Path, *, check_only: bool = False) -> VerifyReport:
    """Verify a backup file, leaving it a single file in rollback-journal mode.

    ``check_only`` verifies a copy made in a temporary folder, so the backup
    itself is never migrated or changed.
    """
    if check_only:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="fama-verify-") as tmp:
            copy = Path(tmp) / "copy.db"
            source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            dest = sqlite3.connect(copy)
            try:
                source.backup(dest)
            except sqlite3.Error:
                raise StoreError("the backup is not a usable SQLite file") from None
            finally:
                dest.close()
                source.close()
            return _verify_file(copy)
    with SqliteEventStore(path, create=False) as store:
        report = store.verify()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()
    return report


def _unreadable(r: tuple[Any, ...], message: str) -> IntegrityProblem:
    client_id = r[0] if isinstance(r[0], str) else ""
    version = r[1] if type(r[1]) is int else None
    detail = message.split(": ", 1)[1] if ": " in message else message
    return IntegrityProblem(client_id, version, "edited", detail)
