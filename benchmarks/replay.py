"""Replay benchmark: fold FAMA event logs in memory and from JSON lines.

Folds N synthetic episodes (about ten events each, five journey shapes) with
``fama_core.workflow.fold`` and drives the same journeys through a
``python-statemachine`` machine with the same states and transitions, in the
same run, printing episodes per second and the ratio. The fold is timed twice:
keeping every client's state in memory (as a host caching all states would) and
streaming (fold a client, use it, let it go, as an export does). A last figure
decodes the same log from JSON lines and folds it, streaming.

The baseline checks only that each event is allowed in the current state and
which branch a session takes (commitment or not); it keeps the same records
(sessions, goals, journal …) in its callbacks. fama also checks every guard,
so the ratio understates the difference in work.

Usage: python benchmarks/replay.py [--episodes 100000] [--baseline-episodes 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from collections.abc import Callable, Sequence
from typing import Any

from statemachine import State, StateMachine

from fama_core.builders import JourneyBuilder
from fama_core.codes import CommitmentOutcome, GoalKind, Obstacle
from fama_core.events import Event, event_from_json, event_to_json
from fama_core.workflow import fold


def _templates() -> list[list[Event]]:
    """Five journey shapes of 7-12 events, like the demo's."""
    out = []
    b = JourneyBuilder("tpl", start=dt.date(2026, 1, 5))
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    b.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=m).journal(m)
    b.session3(commit_to=m).journal(m).session3().engaged()
    out.append(b.events)
    b = JourneyBuilder("tpl", start=dt.date(2026, 1, 5))
    b.open().session1().goal(GoalKind.READ_HANDOUTS).obstacle(Obstacle.GETTING_THERE)
    b.session2(reason="not ready").session2(commit_to=m).session3(
        review=CommitmentOutcome.NOT_ATTENDED, reason="thinking"
    )
    b.declined()
    out.append(b.events)
    b = JourneyBuilder("tpl", start=dt.date(2026, 1, 5))
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement).journal(m).session3(commit_to=m).journal(m)
    b.session3().engaged()
    out.append(b.events)
    b = JourneyBuilder("tpl", start=dt.date(2026, 1, 5))
    b.open().session1(commit_to=m).goal(GoalKind.ATTEND_NAMED_MEETING, meeting=m)
    b.session2(commit_to=m).obstacle(Obstacle.OVERCONFIDENCE).journal(m)
    b.session3(commit_to=m).goal(GoalKind.SPEAK_ABOUT_SPONSORSHIP).journal(m)
    b.session3(reason="review next month")
    out.append(b.events)
    b = JourneyBuilder("tpl", start=dt.date(2026, 1, 5))
    b.open().session1().goal(GoalKind.CONSIDER_MEETINGS).session2(reason="moving").closed()
    b.open(days_later=40).session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    out.append(b.events)
    return out


def synthetic_log(episodes: int) -> list[list[Event]]:
    """``episodes`` distinct clients' event lists, cloned from the templates."""
    templates = _templates()
    log = []
    for i in range(episodes):
        client = f"c{i:07d}"
        log.append(
            [e.model_copy(update={"client_id": client}) for e in templates[i % len(templates)]]
        )
    return log


def json_lines(log: Sequence[Sequence[Event]]) -> list[list[str]]:
    """The same log encoded as one JSON line per event."""
    return [[event_to_json(e) for e in events] for events in log]


# ------------------------------------------------------------------ baseline


class FamaMachine(StateMachine):  # type: ignore[misc]
    """The FAMA workflow's states and transitions in python-statemachine."""

    none = State(initial=True)
    opened = State()
    introduced = State()
    committed = State()
    uncommitted = State()
    engaged = State()
    declined = State()
    closed = State()

    episode_opened = none.to(opened) | engaged.to(opened) | declined.to(opened) | closed.to(opened)
    session_1_held = opened.to(committed, cond="commitment_made") | opened.to(introduced)
    session_2_held = (
        introduced.to(committed, cond="commitment_made")
        | committed.to(committed, cond="commitment_made")
        | uncommitted.to(committed, cond="commitment_made")
        | introduced.to(uncommitted)
        | committed.to(uncommitted)
        | uncommitted.to(uncommitted)
    )
    session_3_held = committed.to(committed, cond="commitment_made") | committed.to(uncommitted)
    goal_set = introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    goal_updated = introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    journal_entry_recorded = (
        introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    )
    obstacle_raised = introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    accompaniment_arranged = (
        introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    )
    accompaniment_concluded = (
        introduced.to.itself() | committed.to.itself() | uncommitted.to.itself()
    )
    engagement_confirmed = committed.to(engaged) | uncommitted.to(engaged)
    client_declined = introduced.to(declined) | committed.to(declined) | uncommitted.to(declined)
    episode_closed = (
        opened.to(closed) | introduced.to(closed) | committed.to(closed) | uncommitted.to(closed)
    )

    def __init__(self) -> None:
        self.records: dict[str, list[Any]] = {}
        super().__init__()

    def commitment_made(self, payload: Event) -> bool:
        return getattr(payload, "commitment", None) is not None

    def after_transition(self, payload: Event) -> None:
        # Keep the record as fama does (sessions, goals, journal … by kind).
        self.records.setdefault(payload.kind, []).append(payload)


def drive_baseline(log: Sequence[Sequence[Event]]) -> int:
    """Send every event of every episode through a fresh machine; returns final states seen."""
    finals = 0
    for events in log:
        machine = FamaMachine()
        for e in events:
            machine.send(e.kind, payload=e)
        finals += machine.current_state_value in ("engaged", "declined", "closed")
    return finals


# ------------------------------------------------------------------ timing


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    # Objects built before the timer (the input log) are moved out of the
    # collector's sight, as they would be old data in a long-running host; the
    # garbage collector stays on for what the timed code allocates.
    gc.collect()
    gc.freeze()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--baseline-episodes", type=int, default=5_000)
    args = parser.parse_args()

    gen_s, log = timed(lambda: synthetic_log(args.episodes))
    events = sum(len(e) for e in log)
    print(f"log: {args.episodes:,} episodes, {events:,} events (built in {gen_s:.1f}s)")

    fold_s, states = timed(lambda: [fold(episode) for episode in log])
    fold_rate = args.episodes / fold_s

    def fold_streaming() -> list[str]:
        # As an export or a report would: fold a client, use it, let it go.
        return [fold(episode).status for episode in log]

    stream_s, statuses = timed(fold_streaming)
    assert statuses == [s.status for s in states]
    stream_rate = args.episodes / stream_s

    sample = log[: args.baseline_episodes]
    base_s, base_finals = timed(lambda: drive_baseline(sample))
    base_rate = len(sample) / base_s
    fama_finals = sum(s.status.is_final for s in states[: len(sample)])
    assert fama_finals == base_finals, "baseline and fama must agree on final states"

    lines = json_lines(log)

    def decode_and_fold() -> list[tuple[str, int]]:
        # Streaming, as an export or a replay would: keep each client's outcome only.
        out = []
        for episode in lines:
            state = fold([event_from_json(line) for line in episode])
            out.append((state.status, state.version))
        return out

    decode_s, decoded = timed(decode_and_fold)
    assert decoded == [(s.status, s.version) for s in states], "JSON lines must fold the same"
    decode_rate = args.episodes / decode_s

    print(
        f"fama fold, keeping every state: {fold_rate:>10,.0f} episodes/s "
        f"({fold_s:.2f}s, {fold_s / events * 1e6:.2f} µs/event)"
    )
    print(
        f"fama fold, streaming:           {stream_rate:>10,.0f} episodes/s "
        f"({stream_s:.2f}s, {stream_s / events * 1e6:.2f} µs/event)"
    )
    print(
        f"python-statemachine (same run): {base_rate:>10,.0f} episodes/s "
        f"({len(sample):,} episodes in {base_s:.2f}s)"
    )
    print(f"ratio fold (kept) / baseline:   {fold_rate / base_rate:>10.1f}x")
    print(f"ratio fold (streaming) / base:  {stream_rate / base_rate:>10.1f}x")
    print(f"fama decode JSON lines + fold:  {decode_rate:>10,.0f} episodes/s ({decode_s:.2f}s)")
    print(f"ratio decode+fold / baseline:   {decode_rate / base_rate:>10.1f}x")


if __name__ == "__main__":
    main()
