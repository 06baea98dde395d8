"""The FAMA catalogue: hand-outs, session steps, obstacles, goal kinds and organisations.

Packaged data (``catalogue/data/*.json``), each entry citing its place in the
source documents. The catalogue is checked against fama's code lists when it
loads, so a data edit that drifts from the code fails at once. A host extends
it with local organisations through :meth:`Catalogue.with_organisations`;
contact details and meetings are local data, kept in the meeting directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from pydantic import Field, ValidationError

from fama_core.codes import GoalKind, Handout, Obstacle, SessionStage, Step
from fama_core.errors import CatalogueError
from fama_core.models import FamaModel, Organisation, SourceRef

__all__ = [
    "Catalogue",
    "GoalKindEntry",
    "HandoutEntry",
    "ObstacleEntry",
    "StepEntry",
    "load_catalogue",
]


class HandoutEntry(FamaModel):
    """A hand-out of appendix 2 of the guide."""

    id: Handout
    title: str
    purpose: str
    sessions: tuple[SessionStage, ...] = Field(description="Sessions in which it is used.")
    source: SourceRef


class StepEntry(FamaModel):
    """A step of a FAMA session with the guide's instruction, summarised."""

    id: Step
    stage: SessionStage
    title: str
    guidance: str
    source: SourceRef


class ObstacleEntry(FamaModel):
    """An obstacle to attending and the guide's suggested response, summarised."""

    code: Obstacle
    title: str
    handout: Handout
    suggested_response: str
    source: SourceRef


class GoalKindEntry(FamaModel):
    """A kind of care-planned goal, in words a client reads on hand-out 7."""

    kind: GoalKind
    title: str
    source: SourceRef


_E = TypeVar("_E", bound=FamaModel)


def _index(entries: Iterable[_E], key: str, name: str) -> dict[str, _E]:
    out: dict[str, _E] = {}
    for entry in entries:
        k = str(getattr(entry, key))
        if k in out:
            raise CatalogueError(entry=f"{name}/{k}", reason="listed twice")
        out[k] = entry
    return out


def _require_all(found: Mapping[str, Any], codes: type[StrEnum], name: str, skip: set[str]) -> None:
    missing = [c.value for c in codes if c.value not in found and c.value not in skip]
    if missing:
        raise CatalogueError(entry=name, reason="no entry for " + ", ".join(missing))


class Catalogue:
    """Read-only lookups over the catalogue's entries."""

    def __init__(
        self,
        *,
        handouts: Iterable[HandoutEntry],
        steps: Iterable[StepEntry],
        obstacles: Iterable[ObstacleEntry],
        goal_kinds: Iterable[GoalKindEntry],
        organisations: Iterable[Organisation],
    ) -> None:
        self.handouts: Mapping[str, HandoutEntry] = _index(handouts, "id", "handouts")
        self.steps: Mapping[str, StepEntry] = _index(steps, "id", "steps")
        self.obstacles: Mapping[str, ObstacleEntry] = _index(obstacles, "code", "obstacles")
        self.goal_kinds: Mapping[str, GoalKindEntry] = _index(goal_kinds, "kind", "goal_kinds")
        self.organisations: Mapping[str, Organisation] = _index(
            organisations, "code", "organisations"
        )
        _require_all(self.handouts, Handout, "handouts", set())
        _require_all(self.steps, Step, "steps", set())
        _require_all(self.obstacles, Obstacle, "obstacles", {Obstacle.OTHER.value})
        _require_all(self.goal_kinds, GoalKind, "goal_kinds", set())
        for step in self.steps.values():
            if not step.id.value.startswith(f"s{step.stage.value}."):
                raise CatalogueError(entry=f"steps/{step.id.value}", reason="stage does not match")

    def steps_of(self, stage: SessionStage) -> tuple[StepEntry, ...]:
        """The steps of one session, in the guide's order."""
        return tuple(s for s in self.steps.values() if s.stage is stage)

    def organisation(self, code: str) -> Organisation:
        """The organisation with this code; :class:`CatalogueError` when unknown."""
        try:
            return self.organisations[code]
        except KeyError:
            raise CatalogueError(
                entry=f"organisations/{code}", reason="unknown organisation"
            ) from None

    def with_organisations(self, extra: Iterable[Organisation]) -> Catalogue:
        """A new catalogue with the host's local organisations added.

        A local organisation may not reuse the code of a packaged one.
        """
        return Catalogue(
            handouts=self.handouts.values(),
            steps=self.steps.values(),
            obstacles=self.obstacles.values(),
            goal_kinds=self.goal_kinds.values(),
            organisations=[*self.organisations.values(), *extra],
        )


def _read(name: str, model: type[_E]) -> list[_E]:
    text = resources.files("fama_core.catalogue").joinpath("data", name).read_text("utf-8")
    out = []
    for position, raw in enumerate(json.loads(text)):
        try:
            out.append(model.model_validate(raw))
        except ValidationError as exc:
            raise CatalogueError(
                entry=f"{name}[{position}]", reason=f"{exc.error_count()} invalid field(s)"
            ) from None
    return out


@cache
def load_catalogue() -> Catalogue:
    """The packaged catalogue (read once, then shared)."""
    return Catalogue(
        handouts=_read("handouts.json", HandoutEntry),
        steps=_read("steps.json", StepEntry),
        obstacles=_read("obstacles.json", ObstacleEntry),
        goal_kinds=_read("goal_kinds.json", GoalKindEntry),
        organisations=_read("organisations.json", Organisation),
    )
