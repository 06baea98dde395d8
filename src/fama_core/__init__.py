"""fama's pure core: the FAMA workflow, its records and codes. No I/O.

Start with :func:`apply` and :func:`fold` (the workflow), the events in
:mod:`fama_core.events`, and the catalogue in :mod:`fama_core.catalogue`.
"""

from fama_core.catalogue import Catalogue, load_catalogue
from fama_core.codes import EpisodeStatus, GoalKind, GoalStatus, SessionStage, Step, StepStatus
from fama_core.errors import (
    FamaError,
    IdempotencyConflict,
    InvalidRecord,
    TransitionRefused,
    UnknownSchemaVersion,
)
from fama_core.events import Event, event_from_json, event_from_mapping, event_to_json
from fama_core.state import ClientState, EpisodeState
from fama_core.workflow import allowed_events, apply, fold, initial

__all__ = [
    "Catalogue",
    "ClientState",
    "EpisodeState",
    "EpisodeStatus",
    "Event",
    "FamaError",
    "GoalKind",
    "GoalStatus",
    "IdempotencyConflict",
    "InvalidRecord",
    "SessionStage",
    "Step",
    "StepStatus",
    "TransitionRefused",
    "UnknownSchemaVersion",
    "allowed_events",
    "apply",
    "event_from_json",
    "event_from_mapping",
    "event_to_json",
    "fold",
    "initial",
    "load_catalogue",
]

__version__ = "0.1.0"
