"""The ``fhir-r4`` record system: fama's records to FHIR R4 bundles and back.

Outbound, one transaction Bundle per client (:func:`~fama_adapters.fhir.mapping.client_bundle`).
Inbound, a Bundle from the record system is read with
:func:`~fama_adapters.fhir.mapping.read_bundle`; what the record system itself
decides comes back as events: the outcome of a peer accompaniment, which the
volunteer's side sets on the Task (HL7 Gravity: the target of a referral
completes or fails it), becomes an ``accompaniment_concluded`` event. An
outcome fama already holds is refused by the workflow's ``arrangement_open``
guard and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fama_adapters.fhir.mapping import (
    FHIR_MEDIA_TYPE,
    CarriedAccompaniment,
    CarriedEpisode,
    FhirSystems,
    WriteMode,
    client_bundle,
    read_bundle,
)
from fama_adapters.fhir.tables import IDENTIFIER_SYSTEMS
from fama_adapters.record_systems import InboundResult, OutboundDocument
from fama_core.errors import FieldProblem, InvalidRecord
from fama_core.events import AccompanimentConcluded, Event
from fama_core.models import AccompanimentResult
from fama_core.state import ClientState

__all__ = ["FhirR4RecordSystem"]

_EVENT_NAMESPACE = uuid.UUID("6f1b7d2e-4f4e-5a8c-9b0a-fa3a00000002")


class FhirR4RecordSystem:
    """FHIR R4 as a :class:`~fama_adapters.record_systems.RecordSystem` named ``fhir-r4``."""

    name = "fhir-r4"
    description = "FHIR R4: CarePlan, Goal, QuestionnaireResponse, ServiceRequest/Task, Procedure"

    def __init__(self, *, systems: FhirSystems | None = None, write: WriteMode = "create") -> None:
        self.systems = systems or FhirSystems()
        self.write: WriteMode = write

    def outbound(self, state: ClientState, events: Sequence[Event]) -> list[OutboundDocument]:
        """One transaction Bundle of every episode of the client, as FHIR JSON."""
        bundle = client_bundle(state, events, systems=self.systems, write=self.write)
        content = json.dumps(bundle, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        return [OutboundDocument(f"{state.client_id}.fhir-bundle.json", FHIR_MEDIA_TYPE, content)]

    def inbound(self, payload: bytes) -> InboundResult:
        """Read a Bundle: accompaniment outcomes as events, unreadable resources as problems."""
        try:
            bundle = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return InboundResult(problems=(_bad("payload", "json_invalid", "not a JSON document"),))
        if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
            return InboundResult(problems=(_bad("payload", "not_bundle", "not a FHIR Bundle"),))
        read = read_bundle(bundle, systems=self.systems)
        events: list[Event] = []
        problems = list(read.problems)
        tasks = _tasks(bundle)
        for episode in read.episodes:
            for acc in episode.accompaniments:
                if acc.outcome is None:
                    continue
                key = "/".join(
                    (episode.client_id, episode.episode_id, acc.arrangement.arrangement_id)
                )
                try:
                    task = tasks.get(key, {})
                    events.append(_concluded_event(self.systems, key, episode, acc, task))
                except _Missing as missing:
                    problems.append(_bad(f"Task {key}", "missing", str(missing)))
                except (ValueError, TypeError, AttributeError):  # pydantic's errors included
                    problems.append(
                        _bad(f"Task {key}", "malformed", "an element has the wrong shape")
                    )
        return InboundResult(events=tuple(events), problems=tuple(problems))


class _Missing(Exception):
    """A Task lacks what an event needs (the reason names the element, never a value)."""


def _concluded_event(
    systems: FhirSystems,
    key: str,
    episode: CarriedEpisode,
    acc: CarriedAccompaniment,
    task: Mapping[str, Any],
) -> AccompanimentConcluded:
    assert acc.outcome is not None
    try:
        recorded_at = dt.datetime.fromisoformat(str(task["lastModified"]))
    except (KeyError, ValueError):
        raise _Missing("an ended Task needs lastModified, with a time zone") from None
    if recorded_at.tzinfo is None:
        raise _Missing("an ended Task needs lastModified, with a time zone")
    end = (task.get("executionPeriod") or {}).get("end")
    occurred = dt.date.fromisoformat(str(end)[:10]) if end else recorded_at.date()
    requester = (task.get("requester") or {}).get("identifier") or {}
    if requester.get("system") != systems.keyworker:
        raise _Missing("an ended Task needs the keyworker as requester")
    return AccompanimentConcluded(
        event_id=f"fhir-{uuid.uuid5(_EVENT_NAMESPACE, f'{key}|{acc.outcome.value}').hex}",
        client_id=episode.client_id,
        episode_id=episode.episode_id,
        keyworker_id=requester.get("value"),
        occurred_on=occurred,
        recorded_at=recorded_at,
        result=AccompanimentResult(
            arrangement_id=acc.arrangement.arrangement_id, outcome=acc.outcome
        ),
    )


def _tasks(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping) or resource.get("resourceType") != "Task":
            continue
        idents = resource.get("identifier")
        for ident in idents if isinstance(idents, list) else []:
            if (
                isinstance(ident, Mapping)
                and ident.get("system") == IDENTIFIER_SYSTEMS["accompaniment-task"]
            ):
                found[str(ident.get("value"))] = resource
    return found


def _bad(record: str, code: str, reason: str) -> InvalidRecord:
    return InvalidRecord(
        record=record, kind="FHIR bundle", problems=[FieldProblem("", code, reason)]
    )
