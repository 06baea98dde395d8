"""JSON Schemas of fama's public models, built from the models themselves.

:func:`all_schemas` returns them by file name; ``fama schema --write`` puts
them in ``schemas/`` and a test fails when the checked-in copies are stale.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from fama_core import directory, events, matching, models
from fama_core.ndtms.context import NdtmsContext
from fama_core.ndtms.tables import NdtmsRules
from fama_core.state import STATE_ADAPTER

__all__ = ["SCHEMA_MODELS", "all_schemas"]

SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    models.ClientReference,
    models.Keyworker,
    models.Organisation,
    models.MeetingRef,
    models.StepRecord,
    models.PastExperience,
    models.LiteracySupport,
    models.MeetingCommitment,
    models.CommitmentReview,
    models.Goal,
    models.GoalReview,
    models.JournalEntry,
    models.ObstacleRecord,
    models.AccompanimentArrangement,
    models.AccompanimentResult,
    directory.Meeting,
    matching.MatchRequest,
    NdtmsContext,
    NdtmsRules,
)
"""Models with a schema of their own (events and state have theirs too)."""

_BASE = "https://fama.invalid/schemas/"


def _stamp(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _BASE + name,
        **schema,
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every public schema by file name (``event.schema.json``, ``goal.schema.json`` …)."""
    out: dict[str, dict[str, Any]] = {}
    for model in SCHEMA_MODELS:
        name = _snake(model.__name__) + ".schema.json"
        out[name] = _stamp(model.model_json_schema(), name)
    event_adapter: TypeAdapter[Any] = TypeAdapter(events.Event)
    out["event.schema.json"] = _stamp(event_adapter.json_schema(), "event.schema.json")
    out["client-state.schema.json"] = _stamp(
        STATE_ADAPTER.json_schema(mode="serialization"), "client-state.schema.json"
    )
    return dict(sorted(out.items()))


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)
