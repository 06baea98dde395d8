"""How the frozen corpus in this folder was made (run once, 2026-11-30, on fama 0.1.0 before
event schema versions existed). Kept as provenance: it refuses to overwrite the corpus, which
must never change. Run it only to make a *new* corpus under new names.

Writes ``events-2026-11.jsonl`` (every event kind, three clients whose journeys are valid under
the workflow of that day and under the stricter session-order and engagement rules that followed
it), ``expected-states-2026-11.json`` (each client's folded state, as JSON) and
``../store/fixtures/store-layout-1.db`` (a SQLite store written by that day's store code).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    AccompanimentOutcome,
    CloseReason,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    GoalStatus,
    LiteracySupportKind,
    Obstacle,
    VolunteerKind,
)
from fama_core.events import GoalUpdated, event_from_mapping, event_to_json
from fama_core.state import STATE_ADAPTER
from fama_core.workflow import fold

HERE = Path(__file__).parent
EVENTS = HERE / "events-2026-11.jsonl"
STATES = HERE / "expected-states-2026-11.json"
STORE = HERE.parent / "store" / "fixtures" / "store-layout-1.db"


def engaged() -> JourneyBuilder:
    b = JourneyBuilder("corpus-engaged", keyworker_id="kw-31", start=dt.date(2026, 2, 2))
    monday = b.meeting("Monday Lunchtime Newcomers", "aa")
    smart = b.meeting("SMART Thursday Evening", "smart")
    b.open().session1(
        experience=ExperienceLevel.SOME,
        organisations=["aa"],
        commit_to=monday,
        literacy=LiteracySupportKind.GO_THROUGH_HANDOUTS_TOGETHER,
    )
    b.goal(GoalKind.READ_HANDOUTS)
    b.goal(GoalKind.CONSIDER_MEETINGS, status=GoalStatus.PROPOSED)
    b.session2(commit_to=monday, accompaniment=True)
    b.agree_goal("corpus-engaged-ep1-g4")
    b.accompany("vol-9", kind=VolunteerKind.RECOVERY_CHAMPION, meeting=monday)
    b.accompaniment_outcome("corpus-engaged-ep1-a7", AccompanimentOutcome.ACCOMPANIED)
    b.journal(monday, days_after=3)
    b.obstacle(Obstacle.HOW_TO_INTRODUCE_MYSELF, "practise a first sentence together")
    b.session3(reason="wants to try a SMART meeting before choosing")
    b.goal(GoalKind.GET_ACTIVELY_INVOLVED, description="help set out the chairs")
    b.session2(commit_to=smart)
    b.journal(smart, days_after=2, contacts=2)
    b.journal(monday, days_after=5)
    b.session3(commit_to=smart)
    b.journal(smart, days_after=3, contacts=1)
    b.engaged("smart")
    return b


def declined() -> JourneyBuilder:
    b = JourneyBuilder("corpus-declined", keyworker_id="kw-32", start=dt.date(2026, 2, 9))
    b.open().session1(experience=ExperienceLevel.NONE)
    b.goal(GoalKind.READ_HANDOUTS)
    b.session2(reason="not ready while moving house", goals=GoalReviewOutcome.NOT_ACHIEVED)
    b.obstacle(Obstacle.TOO_MUCH_TALK_OF_GOD, "SMART Recovery is secular")
    b.declined("does not want to attend at this time")
    b.open(days_later=60).session1(experience=ExperienceLevel.NOT_ASKED)
    b.closed(CloseReason.TREATMENT_ENDED)
    return b


def transferred() -> JourneyBuilder:
    b = JourneyBuilder(
        "corpus-transferred", keyworker_id="kw-33", team_id=None, start=dt.date(2026, 3, 2)
    )
    na = b.meeting("Wednesday Hope Group", "na")
    b.open().session1(
        experience=ExperienceLevel.LONG_HISTORY_THEN_RELAPSE, organisations=["na"], commit_to=na
    )
    b.session2(review=CommitmentOutcome.NOT_ATTENDED, commit_to=na, accompaniment=True)
    b.accompany("vol-4", kind=VolunteerKind.GROUP_MEMBER, meeting=na)
    b.accompaniment_outcome("corpus-transferred-ep1-a4", AccompanimentOutcome.CLIENT_DID_NOT_ATTEND)
    b.goal(GoalKind.SWAP_TELEPHONE_NUMBERS, status=GoalStatus.PROPOSED)
    base = b._base()
    b.add(GoalUpdated(**base, goal_id="corpus-transferred-ep1-g6", status=GoalStatus.WITHDRAWN))
    b.session3(review=CommitmentOutcome.NOT_ATTENDED, reason="moving to another service")
    b.journal(na, attended=False, days_after=1)
    b.closed(CloseReason.TRANSFERRED)
    return b


def _enrich(d: dict[str, Any]) -> dict[str, Any]:
    """Fill the free-text and optional fields the builder leaves empty, so the corpus has them."""
    kind = d["kind"]
    if kind.startswith("session_"):
        d["steps"][0]["note"] = "went through it slowly"
    if kind == "session_1_held":
        d["past_experience"]["note"] = "went to a group years ago"
        if d.get("literacy_support"):
            d["literacy_support"]["note"] = "prefers to be read to"
    if kind in ("session_2_held", "session_3_held"):
        if d.get("commitment_review"):
            d["commitment_review"]["note"] = "journal brought along"
        for review in d.get("goal_reviews", []):
            review["note"] = "talked it through"
        if d.get("commitment"):
            d["commitment"]["meeting"]["meeting_id"] = "mtg-17"
            d["commitment"]["meeting"]["attendance_mode"] = "in_person"
    if kind == "journal_entry_recorded" and d["entry"]["attended"]:
        d["entry"]["reactions"] = "nervous at first, then welcomed"
        d["entry"]["benefits"] = ["people who understand"]
        d["entry"]["disadvantages"] = ["long bus ride"]
    if kind == "goal_updated":
        d["note"] = "client changed mind"
    if kind == "accompaniment_concluded":
        d["result"]["note"] = "met at the door"
    if kind == "engagement_confirmed":
        d["note"] = "attends weekly and sets out the chairs"
    if kind == "episode_closed":
        d["note"] = "handed over with the journal"
    return d


def main() -> int:
    if EVENTS.exists() or STATES.exists() or STORE.exists():
        print("the corpus exists and is frozen: make a new one under new names", file=sys.stderr)
        return 1
    lines: list[str] = []
    states: dict[str, Any] = {}
    events_by_client = {}
    for journey in (engaged(), declined(), transferred()):
        events = [event_from_mapping(_enrich(json.loads(event_to_json(e)))) for e in journey.events]
        state = fold(events)
        states[journey.client_id] = STATE_ADAPTER.dump_python(state, mode="json")
        lines.extend(event_to_json(e) for e in events)
        events_by_client[journey.client_id] = events
    kinds = {json.loads(line)["kind"] for line in lines}
    from fama_core.events import EVENT_KINDS

    assert kinds == set(EVENT_KINDS), set(EVENT_KINDS) - kinds
    EVENTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    STATES.write_text(json.dumps(states, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    from fama_adapters.facade import Fama

    STORE.parent.mkdir(parents=True, exist_ok=True)
    with Fama.open(f"sqlite:///{STORE}", create=True) as fama:
        for events in events_by_client.values():
            fama.record(events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
