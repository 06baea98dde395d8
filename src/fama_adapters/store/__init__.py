"""The event-store contract: how fama's event log is kept, whoever keeps it.

A store holds one append-only *stream* per client (the stream's name is the
``client_id``); a stream's *version* is the number of events stored in it, so
the events of a stream carry the dense versions 1, 2, 3 …. Every store, built
in or a vendor's, satisfies :class:`EventStore`:

* ``append(client_id, events, expected_version=v)`` stores a batch atomically:
  all of it or none of it. When ``v`` is not the stream's version another
  writer got there first: :class:`~fama_core.errors.ConcurrencyConflict`, and
  nothing of the batch is written. ``None`` skips the check.
* An event's ``event_id`` is its idempotency key. The same event sent again is
  stored once and reported in :attr:`AppendResult.duplicates`; a *different*
  event under a used id is an :class:`~fama_core.errors.IdempotencyConflict`
  and nothing of the batch is written. A batch made only of events already
  stored succeeds whatever its expected version (so a writer that lost the
  acknowledgement can simply send the batch again).
* ``append_many([(client_id, events, expected_version), …])`` (optional: the
  built-in stores have it, the façade uses it when present) does the same for
  several clients in one transaction, all of it or none of it; imports use it
  so that a file of many clients costs a few commits, not one per client.
* ``read(client_id)`` gives a stream's events in version order;
  ``stream_all()`` every stream, ordered by client and version, without
  loading the log into memory (for exports and replays).

Stores do not judge events against the workflow: the façade
(:class:`fama_adapters.facade.Fama`) folds the stream, applies the batch with
:func:`fama_core.workflow.apply` and refuses with
:class:`~fama_core.errors.TransitionRefused` before anything is written.

Each stored event keeps its JSON (:func:`fama_core.events.event_to_json`) and
indexed columns (client, version, event id, episode, kind, dates). Stores
register through the ``fama_register_event_stores`` hook with a
:class:`StoreFactory` naming a URL scheme; :func:`open_store` opens a URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from fama_core.errors import ConcurrencyConflict, FamaError, IdempotencyConflict, StoreError
from fama_core.events import Event, event_from_json, event_to_json
from fama_core.personal import ERASED

if TYPE_CHECKING:
    from fama_adapters.plugins import PluginHost

__all__ = [
    "DEFAULT_STORE_URL",
    "BUILTIN_STORES",
    "AppendResult",
    "Erasure",
    "EventStore",
    "LedgerEntry",
    "ReportLedger",
    "PlannedAppend",
    "PreparedBatch",
    "StoreFactory",
    "StoreStats",
    "StoredEvent",
    "check_expected_version",
    "iter_streams",
    "ledger_conflict",
    "open_store",
    "plan_append",
    "prepare_batch",
    "prepare_batches",
    "redact_url",
    "utc_now",
]

DEFAULT_STORE_URL = "sqlite:///fama.db"
"""The store used when neither ``--store`` nor ``FAMA_STORE`` names one."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as a store keeps it: the event's JSON and its indexed columns."""

    client_id: str
    version: int
    """Position in the client's stream, from 1, dense."""
    event_id: str
    episode_id: str
    kind: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    stored_at: dt.datetime
    """When the store accepted it (UTC)."""
    payload: str
    """The event as :func:`fama_core.events.event_to_json` wrote it."""
    prev_hash: str = ""
    """The hash of the event before it in the stream (:mod:`~fama_adapters.store.integrity`);
    empty from a store that keeps no hash chain."""
    hash: str = ""
    """This event's hash, chained to ``prev_hash``; empty from a store that keeps none."""
    stored: str = ""
    """The JSON exactly as stored, when it differs from :attr:`payload` (personal text
    encrypted: :mod:`~fama_adapters.store.shredding`); the hash covers this form."""

    problem: str = ""
    """Set when the stored row no longer reads as an event (changed outside fama): which
    column and why, never the value; :meth:`event` then raises it as a
    :class:`~fama_core.errors.StoreError`, so a replay reports the client and carries on."""

    @property
    def stored_payload(self) -> str:
        """The JSON exactly as stored (what the hash chain covers)."""
        return self.stored or self.payload

    def event(self) -> Event:
        """Decode the stored JSON back into its :data:`~fama_core.events.Event`."""
        if self.problem:
            raise StoreError(self.problem)
        return event_from_json(self.payload, record=f"stored event {self.event_id}")


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: the stream's version after it, what was new, what was repeated."""

    client_id: str
    version: int
    """The stream's version after the append."""
    stored: tuple[str, ...] = ()
    """Ids of the events written by this append, in order."""
    duplicates: tuple[str, ...] = ()
    """Ids of events already stored (or repeated within the batch): not written again."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """What erasing a client did (or, with ``already``, what an earlier erasure did)."""

    client_id: str
    events: int
    """How many events the stream held when it was erased (they stay, their text unreadable)."""
    erased_at: str
    """When, in UTC, ISO 8601."""
    already: bool = False
    """The client had been erased before; nothing more was done."""
    wal_cleared: bool = True
    """The store's write-ahead log was emptied afterwards (``False``: a reader held it; run
    ``fama erase`` again, or checkpoint, once readers are gone)."""


@dataclass(frozen=True, slots=True)
class StoreStats:
    """How much a store holds."""

    clients: int
    events: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One answer ``fama serve`` gave to ``GET /v1/report``, kept so no later answer undoes it.

    The ledger keeps released figures, never client data: ``answer`` is the
    published access figures (withheld counts are ``null``), ``question`` what
    was asked (period, threshold, protection), ``records`` a digest of the
    records the answer came from (``fama_adapters.report.ledger``). Entries are
    numbered 1, 2, 3 … in the order they were released and never change.
    """

    number: int
    released_at: dt.datetime
    """When the store accepted the entry (UTC)."""
    question: str
    answer: str
    records: str


@runtime_checkable
class ReportLedger(Protocol):
    """A store that also keeps the report ledger (the built-in stores do; ``docs/decisions.md``
    Q1): in the same database as the events, so it survives restarts and every instance of
    the service over that database shares it."""

    def report_ledger(self) -> list[LedgerEntry]:
        """Every entry, in release order."""
        ...

    def add_to_ledger(
        self, question: str, answer: str, records: str, *, expected: int
    ) -> LedgerEntry:
        """Append one entry, numbered ``expected + 1``.

        ``expected`` is how many entries the caller computed its answer knowing; when another
        entry was added since, :class:`~fama_core.errors.ConcurrencyConflict` (stream
        ``report ledger``) and nothing is written: compute again knowing it.
        """
        ...


def ledger_conflict(expected: int, actual: int) -> ConcurrencyConflict:
    """The conflict a ledger append raises when ``actual`` entries exist, not ``expected``."""
    return ConcurrencyConflict(stream="report ledger", expected=expected, actual=actual)


@runtime_checkable
class EventStore(Protocol):
    """The contract every fama event store meets (see the module docstring)."""

    url: str
    """Where the store is, without any password (safe to print)."""

    def append(
        self, client_id: str, events: Sequence[Event], *, expected_version: int | None
    ) -> AppendResult:
        """Store ``events`` (all for ``client_id``) atomically after version ``expected_version``.

        Raises :class:`~fama_core.errors.ConcurrencyConflict` when the stream is
        not at ``expected_version`` (``None``: no check) and the batch holds a
        new event; :class:`~fama_core.errors.IdempotencyConflict` when an id
        is reused for a different event; :class:`~fama_core.errors.StoreError`
        when an event is for another client or the store fails. In every one
        of these cases nothing of the batch is written. An empty batch writes
        nothing and returns the current version.
        """
        ...

    def read(self, client_id: str, *, after: int = 0) -> list[StoredEvent]:
        """The stream's events with version greater than ``after``, in version order."""
        ...

    def version(self, client_id: str) -> int:
        """The stream's version: how many events it holds (0 for an unknown client)."""
        ...

    def stream_all(self, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Every stored event ordered by ``(client_id, version)``, read lazily.

        The iteration sees one consistent snapshot of the store; appends made
        while it runs are not part of it.
        """
        ...

    def stats(self) -> StoreStats:
        """How many clients and events the store holds."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class StoreFactory:
    """A kind of store a plugin provides, opened by URL scheme."""

    scheme: str
    """URL scheme (``sqlite``, ``postgresql``); unique across plugins."""
    description: str
    open: Callable[[str, bool], EventStore]
    """``open(url, create)``: open the store at ``url``; with ``create`` make it
    when absent, without it raise :class:`~fama_core.errors.StoreError`. A store
    of an older layout is migrated forward when opened."""
    layout: Callable[[str], tuple[int, int]] | None = None
    """``layout(url)``: the store's layout and the one this fama writes, read
    without changing anything (``fama migrate --check``); ``None`` for a store
    that has no layouts."""


def redact_url(url: str) -> str:
    """``url`` safe for messages and logs: :func:`fama_adapters.net.mask_url`.

    The password of user info and any secret-looking query parameter
    (``?password=``, ``?sslpassword=``) are replaced by ``***``.
    """
    from fama_adapters.net import mask_url

    return mask_url(url)


def _sqlite_layout(url: str) -> tuple[int, int]:
    import sqlite3
    from pathlib import Path

    from fama_adapters.store.sqlite import SCHEMA_VERSION, path_from_url

    path = Path(path_from_url(url))
    if not path.is_file():
        raise StoreError(f"no fama store at {url}; create it with `fama init`")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            (layout,) = conn.execute("PRAGMA user_version").fetchone()
            (events,) = conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'fama_events'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        raise StoreError(f"{url}: not a usable SQLite file (damaged, or not SQLite)") from None
    if not events:
        raise StoreError(f"{url} is not a fama store")
    return int(layout), SCHEMA_VERSION


def _postgres_layout(url: str) -> tuple[int, int]:
    from fama_adapters.store.postgres import SCHEMA_VERSION, PostgresEventStore

    return PostgresEventStore.layout_at(url), SCHEMA_VERSION


def _open_sqlite(url: str, create: bool) -> EventStore:
    from pathlib import Path

    from fama_adapters.store.sqlite import SqliteEventStore, path_from_url

    path = path_from_url(url)
    if create:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteEventStore(path, create=create)


def _open_postgres(url: str, create: bool) -> EventStore:
    from fama_adapters.store.postgres import PostgresEventStore

    return PostgresEventStore(url, create=create)


def _open_memory(url: str, create: bool) -> EventStore:
    from fama_adapters.store.memory import MemoryEventStore

    return MemoryEventStore(url)


BUILTIN_STORES: Mapping[str, StoreFactory] = {
    "sqlite": StoreFactory(
        "sqlite", "one SQLite file (the embedded default)", _open_sqlite, _sqlite_layout
    ),
    "postgresql": StoreFactory(
        "postgresql", "a PostgreSQL database (psycopg 3)", _open_postgres, _postgres_layout
    ),
    "postgres": StoreFactory(
        "postgres", "a PostgreSQL database (psycopg 3)", _open_postgres, _postgres_layout
    ),
    "memory": StoreFactory("memory", "in memory, gone when the command ends", _open_memory),
}
"""The stores that ship with fama, by scheme (the ``store`` plugin registers these)."""


def open_store(url: str, *, create: bool = False, host: PluginHost | None = None) -> EventStore:
    """Open the store at ``url`` through the plugin whose scheme it names.

    A value with no ``scheme://`` is taken as a SQLite file path. ``host`` is
    a :class:`~fama_adapters.plugins.PluginHost`; without one, a built-in
    scheme (``sqlite``, ``postgresql``, ``memory``) opens without loading any
    plugin (no plugin may claim those schemes), and another scheme loads the
    plugins to find it. An unknown scheme is a
    :class:`~fama_core.errors.StoreError` listing the known ones.

    >>> store = open_store("memory://")
    >>> store.version("c-1")
    0
    """
    if "://" not in url:
        url = "sqlite:///" + url
    scheme = url.partition("://")[0].lower()
    if host is None and scheme in BUILTIN_STORES:
        return BUILTIN_STORES[scheme].open(url, create)
    from fama_adapters.plugins import PluginHost

    factories: Mapping[str, StoreFactory] = (host or PluginHost()).event_stores()
    factory = factories.get(scheme)
    if factory is None:
        known = ", ".join(sorted(factories)) or "none"
        raise StoreError(f"no event store for the scheme {scheme!r} (known: {known})")
    return factory.open(url, create)


@dataclass(frozen=True, slots=True)
class PlannedAppend:
    """What an append will write once its expected version is checked."""

    new: tuple[tuple[Event, str], ...]
    """Events to write, each with its JSON, in batch order."""
    duplicates: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch checked and encoded before any lock is taken: its distinct events and repeats."""

    client_id: str
    unique: tuple[tuple[Event, str], ...]
    """The first occurrence of each event id, with its JSON, in batch order."""
    repeats: tuple[str, ...]
    """Ids repeated within the batch with the same content."""


def prepare_batch(client_id: str, events: Iterable[Event]) -> PreparedBatch:
    """Check a batch on its own and encode it (stores do this before their transaction).

    An event for another client is a :class:`~fama_core.errors.StoreError`; an
    id repeated within the batch with other content is an
    :class:`~fama_core.errors.IdempotencyConflict`.
    """
    unique: list[tuple[Event, str]] = []
    seen: dict[str, str] = {}
    repeats: list[str] = []
    for position, event in enumerate(events):
        if event.client_id != client_id:
            raise StoreError(
                f"event {position} of the batch ({event.event_id}) is for another client "
                f"than the stream {client_id}; nothing was appended"
            )
        payload = event_to_json(event)
        previous = seen.get(event.event_id)
        if previous is None:
            seen[event.event_id] = payload
            unique.append((event, payload))
        elif previous == payload:
            repeats.append(event.event_id)
        else:
            raise IdempotencyConflict(event_id=event.event_id, event=event.kind)
    return PreparedBatch(client_id, tuple(unique), tuple(repeats))


def prepare_batches(
    batches: Iterable[tuple[str, Sequence[Event], int | None]],
) -> list[tuple[PreparedBatch, int | None]]:
    """:func:`prepare_batch` for each ``(client_id, events, expected_version)`` of an
    ``append_many``; naming one client twice is a :class:`~fama_core.errors.StoreError`."""
    prepared: list[tuple[PreparedBatch, int | None]] = []
    seen: set[str] = set()
    for client_id, events, expected in batches:
        if client_id in seen:
            raise StoreError(
                f"append_many names the stream {client_id} twice; nothing was appended"
            )
        seen.add(client_id)
        prepared.append((prepare_batch(client_id, events), expected))
    return prepared


def plan_append(
    client_id: str,
    events: PreparedBatch | Iterable[Event],
    stored: Callable[[Sequence[str]], Mapping[str, tuple[str, str]]],
) -> PlannedAppend:
    """Sort a batch into new events and duplicates; refuse reused ids. Shared by every store.

    ``events`` is a batch, or one already :func:`prepare_batch`-ed.
    ``stored(ids)`` returns, for those of ``ids`` already in the store, their
    ``(client_id, payload)``. A repeat of the same event (within the batch or
    of a stored one) is a duplicate; an id reused for different content is an
    :class:`~fama_core.errors.IdempotencyConflict`; an event for another
    client is a :class:`~fama_core.errors.StoreError`. Raises before anything
    is written.
    """
    batch = events if isinstance(events, PreparedBatch) else prepare_batch(client_id, events)
    if batch.client_id != client_id:
        raise StoreError(f"the batch was prepared for another stream than {client_id}")
    duplicates = list(batch.repeats)
    found = stored([event.event_id for event, _ in batch.unique]) if batch.unique else {}
    new: list[tuple[Event, str]] = []
    for event, payload in batch.unique:
        existing = found.get(event.event_id)
        if existing is None:
            new.append((event, payload))
        elif existing[0] == client_id and _same_event(existing[1], payload):
            duplicates.append(event.event_id)
        else:
            raise IdempotencyConflict(event_id=event.event_id, event=event.kind)
    return PlannedAppend(tuple(new), tuple(duplicates))


def _same_event(stored: str, payload: str) -> bool:
    """Whether a stored payload and a new one record the same event.

    Byte-equal is the common case. Otherwise the stored one may have been
    written by an older fama (without ``schema_version``, or of an older
    version): it is the same event when, read with today's code, it encodes
    to the same JSON.
    """
    if stored == payload:
        return True
    try:
        canonical = event_to_json(event_from_json(stored))
    except FamaError:
        return False
    if canonical == payload:
        return True
    if ERASED in stored:  # an erased client's event: the same if all but its erased text is
        from fama_adapters.store.shredding import erased_form

        return erased_form(canonical) == erased_form(payload)
    return False


def check_expected_version(client_id: str, expected: int | None, actual: int) -> None:
    """Raise :class:`~fama_core.errors.ConcurrencyConflict` unless ``expected`` is ``actual``.

    ``expected`` ``None`` means "whatever the version is" and always passes.
    """
    if expected is not None and expected != actual:
        raise ConcurrencyConflict(stream=client_id, expected=expected, actual=actual)


def iter_streams(events: Iterable[StoredEvent]) -> Iterator[tuple[str, list[StoredEvent]]]:
    """Group events ordered by client (as :meth:`EventStore.stream_all` yields them) by client."""
    for client_id, group in groupby(events, key=lambda e: e.client_id):
        yield client_id, list(group)


def utc_now() -> dt.datetime:
    """The current time in UTC (the ``stored_at`` of an append)."""
    return dt.datetime.now(dt.UTC)
