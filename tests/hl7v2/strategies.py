"""Hypothesis strategies for the HL7 v2 tests: fama records with hostile free text."""

import datetime as dt

from hypothesis import strategies as st

from fama_adapters.hl7v2.messages import (
    GoalAction,
    GoalEntry,
    GoalMessage,
    ReferralMessage,
    SessionMessage,
)
from fama_core.codes import (
    STEPS_BY_STAGE,
    AttendanceMode,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    SessionStage,
    StepStatus,
    VolunteerKind,
)
from fama_core.context import TreatmentContext
from fama_core.models import AccompanimentArrangement, Goal, MeetingRef, StepRecord

ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:\-]{0,30}\Z")
org = st.from_regex(r"\A[a-z0-9][a-z0-9_\-]{0,15}\Z")
# Free text that must survive: the delimiters, the escape character, line breaks, accents.
text = st.text(
    alphabet=st.sampled_from(list("ab Z09|^~\\&\r\n\t.éü'\"#FSTRE")) | st.characters(codec="utf-8"),
    max_size=60,
)
short = text.filter(lambda s: 1 <= len(s) <= 200)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
stamps = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2099, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=1))]),
).map(lambda d: d.replace(microsecond=0))

meetings = st.builds(
    MeetingRef,
    meeting_id=st.none() | ids,
    name=short,
    organisation=org,
    attendance_mode=st.none() | st.sampled_from(AttendanceMode),
)


@st.composite
def goals(draw):
    kind = draw(st.sampled_from(GoalKind))
    description = draw(text.filter(bool)) if kind is GoalKind.OTHER else draw(st.none() | text)
    return Goal(
        goal_id=draw(ids),
        kind=kind,
        description=description,
        target_date=draw(st.none() | dates),
        meeting=draw(st.none() | meetings),
        status=draw(st.sampled_from([GoalStatus.PROPOSED, GoalStatus.AGREED])),
    )


@st.composite
def goal_entries(draw):
    goal = draw(goals())
    status = draw(st.sampled_from(GoalStatus))
    if status in (GoalStatus.PROPOSED, GoalStatus.AGREED):
        goal = goal.model_copy(update={"status": status})
    else:
        goal = goal.model_copy(update={"status": GoalStatus.AGREED})
    return GoalEntry(
        goal=goal,
        episode_id=draw(ids),
        status=status,
        set_on=draw(dates),
        status_on=draw(st.none() | dates),
        last_review=draw(st.none() | st.sampled_from(GoalReviewOutcome)),
    )


goal_messages = st.builds(
    GoalMessage,
    action=st.sampled_from(GoalAction),
    client_id=ids,
    control_id=ids.map(lambda s: s[:20]),
    recorded_at=stamps,
    goals=st.lists(goal_entries(), min_size=1, max_size=3).map(tuple),
)

arrangements = st.builds(
    AccompanimentArrangement,
    arrangement_id=ids,
    volunteer_id=ids,
    volunteer_kind=st.sampled_from(VolunteerKind),
    meeting=meetings,
    date=dates,
    commitment_id=st.none() | ids,
)

referrals = st.builds(
    ReferralMessage,
    client_id=ids,
    control_id=ids.map(lambda s: s[:20]),
    recorded_at=stamps,
    keyworker_id=ids,
    arrangement=arrangements,
    note=st.none() | text,
)


@st.composite
def sessions(draw):
    stage = draw(st.sampled_from(SessionStage))
    steps = tuple(
        StepRecord(step=s, status=draw(st.sampled_from(StepStatus)), note=draw(st.none() | text))
        for s in STEPS_BY_STAGE[stage]
    )
    return SessionMessage(
        client_id=draw(ids),
        control_id=draw(ids)[:20],
        recorded_at=draw(stamps),
        episode_id=draw(ids),
        event_id=draw(ids),
        stage=stage,
        number=draw(st.integers(1, 99)),
        held_on=draw(dates),
        keyworker_id=draw(ids),
        steps=steps,
    )


TRANSFER = ["02", "05", "transferred"]


@st.composite
def contexts(draw):
    started = draw(dates)
    ended = draw(st.none() | dates.filter(lambda d: d >= started))
    end_reason = None
    if ended is not None:
        end_reason = draw(st.none() | st.sampled_from(TRANSFER) | st.sampled_from(["01", "07"]))
    return TreatmentContext(
        client_id=draw(ids),
        treatment_episode_id=draw(ids),
        agency_code=draw(st.none() | st.from_regex(r"\A[A-Z0-9]{1,16}\Z")),
        started_on=started,
        ended_on=ended,
        end_reason=end_reason,
        transferred=ended is not None and end_reason in TRANSFER,
    )
