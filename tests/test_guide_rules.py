"""The guide's rules added in issue 10, each with a refused and a passing case.

1. After session 1 the next session is a session 2 (session 2 step 1 reviews a
   session-1 commitment); session 3 reviews a commitment made at a session 2 or 3.
2. A session-1 commitment only for a client with experience of mutual aid.
3. Engagement is evidence (:mod:`fama_core.engagement`), not one meeting.
5. Logs written under the old rules still replay, flagged.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_core import events as ev
from fama_core.builders import JourneyBuilder, all_steps
from fama_core.codes import (
    CommitmentOutcome,
    EpisodeStatus,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    InvolvementSign,
    SessionStage,
    Step,
    VolunteerKind,
)
from fama_core.engagement import (
    DEFAULT_ENGAGEMENT,
    EngagementCriterion,
    EngagementEvidence,
    assess_engagement,
)
from fama_core.errors import InvalidRecord, TransitionRefused
from fama_core.workflow import apply, fold


def journey(client: str = "c1") -> JourneyBuilder:
    return JourneyBuilder(client, start=dt.date(2026, 2, 2))


def refusal(events: list[ev.Event], **kwargs: object) -> TransitionRefused:
    """Fold all but the last event, then return the refusal of the last one."""
    state = fold(events[:-1]) if len(events) > 1 else None
    with pytest.raises(TransitionRefused) as info:
        apply(state, events[-1], **kwargs)  # type: ignore[arg-type]
    return info.value


def engaged_by_hand(b: JourneyBuilder) -> JourneyBuilder:
    """Two session-3 reviews of kept commitments, a third meeting where numbers were swapped."""
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(commit_to=m)
    b.journal(m, days_after=5, contacts=2)
    return b.session3()


# ------------------------------------------------------------------ rule 1: session order


def test_session_3_straight_after_a_session_1_commitment_is_refused():
    b = journey()
    b.open().session1(commit_to=b.meeting()).session3()
    refused = refusal(b.events)
    assert refused.condition == "follows_session_2_or_3"
    assert "session_2_held" in refused.fix


def test_a_session_1_commitment_is_reviewed_at_session_2():
    b = journey()
    b.open().session1(commit_to=b.meeting()).session2(commit_to=b.meeting()).session3()
    state = fold(b.events)
    first, second = state.current.commitments
    assert (first.made_in_session, first.reviewed_in_session) == (1, 2)
    assert (second.made_in_session, second.reviewed_in_session) == (2, 3)


def test_session_3_may_follow_a_session_3_that_ended_with_a_commitment():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting()).session3(commit_to=b.meeting())
    b.session3()
    assert [s.stage.value for s in fold(b.events).current.sessions] == ["1", "2", "3", "3"]


# ------------------------------------------------------------------ rule 2: experience


@pytest.mark.parametrize("level", [ExperienceLevel.NONE, ExperienceLevel.NOT_ASKED])
def test_a_session_1_commitment_without_experience_is_refused(level):
    b = journey()
    b.open().session1(experience=level, commit_to=b.meeting())
    refused = refusal(b.events)
    assert refused.condition == "commitment_needs_experience"
    assert "past_experience.level" in refused.fix


@pytest.mark.parametrize("level", [ExperienceLevel.SOME, ExperienceLevel.LONG_HISTORY_THEN_RELAPSE])
def test_a_session_1_commitment_with_experience_is_accepted(level):
    b = journey()
    b.open().session1(experience=level, commit_to=b.meeting())
    assert fold(b.events).status is EpisodeStatus.COMMITTED


def test_session_1_without_a_commitment_needs_no_experience():
    b = journey().open().session1(experience=ExperienceLevel.NONE)
    assert fold(b.events).status is EpisodeStatus.INTRODUCED


# ------------------------------------------------------------------ rule 3: engagement


def test_one_attended_meeting_is_not_engagement():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting()).session3().engaged(complete=False)
    refused = refusal(b.events)
    assert refused.condition == "engagement_evidence"
    for item in ("attended_dates", "reviews_with_attendance", "involvement"):
        assert item in refused.detail


def test_engagement_with_the_evidence_is_accepted_and_kept():
    b = engaged_by_hand(journey()).engaged(complete=False)
    episode = fold(b.events).current
    assert episode.status is EpisodeStatus.ENGAGED
    assert episode.engagement_evidence == EngagementEvidence(
        attended_dates=(dt.date(2026, 2, 12), dt.date(2026, 2, 19), dt.date(2026, 2, 21)),
        reviews_with_attendance=(3, 4),
        involvement=(InvolvementSign.SWAPPED_NUMBERS,),
    )


def test_the_refusal_names_only_what_is_missing():
    b = journey()
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(commit_to=m).session3()
    b.engaged(complete=False)
    refused = refusal(b.events)
    assert "involvement" in refused.detail and "reviews_with_attendance" not in refused.detail
    assert "journal_entry_recorded" in refused.detail


def test_a_goal_achieved_is_a_sign_of_involvement():
    b = journey()
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(commit_to=m)
    b.goal(GoalKind.SPEAK_ABOUT_SPONSORSHIP).journal(m, days_after=5)
    b.session3(goals=GoalReviewOutcome.ACHIEVED).engaged(complete=False)
    ep = fold(b.events).current
    assert ep.engagement_evidence.involvement == (InvolvementSign.SPOKE_ABOUT_SPONSORSHIP,)


def test_meetings_after_the_confirmation_date_do_not_count():
    b = journey()
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(commit_to=m)
    b.journal(m, days_after=30, contacts=1)  # a plan, dated after the confirmation
    b.session3().engaged(complete=False)
    assert "attended_dates" in refusal(b.events).detail


def test_not_attended_reviews_are_not_evidence():
    b = journey()
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(
        review=CommitmentOutcome.NOT_ATTENDED, commit_to=m
    )
    b.journal(m, days_after=5, contacts=1).session3().engaged(complete=False)
    refused = refusal(b.events)
    assert "reviews_with_attendance: 1 recorded, 2 needed" in refused.detail


def test_evidence_the_record_does_not_show_is_refused():
    b = engaged_by_hand(journey()).engaged(complete=False)
    claim = EngagementEvidence(attended_dates=(dt.date(2026, 1, 1),))
    bad = b.events[-1].model_copy(update={"evidence": claim})
    refused = refusal([*b.events[:-1], bad])
    assert refused.condition == "engagement_evidence"
    assert "evidence.attended_dates" in refused.detail


def test_evidence_the_record_shows_is_accepted():
    b = engaged_by_hand(journey()).engaged()
    assert b.events[-1].evidence is not None
    assert fold(b.events).status is EpisodeStatus.ENGAGED


def test_a_provider_criterion_changes_what_counts():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting()).session3().engaged(complete=False)
    lenient = EngagementCriterion(
        min_attended_dates=1, min_reviews_with_attendance=1, min_involvement_signs=0
    )
    assert refusal(b.events).condition == "engagement_evidence"
    assert fold(b.events, criterion=lenient).status is EpisodeStatus.ENGAGED


def test_the_builder_records_the_evidence_the_criterion_needs():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting()).session3().engaged()
    episode = fold(b.events).current
    assert episode.status is EpisodeStatus.ENGAGED
    assert assess_engagement(episode).met


def test_the_builder_meets_a_stricter_provider_criterion_too():
    strict = EngagementCriterion(
        min_attended_dates=5,
        min_reviews_with_attendance=3,
        min_involvement_signs=2,
    )
    b = journey().open().session1().engaged(criterion=strict)
    assert fold(b.events, criterion=strict).status is EpisodeStatus.ENGAGED


def test_assess_engagement_reports_met_evidence_and_missing():
    b = engaged_by_hand(journey())
    result = assess_engagement(fold(b.events).current)
    assert result.met and not result.missing
    stricter = EngagementCriterion(min_attended_dates=4)
    result = assess_engagement(fold(b.events).current, stricter)
    assert not result.met
    assert [(m.item, m.have, m.need) for m in result.missing] == [("attended_dates", 3, 4)]


# ------------------------------------------------------------------ the criterion as data


def test_the_criterion_reads_from_configuration_and_back():
    config = {
        "name": "north-2027",
        "min_attended_dates": 4,
        "involvement_signs": ["swapped_numbers"],
    }
    criterion = EngagementCriterion.from_mapping(config)
    assert criterion.min_attended_dates == 4
    assert criterion.involvement_signs == frozenset({InvolvementSign.SWAPPED_NUMBERS})
    assert EngagementCriterion.from_mapping(criterion.to_mapping()) == criterion


def test_a_bad_criterion_names_each_key_without_its_value():
    with pytest.raises(InvalidRecord) as info:
        EngagementCriterion.from_mapping(
            {"min_attended_dates": 0, "involvement_signs": ["secret-value"], "colour": "red"}
        )
    locations = {p.location for p in info.value.problems}
    assert locations == {"min_attended_dates", "involvement_signs", "colour"}
    assert "secret-value" not in str(info.value) and "red" not in str(info.value)


def test_the_default_criterion_is_cited():
    assert "fully engaged" in DEFAULT_ENGAGEMENT.source
    assert DEFAULT_ENGAGEMENT.to_mapping()["min_attended_dates"] == 3


@given(st.dictionaries(st.text(max_size=30), st.none() | st.integers() | st.text(max_size=10)))
def test_from_mapping_either_reads_or_refuses_cleanly(data):
    try:
        criterion = EngagementCriterion.from_mapping(data)
    except InvalidRecord as exc:
        assert exc.problems
    else:
        assert criterion.min_attended_dates >= 1


# ------------------------------------------------------------------ old logs (item 5)


def old_log() -> list[ev.Event]:
    """A journey the old rules accepted: a session-1 commitment with no experience, then
    session 3, then engaged on one meeting."""
    b = journey()
    b.open().session1(experience=ExperienceLevel.NONE, commit_to=b.meeting())
    b.session3().engaged(complete=False)
    return b.events


def test_an_old_log_is_refused_when_recorded_now():
    with pytest.raises(TransitionRefused):
        fold(old_log())


def test_an_old_log_replays_as_recorded_and_flagged():
    events = old_log()
    state = fold(events, flag_newer_rules=True)
    episode = state.current
    assert episode.status is EpisodeStatus.ENGAGED
    assert [(b.event_id, b.condition) for b in episode.breaches] == [
        (events[1].event_id, "commitment_needs_experience"),
        (events[2].event_id, "follows_session_2_or_3"),
        (events[3].event_id, "engagement_evidence"),
    ]


def test_replay_still_refuses_what_was_never_allowed():
    b = journey().open().session2(reason="x")
    with pytest.raises(TransitionRefused):
        fold(b.events, flag_newer_rules=True)


def test_new_events_after_a_flagged_episode_meet_every_rule():
    b = journey()
    b.open().session1(experience=ExperienceLevel.NONE, commit_to=b.meeting())
    state = fold(b.events, flag_newer_rules=True)
    b.session3()
    with pytest.raises(TransitionRefused) as info:
        apply(state, b.events[-1])
    assert info.value.condition == "follows_session_2_or_3"


# ------------------------------------------------------------------ rule 4: the guide's steps


def session_1_steps(with_mi: bool) -> list[dict]:
    steps = [s.model_dump(mode="json") for s in all_steps(SessionStage.INTRODUCTION)]
    return [s for s in steps if with_mi or s["step"] != Step.S1_MOTIVATIONAL_INTERVIEWING.value]


@pytest.mark.parametrize("with_mi", [True, False])
def test_session_1_may_record_motivational_interviewing(with_mi):
    b = journey().open().session1()
    data = {**b.events[1].model_dump(mode="json"), "steps": session_1_steps(with_mi)}
    event = ev.event_from_mapping(data)
    listed = {r.step for r in event.steps}
    assert (Step.S1_MOTIVATIONAL_INTERVIEWING in listed) is with_mi
    assert fold([b.events[0], event]).status is EpisodeStatus.INTRODUCED


def test_motivational_interviewing_is_not_a_step_of_session_2():
    b = journey().open().session1().session2(reason="x")
    data = b.events[-1].model_dump(mode="json")
    data["steps"].append({"step": Step.S1_MOTIVATIONAL_INTERVIEWING.value, "status": "done"})
    with pytest.raises(InvalidRecord) as info:
        ev.event_from_mapping(data)
    assert "not steps of session 2" in str(info.value)


@pytest.mark.parametrize("kind", [VolunteerKind.GROUP_MEMBER, VolunteerKind.ESTABLISHED_CLIENT])
def test_a_volunteer_recorded_as_not_attending_consistently_is_refused(kind):
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-9", kind=kind, coordinator="champ-1", attends_consistently=False)
    refused = refusal(b.events)
    assert refused.condition == "volunteer_attends"
    assert "volunteer_attends_consistently" in refused.fix


def test_a_group_member_coordinated_by_a_champion_is_accepted():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany(
        "vol-9",
        kind=VolunteerKind.GROUP_MEMBER,
        coordinator="champ-1",
        attends_consistently=True,
    )
    (arranged,) = fold(b.events).current.accompaniments
    assert arranged.arrangement.coordinator_id == "champ-1"
    assert arranged.arrangement.volunteer_attends_consistently is True


@pytest.mark.parametrize("kind", [VolunteerKind.GROUP_MEMBER, VolunteerKind.ESTABLISHED_CLIENT])
def test_a_volunteer_whose_consistent_attendance_is_not_recorded_is_refused(kind):
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-9", kind=kind, coordinator="champ-1", attends_consistently=None)
    refused = refusal(b.events)
    assert refused.condition == "volunteer_attendance_recorded"
    assert "arrangement.volunteer_attends_consistently" in refused.fix
    assert "does not say" in refused.detail


@pytest.mark.parametrize(
    "kind", [VolunteerKind.RECOVERY_CHAMPION, VolunteerKind.PEER_SUPPORT_PROGRAMME]
)
def test_a_champion_or_peer_programme_volunteer_needs_no_recorded_attendance(kind):
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-9", kind=kind, attends_consistently=None)
    (arranged,) = fold(b.events).current.accompaniments
    assert arranged.arrangement.volunteer_attends_consistently is None


def test_the_builder_records_a_group_members_consistent_attendance_by_default():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-9", kind=VolunteerKind.GROUP_MEMBER)
    (arranged,) = fold(b.events).current.accompaniments
    assert arranged.arrangement.volunteer_attends_consistently is True


def test_an_arrangement_stored_before_the_rule_replays_flagged():
    b = journey()
    b.open().session1().session2(commit_to=b.meeting(), accompaniment=True)
    b.accompany("vol-9", kind=VolunteerKind.GROUP_MEMBER, attends_consistently=None)
    with pytest.raises(TransitionRefused):
        fold(b.events)
    episode = fold(b.events, flag_newer_rules=True).current
    (arranged,) = episode.accompaniments
    assert arranged.arrangement.volunteer_attends_consistently is None
    assert [(x.event_id, x.condition) for x in episode.breaches] == [
        (b.events[-1].event_id, "volunteer_attendance_recorded")
    ]
