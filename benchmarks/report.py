"""Report benchmark: ``fama report``'s real path, from a JSON-lines log to the written files.

Writes a fictional area's event log (``fama_adapters.report.sample``, client
ids made unique per chunk) to a temporary file, then times what the command
does: decode every line, fold each client, keep its journeys
(:func:`~fama_adapters.report.io.stream_journeys`), compute the figures with
suppression and render HTML, CSV and JSON. The baseline, in the same run, is
decoding the same lines with ``json.loads`` and nothing else. It prints
clients per second, the ratio to the baseline, the time per client at each
size (linear time keeps it flat), and peak traced memory (``tracemalloc``)
per size, with bytes per client.

Usage: python benchmarks/report.py [--clients 100000] [--memory-clients 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_csv, render_json
from fama_adapters.report.html import render_html
from fama_adapters.report.io import stream_journeys
from fama_adapters.report.sample import area_caseload
from fama_core.commissioning import DirectoryMeeting
from fama_core.events import event_to_json

_CHUNK = 5_000


def write_log(path: Path, clients: int) -> int:
    """``clients`` fictional clients' events, client by client; returns the event count."""
    events = 0
    with path.open("w", encoding="utf-8") as fh:
        for chunk, first in enumerate(range(0, clients, _CHUNK)):
            size = min(_CHUNK, clients - first)
            for log in area_caseload(size, seed=chunk).values():
                for event in log:
                    fh.write(event_to_json(event).replace('"area-', f'"c{chunk}-') + "\n")
                    events += 1
    return events


MEETINGS = [DirectoryMeeting.weekly(f"m{i}", "aa", (i % 7 + 1,), dt.time(19, 0)) for i in range(50)]


def report_path(log: Path) -> int:
    """What ``fama report --events LOG`` does after parsing its arguments."""
    streamed = stream_journeys([log], [(None, None)])
    report = build_report(
        area="Benchmark",
        as_of=dt.date(2026, 7, 31),
        caseload=(),
        journeys=streamed.journeys,
        meetings=MEETINGS,
    )
    return (
        len(render_html(report))
        + len(render_json(report))
        + sum(len(t) for t in render_csv(report).values())
    )


def baseline(log: Path) -> int:
    """Decoding every line, nothing else."""
    with log.open("rb") as fh:
        return sum(1 for line in fh if json.loads(line))


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--memory-clients", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for n in (args.clients // 4, args.clients // 2, args.clients):
            log = Path(folder) / f"log-{n}.jsonl"
            events = write_log(log, n)
            gc.collect()
            base_s, _ = timed(baseline, log)
            report_s, size = timed(report_path, log)
            print(
                f"{n:>7} clients {events:>8} events: report {report_s:7.2f} s "
                f"({n / report_s:8.0f} clients/s, {1e6 * report_s / n:6.1f} µs/client), "
                f"json.loads baseline {base_s:6.2f} s, ratio {report_s / base_s:5.2f}"
            )
            log.unlink()
        for n in (args.memory_clients // 4, args.memory_clients // 2, args.memory_clients):
            log = Path(folder) / f"mem-{n}.jsonl"
            write_log(log, n)
            gc.collect()
            tracemalloc.start()
            report_path(log)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{n:>7} clients: peak traced memory {peak / 2**20:7.1f} MiB "
                f"({peak / n:6.0f} bytes/client)"
            )
            log.unlink()


if __name__ == "__main__":
    main()
