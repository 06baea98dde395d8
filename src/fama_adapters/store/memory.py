"""An event store in memory: for tests, adapter authors and dry runs (``memory://``).

It meets the whole :class:`~fama_adapters.store.EventStore` contract (the
contract tests run against it) but keeps nothing after the process ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

from fama_adapters.store import (
    AppendResult,
    StoredEvent,
    StoreStats,
    check_expected_version,
    plan_append,
    prepare_batch,
    utc_now,
)
from fama_core.events import Event

__all__ = ["MemoryEventStore"]


class MemoryEventStore:
    """A thread-safe event store held in a dict of lists."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._streams: dict[str, list[StoredEvent]] = {}
        self._by_id: dict[str, StoredEvent] = {}

    def _stored(self, ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
        found = (self._by_id.get(i) for i in ids)
        return {e.event_id: (e.client_id, e.payload) for e in found if e is not None}

    def append(
        self, client_id: str, events: Sequence[Event], *, expected_version: int | None
    ) -> AppendResult:
        """Store a batch atomically (see :class:`~fama_adapters.store.EventStore`)."""
        prepared = prepare_batch(client_id, events)
        with self._lock:
            stream = self._streams.get(client_id, [])
            plan = plan_append(client_id, prepared, self._stored)
            if plan.new:
                check_expected_version(client_id, expected_version, len(stream))
            now = utc_now()
            rows = [
                StoredEvent(
                    client_id,
                    len(stream) + i,
                    e.event_id,
                    e.episode_id,
                    e.kind,
                    e.occurred_on,
                    e.recorded_at,
                    now,
                    payload,
                )
                for i, (e, payload) in enumerate(plan.new, start=1)
            ]
            if rows:
                self._streams[client_id] = [*stream, *rows]
                self._by_id.update((r.event_id, r) for r in rows)
            return AppendResult(
                client_id,
                len(stream) + len(rows),
                tuple(r.event_id for r in rows),
                plan.duplicates,
            )

    def read(self, client_id: str, *, after: int = 0) -> list[StoredEvent]:
        """The stream's events after version ``after``, in order."""
        with self._lock:
            return list(self._streams.get(client_id, [])[after:])

    def version(self, client_id: str) -> int:
        """How many events the client's stream holds."""
        with self._lock:
            return len(self._streams.get(client_id, ()))

    def stream_all(self, *, batch_size: int = 1000) -> Iterator[StoredEvent]:
        """Every event ordered by client and version, from a snapshot taken now."""
        with self._lock:
            snapshot = [(c, list(s)) for c, s in sorted(self._streams.items())]
        for _client, stream in snapshot:
            yield from stream

    def stats(self) -> StoreStats:
        """How many clients and events are held."""
        with self._lock:
            return StoreStats(len(self._streams), len(self._by_id))

    def close(self) -> None:
        """Nothing to release."""
