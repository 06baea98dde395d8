"""The FAMA workflow: which event may happen in which state, and what it changes.

The guide's model (PHE, *Facilitating access to mutual aid*, 2013, p. 6):
session 1 introduces mutual aid; sessions 2 and 3 repeat "as often as
necessary until the client is fully engaged with the mutual aid group OR
decides not to attend at this time". fama reads that as the declaration
:data:`TRANSITIONS` below, in one place and as data: each row names the event,
the states it may happen in, the named guards that must hold and the state it
leads to. ``docs/workflow.md`` and its Mermaid diagram are generated from it.

State is a fold of events. :func:`apply` returns a new :class:`ClientState` or
raises :class:`~fama_core.errors.TransitionRefused` naming the state, the event
and the unmet condition; the state passed in is never changed. :func:`fold`
applies a whole log at once, faster, with the same rules and result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any, Final, NoReturn

from fama_core.codes import (
    EpisodeStatus,
    ExperienceLevel,
    GoalReviewOutcome,
    GoalStatus,
    SessionStage,
    VolunteerKind,
)
from fama_core.engagement import DEFAULT_ENGAGEMENT, EngagementCriterion, evidence_from, judge
from fama_core.errors import IdempotencyConflict, TransitionRefused, WorkflowDefinitionError
from fama_core.events import EVENT_KINDS, Event
from fama_core.state import (
    ClientState,
    CommitmentState,
    EpisodeState,
    _new_accompaniment,
    _new_breach,
    _new_client,
    _new_commitment,
    _new_episode,
    _new_goal,
    _new_obstacle,
    _new_session,
)

__all__ = [
    "COMMITMENT_WINDOW_DAYS",
    "FIXES",
    "GUARDS",
    "NEWER_RULES",
    "NO_EPISODE",
    "TRANSITIONS",
    "Outcome",
    "Transition",
    "allowed_events",
    "apply",
    "check_definition",
    "fold",
    "initial",
]

NO_EPISODE: Final = "none"
"""The pseudo-state of a client with no episode yet."""

COMMITMENT_WINDOW_DAYS: Final = 7
"""A commitment is to a meeting "in the coming week": 0-7 days after the session."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a transition leads: ``target`` (``None`` stays put) when ``when`` holds."""

    target: str | None
    when: str = "always"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the declaration: ``event`` in any of ``sources`` → an outcome."""

    event: str
    sources: tuple[str, ...]
    outcomes: tuple[Outcome, ...]
    guards: tuple[str, ...] = ()
    summary: str = ""


_O, _I, _C, _U = (
    EpisodeStatus.OPENED.value,
    EpisodeStatus.INTRODUCED.value,
    EpisodeStatus.COMMITTED.value,
    EpisodeStatus.UNCOMMITTED.value,
)
_ENDED = (EpisodeStatus.ENGAGED.value, EpisodeStatus.DECLINED.value, EpisodeStatus.CLOSED.value)
_ACTIVE = (_O, _I, _C, _U)
_AFTER_SESSION_1 = (_I, _C, _U)
_STAY = (Outcome(None),)
_BY_COMMITMENT = (Outcome(_C, "commitment_made"), Outcome(_U, "no_commitment"))
_EPISODE = ("same_episode", "not_before_opening")

# Enum members the guards and effects compare with on every event, looked up once: reading a
# member off its class is several times slower than reading a module global.
_AGREED = GoalStatus.AGREED
_INTRODUCTION, _ENGAGEMENT, _REVIEW = (
    SessionStage.INTRODUCTION,
    SessionStage.ENGAGEMENT,
    SessionStage.REVIEW,
)
_GOAL_ID_OF = attrgetter("goal_id")

TRANSITIONS: Final[tuple[Transition, ...]] = (
    Transition(
        "episode_opened",
        (NO_EPISODE, *_ENDED),
        (Outcome(_O),),
        ("new_episode_id",),
        "A keyworker starts FAMA; a client whose last episode ended may start again.",
    ),
    Transition(
        "session_1_held",
        (_O,),
        (Outcome(_C, "commitment_made"), Outcome(_I, "no_commitment")),
        (
            *_EPISODE,
            "sessions_in_order",
            "commitment_needs_experience",
            "commitment_in_coming_week",
        ),
        "Session 1 introduces mutual aid; a client with experience may already commit to a "
        "meeting.",
    ),
    Transition(
        "session_2_held",
        (_I, _C, _U),
        _BY_COMMITMENT,
        (
            *_EPISODE,
            "sessions_in_order",
            "reviews_outstanding_commitment",
            "reviews_agreed_goals",
            "commitment_in_coming_week",
        ),
        "Session 2 reviews any commitment, and ends with a commitment to a named meeting or a "
        "recorded reason; it always follows session 1.",
    ),
    Transition(
        "session_3_held",
        (_C,),
        _BY_COMMITMENT,
        (
            *_EPISODE,
            "sessions_in_order",
            "follows_session_2_or_3",
            "reviews_outstanding_commitment",
            "reviews_agreed_goals",
            "commitment_in_coming_week",
        ),
        "Session 3 reviews the commitment made at the session 2 or 3 before it.",
    ),
    Transition(
        "goal_set",
        _AFTER_SESSION_1,
        _STAY,
        (*_EPISODE, "goal_id_new"),
        "A goal is proposed or agreed in the session just held.",
    ),
    Transition(
        "goal_updated",
        _AFTER_SESSION_1,
        _STAY,
        (*_EPISODE, "goal_change_allowed"),
        "A proposed goal is agreed, or an open goal withdrawn.",
    ),
    Transition(
        "journal_entry_recorded",
        _AFTER_SESSION_1,
        _STAY,
        (*_EPISODE, "journal_entry_new"),
        "A meeting from the client's journal is recorded.",
    ),
    Transition(
        "obstacle_raised",
        _AFTER_SESSION_1,
        _STAY,
        _EPISODE,
        "An obstacle and the agreed response are recorded.",
    ),
    Transition(
        "accompaniment_arranged",
        _AFTER_SESSION_1,
        _STAY,
        (
            *_EPISODE,
            "arrangement_new",
            "supports_known_commitment",
            "volunteer_attendance_recorded",
            "volunteer_attends",
        ),
        "A peer is arranged to go with the client.",
    ),
    Transition(
        "accompaniment_concluded",
        _AFTER_SESSION_1,
        _STAY,
        (*_EPISODE, "arrangement_open"),
        "What became of an accompaniment is recorded.",
    ),
    Transition(
        "engagement_confirmed",
        (_C, _U),
        (Outcome(EpisodeStatus.ENGAGED.value),),
        (*_EPISODE, "engagement_evidence"),
        "The record meets the engagement criterion: the client is fully engaged with a group "
        "and the episode ends.",
    ),
    Transition(
        "client_declined",
        _AFTER_SESSION_1,
        (Outcome(EpisodeStatus.DECLINED.value),),
        _EPISODE,
        "The client decides not to attend at this time: the episode ends.",
    ),
    Transition(
        "episode_closed",
        _ACTIVE,
        (Outcome(EpisodeStatus.CLOSED.value),),
        _EPISODE,
        "Treatment ended or the client transferred: the episode ends.",
    ),
)
"""The whole workflow, top to bottom as the guide reads."""


# --------------------------------------------------------------------------- drafts


class _EpisodeDraft:
    """A mutable working copy of an episode, used only inside apply/fold."""

    __slots__ = (
        "accompaniments",
        "breaches",
        "client_id",
        "close_reason",
        "commitments",
        "ended_on",
        "engaged_with",
        "engagement_evidence",
        "episode_id",
        "evidence_seen",
        "goals",
        "journal",
        "keyworker_id",
        "literacy_support",
        "obstacles",
        "opened_on",
        "outstanding",
        "past_experience",
        "sessions",
        "status",
        "team_id",
    )

    outstanding: CommitmentState | None
    """The commitment awaiting review at the next session: the latest made, while unreviewed."""

    @classmethod
    def new(cls, opened: _Fields) -> _EpisodeDraft:
        """A fresh episode for an ``episode_opened`` event (its fields)."""
        d = cls.__new__(cls)
        d.episode_id = opened["episode_id"]
        d.client_id = opened["client_id"]
        d.keyworker_id = opened["keyworker_id"]
        d.team_id = opened["team_id"]
        d.status = EpisodeStatus.OPENED
        d.opened_on = opened["occurred_on"]
        d.sessions, d.journal, d.obstacles = [], [], []
        d.goals, d.commitments, d.accompaniments = {}, {}, {}
        d.past_experience = d.literacy_support = None
        d.ended_on = d.engaged_with = d.close_reason = d.engagement_evidence = None
        d.breaches = []
        d.evidence_seen = d.outstanding = None
        return d

    def __init__(self, e: EpisodeState) -> None:
        self.episode_id = e.episode_id
        self.client_id = e.client_id
        self.keyworker_id = e.keyworker_id
        self.team_id = e.team_id
        self.status = e.status
        self.opened_on = e.opened_on
        self.sessions = list(e.sessions)
        self.goals = {g.goal.goal_id: g for g in e.goals}
        self.journal = list(e.journal)
        self.obstacles = list(e.obstacles)
        self.commitments = {c.commitment.commitment_id: c for c in e.commitments}
        self.accompaniments = {a.arrangement.arrangement_id: a for a in e.accompaniments}
        self.past_experience = e.past_experience
        self.literacy_support = e.literacy_support
        self.ended_on = e.ended_on
        self.engaged_with = e.engaged_with
        self.close_reason = e.close_reason
        self.engagement_evidence = e.engagement_evidence
        self.breaches = list(e.breaches)
        self.evidence_seen = None
        self.outstanding = e.outstanding_commitment

    def freeze(self) -> EpisodeState:
        # Positional, in EpisodeState's field order (tests/test_fold_fast.py checks it), through
        # the fold's own constructor (fama_core.state._maker).
        return _new_episode(
            self.episode_id,
            self.client_id,
            self.keyworker_id,
            self.team_id,
            self.status,
            self.opened_on,
            tuple(self.sessions),
            tuple(self.goals.values()),
            tuple(self.journal),
            tuple(self.obstacles),
            tuple(self.commitments.values()),
            tuple(self.accompaniments.values()),
            self.past_experience,
            self.literacy_support,
            self.ended_on,
            self.engaged_with,
            self.close_reason,
            self.engagement_evidence,
            tuple(self.breaches),
        )


class _ClientDraft:
    __slots__ = (
        "applied",
        "client_id",
        "criterion",
        "cur",
        "done",
        "fast",
        "flag_newer",
        "version",
    )

    fast: dict[str, _Applier]
    """The checking appliers for the current state, by event kind (``_FAST``)."""

    def __init__(
        self,
        s: ClientState,
        criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
        flag_newer: bool = False,
    ) -> None:
        self.criterion = criterion
        self.flag_newer = flag_newer
        self.client_id = s.client_id
        self.version = s.version
        self.applied: dict[str, object] = dict(s._applied)
        if s.episodes:
            self.done = list(s.episodes[:-1])
            self.cur: _EpisodeDraft | None = _EpisodeDraft(s.episodes[-1])
            self.fast = _FAST[self.cur.status]
        else:
            self.done = []
            self.cur = None
            self.fast = _FAST[NO_EPISODE]

    @classmethod
    def empty(
        cls,
        client_id: str,
        criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
        flag_newer: bool = False,
    ) -> _ClientDraft:
        """A draft for a client with no events yet."""
        d = cls.__new__(cls)
        d.client_id, d.version, d.applied, d.done, d.cur = client_id, 0, {}, [], None
        d.criterion, d.flag_newer, d.fast = criterion, flag_newer, _FAST[NO_EPISODE]
        return d

    def freeze(self) -> ClientState:
        cur = self.cur
        episodes = (*self.done, cur.freeze()) if cur is not None else tuple(self.done)
        return _new_client(self.client_id, episodes, self.version, self.applied)


# --------------------------------------------------------------------------- guards
# A guard returns None when it holds, or a sentence saying why not. Sentences
# name ids and dates the host chose, never free text from the record.

_Guard = Callable[[_ClientDraft, Any, Any], "str | None"]


def _same_episode(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The event belongs to the client's current episode."""
    if e.episode_id != cur.episode_id:
        return (
            f"the event is for episode {e.episode_id} but the current episode is {cur.episode_id}"
        )
    return None


def _not_before_opening(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The event did not happen before the episode was opened."""
    if e.occurred_on < cur.opened_on:
        return "the event is dated before the episode was opened"
    return None


def _new_episode_id(c: _ClientDraft, cur: _EpisodeDraft | None, e: Any) -> str | None:
    """A new episode has an id the client has not used before."""
    if cur is not None and e.occurred_on < (cur.ended_on or cur.opened_on):
        return "a new episode cannot start before the previous one ended"
    if cur is not None and e.episode_id == cur.episode_id:
        return f"episode id {e.episode_id} was used before for this client"
    for ep in c.done:
        if ep.episode_id == e.episode_id:
            return f"episode id {e.episode_id} was used before for this client"
    return None


def _sessions_in_order(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A session is not dated before the session held before it."""
    sessions = cur.sessions
    if sessions and e.occurred_on < sessions[-1].held_on:
        return f"the session is dated before session {sessions[-1].number} of this episode"
    return None


def _commitment_in_coming_week(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A commitment is to a meeting in the coming week, with a new commitment id."""
    commitment = e.commitment
    if commitment is None:
        return None
    days = (commitment.planned_date - e.occurred_on).days
    if not 0 <= days <= COMMITMENT_WINDOW_DAYS:
        return (
            f"commitment {commitment.commitment_id} is planned {days} days from the session; "
            f"it must be within the coming week (0 to {COMMITMENT_WINDOW_DAYS} days)"
        )
    if commitment.commitment_id in cur.commitments:
        return f"commitment id {commitment.commitment_id} was used before in this episode"
    return None


def _reviews_outstanding_commitment(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The session reviews the commitment made at the session before it, and only that."""
    outstanding = cur.outstanding
    review = e.commitment_review
    if outstanding is None:
        if review is not None:
            return f"there is no outstanding commitment to review (got {review.commitment_id})"
        return None
    expected = outstanding.commitment.commitment_id
    if review is None:
        return f"commitment {expected} from the previous session must be reviewed"
    if review.commitment_id != expected:
        return f"the review names commitment {review.commitment_id} but {expected} is outstanding"
    return None


def _reviews_agreed_goals(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """Every goal agreed before this session is reviewed, and only known open goals are."""
    goals = cur.goals
    if not goals and not e.goal_reviews:
        return None
    reviewed = set(map(_GOAL_ID_OF, e.goal_reviews))
    for goal_id in reviewed:
        state = goals.get(goal_id)
        if state is None:
            return f"goal {goal_id} is not a goal of this episode"
        if state.status is not _AGREED:
            return f"goal {goal_id} is {state.status.value}, only agreed goals are reviewed"
    due = None
    for gid, g in goals.items():  # a loop, not a comprehension: this runs for every session
        if g.status is _AGREED and gid not in reviewed:
            due = [gid] if due is None else [*due, gid]
    if due:
        return "agreed goals not reviewed: " + ", ".join(sorted(due))
    return None


def _goal_id_new(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A new goal has an id not used before in the episode."""
    if e.goal.goal_id in cur.goals:
        return f"goal id {e.goal.goal_id} was used before in this episode"
    return None


_GOAL_CHANGES = {
    (GoalStatus.PROPOSED, GoalStatus.AGREED),
    (GoalStatus.PROPOSED, GoalStatus.WITHDRAWN),
    (GoalStatus.AGREED, GoalStatus.WITHDRAWN),
}


def _goal_change_allowed(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The goal exists and may move to the new status (proposed → agreed → withdrawn)."""
    state = cur.goals.get(e.goal_id)
    if state is None:
        return f"goal {e.goal_id} is not a goal of this episode"
    if (state.status, e.status) not in _GOAL_CHANGES:
        return f"goal {e.goal_id} cannot go from {state.status.value} to {e.status.value}"
    return None


def _journal_entry_new(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A journal entry has an id not used before in the episode."""
    entry_id = e.entry.entry_id
    for j in cur.journal:
        if j.entry_id == entry_id:
            return f"journal entry id {entry_id} was used before in this episode"
    return None


def _arrangement_new(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """An accompaniment has an id not used before in the episode."""
    if e.arrangement.arrangement_id in cur.accompaniments:
        return f"arrangement id {e.arrangement.arrangement_id} was used before in this episode"
    return None


def _supports_known_commitment(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """An accompaniment tied to a commitment names one made in this episode."""
    cid = e.arrangement.commitment_id
    if cid is not None and cid not in cur.commitments:
        return f"commitment {cid} is not a commitment of this episode"
    return None


_ATTENDING_VOLUNTEERS = frozenset({VolunteerKind.ESTABLISHED_CLIENT, VolunteerKind.GROUP_MEMBER})


def _volunteer_attendance_recorded(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A group member or established client who accompanies is known to attend consistently."""
    a = e.arrangement
    if a.volunteer_kind in _ATTENDING_VOLUNTEERS and a.volunteer_attends_consistently is None:
        return (
            f"arrangement {a.arrangement_id}: a {a.volunteer_kind.value} who accompanies should "
            "have a consistent history of attending mutual aid meetings, and the record does "
            "not say whether they do"
        )
    return None


def _volunteer_attends(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A group member or established client who accompanies is not recorded as a poor attender."""
    a = e.arrangement
    if a.volunteer_kind in _ATTENDING_VOLUNTEERS and a.volunteer_attends_consistently is False:
        return (
            f"arrangement {a.arrangement_id}: a {a.volunteer_kind.value} who accompanies should "
            "have a consistent history of attending mutual aid meetings, and the record says not"
        )
    return None


def _arrangement_open(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The accompaniment exists and its outcome is not yet recorded."""
    state = cur.accompaniments.get(e.result.arrangement_id)
    if state is None:
        return f"arrangement {e.result.arrangement_id} is not an arrangement of this episode"
    if state.outcome is not None:
        return f"arrangement {e.result.arrangement_id} already has an outcome"
    return None


def _engagement_evidence(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """The record meets the engagement criterion, and any evidence the event claims is in it."""
    evidence = cur.evidence_seen = _evidence(cur, e.occurred_on)
    claimed = e.evidence
    if claimed is not None:
        unknown = []
        if not set(claimed.attended_dates) <= set(evidence.attended_dates):
            unknown.append("evidence.attended_dates")
        if not set(claimed.reviews_with_attendance) <= set(evidence.reviews_with_attendance):
            unknown.append("evidence.reviews_with_attendance")
        if not set(claimed.involvement) <= set(evidence.involvement):
            unknown.append("evidence.involvement")
        if unknown:
            return (
                "the event claims evidence the record does not show ("
                + ", ".join(unknown)
                + "); record the meetings, reviews or involvement first, or leave evidence out "
                "and let fama work it out"
            )
    if c.criterion.met_by(evidence):
        return None
    result = judge(evidence, c.criterion)
    return (
        f"the record does not yet meet the engagement criterion {c.criterion.name}: "
        + "; ".join(str(m) for m in result.missing)
    )


def _evidence(cur: _EpisodeDraft, as_of: Any) -> Any:
    return evidence_from(
        cur.sessions, cur.journal, cur.commitments.values(), cur.goals.values(), as_of=as_of
    )


_EXPERIENCED = frozenset({ExperienceLevel.SOME, ExperienceLevel.LONG_HISTORY_THEN_RELAPSE})


def _commitment_needs_experience(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """A commitment at session 1 is only for a client with experience of mutual aid."""
    if e.commitment is not None and e.past_experience.level not in _EXPERIENCED:
        return (
            "a commitment at session 1 is only for a client with experience of mutual aid, "
            "and the recorded past_experience.level is neither some nor long_history_then_relapse"
        )
    return None


def _follows_session_2_or_3(c: _ClientDraft, cur: _EpisodeDraft, e: Any) -> str | None:
    """Session 3 follows a session 2 or 3; after session 1 comes session 2."""
    if cur.sessions and cur.sessions[-1].stage is _INTRODUCTION:
        return (
            "after session 1 the next session is a session 2 (its step 1 reviews a commitment "
            "made at session 1); session 3 reviews a commitment made at a session 2 or 3"
        )
    return None


GUARDS: Final[dict[str, _Guard]] = {
    "same_episode": _same_episode,
    "not_before_opening": _not_before_opening,
    "new_episode_id": _new_episode_id,
    "sessions_in_order": _sessions_in_order,
    "commitment_in_coming_week": _commitment_in_coming_week,
    "reviews_outstanding_commitment": _reviews_outstanding_commitment,
    "reviews_agreed_goals": _reviews_agreed_goals,
    "goal_id_new": _goal_id_new,
    "goal_change_allowed": _goal_change_allowed,
    "journal_entry_new": _journal_entry_new,
    "arrangement_new": _arrangement_new,
    "supports_known_commitment": _supports_known_commitment,
    "arrangement_open": _arrangement_open,
    "volunteer_attendance_recorded": _volunteer_attendance_recorded,
    "volunteer_attends": _volunteer_attends,
    "commitment_needs_experience": _commitment_needs_experience,
    "follows_session_2_or_3": _follows_session_2_or_3,
    "engagement_evidence": _engagement_evidence,
}
"""Named guards; each docstring is the condition it checks."""

NEWER_RULES: Final[dict[str, str]] = {
    "commitment_needs_experience": "2026-11 (issue 10): a session-1 commitment needs experience",
    "follows_session_2_or_3": "2026-11 (issue 10): after session 1 comes session 2",
    "engagement_evidence": "2026-11 (issue 10): engagement is evidence, not one meeting",
    "volunteer_attends": "2026-11 (issue 10): a volunteer who accompanies attends consistently",
    "volunteer_attendance_recorded": "2026-11 (issue 10): a group member or established "
    "client who accompanies is recorded as attending consistently",
}
"""Guards added after events were first stored, with when and why.

A log written before a rule existed may break it. Replaying such a log with
``flag_newer_rules=True`` keeps the event as recorded and flags it on its
episode (:class:`~fama_core.state.RuleBreach`) instead of refusing it; new
events are always checked against every rule.
"""

FIXES: Final[dict[str, str]] = {
    "same_client": "send the event in the stream of the client its client_id names",
    "same_episode": "set episode_id to the current episode's id, or open a new episode "
    "(episode_opened) once the current one has ended",
    "not_before_opening": "set occurred_on on or after the day the episode was opened",
    "new_episode_id": "give episode_opened an episode_id not used before for this client, "
    "dated on or after the day the previous episode ended",
    "sessions_in_order": "set occurred_on on or after the date of the previous session",
    "commitment_needs_experience": "record past_experience.level as some or "
    "long_history_then_relapse if the client has that experience; otherwise leave commitment "
    "out and agree the first meeting at session 2",
    "commitment_in_coming_week": "set commitment.planned_date 0 to 7 days after occurred_on, "
    "with a commitment.commitment_id not used before in the episode",
    "follows_session_2_or_3": "record a session_2_held event, whose commitment_review reviews "
    "the commitment made at session 1",
    "reviews_outstanding_commitment": "set commitment_review.commitment_id to the outstanding "
    "commitment named, with its outcome (or leave commitment_review out when none is "
    "outstanding)",
    "reviews_agreed_goals": "add one goal_reviews entry (goal_id, outcome) for each agreed goal "
    "named, and none for other goals",
    "goal_id_new": "give goal.goal_id an id not used before in this episode",
    "goal_change_allowed": "goal_updated agrees a proposed goal or withdraws an open one; "
    "a session's goal_reviews record achieved or not achieved",
    "journal_entry_new": "give entry.entry_id an id not used before in this episode",
    "arrangement_new": "give arrangement.arrangement_id an id not used before in this episode",
    "supports_known_commitment": "set arrangement.commitment_id to a commitment of this "
    "episode, or leave it out",
    "volunteer_attendance_recorded": "set arrangement.volunteer_attends_consistently to true "
    "once you know the volunteer has a consistent history of attending mutual aid meetings; "
    "otherwise pair the client with a volunteer who does (a recovery champion can coordinate "
    "this)",
    "volunteer_attends": "pair the client with a volunteer who attends consistently (a "
    "recovery champion can coordinate this), or correct arrangement.volunteer_attends_consistently",
    "arrangement_open": "set result.arrangement_id to an arrangement of this episode whose "
    "outcome is not yet recorded",
    "engagement_evidence": "record the missing evidence named (journal_entry_recorded, "
    "session_3_held, goal reviews) before engagement_confirmed; leave evidence out to let "
    "fama work it out",
}
"""For each condition, the fields or event that would make a refused event pass."""

_NEXT_HINT: Final[dict[str, str]] = {
    NO_EPISODE: "record episode_opened first",
    EpisodeStatus.OPENED.value: "hold session 1 (session_1_held) first",
    EpisodeStatus.INTRODUCED.value: "hold session 2 (session_2_held) next; session 3 reviews "
    "a commitment made at a session 2 or 3",
    EpisodeStatus.UNCOMMITTED.value: "hold a session 2 (session_2_held) that ends with a "
    "commitment; session 3 reviews it",
    EpisodeStatus.COMMITTED.value: "hold the session that reviews the outstanding commitment",
    EpisodeStatus.ENGAGED.value: "the episode has ended: open a new one (episode_opened) "
    "to record more",
    EpisodeStatus.DECLINED.value: "the episode has ended: open a new one (episode_opened) "
    "to record more",
    EpisodeStatus.CLOSED.value: "the episode has ended: open a new one (episode_opened) "
    "to record more",
}


def _allowed_fix(state: str) -> str:
    allowed = [event for (source, event) in _TABLE if source == state]
    return f"{_NEXT_HINT[state]} (accepted in state {state}: {', '.join(allowed)})"


_WHEN: Final[dict[str, tuple[bool, bool]]] = {
    "always": (True, True),
    "commitment_made": (True, False),
    "no_commitment": (False, True),
}
"""Each condition of an :class:`Outcome`: whether it holds with a commitment, and without."""


# --------------------------------------------------------------------------- appliers
# One applier per event kind: the kind's effect on the draft and the state it leads to. Called
# with ``check=True`` it first tests its guards' conditions inline and returns False, changing
# nothing, when any might not hold; the engine then runs the declared guards in order (so a
# refusal, or a flagged breach, is exactly the guard's own) and calls it with ``check=False``.
# ``_INLINE_GUARDS`` names the guards each one tests: an applier checks for a row of the
# declaration only if the row's guards are among them (``_compile``), so a row given another
# guard falls back to the declared guards rather than skip it.
#
# Each factory takes the states the row leads to with and without a commitment (``None``:
# stays) and the table of appliers by state, filled in by ``_compile``.

_Fields = dict[str, Any]
"""An event's (or a record's) fields by name: its ``__dict__``, where pydantic keeps them.

Reading a field off a pydantic model goes through the model's ``__getattr__`` hook, which
costs three times a dictionary read: the appliers read each event's fields from its
``__dict__`` (handed to them as ``f``), and a record's when they read several of its fields.
"""
_Applier = Callable[[_ClientDraft, Any, Any, _Fields, bool], bool]
_Tables = dict[str, dict[str, _Applier]]
_Factory = Callable[[EpisodeStatus | None, EpisodeStatus | None, _Tables], _Applier]

_REVIEW_TO_STATUS = {
    GoalReviewOutcome.ACHIEVED: GoalStatus.ACHIEVED,
    GoalReviewOutcome.NOT_ACHIEVED: GoalStatus.NOT_ACHIEVED,
    GoalReviewOutcome.WITHDRAWN: GoalStatus.WITHDRAWN,
    GoalReviewOutcome.CARRIED_FORWARD: GoalStatus.AGREED,
}


def _episode_opened(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft | None, e: Any, f: _Fields, check: bool) -> bool:
        if check:
            episode_id = f["episode_id"]
            if cur is not None and (
                f["occurred_on"] < (cur.ended_on or cur.opened_on) or episode_id == cur.episode_id
            ):
                return False
            for ep in c.done:
                if ep.episode_id == episode_id:
                    return False
        if cur is not None:
            c.done.append(cur.freeze())
        new = c.cur = _EpisodeDraft.new(f)
        if made is not None:
            new.status = made
        c.fast = tables[new.status]
        return True

    return apply


def _session_1(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        commitment = f["commitment"]
        occurred_on = f["occurred_on"]
        sessions = cur.sessions
        if check:
            if (
                f["episode_id"] != cur.episode_id
                or occurred_on < cur.opened_on
                or (sessions and occurred_on < sessions[-1].held_on)
            ):
                return False
            if commitment is not None:
                planned = commitment.__dict__
                if (
                    f["past_experience"].level not in _EXPERIENCED
                    or not 0
                    <= (planned["planned_date"] - occurred_on).days
                    <= COMMITMENT_WINDOW_DAYS
                    or planned["commitment_id"] in cur.commitments
                ):
                    return False
        number = len(sessions) + 1
        sessions.append(
            _new_session(
                number, _INTRODUCTION, occurred_on, f["keyworker_id"], f["steps"], f["event_id"]
            )
        )
        cur.past_experience = f["past_experience"]
        cur.literacy_support = f["literacy_support"]
        if commitment is not None:
            cur.commitments[commitment.commitment_id] = cur.outstanding = _new_commitment(
                commitment, occurred_on, number, None, None
            )
            if made is not None:
                _leads(made, c, cur, tables)
        elif none is not None:
            _leads(none, c, cur, tables)
        return True

    return apply


def _later_session(stage: SessionStage, after_session_2_or_3: bool) -> _Factory:
    def factory(made: Any, none: Any, tables: _Tables) -> _Applier:
        def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
            occurred_on = f["occurred_on"]
            sessions = cur.sessions
            review = f["commitment_review"]
            outstanding = cur.outstanding
            goal_reviews = f["goal_reviews"]
            goals = cur.goals
            commitment = f["commitment"]
            if check:
                if f["episode_id"] != cur.episode_id or occurred_on < cur.opened_on:
                    return False
                if sessions:
                    last = sessions[-1]
                    if occurred_on < last.held_on or (
                        after_session_2_or_3 and last.stage is _INTRODUCTION
                    ):
                        return False
                if outstanding is None:
                    if review is not None:
                        return False
                elif review is None or review.commitment_id != outstanding.commitment.commitment_id:
                    return False
                if goals:
                    # Every agreed goal reviewed, and only agreed goals: the reviewed ids, all
                    # of agreed goals, are as many as the agreed goals.
                    agreed = 0
                    for g in goals.values():
                        if g.status is _AGREED:
                            agreed += 1
                    reviewed = set()
                    for r in goal_reviews:
                        goal_id = r.goal_id
                        reviewed_goal = goals.get(goal_id)
                        if reviewed_goal is None or reviewed_goal.status is not _AGREED:
                            return False
                        reviewed.add(goal_id)
                    if len(reviewed) != agreed:
                        return False
                elif goal_reviews:
                    return False
                if commitment is not None:
                    planned = commitment.__dict__
                    if (
                        not 0
                        <= (planned["planned_date"] - occurred_on).days
                        <= COMMITMENT_WINDOW_DAYS
                        or planned["commitment_id"] in cur.commitments
                    ):
                        return False
            number = len(sessions) + 1
            if review is not None and outstanding is not None:
                cur.commitments[outstanding.commitment.commitment_id] = _new_commitment(
                    outstanding.commitment,
                    outstanding.made_on,
                    outstanding.made_in_session,
                    review.outcome,
                    number,
                )
                cur.outstanding = None
            alone = len(goal_reviews) == 1 and type(goal_reviews) is tuple
            for r in goal_reviews:
                goal_id = r.goal_id
                g = goals[goal_id]
                reviews = g.reviews
                goals[goal_id] = _new_goal(
                    g.goal,
                    _REVIEW_TO_STATUS[r.outcome],
                    g.set_on,
                    g.set_after_session,
                    g.agreed_after_session,
                    # A goal's first review, alone in its session: the event's own tuple, which
                    # the state keeps anyway (one tracked tuple fewer; decision K2).
                    goal_reviews if not reviews and alone else (*reviews, r),
                )
            sessions.append(
                _new_session(
                    number, stage, occurred_on, f["keyworker_id"], f["steps"], f["event_id"]
                )
            )
            if commitment is not None:
                cur.commitments[commitment.commitment_id] = cur.outstanding = _new_commitment(
                    commitment, occurred_on, number, None, None
                )
                if made is not None:
                    _leads(made, c, cur, tables)
            elif none is not None:
                _leads(none, c, cur, tables)
            return True

        return apply

    return factory


def _leads(made: Any, c: _ClientDraft, cur: _EpisodeDraft, tables: _Tables) -> None:
    """Move the episode to status ``made`` and its client to that status's fast table.

    Appliers call it only when the event moves the episode (``made`` is not None), so
    an event that leaves the status as it is costs no call.
    """
    cur.status = made
    c.fast = tables[made]


def _goal_set(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        goal = f["goal"]
        fields = goal.__dict__
        goal_id = fields["goal_id"]
        occurred_on = f["occurred_on"]
        goals = cur.goals
        if check and (
            f["episode_id"] != cur.episode_id or occurred_on < cur.opened_on or goal_id in goals
        ):
            return False
        held = len(cur.sessions)
        status = fields["status"]
        goals[goal_id] = _new_goal(
            goal, status, occurred_on, held, held if status is _AGREED else None, ()
        )
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _goal_updated(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        goal_id = f["goal_id"]
        status = f["status"]
        goals = cur.goals
        g = goals.get(goal_id)
        if check and (
            f["episode_id"] != cur.episode_id
            or f["occurred_on"] < cur.opened_on
            or g is None
            or (g.status, status) not in _GOAL_CHANGES
        ):
            return False
        assert g is not None  # goal_change_allowed holds (checked, or by the declared guards)
        agreed = len(cur.sessions) if status is _AGREED else g.agreed_after_session
        goals[goal_id] = _new_goal(g.goal, status, g.set_on, g.set_after_session, agreed, g.reviews)
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _journal_entry_recorded(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        entry = f["entry"]
        journal = cur.journal
        if check:
            if f["episode_id"] != cur.episode_id or f["occurred_on"] < cur.opened_on:
                return False
            entry_id = entry.entry_id
            for j in journal:
                if j.entry_id == entry_id:
                    return False
        journal.append(entry)
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _obstacle_raised(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        occurred_on = f["occurred_on"]
        if check and (f["episode_id"] != cur.episode_id or occurred_on < cur.opened_on):
            return False
        cur.obstacles.append(_new_obstacle(f["record"], occurred_on, len(cur.sessions)))
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _accompaniment_arranged(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        a = f["arrangement"]
        fields = a.__dict__
        arrangement_id = fields["arrangement_id"]
        occurred_on = f["occurred_on"]
        if check:
            commitment_id = fields["commitment_id"]
            if (
                f["episode_id"] != cur.episode_id
                or occurred_on < cur.opened_on
                or arrangement_id in cur.accompaniments
                or (commitment_id is not None and commitment_id not in cur.commitments)
                # Recorded as attending (True): neither unknown (None) nor known not to (False).
                or (
                    fields["volunteer_kind"] in _ATTENDING_VOLUNTEERS
                    and fields["volunteer_attends_consistently"] is not True
                )
            ):
                return False
        cur.accompaniments[arrangement_id] = _new_accompaniment(a, occurred_on, None)
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _accompaniment_concluded(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        result = f["result"].__dict__
        arrangement_id = result["arrangement_id"]
        old = cur.accompaniments.get(arrangement_id)
        if check and (
            f["episode_id"] != cur.episode_id
            or f["occurred_on"] < cur.opened_on
            or old is None
            or old.outcome is not None
        ):
            return False
        assert old is not None  # arrangement_open holds (checked, or by the declared guards)
        cur.accompaniments[arrangement_id] = _new_accompaniment(
            old.arrangement, old.arranged_on, result["outcome"]
        )
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _engagement_confirmed(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        occurred_on = f["occurred_on"]
        if check and (
            f["episode_id"] != cur.episode_id
            or occurred_on < cur.opened_on
            or _engagement_evidence(c, cur, e) is not None
        ):
            return False
        # The guard has just worked the evidence out (engagement_evidence always guards this).
        cur.engagement_evidence = cur.evidence_seen or _evidence(cur, occurred_on)
        cur.ended_on = occurred_on
        cur.engaged_with = f["organisation"]
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _client_declined(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        occurred_on = f["occurred_on"]
        if check and (f["episode_id"] != cur.episode_id or occurred_on < cur.opened_on):
            return False
        cur.ended_on = occurred_on
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


def _episode_closed(made: Any, none: Any, tables: _Tables) -> _Applier:
    def apply(c: _ClientDraft, cur: _EpisodeDraft, e: Any, f: _Fields, check: bool) -> bool:
        occurred_on = f["occurred_on"]
        if check and (f["episode_id"] != cur.episode_id or occurred_on < cur.opened_on):
            return False
        cur.ended_on = occurred_on
        cur.close_reason = f["reason"]
        if made is not None:
            _leads(made, c, cur, tables)
        return True

    return apply


_APPLIERS: Final[dict[str, _Factory]] = {
    "episode_opened": _episode_opened,
    "session_1_held": _session_1,
    "session_2_held": _later_session(_ENGAGEMENT, after_session_2_or_3=False),
    "session_3_held": _later_session(_REVIEW, after_session_2_or_3=True),
    "goal_set": _goal_set,
    "goal_updated": _goal_updated,
    "journal_entry_recorded": _journal_entry_recorded,
    "obstacle_raised": _obstacle_raised,
    "accompaniment_arranged": _accompaniment_arranged,
    "accompaniment_concluded": _accompaniment_concluded,
    "engagement_confirmed": _engagement_confirmed,
    "client_declined": _client_declined,
    "episode_closed": _episode_closed,
}

_INLINE_GUARDS: Final[dict[str, frozenset[str]]] = {
    "episode_opened": frozenset({"new_episode_id"}),
    "session_1_held": frozenset(
        {
            *_EPISODE,
            "sessions_in_order",
            "commitment_needs_experience",
            "commitment_in_coming_week",
        }
    ),
    "session_2_held": frozenset(
        {
            *_EPISODE,
            "sessions_in_order",
            "reviews_outstanding_commitment",
            "reviews_agreed_goals",
            "commitment_in_coming_week",
        }
    ),
    "session_3_held": frozenset(
        {
            *_EPISODE,
            "sessions_in_order",
            "follows_session_2_or_3",
            "reviews_outstanding_commitment",
            "reviews_agreed_goals",
            "commitment_in_coming_week",
        }
    ),
    "goal_set": frozenset({*_EPISODE, "goal_id_new"}),
    "goal_updated": frozenset({*_EPISODE, "goal_change_allowed"}),
    "journal_entry_recorded": frozenset({*_EPISODE, "journal_entry_new"}),
    "obstacle_raised": frozenset(_EPISODE),
    "accompaniment_arranged": frozenset(
        {
            *_EPISODE,
            "arrangement_new",
            "supports_known_commitment",
            "volunteer_attendance_recorded",
            "volunteer_attends",
        }
    ),
    "accompaniment_concluded": frozenset({*_EPISODE, "arrangement_open"}),
    "engagement_confirmed": frozenset({*_EPISODE, "engagement_evidence"}),
    "client_declined": frozenset(_EPISODE),
    "episode_closed": frozenset(_EPISODE),
}
"""The guards each applier tests inline when called with ``check=True``."""

_KINDS_WITH_COMMITMENT: Final = frozenset({"session_1_held", "session_2_held", "session_3_held"})


# --------------------------------------------------------------------------- compile and check


@dataclass(frozen=True, slots=True)
class _Compiled:
    guards: tuple[tuple[str, _Guard], ...]
    apply: _Applier
    """The kind's applier, leading where this row's outcomes say."""
    checks: bool
    """Whether ``apply`` tests every guard of the row (so may be called with ``check=True``)."""
    after_episode_checks: tuple[tuple[str, _Guard], ...] | None = None
    """``guards`` less the leading ``same_episode`` and ``not_before_opening``.

    Those two guard nearly every event; the engine checks their conditions
    inline and runs these when both hold. When either fails it runs ``guards``
    in full, so the refusal is the guard's own.
    """


def _states() -> tuple[str, ...]:
    return (NO_EPISODE, *(s.value for s in EpisodeStatus))


def check_definition(transitions: Iterable[Transition]) -> dict[tuple[str, str], _Compiled]:
    """Check a declaration and compile it into a lookup table.

    Raises :class:`WorkflowDefinitionError` for an unknown state, guard,
    condition or event kind; a condition on a commitment for an event kind
    that carries none; an event kind with no transition; two rows for one
    (state, event); a state that cannot be reached from ``none``; or a state
    with no way out.
    """
    return _compile(transitions)[0]


def _compile(
    transitions: Iterable[Transition],
) -> tuple[dict[tuple[str, str], _Compiled], _Tables]:
    """:func:`check_definition`'s table, and the checking appliers by state and event kind."""
    states = set(_states())
    table: dict[tuple[str, str], _Compiled] = {}
    tables: _Tables = {s: {} for s in states}
    edges: dict[str, set[str]] = {s: set() for s in states}
    rows = tuple(transitions)
    for t in rows:
        if t.event not in _APPLIERS:
            raise WorkflowDefinitionError(f"transition for unknown event kind {t.event}")
        for name in t.guards:
            if name not in GUARDS:
                raise WorkflowDefinitionError(f"{t.event}: unknown guard {name}")
            if name not in FIXES:
                raise WorkflowDefinitionError(f"{t.event}: guard {name} has no fix in FIXES")
        for o in t.outcomes:
            if o.when not in _WHEN:
                raise WorkflowDefinitionError(f"{t.event}: unknown condition {o.when}")
            if o.when != "always" and t.event not in _KINDS_WITH_COMMITMENT:
                raise WorkflowDefinitionError(
                    f"{t.event}: condition {o.when} needs an event kind that carries a commitment"
                )
            if o.target is not None and o.target not in states:
                raise WorkflowDefinitionError(f"{t.event}: unknown target state {o.target}")
        made, none = (_target(t.outcomes, has_commitment) for has_commitment in (True, False))
        guards = tuple((g, GUARDS[g]) for g in t.guards)
        compiled = _Compiled(
            guards,
            _APPLIERS[t.event](made, none, tables),
            set(t.guards) <= _INLINE_GUARDS[t.event],
            guards[2:] if t.guards[:2] == _EPISODE else None,
        )
        for source in t.sources:
            if source not in states:
                raise WorkflowDefinitionError(f"{t.event}: unknown source state {source}")
            if (source, t.event) in table:
                raise WorkflowDefinitionError(f"two transitions for {t.event} in {source}")
            table[(source, t.event)] = compiled
            if compiled.checks:
                tables[source][t.event] = compiled.apply
            for o in t.outcomes:
                edges[source].add(o.target or source)
    missing = set(EVENT_KINDS) - {t.event for t in rows}
    if missing:
        raise WorkflowDefinitionError(
            "event kinds with no transition: " + ", ".join(sorted(missing))
        )
    reachable, frontier = {NO_EPISODE}, [NO_EPISODE]
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    if states - reachable:
        raise WorkflowDefinitionError(
            "unreachable states: " + ", ".join(sorted(states - reachable))
        )
    stuck = sorted(s for s in states if not edges[s] - {s})
    if stuck:
        raise WorkflowDefinitionError("states with no way out: " + ", ".join(stuck))
    return table, tables


def _target(outcomes: tuple[Outcome, ...], has_commitment: bool) -> EpisodeStatus | None:
    """Where an event leads with or without a commitment: the first outcome whose condition
    holds (``None``: it stays, as when none holds)."""
    for o in outcomes:
        if _WHEN[o.when][0 if has_commitment else 1]:
            return EpisodeStatus(o.target) if o.target is not None else None
    return None


_COMPILED = _compile(TRANSITIONS)
_TABLE: Final = _COMPILED[0]
_FAST: Final = _COMPILED[1]


# --------------------------------------------------------------------------- engine


def _run(c: _ClientDraft, events: Iterable[Any]) -> None:
    """Apply events to the draft in order: :func:`apply`'s rules, one event after another.

    The common case in a few steps: a new id, this client, and an applier that
    checks its guards inline and applies. Anything else (a repeat, a conflict,
    an event not allowed in the state, a guard that may not hold) goes the
    long way, through the declared guards in order (``_step``).
    """
    applied = c.applied
    client_id = c.client_id
    accepted = 0
    for e in events:
        f = e.__dict__  # the event's fields (see _Fields)
        event_id = f["event_id"]
        if event_id in applied:
            if applied[event_id] == e:
                continue  # a harmless repeat
            raise IdempotencyConflict(event_id=event_id, event=e.kind)
        if f["client_id"] != client_id:
            _refuse_client(c, e)
        applier = c.fast.get(f["kind"])
        if applier is None or not applier(c, c.cur, e, f, True):
            _step(c, e)
        applied[event_id] = e
        accepted += 1
    c.version += accepted


def _refuse_client(c: _ClientDraft, e: Any) -> NoReturn:
    cur = c.cur
    raise TransitionRefused(
        state=str(cur.status if cur is not None else NO_EPISODE),
        event=e.kind,
        condition="same_client",
        detail=f"the event is for client {e.client_id}, not {c.client_id}",
        event_id=e.event_id,
        fix=FIXES["same_client"],
    )


def _step(c: _ClientDraft, e: Any) -> None:
    """Apply one new event of this client the long way: the declared guards, in order."""
    cur = c.cur
    # EpisodeStatus is a StrEnum, so a member finds the table's string keys.
    state: str = cur.status if cur is not None else NO_EPISODE
    compiled = _TABLE.get((state, e.kind))
    if compiled is None:
        raise TransitionRefused(
            state=str(state),
            event=e.kind,
            condition="allowed_in_state",
            detail=f"{e.kind} may happen in: {', '.join(_sources(e.kind))}",
            event_id=e.event_id,
            fix=_allowed_fix(str(state)),
        )
    breaches = None
    guards = compiled.after_episode_checks
    # same_episode and not_before_opening, inline: when both hold, the guards after them run.
    if guards is None or e.episode_id != cur.episode_id or e.occurred_on < cur.opened_on:  # type: ignore[union-attr]
        guards = compiled.guards
    for name, guard in guards:
        why = guard(c, cur, e)
        if why is not None:
            if c.flag_newer and name in NEWER_RULES:
                breaches = breaches or []
                breaches.append(_new_breach(e.event_id, e.kind, name, why))
                continue
            raise TransitionRefused(
                state=str(state),
                event=e.kind,
                condition=name,
                detail=why,
                event_id=e.event_id,
                fix=FIXES.get(name, ""),
            )
    compiled.apply(c, cur, e, e.__dict__, False)
    if breaches:
        c.cur.breaches.extend(breaches)  # type: ignore[union-attr]  # newer rules need an episode


def _sources(kind: str) -> list[str]:
    return [state for (state, event) in _TABLE if event == kind]


def initial(client_id: str) -> ClientState:
    """The state of a client with no events yet."""
    return ClientState(client_id=client_id)


def apply(
    state: ClientState | None,
    event: Event,
    *,
    criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
) -> ClientState:
    """Apply one event and return the new state.

    ``state`` may be ``None`` for a client's first event. The state passed in
    is never changed. Re-applying an event already applied returns ``state``
    itself. Raises :class:`TransitionRefused` when the workflow does not allow
    the event, or :class:`IdempotencyConflict` when its id was used for a
    different event. ``criterion`` is the provider's engagement criterion
    (:mod:`fama_core.engagement`), checked when engagement is confirmed.
    """
    if state is None:
        state = initial(event.client_id)
    if event.event_id in state._applied and state._applied[event.event_id] == event:
        return state
    draft = _ClientDraft(state, criterion)
    _run(draft, (event,))
    return draft.freeze()


def fold(
    events: Iterable[Event],
    state: ClientState | None = None,
    *,
    criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
    flag_newer_rules: bool = False,
) -> ClientState:
    """Apply events in order, as :func:`apply` would one by one, and return the result.

    An empty log gives ``state`` (or raises ``ValueError`` when both are empty,
    since the client is then unknown). Raises like :func:`apply` on the first
    refused event.

    ``flag_newer_rules`` is for replaying a *stored* log: an event that breaks
    only a rule of :data:`NEWER_RULES` (added after it may have been written)
    is kept as recorded and flagged on its episode's ``breaches``; any other
    refusal still raises. Never set it for events that are being recorded now.
    """
    if state is not None:
        draft = _ClientDraft(state, criterion, flag_newer_rules)
        _run(draft, events)
        return draft.freeze()
    if type(events) is list or type(events) is tuple:
        if not events:
            raise ValueError("fold needs at least one event or a starting state")
        draft = _ClientDraft.empty(events[0].client_id, criterion, flag_newer_rules)
        _run(draft, events)
        return draft.freeze()
    it = iter(events)
    first = next(it, None)
    if first is None:
        raise ValueError("fold needs at least one event or a starting state")
    draft = _ClientDraft.empty(first.client_id, criterion, flag_newer_rules)
    _run(draft, chain((first,), it))
    return draft.freeze()


def allowed_events(state: ClientState | None) -> tuple[str, ...]:
    """Event kinds the workflow accepts next in ``state`` (before guards)."""
    status = state.status if state is not None else None
    key = status.value if status is not None else NO_EPISODE
    return tuple(kind for kind in EVENT_KINDS if (key, kind) in _TABLE)
