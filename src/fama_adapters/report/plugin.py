"""Built-in plugin: the ``fama report`` command and the demo area's report in ``make demo``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from fama_adapters.cli import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    render_table,
)
from fama_adapters.cli.argtypes import time_zone
from fama_adapters.hookspecs import hookimpl
from fama_adapters.meetings.plugin import import_sources
from fama_adapters.report.bundle import CommissioningReport, build_report
from fama_adapters.report.export import write_report
from fama_adapters.report.io import (
    StreamedCaseload,
    completeness_share,
    load_completeness_data,
    load_earlier,
    load_meetings,
    load_partnership,
    stream_journeys,
)
from fama_adapters.report.sample import area_caseload
from fama_core.commissioning import (
    DEFAULT_STALE_AFTER_DAYS,
    DEFAULT_THRESHOLD,
    AccessReport,
    DirectoryMeeting,
    PartnershipInput,
    analyse_completeness,
    from_directory,
)
from fama_core.directory import MeetingDirectory
from fama_core.errors import FamaError, InputUnreadable, InvalidRecord
from fama_core.state import ClientState
from fama_core.workflow import fold

__all__ = ["DEMO_AS_OF", "fama_register_commands", "fama_register_demo_steps", "summary_lines"]

DEMO_AS_OF = dt.date(2026, 7, 31)
"""The demo report's date, fixed so the demo's output does not change from day to day."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a date as YYYY-MM-DD") from None


def _threshold(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("the threshold must be at least 1")
    return value


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--events",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="FAMA event log, JSON lines (repeat for several files)",
    )
    p.add_argument(
        "--meetings",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="saved meeting directory from `fama meetings import --out` (repeat for several)",
    )
    p.add_argument(
        "--timezone",
        default="Europe/London",
        type=time_zone,
        help="the area's time zone, for meetings listed in another (default Europe/London)",
    )
    p.add_argument("--assessment", type=Path, help="the partnership's answers and actions (JSON)")
    p.add_argument(
        "--ndtms-completeness",
        type=Path,
        metavar="FILE",
        help="output of `fama ndtms completeness --json`, to answer the NDTMS question from data",
    )
    p.add_argument("--out", type=Path, default=Path("out/report"), help="output folder")
    p.add_argument("--area", default="Local area", help="name of the area or partnership")
    p.add_argument("--as-of", type=_date, help="report date (default: today)")
    p.add_argument("--from", dest="period_start", type=_date, help="first session-1 date counted")
    p.add_argument("--to", dest="period_end", type=_date, help="last session-1 date counted")
    p.add_argument(
        "--threshold",
        type=_threshold,
        default=DEFAULT_THRESHOLD,
        help=f"withhold counts of 1 to N-1 clients (default {DEFAULT_THRESHOLD})",
    )
    p.add_argument(
        "--protection",
        type=_threshold,
        default=None,
        help="protection interval: how wide the range of values consistent with everything "
        "published must be for each withheld small count (default: the threshold)",
    )
    p.add_argument(
        "--earlier",
        type=Path,
        action="append",
        default=[],
        metavar="REPORT_JSON",
        help="report.json of a report already published for an overlapping period, from the "
        "same records: no difference between the two gives a withheld count away (repeat)",
    )
    p.add_argument(
        "--stale-days",
        type=int,
        default=DEFAULT_STALE_AFTER_DAYS,
        help=f"directory entries older than this are 'not verified recently' "
        f"(default {DEFAULT_STALE_AFTER_DAYS})",
    )


def summary_lines(report: CommissioningReport) -> str:
    """A short plain-text summary of the report for the terminal."""
    area = report.access.area.counts
    rows = [
        (label, "*" if area[m] is None else area[m])
        for label, m in (
            ("introduced", "introduced"),
            ("committed", "committed"),
            ("attended a first meeting", "first_meeting"),
            ("engaged", "engaged"),
            ("declined", "declined"),
            ("closed", "closed"),
        )
    ]
    av = report.availability
    if av is not None:
        rows.append(("meeting slots a week", av.slots))
        rows.append(("organisations with no local meeting", ", ".join(av.no_local_meeting) or "-"))
        rows.append(("entries not verified recently", len(av.stale)))
    rows.append(("self-assessment gaps", len(report.assessment.gaps)))
    rows.append(("actions in the plan", len(report.assessment.plan)))
    rows.append(("counts withheld", report.access.withheld))
    rows.append(("clients left out (records unusable)", report.not_counted.clients))
    rows.append(("clients counted without some records", report.not_counted.partly))
    return render_table(("figure", "value"), rows)


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.events:
        ctx.stderr.write("fama report: give at least one --events FILE\n")
        return EXIT_USAGE
    problems: list[FamaError] = []
    earlier = [load_earlier(path) for path in args.earlier]
    period = (args.period_start, args.period_end)
    periods = [period]
    periods += [(published.period_start, published.period_end) for published in earlier]
    streamed = stream_journeys(args.events, list(dict.fromkeys(periods)))
    problems += streamed.problems
    recording = load_completeness_data(args.ndtms_completeness) if args.ndtms_completeness else None
    table = recording
    if recording is not None:
        try:  # the per-keyworker table needs every count; the NDTMS answer only the overall
            analyse_completeness(recording, record=args.ndtms_completeness.name)
        except InvalidRecord as unusable:
            problems.append(unusable)
            table = None
    as_of = args.as_of or dt.date.today()
    meetings: list[DirectoryMeeting] | None = None
    if args.meetings:
        meetings = load_meetings(args.meetings, week_of=as_of, area_timezone=args.timezone)
    partnership = None
    if args.assessment:
        partnership, bad_answers = load_partnership(args.assessment)
        problems += bad_answers
    try:
        report = _build(args, as_of, streamed, meetings, partnership, earlier, recording, table)
    except InputUnreadable as exc:
        if exc.source.startswith("earlier report "):  # name the file the user gave
            n = int(exc.source.removeprefix("earlier report ")) - 1
            raise InputUnreadable(
                source=f"--earlier {args.earlier[n].name}", reason=exc.reason
            ) from None
        if exc.source == "earlier reports":  # together: name every file given
            names = ", ".join(path.name for path in args.earlier)
            raise InputUnreadable(source=f"--earlier {names}", reason=exc.reason) from None
        raise
    paths = write_report(report, args.out)
    for problem in problems:
        ctx.stderr.write(f"fama report: {problem}\n")
    ctx.emit(
        {
            "written": [str(p) for p in paths],
            "problems": [str(p) for p in problems],
            "withheld": report.access.withheld,
            "not_counted": report.not_counted.model_dump(),
        },
        summary_lines(report) + f"wrote {len(paths)} files to {args.out}\n",
    )
    return EXIT_PARTIAL if problems else EXIT_OK


def _build(
    args: argparse.Namespace,
    as_of: dt.date,
    streamed: StreamedCaseload,
    meetings: list[DirectoryMeeting] | None,
    partnership: PartnershipInput | None,
    earlier: list[AccessReport],
    recording: object | None,
    table: object | None,
) -> CommissioningReport:
    return build_report(
        area=args.area,
        as_of=as_of,
        caseload=(),
        journeys=streamed.journeys,
        meetings=meetings,
        partnership=partnership,
        threshold=args.threshold,
        protection=args.protection,
        period_start=args.period_start,
        period_end=args.period_end,
        stale_after_days=args.stale_days,
        ndtms_completeness=(
            completeness_share(recording, record=args.ndtms_completeness.name)
            if recording is not None
            else None
        ),
        completeness=table,
        sources=[p.name for p in args.events]
        + [p.name for p in args.meetings]
        + ([args.assessment.name] if args.assessment else [])
        + ([args.ndtms_completeness.name] if args.ndtms_completeness else [])
        + [p.name for p in args.earlier],
        earlier=earlier,
        not_counted=streamed.not_counted,
    )


def _demo(demo: DemoContext) -> None:
    caseload: dict[str, ClientState] = dict(demo.data.get("caseload", {}))
    for client_id, events in area_caseload().items():
        caseload[client_id] = fold(events)
    directory = demo.data.get("meetings")  # left by the meetings step
    if directory is None:
        directory = MeetingDirectory(import_sources(demo.examples / "meetings", demo.cli.host)[0])
    meetings = from_directory(directory, week_of=DEMO_AS_OF)
    partnership, bad_answers = load_partnership(demo.examples / "commissioning" / "assessment.json")
    if bad_answers:
        raise FamaError(f"examples/commissioning is invalid: {bad_answers[0]}")
    completeness_file = demo.out / "ndtms" / "completeness.json"  # left by the NDTMS step
    recording = (
        json.loads(completeness_file.read_text("utf-8")) if completeness_file.is_file() else None
    )
    ndtms = completeness_share(recording) if recording is not None else None
    report = build_report(
        area=partnership.partnership,
        as_of=DEMO_AS_OF,
        caseload=caseload.values(),
        meetings=meetings,
        partnership=partnership,
        ndtms_completeness=ndtms,
        completeness=recording,
        sources=(
            "examples/journeys (5 sample journeys)",
            f"{len(caseload) - len(demo.data.get('caseload', {}))} fictional clients generated "
            "by fama_adapters.report.sample (seed 2026)",
            "examples/meetings (fictional Northbridge meeting directory)",
            "examples/commissioning/assessment.json (fictional partnership answers)",
        )
        + (
            ("out/demo/ndtms/completeness.json (NDTMS audit of the sample journeys)",)
            if ndtms
            else ()
        ),
    )
    out = demo.out / "report"
    paths = write_report(report, out)
    demo.cli.stdout.write("Commissioners' report for the demo area (fictional data)\n\n")
    demo.cli.stdout.write(summary_lines(report))
    demo.cli.stdout.write(f"\nwrote {', '.join(p.name for p in paths)} to {out}\n\n")


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """The ``report`` subcommand."""
    register(
        Command(
            "report",
            "write the commissioners' report (HTML, CSV, JSON)",
            _run,
            _configure,
            description="Availability of mutual aid, access to it (the FAMA funnel, small "
            "counts withheld) and the partnership's self-assessment with its action plan, "
            "as one self-contained HTML file plus CSV and JSON.",
        )
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """The demo area's report, after the sample journeys."""
    register(DemoStep("commissioners-report", 70, _demo))
