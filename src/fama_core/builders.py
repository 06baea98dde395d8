"""Build valid event sequences with little typing: for examples, tests, demos and benchmarks.

:class:`JourneyBuilder` writes the events of one client's journey through FAMA
with sensible defaults (every step done, dates moving forward a week a
session, ids numbered within the episode). Hosts use it to see what a complete
record looks like; it is not needed to use fama.

The defaults follow the guide: a session-1 commitment is recorded with some
past experience of mutual aid, and :meth:`JourneyBuilder.engaged` first records
whatever evidence the engagement criterion still lacks (further session-3
reviews, attended meetings, a sign of involvement), so a journey that ends
"engaged" is one the workflow accepts. Pass ``complete=False`` to write the
bare event, for a test of the refusal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Literal, TypedDict

from fama_core.codes import (
    STEPS_BY_STAGE,
    AccompanimentOutcome,
    CloseReason,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    Handout,
    InvolvementSign,
    LiteracySupportKind,
    Obstacle,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.engagement import (
    DEFAULT_ENGAGEMENT,
    EngagementCriterion,
    EngagementEvidence,
    evidence_from,
    judge,
)
from fama_core.errors import FamaError
from fama_core.events import (
    AccompanimentArranged,
    AccompanimentConcluded,
    ClientDeclined,
    EngagementConfirmed,
    EpisodeClosed,
    EpisodeOpened,
    Event,
    GoalSet,
    GoalUpdated,
    JournalEntryRecorded,
    ObstacleRaised,
    Session1Held,
    Session2Held,
    Session3Held,
)
from fama_core.models import (
    AccompanimentArrangement,
    AccompanimentResult,
    CommitmentReview,
    Goal,
    GoalReview,
    JournalEntry,
    LiteracySupport,
    MeetingCommitment,
    MeetingRef,
    ObstacleRecord,
    PastExperience,
    StepRecord,
)
from fama_core.state import EpisodeState

__all__ = ["JourneyBuilder", "all_steps"]

_RECORDED_AT = dt.time(17, 0, tzinfo=dt.UTC)


def all_steps(
    stage: SessionStage, overrides: Mapping[Step, StepStatus] | None = None
) -> tuple[StepRecord, ...]:
    """Every step of ``stage`` marked done, except those given in ``overrides``."""
    overrides = overrides or {}
    return tuple(
        StepRecord(step=s, status=overrides.get(s, StepStatus.DONE)) for s in STEPS_BY_STAGE[stage]
    )


def _missing_review() -> CommitmentReview:
    # A session 3 with nothing outstanding: build it anyway so the workflow,
    # not the builder, is what refuses it.
    return CommitmentReview(commitment_id="none", outcome=CommitmentOutcome.UNKNOWN)


class _Envelope(TypedDict):
    event_id: str
    client_id: str
    episode_id: str
    keyworker_id: str
    occurred_on: dt.date
    recorded_at: dt.datetime


class JourneyBuilder:
    """Accumulates the events of one client's FAMA journey, in order.

    ``day`` is the current session date; each session method moves it on by
    ``gap_days`` first (except the first session, held the day the episode opens).
    """

    def __init__(
        self,
        client_id: str,
        *,
        keyworker_id: str = "kw-1",
        team_id: str | None = "team-a",
        start: dt.date = dt.date(2026, 1, 5),
        gap_days: int = 7,
    ) -> None:
        self.client_id = client_id
        self.keyworker_id = keyworker_id
        self.team_id = team_id
        self.day = start
        self.gap_days = gap_days
        self.events: list[Event] = []
        self.episode_id = ""
        self._episodes = 0
        self._n = 0
        self._sessions = 0
        self._outstanding: str | None = None
        self._agreed: list[str] = []

    # ----------------------------------------------------------------- helpers
    def _base(self) -> _Envelope:
        self._n += 1
        return {
            "event_id": f"{self.episode_id}-e{self._n}",
            "client_id": self.client_id,
            "episode_id": self.episode_id,
            "keyworker_id": self.keyworker_id,
            "occurred_on": self.day,
            "recorded_at": dt.datetime.combine(self.day, _RECORDED_AT),
        }

    def _next_session_day(self) -> None:
        if self._sessions:
            self.day += dt.timedelta(days=self.gap_days)
        self._sessions += 1

    def meeting(self, name: str = "Tuesday Newcomers", organisation: str = "aa") -> MeetingRef:
        """A meeting reference for the journey."""
        return MeetingRef(name=name, organisation=organisation)

    def _commit(
        self, meeting: MeetingRef | None, accompaniment: bool, days: int = 3
    ) -> MeetingCommitment | None:
        if meeting is None:
            return None
        cid = f"{self.episode_id}-c{self._sessions}"
        self._outstanding = cid
        return MeetingCommitment(
            commitment_id=cid,
            meeting=meeting,
            planned_date=self.day + dt.timedelta(days=days),
            accompaniment_requested=accompaniment,
        )

    def _review(self, outcome: CommitmentOutcome | None) -> CommitmentReview | None:
        if self._outstanding is None:
            return None
        review = CommitmentReview(
            commitment_id=self._outstanding,
            outcome=outcome or CommitmentOutcome.ATTENDED,
            journal_used=True,
        )
        self._outstanding = None
        return review

    def _goal_reviews(self, outcome: GoalReviewOutcome) -> tuple[GoalReview, ...]:
        reviews = tuple(GoalReview(goal_id=g, outcome=outcome) for g in self._agreed)
        if outcome is not GoalReviewOutcome.CARRIED_FORWARD:
            self._agreed = []
        return reviews

    def add(self, event: Event) -> JourneyBuilder:
        """Append an event built elsewhere."""
        self.events.append(event)
        return self

    # ----------------------------------------------------------------- events
    def open(self, episode_id: str | None = None, *, days_later: int = 0) -> JourneyBuilder:
        """Open a new episode (``days_later`` after the current day)."""
        self._episodes += 1
        self.episode_id = episode_id or f"{self.client_id}-ep{self._episodes}"
        self.day += dt.timedelta(days=days_later)
        self._n = 0
        self._sessions = 0
        self._outstanding = None
        self._agreed = []
        self.events.append(EpisodeOpened(**self._base(), team_id=self.team_id))
        return self

    def session1(
        self,
        *,
        experience: ExperienceLevel | None = None,
        organisations: Iterable[str] = (),
        commit_to: MeetingRef | None = None,
        literacy: LiteracySupportKind | None = None,
        steps: Mapping[Step, StepStatus] | None = None,
    ) -> JourneyBuilder:
        """Hold session 1 (hand-outs 1-6 and 10 given, journal given).

        ``experience`` defaults to ``some`` when the client commits to a meeting
        (the guide allows a session-1 commitment only then) and ``none`` otherwise.
        """
        if experience is None:
            experience = ExperienceLevel.SOME if commit_to else ExperienceLevel.NONE
        self._next_session_day()
        handouts = (
            Handout.H1,
            Handout.H2,
            Handout.H3,
            Handout.H4,
            Handout.H5A,
            Handout.H5B,
            Handout.H5C,
            Handout.H6A,
            Handout.H6B,
            Handout.H6C,
            Handout.H10,
        )
        self.events.append(
            Session1Held(
                **self._base(),
                steps=all_steps(SessionStage.INTRODUCTION, steps),
                past_experience=PastExperience(
                    level=experience, organisations=tuple(organisations)
                ),
                handouts_given=handouts,
                journal_given=True,
                literacy_support=LiteracySupport(kind=literacy, large_print=True)
                if literacy
                else None,
                commitment=self._commit(commit_to, False),
            )
        )
        return self

    def session2(
        self,
        *,
        commit_to: MeetingRef | None = None,
        reason: str | None = None,
        review: CommitmentOutcome | None = None,
        goals: GoalReviewOutcome = GoalReviewOutcome.ACHIEVED,
        accompaniment: bool = False,
        steps: Mapping[Step, StepStatus] | None = None,
    ) -> JourneyBuilder:
        """Hold session 2: commit to ``commit_to`` or record ``reason``."""
        self._next_session_day()
        base = self._base()
        self.events.append(
            Session2Held(
                **base,
                steps=all_steps(SessionStage.ENGAGEMENT, steps),
                commitment_review=self._review(review),
                goal_reviews=self._goal_reviews(goals),
                commitment=self._commit(commit_to, accompaniment),
                no_commitment_reason=None if commit_to else (reason or "not ready this week"),
                preferred_organisation=commit_to.organisation if commit_to else None,
            )
        )
        return self

    def session3(
        self,
        *,
        review: CommitmentOutcome = CommitmentOutcome.ATTENDED,
        commit_to: MeetingRef | None = None,
        reason: str | None = None,
        goals: GoalReviewOutcome = GoalReviewOutcome.ACHIEVED,
        steps: Mapping[Step, StepStatus] | None = None,
    ) -> JourneyBuilder:
        """Hold session 3, reviewing the outstanding commitment."""
        self._next_session_day()
        base = self._base()
        self.events.append(
            Session3Held(
                **base,
                steps=all_steps(SessionStage.REVIEW, steps),
                commitment_review=self._review(review) or _missing_review(),
                goal_reviews=self._goal_reviews(goals),
                commitment=self._commit(commit_to, False),
                no_commitment_reason=None if commit_to else (reason or "will decide next time"),
            )
        )
        return self

    def goal(
        self,
        kind: GoalKind,
        *,
        status: GoalStatus = GoalStatus.AGREED,
        meeting: MeetingRef | None = None,
        description: str | None = None,
    ) -> JourneyBuilder:
        """Set a goal in the session just held (target: the next session)."""
        gid = f"{self.episode_id}-g{self._n + 1}"
        if status is GoalStatus.AGREED:
            self._agreed.append(gid)
        self.events.append(
            GoalSet(
                **self._base(),
                goal=Goal(
                    goal_id=gid,
                    kind=kind,
                    status=status,
                    meeting=meeting,
                    description=description,
                    target_date=self.day + dt.timedelta(days=self.gap_days),
                ),
            )
        )
        return self

    def agree_goal(self, goal_id: str) -> JourneyBuilder:
        """Agree a goal that was proposed."""
        self._agreed.append(goal_id)
        self.events.append(GoalUpdated(**self._base(), goal_id=goal_id, status=GoalStatus.AGREED))
        return self

    def journal(
        self,
        meeting: MeetingRef | None = None,
        *,
        attended: bool = True,
        days_after: int = 3,
        contacts: int = 0,
        involvement: Iterable[InvolvementSign] = (),
    ) -> JourneyBuilder:
        """Record a journal entry for a meeting ``days_after`` the current day (may be negative)."""
        signs = tuple(involvement)
        self.events.append(
            JournalEntryRecorded(
                **self._base(),
                entry=JournalEntry(
                    entry_id=f"{self.episode_id}-j{self._n}",
                    meeting=meeting or self.meeting(),
                    date=self.day + dt.timedelta(days=days_after),
                    attended=attended,
                    contacts_made=contacts,
                    involvement=signs or None,
                ),
            )
        )
        return self

    def obstacle(self, obstacle: Obstacle, response: str | None = None) -> JourneyBuilder:
        """Record an obstacle the client raised."""
        self.events.append(
            ObstacleRaised(
                **self._base(),
                record=ObstacleRecord(
                    obstacle=obstacle, response=response, used_suggested_response=response is None
                ),
            )
        )
        return self

    def accompany(
        self,
        volunteer_id: str = "vol-1",
        *,
        kind: VolunteerKind = VolunteerKind.RECOVERY_CHAMPION,
        meeting: MeetingRef | None = None,
        coordinator: str | None = None,
        attends_consistently: bool | None | Literal["auto"] = "auto",
    ) -> JourneyBuilder:
        """Arrange a peer to accompany the client to the outstanding commitment's meeting.

        ``attends_consistently`` is recorded as given; ``"auto"`` (the default)
        records ``True`` for an established client or a group member, who must
        have a consistent history of attending (appendix 1), and nothing for
        other volunteers.
        """
        if attends_consistently == "auto":
            attends_consistently = (
                True
                if kind in (VolunteerKind.ESTABLISHED_CLIENT, VolunteerKind.GROUP_MEMBER)
                else None
            )
        self.events.append(
            AccompanimentArranged(
                **self._base(),
                arrangement=AccompanimentArrangement(
                    arrangement_id=f"{self.episode_id}-a{self._n}",
                    volunteer_id=volunteer_id,
                    volunteer_kind=kind,
                    meeting=meeting or self.meeting(),
                    date=self.day + dt.timedelta(days=3),
                    commitment_id=self._outstanding,
                    coordinator_id=coordinator,
                    volunteer_attends_consistently=attends_consistently,
                ),
            )
        )
        return self

    def accompaniment_outcome(
        self, arrangement_id: str, outcome: AccompanimentOutcome = AccompanimentOutcome.ACCOMPANIED
    ) -> JourneyBuilder:
        """Record what became of an accompaniment."""
        self.events.append(
            AccompanimentConcluded(
                **self._base(),
                result=AccompanimentResult(arrangement_id=arrangement_id, outcome=outcome),
            )
        )
        return self

    def engaged(
        self,
        organisation: str = "aa",
        *,
        complete: bool = True,
        criterion: EngagementCriterion = DEFAULT_ENGAGEMENT,
    ) -> JourneyBuilder:
        """Confirm the client is engaged with a group (ends the episode).

        With ``complete`` (the default) the builder first records what
        ``criterion`` still lacks, as a keyworker would over the following weeks:
        further session 3 reviews of kept commitments, then an attended meeting
        where numbers were swapped, then attended meetings on further dates. The
        event then carries the evidence it relied on. ``complete=False`` writes
        the bare event, as an old log or a hasty host would.
        """
        evidence = self._complete_evidence(criterion) if complete else None
        self.events.append(
            EngagementConfirmed(**self._base(), organisation=organisation, evidence=evidence)
        )
        return self

    def _evidence(self) -> tuple[EngagementEvidence, EpisodeState] | None:
        # Imported here: the workflow's doctests use this builder.
        from fama_core.workflow import fold

        try:
            episode = fold(self.events).current
        except FamaError:  # not a valid journey: leave the refusal to the workflow
            return None
        if episode is None or episode.status.is_final:
            return None
        ev = evidence_from(
            episode.sessions, episode.journal, episode.commitments, episode.goals, as_of=self.day
        )
        return ev, episode

    def _complete_evidence(self, criterion: EngagementCriterion) -> EngagementEvidence | None:
        for _ in range(
            4 * criterion.min_attended_dates + 4 * criterion.min_reviews_with_attendance
        ):
            found = self._evidence()
            if found is None:
                return None
            evidence, episode = found
            missing = {m.item for m in judge(evidence, criterion).missing}
            if not missing:
                return evidence
            if "reviews_with_attendance" in missing:
                needed = criterion.min_reviews_with_attendance - len(
                    evidence.reviews_with_attendance
                )
                after_session_1 = episode.sessions[-1].stage is SessionStage.INTRODUCTION
                if episode.outstanding_commitment is None or after_session_1:
                    self.session2(commit_to=self.meeting())
                else:
                    self.session3(commit_to=self.meeting() if needed > 1 else None)
            elif "involvement" in missing:
                # Swapped numbers first (session 3, step 5), then the others in order.
                sign = next(
                    s
                    for s in (InvolvementSign.SWAPPED_NUMBERS, *InvolvementSign)
                    if s in criterion.involvement_signs and s not in evidence.involvement
                )
                contacts = 1 if sign is InvolvementSign.SWAPPED_NUMBERS else 0
                self.journal(
                    days_after=-self._free_day(evidence), contacts=contacts, involvement=[sign]
                )
            else:
                self.journal(days_after=-self._free_day(evidence))
        return None

    def _free_day(self, evidence: EngagementEvidence) -> int:
        """Days before today of the latest date with no attended meeting yet."""
        taken = set(evidence.attended_dates)
        back = 1
        while self.day - dt.timedelta(days=back) in taken:
            back += 1
        return back

    def declined(self, reason: str | None = None) -> JourneyBuilder:
        """Record that the client decided not to attend at this time (ends the episode)."""
        self.events.append(ClientDeclined(**self._base(), reason=reason))
        return self

    def closed(self, reason: CloseReason = CloseReason.TREATMENT_ENDED) -> JourneyBuilder:
        """Close the episode (treatment ended, transfer …)."""
        self.events.append(EpisodeClosed(**self._base(), reason=reason))
        return self
