"""Map a client's FAMA record to a FHIR R4 transaction Bundle and read one back.

Pure functions over plain JSON dicts (no HTTP, no FHIR model library): the
episode is a CarePlan, goals are Goals, the journal is one QuestionnaireResponse
per meeting against fama's hand-out 10 Questionnaire, a peer accompaniment is a
ServiceRequest with its Task (HL7 Gravity closed-loop referral), and each
session is a Procedure. Which element carries which value is declared in
:mod:`fama_adapters.fhir.tables` and rendered into ``docs/fhir.md``.

Every entry is a conditional create (``request.ifNoneExist``) on an identifier
built from fama ids, so posting the same bundle twice creates nothing the
second time. :func:`carried` is the part of a record FHIR carries;
:func:`read_bundle` turns a bundle back into exactly that, so
``read_bundle(client_bundle(s)).episodes == carried(s)``.

FHIR release R4 (4.0.1). Free text that FHIR cannot hold (control characters)
is a :class:`~fama_core.errors.MappingError` naming the record and field; FHIR
has no empty strings, so an empty note is written as no note.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from fama_adapters.fhir.tables import (
    ACCOMPANIMENT_REQUEST_STATUS,
    ACCOMPANIMENT_TASK_STATUS,
    CAREPLAN_STATUS,
    CODE_SYSTEMS,
    COMMITMENT_ACTIVITY_STATUS,
    EXTENSIONS,
    GOAL_ACHIEVEMENT,
    GOAL_ACHIEVEMENT_CODES,
    GOAL_ACHIEVEMENT_SYSTEM,
    GOAL_LIFECYCLE,
    GOAL_LIFECYCLE_CODES,
    IDENTIFIER_SYSTEMS,
    JOURNAL_QUESTIONNAIRE_URL,
    JOURNAL_QUESTIONNAIRE_VERSION,
    TASK_CODE_SYSTEM,
)
from fama_adapters.fhir.terminology import displays
from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    GoalStatus,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.errors import FieldProblem, InvalidRecord, MappingError
from fama_core.events import AccompanimentConcluded, Event
from fama_core.models import AccompanimentArrangement, JournalEntry, MeetingRef, StepRecord
from fama_core.state import ClientState, EpisodeState

__all__ = [
    "FHIR_MEDIA_TYPE",
    "CarriedAccompaniment",
    "CarriedCommitment",
    "CarriedEpisode",
    "CarriedGoal",
    "CarriedSession",
    "FhirSystems",
    "ReadBack",
    "WriteMode",
    "carried",
    "client_bundle",
    "read_bundle",
]

FHIR_MEDIA_TYPE = "application/fhir+json; fhirVersion=4.0"
"""Media type of the bundles (FHIR R4 JSON)."""

WriteMode = Literal["create", "upsert"]
"""``create``: POST with ``ifNoneExist`` (never duplicates, never changes what exists).
``upsert``: conditional update, PUT ``Type?identifier=…`` (creates or replaces)."""

_UUID_NAMESPACE = uuid.UUID("6f1b7d2e-4f4e-5a8c-9b0a-fa3a00000001")
_SINGLE_IDENTIFIER = frozenset({"QuestionnaireResponse"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True, slots=True)
class FhirSystems:
    """Identifier systems of the host's own records (patients, staff, volunteers).

    The defaults are fama's; a host sets its own so the references resolve to
    its Patient and Practitioner records.
    """

    patient: str = IDENTIFIER_SYSTEMS["patient"]
    keyworker: str = IDENTIFIER_SYSTEMS["keyworker"]
    volunteer: str = IDENTIFIER_SYSTEMS["volunteer"]


# ------------------------------------------------------------------ what FHIR carries


@dataclass(frozen=True, slots=True)
class CarriedGoal:
    """A goal as FHIR carries it: what was set and its current status."""

    goal_id: str
    kind: GoalKind
    description: str | None
    target_date: dt.date | None
    meeting: MeetingRef | None
    status: GoalStatus
    set_on: dt.date


@dataclass(frozen=True, slots=True)
class CarriedSession:
    """A session as FHIR carries it (a Procedure)."""

    event_id: str
    stage: SessionStage
    held_on: dt.date
    keyworker_id: str
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True, slots=True)
class CarriedCommitment:
    """A commitment to a meeting (a CarePlan activity) and its outcome once reviewed."""

    commitment_id: str
    meeting: MeetingRef
    planned_date: dt.date
    accompaniment_requested: bool
    outcome: CommitmentOutcome | None


@dataclass(frozen=True, slots=True)
class CarriedAccompaniment:
    """A peer accompaniment (ServiceRequest and Task) and its outcome once known."""

    arrangement: AccompanimentArrangement
    arranged_on: dt.date
    outcome: AccompanimentOutcome | None


@dataclass(frozen=True, slots=True)
class CarriedEpisode:
    """The part of one FAMA episode that the FHIR mapping carries, and reads back."""

    client_id: str
    episode_id: str
    status: EpisodeStatus
    opened_on: dt.date
    ended_on: dt.date | None
    keyworker_id: str
    goals: tuple[CarriedGoal, ...] = ()
    sessions: tuple[CarriedSession, ...] = ()
    journal: tuple[JournalEntry, ...] = ()
    commitments: tuple[CarriedCommitment, ...] = ()
    accompaniments: tuple[CarriedAccompaniment, ...] = ()


def _text(value: str | None) -> str | None:
    return value if value else None


def _step(record: StepRecord) -> StepRecord:
    if record.note == "":
        return StepRecord(step=record.step, status=record.status)
    return record


def _entry(entry: JournalEntry) -> JournalEntry:
    return entry.model_copy(
        update={
            "reactions": _text(entry.reactions),
            "benefits": tuple(b for b in entry.benefits if b),
            "disadvantages": tuple(d for d in entry.disadvantages if d),
        }
    )


def carried(state: ClientState) -> tuple[CarriedEpisode, ...]:
    """The part of each of the client's episodes that FHIR carries (what a round trip keeps).

    Not carried: obstacles, past experience, literacy support, hand-outs given,
    goal reviews and notes, the keyworker's team, the organisation a client
    engaged with, the reasons an episode ended, notes on outcomes;
    empty free text (FHIR has no empty strings) becomes absent.
    """
    return tuple(_carried_episode(ep) for ep in state.episodes)


def _carried_episode(ep: EpisodeState) -> CarriedEpisode:
    return CarriedEpisode(
        client_id=ep.client_id,
        episode_id=ep.episode_id,
        status=ep.status,
        opened_on=ep.opened_on,
        ended_on=ep.ended_on,
        keyworker_id=ep.keyworker_id,
        goals=tuple(
            CarriedGoal(
                goal_id=g.goal.goal_id,
                kind=g.goal.kind,
                description=_text(g.goal.description),
                target_date=g.goal.target_date,
                meeting=g.goal.meeting,
                status=g.status,
                set_on=g.set_on,
            )
            for g in ep.goals
        ),
        sessions=tuple(
            CarriedSession(
                event_id=s.event_id,
                stage=s.stage,
                held_on=s.held_on,
                keyworker_id=s.keyworker_id,
                steps=tuple(_step(r) for r in s.steps),
            )
            for s in ep.sessions
        ),
        journal=tuple(_entry(e) for e in ep.journal),
        commitments=tuple(
            CarriedCommitment(
                commitment_id=c.commitment.commitment_id,
                meeting=c.commitment.meeting,
                planned_date=c.commitment.planned_date,
                accompaniment_requested=c.commitment.accompaniment_requested,
                outcome=c.outcome,
            )
            for c in ep.commitments
        ),
        accompaniments=tuple(
            CarriedAccompaniment(a.arrangement, a.arranged_on, a.outcome) for a in ep.accompaniments
        ),
    )


# ------------------------------------------------------------------ writing


def _key(*ids: str) -> str:
    return "/".join(ids)


def _full_url(system: str, value: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_UUID_NAMESPACE, system + '|' + value)}"


def _coding(system_key: str, code: str) -> dict[str, Any]:
    """A Coding of fama's code system ``system_key``, with the display the shipped CodeSystem
    gives the code (none for a host's own organisation, which fama's CodeSystem lacks)."""
    coding: dict[str, Any] = {"system": CODE_SYSTEMS[system_key], "code": code}
    display = displays(system_key).get(code)
    if display is not None:
        coding["display"] = display
    return coding


def _ref(system: str, value: str, type_: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"identifier": {"system": system, "value": value}}
    if type_:
        ref["type"] = type_
    return ref


class _Writer:
    """Builds one client's bundle; ``record`` names the current record for errors."""

    def __init__(self, systems: FhirSystems, write: WriteMode) -> None:
        self.systems = systems
        self.write = write
        self.entries: list[dict[str, Any]] = []
        self.record = ""
        self.concluded: dict[tuple[str, str], AccompanimentConcluded] = {}

    def string(self, value: str | None, field_name: str) -> str | None:
        """Free text as FHIR can hold it: ``None`` when empty, an error on control characters."""
        if not value:
            return None
        if _CONTROL.search(value):
            raise MappingError(
                f"{self.record}: {field_name}: holds a control character FHIR strings cannot carry"
            )
        return value

    def add(self, resource: dict[str, Any], id_system: str, id_value: str) -> str:
        full_url = _full_url(id_system, id_value)
        rtype = resource.pop("resourceType")
        identifier = {"system": id_system, "value": id_value}
        resource = {
            "resourceType": rtype,
            # R4 gives QuestionnaireResponse one identifier (0..1), the others a list.
            "identifier": identifier if rtype in _SINGLE_IDENTIFIER else [identifier],
            **resource,
        }
        query = f"identifier={id_system}|{id_value}"
        # A Task's status belongs to the volunteer's side once it exists (Gravity
        # closed-loop referral: the target sets accepted, completed, failed), so fama
        # only ever creates it, even in upsert mode, and never overwrites it.
        if self.write == "create" or rtype == "Task":
            request = {"method": "POST", "url": rtype, "ifNoneExist": query}
        else:
            request = {"method": "PUT", "url": f"{rtype}?{query}"}
        self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
        return full_url

    def patient(self, client_id: str) -> dict[str, Any]:
        return _ref(self.systems.patient, client_id)

    def staff(self, keyworker_id: str) -> dict[str, Any]:
        return _ref(self.systems.keyworker, keyworker_id, "Practitioner")

    def meeting(self, meeting: MeetingRef, where: str) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [
            {"url": "name", "valueString": self.string(meeting.name, f"{where}.name")},
            {
                "url": "organisation",
                "valueCoding": _coding("organisation", meeting.organisation),
            },
        ]
        if meeting.meeting_id is not None:
            parts.append({"url": "id", "valueString": meeting.meeting_id})
        if meeting.attendance_mode is not None:
            parts.append(
                {
                    "url": "attendanceMode",
                    "valueCoding": _coding("attendance-mode", meeting.attendance_mode.value),
                }
            )
        return {"url": EXTENSIONS["meeting"], "extension": parts}


def client_bundle(
    state: ClientState,
    events: Sequence[Event] = (),
    *,
    systems: FhirSystems | None = None,
    write: WriteMode = "create",
) -> dict[str, Any]:
    """A FHIR R4 transaction Bundle (a JSON-ready dict) of every episode of one client.

    ``events`` (the client's log, optional) supply when each accompaniment
    outcome was recorded (Task.lastModified, executionPeriod.end). Deterministic:
    the same input gives the same bundle, entry ``fullUrl``s included. Raises
    :class:`~fama_core.errors.MappingError` naming the record and field when
    free text holds characters FHIR cannot carry.
    """
    writer = _Writer(systems or FhirSystems(), write)
    writer.concluded = {
        (e.episode_id, e.result.arrangement_id): e
        for e in events
        if isinstance(e, AccompanimentConcluded)
    }
    for ep in state.episodes:
        _write_episode(writer, ep)
    return {"resourceType": "Bundle", "type": "transaction", "entry": writer.entries}


def _write_episode(w: _Writer, ep: EpisodeState) -> None:
    cid, eid = ep.client_id, ep.episode_id
    plan_system = IDENTIFIER_SYSTEMS["episode"]
    plan_key = _key(cid, eid)
    plan_url = _full_url(plan_system, plan_key)
    plan_ref = {"reference": plan_url}
    first = len(w.entries)
    goal_urls = [_write_goal(w, ep, g) for g in ep.goals]
    activities: list[dict[str, Any]] = []
    for c in ep.commitments:
        w.record = f"commitment {c.commitment.commitment_id}"
        commitment_ext: list[dict[str, Any]] = [
            {"url": "id", "valueString": c.commitment.commitment_id},
            {
                "url": "accompanimentRequested",
                "valueBoolean": c.commitment.accompaniment_requested,
            },
        ]
        detail: dict[str, Any] = {
            "extension": [
                {"url": EXTENSIONS["commitment"], "extension": commitment_ext},
                w.meeting(c.commitment.meeting, "commitment.meeting"),
            ],
            "code": {"coding": [_coding("record", "commitment")]},
            "status": COMMITMENT_ACTIVITY_STATUS[c.outcome],
            "scheduledPeriod": {
                "start": c.commitment.planned_date.isoformat(),
                "end": c.commitment.planned_date.isoformat(),
            },
        }
        if c.outcome is not None:
            detail["statusReason"] = {"coding": [_coding("commitment-outcome", c.outcome.value)]}
        activities.append({"detail": detail})
    for a in ep.accompaniments:
        activities.append({"reference": {"reference": _write_accompaniment(w, ep, a, plan_ref)}})
    for s in ep.sessions:
        _write_session(w, ep, s, plan_ref)
    for entry in ep.journal:
        _write_journal(w, ep, entry, plan_ref)
    w.record = f"episode {eid}"
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "extension": [
            {
                "url": EXTENSIONS["episode-status"],
                "valueCoding": _coding("episode-status", ep.status.value),
            }
        ],
        "status": CAREPLAN_STATUS[ep.status],
        "intent": "plan",
        "category": [{"coding": [_coding("record", "episode")]}],
        "title": "Facilitated access to mutual aid",
        "subject": w.patient(cid),
        "period": {"start": ep.opened_on.isoformat()},
        "author": w.staff(ep.keyworker_id),
    }
    if ep.ended_on is not None:
        plan["period"]["end"] = ep.ended_on.isoformat()
    if goal_urls:
        plan["goal"] = [{"reference": u} for u in goal_urls]
    if activities:
        plan["activity"] = activities
    w.add(plan, plan_system, plan_key)
    # The CarePlan leads its episode's entries for a reader; a transaction resolves
    # references between entries whatever their order.
    w.entries.insert(first, w.entries.pop())


def _write_goal(w: _Writer, ep: EpisodeState, g: Any) -> str:
    goal = g.goal
    w.record = f"goal {goal.goal_id}"
    lifecycle = GOAL_LIFECYCLE[g.status]
    achievement = GOAL_ACHIEVEMENT[g.status]
    assert lifecycle in GOAL_LIFECYCLE_CODES
    description: dict[str, Any] = {"coding": [_coding("goal-kind", goal.kind.value)]}
    text = w.string(goal.description, "goal.description")
    if text is not None:
        description["text"] = text
    resource: dict[str, Any] = {"resourceType": "Goal"}
    if goal.meeting is not None:
        resource["extension"] = [w.meeting(goal.meeting, "goal.meeting")]
    resource["lifecycleStatus"] = lifecycle
    if achievement is not None:
        assert achievement in GOAL_ACHIEVEMENT_CODES
        resource["achievementStatus"] = {
            "coding": [{"system": GOAL_ACHIEVEMENT_SYSTEM, "code": achievement}]
        }
    resource["description"] = description
    resource["subject"] = w.patient(ep.client_id)
    resource["startDate"] = g.set_on.isoformat()
    if goal.target_date is not None:
        resource["target"] = [{"dueDate": goal.target_date.isoformat()}]
    return w.add(
        resource, IDENTIFIER_SYSTEMS["goal"], _key(ep.client_id, ep.episode_id, goal.goal_id)
    )


def _write_session(w: _Writer, ep: EpisodeState, s: Any, plan_ref: dict[str, Any]) -> None:
    w.record = f"session {s.event_id}"
    steps = []
    for i, r in enumerate(s.steps):
        parts: list[dict[str, Any]] = [
            {"url": "step", "valueCoding": _coding("step", r.step.value)},
            {"url": "status", "valueCoding": _coding("step-status", r.status.value)},
        ]
        note = w.string(r.note, f"steps.{i}.note")
        if note is not None:
            parts.append({"url": "note", "valueString": note})
        steps.append({"url": EXTENSIONS["session-step"], "extension": parts})
    resource: dict[str, Any] = {"resourceType": "Procedure"}
    if steps:
        resource["extension"] = steps
    resource.update(
        {
            "basedOn": [plan_ref],
            "status": "completed",
            "code": {"coding": [_coding("session", f"session-{s.stage.value}")]},
            "subject": w.patient(ep.client_id),
            "performedDateTime": s.held_on.isoformat(),
            "performer": [{"actor": w.staff(s.keyworker_id)}],
        }
    )
    w.add(resource, IDENTIFIER_SYSTEMS["session"], _key(ep.client_id, ep.episode_id, s.event_id))


def _answer(link_id: str, *answers: dict[str, Any]) -> dict[str, Any]:
    return {"linkId": link_id, "answer": list(answers)}


def _write_journal(
    w: _Writer, ep: EpisodeState, entry: JournalEntry, plan_ref: dict[str, Any]
) -> None:
    w.record = f"journal entry {entry.entry_id}"
    m = entry.meeting
    items = [
        _answer("meeting-name", {"valueString": w.string(m.name, "meeting.name")}),
        _answer("meeting-organisation", {"valueCoding": _coding("organisation", m.organisation)}),
    ]
    if m.meeting_id is not None:
        items.append(_answer("meeting-id", {"valueString": m.meeting_id}))
    if m.attendance_mode is not None:
        items.append(
            _answer(
                "meeting-attendance-mode",
                {"valueCoding": _coding("attendance-mode", m.attendance_mode.value)},
            )
        )
    items.append(_answer("date", {"valueDate": entry.date.isoformat()}))
    items.append(_answer("attended", {"valueBoolean": entry.attended}))
    reactions = w.string(entry.reactions, "reactions")
    if reactions is not None:
        items.append(_answer("reactions", {"valueString": reactions}))
    for link_id, values in (("benefits", entry.benefits), ("disadvantages", entry.disadvantages)):
        texts = [w.string(v, f"{link_id}.{i}") for i, v in enumerate(values)]
        answers = [{"valueString": t} for t in texts if t is not None]
        if answers:
            items.append(_answer(link_id, *answers))
    items.append(_answer("contacts-made", {"valueInteger": entry.contacts_made}))
    resource = {
        "resourceType": "QuestionnaireResponse",
        "basedOn": [plan_ref],
        "questionnaire": f"{JOURNAL_QUESTIONNAIRE_URL}|{JOURNAL_QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": w.patient(ep.client_id),
        "item": items,
    }
    w.add(
        resource, IDENTIFIER_SYSTEMS["journal"], _key(ep.client_id, ep.episode_id, entry.entry_id)
    )


def _write_accompaniment(w: _Writer, ep: EpisodeState, a: Any, plan_ref: dict[str, Any]) -> str:
    arr: AccompanimentArrangement = a.arrangement
    w.record = f"accompaniment {arr.arrangement_id}"
    key = _key(ep.client_id, ep.episode_id, arr.arrangement_id)
    volunteer = _ref(w.systems.volunteer, arr.volunteer_id, "Practitioner")
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "extension": [w.meeting(arr.meeting, "arrangement.meeting")],
        "basedOn": [plan_ref],
        "status": ACCOMPANIMENT_REQUEST_STATUS[a.outcome],
        "intent": "order",
        "code": {"coding": [_coding("record", "peer-accompaniment")]},
        "subject": w.patient(ep.client_id),
        "occurrenceDateTime": arr.date.isoformat(),
        "authoredOn": a.arranged_on.isoformat(),
        "requester": w.staff(ep.keyworker_id),
        "performerType": {"coding": [_coding("volunteer-kind", arr.volunteer_kind.value)]},
        "performer": [volunteer],
    }
    if arr.commitment_id is not None:
        request["supportingInfo"] = [
            {
                "identifier": {
                    "system": IDENTIFIER_SYSTEMS["commitment"],
                    "value": _key(ep.client_id, ep.episode_id, arr.commitment_id),
                }
            }
        ]
    request_url = w.add(request, IDENTIFIER_SYSTEMS["accompaniment"], key)
    task: dict[str, Any] = {"resourceType": "Task", "status": ACCOMPANIMENT_TASK_STATUS[a.outcome]}
    if a.outcome is not None:
        task["statusReason"] = {"coding": [_coding("accompaniment-outcome", a.outcome.value)]}
    task.update(
        {
            "intent": "order",
            "code": {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]},
            "focus": {"reference": request_url},
            "for": w.patient(ep.client_id),
            "authoredOn": a.arranged_on.isoformat(),
            "requester": w.staff(ep.keyworker_id),
            "owner": volunteer,
        }
    )
    concluded = w.concluded.get((ep.episode_id, arr.arrangement_id))
    if a.outcome is not None and concluded is not None:
        task["executionPeriod"] = {"end": concluded.occurred_on.isoformat()}
        task["lastModified"] = _instant(concluded.recorded_at)
    w.add(task, IDENTIFIER_SYSTEMS["accompaniment-task"], key)
    return request_url


# ------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class ReadBack:
    """What :func:`read_bundle` found: episodes, and each resource it could not read."""

    episodes: tuple[CarriedEpisode, ...] = ()
    problems: tuple[InvalidRecord, ...] = field(default=())


class _Bad(Exception):
    """A resource element is missing or malformed: ``path`` and a reason without values."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


_GOAL_FROM_FHIR: dict[tuple[str, str | None], GoalStatus] = {
    (fhir, ach): fama for fama, fhir in GOAL_LIFECYCLE.items() for ach in [GOAL_ACHIEVEMENT[fama]]
}
_EPISODE_FROM_CODE = {s.value: s for s in EpisodeStatus}


def _code(element: Any, system_key: str, path: str) -> str:
    system = CODE_SYSTEMS[system_key]
    for coding in element.get("coding", []) if isinstance(element, Mapping) else []:
        if not isinstance(coding, Mapping):
            continue
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    raise _Bad(path, f"no coding from {system}")


def _date(value: Any, path: str) -> dt.date:
    if not isinstance(value, str) or len(value) < 10:
        raise _Bad(path, "not a full date")
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise _Bad(path, "not a full date") from None


def _identifier(resource: Mapping[str, Any], system: str, parts: int) -> tuple[str, ...]:
    idents = resource.get("identifier", [])
    for ident in [idents] if isinstance(idents, Mapping) else idents:
        if ident.get("system") == system:
            value = ident.get("value")
            pieces = tuple(value.split("/")) if isinstance(value, str) else ()
            if len(pieces) != parts or not all(pieces):
                raise _Bad("identifier", f"value is not {parts} fama ids joined by /")
            return pieces
    raise _Bad("identifier", f"no identifier in system {system}")


def _ref_value(ref: Any, system: str, path: str) -> str:
    ident = ref.get("identifier", {}) if isinstance(ref, Mapping) else {}
    if ident.get("system") != system or not isinstance(ident.get("value"), str):
        raise _Bad(path, f"no identifier in system {system}")
    return str(ident["value"])


def _ext(element: Mapping[str, Any], url: str) -> list[Mapping[str, Any]]:
    return [e for e in element.get("extension", []) if e.get("url") == url]


def _sub(ext: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    found = _ext(ext, name)
    return found[0] if found else None


def _read_meeting(element: Mapping[str, Any], path: str) -> MeetingRef:
    found = _ext(element, EXTENSIONS["meeting"])
    if not found:
        raise _Bad(path, "no meeting extension")
    ext = found[0]
    name, org = _sub(ext, "name"), _sub(ext, "organisation")
    if name is None or org is None:
        raise _Bad(path, "meeting extension lacks name or organisation")
    mid, mode = _sub(ext, "id"), _sub(ext, "attendanceMode")
    return MeetingRef(
        meeting_id=mid.get("valueString") if mid else None,
        name=name.get("valueString"),
        organisation=_code(
            {"coding": [org.get("valueCoding")]}, "organisation", path + ".organisation"
        ),
        attendance_mode=AttendanceMode(
            _code({"coding": [mode.get("valueCoding")]}, "attendance-mode", path)
        )
        if mode
        else None,
    )


@dataclass
class _Episode:
    client_id: str
    episode_id: str
    status: EpisodeStatus
    opened_on: dt.date
    ended_on: dt.date | None
    keyworker_id: str
    commitments: list[CarriedCommitment]
    goals: list[CarriedGoal] = field(default_factory=list)
    sessions: list[CarriedSession] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    accompaniments: list[CarriedAccompaniment] = field(default_factory=list)


def read_bundle(bundle: Mapping[str, Any], *, systems: FhirSystems | None = None) -> ReadBack:
    """Read fama's records back from a Bundle (transaction, collection or search result).

    Resources are tied to their episode by fama's identifiers, not by
    references, so a server's search results read as well as fama's own
    bundle. A resource that cannot be read is listed in ``problems`` (record,
    element path, reason; never a value) and the rest carry on.
    """
    systems = systems or FhirSystems()
    entries = bundle.get("entry")
    resources = [
        e["resource"]
        for e in (entries if isinstance(entries, list) else [])
        if isinstance(e, Mapping) and isinstance(e.get("resource"), Mapping)
    ]
    problems: list[InvalidRecord] = []
    episodes: dict[tuple[str, str], _Episode] = {}
    tasks: dict[tuple[str, ...], Mapping[str, Any]] = {}
    order = ("CarePlan", "Task", "Goal", "Procedure", "QuestionnaireResponse", "ServiceRequest")
    for rtype in order:
        for index, resource in enumerate(resources):
            if resource.get("resourceType") != rtype:
                continue
            try:
                _read_one(resource, systems, episodes, tasks)
            except _Bad as bad:
                problems.append(_problem(resource, index, bad.path, "invalid", bad.reason))
            except ValidationError as exc:
                for p in exc.errors(include_input=False, include_url=False):
                    loc = ".".join(str(x) for x in p.get("loc", ()))
                    problems.append(_problem(resource, index, loc, p["type"], p["msg"]))
            except (KeyError, TypeError, ValueError, AttributeError):
                problems.append(
                    _problem(resource, index, "", "malformed", "an element has the wrong shape")
                )
    return ReadBack(
        episodes=tuple(
            CarriedEpisode(
                client_id=e.client_id,
                episode_id=e.episode_id,
                status=e.status,
                opened_on=e.opened_on,
                ended_on=e.ended_on,
                keyworker_id=e.keyworker_id,
                goals=tuple(e.goals),
                sessions=tuple(e.sessions),
                journal=tuple(e.journal),
                commitments=tuple(e.commitments),
                accompaniments=tuple(e.accompaniments),
            )
            for e in episodes.values()
        ),
        problems=tuple(problems),
    )


def _problem(
    resource: Mapping[str, Any], index: int, path: str, code: str, reason: str
) -> InvalidRecord:
    rtype = str(resource.get("resourceType"))
    return InvalidRecord(
        record=f"{rtype} (entry {index})",
        kind=f"FHIR {rtype}",
        problems=[FieldProblem(path, code, reason)],
    )


def _episode_of(
    episodes: dict[tuple[str, str], _Episode], client_id: str, episode_id: str
) -> _Episode:
    try:
        return episodes[(client_id, episode_id)]
    except KeyError:
        raise _Bad("identifier", "no CarePlan for this resource's episode") from None


def _read_one(
    r: Mapping[str, Any],
    systems: FhirSystems,
    episodes: dict[tuple[str, str], _Episode],
    tasks: dict[tuple[str, ...], Mapping[str, Any]],
) -> None:
    rtype = r["resourceType"]
    if rtype == "CarePlan":
        cid, eid = _identifier(r, IDENTIFIER_SYSTEMS["episode"], 2)
        status_ext = _ext(r, EXTENSIONS["episode-status"])
        if not status_ext:
            raise _Bad("extension", "no episode-status extension")
        code = _code({"coding": [status_ext[0].get("valueCoding")]}, "episode-status", "extension")
        if code not in _EPISODE_FROM_CODE:
            raise _Bad("extension", "unknown episode status")
        status = _EPISODE_FROM_CODE[code]
        if r.get("status") != CAREPLAN_STATUS[status]:
            raise _Bad("status", "does not match the episode status")
        if _ref_value(r.get("subject"), systems.patient, "subject") != cid:
            raise _Bad("subject", "is not the client of the identifier")
        period = r.get("period", {})
        commitments = [
            _read_commitment(a["detail"], f"activity.{i}.detail")
            for i, a in enumerate(r.get("activity", []))
            if "detail" in a
        ]
        episodes[(cid, eid)] = _Episode(
            client_id=cid,
            episode_id=eid,
            status=status,
            opened_on=_date(period.get("start"), "period.start"),
            ended_on=_date(period["end"], "period.end") if "end" in period else None,
            keyworker_id=_ref_value(r.get("author"), systems.keyworker, "author"),
            commitments=commitments,
        )
    elif rtype == "Task":
        key = _identifier(r, IDENTIFIER_SYSTEMS["accompaniment-task"], 3)
        tasks[key] = r
    elif rtype == "Goal":
        cid, eid, gid = _identifier(r, IDENTIFIER_SYSTEMS["goal"], 3)
        _episode_of(episodes, cid, eid).goals.append(_read_goal(r, gid))
    elif rtype == "Procedure":
        cid, eid, event_id = _identifier(r, IDENTIFIER_SYSTEMS["session"], 3)
        _episode_of(episodes, cid, eid).sessions.append(_read_session(r, event_id, systems))
    elif rtype == "QuestionnaireResponse":
        cid, eid, entry_id = _identifier(r, IDENTIFIER_SYSTEMS["journal"], 3)
        _episode_of(episodes, cid, eid).journal.append(_read_journal(r, entry_id))
    elif rtype == "ServiceRequest":
        key = _identifier(r, IDENTIFIER_SYSTEMS["accompaniment"], 3)
        episode = _episode_of(episodes, key[0], key[1])
        episode.accompaniments.append(_read_accompaniment(r, key, tasks.get(key), systems))


def _read_commitment(detail: Mapping[str, Any], path: str) -> CarriedCommitment:
    found = _ext(detail, EXTENSIONS["commitment"])
    if not found:
        raise _Bad(path, "no commitment extension")
    cid, requested = _sub(found[0], "id"), _sub(found[0], "accompanimentRequested")
    if cid is None or not isinstance(cid.get("valueString"), str):
        raise _Bad(path + ".extension", "commitment extension lacks its id")
    outcome: CommitmentOutcome | None = None
    if "statusReason" in detail:
        outcome = CommitmentOutcome(
            _code(detail["statusReason"], "commitment-outcome", path + ".statusReason")
        )
    if detail.get("status") != COMMITMENT_ACTIVITY_STATUS[outcome]:
        raise _Bad(path + ".status", "does not match the commitment outcome")
    period = detail.get("scheduledPeriod", {})
    return CarriedCommitment(
        commitment_id=cid["valueString"],
        meeting=_read_meeting(detail, path + ".extension"),
        planned_date=_date(period.get("start"), path + ".scheduledPeriod.start"),
        accompaniment_requested=bool(requested and requested.get("valueBoolean")),
        outcome=outcome,
    )


def _read_goal(r: Mapping[str, Any], goal_id: str) -> CarriedGoal:
    lifecycle = r.get("lifecycleStatus")
    if lifecycle not in GOAL_LIFECYCLE_CODES:
        raise _Bad("lifecycleStatus", "not a goal-status code")
    achievement = None
    if "achievementStatus" in r:
        for coding in r["achievementStatus"].get("coding", []):
            if coding.get("system") == GOAL_ACHIEVEMENT_SYSTEM:
                achievement = coding.get("code")
        if achievement not in GOAL_ACHIEVEMENT_CODES:
            raise _Bad("achievementStatus", "not a goal-achievement code")
    status = _GOAL_FROM_FHIR.get((lifecycle, achievement))
    if status is None:
        raise _Bad("lifecycleStatus", "this lifecycle and achievement pair has no fama status")
    description = r.get("description", {})
    target = r.get("target", [])
    due = target[0].get("dueDate") if target else None
    return CarriedGoal(
        goal_id=goal_id,
        kind=GoalKind(_code(description, "goal-kind", "description")),
        description=description.get("text"),
        target_date=_date(due, "target.dueDate") if due is not None else None,
        meeting=_read_meeting(r, "extension") if _ext(r, EXTENSIONS["meeting"]) else None,
        status=status,
        set_on=_date(r.get("startDate"), "startDate"),
    )


def _read_session(r: Mapping[str, Any], event_id: str, systems: FhirSystems) -> CarriedSession:
    code = _code(r.get("code"), "session", "code")
    try:
        stage = SessionStage(code.removeprefix("session-"))
    except ValueError:
        raise _Bad("code", "not a session code") from None
    steps = []
    for i, ext in enumerate(_ext(r, EXTENSIONS["session-step"])):
        step, status, note = _sub(ext, "step"), _sub(ext, "status"), _sub(ext, "note")
        if step is None or status is None:
            raise _Bad(f"extension.{i}", "session-step lacks step or status")
        steps.append(
            StepRecord(
                step=Step(_code({"coding": [step.get("valueCoding")]}, "step", f"extension.{i}")),
                status=StepStatus(
                    _code({"coding": [status.get("valueCoding")]}, "step-status", f"extension.{i}")
                ),
                note=note.get("valueString") if note else None,
            )
        )
    performers = r.get("performer", [])
    if not performers:
        raise _Bad("performer", "no performer")
    return CarriedSession(
        event_id=event_id,
        stage=stage,
        held_on=_date(r.get("performedDateTime"), "performedDateTime"),
        keyworker_id=_ref_value(performers[0].get("actor"), systems.keyworker, "performer.actor"),
        steps=tuple(steps),
    )


def _answers(r: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for item in r.get("item", []):
        out.setdefault(str(item.get("linkId")), []).extend(item.get("answer", []))
    return out


def _one(answers: dict[str, list[Mapping[str, Any]]], link_id: str, key: str) -> Any:
    values = [a[key] for a in answers.get(link_id, []) if key in a]
    if len(values) > 1:
        raise _Bad(f"item[{link_id}]", "answered more than once")
    return values[0] if values else None


def _read_journal(r: Mapping[str, Any], entry_id: str) -> JournalEntry:
    questionnaire = str(r.get("questionnaire", "")).split("|")[0]
    if questionnaire != JOURNAL_QUESTIONNAIRE_URL:
        raise _Bad("questionnaire", "not fama's hand-out 10 Questionnaire")
    a = _answers(r)
    org = _one(a, "meeting-organisation", "valueCoding")
    mode = _one(a, "meeting-attendance-mode", "valueCoding")
    when = _one(a, "date", "valueDate")
    meeting = MeetingRef(
        meeting_id=_one(a, "meeting-id", "valueString"),
        name=_one(a, "meeting-name", "valueString"),
        organisation=_code({"coding": [org]}, "organisation", "item[meeting-organisation]"),
        attendance_mode=AttendanceMode(
            _code({"coding": [mode]}, "attendance-mode", "item[meeting-attendance-mode]")
        )
        if mode is not None
        else None,
    )
    return JournalEntry(
        entry_id=entry_id,
        meeting=meeting,
        date=_date(when, "item[date]"),
        attended=_one(a, "attended", "valueBoolean"),
        reactions=_one(a, "reactions", "valueString"),
        benefits=tuple(x["valueString"] for x in a.get("benefits", [])),
        disadvantages=tuple(x["valueString"] for x in a.get("disadvantages", [])),
        contacts_made=_one(a, "contacts-made", "valueInteger"),
    )


_OUTCOME_BY_TASK_STATUS = {
    "completed": AccompanimentOutcome.ACCOMPANIED,
    "cancelled": AccompanimentOutcome.CANCELLED,
}
_OPEN_TASK = {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}
_ENDED_TASK = {"completed", "failed", "cancelled"}
"""Task states that end an arrangement (Gravity: set by the volunteer's side, or cancelled)."""


def _read_accompaniment(
    r: Mapping[str, Any],
    key: tuple[str, ...],
    task: Mapping[str, Any] | None,
    systems: FhirSystems,
) -> CarriedAccompaniment:
    outcome: AccompanimentOutcome | None = None
    status = task.get("status") if task is not None else None
    if task is not None and status not in _OPEN_TASK:
        if status not in _ENDED_TASK:
            # entered-in-error, rejected, absent or unknown: not an outcome of the arrangement.
            raise _Bad("Task.status", "not a status that ends an accompaniment")
        if "statusReason" in task:
            outcome = AccompanimentOutcome(
                _code(task["statusReason"], "accompaniment-outcome", "Task.statusReason")
            )
        elif status in _OUTCOME_BY_TASK_STATUS:
            outcome = _OUTCOME_BY_TASK_STATUS[status]
        else:
            raise _Bad("Task.statusReason", "an ended Task needs the accompaniment outcome")
        if ACCOMPANIMENT_TASK_STATUS[outcome] != status:
            raise _Bad("Task.statusReason", "the outcome does not agree with Task.status")
    commitment_id = None
    for info in r.get("supportingInfo", []):
        ident = info.get("identifier", {})
        if ident.get("system") == IDENTIFIER_SYSTEMS["commitment"]:
            commitment_id = str(ident.get("value", "")).split("/")[-1]
    performers = r.get("performer", [])
    if not performers:
        raise _Bad("performer", "no volunteer")
    arrangement = AccompanimentArrangement(
        arrangement_id=key[2],
        volunteer_id=_ref_value(performers[0], systems.volunteer, "performer"),
        volunteer_kind=VolunteerKind(
            _code(r.get("performerType"), "volunteer-kind", "performerType")
        ),
        meeting=_read_meeting(r, "extension"),
        date=_date(r.get("occurrenceDateTime"), "occurrenceDateTime"),
        commitment_id=commitment_id,
    )
    return CarriedAccompaniment(
        arrangement=arrangement,
        arranged_on=_date(r.get("authoredOn"), "authoredOn"),
        outcome=outcome,
    )


def _instant(when: dt.datetime) -> str:
    """An aware datetime as a FHIR instant, UTC written ``Z`` as FHIR examples do."""
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
