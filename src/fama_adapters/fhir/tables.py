"""Every FHIR R4 mapping of the adapter, declared once as data.

The mapper (:mod:`fama_adapters.fhir.mapping`) reads its code maps from here,
``docs/fhir.md`` is rendered from here (:func:`mapping_markdown`, checked
current by a test), and a test checks that every element path the mapper
writes has a row in :data:`FIELD_TABLES` and every row is written.

FHIR release: R4 (4.0.1). Value sets enforced by fama itself, because
``fhir.resources`` does not check codes: CarePlan.status (care-plan-status),
Goal.lifecycleStatus (goal-status), Goal.achievementStatus (goal-achievement,
terminology.hl7.org), ServiceRequest.status (request-status), Task.status
(task-status, with the HL7 Gravity closed-loop referral reading) and
Procedure.status (event-status).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from fama_core.codes import (
    AccompanimentOutcome,
    CommitmentOutcome,
    EpisodeStatus,
    GoalStatus,
    SessionStage,
)

__all__ = [
    "ACCOMPANIMENT_REQUEST_STATUS",
    "ACCOMPANIMENT_TASK_STATUS",
    "BEGIN_MARK",
    "CAREPLAN_STATUS",
    "CODE_SYSTEMS",
    "COMMITMENT_ACTIVITY_STATUS",
    "END_MARK",
    "EXTENSIONS",
    "FIELD_TABLES",
    "GOAL_ACHIEVEMENT",
    "GOAL_ACHIEVEMENT_CODES",
    "GOAL_ACHIEVEMENT_SYSTEM",
    "GOAL_LIFECYCLE",
    "GOAL_LIFECYCLE_CODES",
    "IDENTIFIER_SYSTEMS",
    "JOURNAL_ITEMS",
    "JOURNAL_QUESTIONNAIRE_URL",
    "JOURNAL_QUESTIONNAIRE_VERSION",
    "NAMESPACE",
    "RECORD_CODES",
    "RESOURCE_CHOICES",
    "SESSION_CODES",
    "TASK_CODE_SYSTEM",
    "TERMINOLOGY_VERSION",
    "VALUE_SETS",
    "FieldRow",
    "JournalItem",
    "mapping_markdown",
    "update_markdown",
]

NAMESPACE: Final = "https://fama.example/fhir"
"""Base of every URI fama defines (identifier systems, code systems, extensions, Questionnaire).

``.example`` is reserved (RFC 2606): fama has no domain of its own yet, and a
reserved name cannot be taken by anyone else meanwhile. See docs/decisions.md.
"""

JOURNAL_QUESTIONNAIRE_URL: Final = f"{NAMESPACE}/Questionnaire/handout-10-journal"
"""Canonical URL of the Questionnaire fama ships for hand-out 10 (the client journal)."""

JOURNAL_QUESTIONNAIRE_VERSION: Final = "1.0.0"
"""Version of that Questionnaire; a QuestionnaireResponse cites ``url|version``."""

TASK_CODE_SYSTEM: Final = "http://hl7.org/fhir/CodeSystem/task-code"
"""HL7's Task code system (``fulfill``)."""

GOAL_ACHIEVEMENT_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/goal-achievement"
"""HL7 terminology: goal achievement status."""

IDENTIFIER_SYSTEMS: Final[dict[str, str]] = {
    "patient": f"{NAMESPACE}/sid/client-id",
    "keyworker": f"{NAMESPACE}/sid/keyworker-id",
    "volunteer": f"{NAMESPACE}/sid/volunteer-id",
    "episode": f"{NAMESPACE}/sid/episode",
    "goal": f"{NAMESPACE}/sid/goal",
    "session": f"{NAMESPACE}/sid/session",
    "journal": f"{NAMESPACE}/sid/journal-entry",
    "accompaniment": f"{NAMESPACE}/sid/accompaniment",
    "accompaniment-task": f"{NAMESPACE}/sid/accompaniment-task",
    "commitment": f"{NAMESPACE}/sid/commitment",
}
"""Identifier systems. ``patient``, ``keyworker`` and ``volunteer`` are defaults a host
replaces with its own (:class:`~fama_adapters.fhir.mapping.FhirSystems`); the rest name
fama's records, their values built from fama ids joined by ``/`` (which a fama id never holds)."""

CODE_SYSTEMS: Final[dict[str, str]] = {
    "record": f"{NAMESPACE}/CodeSystem/record",
    "episode-status": f"{NAMESPACE}/CodeSystem/episode-status",
    "goal-kind": f"{NAMESPACE}/CodeSystem/goal-kind",
    "session": f"{NAMESPACE}/CodeSystem/session",
    "step": f"{NAMESPACE}/CodeSystem/step",
    "step-status": f"{NAMESPACE}/CodeSystem/step-status",
    "organisation": f"{NAMESPACE}/CodeSystem/organisation",
    "attendance-mode": f"{NAMESPACE}/CodeSystem/attendance-mode",
    "volunteer-kind": f"{NAMESPACE}/CodeSystem/volunteer-kind",
    "accompaniment-outcome": f"{NAMESPACE}/CodeSystem/accompaniment-outcome",
    "commitment-outcome": f"{NAMESPACE}/CodeSystem/commitment-outcome",
}
"""fama's own code systems; each code is the value of the matching :mod:`fama_core.codes` enum.

Each is shipped as a CodeSystem (:mod:`fama_adapters.fhir.terminology`, checked in
under ``schemas/fhir/``) with a ValueSet of all its codes at :data:`VALUE_SETS`."""

VALUE_SETS: Final[dict[str, str]] = {key: f"{NAMESPACE}/ValueSet/{key}" for key in CODE_SYSTEMS}
"""One ValueSet per code system, holding every code of it: the binding of each coded
element fama writes (the Questionnaire's ``answerValueSet`` names ``organisation``)."""

TERMINOLOGY_VERSION: Final = "1.0.0"
"""Version of every CodeSystem and ValueSet fama ships (a code added or changed means a new
version; a host's local organisations give the organisation ones a ``+local`` build suffix)."""

RECORD_CODES: Final[dict[str, tuple[str, str]]] = {
    "episode": (
        "FAMA episode",
        "A client's episode of facilitated access to mutual aid: the three-stage model "
        "of the guide (p. 6), from session 1 until engaged, declined or closed.",
    ),
    "commitment": (
        "Commitment to attend a meeting",
        "The client's commitment to attend one named mutual aid meeting in the coming week "
        "(the guide, session two, step 5).",
    ),
    "peer-accompaniment": (
        "Peer accompaniment to a mutual aid meeting",
        "A volunteer goes with the client to a first meeting (the guide, appendix 1).",
    ),
}
"""Codes of the ``record`` code system (which fama record a resource is): display, definition."""

EXTENSIONS: Final[dict[str, str]] = {
    "episode-status": f"{NAMESPACE}/StructureDefinition/episode-status",
    "meeting": f"{NAMESPACE}/StructureDefinition/meeting",
    "commitment": f"{NAMESPACE}/StructureDefinition/commitment",
    "session-step": f"{NAMESPACE}/StructureDefinition/session-step",
}
"""Extensions fama defines, where base R4 has no element for a FAMA fact."""

# ------------------------------------------------------------------ code maps

CAREPLAN_STATUS: Final[dict[EpisodeStatus, str]] = {
    EpisodeStatus.OPENED: "active",
    EpisodeStatus.INTRODUCED: "active",
    EpisodeStatus.COMMITTED: "active",
    EpisodeStatus.UNCOMMITTED: "active",
    EpisodeStatus.ENGAGED: "completed",
    EpisodeStatus.DECLINED: "revoked",
    EpisodeStatus.CLOSED: "revoked",
}
"""CarePlan.status (R4 care-plan-status) per episode status; the exact status travels
in the ``episode-status`` extension, since revoked covers both declined and closed."""

GOAL_LIFECYCLE_CODES: Final = frozenset(
    {
        "proposed",
        "planned",
        "accepted",
        "active",
        "on-hold",
        "completed",
        "cancelled",
        "entered-in-error",
        "rejected",
    }
)
"""R4 goal-status (Goal.lifecycleStatus), enforced by fama."""

GOAL_ACHIEVEMENT_CODES: Final = frozenset(
    {
        "in-progress",
        "improving",
        "worsening",
        "no-change",
        "achieved",
        "sustaining",
        "not-achieved",
        "no-progress",
        "not-attainable",
    }
)
"""terminology.hl7.org goal-achievement (Goal.achievementStatus), enforced by fama."""

GOAL_LIFECYCLE: Final[dict[GoalStatus, str]] = {
    GoalStatus.PROPOSED: "proposed",
    GoalStatus.AGREED: "active",
    GoalStatus.ACHIEVED: "completed",
    GoalStatus.NOT_ACHIEVED: "completed",
    GoalStatus.WITHDRAWN: "cancelled",
}
"""Goal.lifecycleStatus per goal status."""

GOAL_ACHIEVEMENT: Final[dict[GoalStatus, str | None]] = {
    GoalStatus.PROPOSED: None,
    GoalStatus.AGREED: "in-progress",
    GoalStatus.ACHIEVED: "achieved",
    GoalStatus.NOT_ACHIEVED: "not-achieved",
    GoalStatus.WITHDRAWN: None,
}
"""Goal.achievementStatus per goal status (absent where nothing is being achieved)."""

ACCOMPANIMENT_TASK_STATUS: Final[dict[AccompanimentOutcome | None, str]] = {
    None: "accepted",
    AccompanimentOutcome.ACCOMPANIED: "completed",
    AccompanimentOutcome.CLIENT_DID_NOT_ATTEND: "failed",
    AccompanimentOutcome.VOLUNTEER_DID_NOT_ATTEND: "failed",
    AccompanimentOutcome.CANCELLED: "cancelled",
}
"""Task.status per accompaniment outcome (HL7 Gravity closed-loop referral states).

An arrangement fama records is one the volunteer already agreed to, so an open
one is ``accepted``; the outcome code travels in Task.statusReason."""

ACCOMPANIMENT_REQUEST_STATUS: Final[dict[AccompanimentOutcome | None, str]] = {
    None: "active",
    AccompanimentOutcome.ACCOMPANIED: "completed",
    AccompanimentOutcome.CLIENT_DID_NOT_ATTEND: "completed",
    AccompanimentOutcome.VOLUNTEER_DID_NOT_ATTEND: "completed",
    AccompanimentOutcome.CANCELLED: "revoked",
}
"""ServiceRequest.status (request-status) per accompaniment outcome: the request is over
once the meeting has passed; how it went is the Task's to say."""

COMMITMENT_ACTIVITY_STATUS: Final[dict[CommitmentOutcome | None, str]] = {
    None: "scheduled",
    CommitmentOutcome.ATTENDED: "completed",
    CommitmentOutcome.NOT_ATTENDED: "cancelled",
    CommitmentOutcome.UNKNOWN: "unknown",
}
"""CarePlan.activity.detail.status (care-plan-activity-status) per commitment outcome; the
outcome code also travels in detail.statusReason."""

SESSION_CODES: Final[dict[SessionStage, str]] = {
    SessionStage.INTRODUCTION: "Session 1: introducing mutual aid",
    SessionStage.ENGAGEMENT: "Session 2: encouraging engagement with a mutual aid group",
    SessionStage.REVIEW: "Session 3: taking an interest in the experience of mutual aid",
}
"""Procedure.code display per session (code ``session-1`` … in the ``session`` code system)."""

RESOURCE_CHOICES: Final[tuple[tuple[str, str, str], ...]] = (
    (
        "FAMA episode",
        "CarePlan",
        "intent plan; status from the episode status; goals, commitments (activity.detail) "
        "and accompaniments (activity.reference) hang off it.",
    ),
    (
        "goal (hand-out 7)",
        "Goal",
        "base R4 Goal (UK Core has no Goal profile): lifecycleStatus and achievementStatus.",
    ),
    (
        "journal entry (hand-out 10)",
        "QuestionnaireResponse",
        "one per meeting, against fama's hand-out 10 Questionnaire (shipped as package data).",
    ),
    (
        "commitment to attend a meeting",
        "CarePlan.activity.detail",
        "a planned activity of the episode's CarePlan; no kind (attending a mutual aid meeting "
        "is none of R4's request resources).",
    ),
    (
        "peer accompaniment (appendix 1)",
        "ServiceRequest + Task",
        "closed-loop referral after HL7 Gravity: Task intent order, code fulfill, focus the "
        "ServiceRequest; the outcome is the Task's status.",
    ),
    (
        "session (1, 2, 3)",
        "Procedure",
        "chosen over Encounter: a FAMA session is an intervention delivered inside a keywork "
        "appointment the host already records as its own Encounter; Procedure.basedOn links "
        "it to the CarePlan, which R4 Encounter cannot.",
    ),
)
"""Which FHIR resource carries which fama record, and why."""


# ------------------------------------------------------------------ field tables


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One FHIR element path the adapter writes, and the fama value in it."""

    path: str
    """Element path with extensions named ``extension:<name>`` (``Goal.target.dueDate``)."""
    fama: str
    note: str = ""


_REF = "logical reference: identifier only (the host owns its Patient and Practitioner records)"

FIELD_TABLES: Final[tuple[tuple[str, tuple[FieldRow, ...]], ...]] = (
    (
        "Bundle (one per client, type transaction)",
        (
            FieldRow("Bundle.type", "-", "transaction"),
            FieldRow("Bundle.entry.fullUrl", "-", "urn:uuid, a UUID5 of the entry's identifier"),
            FieldRow(
                "Bundle.entry.request.method", "-", "POST (create; always for Task) or PUT (upsert)"
            ),
            FieldRow("Bundle.entry.request.url", "-", "the type; for PUT `Type?identifier=…`"),
            FieldRow(
                "Bundle.entry.request.ifNoneExist",
                "-",
                "`identifier=system|value`: conditional create, resubmission creates nothing",
            ),
        ),
    ),
    (
        "CarePlan (the FAMA episode)",
        (
            FieldRow("CarePlan.identifier", "client_id/episode_id", "system sid/episode"),
            FieldRow("CarePlan.status", "episode status", "see the CarePlan status table"),
            FieldRow("CarePlan.extension:episode-status", "episode status", "exact fama code"),
            FieldRow("CarePlan.intent", "-", "plan"),
            FieldRow("CarePlan.category.coding", "-", "record code `episode`"),
            FieldRow("CarePlan.title", "-", "Facilitated access to mutual aid"),
            FieldRow("CarePlan.subject.identifier", "client_id", _REF),
            FieldRow("CarePlan.period.start", "opened_on", ""),
            FieldRow("CarePlan.period.end", "ended_on", "once the episode ended"),
            FieldRow("CarePlan.author.identifier", "keyworker_id", _REF),
            FieldRow("CarePlan.author.type", "-", "Practitioner"),
            FieldRow("CarePlan.goal.reference", "goals", "each goal's fullUrl"),
            FieldRow(
                "CarePlan.activity.reference.reference", "accompaniments", "ServiceRequest fullUrl"
            ),
            FieldRow(
                "CarePlan.activity.detail.code.coding", "commitment", "record code `commitment`"
            ),
            FieldRow(
                "CarePlan.activity.detail.extension:meeting",
                "commitment.meeting",
                "see the meeting extension",
            ),
            FieldRow(
                "CarePlan.activity.detail.status",
                "commitment outcome",
                "see the commitment status table",
            ),
            FieldRow(
                "CarePlan.activity.detail.statusReason.coding",
                "commitment outcome",
                "commitment-outcome code, once reviewed",
            ),
            FieldRow(
                "CarePlan.activity.detail.scheduledPeriod.start",
                "commitment.planned_date",
                "start = end",
            ),
            FieldRow("CarePlan.activity.detail.scheduledPeriod.end", "commitment.planned_date"),
            FieldRow(
                "CarePlan.activity.detail.extension:commitment.extension:id",
                "commitment.commitment_id",
                "valueString",
            ),
            FieldRow(
                "CarePlan.activity.detail.extension:commitment.extension:accompanimentRequested",
                "commitment.accompaniment_requested",
                "valueBoolean",
            ),
        ),
    ),
    (
        "Goal (hand-out 7)",
        (
            FieldRow("Goal.identifier", "client_id/episode_id/goal_id", "system sid/goal"),
            FieldRow("Goal.lifecycleStatus", "goal status", "see the goal status table"),
            FieldRow("Goal.achievementStatus.coding", "goal status", "goal-achievement"),
            FieldRow("Goal.description.coding", "goal.kind", "goal-kind code"),
            FieldRow("Goal.description.text", "goal.description", "or the kind's label"),
            FieldRow("Goal.subject.identifier", "client_id", _REF),
            FieldRow("Goal.startDate", "set_on", ""),
            FieldRow("Goal.target.dueDate", "goal.target_date", "when set"),
            FieldRow("Goal.extension:meeting", "goal.meeting", "when set"),
        ),
    ),
    (
        "Meeting extension (Goal, ServiceRequest, CarePlan.activity.detail)",
        (
            FieldRow("extension:meeting.extension:name", "meeting.name", "valueString"),
            FieldRow(
                "extension:meeting.extension:organisation",
                "meeting.organisation",
                "valueCoding, organisation code system",
            ),
            FieldRow("extension:meeting.extension:id", "meeting.meeting_id", "valueString"),
            FieldRow(
                "extension:meeting.extension:attendanceMode",
                "meeting.attendance_mode",
                "valueCoding, attendance-mode code system",
            ),
        ),
    ),
    (
        "QuestionnaireResponse (journal entry, hand-out 10)",
        (
            FieldRow(
                "QuestionnaireResponse.identifier",
                "client_id/episode_id/entry_id",
                "system sid/journal-entry",
            ),
            FieldRow("QuestionnaireResponse.questionnaire", "-", "canonical url|version"),
            FieldRow("QuestionnaireResponse.status", "-", "completed"),
            FieldRow("QuestionnaireResponse.subject.identifier", "client_id", _REF),
            FieldRow("QuestionnaireResponse.basedOn.reference", "episode", "the CarePlan"),
            FieldRow("QuestionnaireResponse.item", "entry", "see the journal items table"),
        ),
    ),
    (
        "ServiceRequest (peer accompaniment)",
        (
            FieldRow(
                "ServiceRequest.identifier",
                "client_id/episode_id/arrangement_id",
                "system sid/accompaniment",
            ),
            FieldRow("ServiceRequest.status", "outcome", "see the accompaniment table"),
            FieldRow("ServiceRequest.intent", "-", "order"),
            FieldRow("ServiceRequest.code.coding", "-", "record code `peer-accompaniment`"),
            FieldRow("ServiceRequest.subject.identifier", "client_id", _REF),
            FieldRow("ServiceRequest.basedOn.reference", "episode", "the CarePlan"),
            FieldRow("ServiceRequest.occurrenceDateTime", "arrangement.date", "a date"),
            FieldRow("ServiceRequest.authoredOn", "arranged_on", ""),
            FieldRow("ServiceRequest.requester.identifier", "keyworker_id", _REF),
            FieldRow("ServiceRequest.requester.type", "-", "Practitioner"),
            FieldRow("ServiceRequest.performer.identifier", "arrangement.volunteer_id", _REF),
            FieldRow("ServiceRequest.performer.type", "-", "Practitioner"),
            FieldRow("ServiceRequest.performerType.coding", "arrangement.volunteer_kind", ""),
            FieldRow("ServiceRequest.supportingInfo.identifier", "arrangement.commitment_id", ""),
            FieldRow("ServiceRequest.extension:meeting", "arrangement.meeting", ""),
        ),
    ),
    (
        "Task (the accompaniment's closed loop, HL7 Gravity)",
        (
            FieldRow(
                "Task.identifier",
                "client_id/episode_id/arrangement_id",
                "system sid/accompaniment-task",
            ),
            FieldRow("Task.status", "outcome", "see the accompaniment table"),
            FieldRow("Task.statusReason.coding", "outcome", "accompaniment-outcome, once known"),
            FieldRow("Task.intent", "-", "order"),
            FieldRow("Task.code.coding", "-", "task-code `fulfill`"),
            FieldRow("Task.focus.reference", "-", "the ServiceRequest"),
            FieldRow("Task.for.identifier", "client_id", _REF),
            FieldRow("Task.authoredOn", "arranged_on", ""),
            FieldRow("Task.requester.identifier", "keyworker_id", _REF),
            FieldRow("Task.requester.type", "-", "Practitioner"),
            FieldRow("Task.owner.identifier", "arrangement.volunteer_id", _REF),
            FieldRow("Task.owner.type", "-", "Practitioner"),
            FieldRow(
                "Task.executionPeriod.end",
                "outcome event occurred_on",
                "when the outcome's event is given",
            ),
            FieldRow(
                "Task.lastModified",
                "outcome event recorded_at",
                "when the outcome's event is given; read back as the event's recorded_at",
            ),
        ),
    ),
    (
        "Procedure (a session)",
        (
            FieldRow(
                "Procedure.identifier",
                "client_id/episode_id/session event_id",
                "system sid/session",
            ),
            FieldRow("Procedure.status", "-", "completed (fama records sessions held)"),
            FieldRow("Procedure.code.coding", "session stage", "session code system"),
            FieldRow("Procedure.subject.identifier", "client_id", _REF),
            FieldRow("Procedure.basedOn.reference", "episode", "the CarePlan"),
            FieldRow("Procedure.performedDateTime", "held_on", "a date"),
            FieldRow("Procedure.performer.actor.identifier", "session keyworker_id", _REF),
            FieldRow("Procedure.performer.actor.type", "-", "Practitioner"),
            FieldRow(
                "Procedure.extension:session-step.extension:step", "steps[].step", "valueCoding"
            ),
            FieldRow(
                "Procedure.extension:session-step.extension:status",
                "steps[].status",
                "valueCoding",
            ),
            FieldRow(
                "Procedure.extension:session-step.extension:note", "steps[].note", "valueString"
            ),
        ),
    ),
)
"""Every element the adapter writes, by resource, with the fama value it carries."""


@dataclass(frozen=True, slots=True)
class JournalItem:
    """One item of the hand-out 10 Questionnaire."""

    link_id: str
    text: str
    type: str
    """Questionnaire item type (``string``, ``date``, ``boolean`` …)."""
    fama: str
    required: bool = False
    repeats: bool = False


JOURNAL_ITEMS: Final[tuple[JournalItem, ...]] = (
    JournalItem("meeting-name", "Meeting", "string", "entry.meeting.name", required=True),
    JournalItem(
        "meeting-organisation", "Group", "choice", "entry.meeting.organisation", required=True
    ),
    JournalItem("meeting-id", "Meeting reference", "string", "entry.meeting.meeting_id"),
    JournalItem(
        "meeting-attendance-mode", "In person or online", "choice", "entry.meeting.attendance_mode"
    ),
    JournalItem("date", "Date", "date", "entry.date", required=True),
    JournalItem("attended", "Did you attend?", "boolean", "entry.attended", required=True),
    JournalItem("reactions", "Your reactions", "text", "entry.reactions"),
    JournalItem("benefits", "Benefits of attending", "text", "entry.benefits", repeats=True),
    JournalItem(
        "disadvantages", "Disadvantages of attending", "text", "entry.disadvantages", repeats=True
    ),
    JournalItem(
        "contacts-made",
        "How many telephone numbers did you swap?",
        "integer",
        "entry.contacts_made",
        required=True,
    ),
)
"""The hand-out 10 Questionnaire's items in order; the packaged Questionnaire is checked
against this table. Contacts are counted, never named (docs/decisions.md, records 12)."""


def _md_table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def mapping_markdown() -> str:
    """The mapping tables as Markdown: the generated part of ``docs/fhir.md``."""
    parts = ["### Which resource carries what\n\n"]
    parts.append(_md_table(("fama record", "FHIR R4 resource", "why"), list(RESOURCE_CHOICES)))
    for title, rows in FIELD_TABLES:
        parts.append(f"\n### {title}\n\n")
        parts.append(
            _md_table(
                ("FHIR element", "fama", "note"), [(f"`{r.path}`", r.fama, r.note) for r in rows]
            )
        )
    parts.append(f"\n### Journal items (Questionnaire `{JOURNAL_QUESTIONNAIRE_URL}`)\n\n")
    parts.append(
        _md_table(
            ("linkId", "text", "type", "required", "repeats", "fama"),
            [
                (f"`{i.link_id}`", i.text, i.type, _yes(i.required), _yes(i.repeats), i.fama)
                for i in JOURNAL_ITEMS
            ],
        )
    )
    for title, code_map in (
        ("CarePlan.status per episode status", CAREPLAN_STATUS),
        ("Goal.lifecycleStatus per goal status", GOAL_LIFECYCLE),
        ("Goal.achievementStatus per goal status", GOAL_ACHIEVEMENT),
        ("Task.status per accompaniment outcome", ACCOMPANIMENT_TASK_STATUS),
        ("ServiceRequest.status per accompaniment outcome", ACCOMPANIMENT_REQUEST_STATUS),
        ("CarePlan.activity.detail.status per commitment outcome", COMMITMENT_ACTIVITY_STATUS),
    ):
        parts.append(f"\n### {title}\n\n")
        parts.append(
            _md_table(
                ("fama", "FHIR"),
                [
                    (str(k) if k is not None else "(open)", v or "(absent)")
                    for k, v in code_map.items()
                ],
            )
        )
    parts.append("\n### fama's URIs\n\n")
    parts.append(
        _md_table(
            ("kind", "name", "URI"),
            [("identifier system", k, v) for k, v in IDENTIFIER_SYSTEMS.items()]
            + [("code system", k, v) for k, v in CODE_SYSTEMS.items()]
            + [("value set", k, v) for k, v in VALUE_SETS.items()]
            + [("extension", k, v) for k, v in EXTENSIONS.items()],
        )
    )
    return "".join(parts)


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


BEGIN_MARK = "<!-- BEGIN GENERATED: fama_adapters.fhir.tables -->\n"
END_MARK = "<!-- END GENERATED -->"


def update_markdown(text: str) -> str:
    """``text`` (``docs/fhir.md``) with its generated section replaced by the current tables."""
    head, rest = text.split(BEGIN_MARK, 1)
    _old, tail = rest.split(END_MARK, 1)
    return head + BEGIN_MARK + mapping_markdown() + END_MARK + tail
