"""What the SQL event stores share: layouts, the migration loop, chaining and sealing, heads.

The SQLite store (:mod:`fama_adapters.store.sqlite`) and the PostgreSQL store
(:mod:`fama_adapters.store.postgres`) keep the same tables in two SQL
dialects. Their statements differ (placeholders, types, locks); the logic
around them does not, and lives here once:

* :data:`LAYOUT_COLUMNS`: the columns of ``fama_events`` in each layout;
  :func:`check_layout`, which refuses a newer layout or a table that is not
  fama's, and :func:`refuse_unmigrated`, an older layout when migrating is
  not allowed;
* :func:`migrate_forward`: each pending migration in a transaction of its own,
  the layout re-read under the write lock (another process may have
  migrated meanwhile);
* :func:`chain_existing`: the layout 2 backfill, chaining every stored stream
  as found;
* :func:`seal_and_chain`: the rows of one append, personal text sealed under
  the client's key and each row chained to the one before;
* :data:`HEADS` and :func:`heads_from`: every stream's head, for ``verify``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from fama_adapters.store.integrity import GENESIS, chain, event_hash
from fama_adapters.store.shredding import needs_sealing, seal_payload
from fama_core.errors import ClientErased, StoreError
from fama_core.events import Event

__all__ = [
    "HEADS",
    "LAYOUT_COLUMNS",
    "check_layout",
    "chain_existing",
    "heads_from",
    "insert_params",
    "migrate_forward",
    "refuse_unmigrated",
    "seal_and_chain",
]

LAYOUT_COLUMNS: dict[int, tuple[str, ...]] = {
    1: (
        "position",
        "client_id",
        "version",
        "event_id",
        "episode_id",
        "kind",
        "occurred_on",
        "recorded_at",
        "stored_at",
        "payload",
    ),
}
"""The columns of ``fama_events``, in order, in each layout a store may be found in."""
LAYOUT_COLUMNS[2] = (*LAYOUT_COLUMNS[1], "prev_hash", "hash")
LAYOUT_COLUMNS[3] = LAYOUT_COLUMNS[2]
LAYOUT_COLUMNS[4] = LAYOUT_COLUMNS[3]  # layout 4 adds the report ledger, not columns

HEADS = "SELECT client_id, version, head FROM fama_streams"
"""Every stream's head: the same statement in both dialects."""


def check_layout(url: str, layout: int, columns: Sequence[str], newest: int) -> None:
    """Refuse a store this fama cannot read: a layout newer than ``newest`` (a newer fama
    wrote it), or a ``fama_events`` table whose ``columns`` are not those of its layout
    (another application's table)."""
    if layout > newest:
        raise StoreError(
            f"{url} was written by a newer fama (layout {layout}; this fama "
            f"knows up to {newest}); upgrade fama"
        )
    if tuple(columns) != LAYOUT_COLUMNS.get(layout):
        raise StoreError(
            f"{url} has a fama_events table that is not fama's (layout {layout} "
            "expects other columns); it is not a fama store"
        )


def refuse_unmigrated(url: str, layout: int, newest: int, *, backup: str) -> None:
    """Refuse to open a store of an older layout without migrating it; ``backup`` says how
    to take a backup first."""
    if layout < newest:
        raise StoreError(
            f"{url} is of layout {layout}; this fama writes layout "
            f"{newest}: run `fama migrate` ({backup} first)"
        )


def migrate_forward(
    step: Callable[[], AbstractContextManager[int]],
    apply: Callable[[int], None],
    newest: int,
) -> None:
    """Run each pending migration in a transaction of its own.

    ``step()`` opens one transaction under the store's write lock and yields
    the layout it finds there (another process may have migrated meanwhile);
    ``apply(layout)`` moves the store from ``layout`` to ``layout + 1`` and
    records it, inside that transaction. Stops when ``newest`` is reached.
    """
    while True:
        with step() as layout:
            if layout >= newest:
                return
            apply(layout)


def chain_existing(
    rows: Iterable[tuple[int, str, int, str, dt.datetime, str]],
) -> tuple[list[tuple[str, str, int]], dict[str, tuple[int, str]]]:
    """Chain events stored before layout 2, as found: tamper evidence starts there.

    ``rows`` are ``(position, client_id, version, event_id, stored_at,
    payload)`` ordered by stream and version. Returns each row's
    ``(prev_hash, hash, position)`` and each stream's head ``(version, hash)``.
    """
    heads: dict[str, tuple[int, str]] = {}
    updates: list[tuple[str, str, int]] = []
    for position, client_id, version, event_id, stored_at, payload in rows:
        prev = heads.get(client_id, (0, GENESIS))[1]
        current = event_hash(prev, client_id, version, event_id, stored_at, payload)
        updates.append((prev, current, position))
        heads[client_id] = (version, current)
    return updates, heads


def seal_and_chain(
    client_id: str,
    version: int,
    head: str,
    moment: dt.datetime,
    new: Sequence[tuple[Event, str]],
    key_for: Callable[[], bytes],
    erased: Callable[[], bool],
) -> list[tuple[int, Event, str, str, str]]:
    """The rows of one append to a stream at ``version`` whose last hash is ``head``.

    Each ``(event, payload)`` of ``new`` has its personal text sealed under
    the client's key (``key_for()``, asked once, only when some text needs
    it) and is chained to the one before. A stream whose client was erased
    (``erased()``, asked when no key was needed) takes no new events: the
    key's absence is what erasure means. Returns ``(version, event,
    payload, prev_hash, hash)`` per row, versions from ``version + 1``.
    """
    key: bytes | None = None
    sealed = []
    for e, payload in new:
        if needs_sealing(e.kind, payload):
            key = key or key_for()
            payload = seal_payload(payload, key, client_id, e.event_id)
        sealed.append((e, payload))
    if key is None and erased():
        raise ClientErased(client_id=client_id)
    links = chain(head, client_id, version + 1, moment, ((e.event_id, p) for e, p in sealed))
    return [
        (version + i, e, payload, prev, this)
        for i, ((e, payload), (prev, this)) in enumerate(zip(sealed, links, strict=True), start=1)
    ]


def heads_from(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[int, str]]:
    """Each stream's ``(version, head)`` from the rows of :data:`HEADS`."""
    return {str(c): (int(v), str(h)) for c, v, h in rows}


def insert_params(
    client_id: str,
    rows: Sequence[tuple[int, Event, str, str, str]],
    stored_at: object,
    *,
    text_dates: bool,
) -> list[tuple[object, ...]]:
    """The parameters of the ``fama_events`` insert for rows of :func:`seal_and_chain`.

    ``text_dates`` writes the event's dates as ISO 8601 text (SQLite keeps
    text); otherwise the driver gets date objects (PostgreSQL's own types).
    ``stored_at`` is the append's time as the store writes it.
    """
    return [
        (
            client_id,
            version,
            e.event_id,
            e.episode_id,
            e.kind,
            e.occurred_on.isoformat() if text_dates else e.occurred_on,
            e.recorded_at.isoformat() if text_dates else e.recorded_at,
            stored_at,
            payload,
            prev,
            this,
        )
        for version, e, payload, prev, this in rows
    ]
