"""Every change to a FAMA record is one of these frozen events.

An event says who (``keyworker_id``), when (``occurred_on``, the session date,
and ``recorded_at``, when it was written down), to which client and episode,
and carries an ``event_id`` that is its idempotency key: sending the same event
twice changes nothing. The union :data:`Event` is discriminated by ``kind``.

Structural rules (a session record lists every step of its stage once; a
session 2 or 3 ends with a commitment or a recorded reason) are checked here,
when an event is built. Rules that depend on the episode so far are the
workflow's (:mod:`fama_core.workflow`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from operator import attrgetter
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import SchemaValidator, core_schema

from fama_core.codes import (
    REQUIRED_STEPS_BY_STAGE,
    STEPS_BY_STAGE,
    CloseReason,
    GoalStatus,
    Handout,
    SessionStage,
)
from fama_core.engagement import EngagementEvidence
from fama_core.errors import (
    FieldProblem,
    InvalidRecord,
    UnknownSchemaVersion,
    WorkflowDefinitionError,
    invalid_record_from_pydantic,
)
from fama_core.models import (
    AccompanimentArrangement,
    AccompanimentResult,
    CommitmentReview,
    FamaModel,
    Goal,
    GoalReview,
    Identifier,
    JournalEntry,
    LiteracySupport,
    MeetingCommitment,
    Note,
    ObstacleRecord,
    OrganisationCode,
    PastExperience,
    StepRecord,
)
from fama_core.upcasters import FIRST_VERSION, UPCASTERS, UpcasterChain

__all__ = [
    "CURRENT_VERSIONS",
    "DECODING",
    "EVENT_KINDS",
    "EVOLUTION",
    "AccompanimentArranged",
    "AccompanimentConcluded",
    "ClientDeclined",
    "EngagementConfirmed",
    "EpisodeClosed",
    "EpisodeOpened",
    "Event",
    "EventBase",
    "GoalSet",
    "GoalUpdated",
    "JournalEntryRecorded",
    "ObstacleRaised",
    "Session1Held",
    "Session2Held",
    "Session3Held",
    "SessionHeld",
    "event_from_json",
    "event_from_mapping",
    "event_to_json",
    "events_from_json_lines",
]


_ABSENT: Final = object()
_DECODING_KEY = "fama_decoding_stored_event"
DECODING: Final[Mapping[str, bool]] = {_DECODING_KEY: True}
"""Validation context of a decoded (stored or sent) event: a missing ``schema_version`` is 1.

:func:`event_from_json` and :func:`event_from_mapping` pass it; without it (an
event built in Python) a missing ``schema_version`` is the kind's current one.
"""


def _version(current: int) -> Any:
    return Field(
        default=current,
        description=(
            "The version of this kind's fields the event was written in. Events stored "
            "without it are version 1; older versions are upgraded when read "
            "(docs/events.md, 'How events evolve')."
        ),
    )


class EventBase(FamaModel):
    """Fields every event carries; each kind adds its ``kind`` and ``schema_version``.

    A decoded event of an older ``schema_version`` is upgraded by the
    upcasters of :mod:`fama_core.upcasters` before it is validated.
    """

    event_id: Identifier = Field(
        description="Idempotency key chosen by the host; the same key twice is stored once."
    )
    client_id: Identifier = Field(description="Pseudonymous client key: the event stream.")
    episode_id: Identifier = Field(description="The FAMA episode within the client's stream.")
    keyworker_id: Identifier = Field(description="Who recorded the change.")
    occurred_on: dt.date = Field(description="When it happened (the session date).")
    recorded_at: AwareDatetime = Field(description="When it was recorded, with a time zone.")

    @model_validator(mode="before")
    @classmethod
    def _upcast(cls, data: Any, info: ValidationInfo) -> Any:
        entry = _VERSIONED.get(cls)
        if entry is None or not isinstance(data, dict):
            return data
        kind, current = entry
        version = data.get("schema_version", _ABSENT)
        if version is _ABSENT:
            if info.context is None or not info.context.get(_DECODING_KEY):
                return data  # built in Python: the kind's current version
        elif version == current and type(version) is int:
            return data  # the common case, kept cheap: decoding is on the replay path
        return EVOLUTION.upcast(kind, data)


class EpisodeOpened(EventBase):
    """A keyworker starts facilitating access to mutual aid for a client."""

    kind: Literal["episode_opened"] = "episode_opened"
    schema_version: Literal[1] = _version(1)
    team_id: Identifier | None = Field(default=None, description="The keyworker's team.")


_STEP_SETS = {stage: frozenset(steps) for stage, steps in STEPS_BY_STAGE.items()}
_REQUIRED_SETS = {stage: frozenset(steps) for stage, steps in REQUIRED_STEPS_BY_STAGE.items()}
_STEP_OF = attrgetter("step")


def _check_steps(steps: tuple[StepRecord, ...], stage: SessionStage) -> None:
    unique = set(map(_STEP_OF, steps))
    # The common case, cheaply (it runs for every session decoded): each step of the stage
    # at most once, every required one among them.
    if len(unique) == len(steps) and _STEP_SETS[stage] >= unique >= _REQUIRED_SETS[stage]:
        return
    seen = [record.step for record in steps]
    expected = REQUIRED_STEPS_BY_STAGE[stage]
    missing = [s.value for s in expected if s not in seen]
    foreign = [s.value for s in seen if s not in _STEP_SETS[stage]]
    repeated = sorted({s.value for s in seen if seen.count(s) > 1})
    if missing or foreign or repeated:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if foreign:
            parts.append("not steps of session " + stage.value + ": " + ", ".join(foreign))
        if repeated:
            parts.append("recorded twice: " + ", ".join(repeated))
        raise ValueError(
            "steps: list each step of session "
            + stage.value
            + " once, each with a status (done, not_done or not_applicable); "
            + "; ".join(parts)
        )


class SessionHeld(EventBase):
    """Fields shared by the three session records."""

    steps: tuple[StepRecord, ...] = Field(
        description="Every step of the session, each done / not done / not applicable."
    )
    commitment: MeetingCommitment | None = Field(
        default=None, description="A meeting the client commits to attend in the coming week."
    )


class Session1Held(SessionHeld):
    """Session one: introducing mutual aid (the guide, p. 7)."""

    kind: Literal["session_1_held"] = "session_1_held"
    schema_version: Literal[1] = _version(1)
    past_experience: PastExperience
    handouts_given: tuple[Handout, ...] = Field(description="Hand-outs the client took home.")
    journal_given: bool = Field(description="The client left with a personal journal.")
    literacy_support: LiteracySupport | None = None

    @model_validator(mode="after")
    def _complete(self) -> Session1Held:
        _check_steps(self.steps, SessionStage.INTRODUCTION)
        return _handouts_once(self)


def _handouts_once(event: Session1Held) -> Session1Held:
    """``event``, once each hand-out is listed once (``_complete``'s check after the steps)."""
    if len(set(event.handouts_given)) != len(event.handouts_given):
        raise ValueError("handouts_given: list each hand-out once")
    return event


class _LaterSession(SessionHeld):
    commitment_review: CommitmentReview | None = Field(
        default=None, description="Review of the commitment made at the previous session."
    )
    goal_reviews: tuple[GoalReview, ...] = Field(
        default=(), description="Review of each goal agreed before this session."
    )
    no_commitment_reason: Note | None = Field(
        default=None, description="Why no commitment to a meeting was made."
    )

    def _check_common(self, stage: SessionStage) -> None:
        _check_steps(self.steps, stage)
        _ends_once(self)


def _ends_once(event: _LaterSession) -> _LaterSession:
    """``event``, once it ends with a commitment or a reason and reviews each goal once.

    What a session 2 or 3's ``_complete`` checks after the steps.
    """
    if (event.commitment is None) == (event.no_commitment_reason is None):
        raise ValueError(
            "commitment, no_commitment_reason: a session 2 or 3 ends with exactly one of "
            "them: fill commitment (the meeting the client commits to in the coming week) "
            "or no_commitment_reason (why there is none)"
        )
    reviews = event.goal_reviews
    if len(reviews) > 1 and len({r.goal_id for r in reviews}) != len(reviews):
        raise ValueError("goal_reviews: review each goal once")
    return event


class Session2Held(_LaterSession):
    """Session two: encouraging the client to engage with a group (the guide, p. 9)."""

    kind: Literal["session_2_held"] = "session_2_held"
    schema_version: Literal[1] = _version(1)
    preferred_organisation: OrganisationCode | None = Field(
        default=None, description="The client's preferred type of meeting (step 5)."
    )

    @model_validator(mode="after")
    def _complete(self) -> Session2Held:
        self._check_common(SessionStage.ENGAGEMENT)
        return self


class Session3Held(_LaterSession):
    """Session three: taking an interest in the client's experience (the guide, p. 11)."""

    kind: Literal["session_3_held"] = "session_3_held"
    schema_version: Literal[1] = _version(1)
    commitment_review: CommitmentReview = Field(
        description="Was the commitment made at the previous session kept (step 1)."
    )

    @model_validator(mode="after")
    def _complete(self) -> Session3Held:
        self._check_common(SessionStage.REVIEW)
        return self


class GoalSet(EventBase):
    """A care-planned goal is proposed or agreed (hand-out 7)."""

    kind: Literal["goal_set"] = "goal_set"
    schema_version: Literal[1] = _version(1)
    goal: Goal


class GoalUpdated(EventBase):
    """A goal is agreed or withdrawn between reviews."""

    kind: Literal["goal_updated"] = "goal_updated"
    schema_version: Literal[1] = _version(1)
    goal_id: Identifier
    status: Literal[GoalStatus.AGREED, GoalStatus.WITHDRAWN]
    note: Note | None = None


class JournalEntryRecorded(EventBase):
    """A meeting from the client's journal is recorded (hand-out 10)."""

    kind: Literal["journal_entry_recorded"] = "journal_entry_recorded"
    schema_version: Literal[1] = _version(1)
    entry: JournalEntry


class ObstacleRaised(EventBase):
    """The client raised an obstacle and a response was agreed (hand-outs 3 and 5)."""

    kind: Literal["obstacle_raised"] = "obstacle_raised"
    schema_version: Literal[1] = _version(1)
    record: ObstacleRecord


class AccompanimentArranged(EventBase):
    """A peer is arranged to accompany the client (appendix 1)."""

    kind: Literal["accompaniment_arranged"] = "accompaniment_arranged"
    schema_version: Literal[1] = _version(1)
    arrangement: AccompanimentArrangement


class AccompanimentConcluded(EventBase):
    """What became of an accompaniment arrangement."""

    kind: Literal["accompaniment_concluded"] = "accompaniment_concluded"
    schema_version: Literal[1] = _version(1)
    result: AccompanimentResult


class EngagementConfirmed(EventBase):
    """The client is fully engaged with a mutual aid group: the episode ends."""

    kind: Literal["engagement_confirmed"] = "engagement_confirmed"
    schema_version: Literal[1] = _version(1)
    organisation: OrganisationCode = Field(description="The organisation the client engaged with.")
    note: Note | None = None
    evidence: EngagementEvidence | None = Field(
        default=None,
        description=(
            "The evidence the keyworker relied on (attended dates, session-3 reviews, signs of "
            "involvement). Optional: the workflow works the evidence out from the record and "
            "refuses a claim the record does not show."
        ),
    )


class ClientDeclined(EventBase):
    """The client decides not to attend at this time: the episode ends."""

    kind: Literal["client_declined"] = "client_declined"
    schema_version: Literal[1] = _version(1)
    reason: Note | None = None


class EpisodeClosed(EventBase):
    """The episode ends because treatment ended, the client transferred, or similar."""

    kind: Literal["episode_closed"] = "episode_closed"
    schema_version: Literal[1] = _version(1)
    reason: CloseReason
    note: Note | None = None


Event = Annotated[
    EpisodeOpened
    | Session1Held
    | Session2Held
    | Session3Held
    | GoalSet
    | GoalUpdated
    | JournalEntryRecorded
    | ObstacleRaised
    | AccompanimentArranged
    | AccompanimentConcluded
    | EngagementConfirmed
    | ClientDeclined
    | EpisodeClosed,
    Field(discriminator="kind"),
]
"""Any FAMA event, discriminated by ``kind``."""

EVENT_KINDS: tuple[str, ...] = (
    "episode_opened",
    "session_1_held",
    "session_2_held",
    "session_3_held",
    "goal_set",
    "goal_updated",
    "journal_entry_recorded",
    "obstacle_raised",
    "accompaniment_arranged",
    "accompaniment_concluded",
    "engagement_confirmed",
    "client_declined",
    "episode_closed",
)
"""Every event kind, in the order a reader meets them."""

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)

_EVENT_CLASSES: tuple[type[EventBase], ...] = (
    EpisodeOpened,
    Session1Held,
    Session2Held,
    Session3Held,
    GoalSet,
    GoalUpdated,
    JournalEntryRecorded,
    ObstacleRaised,
    AccompanimentArranged,
    AccompanimentConcluded,
    EngagementConfirmed,
    ClientDeclined,
    EpisodeClosed,
)
_VERSIONED: dict[type, tuple[str, int]] = {
    cls: (cls.model_fields["kind"].default, cls.model_fields["schema_version"].default)
    for cls in _EVENT_CLASSES
}

CURRENT_VERSIONS: Final[Mapping[str, int]] = {kind: v for kind, v in _VERSIONED.values()}
"""Each event kind's current ``schema_version`` (what fama writes today)."""

EVOLUTION: Final[UpcasterChain] = UpcasterChain(CURRENT_VERSIONS, UPCASTERS)
"""The declared upcasters, checked here, when the events module is imported."""

if set(CURRENT_VERSIONS) != set(EVENT_KINDS):  # pragma: no cover - a definition error
    raise WorkflowDefinitionError("EVENT_KINDS and the event classes name different kinds")


_Walk = Callable[[Any], Any]


def _rewritten(schema: Any, replace: Callable[[dict[str, Any], _Walk], Any]) -> Any:
    """``schema`` (a core schema) rebuilt with ``replace(node, walk)`` for each dict node.

    ``replace`` returns the node's replacement (using ``walk`` for what lies under
    it) or None to keep the node, whose values are then walked. Only dicts and
    lists are rebuilt; everything else (classes, functions) is shared.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        replaced = replace(node, walk)
        if replaced is not None:
            return replaced
        return {key: walk(value) for key, value in node.items()}

    return walk(schema)


def _without_upcast(schema: Any, kinds: Mapping[type, tuple[str, int]]) -> tuple[Any, int]:
    """``schema`` (a core schema) with ``_upcast`` removed from the models of ``kinds``.

    Returns the new schema and how many before-validators were removed.
    """
    removed = 0

    def replace(node: dict[str, Any], walk: _Walk) -> Any:
        nonlocal removed
        if node.get("type") != "function-before":
            return None
        function = node.get("function", {}).get("function")
        owner = getattr(function, "__self__", None)
        if getattr(function, "__func__", None) is not _UPCAST or not isinstance(owner, type):
            return None
        inner = _exact_version(node["schema"], kinds[owner][1]) if owner in kinds else None
        if inner is None:
            return None
        removed += 1
        inner = walk(inner)
        return {**inner, "ref": node["ref"]} if "ref" in node else inner

    return _rewritten(schema, replace), removed


def _exact_version(fields: Any, version: int) -> Any:
    """``fields`` (a model-fields schema) taking ``schema_version`` only as ``version`` itself.

    ``_upcast`` passes on a version only when it is exactly the current ``int``; pydantic's
    ``Literal[1]`` in JSON takes ``1.0`` and ``true`` as 1, so the fast path asks for a strict
    integer instead (its default, the current version, stays). None when the schema is not
    shaped as expected: that kind then keeps ``_upcast``.
    """
    try:
        field = fields["fields"]["schema_version"]
        default = field["schema"]
        if fields["type"] != "model-fields" or default["type"] != "default":
            return None
    except (KeyError, TypeError):
        return None
    strict = {"type": "int", "strict": True, "ge": version, "le": version}
    return {
        **fields,
        "fields": {
            **fields["fields"],
            "schema_version": {**field, "schema": {**default, "schema": strict}},
        },
    }


_UPCAST: Final = EventBase.__dict__["_upcast"].__func__
_AT_FIRST_VERSION = {cls: v for cls, v in _VERSIONED.items() if v[1] == FIRST_VERSION}
_FAST_SCHEMA, _FAST_REMOVED = _without_upcast(_ADAPTER.core_schema, _AT_FIRST_VERSION)


def _built_from_schema(schema: Any, classes: Iterable[type]) -> SchemaValidator:
    """A validator built from ``schema`` itself, models of ``classes`` included.

    pydantic-core reuses a finished model's own validator (its "prebuilt"
    validator) for a ``model`` node naming that class, whatever the node says,
    unless the model's validator begins with a function of its own. So the kinds
    with no after-validator (all but the three sessions) would keep ``_upcast``
    on the fast path. Their classes are marked unfinished while the fast path is
    built, so each ``model`` node is built from the schema given; they are marked
    finished again at once (this runs once, when the module is imported).
    """
    marked = [cls for cls in classes if cls.__dict__.get("__pydantic_complete__") is True]
    try:
        for cls in marked:
            type.__setattr__(cls, "__pydantic_complete__", False)
        return SchemaValidator(schema)
    finally:
        for cls in marked:
            type.__setattr__(cls, "__pydantic_complete__", True)


_FAST_FALLBACK: Final = SchemaValidator(_ADAPTER.core_schema)
_FAST: Final = (
    # Should a pydantic release shape its schemas otherwise, decoding stays right, only slower
    # (tests/test_decode_fast.py checks every kind's before-validator was found, and that the
    # fast path calls it for none of them).
    _built_from_schema(_FAST_SCHEMA, _AT_FIRST_VERSION)
    if _FAST_REMOVED == len(_AT_FIRST_VERSION)
    else _FAST_FALLBACK
)
"""The decoder's fast path: the same validator without the upcasting before-validator.

``_upcast`` makes pydantic turn each JSON document into Python objects before
validating it, which costs more than a third of decoding a session record. For a
kind still at version 1 it changes nothing whenever the validator without it
accepts: a missing ``schema_version`` is version 1, the current one, and the
``Literal[1]`` field refuses any other value, as ``_upcast`` would. Whatever the
fast path refuses is decoded again through the full adapter, so every error is
exactly the full path's. A kind at a later version keeps ``_upcast`` (a missing
version must be upgraded). ``tests/test_decode_fast.py`` checks the two paths agree.
"""


# ---------------------------------------------------------------- session steps, decoded once
#
# A session record's steps are most of its JSON and most of its decoding: a dozen sub-models
# and the check that each step of the stage is listed once. Yet the steps of most sessions are
# one of a few lists (every step done, one not applicable …). So the fast path decodes each
# distinct list of steps once, alone, and keeps the records; in later lines that carry the very
# same text it swaps the list for a token (a number no line contains) and validates the rest
# with a validator whose ``steps`` field reads the kept records. Docs: decisions S5.

_STEPS_CACHE_SIZE: Final = 1024
"""At most this many distinct step lists are kept (about 1 kB each); later ones decode as before."""
_STEPS_TEXT_MAX: Final = 4096
"""A step list's text is kept only up to this length (a whole stage, indented, is under 800).

Longer lists (padded with blanks, or listing steps many times) decode as before: the kept
text is held for good, so its length bounds what a hostile log can leave behind.
"""
_STEPS_MARK: Final = 8093516427
"""Every token is this number followed by four digits; a line containing it is not swapped."""
_STEPS_FIRST: Final = _STEPS_MARK * 10_000
_SPLICE_STR: Final = (
    "[",
    "]",
    str(_STEPS_MARK),
    '"note"',
    "\\",
    (" ", "\t", "\n", "\r"),
)
_SPLICE_BYTES: Final = (
    b"[",
    b"]",
    str(_STEPS_MARK).encode(),
    b'"note"',
    b"\\",
    (b" ", b"\t", b"\n", b"\r"),
)

_MARK_STR: Final = _SPLICE_STR[2]
_MARK_BYTES: Final = _SPLICE_BYTES[2]

_STEPS_TOKENS: dict[str | bytes, str | bytes] = {}
"""The JSON text of each step list kept (as read: ``str`` or ``bytes``) and its token."""
_STEPS_OF_STAGE: dict[SessionStage, dict[int, tuple[StepRecord, ...]]] = {
    stage: {} for stage in SessionStage
}
"""Each stage's kept step lists that are complete for that stage, by token."""
_STEP_RECORDS: dict[tuple[Any, ...], StepRecord] = {}
"""One shared record per (step, status, fields set): the kept lists share them."""
_STEPS_LOCK: Final = threading.Lock()

_SESSION_STAGES: Final[Mapping[type, SessionStage]] = {
    Session1Held: SessionStage.INTRODUCTION,
    Session2Held: SessionStage.ENGAGEMENT,
    Session3Held: SessionStage.REVIEW,
}


def _steps_schema(schema: Any) -> Any:
    """The core schema of a session's ``steps`` field, found in ``schema`` (the first one)."""
    if isinstance(schema, list):
        for item in schema:
            found = _steps_schema(item)
            if found is not None:
                return found
    elif isinstance(schema, dict):
        if schema.get("type") == "model-fields" and "steps" in schema.get("fields", {}):
            return schema["fields"]["steps"]["schema"]
        for value in schema.values():
            found = _steps_schema(value)
            if found is not None:
                return found
    return None


_STEPS_ALONE: Final = SchemaValidator(_steps_schema(SessionHeld.__pydantic_core_schema__))
"""The ``steps`` field's own validator: a step list decoded alone is what the event would hold."""


def _with_kept_steps(schema: Any) -> tuple[Any, int]:
    """``schema`` (the fast path's) with each session's ``steps`` read from the kept lists.

    A session's ``steps`` field takes only a token (a strict integer from the
    kept range), looked up among its stage's complete lists; its after-validator
    keeps every check but the steps' (done when the list was kept). Returns the
    schema and how many of the six changes were made (fewer: not used).
    """
    changed = 0

    def replace(node: dict[str, Any], walk: _Walk) -> Any:
        nonlocal changed
        inner = node.get("schema")
        owner = inner.get("cls") if isinstance(inner, dict) else None
        if node.get("type") == "function-after" and owner in _SESSION_STAGES:
            changed += 1
            rest = _handouts_once if owner is Session1Held else _ends_once
            return {
                **node,
                "function": {"type": "no-info", "function": rest},
                "schema": walk(inner),
            }
        if node.get("type") == "model" and node.get("cls") in _SESSION_STAGES:
            fields = node["schema"]
            if fields.get("type") == "model-fields" and "steps" in fields.get("fields", {}):
                changed += 1
                kept = _STEPS_OF_STAGE[_SESSION_STAGES[node["cls"]]]
                token = core_schema.chain_schema(
                    [
                        core_schema.int_schema(
                            strict=True, ge=_STEPS_FIRST, lt=_STEPS_FIRST + _STEPS_CACHE_SIZE
                        ),
                        core_schema.no_info_plain_validator_function(kept.get),
                        core_schema.is_instance_schema(tuple),
                    ]
                )
                steps = {**fields["fields"]["steps"], "schema": token}
                return {
                    **node,
                    "schema": {**fields, "fields": {**walk(fields["fields"]), "steps": steps}},
                }
        return None

    return _rewritten(schema, replace), changed


_KEPT_SCHEMA, _KEPT_CHANGED = _with_kept_steps(_FAST_SCHEMA)
_FAST_KEPT: Final = (
    _built_from_schema(_KEPT_SCHEMA, _AT_FIRST_VERSION)
    if _FAST is not _FAST_FALLBACK
    and _KEPT_CHANGED == 2 * len(_SESSION_STAGES)
    and all(cls in _AT_FIRST_VERSION for cls in _SESSION_STAGES)
    else None
)
"""The fast path for a line whose step list was swapped for a token (None: not shaped so)."""


def _keep_steps(text: str | bytes) -> str | bytes | None:
    """The token of ``text`` (a step list's JSON, free of notes and escapes), or None.

    Decodes the list alone; keeps it when it is valid, at most
    :data:`_STEPS_TEXT_MAX` long and not too many are kept already, under a new
    token, in the table of each stage it is complete for.
    """
    if len(text) > _STEPS_TEXT_MAX:
        return None
    with _STEPS_LOCK:
        token = _STEPS_TOKENS.get(text)
        if token is not None or len(_STEPS_TOKENS) >= _STEPS_CACHE_SIZE:
            return token
        try:
            records = _STEPS_ALONE.validate_json(text)
        except ValidationError:
            return None  # the event's own validation will say why
        if any(r.note is not None for r in records):  # pragma: no cover - no "note" in text
            return None
        shared = tuple(
            _STEP_RECORDS.setdefault((r.step, r.status, frozenset(r.model_fields_set)), r)
            for r in records
        )
        number = _STEPS_FIRST + len(_STEPS_TOKENS)  # under the lock, and nothing is removed
        for stage, kept in _STEPS_OF_STAGE.items():
            try:
                _check_steps(shared, stage)
            except ValueError:
                continue
            kept[number] = shared
        token = str(number) if isinstance(text, str) else str(number).encode()
        _STEPS_TOKENS[text] = token  # published last: a reader finds the tables filled
        return token


def _forget_steps() -> None:
    """Empty the kept step lists. For tests only: never while another thread decodes."""
    with _STEPS_LOCK:
        _STEPS_TOKENS.clear()
        _STEP_RECORDS.clear()
        for kept in _STEPS_OF_STAGE.values():
            kept.clear()


def _decode(text: str | bytes) -> Event:
    """The fast path; :class:`ValidationError` when the full path must decide (and word why).

    A line whose list of steps was kept (or can be) is validated with the list
    swapped for its token. Why the swap changes nothing: a token's digits begin
    with :data:`_STEPS_MARK`, which the rest of the line does not contain (the
    swapped line holds it exactly once, and the list itself, kept, holds only
    step codes), and the kept validator takes ``steps`` only as a whole integer
    in the tokens' range. So when it accepts, the token itself was read as the
    event's ``steps`` value: the line held the swapped text in that place,
    outside any string, and that text is one complete JSON array (it was
    decoded alone). The line is then the same document with that array in
    place of the token, and its steps are what decoding the array alone gave.
    Whatever the kept validator refuses is decoded by the full path.
    """
    if type(text) is str:
        at = text.find('"steps":')
        if at < 0 or _FAST_KEPT is None:
            return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]
        # The common case first, with as few steps as can be (decisions S8): the list's text
        # begins right after the key, and was kept already.
        start = at + 8
        end = text.find("]", start) + 1
        token = _STEPS_TOKENS.get(text[start:end])
        if token is not None:
            swapped = text[:start] + token + text[end:]  # type: ignore[operator]
            if swapped.count(_MARK_STR) == 1:
                return _FAST_KEPT.validate_json(swapped, context=DECODING)  # type: ignore[no-any-return]
            return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]
        return _decode_swapped(text, start, _SPLICE_STR, _FAST_KEPT)
    if type(text) is bytes:
        at = text.find(b'"steps":')
        if at < 0 or _FAST_KEPT is None:
            return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]
        start = at + 8
        end = text.find(b"]", start) + 1
        token = _STEPS_TOKENS.get(text[start:end])
        if token is not None:
            swapped_bytes = text[:start] + token + text[end:]  # type: ignore[operator]
            if swapped_bytes.count(_MARK_BYTES) == 1:
                return _FAST_KEPT.validate_json(swapped_bytes, context=DECODING)  # type: ignore[no-any-return]
            return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]
        return _decode_swapped(text, start, _SPLICE_BYTES, _FAST_KEPT)
    return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]


def _decode_swapped(
    text: Any, start: int, splice: tuple[Any, ...], kept_validator: SchemaValidator
) -> Event:
    """:func:`_decode` for a line with ``"steps":`` just before ``start`` whose list of steps
    was not found kept right there (blanks before it, or not kept yet)."""
    opening, closing, mark, note, escape, blank = splice
    while text[start : start + 1] in blank:
        start += 1
    end = text.find(closing, start) + 1
    if end and end - start <= _STEPS_TEXT_MAX and text[start : start + 1] == opening:
        steps = text[start:end]
        token = _STEPS_TOKENS.get(steps)
        if token is None and note not in steps and escape not in steps:
            token = _keep_steps(steps)
        if token is not None and text.find(mark, 0, start) < 0 and text.find(mark, end) < 0:
            swapped = text[:start] + token + text[end:]
            return kept_validator.validate_json(swapped, context=DECODING)  # type: ignore[no-any-return]
    return _FAST.validate_json(text, context=DECODING)  # type: ignore[no-any-return]


def _kind_of(raw: Any) -> str:
    if isinstance(raw, Mapping):
        kind = raw.get("kind")
        if isinstance(kind, str) and kind in EVENT_KINDS:
            return kind
    return "event"


def event_from_mapping(data: Any, *, record: str = "event") -> Event:
    """Validate a decoded mapping as an :data:`Event`.

    Raises :class:`~fama_core.errors.InvalidRecord` naming ``record`` and each
    failing field, without the offending values.
    """
    try:
        return _ADAPTER.validate_python(data, context=DECODING)
    except ValidationError as exc:
        raise _invalid(exc, record=record, kind=_kind_of(data), raw=data) from None


def event_from_json(text: str | bytes, *, record: str = "event") -> Event:
    """Decode and validate one JSON document as an :data:`Event`."""
    try:
        return _decode(text)
    except ValidationError:
        # Decoded again through the full adapter: it upgrades an older event, or words the error.
        return _event_from_json_full(text, record=record)


def _event_from_json_full(text: str | bytes, *, record: str) -> Event:
    """:func:`event_from_json` through the full adapter (upcasting included), and its errors."""
    try:
        return _ADAPTER.validate_json(text, context=DECODING)
    except ValidationError as exc:
        problems = exc.errors(include_input=False, include_url=False)
        if any(p.get("type") == "json_invalid" for p in problems):
            raise InvalidRecord(
                record=record,
                kind="event",
                problems=[FieldProblem("", "json_invalid", "not a valid JSON document")],
            ) from None
        try:  # only on the error path: read the kind and id to name the record
            raw = json.loads(text)
        except ValueError:  # pragma: no cover - validate_json said it was JSON
            raw = None
        raise _invalid(exc, record=record, kind=_kind_of(raw), raw=raw) from None


_READABLE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$")


def _event_id_of(raw: Any) -> str | None:
    """The record's event id when it is a valid identifier (so it is safe to show), else None."""
    if isinstance(raw, Mapping):
        value = raw.get("event_id")
        if isinstance(value, str) and _READABLE_ID.fullmatch(value):
            return value
    return None


def _invalid(exc: ValidationError, *, record: str, kind: str, raw: Any = None) -> InvalidRecord:
    event_id = _event_id_of(raw)
    problem = invalid_record_from_pydantic(exc, record=record, kind=kind, event_id=event_id)
    if kind in EVENT_KINDS:  # the union's tag leads every location: the kind is said already
        tag = kind + "."
        problem = InvalidRecord(
            record=record,
            kind=kind,
            problems=[
                FieldProblem(
                    ", ".join(part.removeprefix(tag) for part in p.location.split(", "))
                    if p.location != kind
                    else ("schema_version" if p.code == "future_schema_version" else ""),
                    p.code,
                    p.reason,
                )
                for p in problem.problems
            ],
            event_id=event_id,
        )
    if any(p.code == "future_schema_version" for p in problem.problems):
        return UnknownSchemaVersion(
            record=record, kind=kind, problems=problem.problems, event_id=event_id
        )
    return problem


def event_to_json(event: Event) -> str:
    """Encode an event as one compact JSON document (one line of a log)."""
    return event.model_dump_json(exclude_none=True)


def events_from_json_lines(
    lines: Iterable[str | bytes], *, start: int = 1
) -> Iterator[tuple[int, Event | InvalidRecord]]:
    """Yield ``(line_number, Event | InvalidRecord)`` for each non-blank line.

    A bad line yields its :class:`InvalidRecord` in place of an event, so the
    caller reports it and carries on with the rest of the batch.
    """
    for number, line in enumerate(lines, start=start):
        if number == start:  # a UTF-8 byte-order mark some editors write is not part of the JSON
            line = (
                line.removeprefix(b"\xef\xbb\xbf")
                if isinstance(line, bytes)
                else line.removeprefix("\ufeff")
            )
        if not line or line.isspace():  # blank lines separate nothing and are skipped
            continue
        result: Event | InvalidRecord
        try:  # event_from_json, inline: the record's name is only needed on error
            result = _decode(line)
        except ValidationError:
            try:
                result = _event_from_json_full(line, record=f"line {number}")
            except InvalidRecord as problem:
                result = problem
        yield number, result
