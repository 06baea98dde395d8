"""JSON-ready views of a client's FAMA record for people, free text redacted by default.

Free text (notes, goal descriptions, journal reactions, benefits and
disadvantages, agreed responses to obstacles) may hold special-category
health data about the client or others. Every view here replaces it with
:data:`REDACTED` unless the caller asks to ``reveal`` it; ids, codes, dates
and meeting names are shown as recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fama_adapters.store import StoredEvent
from fama_core.codes import CloseReason
from fama_core.state import STATE_ADAPTER, ClientState

__all__ = ["FREE_TEXT_KEYS", "REDACTED", "client_view", "history_view", "redact"]

REDACTED = "[redacted]"
"""What replaces free text in outputs for people."""

FREE_TEXT_KEYS: frozenset[str] = frozenset(
    {"note", "description", "reactions", "benefits", "disadvantages", "response", "reason"}
)
"""Keys whose values are free text in fama's records and state.

``reason`` is free text on ``client_declined``; where it is a code (an
``episode_closed`` reason) the code is kept.
"""

_CODES = frozenset(reason.value for reason in CloseReason)


def _hide(key: str, item: Any) -> Any:
    if isinstance(item, str):
        return item if key == "reason" and item in _CODES else REDACTED
    if isinstance(item, list):
        return [_hide(key, i) for i in item]
    return redact(item)


def redact(value: Any, *, reveal: bool = False) -> Any:
    """A copy of a JSON-ready ``value`` with the free text of :data:`FREE_TEXT_KEYS` replaced."""
    if reveal:
        return value
    if isinstance(value, dict):
        return {
            key: _hide(key, item) if key in FREE_TEXT_KEYS else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def history_view(history: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """One line per stored event: version, kind, dates and ids (no free text at all)."""
    return [
        {
            "version": e.version,
            "kind": e.kind,
            "occurred_on": e.occurred_on.isoformat(),
            "recorded_at": e.recorded_at.isoformat(),
            "event_id": e.event_id,
            "episode_id": e.episode_id,
        }
        for e in history
    ]


def client_view(
    state: ClientState, history: Sequence[StoredEvent] = (), *, reveal: bool = False
) -> dict[str, Any]:
    """The client's state (every episode, goals, journal …) and history, ready for JSON."""
    dumped = STATE_ADAPTER.dump_python(state, mode="json")
    return {
        "client_id": state.client_id,
        "version": state.version,
        "status": state.status.value if state.status is not None else None,
        "episodes": redact(dumped["episodes"], reveal=reveal),
        "history": history_view(history),
        "redacted": not reveal,
    }
