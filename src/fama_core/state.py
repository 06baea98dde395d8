"""The state of a client's FAMA record, as folded from its events.

These are frozen dataclasses rather than pydantic models: the fold builds many
of them and must be fast. :data:`STATE_ADAPTER` gives their JSON Schema and
JSON form through pydantic all the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import MISSING, FrozenInstanceError, dataclass, fields
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import TypeAdapter

from fama_core.codes import (
    AccompanimentOutcome,
    CloseReason,
    CommitmentOutcome,
    EpisodeStatus,
    GoalStatus,
    SessionStage,
)
from fama_core.engagement import EngagementEvidence
from fama_core.models import (
    AccompanimentArrangement,
    Goal,
    GoalReview,
    JournalEntry,
    LiteracySupport,
    MeetingCommitment,
    ObstacleRecord,
    PastExperience,
    StepRecord,
)

_T = TypeVar("_T")


def _frozen(cls: type[_T]) -> type[_T]:
    """Make a slotted dataclass immutable, with a constructor twice as fast as ``frozen=True``.

    ``dataclass(frozen=True)`` sets each field through ``object.__setattr__``,
    which dominated the fold's profile. This writes each slot through its own
    descriptor instead, then refuses assignment and deletion as frozen does,
    and pickles and copies through the constructor.
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    params = ", ".join(
        f"{f.name}=_d{i}" if f.default is not MISSING else f.name
        for i, f in enumerate(fields(cls))  # type: ignore[arg-type]
    )
    body = "".join(f"    _s{i}(self, {n})\n" for i, n in enumerate(names)) or "    pass\n"
    namespace: dict[str, object] = {f"_s{i}": getattr(cls, n).__set__ for i, n in enumerate(names)}
    namespace.update(
        {f"_d{i}": f.default for i, f in enumerate(fields(cls))}  # type: ignore[arg-type]
    )
    exec(f"def __init__(self, {params}):\n{body}", namespace)  # noqa: S102 - generated from field names
    target: Any = cls
    target.__init__ = namespace["__init__"]
    target.__setattr__ = _refuse_set
    target.__delattr__ = _refuse_del
    # Pickle and copy by the constructor: the default for slots sets each one by assignment,
    # which the class refuses.
    target.__reduce__ = lambda self: (type(self), tuple(getattr(self, n) for n in names))
    return cls


def _maker(cls: type[_T], *extra: str) -> Callable[..., _T]:
    """A constructor for the fold: every field positionally (then ``extra`` slots), no defaults.

    The frozen ``__init__`` sets each slot through a descriptor call. This one
    builds a twin class with the same slots and no ``__setattr__`` of its own,
    whose attribute stores are the interpreter's fastest, sets them there and
    makes the object a ``cls`` (the layouts are the same, so ``__class__`` may be
    assigned): the same instance at about half the cost. Only the fold calls it,
    with values it has checked; ``tests/test_fold_fast.py`` holds it to the
    constructor.
    """
    names = [f.name for f in fields(cls)] + list(extra)  # type: ignore[arg-type]
    twin = type(f"_{cls.__name__}Twin", cls.__bases__, {"__slots__": cls.__slots__})  # type: ignore[attr-defined]
    body = "".join(f"    o.{n} = {n}\n" for n in names)
    namespace: dict[str, object] = {"_new": object.__new__, "_twin": twin, "_cls": cls}
    source = f"def make({', '.join(names)}):\n    o = _new(_twin)\n{body}    o.__class__ = _cls\n"
    exec(source + "    return o\n", namespace)  # noqa: S102 - generated from field names
    make: Callable[..., _T] = namespace["make"]  # type: ignore[assignment]
    return make


def _refuse_set(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_del(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


__all__ = [
    "STATE_ADAPTER",
    "AccompanimentState",
    "RuleBreach",
    "ClientState",
    "CommitmentState",
    "EpisodeState",
    "GoalState",
    "ObstacleState",
    "SessionSummary",
]


@_frozen
@dataclass(slots=True)
class SessionSummary:
    """A session as held: which stage, when, by whom, and each step's status."""

    number: int
    """Position of the session in the episode, from 1."""
    stage: SessionStage
    held_on: dt.date
    keyworker_id: str
    steps: tuple[StepRecord, ...]
    event_id: str


@_frozen
@dataclass(slots=True)
class GoalState:
    """A goal with its current lifecycle status and the reviews it has had."""

    goal: Goal
    status: GoalStatus
    set_on: dt.date
    set_after_session: int
    """How many sessions had been held when the goal was set (its session)."""
    agreed_after_session: int | None = None
    """How many sessions had been held when it was agreed; reviewed at the next session."""
    reviews: tuple[GoalReview, ...] = ()


@_frozen
@dataclass(slots=True)
class CommitmentState:
    """A commitment to attend a meeting and, once reviewed, whether it was kept."""

    commitment: MeetingCommitment
    made_on: dt.date
    made_in_session: int
    outcome: CommitmentOutcome | None = None
    reviewed_in_session: int | None = None


@_frozen
@dataclass(slots=True)
class ObstacleState:
    """An obstacle the client raised, when, and the agreed response."""

    record: ObstacleRecord
    raised_on: dt.date
    after_session: int


@_frozen
@dataclass(slots=True)
class AccompanimentState:
    """A peer accompaniment arrangement and, once known, what became of it."""

    arrangement: AccompanimentArrangement
    arranged_on: dt.date
    outcome: AccompanimentOutcome | None = None


@_frozen
@dataclass(slots=True)
class RuleBreach:
    """A stored event that breaks a rule added after it was written: kept as recorded, flagged.

    Replaying a log with :func:`fama_core.workflow.fold` and ``flag_newer_rules``
    accepts such an event instead of refusing it, and records this flag on
    its episode (``docs/decisions.md``: old logs under new rules).
    """

    event_id: str
    event: str
    """The event kind."""
    condition: str
    """The rule it breaks (a guard of :data:`fama_core.workflow.GUARDS`)."""
    detail: str
    """A sentence saying why, naming ids and fields, never record text."""


@_frozen
@dataclass(slots=True)
class EpisodeState:
    """One FAMA episode: its status and everything recorded in it."""

    episode_id: str
    client_id: str
    keyworker_id: str
    team_id: str | None
    status: EpisodeStatus
    opened_on: dt.date
    sessions: tuple[SessionSummary, ...] = ()
    goals: tuple[GoalState, ...] = ()
    journal: tuple[JournalEntry, ...] = ()
    obstacles: tuple[ObstacleState, ...] = ()
    commitments: tuple[CommitmentState, ...] = ()
    accompaniments: tuple[AccompanimentState, ...] = ()
    past_experience: PastExperience | None = None
    literacy_support: LiteracySupport | None = None
    ended_on: dt.date | None = None
    engaged_with: str | None = None
    close_reason: CloseReason | None = None
    engagement_evidence: EngagementEvidence | None = None
    """The evidence found in the record when engagement was confirmed."""
    breaches: tuple[RuleBreach, ...] = ()
    """Stored events of this episode that break rules added after they were written."""

    @property
    def outstanding_commitment(self) -> CommitmentState | None:
        """The commitment awaiting review at the next session, if any."""
        if self.commitments and self.commitments[-1].outcome is None:
            return self.commitments[-1]
        return None

    @property
    def cycles(self) -> int:
        """How many session 2 / session 3 sessions have been held."""
        return sum(1 for s in self.sessions if s.stage is not SessionStage.INTRODUCTION)

    @property
    def attended_meetings(self) -> int:
        """Meetings attended, by kept commitments and attended journal entries (distinct dates)."""
        dates = {e.date for e in self.journal if e.attended}
        dates |= {
            c.commitment.planned_date
            for c in self.commitments
            if c.outcome is CommitmentOutcome.ATTENDED
        }
        return len(dates)


class _Applied:
    """The slot that holds a client state's accepted events (not a dataclass field)."""

    __slots__ = ("_applied",)

    _applied: dict[str, object]


@dataclass(frozen=True, slots=True)
class ClientState(_Applied):
    """Everything folded from one client's event stream.

    ``episodes`` holds every episode in order, the last being the current
    one; ``version`` counts the events accepted so far (repeats excluded).
    The events accepted, by id, are kept privately for idempotency checks;
    they are not part of the state's JSON form.
    """

    client_id: str
    episodes: tuple[EpisodeState, ...] = ()
    version: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "_applied", {})

    # Slotted and frozen, the dataclass would pickle (and copy) the fields only; the events
    # applied are part of the state in memory, so they travel with it.
    def __getstate__(self) -> tuple[str, tuple[EpisodeState, ...], int, dict[str, object]]:
        return (self.client_id, self.episodes, self.version, self._applied)

    def __setstate__(
        self, state: tuple[str, tuple[EpisodeState, ...], int, dict[str, object]]
    ) -> None:
        for name, value in zip(
            ("client_id", "episodes", "version", "_applied"), state, strict=True
        ):
            object.__setattr__(self, name, value)

    @property
    def applied(self) -> Mapping[str, object]:
        """The accepted events by event id (read-only view)."""
        return MappingProxyType(self._applied)

    @property
    def current(self) -> EpisodeState | None:
        """The latest episode, open or ended; ``None`` before the first."""
        return self.episodes[-1] if self.episodes else None

    @property
    def status(self) -> EpisodeStatus | None:
        """The latest episode's status, or ``None`` when there is no episode."""
        return self.episodes[-1].status if self.episodes else None


STATE_ADAPTER: TypeAdapter[ClientState] = TypeAdapter(ClientState)
"""Validates, dumps and describes (JSON Schema) a :class:`ClientState`."""


# The fold's constructors (see _maker): positional, in each class's field order.
_new_session = _maker(SessionSummary)
_new_goal = _maker(GoalState)
_new_commitment = _maker(CommitmentState)
_new_obstacle = _maker(ObstacleState)
_new_accompaniment = _maker(AccompanimentState)
_new_breach = _maker(RuleBreach)
_new_episode = _maker(EpisodeState)
_new_client = _maker(ClientState, "_applied")
