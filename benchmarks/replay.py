"""Replay benchmark: fold FAMA logs in memory and from JSON lines, against python-statemachine.

Folds N synthetic episodes of exactly ten events each (five journey shapes that
follow the guide: engaged on the default engagement criterion, declined,
accompanied then engaged, an experienced client still attending, closed then
reopened) with ``fama_core.workflow.fold``. The fold is timed keeping every
client's state in memory (as a host caching all states would) and streaming
(fold a client, use it, let it go, as an export does); a last figure decodes
the same log from JSON lines and folds it, streaming, and ``json.loads`` alone
over the same lines shows what the standard library's parser pays, building
plain dicts and checking nothing.

Decoding alone, against its floors over the same lines and kind by kind, is
``benchmarks/decode.py``; replaying the same episodes from the SQLite store is
``benchmarks/store_replay.py`` (each kept apart so every benchmark runs in under
a minute).

The peer doing decode + fold's work is timed too: the faster python-statemachine,
fed the same JSON lines decoded by fama's own decoder (the fastest validating
decoder of these events), so both sides pay the same for decoding.

Baseline, in the same run: the same journeys driven through a
``python-statemachine`` machine with the same states, transitions and the
rules this issue added (after session 1 comes session 2; a session-1
commitment needs experience; engagement needs the default criterion's
evidence, kept in the machine's own records). Both python-statemachine 2.x and
3.x are installed into throw-away directories (``pip install --target``, from
the package index) and each is run in its own process on the same sample;
the faster is the baseline. Each episode's final state from the baseline is
compared with fama's, episode by episode, before any figure is printed.

fama checks more than the baseline (unique ids, goal reviews, the coming-week
window, dates in order …), so the ratio understates the difference in work.

Every figure is CPU time of the process that measures it (the baseline's
child included), best of :data:`RUNS` runs: the machine is shared, and CPU
time is what another job's load disturbs least.

Usage: python benchmarks/replay.py [--episodes 20000] [--baseline-episodes 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fama_core.builders import JourneyBuilder
from fama_core.codes import CommitmentOutcome, ExperienceLevel, GoalKind, Obstacle
from fama_core.engagement import DEFAULT_ENGAGEMENT
from fama_core.events import Event, event_from_json, event_to_json
from fama_core.state import STATE_ADAPTER, ClientState
from fama_core.workflow import fold

EVENTS_PER_EPISODE = 10
RUNS = 2
"""Each figure, fama's and the baseline's alike, is the best of this many runs."""
BASELINES = ("python-statemachine>=2.6,<3", "python-statemachine>=3.2,<4")


def _templates() -> list[list[Event]]:
    """Five journey shapes of exactly ten events each, valid under today's rules."""
    out = []
    day = dt.date(2026, 1, 5)
    b = JourneyBuilder("tpl", start=day)
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    b.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=m).session3(commit_to=m)
    b.journal(m, days_after=5, contacts=1).journal(m, days_after=6).session3()
    out.append(b.engaged(complete=False).events)
    b = JourneyBuilder("tpl", start=day)
    b.open().session1().goal(GoalKind.READ_HANDOUTS).obstacle(Obstacle.GETTING_THERE)
    b.session2(reason="not ready").session2(commit_to=m).obstacle(Obstacle.MAKING_TIME)
    b.session3(review=CommitmentOutcome.NOT_ATTENDED, reason="thinking")
    b.journal(m, attended=False, days_after=-1).declined()
    out.append(b.events)
    b = JourneyBuilder("tpl", start=day)
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement).journal(m).session3(commit_to=m)
    b.journal(m, days_after=5, contacts=2).session3()
    out.append(b.engaged(complete=False).events)
    b = JourneyBuilder("tpl", start=day)
    b.open().session1(experience=ExperienceLevel.LONG_HISTORY_THEN_RELAPSE, commit_to=m)
    b.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=m).session2(commit_to=m)
    b.obstacle(Obstacle.OVERCONFIDENCE).journal(m).session3(commit_to=m)
    b.goal(GoalKind.SPEAK_ABOUT_SPONSORSHIP).journal(m).session3(reason="review next month")
    out.append(b.events)
    b = JourneyBuilder("tpl", start=day)
    b.open().session1().goal(GoalKind.CONSIDER_MEETINGS).session2(reason="moving").closed()
    b.open(days_later=40).session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m).journal(m)
    out.append(b.events)
    for events in out:
        assert len(events) == EVENTS_PER_EPISODE, len(events)
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


def final_record(state: ClientState) -> list[Any]:
    """What each final state is compared with the baseline's on: the status, the current
    episode's session stages and commitment outcomes, and the number of events applied."""
    current = state.current
    assert current is not None
    return [
        str(state.status),
        [s.stage.value for s in current.sessions],
        [c.outcome.value if c.outcome is not None else None for c in current.commitments],
        len(state.applied),
    ]


def as_shape(state: ClientState) -> Any:
    """A state's JSON form without its client id (what episodes of one shape share)."""
    data = STATE_ADAPTER.dump_python(state, mode="json")
    data["client_id"] = None
    for episode in data["episodes"]:
        episode["client_id"] = None
    return data


def json_lines(log: Sequence[Sequence[Event]]) -> list[list[str]]:
    """The same log encoded as one JSON line per event."""
    return [[event_to_json(e) for e in events] for events in log]


# ------------------------------------------------------------------ baseline


def _baseline_machine() -> Any:
    """The FAMA workflow in python-statemachine (imported here: it runs in its own process)."""
    from statemachine import State, StateMachine

    criterion = DEFAULT_ENGAGEMENT
    experienced = {"some", "long_history_then_relapse"}

    class FamaMachine(StateMachine):  # type: ignore[misc]
        none = State(initial=True)
        opened = State()
        introduced = State()
        committed = State()
        uncommitted = State()
        engaged = State()
        declined = State()
        closed = State()

        episode_opened = (
            none.to(opened) | engaged.to(opened) | declined.to(opened) | closed.to(opened)
        )
        session_1_held = opened.to(committed, cond=["commitment_made", "experienced"]) | opened.to(
            introduced, unless="commitment_made"
        )
        session_2_held = (
            introduced.to(committed, cond="commitment_made")
            | committed.to(committed, cond="commitment_made")
            | uncommitted.to(committed, cond="commitment_made")
            | introduced.to(uncommitted)
            | committed.to(uncommitted)
            | uncommitted.to(uncommitted)
        )
        session_3_held = committed.to(
            committed, cond=["commitment_made", "after_session_2_or_3"]
        ) | committed.to(uncommitted, cond="after_session_2_or_3")
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
        engagement_confirmed = committed.to(engaged, cond="engagement_met") | uncommitted.to(
            engaged, cond="engagement_met"
        )
        client_declined = (
            introduced.to(declined) | committed.to(declined) | uncommitted.to(declined)
        )
        episode_closed = (
            opened.to(closed)
            | introduced.to(closed)
            | committed.to(closed)
            | uncommitted.to(closed)
        )

        def __init__(self) -> None:
            self.records: dict[str, list[Any]] = {}
            self.stages: list[tuple[str, dt.date]] = []
            self.commitments: dict[str, list[Any]] = {}  # id -> [planned, outcome, reviewed_in]
            self.outstanding: str | None = None
            self.journal: list[Any] = []
            super().__init__()

        # conditions: the same rules as fama's guards of issue 10
        def commitment_made(self, payload: Any) -> bool:
            return getattr(payload, "commitment", None) is not None

        def experienced(self, payload: Any) -> bool:
            return payload.past_experience.level.value in experienced

        def after_session_2_or_3(self, payload: Any) -> bool:
            return bool(self.stages) and self.stages[-1][0] != "1"

        def engagement_met(self, payload: Any) -> bool:
            as_of = payload.occurred_on
            dates = {j.date for j in self.journal if j.attended and j.date <= as_of}
            kept_at = set()
            for planned, outcome, reviewed_in in self.commitments.values():
                if outcome == "attended":
                    if planned <= as_of:
                        dates.add(planned)
                    kept_at.add(reviewed_in)
            journal_dates = [j.date for j in self.journal if j.attended and j.date <= as_of]
            reviews, previous = 0, None
            for number, (stage, held_on) in enumerate(self.stages, start=1):
                if stage == "3" and (
                    number in kept_at
                    or any(
                        (previous is None or previous < d) and d <= held_on for d in journal_dates
                    )
                ):
                    reviews += 1
                previous = held_on
            signs = {
                "swapped_numbers"
                for j in self.journal
                if j.attended and j.date <= as_of and j.contacts_made
            }
            return (
                len(dates) >= criterion.min_attended_dates
                and reviews >= criterion.min_reviews_with_attendance
                and len(signs) >= criterion.min_involvement_signs
            )

        def final_record(self) -> list[Any]:
            """The state, the current episode's session stages and commitment outcomes, the
            number of events recorded: what fama's final state is compared on."""
            return [
                self.current_state.id,
                [stage for stage, _ in self.stages],
                [outcome for _, outcome, _ in self.commitments.values()],
                sum(len(r) for r in self.records.values()),
            ]

        # the record, as fama keeps it
        def after_transition(self, event: str, payload: Any) -> None:
            self.records.setdefault(event, []).append(payload)
            if event == "episode_opened":
                self.stages, self.commitments, self.outstanding, self.journal = [], {}, None, []
            elif event.startswith("session_"):
                review = getattr(payload, "commitment_review", None)
                if review is not None and self.outstanding is not None:
                    self.commitments[self.outstanding][1] = review.outcome.value
                    self.commitments[self.outstanding][2] = len(self.stages) + 1
                    self.outstanding = None
                self.stages.append((event[8], payload.occurred_on))
                c = payload.commitment
                if c is not None:
                    self.commitments[c.commitment_id] = [c.planned_date, None, None]
                    self.outstanding = c.commitment_id
            elif event == "journal_entry_recorded":
                self.journal.append(payload.entry)

    return FamaMachine


def run_baseline(episodes: int) -> None:
    """In a child process: drive the sample through python-statemachine; print JSON results."""
    from importlib.metadata import version

    log = synthetic_log(episodes)
    machine_class = _baseline_machine()

    def drive() -> list[Any]:
        finals = []
        for events in log:
            machine = machine_class()
            for e in events:
                machine.send(e.kind, payload=e)
            finals.append(machine.current_state.id)
        return finals

    def record(events: list[Event]) -> list[Any]:
        # Out of the timing: the machine's own record of the episode, as compared with fama's.
        machine = machine_class()
        for e in events:
            machine.send(e.kind, payload=e)
        return machine.final_record()

    # Best of two: the first run also warms class construction and first-call caches up.
    seconds, states = timed(drive, runs=RUNS)
    finals = [record(events) for events in log]
    assert [f[0] for f in finals] == states
    result = {"version": version("python-statemachine"), "seconds": seconds, "finals": finals}
    print(json.dumps(result))


def run_baseline_decoding(episodes: int) -> None:
    """In a child process: decode the sample's JSON lines and drive each episode through
    python-statemachine; print JSON results.

    The peer doing decode + fold's work: it reads the same lines. It decodes them with
    fama's own decoder (``event_from_json``), the fastest validating decoder of these
    events there is, so both sides pay the same for decoding and the ratio is the fold's
    difference, diluted by it (never flattered: a slower decoder would flatter fama).
    """
    from importlib.metadata import version

    lines = json_lines(synthetic_log(episodes))
    machine_class = _baseline_machine()

    def decode_and_drive() -> list[str]:
        finals = []
        for episode in lines:
            machine = machine_class()
            for line in episode:
                event = event_from_json(line)
                machine.send(event.kind, payload=event)
            finals.append(machine.current_state.id)
        return finals

    seconds, finals = timed(decode_and_drive, runs=RUNS)
    result = {"version": version("python-statemachine"), "seconds": seconds, "finals": finals}
    print(json.dumps(result))


def baseline_in(
    spec: str, episodes: int, cache: Path, *, flag: str = "--run-baseline"
) -> dict[str, Any]:
    """Install ``spec`` into its own directory and run the baseline there, in a new process
    (``flag`` says which: the baseline itself, or the peer decoding the same lines too)."""
    target = cache / spec.replace(">", "").replace("<", "-").replace("=", "").replace(",", "_")
    if not target.is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), spec],
            check=True,
        )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, __file__, flag, str(episodes)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return dict(json.loads(out.splitlines()[-1]))


# ------------------------------------------------------------------ timing


def timed(fn: Callable[[], Any], runs: int = 1) -> tuple[float, Any]:
    """The least CPU time of ``runs`` calls of ``fn`` (this process's, so other jobs on a shared
    machine weigh less than on a wall clock), and the last call's result."""
    best, result = float("inf"), None
    for _ in range(runs):
        result = None  # the previous run's output is not kept alive during the next
        # Objects built before the timer (the input log) are moved out of the
        # collector's sight, as they would be old data in a long-running host; the
        # garbage collector stays on for what the timed code allocates. Every run starts
        # from the same collector: a full collection that counts the old data, then the
        # freeze. (Without the unfreeze, a second run's collection counted only what the
        # first run's freeze had left, so its first full collection came four times as
        # soon: keeping every state, 4 full collections instead of 3 and 0.2-0.3 µs/event
        # more in runs 2 and later.)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def collector_share(fn: Callable[[], Any]) -> tuple[float, float, list[int], float]:
    """One more run of ``fn``, as :func:`timed` runs it, with the garbage collector's passes
    timed through ``gc.callbacks``: CPU seconds in all, in collection, the collections of
    each generation (young, middle, full), and the collector's net allocations per item of
    ``fn``'s result (objects it tracks or may track, made and still alive)."""
    spent = [0.0]
    collections = [0, 0, 0]
    started = [0.0]

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent[0] += time.process_time() - started[0]
            collections[info["generation"]] += 1

    result: Any = None
    gc.unfreeze()  # the same collector as every run of timed()
    gc.collect()
    gc.freeze()
    allocations = 0
    gc.callbacks.append(on_collection)
    try:
        start = time.process_time()
        result = fn()
        total = time.process_time() - start
    finally:
        gc.callbacks.remove(on_collection)
    # The net count since the last collection, plus what each collection took in.
    gc.disable()
    try:
        before = gc.get_count()[0]
        again = fn()
        allocations = gc.get_count()[0] - before
    finally:
        gc.enable()
    del again
    return total, spent[0], collections, allocations / max(len(result), 1)


def tracked_per_state(states: Sequence[ClientState]) -> list[int]:
    """For each state, how many objects the garbage collector tracks in it that its fold made
    (after a collection, so tuples of untracked items are untracked, as in any host)."""
    gc.collect()
    young = {id(o) for o in gc.get_objects()}  # not the frozen input log
    counts = []
    for state in states:
        seen: set[int] = set()
        stack: list[object] = [state]
        count = 0
        while stack:
            o = stack.pop()
            if id(o) in seen or id(o) not in young:
                continue
            seen.add(id(o))
            if gc.is_tracked(o):
                count += 1
            stack.extend(gc.get_referents(o))
        counts.append(count)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--baseline-episodes", type=int, default=2_000)
    parser.add_argument("--run-baseline", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run-baseline-decoding", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--cache",
        default=str(Path(tempfile.gettempdir()) / "fama-bench-statemachine"),
        help="where the python-statemachine versions are installed",
    )
    args = parser.parse_args()
    if args.run_baseline:
        run_baseline(args.run_baseline)
        return
    if args.run_baseline_decoding:
        run_baseline_decoding(args.run_baseline_decoding)
        return

    gen_s, log = timed(lambda: synthetic_log(args.episodes))
    events = sum(len(e) for e in log)
    print(f"log: {args.episodes:,} episodes, {events:,} events (built in {gen_s:.1f}s)")
    print(f"times: CPU seconds of the measuring process, best of {RUNS} runs, for every figure")

    fold_s, states = timed(lambda: [fold(episode) for episode in log], runs=RUNS)
    fold_rate = args.episodes / fold_s
    # What keeping every state costs the garbage collector: one more run, its collections
    # timed, and the objects each kept state holds that the collector tracks.
    states = None
    shared_s, collector_s, collections, allocations = collector_share(
        lambda: [fold(episode) for episode in log]
    )
    states = [fold(episode) for episode in log]
    tracked = tracked_per_state(states[: len(_templates())])

    def fold_streaming() -> list[str]:
        # As an export or a report would: fold a client, use it, let it go.
        return [fold(episode).status for episode in log]

    stream_s, statuses = timed(fold_streaming, runs=RUNS)
    assert statuses == [s.status for s in states]
    # Every kept state whole: its JSON form equal to its journey's folded on its own (the
    # client id aside), so every episode of every client was folded with every event.
    shapes = [as_shape(fold(episode)) for episode in log[: len(_templates())]]
    for i, state in enumerate(states):
        assert as_shape(state) == shapes[i % len(shapes)], f"episode {i} folded differently"
    stream_rate = args.episodes / stream_s

    lines = json_lines(log)

    def decode_and_fold() -> list[tuple[str, int]]:
        # Streaming, as an export or a replay would: keep each client's outcome only.
        out = []
        for episode in lines:
            state = fold([event_from_json(line) for line in episode])
            out.append((state.status, state.version))
        return out

    decode_s, decoded = timed(decode_and_fold, runs=RUNS)
    assert decoded == [(s.status, s.version) for s in states], "JSON lines must fold the same"
    decode_rate = args.episodes / decode_s

    def loads_only() -> list[int]:
        # What the standard library's parser pays over the same lines, building plain dicts
        # and checking nothing (pydantic-core's, which fama uses, is faster: decode.py).
        return [len([json.loads(line) for line in episode]) for episode in lines]

    loads_s, counts = timed(loads_only, runs=RUNS)
    assert sum(counts) == events
    loads_rate = args.episodes / loads_s

    sample = args.baseline_episodes
    expected = [final_record(s) for s in states[:sample]]
    runs = []
    for spec in BASELINES:
        got = baseline_in(spec, sample, Path(args.cache))
        mismatched = sum(a != b for a, b in zip(got["finals"], expected, strict=True))
        assert mismatched == 0, f"{got['version']}: {mismatched} episodes differ from fama's"
        runs.append((sample / got["seconds"], got["version"], spec))
        print(
            f"python-statemachine {got['version']:<8}      {sample / got['seconds']:>10,.0f} "
            f"episodes/s ({sample:,} episodes in {got['seconds']:.2f}s; final states match)"
        )
    base_rate, base_version, base_spec = max(runs)
    peer = baseline_in(base_spec, sample, Path(args.cache), flag="--run-baseline-decoding")
    # The peer reports each episode's final state (the baselines above, the whole record).
    assert peer["finals"] == [record[0] for record in expected], (
        "the peer decoding the lines must end where fama does"
    )
    peer_rate = sample / peer["seconds"]

    print(
        f"fama fold, keeping every state: {fold_rate:>10,.0f} episodes/s "
        f"({fold_s:.2f}s, {fold_s / events * 1e6:.2f} µs/event)"
    )
    print(
        f"  of which garbage collection:  {collector_s / shared_s:>10.0%} of a run "
        f"({collector_s:.2f}s of {shared_s:.2f}s, {collector_s / events * 1e6:.2f} µs/event; "
        f"collections young/middle/full {collections[0]}/{collections[1]}/{collections[2]})"
    )
    print(
        f"  tracked objects per kept state: {sum(tracked) / len(tracked):.1f} "
        f"({', '.join(map(str, tracked))} by journey shape, after a collection); the "
        f"collector's net allocations per kept state {allocations:.1f}"
    )
    print(
        f"fama fold, streaming:           {stream_rate:>10,.0f} episodes/s "
        f"({stream_s:.2f}s, {stream_s / events * 1e6:.2f} µs/event)"
    )
    print(
        f"fama decode JSON lines + fold:  {decode_rate:>10,.0f} episodes/s "
        f"({decode_s:.2f}s, {decode_s / events * 1e6:.2f} µs/event)"
    )
    print(
        f"json.loads alone, same lines:   {loads_rate:>10,.0f} episodes/s "
        f"({loads_s:.2f}s, {loads_s / events * 1e6:.2f} µs/event; no validation, no fold)"
    )
    print(
        f"peer decoding the same lines:   {peer_rate:>10,.0f} episodes/s "
        f"(python-statemachine {base_version} fed by fama's decoder, "
        f"{peer['seconds'] / (sample * EVENTS_PER_EPISODE) * 1e6:.2f} µs/event)"
    )
    print(f"baseline: python-statemachine {base_version} (the faster in this run)")
    print(f"ratio fold (kept) / baseline:   {fold_rate / base_rate:>10.1f}x")
    print(f"ratio fold (streaming) / base:  {stream_rate / base_rate:>10.1f}x")
    print(f"ratio decode+fold / baseline:   {decode_rate / base_rate:>10.1f}x")
    print(
        f"ratio json.loads / baseline:    {loads_rate / base_rate:>10.1f}x "
        "(parsing alone; decode.py has the floors)"
    )
    print(f"ratio decode+fold / peer decoding too: {decode_rate / peer_rate:>4.1f}x")
    # The decode + fold aim, as time: 30x the baseline's rate leaves this much per event.
    aim_us = 1e6 / (30 * base_rate) / EVENTS_PER_EPISODE
    print(
        f"30x the baseline leaves {aim_us:.2f} µs/event for decoding and folding; json.loads "
        f"alone takes {loads_s / events * 1e6:.2f}, the fold alone {stream_s / events * 1e6:.2f}"
    )
    print(
        f"30x leaves {aim_us - stream_s / events * 1e6:.2f} µs/event for decoding beside the "
        "fold; benchmarks/decode.py times decoding alone against its floors"
    )


if __name__ == "__main__":
    main()
