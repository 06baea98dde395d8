"""Report benchmark: the commissioners' analysis and rendering against folding the same log.

Generates a fictional area (``fama_adapters.report.sample.area_caseload``),
then times, in the same run: folding every client's events (the baseline, what
any host does anyway), the access analysis with suppression, and rendering the
HTML, CSV and JSON. Prints clients per second and each ratio to the fold.

Usage: python benchmarks/report.py [--clients 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_csv, render_json
from fama_adapters.report.html import render_html
from fama_adapters.report.sample import area_caseload
from fama_core.commissioning import DirectoryMeeting, analyse_access, journeys_from_caseload
from fama_core.workflow import fold


def _best(fn, repeat: int = 3) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args()
    logs = list(area_caseload(args.clients, seed=1).values())
    gc.freeze()
    events = sum(len(log) for log in logs)
    fold_s, caseload = _best(lambda: [fold(log) for log in logs])
    analyse_s, _ = _best(lambda: analyse_access(journeys_from_caseload(caseload)))
    meetings = [
        DirectoryMeeting.weekly(f"m{i}", "aa", (i % 7 + 1,), dt.time(19, 0)) for i in range(50)
    ]

    def render() -> int:
        report = build_report(
            area="Benchmark", as_of=dt.date(2026, 7, 31), caseload=caseload, meetings=meetings
        )
        return len(render_html(report)) + len(render_json(report)) + len(render_csv(report))

    report_s, size = _best(render, repeat=1)
    n = args.clients
    print(f"{n} clients, {events} events")
    print(f"fold (baseline):             {fold_s:7.3f} s  {n / fold_s:10.0f} clients/s")
    print(
        f"access analysis:             {analyse_s:7.3f} s  {n / analyse_s:10.0f} clients/s"
        f"  ratio to fold {analyse_s / fold_s:.3f}"
    )
    print(
        f"build + render HTML/CSV/JSON: {report_s:6.3f} s  {n / report_s:10.0f} clients/s"
        f"  ratio to fold {report_s / fold_s:.3f}  ({size} characters)"
    )


if __name__ == "__main__":
    main()
