"""Helpers for testing fama plugins, as ``structlog.testing`` is for structlog.

* :func:`plugin_host` — a :class:`~fama_adapters.plugins.PluginHost` with no
  third-party plugins (and, by default, no built-ins), for one test.
* :func:`registered` — a context manager registering a plugin on a host and
  unregistering it afterwards, however the block ends.
* :class:`FakeRecordSystem` — a :class:`~fama_adapters.record_systems.RecordSystem`
  that keeps what it was sent and answers inbound payloads as told.
* :func:`fold` — the :class:`~fama_core.state.ClientState` of some events.

>>> from fama_adapters.hookspecs import hookimpl
>>> class Plugin:
...     @hookimpl
...     def fama_register_record_systems(self, register):
...         register(FakeRecordSystem(name="fake"))
>>> host = plugin_host()
>>> with registered(host, Plugin(), name="fake-plugin"):
...     sorted(host.record_systems())
['fake']
>>> host.record_systems()
{}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from fama_adapters.plugins import PluginHost
from fama_adapters.record_systems import InboundResult, OutboundDocument
from fama_core.events import Event
from fama_core.state import ClientState
from fama_core.workflow import apply

__all__ = ["FakeRecordSystem", "fold", "plugin_host", "registered"]


def plugin_host(*, builtins: Iterable[str] = ()) -> PluginHost:
    """A host for one test: the given built-ins (none by default), no entry points."""
    return PluginHost(builtins=builtins, entry_points=False)


@contextmanager
def registered(host: PluginHost, plugin: object, *, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` on ``host`` for the ``with`` block; yields the name used."""
    used = name or f"test-plugin-{id(plugin):x}"
    host.register(plugin, name=used, source="test")
    try:
        yield used
    finally:
        host.unregister(used)


@dataclass
class FakeRecordSystem:
    """A record system that records outbound calls and replays a canned inbound result."""

    name: str = "fake"
    description: str = "a fake record system for tests"
    inbound_result: InboundResult = field(default_factory=InboundResult)
    sent: list[tuple[str, int]] = field(default_factory=list)
    """``(client_id, number of events)`` for each outbound call (no event content kept)."""
    received: list[bytes] = field(default_factory=list)

    def outbound(self, state: ClientState, events: Sequence[Event]) -> list[OutboundDocument]:
        """One small JSON document naming the client and how many events it carries."""
        self.sent.append((state.client_id, len(events)))
        body = f'{{"client_id": "{state.client_id}", "events": {len(events)}}}'
        return [OutboundDocument(f"{state.client_id}.json", "application/json", body.encode())]

    def inbound(self, payload: bytes) -> InboundResult:
        """Keep the payload and return :attr:`inbound_result`."""
        self.received.append(payload)
        return self.inbound_result


def fold(events: Iterable[Event]) -> ClientState:
    """Apply ``events`` in order from nothing; raises as the workflow does."""
    state: ClientState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise ValueError("fold needs at least one event")
    return state
