"""The hand-checked caseload: ten fictional clients whose every figure is worked out by hand.

Dates follow JourneyBuilder's rules: session 1 on the start day, each later
session ``gap`` days after the one before, a commitment's meeting and its
journal entry three days after the session that made it. An engaged client
meets the default engagement criterion: a second session 3 reviews a second
kept commitment, with one more meeting (numbers swapped) five days after the
first session 3.

====  ====  =====  ==========  ===========================  ======  ===  ========================
id    kw    team   session 1   journey                      org     gap  notes
====  ====  =====  ==========  ===========================  ======  ===  ========================
c01   kw-a  north  2026-01-05  commit 01-12, met 01-15,      aa      7    getting there; accompanied
                               01-22, 01-24; engaged 01-26
c02   kw-a  north  2026-01-12  commit 01-26, met 01-29,      na      14   getting there, God
                               02-12, 02-14; engaged 02-23
c03   kw-b  north  2026-01-20  commit 01-27, in progress     aa      7    accompaniment, no-show
c04   kw-b  north  2026-02-02  declined after session 1      -       -    not like these people
c05   kw-c  south  2026-02-10  introduced, in progress       -       -    getting there
c06   kw-c  south  2026-02-16  commit 02-23, missed, declined smart  7
c07   kw-c  south  2026-03-02  commit 03-23, met 03-26,      smart   21
                               closed 04-13
c08   kw-a  -      2026-03-09  no commitment, transferred    -       7
c09   kw-a  north  -           closed before session 1       -       -    not counted
c10   kw-b  north  2026-02-06  (declined 2026-01-07, then    -       -    counted once, latest
                               a new episode) in progress
====  ====  =====  ==========  ===========================  ======  ===  ========================
"""

from __future__ import annotations

import datetime as dt

from fama_adapters.report.sample import JourneyShape as S
from fama_adapters.report.sample import JourneySpec, journey_events
from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome as A
from fama_core.codes import Obstacle as O
from fama_core.state import ClientState
from fama_core.workflow import fold

D = dt.date


def _spec(shape, kw, team, start, org="aa", gap=7, obstacles=(), acc=None) -> JourneySpec:
    return JourneySpec(
        shape=shape,
        keyworker=kw,
        team=team,
        start=start,
        organisation=org,
        gap_days=gap,
        obstacles=tuple(obstacles),
        accompaniment=acc,
    )


SPECS = {
    "c01": _spec(
        S.ENGAGED, "kw-a", "north", D(2026, 1, 5), "aa", 7, [O.GETTING_THERE], A.ACCOMPANIED
    ),
    "c02": _spec(
        S.ENGAGED,
        "kw-a",
        "north",
        D(2026, 1, 12),
        "na",
        14,
        [O.GETTING_THERE, O.TOO_MUCH_TALK_OF_GOD],
    ),
    "c03": _spec(
        S.COMMITTED, "kw-b", "north", D(2026, 1, 20), "aa", 7, acc=A.CLIENT_DID_NOT_ATTEND
    ),
    "c04": _spec(
        S.DECLINED_AFTER_SESSION_1,
        "kw-b",
        "north",
        D(2026, 2, 2),
        obstacles=[O.NOT_LIKE_THESE_PEOPLE],
    ),
    "c05": _spec(S.INTRODUCED, "kw-c", "south", D(2026, 2, 10), obstacles=[O.GETTING_THERE]),
    "c06": _spec(S.MISSED_THEN_DECLINED, "kw-c", "south", D(2026, 2, 16), "smart", 7),
    "c07": _spec(S.ATTENDED_THEN_CLOSED, "kw-c", "south", D(2026, 3, 2), "smart", 21),
    "c08": _spec(S.UNCOMMITTED_TRANSFERRED, "kw-a", None, D(2026, 3, 9)),
    "c09": _spec(S.CLOSED_BEFORE_SESSION_1, "kw-a", "north", D(2026, 3, 10)),
}


def _two_episodes() -> list:
    b = JourneyBuilder("c10", keyworker_id="kw-b", team_id="north", start=D(2026, 1, 7))
    b.open().session1().declined()
    b.open(days_later=30).session1()
    return b.events


def hand_checked_events() -> dict[str, list]:
    """Client id → events of the hand-checked caseload."""
    events = {cid: journey_events(cid, spec) for cid, spec in SPECS.items()}
    events["c10"] = _two_episodes()
    return events


def hand_checked_caseload() -> list[ClientState]:
    """The hand-checked caseload, folded."""
    return [fold(e) for e in hand_checked_events().values()]
