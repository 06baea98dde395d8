"""Built-in plugin: meeting sources, ``fama meetings import|match|sources`` and a demo step.

``fama meetings import LOCATION`` reads a feed or list (``--format``
``meeting-guide`` or ``csv``, or any a plugin registers), reports each bad
entry by position, flags stale listings and, with ``--out``, saves the
normalised directory. ``fama meetings match DIRECTORY --request FILE`` ranks
the meetings for one client's preferences and availability, with reasons.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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
from fama_adapters.meetings.hsds import Profile, directory_to_hsds
from fama_adapters.meetings.refresh import (
    RefreshReport,
    changes_json,
    read_sources_file,
    refresh_sources,
)
from fama_adapters.meetings.report import ImportOptions, ImportReport
from fama_adapters.meetings.sources import BUILTIN_SOURCES, MeetingSource
from fama_adapters.meetings.store import DirectoryWriter, dump_directory, load_directory
from fama_adapters.report.io import load_caseload
from fama_core import safe_json
from fama_core.directory import DEFAULT_MAX_AGE_DAYS, Meeting, MeetingDirectory
from fama_core.errors import FamaError, InputUnreadable, invalid_record_from_pydantic
from fama_core.matching import MatchRequest, MatchResult, match_meetings
from fama_core.refresh import ChangeKind
from fama_core.state import ClientState

__all__ = [
    "fama_register_commands",
    "fama_register_demo_steps",
    "fama_register_meeting_sources",
    "import_sources",
    "load_request",
    "match_rows",
    "refresh_text",
]


def load_request(path: str | Path) -> MatchRequest:
    """Read a match request (``{"preferences": …, "availability": …}``) from JSON."""
    p = Path(path)
    try:
        raw = safe_json.loads(p.read_bytes(), source=p.name)
    except OSError as exc:
        raise FamaError(f"{p.name}: cannot read ({type(exc).__name__})") from exc
    try:
        return MatchRequest.model_validate(raw)
    except ValidationError as exc:
        raise invalid_record_from_pydantic(exc, record=p.name, kind="match request") from None


def _report_json(report: ImportReport, today: dt.date, max_age: int) -> dict[str, Any]:
    return {
        "source": report.source,
        **report.summary(today, max_age),
        "problems": [
            {
                "record": p.record,
                "fields": [
                    {"field": f.location, "code": f.code, "reason": f.reason} for f in p.problems
                ],
            }
            for p in report.problems
        ],
        "warnings": report.warnings,
        "stale_meetings": [m.meeting_id for m in report.stale(today, max_age)],
    }


class _Tally:
    """Stale listings counted as meetings stream past (their ids listed up to a limit)."""

    LISTED = 1000

    def __init__(self, today: dt.date, max_age: int) -> None:
        self.today, self.max_age = today, max_age
        self.stale = 0
        self.stale_ids: list[str] = []

    def see(self, meeting: Meeting) -> None:
        if meeting.is_stale(self.today, self.max_age):
            self.stale += 1
            if len(self.stale_ids) < self.LISTED:
                self.stale_ids.append(meeting.meeting_id)


def _run_import(args: argparse.Namespace, ctx: CliContext) -> int:
    sources: dict[str, MeetingSource] = ctx.host.meeting_sources()
    fmt = args.format or ("csv" if args.location.lower().endswith(".csv") else "meeting-guide")
    if fmt not in sources:
        ctx.stderr.write(
            f"fama meetings import: no format {fmt}; choose from {', '.join(sources)}\n"
        )
        return EXIT_USAGE
    today = args.today or dt.date.today()
    tally = _Tally(today, args.max_age_days)
    # Meetings stream from the reader to the directory file: memory stays flat in the feed's size.
    with DirectoryWriter(args.out) if args.out else nullcontext() as writer:

        def sink(meeting: Meeting) -> None:
            tally.see(meeting)
            if writer is not None:
                writer.write(meeting)

        options = ImportOptions(
            organisation=args.organisation,
            timezone=args.timezone,
            strict=args.strict,
            formats=args.formats_file,
            sink=sink,
        )
        report = sources[fmt].load(args.location, options=options, client=None)
        for meeting in report.meetings:  # a plugin's source that keeps its meetings
            sink(meeting)
    counts = {**report.summary(today, args.max_age_days), "stale": tally.stale}
    lines = [
        f"{report.source}: {counts['imported']} of {counts['entries']} meetings imported, "
        f"{counts['refused']} refused, {counts['stale']} not verified in {args.max_age_days} days"
    ]
    lines += [f"  refused {p}" for p in report.problems]
    if counts["refused"] > len(report.problems):
        lines.append(f"  … and {counts['refused'] - len(report.problems)} more refused (not kept)")
    lines += [f"  warning {w}" for w in report.warnings[: args.max_warnings]]
    if counts["warnings"] > args.max_warnings:
        lines.append(f"  … and {counts['warnings'] - args.max_warnings} more warnings (--json)")
    if args.out:
        lines.append(f"wrote {args.out}")
    payload = {
        **_report_json(report, today, args.max_age_days),
        "stale": tally.stale,
        "stale_meetings": tally.stale_ids,
    }
    ctx.emit(payload, "\n".join(lines))
    return EXIT_PARTIAL if report.problems else EXIT_OK


def match_rows(result: MatchResult, limit: int) -> list[tuple[object, ...]]:
    """Table rows for the chosen meetings: rank, meeting, organisation, when, score, why."""
    rows: list[tuple[object, ...]] = []
    for rank, item in enumerate(result.chosen[:limit], start=1):
        why = "; ".join(r.text for r in item.reasons[1:]) or "-"
        rows.append(
            (rank, item.meeting.name, item.meeting.organisation, item.next.label(), item.score, why)
        )
    return rows


def _load_any(
    location: str, ctx: CliContext, args: argparse.Namespace
) -> tuple[MeetingDirectory, int]:
    """The directory at ``location`` (saved, or a feed imported on the fly) and how many
    of the feed's entries were refused (each reported on standard error)."""
    if location.endswith(".json"):
        try:
            head = safe_json.loads(Path(location).read_bytes(), source=Path(location).name)
        except (OSError, InputUnreadable):
            head = None  # the feed reader below says what is wrong with it
        if isinstance(head, dict) and "format" in head:
            return load_directory(location), 0
    sources: dict[str, MeetingSource] = ctx.host.meeting_sources()
    fmt = "csv" if location.lower().endswith(".csv") else "meeting-guide"
    report = sources[fmt].load(
        location, options=ImportOptions(organisation=args.organisation), client=None
    )
    for problem in report.problems:
        ctx.stderr.write(f"refused {problem}\n")
    return MeetingDirectory(report.meetings), len(report.problems)


def _run_match(args: argparse.Namespace, ctx: CliContext) -> int:
    directory, refused = _load_any(args.directory, ctx, args)
    request = load_request(args.request)
    result = match_meetings(directory, request.preferences, request.availability, today=args.today)
    payload = {
        "chosen": [
            {
                "meeting_id": m.meeting.meeting_id,
                "name": m.meeting.name,
                "organisation": m.meeting.organisation,
                "score": m.score,
                "occurrences": [
                    {"start": o.start.isoformat(), "end": o.end.isoformat(), "mode": o.mode.value}
                    for o in m.occurrences
                ],
                "reasons": [{"code": r.code.value, "text": r.text} for r in m.reasons],
            }
            for m in result.chosen[: args.limit]
        ],
        "excluded": [
            {
                "meeting_id": x.meeting.meeting_id,
                "name": x.meeting.name,
                "reasons": [{"code": r.code.value, "text": r.text} for r in x.reasons],
            }
            for x in result.excluded
        ],
    }
    text = render_table(
        ("#", "meeting", "org", "next (client's time)", "score", "why"),
        match_rows(result, args.limit),
    )
    text += f"{len(result.chosen)} can be attended, {len(result.excluded)} excluded"
    if args.show_excluded:
        text += ":\n" + render_table(
            ("meeting", "why not"),
            [(x.meeting.name, "; ".join(r.text for r in x.reasons)) for x in result.excluded],
        )
    if refused:
        text += f"\n{refused} entries of the meeting list refused (see above); ranked without them"
    ctx.emit({**payload, "refused": refused}, text)
    return EXIT_PARTIAL if refused else EXIT_OK  # a partial list is a partial answer


def _run_sources(args: argparse.Namespace, ctx: CliContext) -> int:
    sources: dict[str, MeetingSource] = ctx.host.meeting_sources()
    ctx.emit(
        [{"name": s.name, "description": s.description} for s in sources.values()],
        render_table(("format", "what"), [(s.name, s.description) for s in sources.values()]),
    )
    return EXIT_OK


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("dates are YYYY-MM-DD") from None


def _instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("times are ISO 8601, e.g. 2026-03-02T09:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def refresh_text(report: RefreshReport) -> str:
    """The refresh report for people: per source counts, each change, the clients concerned."""
    rows = [
        (
            s.entry.label,
            s.count(ChangeKind.ADDED),
            s.count(ChangeKind.CHANGED),
            s.count(ChangeKind.REMOVED),
            len(s.report.problems) if s.report else 0,
            "failed: previous meetings kept" if s.failure else "read",
        )
        for s in report.sources
    ]
    out = [render_table(("source", "added", "changed", "removed", "refused", "status"), rows)]
    for s in report.sources:
        if s.failure:
            out.append(f"  {s.entry.label}: {s.failure}\n")
        out.extend(f"  {s.entry.label}: {c.text()}\n" for c in s.changes)
        if s.report:
            out.extend(f"  {s.entry.label}: refused {p}\n" for p in s.report.problems)
    if report.alerts:
        out.append("Open commitments and accompaniments whose meeting changed:\n")
        out.extend(f"  {a.client_id}: {a.text()}\n" for a in report.alerts)
    else:
        out.append("No open commitment or accompaniment refers to a changed meeting.\n")
    return "".join(out)


def _run_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    entries = read_sources_file(args.sources)
    directory = Path(args.directory)
    previous = list(load_directory(directory)) if directory.exists() else []
    states: list[ClientState] = []
    if args.events:
        caseload, problems = load_caseload(Path(p) for p in args.events)
        for problem in problems:
            ctx.stderr.write(f"fama meetings refresh: {problem}\n")
        states = list(caseload.values())
    now = args.now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    report = refresh_sources(
        entries,
        previous,
        ctx.host.meeting_sources(),
        now=now,
        states=states,
        strict=args.strict,
    )
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.write_text(dump_directory(report.meetings), "utf-8")
    changes_path = Path(args.changes) if args.changes else directory.with_suffix(".changes.json")
    payload = changes_json(report)
    changes_path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", "utf-8")
    text = refresh_text(report)
    text += f"wrote {directory} ({len(report.meetings)} meetings) and {changes_path}"
    ctx.emit(payload, text)
    return EXIT_PARTIAL if report.partial else EXIT_OK


def _run_export(args: argparse.Namespace, ctx: CliContext) -> int:
    directory = load_directory(args.directory)
    profile: Profile = "hsds" if args.format == "hsds" else "uk"
    document = directory_to_hsds(directory, profile=profile, on=args.on or dt.date.today())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
    ctx.emit(
        {"services": document["total_items"], "format": args.format, "out": str(out)},
        f"wrote {document['total_items']} services ({args.format}) to {out}",
    )
    return EXIT_OK


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import a meeting feed or hand-kept list")
    imp.add_argument("location", help="file path, or http(s) URL of a Meeting Guide feed")
    imp.add_argument("--format", help="meeting-guide, csv or bmlt (default: by file extension)")
    imp.add_argument("--organisation", default="aa", help="organisation of the feed (default aa)")
    imp.add_argument(
        "--timezone",
        type=time_zone,
        help="zone of meetings naming none (else Europe/London, with a warning)",
    )
    imp.add_argument(
        "--strict",
        action="store_true",
        help="refuse meetings whose zone is neither in the feed nor given",
    )
    imp.add_argument(
        "--formats-file",
        help="bmlt: a saved GetFormats answer, for search results without formats",
    )
    imp.add_argument("--out", help="save the normalised directory here (JSON)")
    imp.add_argument("--today", type=_date, help="date for the staleness check (YYYY-MM-DD)")
    imp.add_argument(
        "--max-age-days",
        type=int,
        default=DEFAULT_MAX_AGE_DAYS,
        help=f"flag listings older than this (default {DEFAULT_MAX_AGE_DAYS})",
    )
    imp.add_argument("--max-warnings", type=int, default=20, help="warnings printed (default 20)")
    imp.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    imp.set_defaults(run=_run_import)
    mat = sub.add_parser("match", help="rank the meetings a client can attend, with reasons")
    mat.add_argument("directory", help="saved directory (from import --out) or a feed / CSV")
    mat.add_argument("--request", required=True, help="JSON with preferences and availability")
    mat.add_argument("--organisation", default="aa", help="organisation when reading a raw feed")
    mat.add_argument("--today", type=_date, help="date for the staleness check")
    mat.add_argument("--limit", type=int, default=10, help="how many to list (default 10)")
    mat.add_argument("--show-excluded", action="store_true", help="list excluded meetings too")
    mat.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    mat.set_defaults(run=_run_match)
    ref = sub.add_parser(
        "refresh", help="re-read every source of a sources file and report what changed"
    )
    ref.add_argument("sources", help="the sources file (JSON: file or url, format, organisation)")
    ref.add_argument(
        "--directory", required=True, help="the saved directory to compare with and update"
    )
    ref.add_argument(
        "--events",
        nargs="*",
        default=[],
        help="JSON-lines event logs: clients whose open commitments to check",
    )
    ref.add_argument(
        "--changes", help="write the change report here (default: DIRECTORY.changes.json)"
    )
    ref.add_argument(
        "--strict",
        action="store_true",
        help="refuse meetings whose zone is neither in the feed nor in the sources file",
    )
    ref.add_argument("--now", type=_instant, help=argparse.SUPPRESS)
    ref.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    ref.set_defaults(run=_run_refresh)
    exp = sub.add_parser("export", help="write the directory as Open Referral (HSDS 3.0) services")
    exp.add_argument("directory", help="saved directory (from import --out or refresh)")
    exp.add_argument(
        "--format",
        choices=("openreferral-uk", "hsds"),
        default="openreferral-uk",
        help="the Open Referral UK profile (default) or full HSDS 3.0 with UTC offsets",
    )
    exp.add_argument("--on", type=_date, help="date of the UTC offsets in HSDS output (today)")
    exp.add_argument("--out", required=True, help="the JSON file to write")
    exp.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    exp.set_defaults(run=_run_export)
    src = sub.add_parser("sources", help="list the meeting-list formats available")
    src.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    src.set_defaults(run=_run_sources)


def _run(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.json = bool(getattr(args, "json", False))
    run: Callable[[argparse.Namespace, CliContext], int] = args.run
    return run(args, ctx)


def import_sources(folder: Path, host: Any) -> tuple[list[Meeting], list[ImportReport]]:
    """Import every source listed in ``folder/sources.json`` (the demo's sample feeds)."""
    index = json.loads((folder / "sources.json").read_text("utf-8"))
    sources: dict[str, MeetingSource] = host.meeting_sources()
    meetings: list[Meeting] = []
    reports = []
    for item in index:
        options = ImportOptions(organisation=item["organisation"], timezone=item.get("timezone"))
        report = sources[item["format"]].load(str(folder / item["file"]), options=options)
        reports.append(report)
        meetings.extend(report.meetings)
    return meetings, reports


def _demo_step(demo: DemoContext) -> None:
    folder = demo.examples / "meetings"
    meetings, reports = import_sources(folder, demo.cli.host)
    directory = MeetingDirectory(meetings)
    demo.data["meetings"] = directory
    out = demo.out / "meetings"
    out.mkdir(parents=True, exist_ok=True)
    (out / "directory.json").write_text(dump_directory(directory), "utf-8")
    today = dt.date(2026, 3, 2)  # the demo caseload's first session
    w = demo.cli.stdout.write
    w("Meeting directory (examples/meetings)\n\n")
    rows = [
        (r.source, r.entries, len(r.meetings), len(r.problems), len(r.stale(today)))
        for r in reports
    ]
    w(render_table(("source", "entries", "imported", "refused", "stale"), rows))
    for r in reports:
        for p in r.problems:
            w(f"  refused {p}\n")
    orgs = ", ".join(directory.organisations())
    w(f"  {len(directory)} meetings of {orgs}; saved {out / 'directory.json'}\n\n")
    later = folder / "later" / "sources.json"
    if later.is_file():  # the same sources read again a week later, with changes
        caseload: dict[str, ClientState] = demo.data.get("caseload", {})
        refreshed = refresh_sources(
            read_sources_file(later),
            list(directory),
            demo.cli.host.meeting_sources(),
            now=dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC),
            states=caseload.values(),
        )
        (out / "directory-later.json").write_text(dump_directory(refreshed.meetings), "utf-8")
        changes = json.dumps(changes_json(refreshed), indent=1, ensure_ascii=False)
        (out / "directory-later.changes.json").write_text(changes + "\n", "utf-8")
        w("Meeting directory refreshed a week later (examples/meetings/later)\n\n")
        w("".join("  " + line + "\n" for line in refresh_text(refreshed).splitlines()))
        w(f"  saved {out / 'directory-later.json'} and its change report\n\n")


@hookimpl
def fama_register_meeting_sources(register: Callable[[MeetingSource], None]) -> None:
    """The Meeting Guide JSON, hand-kept CSV, BMLT and Open Referral (HSDS) sources."""
    for source in BUILTIN_SOURCES:
        register(source)


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``fama meetings``."""
    register(
        Command(
            "meetings",
            "import meeting lists and match meetings to a client",
            _run,
            _configure,
            description="Import meeting feeds (Meeting Guide JSON, BMLT, hand-kept CSV), "
            "flag stale listings, and rank meetings a client can attend, with reasons.",
        )
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Import the sample feeds (order 30)."""
    register(DemoStep("meetings", 30, _demo_step))
