"""Write the sample journeys in examples/journeys/ (run from the repository root).

The journeys are fictional: pseudonymous ids, no names, no free text about a
real person. `make demo` reads the files this writes; a test checks they are
current, so edit this script rather than the JSON lines.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    AccompanimentOutcome,
    CloseReason,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    GoalReviewOutcome,
    LiteracySupportKind,
    Obstacle,
)
from fama_core.events import event_to_json

OUT = Path(__file__).parent / "journeys"


def engaged_after_two_cycles() -> JourneyBuilder:
    b = JourneyBuilder("demo-c001", keyworker_id="kw-01", start=dt.date(2026, 3, 2))
    aa = b.meeting("Monday Lunchtime Newcomers", "aa")
    na = b.meeting("Thursday Just for Today", "na")
    b.open().session1().goal(GoalKind.READ_HANDOUTS).goal(GoalKind.CONSIDER_MEETINGS)
    b.session2(commit_to=aa).goal(GoalKind.ATTEND_NAMED_MEETING, meeting=aa)
    b.goal(GoalKind.BRING_JOURNAL).journal(aa)
    b.session3(reason="wants to try a different group first")
    b.session2(commit_to=na).goal(GoalKind.ATTEND_DIFFERENT_MEETING, meeting=na).journal(na)
    b.session3(commit_to=na).goal(GoalKind.SWAP_TELEPHONE_NUMBERS).journal(na, contacts=2)
    b.session3().engaged("na")
    return b


def declined_after_session_1() -> JourneyBuilder:
    b = JourneyBuilder("demo-c002", keyworker_id="kw-01", start=dt.date(2026, 3, 4))
    b.open().session1().goal(GoalKind.READ_HANDOUTS)
    b.declined()
    return b


def nervous_with_peer() -> JourneyBuilder:
    b = JourneyBuilder("demo-c003", keyworker_id="kw-02", start=dt.date(2026, 3, 9))
    smart = b.meeting("Wednesday Evening SMART", "smart")
    b.open().session1(literacy=LiteracySupportKind.GO_THROUGH_HANDOUTS_TOGETHER)
    b.goal(GoalKind.CONSIDER_MEETINGS)
    b.obstacle(Obstacle.EVERYONE_KNOWS_EACH_OTHER)
    b.session2(commit_to=smart, accompaniment=True).goal(
        GoalKind.ATTEND_NAMED_MEETING, meeting=smart
    )
    b.accompany("vol-07")
    arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement, AccompanimentOutcome.ACCOMPANIED).journal(smart)
    b.session3(commit_to=smart).goal(GoalKind.GET_ACTIVELY_INVOLVED).journal(smart, days_after=2)
    b.session3().engaged("smart")
    return b


def experienced_relapsed() -> JourneyBuilder:
    b = JourneyBuilder("demo-c004", keyworker_id="kw-02", start=dt.date(2026, 3, 11))
    aa = b.meeting("Friday Big Book Study", "aa")
    b.open().session1(
        experience=ExperienceLevel.LONG_HISTORY_THEN_RELAPSE, organisations=["aa"], commit_to=aa
    )
    b.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=aa)
    b.session2(
        commit_to=aa, review=CommitmentOutcome.NOT_ATTENDED, goals=GoalReviewOutcome.NOT_ACHIEVED
    )
    b.obstacle(Obstacle.OVERCONFIDENCE).goal(GoalKind.ATTEND_NAMED_MEETING, meeting=aa)
    b.journal(aa).session3(commit_to=aa).goal(GoalKind.SPEAK_ABOUT_SPONSORSHIP)
    return b


def transferred() -> JourneyBuilder:
    b = JourneyBuilder("demo-c005", keyworker_id="kw-03", start=dt.date(2026, 3, 16))
    b.open().session1().goal(GoalKind.READ_HANDOUTS)
    b.session2(reason="moving to another area next week")
    b.closed(CloseReason.TRANSFERRED)
    return b


JOURNEYS = [
    ("engaged-after-two-cycles", "engaged after two cycles", engaged_after_two_cycles),
    ("declined-after-session-1", "declined after session 1", declined_after_session_1),
    ("nervous-with-peer", "nervous client, peer accompaniment", nervous_with_peer),
    ("experienced-relapsed", "experienced client who relapsed", experienced_relapsed),
    ("transferred", "transferred to another service", transferred),
]


def render() -> dict[str, str]:
    """Every file of examples/journeys by name, as text."""
    files = {
        "journeys.json": json.dumps(
            [{"file": f"{name}.jsonl", "title": title} for name, title, _ in JOURNEYS], indent=2
        )
        + "\n"
    }
    for name, _, make in JOURNEYS:
        files[f"{name}.jsonl"] = "".join(event_to_json(e) + "\n" for e in make().events)
    return files


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, "utf-8")
    print(f"wrote {len(JOURNEYS)} journeys to {OUT}")
