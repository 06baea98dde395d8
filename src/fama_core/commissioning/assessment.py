"""The partnership's self-assessment, its gaps, and the local action plan they feed.

The commissioners' guide recommends partnerships use PHE's *Mutual aid
self-assessment tool* (December 2013) to understand the availability of mutual
aid, identify gaps and highlight barriers, then write a local action plan
("who will lead on specific actions") reviewed by a mutual aid steering group.
Only the tool's brief user guide could be read here, not its questions, so
:data:`QUESTIONS` sit under its three purposes and the guide's own headings
(:class:`Heading`), each citing the passage it comes from; a question fama
adds is marked ``local_addition``. Every threshold an answer uses is
configuration with its default and source (:data:`THRESHOLD_SOURCES`).

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
    DEFAULT_STALE_AFTER_DAYS,
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
    "HEADING_TITLES",
    "QUESTIONS",
    "THRESHOLD_SOURCES",
    "ActionItem",
    "ActionStatus",
    "Answer",
    "AnswerSource",
    "AssessmentItem",
    "Gap",
    "Heading",
    "PartnershipAction",
    "PartnershipAnswer",
    "PartnershipInput",
    "Question",
    "SelfAssessment",
    "SteeringGroup",
    "SteeringMember",
    "Threshold",
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


class Heading(StrEnum):
    """The self-assessment's headings, in the order a partnership works through them.

    The first three are what PHE's *Mutual aid self-assessment tool* (December
    2013, *A brief user guide*, "About this tool") says the tool is for:
    understanding the availability of mutual aid locally, identifying gaps,
    highlighting barriers. The last three are the commissioners' guide's own
    headings: integration with treatment ("The role commissioners can play",
    "Service specifications"), the steering group, and data ("Monitoring the
    effectiveness of local action", "Local action plans").
    """

    AVAILABILITY = "availability"
    GAPS = "gaps"
    BARRIERS = "barriers"
    INTEGRATION = "integration"
    STEERING_GROUP = "steering_group"
    DATA = "data"


HEADING_TITLES: dict[Heading, str] = {
    Heading.AVAILABILITY: "Availability of mutual aid locally",
    Heading.GAPS: "Gaps",
    Heading.BARRIERS: "Barriers within the treatment system",
    Heading.INTEGRATION: "Integration with treatment",
    Heading.STEERING_GROUP: "Steering group",
    Heading.DATA: "Data and local strategy",
}
"""Each heading as the page shows it."""

GUIDE = "Improving access to mutual aid: a brief guide for commissioners (PHE, 2014)"
TOOL = "Mutual aid self-assessment tool: a brief user guide (PHE, December 2013)"
FAMA_GUIDE = "Facilitating access to mutual aid: three essential stages (PHE, 2013)"


class Question(FamaModel):
    """One self-assessment question, the passage it comes from, and what data can answer it."""

    id: str
    heading: Heading
    theme: str = Field(description="The heading as shown (HEADING_TITLES).")
    text: str
    source: str = Field(description="The document and section the question comes from.")
    source_passage: str = Field(
        description="What that passage says, in brief (the question's grounds)."
    )
    local_addition: bool = Field(
        default=False,
        description="fama's own question, not asked by PHE's guide or tool (labelled as such).",
    )
    from_data: str | None = Field(
        default=None, description="What data answers it; None when only the partnership can."
    )
    suggested_action: str

    @property
    def guide_section(self) -> str:
        """The source, as older readers of this model knew it."""
        return self.source


def _q(
    id: str,
    heading: Heading,
    text: str,
    source: str,
    passage: str,
    action: str,
    data: str | None = None,
    *,
    local: bool = False,
) -> Question:
    return Question(
        id=id,
        heading=heading,
        theme=HEADING_TITLES[heading],
        text=text,
        source=source,
        source_passage=passage,
        local_addition=local,
        suggested_action=action,
        from_data=data,
    )


QUESTIONS: tuple[Question, ...] = (
    _q(
        "range_of_groups",
        Heading.AVAILABILITY,
        "Is a range of mutual aid groups available locally, both 12-step and SMART Recovery, "
        "from the organisations of annex 1?",
        f"{GUIDE}: The role commissioners can play; Identifying local need",
        "People in treatment should have access to a range of peer-based recovery support "
        "options, including 12-step, SMART Recovery and community recovery organisations; "
        "commissioners should support choice.",
        "Invite the annex 1 organisations not meeting locally to establish local groups; "
        "offer premises for a nominal fee.",
        "meeting directory: organisations with an in-person meeting",
    ),
    _q(
        "meetings_every_day",
        Heading.AVAILABILITY,
        "Can a client attend an in-person meeting on every day of the week?",
        f"{GUIDE}: Identifying local need",
        "The type and frequency of meetings varies: some areas have daily meetings, others "
        "only one or two fellowships.",
        "Share the weekly grid with the steering group and ask groups to fill the empty days.",
        "meeting directory: weekly grid of in-person meetings",
    ),
    _q(
        "family_groups",
        Heading.AVAILABILITY,
        "Are there groups for relatives, friends and others affected by someone's drug or "
        "alcohol use (annex 2: Al-Anon, Alateen, Families Anonymous)?",
        f"{GUIDE}: Annex 2; Our aim",
        "Mutual aid can improve the health and wellbeing of families and relatives; annex 2 "
        "lists the groups for them.",
        "Ask Al-Anon, Alateen and Families Anonymous about meeting locally.",
        "meeting directory: annex 2 meetings in person",
    ),
    _q(
        "directory_current",
        Heading.AVAILABILITY,
        "Is the local meeting information given to clients (hand-out 6a) verified recently?",
        f"{FAMA_GUIDE}: Session 1, provide schedule of local meetings (hand-out 6a)",
        "The keyworker gives the client a schedule of local meetings; fama asks whether it is "
        "current.",
        "Check each entry not verified recently with the group's public information contact.",
        "meeting directory: last verified dates",
        local=True,
    ),
    _q(
        "gaps_agreed",
        Heading.GAPS,
        "Have the gaps in availability and access to mutual aid groups been identified and "
        "agreed with the steering group?",
        f"{TOOL}: About this tool; {GUIDE}: Establishing a mutual aid steering group",
        "The tool helps partnerships identify any gaps that exist; the steering group agrees "
        "the gaps in availability and access.",
        "Take this report's gap list to the steering group and agree it.",
    ),
    _q(
        "missing_organisations_invited",
        Heading.GAPS,
        "Where a range of options is missing, have organisations not operating locally been "
        "invited to establish local groups?",
        f"{GUIDE}: Initiating and maintaining contact with mutual aid groups",
        "If there is not a range of options in the area, contact others through their "
        "national numbers and invite them to establish local groups.",
        "Contact the national offices of the annex 1 organisations with no local meeting.",
    ),
    _q(
        "provider_staff_attitudes",
        Heading.BARRIERS,
        "Do providers' and staff's attitudes towards the various mutual aid organisations "
        "present barriers to clients' access, and are they being addressed?",
        f"{GUIDE}: Identifying local need; {TOOL}: About this tool",
        "There is great variability among providers and staff in their attitudes towards "
        "mutual aid organisations, which may present barriers to be overcome.",
        "Arrange talks by mutual aid groups' public information or health liaison members for "
        "staff; review attitudes in supervision.",
    ),
    _q(
        "keyworkers_deliver_fama",
        Heading.BARRIERS,
        "Do all keyworkers support their clients to access mutual aid by delivering FAMA?",
        f"{GUIDE}: Local objectives and leadership",
        "Commissioners lead by ensuring all keyworkers support their clients to access mutual "
        "aid by delivering the structured FAMA approach.",
        "Train keyworkers not yet delivering FAMA; add FAMA to supervision.",
        "event log: keyworkers who held a session 1, against the keyworker count supplied",
    ),
    _q(
        "clients_reach_meetings",
        Heading.BARRIERS,
        "Do clients introduced to mutual aid go on to attend a first meeting?",
        f"{GUIDE}: Local action plans; {TOOL}: About this tool",
        "The aim is that all clients have access to a mutual aid programme of their choice; "
        "the tool highlights barriers within the treatment system.",
        "Review the obstacles most raised with keyworkers; offer peer accompaniment.",
        "event log: clients attending a first meeting as a share of those introduced",
    ),
    _q(
        "peer_accompaniment",
        Heading.BARRIERS,
        "Is peer accompaniment to a first meeting available and used?",
        f"{GUIDE}: Recovery community organisations; {FAMA_GUIDE}: Appendix 1",
        "Recovery community organisations might support by accompanying users to meetings.",
        "Agree with recovery community organisations and groups how volunteers accompany "
        "clients to first meetings.",
        "event log: accompaniment arranged and used",
    ),
    _q(
        "shared_vision",
        Heading.INTEGRATION,
        "Is there a shared, locally developed vision of recovery in which mutual aid is fully "
        "integrated with alcohol and drug services, including in-patient and residential "
        "treatment?",
        f"{GUIDE}: The role commissioners can play",
        "Commissioners need to ensure a shared, locally developed vision of recovery where "
        "mutual aid is fully integrated with services, including in-patient and residential "
        "treatment, so all staff know its value.",
        "Agree a local recovery vision with providers, in-patient and residential services and "
        "mutual aid groups.",
    ),
    _q(
        "service_spec_fama",
        Heading.INTEGRATION,
        "Do service specifications require keyworkers to help service users access mutual aid, "
        "for example by delivering FAMA?",
        f"{GUIDE}: Service specifications",
        "Keyworkers are required to help service users access mutual aid, perhaps by "
        "delivering FAMA.",
        "Add the FAMA requirement to service specifications at the next review.",
    ),
    _q(
        "service_spec_links",
        Heading.INTEGRATION,
        "Do service specifications require providers to develop and maintain links with mutual "
        "aid organisations?",
        f"{GUIDE}: Service specifications",
        "Drug treatment providers are required to develop and maintain appropriate links with "
        "mutual aid organisations.",
        "Add the requirement to maintain links with mutual aid organisations.",
    ),
    _q(
        "premises_offered",
        Heading.INTEGRATION,
        "Are providers required, where appropriate, to make premises available to mutual aid "
        "groups for a nominal fee?",
        f"{GUIDE}: Service specifications",
        "Where appropriate, providers make their premises available for mutual aid meetings "
        "for a nominal fee.",
        "Ask providers which rooms they can offer to groups, and at what fee.",
    ),
    _q(
        "structured_facilitation",
        Heading.INTEGRATION,
        "Are providers encouraged to offer structured facilitation programmes (12-step "
        "facilitation, SMART Recovery-based interventions)?",
        f"{GUIDE}: Service specifications",
        "Commissioners may encourage more structured mutual aid facilitation programmes.",
        "Consider incentives for 12-step facilitation or the SMART Recovery partnership scheme.",
    ),
    _q(
        "rco_links",
        Heading.INTEGRATION,
        "Are there links with recovery community organisations, for example to accompany "
        "clients to meetings?",
        f"{GUIDE}: Recovery community organisations",
        "Recovery community organisations are well placed to improve links between treatment "
        "and local mutual aid groups.",
        "Invite recovery community organisations to the steering group.",
    ),
    _q(
        "mutual_aid_contacts",
        Heading.INTEGRATION,
        "Is there contact with local groups' public information or health liaison roles, and "
        "has an introductory meeting been held?",
        f"{GUIDE}: Initiating and maintaining contact; Communicating local objectives",
        "Contact groups' public information or health liaison roles; invite representatives "
        "of all groups to an introductory meeting.",
        "Invite representatives of every local group, and of those not yet local, to an "
        "introductory meeting.",
    ),
    _q(
        "steering_group",
        Heading.STEERING_GROUP,
        "Is there a mutual aid steering group including mutual aid groups, recovery community "
        "organisations, treatment providers' managers and service users?",
        f"{GUIDE}: Establishing a mutual aid steering group",
        "Membership recommended: all local mutual aid groups, recovery community "
        "organisations, managers or recovery leads of providers, service users.",
        "Set up a steering group, or add mutual aid to an existing provider group.",
        "the steering group's membership, as supplied",
    ),
    _q(
        "steering_group_plan",
        Heading.STEERING_GROUP,
        "Does the steering group review the self-assessment and feed the local action plan, "
        "saying who leads each action?",
        f"{GUIDE}: Establishing a mutual aid steering group; Local action plans",
        "The steering group reviews the self-assessment, agrees gaps and feeds the local "
        "action plan, detailing who will lead on specific actions.",
        "Give every action of the plan a lead and take the plan to the steering group.",
    ),
    _q(
        "ndtms_recording",
        Heading.DATA,
        "Are NDTMS recovery support sub-interventions (facilitated access to mutual aid, peer "
        "support) routinely and robustly recorded?",
        f"{GUIDE}: Service specifications; Data completeness and reporting",
        "NDTMS recovery support interventions should be routinely and robustly completed; "
        "early analysis found them poorly reported.",
        "Audit recovery support recording with providers; build it into local governance.",
        "NDTMS completeness, when figures are supplied",
    ),
    _q(
        "data_governance",
        Heading.DATA,
        "Is recovery support recording built into local governance, with audit teams checking "
        "the data reflects activity?",
        f"{GUIDE}: Data completeness and reporting of recovery support interventions",
        "Consider building completion into local governance frameworks, using audit teams to "
        "ensure the data is a true reflection of activity.",
        "Add recovery support recording to the provider performance framework and audit plan.",
    ),
    _q(
        "jsna_and_strategy",
        Heading.DATA,
        "Are the self-assessment's results included in the joint strategic needs assessment, "
        "and the resulting action plan in the health and wellbeing strategy?",
        f"{GUIDE}: Local action plans",
        "The results might be included in joint strategic needs assessments, and the action "
        "plans in health and wellbeing strategies.",
        "Send this report to the JSNA lead and the health and wellbeing board.",
    ),
)
"""The self-assessment questions under PHE's headings, each citing the passage it comes from.

The women-only and evening questions of earlier versions had no source and
are gone (evening gaps are still listed with the meeting directory's gaps).
"""

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
    first_meeting_target_percent: float = Field(
        default=50.0,
        ge=0,
        le=100,
        description="Share of clients introduced who should reach a "
        "first meeting for the question to be met (a local choice; neither guide sets one).",
    )
    ndtms_met_percent: float = Field(
        default=95.0, ge=0, le=100, description="NDTMS recording complete enough to be met."
    )
    ndtms_partly_percent: float = Field(
        default=50.0, ge=0, le=100, description="NDTMS recording complete enough to be partly met."
    )
    directory_stale_partly_percent: float = Field(
        default=50.0,
        ge=0,
        le=100,
        description="The meeting directory is partly current while fewer than this share of "
        "its entries are not verified recently.",
    )
    answers: dict[str, PartnershipAnswer] = Field(default_factory=dict)
    steering_group: SteeringGroup | None = None
    actions: tuple[PartnershipAction, ...] = ()


THRESHOLD_SOURCES: dict[str, tuple[str, str]] = {
    "first_meeting_target_percent": (
        "%",
        "Local choice, fama's default: neither PHE guide sets a target for first meetings.",
    ),
    "ndtms_met_percent": (
        "%",
        "Local choice, fama's default: the guide asks that recovery support be recorded "
        "'routinely and robustly', without a figure.",
    ),
    "ndtms_partly_percent": ("%", "Local choice, fama's default (as above)."),
    "directory_stale_partly_percent": ("%", "Local choice, fama's default."),
    "stale_after_days": (
        "days",
        "Local choice, fama's default (a year), shared with the meeting directory and the "
        "client pack (--stale-days).",
    ),
}
"""Each configurable threshold's unit and where its default comes from."""


class Threshold(FamaModel):
    """A threshold an answer depends on: its value, its default and its source."""

    name: str
    value: float
    default: float
    unit: str
    source: str


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
    thresholds: tuple[Threshold, ...] = Field(
        default=(), description="The thresholds the answers used, with defaults and sources."
    )


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
    whole = [
        g.weekday
        for g in av.time_gaps
        if g.kind is MeetingKind.ANY_IN_PERSON and g.gap is GapKind.WHOLE_DAY
    ]
    if not whole:
        return Answer.MET, "An in-person meeting every day of the week."
    answer = Answer.NOT_MET if len(whole) == 7 else Answer.PARTLY
    return answer, f"Days with no in-person meeting: {_names([WEEKDAYS[d - 1] for d in whole])}."


def _family(av: AvailabilityReport | None) -> _DataAnswer:
    if av is None:
        return None
    annex2 = [o for o in av.organisations if o.annex == "2"]
    local = [o.code for o in annex2 if o.in_person]
    missing = [o.code for o in annex2 if not o.in_person]
    answer = Answer.MET if local and not missing else Answer.PARTLY if local else Answer.NOT_MET
    return answer, (
        f"{len(local)} of {len(annex2)} annex 2 organisations meet in person locally "
        f"({_names(local)}); not meeting locally: {_names(missing)}."
    )


def _current(av: AvailabilityReport | None, given: PartnershipInput) -> _DataAnswer:
    if av is None:
        return None
    if av.meetings == 0:
        return Answer.NOT_MET, "The directory lists no meetings."
    stale = len(av.stale)
    share = 100.0 * stale / av.meetings
    answer = (
        Answer.MET
        if stale == 0
        else Answer.PARTLY
        if share < given.directory_stale_partly_percent
        else Answer.NOT_MET
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


def _ndtms(completeness: float | None, given: PartnershipInput) -> _DataAnswer:
    if completeness is None:
        return None
    pct = 100.0 * completeness
    answer = (
        Answer.MET
        if pct >= given.ndtms_met_percent
        else Answer.PARTLY
        if pct >= given.ndtms_partly_percent
        else Answer.NOT_MET
    )
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
    "family_groups": lambda c: _family(c[0]),
    "directory_current": lambda c: _current(c[0], c[2]),
    "keyworkers_deliver_fama": lambda c: _keyworkers(c[1], c[2]),
    "clients_reach_meetings": lambda c: _reach(c[1], c[2]),
    "peer_accompaniment": lambda c: _accompaniment(c[1]),
    "ndtms_recording": lambda c: _ndtms(c[3], c[2]),
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
    defaults = PartnershipInput(partnership=given.partnership)
    values: dict[str, tuple[float, float]] = {
        name: (getattr(given, name), getattr(defaults, name))
        for name in THRESHOLD_SOURCES
        if name != "stale_after_days"
    }
    values["stale_after_days"] = (
        availability.stale_after_days if availability else DEFAULT_STALE_AFTER_DAYS,
        DEFAULT_STALE_AFTER_DAYS,
    )
    thresholds = tuple(
        Threshold(
            name=name,
            value=values[name][0],
            default=values[name][1],
            unit=unit,
            source=source,
        )
        for name, (unit, source) in THRESHOLD_SOURCES.items()
    )
    return SelfAssessment(
        partnership=given.partnership,
        as_of=as_of,
        items=tuple(items),
        gaps=tuple(gaps),
        plan=tuple(plan),
        notes=tuple(notes),
        thresholds=thresholds,
    )
