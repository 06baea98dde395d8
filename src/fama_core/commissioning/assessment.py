"""The partnership's self-assessment, its gaps, and the local action plan they feed.

The commissioners' guide recommends partnerships "use PHE's self-assessment
tool" to understand the availability of mutual aid, identify gaps and barriers,
then write a local action plan ("who will lead on specific actions") reviewed
by a mutual aid steering group. The tool itself is not published with the
guide; :data:`QUESTIONS` are fama's questions built from the guide's own
headings (service specifications, identifying local need, steering group,
monitoring through NDTMS), each citing its section.

Some questions are answered from data (the meeting directory, the access
figures, NDTMS completeness when known) and say so; the rest come from the
partnership in a small JSON document (:class:`PartnershipInput`). Every
question not fully met is a :class:`Gap`; every gap gets at least one action
in the :class:`ActionItem` plan, proposed by fama when the partnership has not
written one yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, ValidationError

from fama_core import safe_json
from fama_core.commissioning.access import AccessReport, Dimension
from fama_core.commissioning.availability import (
    WEEKDAYS,
    AvailabilityReport,
    GapKind,
    MeetingKind,
)
from fama_core.errors import (
    FieldProblem,
    InputUnreadable,
    InvalidRecord,
    invalid_record_from_pydantic,
)
from fama_core.models import FamaModel, Identifier

__all__ = [
    "QUESTIONS",
    "ActionItem",
    "ActionStatus",
    "Answer",
    "AnswerSource",
    "AssessmentItem",
    "Gap",
    "PartnershipAction",
    "PartnershipAnswer",
    "PartnershipInput",
    "Question",
    "SelfAssessment",
    "SteeringGroup",
    "SteeringMember",
    "assess",
    "parse_partnership_input",
    "parse_partnership_json",
]


class Answer(StrEnum):
    """How far a question is met."""

    MET = "met"
    PARTLY = "partly"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    """Nobody has answered and the data cannot tell: a gap in knowledge."""


class AnswerSource(StrEnum):
    """Where an answer came from."""

    DATA = "data"
    PARTNERSHIP = "partnership"
    NONE = "none"


class Question(FamaModel):
    """One self-assessment question, where the guide raises it, and what data can answer it."""

    id: str
    theme: str
    text: str
    guide_section: str = Field(description="Section of the commissioners' guide it comes from.")
    from_data: str | None = Field(
        default=None, description="What data answers it; None when only the partnership can."
    )
    suggested_action: str


def _q(
    id: str, theme: str, text: str, section: str, action: str, data: str | None = None
) -> Question:
    return Question(
        id=id,
        theme=theme,
        text=text,
        guide_section=section,
        suggested_action=action,
        from_data=data,
    )


QUESTIONS: tuple[Question, ...] = (
    _q(
        "range_of_groups",
        "Availability",
        "Is a range of mutual aid groups available locally, both 12-step and secular "
        "(SMART Recovery), from the organisations of annex 1?",
        "Identifying local need; The role commissioners can play",
        "Invite the annex 1 organisations not meeting locally to establish local groups; "
        "offer premises for a nominal fee.",
        "meeting directory: organisations with an in-person meeting",
    ),
    _q(
        "meetings_every_day",
        "Availability",
        "Can a client attend an in-person meeting on every day of the week, including evenings?",
        "Identifying local need",
        "Share the weekly grid with the steering group and ask groups to fill the empty days "
        "and evenings.",
        "meeting directory: weekly grid of in-person meetings",
    ),
    _q(
        "women_and_family_groups",
        "Availability",
        "Are there women-only meetings, and groups for relatives and friends (annex 2)?",
        "Annex 2; Identifying local need",
        "Ask Al-Anon, Alateen and Families Anonymous, and local groups, about women-only and "
        "family meetings.",
        "meeting directory: women-only and annex 2 meetings",
    ),
    _q(
        "directory_current",
        "Availability",
        "Is the local meeting information given to clients (hand-out 6a) verified recently?",
        "Initiating and maintaining contact with mutual aid groups",
        "Check each entry not verified recently with the group's public information contact.",
        "meeting directory: last verified dates",
    ),
    _q(
        "keyworkers_deliver_fama",
        "Access",
        "Do all keyworkers support their clients to access mutual aid by delivering FAMA?",
        "Local objectives and leadership; Service specifications",
        "Train keyworkers not yet delivering FAMA; add FAMA to supervision.",
        "event log: keyworkers who held a session 1, against the keyworker count supplied",
    ),
    _q(
        "clients_reach_meetings",
        "Access",
        "Do clients introduced to mutual aid go on to attend a first meeting?",
        "Our aim; Monitoring the effectiveness of local action",
        "Review the obstacles most raised with keyworkers; offer peer accompaniment.",
        "event log: clients attending a first meeting as a share of those introduced",
    ),
    _q(
        "peer_accompaniment",
        "Access",
        "Is peer accompaniment to a first meeting available and used?",
        "Recovery community organisations",
        "Agree with recovery community organisations and groups how volunteers accompany "
        "clients to first meetings.",
        "event log: accompaniment arranged and used",
    ),
    _q(
        "service_spec_fama",
        "Service specifications",
        "Do service specifications require keyworkers to help service users access mutual aid, "
        "for example by delivering FAMA?",
        "Service specifications",
        "Add the FAMA requirement to service specifications at the next review.",
    ),
    _q(
        "service_spec_links",
        "Service specifications",
        "Do service specifications require providers to develop and maintain links with mutual "
        "aid organisations?",
        "Service specifications",
        "Add the requirement to maintain links with mutual aid organisations.",
    ),
    _q(
        "premises_offered",
        "Service specifications",
        "Are providers required, where appropriate, to make premises available to mutual aid "
        "groups for a nominal fee?",
        "Service specifications",
        "Ask providers which rooms they can offer to groups, and at what fee.",
    ),
    _q(
        "structured_facilitation",
        "Service specifications",
        "Are providers encouraged to offer structured facilitation programmes (12-step "
        "facilitation, SMART Recovery-based interventions)?",
        "Service specifications",
        "Consider incentives for 12-step facilitation or the SMART Recovery partnership scheme.",
    ),
    _q(
        "ndtms_recording",
        "Monitoring",
        "Are NDTMS recovery support sub-interventions (facilitated access to mutual aid, peer "
        "support) routinely and robustly recorded?",
        "Monitoring the effectiveness of local action; Data completeness",
        "Audit recovery support recording with providers; build it into local governance.",
        "NDTMS completeness, when figures are supplied",
    ),
    _q(
        "rco_links",
        "Links",
        "Are there links with recovery community organisations, for example to accompany "
        "clients to meetings?",
        "Recovery community organisations",
        "Invite recovery community organisations to the steering group.",
    ),
    _q(
        "mutual_aid_contacts",
        "Links",
        "Is there contact with local groups' public information or health liaison roles, and "
        "has an introductory meeting been held?",
        "Initiating and maintaining contact; Communicating local objectives",
        "Invite representatives of every local group, and of those not yet local, to an "
        "introductory meeting.",
    ),
    _q(
        "steering_group",
        "Leadership",
        "Is there a mutual aid steering group including mutual aid groups, recovery community "
        "organisations, treatment providers' managers and service users?",
        "Establishing a mutual aid steering group",
        "Set up a steering group, or add mutual aid to an existing provider group.",
        "the steering group's membership, as supplied",
    ),
)
"""The self-assessment questions, in the order a partnership works through them."""

_BY_ID = {q.id: q for q in QUESTIONS}
_CLOSED_ACTIONS = frozenset({"done", "dropped"})


class SteeringMember(StrEnum):
    """The membership the guide recommends for a steering group."""

    MUTUAL_AID_GROUPS = "mutual_aid_groups"
    RECOVERY_COMMUNITY_ORGANISATIONS = "recovery_community_organisations"
    TREATMENT_PROVIDERS = "treatment_providers"
    SERVICE_USERS = "service_users"


class ActionStatus(StrEnum):
    """Where an action of the local plan stands."""

    PROPOSED = "proposed"
    """Suggested by fama for a gap with no action yet; nobody has taken it on."""
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class PartnershipAnswer(FamaModel):
    """The partnership's answer to one question."""

    answer: Answer
    evidence: str | None = Field(default=None, max_length=2000)


class SteeringGroup(FamaModel):
    """Whether a steering group exists and who sits on it."""

    exists: bool
    members: tuple[SteeringMember, ...] = ()


class PartnershipAction(FamaModel):
    """One action of the local plan as the partnership writes it."""

    id: Identifier
    gap: str | None = Field(default=None, description="The question id the action addresses.")
    action: str = Field(min_length=1, max_length=500)
    lead: str | None = Field(default=None, max_length=200, description="A role or team.")
    due: dt.date | None = None
    status: ActionStatus = ActionStatus.NOT_STARTED


class PartnershipInput(FamaModel):
    """What a partnership supplies: its answers, headcount, steering group and actions."""

    partnership: str = Field(min_length=1, max_length=200)
    completed_on: dt.date | None = None
    keyworkers_total: int | None = Field(default=None, ge=0)
    first_meeting_target_percent: float = Field(default=50.0, ge=0, le=100)
    answers: dict[str, PartnershipAnswer] = Field(default_factory=dict)
    steering_group: SteeringGroup | None = None
    actions: tuple[PartnershipAction, ...] = ()


class AssessmentItem(FamaModel):
    """One answered question."""

    question: Question
    answer: Answer
    source: AnswerSource
    evidence: str


class Gap(FamaModel):
    """A question not fully met, and the actions addressing it."""

    question_id: str
    text: str
    answer: Answer
    actions: tuple[str, ...]


class ActionItem(FamaModel):
    """One action of the local action plan."""

    id: str
    gap: str | None
    action: str
    lead: str | None
    due: dt.date | None
    status: ActionStatus
    overdue: bool


class SelfAssessment(FamaModel):
    """The answered self-assessment, its gaps and the action plan."""

    partnership: str
    as_of: dt.date
    items: tuple[AssessmentItem, ...]
    gaps: tuple[Gap, ...]
    plan: tuple[ActionItem, ...]
    notes: tuple[str, ...] = Field(description="Input problems and overridden answers.")


def _shape_problem(record: str, field: str, reason: str) -> InvalidRecord:
    return InvalidRecord(
        record=record, kind="partnership input", problems=[FieldProblem(field, "type", reason)]
    )


def parse_partnership_input(
    data: Any, *, record: str = "assessment"
) -> tuple[PartnershipInput, list[InvalidRecord]]:
    """Validate a decoded partnership JSON document, keeping every good part of it.

    An answer or action that does not validate is left out and reported as an
    :class:`InvalidRecord` naming it; the rest is kept. A document whose
    required fields are wrong raises :class:`InvalidRecord`.
    """
    if not isinstance(data, Mapping):
        raise InvalidRecord(
            record=record,
            kind="partnership input",
            problems=[FieldProblem("", "type", "must be a JSON object")],
        )
    problems: list[InvalidRecord] = []
    raw = dict(data)
    raw_answers = raw.pop("answers", None) or {}
    raw_actions = raw.pop("actions", None) or []
    if not isinstance(raw_answers, Mapping):
        problems.append(_shape_problem(record, "answers", "must be an object of question ids"))
        raw_answers = {}
    if not isinstance(raw_actions, list):
        problems.append(_shape_problem(record, "actions", "must be an array of actions"))
        raw_actions = []
    answers: dict[str, Any] = {}
    for qid, ans in raw_answers.items():
        if qid not in _BY_ID:
            problems.append(
                InvalidRecord(
                    record=f"{record}: answers.{qid}",
                    kind="answer",
                    problems=[FieldProblem("", "unknown_question", "no such question")],
                )
            )
            continue
        try:
            answers[qid] = PartnershipAnswer.model_validate(ans)
        except ValidationError as exc:
            problems.append(
                invalid_record_from_pydantic(exc, record=f"{record}: answers.{qid}", kind="answer")
            )
    actions = []
    for i, act in enumerate(raw_actions):
        try:
            parsed = PartnershipAction.model_validate(act)
        except ValidationError as exc:
            problems.append(
                invalid_record_from_pydantic(exc, record=f"{record}: actions[{i}]", kind="action")
            )
            continue
        if parsed.gap is not None and parsed.gap not in _BY_ID:
            problems.append(
                InvalidRecord(
                    record=f"{record}: actions[{i}]",
                    kind="action",
                    problems=[FieldProblem("gap", "unknown_question", "no such question")],
                )
            )
            continue
        actions.append(parsed)
    try:
        parsed_input = PartnershipInput.model_validate({**raw, "answers": {}, "actions": ()})
    except ValidationError as exc:
        raise invalid_record_from_pydantic(exc, record=record, kind="partnership input") from None
    return parsed_input.model_copy(update={"answers": answers, "actions": tuple(actions)}), problems


def parse_partnership_json(
    text: str | bytes, *, record: str = "assessment"
) -> tuple[PartnershipInput, list[InvalidRecord]]:
    """Decode and validate a partnership JSON document (see :func:`parse_partnership_input`)."""
    try:
        data = safe_json.loads(text, source=record)
    except InputUnreadable:
        raise InvalidRecord(
            record=record,
            kind="partnership input",
            problems=[FieldProblem("", "json_invalid", "not a valid JSON document")],
        ) from None
    return parse_partnership_input(data, record=record)


# ------------------------------------------------------------------ data answers
_DataAnswer = tuple[Answer, str] | None
_Context = tuple[AvailabilityReport | None, AccessReport | None, PartnershipInput, float | None]


def _names(codes: tuple[str, ...] | list[str]) -> str:
    return ", ".join(codes) if codes else "none"


def _range(av: AvailabilityReport | None) -> _DataAnswer:
    if av is None:
        return None
    annex1 = [o for o in av.organisations if o.annex == "1"]
    local = [o.code for o in annex1 if o.in_person]
    missing = [o.code for o in annex1 if not o.in_person]
    twelve = any(c.kind is MeetingKind.TWELVE_STEP and c.meetings for c in av.grid)
    secular = any(c.kind is MeetingKind.SECULAR and c.meetings for c in av.grid)
    answer = (
        Answer.MET
        if twelve and secular
        else Answer.PARTLY
        if twelve or secular
        else (Answer.NOT_MET)
    )
    return answer, (
        f"{len(local)} of {len(annex1)} annex 1 organisations meet in person locally "
        f"({_names(local)}); not meeting locally: {_names(missing)}; "
        f"12-step {'yes' if twelve else 'no'}, secular {'yes' if secular else 'no'}."
    )


def _every_day(av: AvailabilityReport | None) -> _DataAnswer:
    if av is None:
        return None
    gaps = [g for g in av.time_gaps if g.kind is MeetingKind.ANY_IN_PERSON]
    whole = [g.weekday for g in gaps if g.gap is GapKind.WHOLE_DAY]
    evening = [g.weekday for g in gaps if g.gap is GapKind.EVENING]
    if not gaps:
        return Answer.MET, "An in-person meeting every day of the week, every evening."
    answer = Answer.NOT_MET if len(whole) == 7 else Answer.PARTLY
    return answer, (
        f"Days with no in-person meeting: {_names([WEEKDAYS[d - 1] for d in whole])}; "
        f"evenings with none: {_names([WEEKDAYS[d - 1] for d in evening])}."
    )


def _women_family(av: AvailabilityReport | None) -> _DataAnswer:
    if av is None:
        return None
    women = sum(c.meetings for c in av.grid if c.kind is MeetingKind.WOMEN_ONLY)
    family = sum(c.meetings for c in av.grid if c.kind is MeetingKind.FAMILY)
    annex2_missing = [o.code for o in av.organisations if o.annex == "2" and not o.in_person]
    answer = (
        Answer.MET if women and family else Answer.PARTLY if women or family else Answer.NOT_MET
    )
    return answer, (
        f"{women} women-only and {family} family meeting slots a week in person; "
        f"annex 2 organisations not meeting locally: {_names(annex2_missing)}."
    )


def _current(av: AvailabilityReport | None) -> _DataAnswer:
    if av is None:
        return None
    if av.meetings == 0:
        return Answer.NOT_MET, "The directory lists no meetings."
    stale = len(av.stale)
    answer = (
        Answer.MET if stale == 0 else Answer.PARTLY if stale * 2 < av.meetings else (Answer.NOT_MET)
    )
    return answer, (
        f"{stale} of {av.meetings} entries not verified in the last {av.stale_after_days} days."
    )


def _keyworkers(ac: AccessReport | None, given: PartnershipInput) -> _DataAnswer:
    if ac is None:
        return None
    delivering = len(ac.groups_of(Dimension.KEYWORKER))
    if given.keyworkers_total is None:
        return None
    total = given.keyworkers_total
    answer = (
        Answer.MET
        if delivering >= total and total > 0
        else Answer.PARTLY
        if delivering
        else Answer.NOT_MET
    )
    return answer, (f"{delivering} of {total} keyworkers held a FAMA session 1 in the period.")


def _reach(ac: AccessReport | None, given: PartnershipInput) -> _DataAnswer:
    if ac is None:
        return None
    counts = ac.area.counts
    introduced, met = counts["introduced"], counts["first_meeting"]
    if not introduced or met is None:
        return None
    share = 100.0 * met / introduced
    target = given.first_meeting_target_percent
    answer = Answer.MET if share >= target else Answer.PARTLY if met else Answer.NOT_MET
    return answer, (
        f"{met} of {introduced} clients introduced attended a first meeting ({share:.0f}%; "
        f"target {target:.0f}%)."
    )


def _accompaniment(ac: AccessReport | None) -> _DataAnswer:
    if ac is None:
        return None
    counts = ac.area.counts
    arranged, used = counts["accompaniment_arranged"], counts["accompaniment_used"]
    if arranged == 0:
        return Answer.NOT_MET, "No peer accompaniment was arranged in the period."
    if arranged is None or used is None:
        return Answer.PARTLY, (
            f"Accompaniment arranged for fewer than {ac.threshold} clients, or withheld."
        )
    answer = Answer.MET if used else Answer.PARTLY
    return answer, f"Accompaniment arranged for {arranged} clients and used by {used}."


def _ndtms(completeness: float | None) -> _DataAnswer:
    if completeness is None:
        return None
    pct = 100.0 * completeness
    answer = Answer.MET if pct >= 95 else Answer.PARTLY if pct >= 50 else Answer.NOT_MET
    return answer, (
        f"{pct:.0f}% of clients with FAMA recorded have a complete recovery support review "
        "in NDTMS."
    )


def _steering(given: PartnershipInput) -> _DataAnswer:
    group = given.steering_group
    if group is None:
        return None
    if not group.exists:
        return Answer.NOT_MET, "No mutual aid steering group."
    missing = [m.value.replace("_", " ") for m in SteeringMember if m not in group.members]
    if not missing:
        return Answer.MET, "Steering group with every membership the guide recommends."
    return Answer.PARTLY, "Steering group lacks: " + ", ".join(missing) + "."


_EVALUATORS: dict[str, Callable[[_Context], _DataAnswer]] = {
    "range_of_groups": lambda c: _range(c[0]),
    "meetings_every_day": lambda c: _every_day(c[0]),
    "women_and_family_groups": lambda c: _women_family(c[0]),
    "directory_current": lambda c: _current(c[0]),
    "keyworkers_deliver_fama": lambda c: _keyworkers(c[1], c[2]),
    "clients_reach_meetings": lambda c: _reach(c[1], c[2]),
    "peer_accompaniment": lambda c: _accompaniment(c[1]),
    "ndtms_recording": lambda c: _ndtms(c[3]),
    "steering_group": lambda c: _steering(c[2]),
}


def assess(
    given: PartnershipInput,
    *,
    availability: AvailabilityReport | None,
    access: AccessReport | None,
    as_of: dt.date,
    ndtms_completeness: float | None = None,
) -> SelfAssessment:
    """Answer every question, list the gaps, and build the action plan.

    A question the data answers takes the data's answer; a partnership answer
    to it is kept as a note. ``ndtms_completeness`` (0-1) is the share of FAMA
    episodes with a recovery-support review recorded, when known.
    """
    context: _Context = (availability, access, given, ndtms_completeness)
    items: list[AssessmentItem] = []
    notes: list[str] = []
    for q in QUESTIONS:
        evaluator = _EVALUATORS.get(q.id)
        from_data = evaluator(context) if evaluator else None
        supplied = given.answers.get(q.id)
        if from_data is not None:
            answer, evidence = from_data
            source = AnswerSource.DATA if q.id != "steering_group" else AnswerSource.PARTNERSHIP
            if supplied is not None and supplied.answer is not answer:
                notes.append(
                    f"{q.id}: answered from data as {answer.value}; the partnership's answer "
                    f"({supplied.answer.value}) is not used."
                )
        elif supplied is not None:
            answer, source = supplied.answer, AnswerSource.PARTNERSHIP
            evidence = supplied.evidence or "Answered by the partnership."
        else:
            answer, source = Answer.UNKNOWN, AnswerSource.NONE
            evidence = "Not answered, and the data cannot tell."
        items.append(AssessmentItem(question=q, answer=answer, source=source, evidence=evidence))

    plan: list[ActionItem] = [
        ActionItem(
            id=a.id,
            gap=a.gap,
            action=a.action,
            lead=a.lead,
            due=a.due,
            status=a.status,
            overdue=a.due is not None
            and a.due < as_of
            and a.status not in (ActionStatus.DONE, ActionStatus.DROPPED),
        )
        for a in given.actions
    ]
    gaps: list[Gap] = []
    for item in items:
        if item.answer is Answer.MET:
            continue
        q = item.question
        ids = [a.id for a in plan if a.gap == q.id]
        # Only an open action covers a gap: one done or dropped while the
        # question is still not met leaves the gap needing another.
        if not any(a.gap == q.id and a.status not in _CLOSED_ACTIONS for a in plan):
            proposed = ActionItem(
                id=f"proposed-{q.id}",
                gap=q.id,
                action=q.suggested_action,
                lead=None,
                due=None,
                status=ActionStatus.PROPOSED,
                overdue=False,
            )
            plan.append(proposed)
            ids.append(proposed.id)
        gaps.append(Gap(question_id=q.id, text=q.text, answer=item.answer, actions=tuple(ids)))
    return SelfAssessment(
        partnership=given.partnership,
        as_of=as_of,
        items=tuple(items),
        gaps=tuple(gaps),
        plan=tuple(plan),
        notes=tuple(notes),
    )
