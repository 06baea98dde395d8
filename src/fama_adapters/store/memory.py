"""An event store in memory: for tests, adapter authors and dry runs (``memory://``).

It meets the whole :class:`~fama_adapters.store.EventStore` contract (the
contract tests run against it) but keeps nothing after the process ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

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
    utc_now,
)
from fama_adapters.store.integrity import GENESIS, VerifyReport, chain, verify_events
from fama_adapters.store.shredding import needs_sealing, new_key, open_payload, seal_payload
from fama_core.errors import ClientErased, StoreError
from fama_core.events import Event

__all__ = ["MemoryEventStore"]


class MemoryEventStore:
    """A thread-safe event store held in a dict of lists."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._streams: dict[str, list[StoredEvent]] = {}
        self._by_id: dict[str, StoredEvent] = {}
        self._keys: dict[str, bytes] = {}
        self._erased: dict[str, Erasure] = {}
        self._ledger: list[LedgerEntry] = []

    def append(
        self, client_id: str, events: Sequence[Event], *, expected_version: int | None
    ) -> AppendResult:
        """Store a batch atomically (see :class:`~fama_adapters.store.EventStore`)."""
        return self.append_many([(client_id, events, expected_version)])[0]

    def append_many(
        self, batches: Sequence[tuple[str, Sequence[Event], int | None]]
    ) -> list[AppendResult]:
        """Store several clients' batches atomically, all or none."""
        prepared = prepare_batches(batches)
        with self._lock:
            added: dict[str, StoredEvent] = {}

            def stored(ids: Sequence[str]) -> Mapping[str, tuple[str, str]]:
                found = (added.get(i) or self._by_id.get(i) for i in ids)
                return {e.event_id: (e.client_id, e.payload) for e in found if e is not None}

            now = utc_now()
            new_keys: dict[str, bytes] = {}
            results: list[AppendResult] = []
            rows_by_client: dict[str, list[StoredEvent]] = {}
            for batch, expected in prepared:
                client_id = batch.client_id
                stream = self._streams.get(client_id, [])
                plan = plan_append(client_id, batch, stored)
                if plan.new:
                    check_expected_version(client_id, expected, len(stream))
                    if client_id in self._erased:
                        raise ClientErased(client_id=client_id)
                key = self._keys.get(client_id) or new_key()
                sealed = [
                    seal_payload(p, key, client_id, e.event_id) if needs_sealing(e.kind, p) else p
                    for e, p in plan.new
                ]
                if sealed:
                    new_keys[client_id] = key
                links = chain(
                    stream[-1].hash if stream else GENESIS,
                    client_id,
                    len(stream) + 1,
                    now,
                    ((e.event_id, seal) for (e, _), seal in zip(plan.new, sealed, strict=True)),
                )
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
                        prev,
                        this,
                        seal if seal != payload else "",
                    )
                    for i, ((e, payload), seal, (prev, this)) in enumerate(
                        zip(plan.new, sealed, links, strict=True), start=1
                    )
                ]
                added.update((r.event_id, r) for r in rows)
                rows_by_client[client_id] = rows
                results.append(
                    AppendResult(
                        client_id,
                        len(stream) + len(rows),
                        tuple(r.event_id for r in rows),
                        plan.duplicates,
                    )
                )
            for client_id, rows in rows_by_client.items():  # every batch passed: commit
                if rows:
                    self._streams[client_id] = [*self._streams.get(client_id, []), *rows]
            self._by_id.update(added)
            self._keys.update(new_keys)
            return results

    def erase(self, client_id: str, *, expected_version: int | None = None) -> Erasure:
        """Forget the client's key: its personal text reads as erased from now on.

        ``expected_version``, when given, is checked under the same lock as the
        erasure: a stream that moved on since its version was read raises
        :class:`~fama_core.errors.ConcurrencyConflict` and nothing is erased.
        """
        with self._lock:
            check_expected_version(
                client_id, expected_version, len(self._streams.get(client_id, ()))
            )
            done = self._erased.get(client_id)
            if done is not None:
                return done
            stream = self._streams.get(client_id)
            if not stream:
                raise StoreError(f"no events for client {client_id} in {self.url}")
            self._keys.pop(client_id, None)
            erased = [
                replace(e, payload=open_payload(e.stored, None, client_id, e.event_id))
                if e.stored
                else e
                for e in stream
            ]
            self._streams[client_id] = erased
            self._by_id.update((e.event_id, e) for e in erased)
            result = Erasure(client_id, len(stream), utc_now().isoformat())
            self._erased[client_id] = replace(result, already=True)
            return result

    def erasure(self, client_id: str) -> Erasure | None:
        """When the client was erased (``None`` when it was not)."""
        with self._lock:
            return self._erased.get(client_id)

    def report_ledger(self) -> list[LedgerEntry]:
        """Every report ledger entry, in release order."""
        with self._lock:
            return list(self._ledger)

    def add_to_ledger(
        self, question: str, answer: str, records: str, *, expected: int
    ) -> LedgerEntry:
        """Append a report ledger entry (see :class:`~fama_adapters.store.ReportLedger`)."""
        with self._lock:
            if len(self._ledger) != expected:
                raise ledger_conflict(expected, len(self._ledger))
            entry = LedgerEntry(expected + 1, utc_now(), question, answer, records)
            self._ledger.append(entry)
            return entry

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

    def verify(self) -> VerifyReport:
        """Check every stream's hash chain (see :mod:`fama_adapters.store.integrity`)."""
        with self._lock:
            heads = {c: (len(s), s[-1].hash) for c, s in self._streams.items() if s}
        return verify_events(self.stream_all(), heads)

    def close(self) -> None:
        """Nothing to release."""
