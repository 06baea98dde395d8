"""Closed code lists of the FAMA model, each citing where it comes from.

Sources: *Facilitating access to mutual aid: three essential stages* (PHE,
December 2013; "the guide") and *Improving access to mutual aid: a brief guide
for commissioners* (PHE, April 2014; "the commissioners' guide"). Where a list
is fama's own decision it says so and ``docs/decisions.md`` gives the reason.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AccompanimentOutcome",
    "AttendanceMode",
    "CloseReason",
    "CommitmentOutcome",
    "EpisodeStatus",
    "ExperienceLevel",
    "GoalKind",
    "GoalReviewOutcome",
    "GoalStatus",
    "Handout",
    "InvolvementSign",
    "LiteracySupportKind",
    "Obstacle",
    "OrganisationApproach",
    "OrganisationAudience",
    "SessionStage",
    "Step",
    "StepStatus",
    "VolunteerKind",
    "OPTIONAL_STEPS",
    "REQUIRED_STEPS_BY_STAGE",
    "STEPS_BY_STAGE",
]


class SessionStage(StrEnum):
    """The three FAMA sessions (the guide, "The three-stage FAMA model", p. 6)."""

    INTRODUCTION = "1"
    """Session one: introducing mutual aid."""
    ENGAGEMENT = "2"
    """Session two: encouraging the client to engage with a mutual aid group."""
    REVIEW = "3"
    """Session three: taking an interest in the client's experience of mutual aid groups."""


class Step(StrEnum):
    """The steps of each session, as numbered in the guide (pp. 7-11).

    Session one's steps 1-5 are the guide's numbered list; ``S1_IDENTIFY_NEED``,
    ``S1_MEETING_SCHEDULE`` and ``S1_HANDOUTS_AND_JOURNAL`` come from the stage-1
    box of the model diagram (p. 6) and the session's closing reminder (p. 8).
    ``S2_PEER_ACCOMPANIMENT`` is the session-two paragraph on peer accompaniment
    (p. 10) and ``S2_JOURNAL`` the journal bullets of its step 5.
    ``S1_MOTIVATIONAL_INTERVIEWING`` is the stage-1 box's "consider using
    motivational interviewing to explore ambivalence and strengthen motivation"
    (p. 6): optional (:data:`OPTIONAL_STEPS`), since the guide says "consider" and
    session records written before it existed do not list it.
    """

    S1_IDENTIFY_NEED = "s1.identify_need"
    S1_INTRODUCE = "s1.introduce"
    S1_MOTIVATIONAL_INTERVIEWING = "s1.motivational_interviewing"
    S1_PAST_EXPERIENCE = "s1.past_experience"
    S1_GIVE_INFORMATION = "s1.give_information"
    S1_MEETING_SCHEDULE = "s1.meeting_schedule"
    S1_PREPARE_NEXT = "s1.prepare_next"
    S1_SET_GOALS = "s1.set_goals"
    S1_HANDOUTS_AND_JOURNAL = "s1.handouts_and_journal"
    S2_CHECK_IN = "s2.check_in"
    S2_BRIEF_INTRODUCTION = "s2.brief_introduction"
    S2_GOING_TO_MEETINGS = "s2.going_to_meetings"
    S2_PROBLEMS_AND_SOLUTIONS = "s2.problems_and_solutions"
    S2_GOAL_SETTING = "s2.goal_setting"
    S2_JOURNAL = "s2.journal"
    S2_PEER_ACCOMPANIMENT = "s2.peer_accompaniment"
    S3_CHECK_IN = "s3.check_in"
    S3_PROBLEMS_AND_SOLUTIONS = "s3.problems_and_solutions"
    S3_ENCOURAGEMENT = "s3.encouragement"
    S3_GROUP_PARTICIPATION = "s3.group_participation"
    S3_GOALS = "s3.goals"


STEPS_BY_STAGE: dict[SessionStage, tuple[Step, ...]] = {
    stage: tuple(s for s in Step if s.value.startswith(f"s{stage.value}."))
    for stage in SessionStage
}
"""Every step of each session, in the guide's order."""

OPTIONAL_STEPS: frozenset[Step] = frozenset({Step.S1_MOTIVATIONAL_INTERVIEWING})
"""Steps a session record may list but need not: the guide says "consider"."""

REQUIRED_STEPS_BY_STAGE: dict[SessionStage, tuple[Step, ...]] = {
    stage: tuple(s for s in steps if s not in OPTIONAL_STEPS)
    for stage, steps in STEPS_BY_STAGE.items()
}
"""The steps each session record must list, in the guide's order."""


class StepStatus(StrEnum):
    """How a step of a session went (fama's decision, from the issue brief)."""

    DONE = "done"
    NOT_DONE = "not_done"
    NOT_APPLICABLE = "not_applicable"


class Handout(StrEnum):
    """The hand-outs of appendix 2 of the guide (p. 14 onwards)."""

    H1 = "1"
    """What is mutual aid?"""
    H2 = "2"
    """Why is mutual aid important?"""
    H3 = "3"
    """Going to meetings."""
    H4 = "4"
    """Joining a group (group participation)."""
    H5A = "5a"
    """Problems and solutions (a)."""
    H5B = "5b"
    """Problems and solutions (b)."""
    H5C = "5c"
    """Problems and solutions (c)."""
    H6A = "6a"
    """Local mutual aid group information (completed locally)."""
    H6B = "6b"
    """Choosing a group."""
    H6C = "6c"
    """Support to attend a meeting."""
    H7 = "7"
    """Mapping tool: mutual aid goal planner."""
    H8 = "8"
    """Mapping tool: benefits of mutual aid."""
    H9 = "9"
    """Mapping tool: problems with mutual aid."""
    H10 = "10"
    """Mutual aid journal."""


class ExperienceLevel(StrEnum):
    """Past experience of mutual aid (the guide, session one step 2, p. 7)."""

    NONE = "none"
    """No experience at all."""
    SOME = "some"
    """Has attended some meetings."""
    LONG_HISTORY_THEN_RELAPSE = "long_history_then_relapse"
    """Attended a group for many years before relapsing."""
    NOT_ASKED = "not_asked"
    """Not yet discussed (fama's addition, so silence is explicit)."""


class LiteracySupportKind(StrEnum):
    """Literacy support (the guide, session one step 4, p. 8)."""

    NOT_NEEDED = "not_needed"
    GO_THROUGH_HANDOUTS_TOGETHER = "go_through_handouts_together"
    REFERRAL = "referral"
    DECLINED = "declined"


class GoalKind(StrEnum):
    """Kinds of care-planned goal named by the guide (sessions 1-3, hand-out 7)."""

    READ_HANDOUTS = "read_handouts"
    """Read all information hand-outs before the next session (session 1, step 5)."""
    CONSIDER_MEETINGS = "consider_meetings"
    """Think about which meetings to attend; speak to other clients (session 1, step 5)."""
    ATTEND_NAMED_MEETING = "attend_named_meeting"
    """Attend a named meeting in the coming week (session 1 step 5, session 2 step 5)."""
    RECORD_IN_JOURNAL = "record_in_journal"
    """Record attendance and impressions in the journal (sessions 1 and 2)."""
    BRING_JOURNAL = "bring_journal"
    """Bring the journal to the next session (sessions 1 and 2)."""
    ATTEND_DIFFERENT_MEETING = "attend_different_meeting"
    """Attend a different meeting in the coming week (session 3, step 3)."""
    TRY_TWELVE_STEP_AND_SMART = "try_twelve_step_and_smart"
    """Attend both a 12-step and a SMART Recovery meeting (session 3, step 3)."""
    ATTEND_FURTHER_MEETINGS = "attend_further_meetings"
    """Commit to further meetings (session 3, step 5)."""
    GET_ACTIVELY_INVOLVED = "get_actively_involved"
    """Get actively involved: introduce yourself, help set up (session 3 step 4, hand-out 4)."""
    SPEAK_ABOUT_SPONSORSHIP = "speak_about_sponsorship"
    """Speak to people about sponsorship (session 3, step 5)."""
    SWAP_TELEPHONE_NUMBERS = "swap_telephone_numbers"
    """Swap telephone numbers with group members (session 3, step 5)."""
    OTHER = "other"
    """A goal the guide does not name (described in the goal's text)."""


class InvolvementSign(StrEnum):
    """Signs of active involvement with a group, beyond attending.

    From the guide's session 3 (p. 11): step 4 "getting actively involved in
    meetings and, where relevant, thinking about sponsorship" and step 5 "swap
    telephone numbers with group members" and "speak to people about
    sponsorship"; and hand-out 4 (Joining a group): introduce yourself, "help in
    setting up or cleaning up after the meeting". fama's engagement criterion
    (:mod:`fama_core.engagement`) asks for at least one of them by default.
    """

    SWAPPED_NUMBERS = "swapped_numbers"
    """Swapped telephone numbers with group members (session 3, step 5)."""
    ACTIVELY_INVOLVED = "actively_involved"
    """Introduced themselves, shared, took part (session 3 step 4, hand-out 4)."""
    HELPED_AT_MEETING = "helped_at_meeting"
    """Helped set up or clear up: service at the group (hand-out 4)."""
    SPOKE_ABOUT_SPONSORSHIP = "spoke_about_sponsorship"
    """Spoke to people about sponsorship or mentoring (session 3, step 5)."""
    HAS_SPONSOR_OR_MENTOR = "has_sponsor_or_mentor"
    """Has a sponsor or mentor in the group (session 3 step 4, "thinking about sponsorship")."""


class GoalStatus(StrEnum):
    """A goal's lifecycle: proposed → agreed → achieved / not achieved / withdrawn."""

    PROPOSED = "proposed"
    AGREED = "agreed"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    WITHDRAWN = "withdrawn"

    @property
    def is_final(self) -> bool:
        """Whether no further change is allowed."""
        return self in _FINAL_GOAL_STATUSES


_FINAL_GOAL_STATUSES = frozenset(
    {GoalStatus.ACHIEVED, GoalStatus.NOT_ACHIEVED, GoalStatus.WITHDRAWN}
)


class GoalReviewOutcome(StrEnum):
    """What a session's review decided about an agreed goal."""

    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    WITHDRAWN = "withdrawn"
    CARRIED_FORWARD = "carried_forward"
    """Still agreed; reviewed again at the next session (fama's decision)."""


class CommitmentOutcome(StrEnum):
    """Whether the client kept a commitment to attend (session 2 step 1, session 3 step 1)."""

    ATTENDED = "attended"
    NOT_ATTENDED = "not_attended"
    UNKNOWN = "unknown"
    """The client could not say (no journal, missed the point): fama's decision."""


class Obstacle(StrEnum):
    """Obstacles to attending, from hand-outs 3 and 5a-5c of the guide."""

    NEGOTIATING_TIME = "negotiating_time"
    MAKING_TIME = "making_time"
    OVERCONFIDENCE = "overconfidence"
    GETTING_THERE = "getting_there"
    EVERYONE_KNOWS_EACH_OTHER = "everyone_knows_each_other"
    THEY_SEEM_HAPPY = "they_seem_happy"
    DONT_GET_ALONG_IN_GROUPS = "dont_get_along_in_groups"
    HOW_TO_INTRODUCE_MYSELF = "how_to_introduce_myself"
    TOO_MUCH_TALK_OF_GOD = "too_much_talk_of_god"
    NOT_AS_BAD_AS_THEM = "not_as_bad_as_them"
    NOT_LIKE_THESE_PEOPLE = "not_like_these_people"
    HOW_TO_JOIN_A_GROUP = "how_to_join_a_group"
    ARE_THEY_FOR_REAL = "are_they_for_real"
    OTHER = "other"
    """An obstacle the hand-outs do not name (described in the note)."""


class VolunteerKind(StrEnum):
    """Who accompanies a client (the guide, appendix 1, options 1-3)."""

    ESTABLISHED_CLIENT = "established_client"
    RECOVERY_CHAMPION = "recovery_champion"
    GROUP_MEMBER = "group_member"
    PEER_SUPPORT_PROGRAMME = "peer_support_programme"
    RECOVERY_COMMUNITY_ORGANISATION = "recovery_community_organisation"
    """A recovery community organisation (commissioners' guide, p. 4)."""


class AccompanimentOutcome(StrEnum):
    """What became of an accompaniment arrangement (fama's decision, after Gravity Task states)."""

    ACCOMPANIED = "accompanied"
    CLIENT_DID_NOT_ATTEND = "client_did_not_attend"
    VOLUNTEER_DID_NOT_ATTEND = "volunteer_did_not_attend"
    CANCELLED = "cancelled"


class EpisodeStatus(StrEnum):
    """Where a client's FAMA episode stands (fama's reading of the guide's model, p. 6)."""

    OPENED = "opened"
    """Episode opened; session 1 not yet held."""
    INTRODUCED = "introduced"
    """Session 1 held without a commitment to attend; session 2 next."""
    COMMITTED = "committed"
    """The last session ended with a commitment to a named meeting; its review is next."""
    UNCOMMITTED = "uncommitted"
    """The last session 2 or 3 ended with a recorded reason and no commitment; session 2 next."""
    ENGAGED = "engaged"
    """Fully engaged with a mutual aid group (end of the episode)."""
    DECLINED = "declined"
    """Decided not to attend at this time (end; a new episode may start later)."""
    CLOSED = "closed"
    """Ended because treatment ended or the client transferred (end)."""

    @property
    def is_final(self) -> bool:
        """Whether the episode has ended."""
        return self in _FINAL_EPISODE_STATUSES


_FINAL_EPISODE_STATUSES = frozenset(
    {EpisodeStatus.ENGAGED, EpisodeStatus.DECLINED, EpisodeStatus.CLOSED}
)


class CloseReason(StrEnum):
    """Why an episode was closed without an engaged/declined outcome."""

    TREATMENT_ENDED = "treatment_ended"
    TRANSFERRED = "transferred"
    LOST_CONTACT = "lost_contact"
    OTHER = "other"


class OrganisationApproach(StrEnum):
    """Whether a mutual aid organisation follows the 12 steps (commissioners' guide, p. 3)."""

    TWELVE_STEP = "twelve_step"
    SECULAR = "secular"
    OTHER = "other"


class OrganisationAudience(StrEnum):
    """Who an organisation is for: annex 1 (people who use) or annex 2 (families)."""

    PEOPLE_WHO_USE = "people_who_use"
    FAMILIES_AND_FRIENDS = "families_and_friends"


class AttendanceMode(StrEnum):
    """How a meeting is attended (Meeting Guide ``attendance_option``, as real feeds carry it)."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"
    INACTIVE = "inactive"
