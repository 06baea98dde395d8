"""Hypothesis strategies for FHIR mapping tests: arbitrary client states, not workflow-valid ones.

The mapper maps whatever a fold can hold, so these build :class:`ClientState`
values directly, with unique ids per episode, every optional field either set
or absent, and free text from the whole of Unicode except what FHIR strings
cannot hold (control characters other than tab, CR and LF).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from fama_core.codes import (
    AccompanimentOutcome,
    AttendanceMode,
    CommitmentOutcome,
    EpisodeStatus,
    GoalKind,
    GoalStatus,
    SessionStage,
    Step,
    StepStatus,
    VolunteerKind,
)
from fama_core.models import (
    AccompanimentArrangement,
    Goal,
    JournalEntry,
    MeetingCommitment,
    MeetingRef,
    StepRecord,
)
from fama_core.state import (
    AccompanimentState,
    ClientState,
    CommitmentState,
    EpisodeState,
    GoalState,
    SessionSummary,
)

CONTROL = "".join(chr(c) for c in range(32) if chr(c) not in "\t\r\n")

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,11}", fullmatch=True)
orgs = st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,7}", fullmatch=True)
dates = st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31))
chars = st.characters(blacklist_categories=("Cs",), blacklist_characters=CONTROL)
text = st.text(chars, max_size=30)
opt_text = st.none() | text
names = st.text(chars, min_size=1, max_size=30)

meetings = st.builds(
    MeetingRef,
    meeting_id=st.none() | ids,
    name=names,
    organisation=orgs,
    attendance_mode=st.none() | st.sampled_from(AttendanceMode),
)


@st.composite
def goal_states(draw):
    kind = draw(st.sampled_from(GoalKind))
    description = draw(names if kind is GoalKind.OTHER else opt_text)
    goal = Goal(
        goal_id=draw(ids),
        kind=kind,
        description=description,
        target_date=draw(st.none() | dates),
        meeting=draw(st.none() | meetings),
        status=draw(st.sampled_from([GoalStatus.PROPOSED, GoalStatus.AGREED])),
    )
    return GoalState(
        goal=goal, status=draw(st.sampled_from(GoalStatus)), set_on=draw(dates), set_after_session=1
    )


steps = st.builds(
    StepRecord, step=st.sampled_from(Step), status=st.sampled_from(StepStatus), note=opt_text
)

sessions = st.builds(
    SessionSummary,
    number=st.integers(1, 20),
    stage=st.sampled_from(SessionStage),
    held_on=dates,
    keyworker_id=ids,
    steps=st.lists(steps, max_size=4).map(tuple),
    event_id=ids,
)

journal = st.builds(
    JournalEntry,
    entry_id=ids,
    meeting=meetings,
    date=dates,
    attended=st.booleans(),
    reactions=opt_text,
    benefits=st.lists(text, max_size=3).map(tuple),
    disadvantages=st.lists(text, max_size=3).map(tuple),
    contacts_made=st.integers(0, 1000),
)

commitments = st.builds(
    CommitmentState,
    commitment=st.builds(
        MeetingCommitment,
        commitment_id=ids,
        meeting=meetings,
        planned_date=dates,
        accompaniment_requested=st.booleans(),
    ),
    made_on=dates,
    made_in_session=st.integers(1, 9),
    outcome=st.none() | st.sampled_from(CommitmentOutcome),
)

accompaniments = st.builds(
    AccompanimentState,
    arrangement=st.builds(
        AccompanimentArrangement,
        arrangement_id=ids,
        volunteer_id=ids,
        volunteer_kind=st.sampled_from(VolunteerKind),
        meeting=meetings,
        date=dates,
        commitment_id=st.none() | ids,
    ),
    arranged_on=dates,
    outcome=st.none() | st.sampled_from(AccompanimentOutcome),
)


@st.composite
def episodes(draw, client_id: str, episode_id: str):
    def unique(strategy, key, n=4):
        return tuple(draw(st.lists(strategy, max_size=n, unique_by=key)))

    return EpisodeState(
        episode_id=episode_id,
        client_id=client_id,
        keyworker_id=draw(ids),
        team_id=draw(st.none() | ids),
        status=draw(st.sampled_from(EpisodeStatus)),
        opened_on=draw(dates),
        sessions=unique(sessions, lambda s: s.event_id),
        goals=unique(goal_states(), lambda g: g.goal.goal_id),
        journal=unique(journal, lambda e: e.entry_id, 3),
        commitments=unique(commitments, lambda c: c.commitment.commitment_id, 3),
        accompaniments=unique(accompaniments, lambda a: a.arrangement.arrangement_id, 2),
        ended_on=draw(st.none() | dates),
    )


@st.composite
def client_states(draw, max_episodes: int = 2):
    client_id = draw(ids)
    episode_ids = draw(st.lists(ids, min_size=1, max_size=max_episodes, unique=True))
    return ClientState(
        client_id=client_id,
        episodes=tuple(draw(episodes(client_id, e)) for e in episode_ids),
        version=1,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _slots(node, out):
    """Every (container, key) in a JSON document, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.append((node, index))
            _slots(value, out)
    return out


@st.composite
def mutated(draw, document):
    """``document`` (a JSON-ready dict, changed in place) with 1-3 values replaced by junk."""
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document, [])
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        container[key] = draw(json_values)
    return document
