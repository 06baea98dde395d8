"""Small factories of events for the store tests (the stores do not judge the workflow)."""

from __future__ import annotations

import datetime as dt

from fama_core.events import EpisodeOpened

DAY = dt.date(2026, 3, 2)
AT = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


def event(client: str, tag: str, *, keyworker: str = "kw-1") -> EpisodeOpened:
    """An event whose id is ``client-tag``; change ``keyworker`` to change its content."""
    return EpisodeOpened(
        event_id=f"{client}-{tag}",
        client_id=client,
        episode_id=f"{client}-ep-{tag}",
        keyworker_id=keyworker,
        occurred_on=DAY,
        recorded_at=AT,
    )


def batch(client: str, prefix: str, size: int) -> list[EpisodeOpened]:
    """``size`` distinct events for ``client`` tagged ``prefix-0`` …"""
    return [event(client, f"{prefix}-{i}") for i in range(size)]
