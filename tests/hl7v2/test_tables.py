"""The mapping tables are the truth: the docs are generated from them and the messages
put a value at every location a row names."""

import datetime as dt
from pathlib import Path

import pytest

from fama_adapters.hl7v2 import er7
from fama_adapters.hl7v2 import tables as t
from fama_adapters.hl7v2.messages import (
    GoalAction,
    GoalEntry,
    GoalMessage,
    ReferralMessage,
    SessionMessage,
    build_adt,
    build_goal_message,
    build_referral,
    build_session,
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

ROOT = Path(__file__).resolve().parents[2]
WHEN = dt.datetime(2026, 3, 9, 17, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 3, 9)
MEETING = MeetingRef(
    meeting_id="m-1", name="Tuesday | Newcomers", organisation="aa",
    attendance_mode=AttendanceMode.HYBRID,
)  # fmt: skip


def test_docs_page_holds_the_current_generated_tables():
    page = (ROOT / "docs" / "hl7v2.md").read_text("utf-8")
    assert t.render_into(page) == page, "run: python -m fama_adapters.hl7v2 docs/hl7v2.md"


def full_messages():
    goal = Goal(goal_id="g-1", kind=GoalKind.OTHER, description="note", target_date=DAY,
                meeting=MEETING)  # fmt: skip
    entry = GoalEntry(goal, "ep-1", GoalStatus.ACHIEVED, DAY, DAY, GoalReviewOutcome.ACHIEVED)
    yield "goals", build_goal_message(GoalMessage(GoalAction.UPDATE, "c-1", "x", WHEN, (entry,)))
    arrangement = AccompanimentArrangement(
        arrangement_id="a-1", volunteer_id="v-1", volunteer_kind=VolunteerKind.GROUP_MEMBER,
        meeting=MEETING, date=DAY, commitment_id="cm-1",
    )  # fmt: skip
    yield "referral", build_referral(ReferralMessage("c-1", "x", WHEN, "kw-1", arrangement, "n"))
    review = STEPS_BY_STAGE[SessionStage.REVIEW]
    steps = tuple(StepRecord(step=s, status=StepStatus.DONE, note="n") for s in review)
    yield (
        "session",
        build_session(
            SessionMessage(
                "c-1", "x", WHEN, "ep-1", "e-1", SessionStage.REVIEW, 4, DAY, "kw-1", steps
            )
        ),
    )
    context = TreatmentContext(
        client_id="c-1", treatment_episode_id="tx-1", agency_code="AG1", started_on=DAY,
        ended_on=DAY, end_reason="02", transferred=True,
    )  # fmt: skip
    yield "adt", build_adt("A03", context, control_id="x", recorded_at=WHEN)


TABLE_FOR = {
    "goals": [t.HEADER_MAP, t.GOAL_MAP, t.MEETING_MAP],
    "referral": [t.REFERRAL_MAP, t.MEETING_MAP],
    "session": [t.SESSION_MAP],
    "adt": [t.ADT_MAP],
}
NOT_WRITTEN = {"sending facility", "receiving application", "receiving facility", "(merged id)"}


@pytest.mark.parametrize(("kind", "segments"), list(full_messages()), ids=lambda v: str(v)[:8])
def test_every_row_names_a_location_the_message_fills(kind, segments):
    msg = er7.parse(er7.encode(segments))
    for table in TABLE_FOR[kind]:
        for row in table:
            if row.fama in NOT_WRITTEN:
                continue
            values = [s.get(row.field, row.component) for s in msg.all(row.segment)]
            assert any(values), f"{table.title}: {row.fama} at {row.location} is empty"


def test_code_tables_cover_every_fama_code():
    assert {c.fama for c in t.GOAL_LIFECYCLE} == {s.value for s in GoalStatus}
    assert {c.fama for c in t.STEP_STATUS} == {s.value for s in StepStatus}
    assert {c.fama for c in t.GOAL_REVIEW} == {s.value for s in GoalReviewOutcome}
    assert {a for a, _, _ in t.GOAL_ACTIONS} == {a.value for a in GoalAction}
