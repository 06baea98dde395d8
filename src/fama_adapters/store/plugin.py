"""Built-in plugin: the event stores (SQLite, PostgreSQL, memory) and the commands that use them.

Registers the store schemes ``sqlite``, ``postgresql`` (and ``postgres``) and
``memory``; the subcommands ``init``, ``record``, ``show`` and ``replay``; and
a demo step that records the sample caseload into a SQLite store. Every
command takes ``--store URL`` (default: the ``FAMA_STORE`` environment
variable, else ``sqlite:///fama.db``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from fama_adapters.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    printable,
    render_table,
)
from fama_adapters.cli.exit_codes import ExitCode
from fama_adapters.cli.progress import progress_for
from fama_adapters.facade import DueNext, Fama, LineProblem
from fama_adapters.hookspecs import hookimpl
from fama_adapters.meetings.refresh import load_changes
from fama_adapters.store import (
    BUILTIN_STORES,
    DEFAULT_STORE_URL,
    EventStore,
    StoreFactory,
    open_store,
    redact_url,
)
from fama_adapters.views import REDACTED, client_view
from fama_core.errors import ConcurrencyConflict, StoreError
from fama_core.events import events_from_json_lines

__all__ = [
    "fama_register_commands",
    "fama_register_demo_steps",
    "fama_register_event_stores",
    "render_client",
]


# ----------------------------------------------------------------------- stores


@hookimpl
def fama_register_event_stores(register: Callable[[StoreFactory], None]) -> None:
    """The built-in stores."""
    for factory in BUILTIN_STORES.values():
        register(factory)


# ----------------------------------------------------------------------- commands


def _store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        default=None,
        metavar="URL",
        help="event store URL, e.g. sqlite:///fama.db or postgresql://host/db "
        f"(default: $FAMA_STORE, else {DEFAULT_STORE_URL})",
    )


def _store_url(args: argparse.Namespace) -> str:
    return str(args.store or os.environ.get("FAMA_STORE") or DEFAULT_STORE_URL)


def _open(args: argparse.Namespace, ctx: CliContext, *, create: bool = False) -> Fama:
    store = open_store(_store_url(args), create=create, host=ctx.host)
    _say_if_migrated(store, ctx)
    return Fama(store)


def _say_if_migrated(store: EventStore, ctx: CliContext) -> None:
    found = getattr(store, "migrated_from", None)
    if found is not None:
        ctx.stderr.write(
            f"fama: migrated the store {store.url} from layout {found} "
            f"to {getattr(store, 'layout', '?')}\n"
        )


def _run_init(args: argparse.Namespace, ctx: CliContext) -> int:
    url = _store_url(args)
    try:
        store = open_store(url, create=False, host=ctx.host)
        created = False
    except StoreError:
        store = open_store(url, create=True, host=ctx.host)
        created = True
    try:
        stats = store.stats()
    finally:
        store.close()
    ctx.emit(
        {"store": store.url, "created": created, "clients": stats.clients, "events": stats.events},
        f"{'created' if created else 'already a fama store:'} {store.url} "
        f"({_n(stats.clients, 'client')}, {_n(stats.events, 'event')})",
    )
    return EXIT_OK


def _n(count: int, noun: str) -> str:
    """``1 client``, ``2 clients``: a count a person reads."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def _problem_json(p: LineProblem) -> dict[str, Any]:
    return {
        "line": p.line,
        "event_id": p.event_id,
        "error": p.error,
        "condition": p.condition,
        "message": p.message,
    }


def _problem_text(p: LineProblem) -> str:
    condition = f", {p.condition}" if p.condition else ""
    where = f"line {p.line}: "
    # An InvalidRecord's message already starts with the line: say it once.
    message = p.message.removeprefix(where)
    return f"{where}refused ({p.error}{condition}): {message}\n"


def _run_record(args: argparse.Namespace, ctx: CliContext) -> int:
    """Record a JSON-lines file, streaming: each refused line is written as soon as it is settled.

    Nothing grows with the file but the set of client ids: a million refused
    lines are a million lines of output, not a million objects in memory.
    """
    if args.file == "-":
        source: BinaryIO = sys.stdin.buffer
        total = None
    else:
        # An unreadable path is an OSError here, before the store is touched (exit 2).
        source = open(args.file, "rb")  # noqa: SIM115 - closed below
        total = _count_lines(args.file) if ctx.interactive and not ctx.json else None
    out = ctx.stdout
    first = True
    not_one_event = 0

    def on_problem(p: LineProblem) -> None:
        nonlocal first, not_one_event
        if ctx.json:
            out.write(("" if first else ",\n") + "  " + json.dumps(_problem_json(p)))
        else:
            out.write(_problem_text(p))
            not_one_event += p.error == "InvalidRecord" and p.message.endswith(_NOT_ONE_EVENT)
        first = False

    try:
        with _open(args, ctx) as fama, progress_for(ctx, "recording", total) as bar:
            if ctx.json:
                out.write('{"refused": [\n')
            report = fama.record_lines(
                events_from_json_lines(source),
                progress=bar.update,
                flush_every=args.flush_every,
                on_problem=on_problem,
            )
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    if ctx.json:
        totals = {
            "recorded": report.recorded,
            "duplicates": report.duplicates,
            "clients": len(report.clients),
        }
        out.write(("\n" if not first else "") + "],\n" + json.dumps(totals)[1:-1] + "}\n")
    else:
        out.write(
            f"recorded {_n(report.recorded, 'event')} for {_n(len(report.clients), 'client')}; "
            f"{report.duplicates} already recorded; {report.refused} refused\n"
        )
        if not_one_event:  # a pretty-printed document, or a JSON list of events
            out.write(
                f"{_n(not_one_event, 'line')} held no whole event: fama record reads JSON "
                "lines, one event (a JSON object) on each line, as docs/event-reference.md "
                "shows them\n"
            )
    return EXIT_PARTIAL if report.refused else EXIT_OK


# The core's words for a line that is not JSON, or JSON that is not an object.
_NOT_ONE_EVENT = ("(record): not a valid JSON document", "(record): must be an object")


def _configure_record(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "file", nargs="?", default="-", help="JSON-lines file of events (default: -, stdin)"
    )
    _store_option(p)
    p.add_argument(
        "--flush-every",
        type=int,
        default=500,
        metavar="N",
        help="store accepted events every N events, one atomic batch per client (default: 500)",
    )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _due_text(due: DueNext) -> str:
    if due.next_session is None:
        return "next: no open episode (a new one may be opened)\n"
    parts = [f"next: session {due.next_session}"]
    c = due.commitment_to_review
    if c is not None:
        parts.append(
            f"review commitment {c.commitment.commitment_id} "
            f"({c.commitment.meeting.name}, {c.commitment.planned_date})"
        )
    if due.goals_to_review:
        parts.append("review goals " + ", ".join(g.goal.goal_id for g in due.goals_to_review))
    if due.goals_proposed:
        parts.append("proposed goals " + ", ".join(g.goal.goal_id for g in due.goals_proposed))
    parts.extend(f"NOTE {a.text()}" for a in due.meeting_alerts)
    return "; ".join(parts) + "\n"


def render_client(view: dict[str, Any], due: DueNext | None = None) -> str:
    """``fama show``'s text: each episode's sessions, goals, journal, obstacles, then history."""
    out = [f"client {view['client_id']}  version {view['version']}  status {view['status']}\n"]
    for ep in view["episodes"]:
        ended = f"  ended {ep['ended_on']}" if ep.get("ended_on") else ""
        engaged = f"  engaged with {ep['engaged_with']}" if ep.get("engaged_with") else ""
        out.append(
            f"\nepisode {ep['episode_id']}  {ep['status']}  opened {ep['opened_on']} "
            f"by {ep['keyworker_id']}{ended}{engaged}\n"
        )
        sessions = [
            (
                s["number"],
                s["stage"],
                s["held_on"],
                s["keyworker_id"],
                f"{sum(1 for st in s['steps'] if st['status'] == 'done')}/{len(s['steps'])}",
            )
            for s in ep["sessions"]
        ]
        if sessions:
            out.append("\nsessions\n")
            headers = ("#", "session", "held on", "keyworker", "steps done")
            out.append(render_table(headers, sessions))
        if ep["goals"]:
            out.append("\ngoals\n")
            out.append(
                render_table(
                    ("goal", "kind", "status", "target", "meeting", "description"),
                    [
                        (
                            g["goal"]["goal_id"],
                            g["goal"]["kind"],
                            g["status"],
                            _cell(g["goal"].get("target_date")),
                            _cell((g["goal"].get("meeting") or {}).get("name")),
                            _cell(g["goal"].get("description")),
                        )
                        for g in ep["goals"]
                    ],
                )
            )
        if ep["commitments"]:
            out.append("\ncommitments\n")
            out.append(
                render_table(
                    ("commitment", "meeting", "planned", "outcome"),
                    [
                        (
                            c["commitment"]["commitment_id"],
                            c["commitment"]["meeting"]["name"],
                            c["commitment"]["planned_date"],
                            _cell(c.get("outcome")) or "to review",
                        )
                        for c in ep["commitments"]
                    ],
                )
            )
        if ep["journal"]:
            out.append("\njournal\n")
            out.append(
                render_table(
                    ("date", "meeting", "attended", "reactions"),
                    [
                        (j["date"], j["meeting"]["name"], j["attended"], _cell(j.get("reactions")))
                        for j in ep["journal"]
                    ],
                )
            )
        if ep["obstacles"]:
            out.append("\nobstacles\n")
            out.append(
                render_table(
                    ("raised", "obstacle", "response"),
                    [
                        (
                            o["raised_on"],
                            o["record"]["obstacle"],
                            _cell(o["record"].get("response")),
                        )
                        for o in ep["obstacles"]
                    ],
                )
            )
        if ep["accompaniments"]:
            out.append("\naccompaniments\n")
            out.append(
                render_table(
                    ("arrangement", "volunteer", "date", "outcome"),
                    [
                        (
                            a["arrangement"]["arrangement_id"],
                            a["arrangement"]["volunteer_kind"],
                            a["arrangement"]["date"],
                            _cell(a.get("outcome")),
                        )
                        for a in ep["accompaniments"]
                    ],
                )
            )
    if due is not None:
        out.append("\n" + _due_text(due))
    out.append("\nhistory\n")
    out.append(
        render_table(
            ("version", "occurred on", "kind", "event id"),
            [(h["version"], h["occurred_on"], h["kind"], h["event_id"]) for h in view["history"]],
        )
    )
    if view["redacted"]:
        out.append(f"\nfree text shown as {REDACTED}; --reveal shows it\n")
    return "".join(out)


def _run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    with _open(args, ctx) as fama:
        state = fama.state(args.client)
        if state.version == 0:
            ctx.stderr.write(f"fama show: no events for client {args.client} in {fama.store.url}\n")
            return EXIT_FAILED
        view = client_view(state, fama.history(args.client), reveal=args.reveal)
        changes = load_changes(args.meeting_changes) if args.meeting_changes else ()
        due = fama.due_next(args.client, meeting_changes=changes)
    view["due_next"] = due.to_json(reveal=args.reveal)
    ctx.emit(view, render_client(view, due))
    return EXIT_OK


def _configure_show(p: argparse.ArgumentParser) -> None:
    p.add_argument("client", help="the client's id (the event stream)")
    _store_option(p)
    p.add_argument(
        "--meeting-changes",
        help="a change report from fama meetings refresh: flag changed meetings in due-next",
    )
    p.add_argument(
        "--reveal",
        action="store_true",
        help="show free text (notes, reactions …); it is redacted by default",
    )


def _run_replay(args: argparse.Namespace, ctx: CliContext) -> int:
    with _open(args, ctx) as fama:
        total = fama.store.stats().events if ctx.interactive and not ctx.json else None
        with progress_for(ctx, "replaying", total) as bar:
            summary = fama.replay(progress=bar.update)
    rows = sorted(summary.by_status.items())
    text = (
        f"replayed {_n(summary.events, 'event')} of {_n(summary.clients, 'client')}\n\n"
        + render_table(("status", "clients"), rows)
        + "".join(
            f"client {p.client_id} version {p.version}: {p.error}: {p.message}\n"
            for p in summary.problems
        )
        + (
            f"\n{_n(len(summary.flagged), 'stored event')} "
            f"{'breaks' if len(summary.flagged) == 1 else 'break'} rules added since "
            "they were written; "
            "kept as recorded and flagged (docs/decisions.md, W6):\n"
            if summary.flagged
            else ""
        )
        + "".join(
            f"client {f.client_id} episode {f.episode_id} event {f.event_id} ({f.event}): "
            f"{f.rule}: {f.detail}\n"
            for f in summary.flagged
        )
    )
    ctx.emit(
        {
            "clients": summary.clients,
            "events": summary.events,
            "by_status": summary.by_status,
            "problems": [
                {
                    "client_id": p.client_id,
                    "version": p.version,
                    "error": p.error,
                    "message": p.message,
                }
                for p in summary.problems
            ],
            "flagged": [
                {
                    "client_id": f.client_id,
                    "episode_id": f.episode_id,
                    "event_id": f.event_id,
                    "event": f.event,
                    "rule": f.rule,
                    "detail": f.detail,
                }
                for f in summary.flagged
            ],
        },
        text,
    )
    return EXIT_PARTIAL if summary.problems else EXIT_OK


def _run_verify(args: argparse.Namespace, ctx: CliContext) -> int:
    with _open(args, ctx) as fama:
        report = fama.verify()
        url = fama.store.url
    seal_ok = args.expect_seal is None or args.expect_seal == report.seal
    lines = [
        f"client {p.client_id or '(file)'}"
        + (f" version {p.version}" if p.version is not None else "")
        + f": {p.problem}: {p.detail}\n"
        for p in report.problems
    ]
    if not seal_ok:
        lines.append(
            "the seal differs from the one expected: events were added, removed or "
            "rewritten since it was taken\n"
        )
    verdict = "no problems found" if report.ok and seal_ok else "PROBLEMS FOUND"
    text = (
        "".join(lines)
        + f"verified {_n(report.events, 'event')} of {_n(report.streams, 'client')} in {url}: "
        + f"{verdict}\n"
        + f"seal {report.seal}\n"
    )
    ctx.emit(
        {
            "store": url,
            "clients": report.streams,
            "events": report.events,
            "ok": report.ok and seal_ok,
            "problems": [p.to_json() for p in report.problems],
            "seal": report.seal,
            "seal_matches": None if args.expect_seal is None else seal_ok,
        },
        text,
    )
    return ExitCode.OK if report.ok and seal_ok else ExitCode.PARTIAL


def _configure_verify(p: argparse.ArgumentParser) -> None:
    _store_option(p)
    p.add_argument(
        "--expect-seal",
        default=None,
        metavar="SEAL",
        help="the seal a previous `fama verify` printed: also report when events were "
        "removed or rewritten since",
    )


def _run_migrate(args: argparse.Namespace, ctx: CliContext) -> int:
    url = _store_url(args)
    if "://" not in url:
        url = "sqlite:///" + url
    factory = ctx.host.event_stores().get(url.partition("://")[0].lower())
    if args.check:
        if factory is None or factory.layout is None:
            raise StoreError(f"{redact_url(url)}: this kind of store has no layouts to migrate")
        found, current = factory.layout(url)
        pending = found < current
        ctx.emit(
            {"store": redact_url(url), "layout": found, "current": current, "pending": pending},
            f"{redact_url(url)}: layout {found}; this fama writes {current}: "
            + ("run `fama migrate` (take a `fama backup` first)" if pending else "up to date"),
        )
        return ExitCode.PARTIAL if pending else ExitCode.OK
    store = open_store(url, create=False, host=ctx.host)
    try:
        migrated: int | None = getattr(store, "migrated_from", None)
        layout = getattr(store, "layout", None)
    finally:
        store.close()
    ctx.emit(
        {"store": store.url, "migrated_from": migrated, "layout": layout},
        f"{store.url}: "
        + (
            f"migrated from layout {migrated} to {layout}"
            if migrated
            else f"layout {layout}, up to date"
        ),
    )
    return ExitCode.OK


def _configure_migrate(p: argparse.ArgumentParser) -> None:
    _store_option(p)
    p.add_argument(
        "--check",
        action="store_true",
        help="only say whether a migration is pending (exit 1 when it is); change nothing",
    )


def _run_erase(args: argparse.Namespace, ctx: CliContext) -> int:
    # Both confirmations are asked before the store is opened: a usage error does nothing.
    if not args.yes or args.expect_version is None:
        missing = [
            *(["--yes to confirm that erasure cannot be undone"] if not args.yes else []),
            *(
                [
                    "--expect-version N to say which record you erase (N is the version "
                    f"`fama show {args.client}` prints)"
                ]
                if args.expect_version is None
                else []
            ),
        ]
        ctx.stderr.write(
            "fama erase: erasure cannot be undone; nothing was erased: add "
            + " and ".join(missing)
            + "\n"
        )
        return ExitCode.USAGE
    with _open(args, ctx) as fama:
        try:
            done = fama.erase(args.client, expected_version=args.expect_version)
        except ConcurrencyConflict as exc:
            if exc.actual == 0:  # the store compares before it looks the client up
                raise StoreError(
                    f"no events for client {args.client} in {fama.store.url}"
                ) from None
            ctx.stderr.write(
                f"fama erase: client {args.client} is at version {exc.actual}, not "
                f"{args.expect_version}: its record changed since that version was read, so "
                f"nothing was erased; read it again (`fama show {args.client}`) and erase with "
                "the version it prints\n"
            )
            return ExitCode.FAILED
    if done.already:
        text = f"client {done.client_id} was already erased at {done.erased_at}; nothing more to do"
    else:
        text = (
            f"erased client {done.client_id} at {done.erased_at}: its key is deleted, so the free "
            f"text and names in its {done.events} events now read [erased]; ids, codes and dates "
            "stay for counts and NDTMS history"
        )
        if not done.wal_cleared:
            text += (
                "\nthe store's write-ahead log could not be emptied (a reader holds it): "
                "run `fama erase` again once readers are gone"
            )
    ctx.emit(
        {
            "client_id": done.client_id,
            "version": args.expect_version,
            "events": done.events,
            "erased_at": done.erased_at,
            "already": done.already,
            "wal_cleared": done.wal_cleared,
        },
        text,
    )
    return ExitCode.OK


def _stream_version(text: str) -> int:
    """``--expect-version``: a whole number from 1, as ``fama show`` prints it."""
    if not text.isascii() or not text.isdigit() or int(text) < 1 or len(text) > 18:
        raise argparse.ArgumentTypeError(
            "must be a client's version: a whole number from 1, as `fama show CLIENT` prints it"
        )
    return int(text)


def _configure_erase(p: argparse.ArgumentParser) -> None:
    p.add_argument("client", help="the client's id (the event stream)")
    _store_option(p)
    p.add_argument("--yes", action="store_true", help="confirm: erasure cannot be undone")
    p.add_argument(
        "--expect-version",
        type=_stream_version,
        default=None,
        metavar="N",
        help="required: the client's version as `fama show CLIENT` prints it (its first line); "
        "if the record changed since, nothing is erased (exit 3)",
    )


_KIND_WORDS = {
    "episode_opened": "FAMA started",
    "session_1_held": "session 1 (introducing mutual aid)",
    "session_2_held": "session 2 (encouraging engagement)",
    "session_3_held": "session 3 (taking an interest in the experience)",
    "goal_set": "a goal was set",
    "goal_updated": "a goal was changed",
    "journal_entry_recorded": "a meeting from the journal",
    "obstacle_raised": "an obstacle and what was agreed",
    "accompaniment_arranged": "a peer arranged to go along",
    "accompaniment_concluded": "how the accompaniment went",
    "engagement_confirmed": "engaged with a group: FAMA ended",
    "client_declined": "decided not to attend for now: FAMA ended",
    "episode_closed": "FAMA closed",
}
_ENVELOPE = ("kind", "schema_version", "event_id", "client_id", "episode_id", "occurred_on")


def _flatten(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [line for k, v in value.items() for line in _flatten(v, f"{prefix}{k} ")]
    if isinstance(value, list):
        if not value:
            return []
        return [line for i, v in enumerate(value, 1) for line in _flatten(v, f"{prefix}{i} ")]
    words = prefix.strip().replace("_", " ")
    return [f"    {words}: {value}"]


def render_subject_access(export: dict[str, Any]) -> str:
    """``fama subject-export``'s plain-words text of :meth:`Fama.subject_access`."""
    events = export["events"]
    out = [
        f"Everything fama holds about client {export['client_id']}\n",
        f"(from {export['store']}, made {export['generated_at']})\n\n",
        f"fama holds {len(events)} records about this client, made between "
        f"{events[0]['occurred_on']} and {events[-1]['occurred_on']}. It holds:\n",
    ]
    out += [f"  - {h['what']}: {h['why']}\n" for h in export["held"]]
    if export["erased"]:
        out.append(
            f"\nThe written parts of these records were erased on "
            f"{export['erased']['erased_at']}; they show as [erased] below and cannot be "
            "read by anyone any more.\n"
        )
    out.append("\nThe records, oldest first:\n")
    for e in events:
        out.append(
            f"\n{e['version']}. {e['occurred_on']}: {_KIND_WORDS.get(e['kind'], e['kind'])} "
            f"(recorded {e['recorded_at']})\n"
        )
        details = {k: v for k, v in e["event"].items() if k not in _ENVELOPE}
        out += [line + "\n" for line in _flatten(details)]
    return "".join(out)


def _run_subject_export(args: argparse.Namespace, ctx: CliContext) -> int:
    with _open(args, ctx) as fama:
        export = fama.subject_access(args.client)
    text = json.dumps(export, indent=2) + "\n" if ctx.json else render_subject_access(export)
    if args.out:
        try:
            Path(args.out).write_text(text, "utf-8")
        except OSError:
            ctx.stderr.write("fama subject-export: the --out path cannot be written\n")
            return ExitCode.USAGE
        ctx.stderr.write(f"wrote the subject access export for client {args.client} to --out\n")
    else:
        # The words of notes reach a terminal here, past CliContext.emit: made printable too
        # (the file, and --json, keep them exactly).
        ctx.stdout.write(text if ctx.json else printable(text))
    return ExitCode.OK


def _configure_subject_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("client", help="the client's id (the event stream)")
    _store_option(p)
    p.add_argument("--out", default=None, metavar="FILE", help="write to FILE, not stdout")


def _sqlite_path(args: argparse.Namespace) -> Path:
    from fama_adapters.store.sqlite import path_from_url

    url = _store_url(args)
    if not url.startswith("sqlite:") and "://" in url:
        raise StoreError(
            "backup and restore are for the SQLite store; back a PostgreSQL store up with "
            "pg_dump or the server's own backups, then run `fama verify` on the restored copy"
        )
    return Path(path_from_url(url))


def _report_copy(ctx: CliContext, verb: str, where: str, report: Any) -> int:
    ctx.emit(
        {
            verb: where,
            "clients": report.streams,
            "events": report.events,
            "ok": report.ok,
            "problems": [p.to_json() for p in report.problems],
            "seal": report.seal,
        },
        f"{verb} {report.events} events of {report.streams} clients to {where}; verified: "
        + ("no problems found" if report.ok else f"{len(report.problems)} PROBLEMS FOUND")
        + f"\nseal {report.seal}",
    )
    return ExitCode.OK if report.ok else ExitCode.PARTIAL


def _run_backup(args: argparse.Namespace, ctx: CliContext) -> int:
    from fama_adapters.store.sqlite import SqliteEventStore

    with SqliteEventStore(_sqlite_path(args), create=False) as store:
        _say_if_migrated(store, ctx)
        report = store.backup(args.to)
    return _report_copy(ctx, "backed up", "--to", report)


def _configure_backup(p: argparse.ArgumentParser) -> None:
    _store_option(p)
    p.add_argument("--to", required=True, metavar="FILE", help="the backup file (must not exist)")


def _run_restore(args: argparse.Namespace, ctx: CliContext) -> int:
    from fama_adapters.store.sqlite import SqliteEventStore

    path = _sqlite_path(args)
    report = SqliteEventStore.restore(args.backup, path)
    return _report_copy(ctx, "restored", f"sqlite:///{path}", report)


def _configure_restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("backup", help="a backup file made by `fama backup`")
    _store_option(p)


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``init``, ``record``, ``show``, ``replay``, ``verify``, ``migrate``, ``erase``,
    ``subject-export``, ``backup`` and ``restore``."""
    register(
        Command(
            "backup",
            "copy a SQLite store to a new file while it is being written, and verify the copy",
            _run_backup,
            _configure_backup,
            "SQLite's online backup: one consistent snapshot, writers carry on. The copy is "
            "verified (every hash chain) and its seal printed. A backup made before an erasure "
            "still holds that client's key: see docs/data-protection.md.",
        )
    )
    register(
        Command(
            "restore",
            "make a SQLite store from a backup file, after verifying the backup",
            _run_restore,
            _configure_restore,
            "Refuses to overwrite an existing store and to restore a backup that does not "
            "verify. After a restore, erase again every client erased since the backup was made.",
        )
    )
    register(
        Command(
            "erase",
            "erase a client's personal text for good (deletes its key; --yes --expect-version N)",
            _run_erase,
            _configure_erase,
            "Crypto-shredding: the client's personal text is stored encrypted under a key of "
            "its own; this deletes the key, so notes, descriptions, reactions and meeting names "
            "read [erased] from now on, everywhere, including backups made afterwards. Ids, "
            "codes and dates stay, so counts and NDTMS history still add up and `fama verify` "
            "still passes. See docs/data-protection.md.",
        )
    )
    register(
        Command(
            "subject-export",
            "everything fama holds about a client, in plain words (or --json)",
            _run_subject_export,
            _configure_subject_export,
            "For a subject access request: what fama holds and why, whether it was erased, "
            "and every record in full, personal text included (the subject's own data: "
            "deliver it securely).",
        )
    )
    register(
        Command(
            "verify",
            "check every stream's hash chain: report edited, removed or moved events",
            _run_verify,
            _configure_verify,
            "Reads the whole store and checks each event against its hash and its "
            "predecessor's, and each stream's head; reports the client, version and kind of "
            "problem (never the content) and prints the store's seal. Keep the seal outside "
            "the store and pass it back with --expect-seal to show nothing was removed or "
            "rewritten since. Exit 1 when anything was found.",
        )
    )
    register(
        Command(
            "migrate",
            "bring the store to this fama's layout (or --check whether one is pending)",
            _run_migrate,
            _configure_migrate,
            "Stores of an older layout are migrated when opened by any command; this does it "
            "on purpose and says what it did. Each step is one transaction. With --check "
            "nothing changes and the exit code is 1 when a migration is pending.",
        )
    )
    register(
        Command(
            "init",
            "create an event store (or check one exists)",
            _run_init,
            _store_option,
            "Create the event store named by --store or $FAMA_STORE; harmless when it exists.",
        )
    )
    register(
        Command(
            "record",
            "append events from a JSON-lines file or stdin, reporting each refused line",
            _run_record,
            _configure_record,
            "Each line is one event (see `fama schema`). Every event is checked against the "
            "workflow; a refused or invalid line is reported with its number and reason and "
            "the rest carries on. Exit 1 when any line was refused.",
        )
    )
    register(
        Command(
            "show",
            "a client's state, goals, journal, what is due next and history",
            _run_show,
            _configure_show,
        )
    )
    register(
        Command(
            "replay",
            "fold every client's events and summarise by status",
            _run_replay,
            _store_option,
            "Read the whole store, fold each client's stream through the workflow and count "
            "clients by status; exit 1 when a stream no longer folds.",
        )
    )


# ----------------------------------------------------------------------- demo


def _store_step(demo: DemoContext) -> None:
    events = demo.data.get("events")
    if not events:
        return
    db = demo.out / "fama.db"
    for leftover in (db, db.with_name("fama.db-wal"), db.with_name("fama.db-shm")):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    write = demo.cli.stdout.write
    with Fama.open(url, create=True) as fama:
        recorded = sum(len(fama.record(batch).stored) for batch in events.values())
        repeats = sum(len(fama.record(batch).duplicates) for batch in events.values())
        client = next(iter(events))
        state = fama.state(client)
        view = client_view(state, fama.history(client))
        due = fama.due_next(client)
    write(f"Event store: recorded {recorded} events of {len(events)} clients into {url}\n")
    write(f"Sending every event again stores nothing new: {repeats} duplicates recognised.\n\n")
    write(f"$ fama show {client} --store {url}\n")
    write(render_client(view, due))
    fama_cmd = "fama" if shutil.which("fama") else ".venv/bin/fama"
    write(f"\nTry: {fama_cmd} replay --store {url}\n\n")


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Record the sample caseload into ``out/demo/fama.db`` and show one client."""
    register(DemoStep("event store", 50, _store_step))
