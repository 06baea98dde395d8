"""The facts of a FAMA episode as pydantic models: who, what was agreed, what happened.

Every model is frozen and forbids unknown fields: these are records of things
that happened, and a typo in a vendor's mapping must fail loudly rather than
vanish. Free-text fields (``note``, ``reactions`` …) may hold personal data;
fama's human-facing outputs redact them by default.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    InvolvementSign,
    LiteracySupportKind,
    Obstacle,
    OrganisationApproach,
    OrganisationAudience,
    Step,
    StepStatus,
    VolunteerKind,
)

__all__ = [
    "AccompanimentArrangement",
    "AccompanimentResult",
    "ClientReference",
    "CommitmentReview",
    "FamaModel",
    "Goal",
    "GoalReview",
    "Identifier",
    "JournalEntry",
    "Keyworker",
    "LiteracySupport",
    "MeetingCommitment",
    "MeetingRef",
    "Note",
    "ObstacleRecord",
    "Organisation",
    "OrganisationCode",
    "PastExperience",
    "SourceRef",
    "StepRecord",
]

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"),
]
"""A host's opaque identifier: 1-64 characters of letters, digits and ``. _ : -``.

Client identifiers must be pseudonymous (a case-system key, never a name or an
NHS number): fama stores and prints them, so they must mean nothing outside the host.
"""

OrganisationCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_\-]{0,31}$")]
"""Short lower-case code of a mutual aid organisation (``aa``, ``smart``, or a host's own)."""

_ODD_SPACE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ODD_BREAK = re.compile("[\u0085\u2028\u2029]")


def _plain_spaces(text: str) -> str:
    """Unicode space characters become a plain space, and line separators a line feed.

    Text pasted from word processors carries no-break, em or ideographic spaces
    and Unicode line separators; HL7 and FHIR strings cannot carry them, so fama
    stores text in a form every format can. Control characters are left alone
    for each format to refuse (they are not something a person typed).
    """
    if text.isascii():  # every character the expressions replace is outside ASCII
        return text
    text = _ODD_SPACE.sub(" ", text)
    return _ODD_BREAK.sub("\n", text)


Note = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_plain_spaces)]
"""Free text, at most 2,000 characters. May hold personal data: redacted in outputs for people.

Unicode spaces are stored as plain spaces (see ``docs/decisions.md``).
"""

ShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_plain_spaces)
]


class FamaModel(BaseModel):
    """Base of fama's models: frozen, no unknown fields, values as declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceRef(FamaModel):
    """Where a catalogue entry comes from in the source documents."""

    document: str = Field(description="Source document key, e.g. 'fama-three-essential-stages'.")
    section: str = Field(description="Section or hand-out as the document names it.")
    page: int | None = Field(default=None, description="Page number in the published PDF.")


class ClientReference(FamaModel):
    """A pseudonymous reference to a client in the host's case system."""

    client_id: Identifier = Field(description="The host's pseudonymous client key.")
    system: Identifier | None = Field(
        default=None, description="Which host system issued the key, when several do."
    )


class Keyworker(FamaModel):
    """A keyworker delivering FAMA, by the host's staff key."""

    keyworker_id: Identifier
    team_id: Identifier | None = Field(
        default=None, description="The keyworker's team, for reports."
    )


class Organisation(FamaModel):
    """A mutual aid organisation (commissioners' guide, annexes 1 and 2)."""

    code: OrganisationCode
    name: ShortText
    abbreviation: str | None = None
    for_whom: str = Field(description="Who the organisation is for, as the annex says.")
    approach: OrganisationApproach
    audience: OrganisationAudience
    website: str | None = Field(
        default=None, description="Website named by the source; check before printing."
    )
    source: SourceRef | None = Field(default=None, description="Where the entry comes from.")
    local: bool = Field(default=False, description="Added by the host, not from the sources.")


class MeetingRef(FamaModel):
    """A reference to a mutual aid meeting, enough to name it in a record.

    ``meeting_id`` points into a meeting directory when the host has one;
    ``name`` and ``organisation`` keep the record readable without it.
    """

    meeting_id: Identifier | None = None
    name: ShortText
    organisation: OrganisationCode
    attendance_mode: AttendanceMode | None = None


class StepRecord(FamaModel):
    """One step of a session and how it went (done / not done / not applicable)."""

    step: Step
    status: StepStatus
    note: Note | None = None


class PastExperience(FamaModel):
    """The client's past experience of mutual aid (session one, step 2)."""

    level: ExperienceLevel
    organisations: tuple[OrganisationCode, ...] = Field(
        default=(), description="Groups the client attended before."
    )
    note: Note | None = None


class LiteracySupport(FamaModel):
    """Literacy support offered with the hand-outs (session one, step 4)."""

    kind: LiteracySupportKind
    large_print: bool = Field(default=False, description="Client pack in large type.")
    note: Note | None = None


class MeetingCommitment(FamaModel):
    """A commitment to attend a named meeting in the coming week (session two, step 5)."""

    commitment_id: Identifier
    meeting: MeetingRef
    planned_date: dt.date = Field(description="The date the client plans to attend.")
    accompaniment_requested: bool = Field(
        default=False, description="The client is nervous and would like a peer to go along."
    )


class CommitmentReview(FamaModel):
    """The review of a commitment at the next session (session two step 1, session three step 1)."""

    commitment_id: Identifier
    outcome: CommitmentOutcome
    journal_used: bool = Field(default=False, description="The client's journal guided the review.")
    note: Note | None = None


# Enum members read once: on Python 3.11 reading a member off its class costs about 0.2 µs, and
# the two checks below run for every goal and obstacle decoded. A field of an enum type holds
# one of its members, each the only object of its value, so ``is`` decides as ``==`` would.
_PROPOSED: Final = GoalStatus.PROPOSED
_AGREED: Final = GoalStatus.AGREED
_OTHER_GOAL: Final = GoalKind.OTHER
_OTHER_OBSTACLE: Final = Obstacle.OTHER


class Goal(FamaModel):
    """A care-planned goal (hand-out 7) as set in a session."""

    goal_id: Identifier
    kind: GoalKind
    description: Note | None = None
    target_date: dt.date | None = None
    meeting: MeetingRef | None = None
    status: GoalStatus = Field(
        default=GoalStatus.AGREED, description="Proposed, or agreed with the client."
    )

    @model_validator(mode="after")
    def _starts_open(self) -> Goal:
        status = self.status
        if status is not _AGREED and status is not _PROPOSED:
            raise ValueError("status: a new goal is proposed or agreed")
        if self.kind is _OTHER_GOAL and not self.description:
            raise ValueError("description: a goal of kind other needs a description")
        return self


class GoalReview(FamaModel):
    """A session's review of one agreed goal ("goals are reviewed at the next session")."""

    goal_id: Identifier
    outcome: GoalReviewOutcome
    note: Note | None = None


class JournalEntry(FamaModel):
    """One meeting in the client's journal (hand-out 10).

    Contacts made at the meeting are third-party personal data: fama records
    only how many numbers were swapped, never names or telephone numbers.
    """

    entry_id: Identifier
    meeting: MeetingRef
    date: dt.date
    attended: bool
    reactions: Note | None = None
    benefits: tuple[Note, ...] = ()
    disadvantages: tuple[Note, ...] = ()
    contacts_made: int = Field(default=0, ge=0, le=1000, description="Telephone numbers swapped.")
    involvement: tuple[InvolvementSign, ...] | None = Field(
        default=None,
        description=(
            "Signs of active involvement at this meeting (introduced themselves, helped set up, "
            "spoke about sponsorship …); evidence for the engagement criterion. Optional: "
            "entries written before it existed have none."
        ),
    )


class ObstacleRecord(FamaModel):
    """An obstacle the client raised and the response agreed (hand-outs 3 and 5)."""

    obstacle: Obstacle
    response: Note | None = Field(default=None, description="What was agreed with the client.")
    used_suggested_response: bool = Field(
        default=False, description="The guide's suggested response was used."
    )

    @model_validator(mode="after")
    def _other_needs_text(self) -> ObstacleRecord:
        if self.obstacle is _OTHER_OBSTACLE and not self.response:
            raise ValueError("response: an obstacle of kind other needs the agreed response")
        return self


class AccompanimentArrangement(FamaModel):
    """A peer arranged to go with the client to a meeting (appendix 1)."""

    arrangement_id: Identifier
    volunteer_id: Identifier = Field(description="The host's key for the volunteer.")
    volunteer_kind: VolunteerKind
    meeting: MeetingRef
    date: dt.date
    commitment_id: Identifier | None = Field(
        default=None, description="The commitment the accompaniment supports."
    )
    coordinator_id: Identifier | None = Field(
        default=None,
        description=(
            "The recovery champion who coordinated the pairing (appendix 1, option 2: a "
            "peer-based recovery champion lists willing group members and pairs each client)."
        ),
    )
    volunteer_attends_consistently: bool | None = Field(
        default=None,
        description=(
            "Whether the volunteer has a consistent history of attending mutual aid meetings "
            "(appendix 1). An arrangement recorded now with an established client or a group "
            "member must set it true (guards volunteer_attendance_recorded and "
            "volunteer_attends); other volunteers may leave it out. Optional in the model "
            "because arrangements stored before it existed have none."
        ),
    )


class AccompanimentResult(FamaModel):
    """What became of an accompaniment arrangement."""

    arrangement_id: Identifier
    outcome: AccompanimentOutcome
    note: Note | None = None
