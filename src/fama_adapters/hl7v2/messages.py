"""Build and read fama's HL7 v2.5 messages: goals, referral, session, ADT.

Each message kind has a frozen record (what the message carries, in fama's
terms), a ``build_*`` function returning its segments (encoded by
:func:`fama_adapters.hl7v2.er7.encode`, the fast path) and a ``read_*``
function that reads it back. ``read_*(encode(build_*(r))) == r`` for every
record is a tested property: that is what "lossless for what HL7 carries"
means here. Field positions follow :mod:`fama_adapters.hl7v2.tables`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from fama_adapters.hl7v2 import tables as t
from fama_adapters.hl7v2.er7 import (
    Field,
    ParsedMessage,
    ParsedSegment,
    Segment,
    format_date,
    format_timestamp,
    parse_date,
    parse_timestamp,
)
from fama_adapters.record_systems import ClientMerge
from fama_core.codes import (
    AttendanceMode,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.context import AGENCY_CODE, TreatmentContext
from fama_core.errors import MappingError
from fama_core.models import AccompanimentArrangement, Goal, MeetingRef, StepRecord

__all__ = [
    "VERSION",
    "AdtMessage",
    "GoalAction",
    "GoalEntry",
    "GoalMessage",
    "Header",
    "ReferralMessage",
    "SessionMessage",
    "build_adt",
    "build_goal_message",
    "build_referral",
    "build_session",
    "control_id_for",
    "read_adt",
    "read_goal_message",
    "read_referral",
    "read_session",
]

VERSION = "2.5"
_E = TypeVar("_E", bound=StrEnum)


class GoalAction(StrEnum):
    """What a PGL message does to a goal (HL7 table 0287, via :data:`tables.GOAL_ACTIONS`)."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"


_ACTION_CODE = {a: code for a, code, _ in t.GOAL_ACTIONS}
_ACTION_EVENT = {a: ev for a, _, ev in t.GOAL_ACTIONS}
_ACTION_BY_CODE = {code: GoalAction(a) for a, code, _ in t.GOAL_ACTIONS}
_STAGE_CODE = {c.fama: c for c in t.SESSION_STAGES}
_STAGE_BY_CODE = {c.code: SessionStage(c.fama) for c in t.SESSION_STAGES}
_STEP_STATUS = {c.fama: c for c in t.STEP_STATUS}
_LIFECYCLE = {c.fama: c for c in t.GOAL_LIFECYCLE}
_REVIEW = {c.fama: c for c in t.GOAL_REVIEW}
L = t.CODING_SYSTEM


@dataclass(frozen=True, slots=True)
class Header:
    """Who sends and receives (MSH-3 to MSH-6, MSH-11) and the PID-3 assigning authority."""

    sending_application: str = "FAMA"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    processing_id: str = "P"
    assigning_authority: str = "FAMA"


def control_id_for(key: str) -> str:
    """A message control id (MSH-10) from a stable key: the key itself when it fits
    HL7 v2.5's 20 characters, else ``F`` and 19 hex digits of its SHA-256.

    The same event always gives the same id, so a resend is recognisable.

    >>> control_id_for("demo-c003-ep1-e3")
    'demo-c003-ep1-e3'
    >>> len(control_id_for("x" * 64))
    20
    """
    if len(key) <= 20:
        return key
    return "F" + hashlib.sha256(key.encode()).hexdigest()[:19]


def _msh(
    header: Header, recorded_at: dt.datetime, mtype: tuple[str, str, str], control_id: str
) -> Segment:
    return (
        "MSH",
        (
            header.sending_application,
            header.sending_facility,
            header.receiving_application,
            header.receiving_facility,
            format_timestamp(recorded_at),
            "",
            mtype,
            control_id,
            header.processing_id,
            VERSION,
            "",
            "",
            "",
            "",
            "",
            # MSH-18: fama writes UTF-8, and v2.5's default character set is ASCII.
            CHARACTER_SET,
        ),
    )


def _pid(header: Header, client_id: str) -> Segment:
    return ("PID", ("", "", (client_id, "", "", header.assigning_authority, "PI"), "", _NO_NAME))


_NO_NAME: Field = ("", "", "", "", "", "", "S")


def _nte(set_id: int, text: str) -> Segment:
    return ("NTE", (str(set_id), "", text))


def _code(value: str, label: str = "") -> Field:
    return (value, label, L)


def _enum(kind: type[_E], value: str, *, what: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        raise MappingError(f"{what}: not a known code") from None


def _opt_enum(kind: type[_E], value: str, *, what: str) -> _E | None:
    return _enum(kind, value, what=what) if value else None


def _required(value: str, *, what: str) -> str:
    if not value:
        raise MappingError(f"{what}: missing")
    return value


def _client_id(msg: ParsedMessage, *, authority: str | None = None) -> str:
    pid = msg.first("PID")
    if pid is None:
        raise MappingError("PID: missing")
    return _identifier(pid, 3, authority=authority, what="PID-3")


def _identifier(seg: ParsedSegment, field: int, *, authority: str | None, what: str) -> str:
    """The CX identifier of ``authority`` in a repeating field (PID-3, MRG-1).

    Without a configured authority only a single identifier is accepted: with
    several, the first may be an NHS number, which must never become fama's
    pseudonymous client key.
    """
    reps = [r for r in seg.repetitions(field) if seg.component_of(r, 1)]
    if authority is None:
        if len(reps) > 1:
            raise MappingError(
                f"{what}: several identifiers; configure the assigning authority of the "
                "host's client key"
            )
        if reps:
            return _not_nhs_number(seg, reps[0], what)
    else:
        for rep in reps:
            if seg.component_of(rep, 4) == authority:
                return _not_nhs_number(seg, rep, what)
    raise MappingError(
        f"{what}: no client identifier" + (f" from {authority}" if authority else "")
    )


def _not_nhs_number(seg: ParsedSegment, rep: str, what: str) -> str:
    """The identifier of a CX repetition, unless the sender marks it as an NHS number.

    NHS senders (the ITK HL7 v2 profile) mark it with assigning authority ``NHS``
    (CX-4) and identifier type ``NH`` (CX-5, table 0203). A PAS that sends only
    that would make it fama's client key, printed and kept for years: refused,
    the value never shown, whatever authority is configured.
    """
    if seg.component_of(rep, 5).upper() == "NH" or seg.component_of(rep, 4).upper() == "NHS":
        raise MappingError(
            f"{what}: the identifier is marked as an NHS number (CX-4 NHS or CX-5 NH), "
            "which must never be fama's client key; send the host's own key"
        )
    return seg.component_of(rep, 1)


CHARACTER_SET = "UNICODE UTF-8"
"""MSH-18 (HL7 table 0211) of every message fama writes."""

SENDER_ZONE = ZoneInfo("Europe/London")
"""Where a timestamp without an offset is read: fama's senders are English services."""


def _recorded_at(msg: ParsedMessage) -> dt.datetime:
    return parse_timestamp(msg.msh.get(7), what="MSH-7", zone=SENDER_ZONE)


def _check_type(msg: ParsedMessage, code: str, structure: str) -> None:
    got = msg.message_type
    if got[0] != code or got[2] != structure:
        raise MappingError(f"MSH-9: expected {code} with structure {structure}")


def _model(build: Callable[[], _M], *, what: str) -> _M:
    try:
        return build()
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "(record)" for e in exc.errors())
        raise MappingError(f"{what}: invalid value in {fields}") from None


_M = TypeVar("_M")


# ------------------------------------------------------------------ meetings


def _obx(set_id: int, item: str, label: str, value: str, *, when: str = "") -> Segment:
    """An OBX whose value is a local code (CWE), result status F (final)."""
    return ("OBX", (str(set_id), "CWE", _code(item, label), "", _code(value) if value else "",
                    "", "", "", "", "",
                    "F", "", "", when))  # fmt: skip


def _meeting_segments(meeting: MeetingRef, start: int) -> list[Segment]:
    """The meeting as OBX rows (id, organisation, mode) with its name in an NTE."""
    rows: list[Segment] = [
        _obx(start, "meeting", "Meeting", meeting.meeting_id or ""),
        _nte(1, meeting.name),
        _obx(start + 1, "organisation", "Mutual aid organisation", meeting.organisation),
    ]
    if meeting.attendance_mode is not None:
        rows.append(_obx(start + 2, "attendance_mode", "Attendance mode", meeting.attendance_mode))
    return rows


def _read_meeting(segments: list[ParsedSegment], *, what: str) -> MeetingRef | None:
    values: dict[str, str] = {}
    name = ""
    last = ""
    for seg in segments:
        if seg.id == "OBX":
            last = seg.get(3)
            values[last] = seg.get(5)
        elif seg.id == "NTE" and last == "meeting":
            name = seg.get(3)
    if "meeting" not in values:
        return None
    return _model(
        lambda: MeetingRef(
            meeting_id=values["meeting"] or None,
            name=name,
            organisation=values.get("organisation", ""),
            attendance_mode=_opt_enum(
                AttendanceMode, values.get("attendance_mode", ""), what=f"{what} attendance mode"
            ),
        ),
        what=f"{what} meeting",
    )


# ------------------------------------------------------------------ goals


@dataclass(frozen=True, slots=True)
class GoalEntry:
    """One goal as a GOL group carries it."""

    goal: Goal
    """The goal as set; ``goal.status`` is proposed or agreed (an achieved goal was agreed)."""
    episode_id: str
    status: GoalStatus
    """The current life cycle status."""
    set_on: dt.date
    status_on: dt.date | None = None
    last_review: GoalReviewOutcome | None = None


@dataclass(frozen=True, slots=True)
class GoalMessage:
    """A PGL message: one action applied to one or more goals of a client."""

    action: GoalAction
    client_id: str
    control_id: str
    recorded_at: dt.datetime
    goals: tuple[GoalEntry, ...]


def _kind_label(kind: GoalKind) -> str:
    return kind.value.replace("_", " ")


def build_goal_message(msg: GoalMessage, header: Header = Header()) -> list[Segment]:
    """Segments of a PGL^PC6/PC7/PC8 (structure PGL_PC6) for ``msg``."""
    if not msg.goals:
        raise MappingError("a PGL message needs at least one goal")
    event = _ACTION_EVENT[msg.action]
    action_code = _ACTION_CODE[msg.action]
    when = format_timestamp(msg.recorded_at)
    segs = [
        _msh(header, msg.recorded_at, ("PGL", event, "PGL_PC6"), msg.control_id),
        _pid(header, msg.client_id),
    ]
    for entry in msg.goals:
        g = entry.goal
        status = _LIFECYCLE[entry.status.value]
        review = _REVIEW[entry.last_review.value] if entry.last_review else None
        segs.append(
            ("GOL", (
                action_code,
                when,
                _code(g.kind.value, _kind_label(g.kind)),
                g.goal_id,
                entry.episode_id,
                "",
                format_date(entry.set_on),
                format_date(g.target_date),
                "",
                "",
                _code(review.code, review.label) if review else "",
                "", "", "", "", "", "",
                _code(status.code, status.label),
                format_date(entry.status_on),
            ))
        )  # fmt: skip
        if g.description is not None:
            segs.append(_nte(1, g.description))
        if g.meeting is not None:
            segs.extend(_meeting_segments(g.meeting, 1))
    return segs


def read_goal_message(msg: ParsedMessage, *, authority: str | None = None) -> GoalMessage:
    """Read a PGL_PC6 message back into a :class:`GoalMessage`."""
    _check_type(msg, "PGL", "PGL_PC6")
    groups: list[list[ParsedSegment]] = []
    for seg in msg.segments:
        if seg.id == "GOL":
            groups.append([seg])
        elif groups:
            groups[-1].append(seg)
    if not groups:
        raise MappingError("PGL: no GOL segment")
    entries = []
    actions = set()
    for n, group in enumerate(groups, 1):
        gol = group[0]
        what = f"GOL {n}"
        actions.add(gol.get(t.GOAL_MAP.at("action").field))
        status = _enum(GoalStatus, gol.get(18), what=f"{what} GOL-18")
        kind = _enum(GoalKind, gol.get(3), what=f"{what} GOL-3")
        description = None
        rest = group[1:]
        if rest and rest[0].id == "NTE":
            description = rest[0].get(3)
            rest = rest[1:]
        meeting = _read_meeting(rest, what=what)
        initial = (
            status if status in (GoalStatus.PROPOSED, GoalStatus.AGREED) else GoalStatus.AGREED
        )
        values = {
            "goal_id": gol.get(4),
            "kind": kind,
            "description": description,
            "target_date": parse_date(gol.get(8), what=f"{what} GOL-8"),
            "meeting": meeting,
            "status": initial,
        }
        goal = _model(lambda: Goal(**values), what=what)  # noqa: B023 - called at once
        set_on = parse_date(gol.get(7), what=f"{what} GOL-7")
        entries.append(
            GoalEntry(
                goal=goal,
                episode_id=_required(gol.get(5), what=f"{what} GOL-5"),
                status=status,
                set_on=_required_date(set_on, what=f"{what} GOL-7"),
                status_on=parse_date(gol.get(19), what=f"{what} GOL-19"),
                last_review=_opt_enum(GoalReviewOutcome, gol.get(11), what=f"{what} GOL-11"),
            )
        )
    if len(actions) != 1 or next(iter(actions)) not in _ACTION_BY_CODE:
        raise MappingError("GOL-1: each goal of a message needs the same known action code")
    action = _ACTION_BY_CODE[actions.pop()]
    if msg.message_type[1] != _ACTION_EVENT[action]:
        # PC6 adds, PC7 updates, PC8 deletes: a trigger that disagrees with GOL-1 is ambiguous.
        raise MappingError(
            f"MSH-9.2: a GOL-1 action {action.value} goes with {_ACTION_EVENT[action]}"
        )
    return GoalMessage(
        action=action,
        client_id=_client_id(msg, authority=authority),
        control_id=msg.control_id,
        recorded_at=_recorded_at(msg),
        goals=tuple(entries),
    )


def _required_date(value: dt.date | None, *, what: str) -> dt.date:
    if value is None:
        raise MappingError(f"{what}: missing")
    return value


# ------------------------------------------------------------------ referral


@dataclass(frozen=True, slots=True)
class ReferralMessage:
    """A REF^I12: the peer-accompaniment referral."""

    client_id: str
    control_id: str
    recorded_at: dt.datetime
    keyworker_id: str
    arrangement: AccompanimentArrangement
    note: str | None = None


def build_referral(msg: ReferralMessage, header: Header = Header()) -> list[Segment]:
    """Segments of a REF^I12^REF_I12 for ``msg``."""
    a = msg.arrangement
    kind = a.volunteer_kind
    segs: list[Segment] = [
        _msh(header, msg.recorded_at, ("REF", "I12", "REF_I12"), msg.control_id),
        ("RF1", (
            ("P", "Pending", "HL70283"),
            ("R", "Routine", "HL70280"),
            _code("peer_accompaniment", "Peer accompaniment"),
            "", "",
            a.arrangement_id,
            format_date(a.date),
            "", "", "",
            a.commitment_id or "",
        )),
        ("PRD", (("RP", "Referring provider", "HL70286"), "", "", "", "", "", (msg.keyworker_id,))),
        ("PRD", (
            ("RT", "Referred to provider", "HL70286", kind.value, kind.value.replace("_", " "), L),
            "", "", "", "", "",
            (a.volunteer_id,),
        )),
        _pid(header, msg.client_id),
        ("OBR", ("1", "", "", _code("peer_accompaniment", "Peer accompaniment"), "", "",
                 format_date(a.date))),
        *_meeting_segments(a.meeting, 1),
        ("PV1", ("1", "O")),
    ]  # fmt: skip
    if msg.note is not None:
        segs.append(_nte(1, msg.note))
    return segs


def read_referral(msg: ParsedMessage, *, authority: str | None = None) -> ReferralMessage:
    """Read a REF_I12 message back into a :class:`ReferralMessage`."""
    _check_type(msg, "REF", "REF_I12")
    rf1 = msg.first("RF1")
    if rf1 is None:
        raise MappingError("RF1: missing")
    roles = {p.get(1): p for p in msg.all("PRD")}
    if "RP" not in roles or "RT" not in roles:
        raise MappingError("PRD: needs a referring (RP) and a referred-to (RT) provider")
    obr_at = next((i for i, s in enumerate(msg.segments) if s.id == "OBR"), None)
    if obr_at is None:
        raise MappingError("OBR: missing (the meeting)")
    after = list(msg.segments[obr_at + 1 :])
    note = None
    pv1_at = next((i for i, s in enumerate(after) if s.id == "PV1"), None)
    if pv1_at is not None:
        tail = after[pv1_at + 1 :]
        after = after[:pv1_at]
        if tail and tail[0].id == "NTE":
            note = tail[0].get(3)
    meeting = _read_meeting(after, what="REF")
    if meeting is None:
        raise MappingError("OBX: the meeting is missing")
    rt = roles["RT"]
    arrangement = _model(
        lambda: AccompanimentArrangement(
            arrangement_id=rf1.get(6),
            volunteer_id=rt.get(7),
            volunteer_kind=_enum(VolunteerKind, rt.get(1, 4), what="PRD-1.4"),
            meeting=meeting,
            date=_required_date(parse_date(rf1.get(7), what="RF1-7"), what="RF1-7"),
            commitment_id=rf1.get(11) or None,
        ),
        what="REF",
    )
    return ReferralMessage(
        client_id=_client_id(msg, authority=authority),
        control_id=msg.control_id,
        recorded_at=_recorded_at(msg),
        keyworker_id=_required(roles["RP"].get(7), what="PRD-7 (RP)"),
        arrangement=arrangement,
        note=note,
    )


# ------------------------------------------------------------------ session


@dataclass(frozen=True, slots=True)
class SessionMessage:
    """An ORU^R01: one session and the status of each of its steps."""

    client_id: str
    control_id: str
    recorded_at: dt.datetime
    episode_id: str
    event_id: str
    stage: SessionStage
    number: int
    held_on: dt.date
    keyworker_id: str
    steps: tuple[StepRecord, ...] = field(default=())


def _step_label(step: Step) -> str:
    return step.name.split("_", 1)[1].replace("_", " ").lower()


def build_session(msg: SessionMessage, header: Header = Header()) -> list[Segment]:
    """Segments of an ORU^R01^ORU_R01 for ``msg``."""
    stage = _STAGE_CODE[msg.stage.value]
    held = format_date(msg.held_on)
    segs: list[Segment] = [
        _msh(header, msg.recorded_at, ("ORU", "R01", "ORU_R01"), msg.control_id),
        _pid(header, msg.client_id),
        ("PV1", ("1", "O", "", "", "", "", (msg.keyworker_id,))),
        ("OBR", ("1", "", msg.event_id, _code(stage.code, stage.label), "", "", held,
                 "", "", "", "", "", "", "", "", "", "", "", "", msg.episode_id, str(msg.number))),
    ]  # fmt: skip
    for i, record in enumerate(msg.steps, 1):
        status = _STEP_STATUS[record.status.value]
        segs.append(
            ("OBX", (str(i), "CWE", _code(record.step.value, _step_label(record.step)), "",
                     _code(status.code, status.label), "", "", "", "", "", "F", "", "", held))
        )  # fmt: skip
        if record.note is not None:
            segs.append(_nte(1, record.note))
    return segs


def _step(obx: ParsedSegment, note: str | None, n: int) -> StepRecord:
    step = _enum(Step, obx.get(3), what=f"OBX {n} OBX-3")
    status = _enum(StepStatus, obx.get(5), what=f"OBX {n} OBX-5")
    return _model(lambda: StepRecord(step=step, status=status, note=note), what=f"OBX {n}")


def read_session(msg: ParsedMessage, *, authority: str | None = None) -> SessionMessage:
    """Read an ORU_R01 session message back into a :class:`SessionMessage`."""
    _check_type(msg, "ORU", "ORU_R01")
    obr = msg.first("OBR")
    pv1 = msg.first("PV1")
    if obr is None or pv1 is None:
        raise MappingError("ORU: needs PV1 and OBR")
    groups: list[tuple[ParsedSegment, str | None]] = []
    for seg in msg.segments:
        if seg.id == "OBX":
            groups.append((seg, None))
        elif seg.id == "NTE" and groups:
            groups[-1] = (groups[-1][0], seg.get(3))
    steps = tuple(_step(obx, note, n) for n, (obx, note) in enumerate(groups, 1))
    try:
        number = int(obr.get(21))
    except ValueError:
        raise MappingError("OBR-21: not a session number") from None
    held_on = _required_date(parse_date(obr.get(7), what="OBR-7"), what="OBR-7")
    stage_code = obr.get(4)
    if stage_code not in _STAGE_BY_CODE:
        raise MappingError("OBR-4: not a FAMA session code")
    return SessionMessage(
        client_id=_client_id(msg, authority=authority),
        control_id=msg.control_id,
        recorded_at=_recorded_at(msg),
        episode_id=_required(obr.get(20), what="OBR-20"),
        event_id=_required(obr.get(3), what="OBR-3"),
        stage=_STAGE_BY_CODE[stage_code],
        number=number,
        held_on=held_on,
        keyworker_id=_required(pv1.get(7), what="PV1-7"),
        steps=steps,
    )


# ------------------------------------------------------------------ ADT


@dataclass(frozen=True, slots=True)
class AdtMessage:
    """An ADT message as fama reads it: the trigger and what it says about the episode."""

    trigger: str
    control_id: str
    recorded_at: dt.datetime
    context: TreatmentContext | None = None
    merge: ClientMerge | None = None


_ADT_STRUCTURE = {ev: structure for ev, structure, _ in t.ADT_EVENTS}


def build_adt(
    trigger: str,
    context: TreatmentContext,
    *,
    control_id: str,
    recorded_at: dt.datetime,
    header: Header = Header(),
) -> list[Segment]:
    """Segments of an ADT message saying ``context`` (a sender's view; used by tests and fakes).

    ``trigger`` is A01, A04, A08, A02 or A03. ``merged_into`` and consent are not written.
    """
    if trigger not in _ADT_STRUCTURE or trigger == "A40":
        raise MappingError(f"ADT {trigger}: fama writes A01, A04, A08, A02 or A03")
    pv1: list[Field] = [""] * 45
    pv1[0], pv1[1] = "1", "O"
    pv1[18] = (context.treatment_episode_id,)
    pv1[38] = context.agency_code or ""
    pv1[43] = format_date(context.started_on)
    if context.ended_on is not None:
        pv1[44] = format_date(context.ended_on)
    pv1[35] = context.end_reason or ""
    return [
        _msh(header, recorded_at, ("ADT", trigger, _ADT_STRUCTURE[trigger]), control_id),
        ("EVN", ("", format_timestamp(recorded_at))),
        _pid(header, context.client_id),
        ("PV1", tuple(pv1)),
    ]


def _disposition(value: str, table: frozenset[str] | None) -> str:
    """PV1-36 as a code of table 0112, or a MappingError that does not show it."""
    if not value:
        return ""
    if not t.DISPOSITION_CODE.fullmatch(value):
        raise MappingError(
            "PV1-36: the discharge disposition must be a code of table 0112 (1 to 20 letters, "
            "digits, . _ or -, starting with a letter or digit); the value is not shown"
        )
    if table is not None and value not in table:
        raise MappingError(
            "PV1-36: the discharge disposition is not a code of the configured table 0112 "
            f"({len(table)} codes)"
        )
    return value


def _agency(pv1: ParsedSegment, msh: ParsedSegment) -> str | None:
    """PV1-39 (servicing facility), else MSH-4's namespace id, as an agency code.

    Either must be :data:`fama_core.context.AGENCY_CODE` (1 to 16 letters or digits, as NDTMS
    agency and ODS organisation codes are), once spaces a sender padded it with are taken
    off; anything else is a :class:`MappingError` at the field it came from, never showing it.
    """
    where, value = "PV1-39", pv1.get(39).strip(" ")
    if not value:
        where, value = "MSH-4", msh.get(4).strip(" ")
    if not value:
        return None
    if not AGENCY_CODE.fullmatch(value):
        raise MappingError(
            f"{where}: the agency code (NDTMS AGNCY) must be 1 to 16 letters or digits, as NDTMS "
            "agency and ODS organisation codes are"
            + (" (PV1-39 is empty, so MSH-4's first component is read)" if where == "MSH-4" else "")
            + "; the value is not shown"
        )
    return value


def read_adt(
    msg: ParsedMessage,
    *,
    authority: str | None = None,
    transfer_codes: frozenset[str] = t.TRANSFER_DISPOSITIONS,
    disposition_codes: frozenset[str] | None = None,
) -> AdtMessage:
    """Read an ADT message into the treatment context (or merge) it announces.

    PV1-36 (discharge disposition) must be a code (:data:`tables.DISPOSITION_CODE`) and, when
    the host gives its table 0112 as ``disposition_codes``, one of them; anything else is a
    :class:`MappingError` at PV1-36 that never repeats the value. The agency code (PV1-39, else
    MSH-4) must be an agency code (:data:`fama_core.context.AGENCY_CODE`), refused the same way.
    """
    code, trigger, _structure = msg.message_type
    if code != "ADT" or trigger not in _ADT_STRUCTURE:
        raise MappingError(f"MSH-9: fama reads ADT {', '.join(_ADT_STRUCTURE)}")
    recorded_at = _recorded_at(msg)
    evn = msg.first("EVN")
    evn_date = None
    if evn is not None:
        evn_date = parse_date(evn.get(6), what="EVN-6") or parse_date(evn.get(2), what="EVN-2")
    client_id = _client_id(msg, authority=authority)
    if trigger == "A40":
        mrg = msg.first("MRG")
        if mrg is None or not mrg.get(1):
            raise MappingError("MRG-1: missing (the record merged away)")
        merged = _identifier(mrg, 1, authority=authority, what="MRG-1")
        return AdtMessage(
            trigger,
            msg.control_id,
            recorded_at,
            merge=ClientMerge(merged, client_id, evn_date or recorded_at.date()),
        )
    pv1 = msg.first("PV1")
    if pv1 is None:
        raise MappingError("PV1: missing")
    started = parse_date(pv1.get(44), what="PV1-44") or evn_date
    ended = None
    end_reason = _disposition(pv1.get(36), disposition_codes) or None
    agency = _agency(pv1, msg.msh)
    if trigger == "A03":
        ended = parse_date(pv1.get(45), what="PV1-45") or evn_date or recorded_at.date()
    context = _model(
        lambda: TreatmentContext(
            client_id=client_id,
            treatment_episode_id=_required(pv1.get(19), what="PV1-19"),
            agency_code=agency,
            started_on=_required_date(started, what="PV1-44"),
            ended_on=ended,
            end_reason=end_reason,
            transferred=ended is not None and end_reason in transfer_codes,
        ),
        what=f"ADT {trigger}",
    )
    return AdtMessage(trigger, msg.control_id, recorded_at, context=context)
