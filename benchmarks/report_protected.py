"""Protected report benchmark: suppression of a report that knows earlier reports (``--earlier``).

A small fictional area (four keyworkers, two teams, three organisations) is reported
three times from the same records, as ``fama report`` and ``GET /v1/report``
would: all time (no earlier report), the first quarter knowing the all-time
report, and February-April knowing both. Each report's suppression programme
(what ``analyse_access`` hands to :func:`~fama_core.commissioning.suppression.suppress`)
is captured once, then solved by today's ``suppress`` and by the suppression
as it was before the speed work (``tests/commissioning/suppression_reference.py``,
the differential tests' reference), CPU time, best of ``--repeat``. The two
withheld sets are asserted equal (a refusal must be a refusal in both). It
prints each case's CPU seconds, the ratio reference/today, and each case's
cost against the report without earlier reports measured in the same run.

Usage: python benchmarks/report_protected.py [--clients 150] [--seed 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the reference lives in tests/

from tests.commissioning import suppression_reference as reference  # noqa: E402

from fama_adapters.report.bundle import build_report  # noqa: E402
from fama_adapters.report.sample import JourneyShape, JourneySpec, journey_events  # noqa: E402
from fama_core.codes import AccompanimentOutcome, Obstacle  # noqa: E402
from fama_core.commissioning import access, suppression  # noqa: E402
from fama_core.errors import InputUnreadable  # noqa: E402
from fama_core.state import ClientState  # noqa: E402
from fama_core.workflow import fold  # noqa: E402

AS_OF = dt.date(2026, 7, 31)
CASES = (
    ("all time, no earlier report", (None, None)),
    ("Q1 knowing 1 earlier report", (dt.date(2026, 1, 1), dt.date(2026, 3, 31))),
    ("Feb-Apr knowing 2 earlier reports", (dt.date(2026, 2, 1), dt.date(2026, 4, 30))),
)

Call = tuple[tuple[Any, ...], dict[str, Any]]


KEYWORKERS = (("kw-1", "north"), ("kw-2", "north"), ("kw-3", "south"), ("kw-4", None))
"""A small area, so that the reference solves three reports within the minute."""


def small_area(clients: int, seed: int) -> list[ClientState]:
    """``clients`` fictional journeys from January to April, the same for the same seed."""
    rng = random.Random(seed)
    shapes = [s for s in JourneyShape if s is not JourneyShape.CLOSED_BEFORE_SESSION_1]
    out = []
    for n in range(clients):
        keyworker, team = rng.choice(KEYWORKERS)
        spec = JourneySpec(
            shape=rng.choice(shapes),
            gap_days=rng.choice((7, 14)),
            keyworker=keyworker,
            team=team,
            start=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(120)),
            organisation=rng.choice(("aa", "na", "smart")),
            obstacles=tuple(
                rng.sample([Obstacle.GETTING_THERE, Obstacle.MAKING_TIME], 2)[: rng.randint(0, 2)]
            ),
            accompaniment=rng.choice([None, *AccompanimentOutcome]),
        )
        out.append(fold(journey_events(f"c{n}", spec)))
    return out


def programmes(clients: int, seed: int) -> list[Call]:
    """The access programme of each case, each report built knowing the ones before it."""
    caseload = small_area(clients, seed)
    captured: list[Call] = []
    real = access.suppress

    class Captured(Exception):
        pass

    def capture(*args: Any, **kwargs: Any) -> Any:
        captured.append((args, kwargs))
        if len(captured) == len(CASES):  # the last report's programme is all that is needed
            raise Captured
        return real(*args, **kwargs)

    access.suppress = capture  # type: ignore[assignment]
    try:
        published = []
        for _name, (start, end) in CASES:
            try:
                report = build_report(
                    area="Benchmark",
                    as_of=AS_OF,
                    caseload=caseload,
                    meetings=None,
                    period_start=start,
                    period_end=end,
                    earlier=[r.access for r in published],
                )
            except Captured:
                break
            except InputUnreadable as refused:  # an earlier report could not be kept protected
                raise SystemExit(f"{refused}: choose another --seed or --clients") from None
            published.append(report)
    finally:
        access.suppress = real
    return captured


def solved(fn: Callable[..., frozenset[Any]], call: Call, refusal: type[Exception]) -> object:
    try:
        return fn(*call[0], **call[1])
    except refusal:
        return "refused"


def cpu(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    calls = programmes(args.clients, args.seed)
    print(f"{args.clients} clients, seed {args.seed}: CPU seconds, best of {args.repeat}")
    base: float | None = None
    for (name, _period), call in zip(CASES, calls, strict=True):
        old_s, old = cpu(lambda c=call: solved(reference.suppress, c, reference.Unprotectable), 1)
        new_s, new = cpu(
            lambda c=call: solved(suppression.suppress, c, suppression.Unprotectable),
            args.repeat,
        )
        assert new == old, f"{name}: today's withheld cells differ from the reference's"
        base = new_s if base is None else base
        shown = "refused" if new == "refused" else f"{len(new)} withheld"  # type: ignore[arg-type]
        print(
            f"{name:<34} {shown:>12}: today {new_s:7.2f} s, reference {old_s:7.2f} s, "
            f"ratio {old_s / new_s:5.2f}; {new_s / base:6.1f}x the report without earlier ones"
        )


if __name__ == "__main__":
    main()
