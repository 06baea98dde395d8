"""The contract of a record-system adapter (HL7 v2, FHIR R4, a vendor's own API).

A record system maps fama's records to a clinical format and back. Adapters
register through the ``fama_register_record_systems`` hook with an object that
satisfies :class:`RecordSystem`; ``fama export --to NAME`` and the demo use
them without knowing the format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from fama_core.context import TreatmentContext
from fama_core.errors import InvalidRecord
from fama_core.events import Event
from fama_core.state import ClientState

__all__ = ["ClientMerge", "InboundResult", "OutboundDocument", "RecordSystem"]


@dataclass(frozen=True, slots=True)
class OutboundDocument:
    """One message, resource bundle or file produced for a record system."""

    name: str
    """A file name a host can save it under (``demo-c001-goals.hl7``)."""
    media_type: str
    """e.g. ``application/hl7-v2`` or ``application/fhir+json``."""
    content: bytes


@dataclass(frozen=True, slots=True)
class ClientMerge:
    """The record system merged two client records: ``merged`` now lives on as ``survivor``."""

    merged: str
    survivor: str
    on: dt.date


@dataclass(frozen=True, slots=True)
class InboundResult:
    """What an adapter read from a record system; bad parts are listed, not raised."""

    events: tuple[Event, ...] = ()
    contexts: tuple[TreatmentContext, ...] = ()
    problems: tuple[InvalidRecord, ...] = field(default=())
    merges: tuple[ClientMerge, ...] = ()
    """Client records merged by the record system (HL7 ADT A40, FHIR Patient.link …)."""


@runtime_checkable
class RecordSystem(Protocol):
    """A clinical record format fama can write to and read from."""

    name: str
    """Short unique name (``hl7v2``, ``fhir-r4``)."""
    description: str

    def outbound(self, state: ClientState, events: Sequence[Event]) -> list[OutboundDocument]:
        """Documents that carry this client's FAMA record to the record system."""
        ...

    def inbound(self, payload: bytes) -> InboundResult:
        """Read a payload from the record system: events and treatment context found in it."""
        ...
