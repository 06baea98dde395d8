"""A fictional area's caseload, generated: for the demo, the property tests and the benchmark.

Five sample journeys make a poor report (every count is below the suppression
threshold), so ``make demo`` adds a seeded, fictional caseload built with
:class:`~fama_core.builders.JourneyBuilder`. Each client follows one of a few
:class:`JourneyShape` templates, all valid under the workflow. Nothing here
describes a real person.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import StrEnum

from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome, CloseReason, CommitmentOutcome, Obstacle
from fama_core.events import Event

__all__ = ["JourneyShape", "JourneySpec", "area_caseload", "journey_events"]


class JourneyShape(StrEnum):
    """The journeys the generator knows, each ending in a known state."""

    CLOSED_BEFORE_SESSION_1 = "closed_before_session_1"
    INTRODUCED = "introduced"
    DECLINED_AFTER_SESSION_1 = "declined_after_session_1"
    COMMITTED = "committed"
    MISSED_THEN_DECLINED = "missed_then_declined"
    ENGAGED = "engaged"
    UNCOMMITTED_TRANSFERRED = "uncommitted_transferred"
    ATTENDED_THEN_CLOSED = "attended_then_closed"
    ATTENDED_STILL_GOING = "attended_still_going"


@dataclass(frozen=True, slots=True)
class JourneySpec:
    """One fictional client's journey: its shape and the choices along the way."""

    shape: JourneyShape
    gap_days: int = 7
    """Days between sessions."""
    keyworker: str = "kw-1"
    team: str | None = "team-a"
    start: dt.date = dt.date(2026, 1, 5)
    organisation: str = "aa"
    obstacles: tuple[Obstacle, ...] = ()
    accompaniment: AccompanimentOutcome | None = None
    """Arranged for the first commitment, with this outcome (shapes with a commitment)."""


_COMMITTING = {
    JourneyShape.COMMITTED,
    JourneyShape.MISSED_THEN_DECLINED,
    JourneyShape.ENGAGED,
    JourneyShape.ATTENDED_THEN_CLOSED,
    JourneyShape.ATTENDED_STILL_GOING,
}


def journey_events(client_id: str, spec: JourneySpec) -> list[Event]:
    """The events of one fictional journey, valid under the workflow."""
    b = JourneyBuilder(
        client_id,
        keyworker_id=spec.keyworker,
        team_id=spec.team,
        start=spec.start,
        gap_days=spec.gap_days,
    )
    b.open()
    if spec.shape is JourneyShape.CLOSED_BEFORE_SESSION_1:
        return b.closed(CloseReason.LOST_CONTACT).events
    b.session1()
    for obstacle in spec.obstacles:
        b.obstacle(obstacle, "agreed a plan" if obstacle is Obstacle.OTHER else None)
    if spec.shape is JourneyShape.INTRODUCED:
        return b.events
    if spec.shape is JourneyShape.DECLINED_AFTER_SESSION_1:
        return b.declined().events
    if spec.shape is JourneyShape.UNCOMMITTED_TRANSFERRED:
        return b.session2(reason="not ready").closed(CloseReason.TRANSFERRED).events
    meeting = b.meeting(f"{spec.organisation.upper()} group", spec.organisation)
    b.session2(commit_to=meeting, accompaniment=spec.accompaniment is not None)
    if spec.accompaniment is not None:
        b.accompany(meeting=meeting)
        arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
        b.accompaniment_outcome(arrangement, spec.accompaniment)
    if spec.shape is JourneyShape.COMMITTED:
        return b.events
    if spec.shape is JourneyShape.MISSED_THEN_DECLINED:
        return b.session3(review=CommitmentOutcome.NOT_ATTENDED).declined().events
    b.journal(meeting)
    if spec.shape is JourneyShape.ATTENDED_THEN_CLOSED:
        return b.session3(review=CommitmentOutcome.ATTENDED).closed().events
    if spec.shape is JourneyShape.ATTENDED_STILL_GOING:
        return b.session3(review=CommitmentOutcome.ATTENDED, commit_to=meeting).events
    # Engaged by the guide's measure (fama_core.engagement): a second cycle, with
    # a further meeting where numbers were swapped, before the second review.
    b.session3(review=CommitmentOutcome.ATTENDED, commit_to=meeting)
    b.journal(meeting).journal(meeting, days_after=5, contacts=1)
    return b.session3(review=CommitmentOutcome.ATTENDED).engaged(spec.organisation).events


_ORGS = ("aa", "aa", "aa", "na", "na", "smart", "smart", "ca", "al-anon")
_SHAPES = (
    *[JourneyShape.ENGAGED] * 5,
    *[JourneyShape.COMMITTED] * 3,
    *[JourneyShape.INTRODUCED] * 3,
    *[JourneyShape.DECLINED_AFTER_SESSION_1] * 3,
    *[JourneyShape.MISSED_THEN_DECLINED] * 2,
    *[JourneyShape.UNCOMMITTED_TRANSFERRED] * 2,
    *[JourneyShape.ATTENDED_THEN_CLOSED] * 2,
    *[JourneyShape.ATTENDED_STILL_GOING] * 2,
    JourneyShape.CLOSED_BEFORE_SESSION_1,
)
_OBSTACLES = (
    Obstacle.GETTING_THERE,
    Obstacle.GETTING_THERE,
    Obstacle.EVERYONE_KNOWS_EACH_OTHER,
    Obstacle.TOO_MUCH_TALK_OF_GOD,
    Obstacle.NEGOTIATING_TIME,
    Obstacle.HOW_TO_INTRODUCE_MYSELF,
    Obstacle.NOT_LIKE_THESE_PEOPLE,
)
_KEYWORKERS = {
    "kw-01": "north",
    "kw-02": "north",
    "kw-03": "north",
    "kw-04": "south",
    "kw-05": "south",
    "kw-06": "south",
    "kw-07": "young-people",
}


def area_caseload(
    clients: int = 240, *, seed: int = 2026, start: dt.date = dt.date(2026, 1, 5), months: int = 6
) -> dict[str, list[Event]]:
    """``clients`` fictional journeys (client id → events), the same for the same seed."""
    rng = random.Random(seed)
    keyworkers = list(_KEYWORKERS)
    out: dict[str, list[Event]] = {}
    for n in range(1, clients + 1):
        shape = rng.choice(_SHAPES)
        kw = rng.choice(keyworkers)
        obstacles = tuple(sorted(set(rng.sample(_OBSTACLES, k=rng.choice((0, 0, 1, 2))))))
        accompaniment = None
        if shape in _COMMITTING and rng.random() < 0.2:
            accompaniment = rng.choice(
                (
                    AccompanimentOutcome.ACCOMPANIED,
                    AccompanimentOutcome.ACCOMPANIED,
                    AccompanimentOutcome.CLIENT_DID_NOT_ATTEND,
                )
            )
        spec = JourneySpec(
            shape=shape,
            keyworker=kw,
            team=_KEYWORKERS[kw],
            start=start + dt.timedelta(days=rng.randrange(months * 29)),
            gap_days=rng.choice((7, 7, 7, 14, 21)),
            organisation=rng.choice(_ORGS),
            obstacles=obstacles,
            accompaniment=accompaniment,
        )
        client_id = f"area-{n:04d}"
        out[client_id] = journey_events(client_id, spec)
    return out
