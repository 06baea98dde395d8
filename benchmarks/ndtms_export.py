"""NDTMS export benchmark: a year's caseload (300,000 clients) from an event log to an extract.

Builds a JSON-lines event log and a contexts file for N clients from four
``JourneyBuilder`` journey shapes started on every day of a year (so dates vary
from client to client: 1,460 templates), ids varied per client, then times
``fama_adapters.ndtms.export`` streaming them to an extract file. The export
checks the workflow for every client (every event decoded and folded through
``fama_core.workflow``; there is no other mode). The baseline, in the same run,
writes exactly the same rows with the standard ``csv`` module (``QUOTE_ALL``)
and nothing else: the floor for writing the file. The two files are asserted
byte-for-byte equal, and the export asserted to have rejected nothing.

Time is reported twice: wall clock, and the process's CPU time (steadier on a
shared machine); the ratio is fama / floor for each.

Then the part of the export outside decoding and folding: the same log is
first read into client logs (every line decoded, every client folded and
projected, :func:`~fama_adapters.ndtms.logscan.scan_log`, timed on its own),
and the export is timed over those (:func:`~fama_adapters.ndtms.export.export_logs`:
contexts read, rows derived, validated and written). Its bytes are asserted
equal to the floor's too, and its ratio to the same floor printed.

Peak memory is measured with ``tracemalloc`` on separate, smaller runs of
growing size and asserted flat (the largest run's peak within 1.5 times the
smallest's): memory must not grow with the caseload.

Usage: python benchmarks/ndtms_export.py [--clients 20000] [--split-clients 20000]
       [--memory-sizes 1000,4000,16000]
(``--clients 300000`` for a year's caseload: several minutes.)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from fama_adapters.ndtms.csvfile import ReadRow, read_extract
from fama_adapters.ndtms.export import ExportSummary, export, export_logs
from fama_adapters.ndtms.logscan import ClientLog, scan_log
from fama_core.builders import JourneyBuilder
from fama_core.codes import (
    AccompanimentOutcome,
    CommitmentOutcome,
    ExperienceLevel,
    GoalKind,
    Obstacle,
    VolunteerKind,
)
from fama_core.context import TreatmentContext
from fama_core.events import Event, event_to_json
from fama_core.ndtms import Intervention, NdtmsContext, ReviewPolicy, load_dataset

AS_OF = dt.date(2026, 12, 31)
TABLE = load_dataset("R")
PLACEHOLDER = "CLIENTXXXXXXX"  # same length as the real ids, so nothing else shifts
DAYS = 365  # journeys start on every day of a year


def _journeys(start: dt.date) -> list[list[Event]]:
    out = []
    b = JourneyBuilder(PLACEHOLDER, start=start, keyworker_id="kw-1")
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).session2(commit_to=m)
    b.goal(GoalKind.ATTEND_NAMED_MEETING, meeting=m).journal(m)
    b.session3(commit_to=m).journal(m).session3().engaged()
    out.append(b.events)
    b = JourneyBuilder(PLACEHOLDER, start=start, keyworker_id="kw-2")
    b.open().session1().obstacle(Obstacle.GETTING_THERE).session2(reason="not ready")
    b.session2(commit_to=m).session3(review=CommitmentOutcome.NOT_ATTENDED, reason="thinking")
    b.declined()
    out.append(b.events)
    b = JourneyBuilder(PLACEHOLDER, start=start, keyworker_id="kw-3")
    b.open().session1().session2(commit_to=m, accompaniment=True)
    b.accompany(kind=VolunteerKind.RECOVERY_COMMUNITY_ORGANISATION)
    arrangement = b.events[-1].arrangement.arrangement_id  # type: ignore[union-attr]
    b.accompaniment_outcome(arrangement, AccompanimentOutcome.ACCOMPANIED).journal(m)
    b.session3(commit_to=m).journal(m).session3().engaged()
    out.append(b.events)
    b = JourneyBuilder(PLACEHOLDER, start=start, keyworker_id="kw-4")
    b.open().session1(experience=ExperienceLevel.SOME, organisations=("aa",), commit_to=m)
    b.session2(commit_to=m).session3(commit_to=m)
    out.append(b.events)
    return out


def _context(start: dt.date, ended: bool) -> NdtmsContext:
    end = start + dt.timedelta(days=70) if ended else None
    return NdtmsContext(
        treatment=TreatmentContext(
            client_id=PLACEHOLDER,
            treatment_episode_id=PLACEHOLDER,
            agency_code="AG001",
            started_on=start - dt.timedelta(days=7),
            ended_on=end,
            end_reason="80" if end else None,
            consent_to_share=True,
        ),
        interventions=(
            Intervention(
                intervention_id=PLACEHOLDER + "-1",
                modality="96",
                started_on=start - dt.timedelta(days=7),
                ended_on=end,
            ),
        ),
        review_policy=ReviewPolicy(interval_days=91),
        keyworker_id="kw-1",
    )


def _templates() -> list[tuple[bytes, bytes]]:
    """(log lines, context line) per shape and start day, with the placeholder id inside."""
    out = []
    first = dt.date(2026, 1, 5) - dt.timedelta(days=200)
    for day in range(DAYS):
        start = first + dt.timedelta(days=day)
        for k, events in enumerate(_journeys(start)):
            log = "".join(event_to_json(e) + "\n" for e in events).encode()
            ctx = (
                _context(start, ended=k % 2 == 0).model_dump_json(exclude_none=True) + "\n"
            ).encode()
            out.append((log, ctx))
    return out


def generate(n: int, folder: Path, templates: list[tuple[bytes, bytes]]) -> tuple[Path, Path, int]:
    """Write an event log and contexts for ``n`` clients, ascending ids; returns the line count."""
    events, contexts = folder / "events.jsonl", folder / "contexts.jsonl"
    ph = PLACEHOLDER.encode()
    with events.open("wb") as ev, contexts.open("wb") as cx:
        buf_e, buf_c = [], []
        lines = 0
        for i in range(n):
            log, ctx = templates[i % len(templates)]
            lines += log.count(b"\n")
            cid = f"C{i:012d}".encode()
            buf_e.append(log.replace(ph, cid))
            buf_c.append(ctx.replace(ph, cid))
            if len(buf_e) >= 5000:
                ev.write(b"".join(buf_e))
                cx.write(b"".join(buf_c))
                buf_e, buf_c = [], []
        ev.write(b"".join(buf_e))
        cx.write(b"".join(buf_c))
    return events, contexts, lines


def _timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of ``fn()``."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - w0, time.process_time() - c0, result


def run_export(events: Path, contexts: Path, out: Path) -> ExportSummary:
    with events.open("rb") as ev, contexts.open("rb") as cx, out.open("wb") as fh:
        return export(ev, cx, fh, TABLE, as_of=AS_OF)


def run_export_logs(logs: list[ClientLog], contexts: Path, out: Path) -> ExportSummary:
    with contexts.open("rb") as cx, out.open("wb") as fh:
        return export_logs(logs, cx, fh, TABLE, as_of=AS_OF)


def read_logs(events: Path) -> list[ClientLog]:
    with events.open("rb") as ev:
        return list(scan_log(ev))


def baseline(n: int, out: Path, rows_by_template: list[list[list[str]]]) -> None:
    """Write the same rows with csv.writer: the floor."""
    ph = PLACEHOLDER
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        w.writerow(TABLE.columns)
        k = len(rows_by_template)
        for i in range(n):
            cid = f"C{i:012d}"
            for row in rows_by_template[i % k]:
                w.writerow([cid if v == ph else v.replace(ph, cid) for v in row])


def template_rows(folder: Path, templates: list[tuple[bytes, bytes]]) -> list[list[list[str]]]:
    """The rows each template produces, read back from a small export (NA for empty)."""
    n = len(templates)
    events, contexts, _ = generate(n, folder, templates)
    out = folder / "t.csv"
    run_export(events, contexts, out)
    by_client: dict[str, list[list[str]]] = {}
    with out.open("rb") as fh:
        for item in read_extract(fh, TABLE):
            if not isinstance(item, ReadRow):
                continue
            cid = item.values["CLIENTID"] or ""
            by_client.setdefault(cid, []).append(
                [
                    (v if v is not None else "NA").replace(cid, PLACEHOLDER)
                    for v in item.values.values()
                ]
            )
    return [by_client.get(f"C{i:012d}", []) for i in range(n)]


def peak_memory(n: int, folder: Path, templates: list[tuple[bytes, bytes]]) -> float:
    events, contexts, _ = generate(n, folder, templates)
    gc.collect()
    tracemalloc.start()
    with events.open("rb") as ev, contexts.open("rb") as cx, open(os.devnull, "wb") as fh:
        export(ev, cx, fh, TABLE, as_of=AS_OF)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def split(
    n: int,
    folder: Path,
    templates: list[tuple[bytes, bytes]],
    rows_by_template: list[list[list[str]]],
    files: tuple[Path, Path] | None,
) -> None:
    """Time the export apart from decoding and folding, against the floor at the same size."""
    if files is None:
        files = generate(n, folder, templates)[:2]
    events, contexts = files
    gc.unfreeze()
    _, s_cpu, read = _timed(lambda: read_logs(events))
    assert isinstance(read, list)
    logs: list[ClientLog] = read
    gc.freeze()  # the client logs are input here, as the events are above
    wall, cpu, result = _timed(lambda: run_export_logs(logs, contexts, folder / "split.csv"))
    assert isinstance(result, ExportSummary) and not result.rejected
    f_wall, f_cpu, _ = _timed(lambda: baseline(n, folder / "split-floor.csv", rows_by_template))
    same = (folder / "split-floor.csv").read_bytes() == (folder / "split.csv").read_bytes()
    assert same, "the export over read client logs differs from the csv floor's bytes"
    print(
        f"\n{n:,} clients, the parts apart (cpu):\n"
        f"  decode + fold + project the log:               {s_cpu:6.2f} s  "
        f"({s_cpu / f_cpu:4.1f}x the floor)\n"
        f"  the rest (contexts, derive, validate, write):  {cpu:6.2f} s  "
        f"({cpu / f_cpu:4.1f}x the floor; wall {wall / f_wall:.1f}x)\n"
        f"  csv floor:                                     {f_cpu:6.2f} s  same bytes"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    p.add_argument("--clients", type=int, default=20_000)
    p.add_argument(
        "--split-clients",
        type=int,
        default=20_000,
        help="clients for the timing apart from decoding (their logs are held in memory)",
    )
    p.add_argument("--memory-sizes", default="1000,4000,16000")
    args = p.parse_args()
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # keep the 1 GB log off the disk
    templates = _templates()
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        events, contexts, lines = generate(args.clients, folder, templates)
        print(
            f"generated {args.clients:,} clients, {lines:,} event lines "
            f"({events.stat().st_size / 1e6:.0f} MB; {len(templates):,} journey templates over "
            f"{DAYS} start days) in {time.perf_counter() - t0:.1f} s"
        )
        gc.freeze()  # the inputs' templates are old data, as in a long-running host
        wall, cpu, result = _timed(lambda: run_export(events, contexts, folder / "extract.csv"))
        assert isinstance(result, ExportSummary)
        assert not result.rejected, f"the export rejected records: {dict(result.rejected)}"
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"fama export (workflow checked):  wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
            f"{result.rows_written:,} rows ({args.clients / wall:,.0f} clients/s, "
            f"{lines / wall:,.0f} events/s); process max RSS so far {rss:.0f} MB"
        )
        sub = folder / "tpl"
        sub.mkdir()
        rows_by_template = template_rows(sub, templates)
        f_wall, f_cpu, _ = _timed(
            lambda: baseline(args.clients, folder / "baseline.csv", rows_by_template)
        )
        same = (folder / "baseline.csv").read_bytes() == (folder / "extract.csv").read_bytes()
        assert same, "fama's extract differs from the csv floor's bytes"
        print(
            f"csv floor:                       wall {f_wall:6.2f} s  cpu {f_cpu:6.2f} s  same bytes"
        )
        print(f"ratio fama / csv floor: wall {wall / f_wall:.1f}x, cpu {cpu / f_cpu:.1f}x")
        if args.split_clients > 0:
            n = min(args.split_clients, args.clients)
            sub = folder / "split"
            sub.mkdir()
            split(
                n,
                sub,
                templates,
                rows_by_template,
                (events, contexts) if n == args.clients else None,
            )
        peaks = []
        for size in (int(s) for s in args.memory_sizes.split(",")):
            mem = folder / f"mem{size}"
            mem.mkdir()
            peaks.append(peak_memory(size, mem, templates))
            print(f"peak traced memory, {size:>7,} clients: {peaks[-1]:6.1f} MB")
        assert peaks[-1] <= 1.5 * peaks[0], "peak memory grows with the caseload"
        print("peak memory flat: yes")


if __name__ == "__main__":
    main()
