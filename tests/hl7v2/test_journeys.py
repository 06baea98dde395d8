"""Whole journeys: fama → HL7 → fama at the level of the folded state.

For journeys built with hostile free text, every outbound message is valid for
hl7apy (STRICT) and python-hl7, the sessions read back equal the state's
sessions, and the last goal message of each goal carries the goal's final status.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.hl7v2 import Hl7v2RecordSystem, er7
from fama_adapters.hl7v2.messages import read_goal_message, read_referral, read_session
from fama_core.builders import JourneyBuilder
from fama_core.codes import CommitmentOutcome, GoalKind, GoalReviewOutcome
from fama_core.workflow import apply

from .strategies import text
from .test_roundtrip import assert_valid


@st.composite
def journeys(draw):
    b = JourneyBuilder(draw(st.from_regex(r"\Ac-[a-z0-9]{1,8}\Z")))
    meeting = b.meeting(draw(text.filter(lambda s: 1 <= len(s) <= 200)))
    b.open().session1(commit_to=meeting)
    # After session 1 comes session 2, which reviews the session-1 commitment.
    b.session2(review=draw(st.sampled_from(CommitmentOutcome)), commit_to=meeting)
    for _ in range(draw(st.integers(1, 3))):
        b.goal(draw(st.sampled_from(GoalKind)), description=draw(text.filter(bool)))
    if draw(st.booleans()):
        b.accompany()
    b.session3(
        review=draw(st.sampled_from(CommitmentOutcome)),
        reason=draw(text.filter(bool)),
        goals=draw(st.sampled_from(GoalReviewOutcome)),
    )
    return b.events


@settings(max_examples=15)
@given(journeys())
def test_journey_messages_are_valid_and_read_back_as_the_state(events):
    state = None
    for event in events:
        state = apply(state, event)
    system = Hl7v2RecordSystem()
    sessions, statuses, referrals = [], {}, []
    for message in system.messages(state, events):
        text_ = system.encode(message)
        assert_valid(text_)
        parsed = er7.parse(text_)
        if message.kind == "session":
            sessions.append(read_session(parsed))
        elif message.kind == "goals":
            for entry in read_goal_message(parsed).goals:
                statuses[entry.goal.goal_id] = (entry.goal, entry.status)
        else:
            referrals.append(read_referral(parsed).arrangement)
    episode = state.current
    assert [(s.event_id, s.number, s.held_on, s.steps) for s in sessions] == [
        (s.event_id, s.number, s.held_on, s.steps) for s in episode.sessions
    ]
    assert statuses == {g.goal.goal_id: (g.goal, g.status) for g in episode.goals}
    assert referrals == [a.arrangement for a in episode.accompaniments]


def test_sending_only_new_events_still_sends_later_goal_updates_and_reviews():
    """Goals set in earlier batches are known from the state (review finding, data loss)."""
    from pathlib import Path

    from fama_adapters.cli.core_commands import load_journeys
    from fama_core.workflow import fold

    root = Path(__file__).parent.parent.parent

    system = Hl7v2RecordSystem()
    for _name, _title, events in load_journeys(root / "examples" / "journeys"):
        state = fold(events)
        whole = [m.kind for m in system.messages(state, events)]
        for k in range(1, len(events)):
            earlier = [m.kind for m in system.messages(state, events[:k])]
            later = [m.kind for m in system.messages(state, events[k:])]
            assert earlier + later == whole, f"split at {k}"
