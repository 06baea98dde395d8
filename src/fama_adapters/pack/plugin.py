"""Built-in plugin: ``fama pack`` and the demo step that writes each demo client's pack.

``fama pack --events CLIENT.jsonl --directory DIR --request REQ.json --out
pack.html`` folds the client's events (goals, literacy support, the
outstanding commitment), matches meetings for the request, and writes the
pack; ``--pdf`` also prints it with headless Chromium when installed.

The demo step (order 40) builds, for each demo client, the pack they took home
from session one (events up to that day, meetings matched for the following
week from ``examples/meetings/clients.json``), and pairs the nervous client
with a volunteer for the meeting committed to in session two, applying the
``AccompanimentArranged`` event through the workflow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fama_adapters.cli import (
    EXIT_OK,
    EXIT_PARTIAL,
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    render_table,
)
from fama_adapters.hookspecs import hookimpl
from fama_adapters.meetings.plugin import load_request
from fama_adapters.meetings.store import load_directory
from fama_adapters.pack.chromium import ChromiumMissing, print_pdf
from fama_adapters.pack.html import build_pack, render_pack
from fama_core.accompaniment import Volunteer, VolunteerRegister, arrange
from fama_core.codes import AttendanceMode
from fama_core.directory import MeetingDirectory
from fama_core.errors import FamaError, InvalidRecord
from fama_core.events import Event, Session1Held, Session2Held, events_from_json_lines
from fama_core.matching import Availability, Occurrence, Preferences, match_meetings
from fama_core.state import ClientState
from fama_core.workflow import apply
from fama_core.workflow import fold as _fold

__all__ = ["fama_register_commands", "fama_register_demo_steps", "fold"]


def fold(events: list[Event]) -> ClientState:
    """Fold one client's stored events through the workflow, as a replay does.

    An event that breaks only a rule added after it was written
    (:data:`~fama_core.workflow.NEWER_RULES`) is kept and flagged on its episode;
    any other refusal raises.
    """
    state: ClientState | None = None
    for event in events:
        # A stored log: a rule added since it was written flags the event, as a replay does.
        state = _fold((event,), state, flag_newer_rules=True)
    if state is None:
        raise FamaError("no events for the client")
    return state


def _read_events(path: Path) -> list[Event]:
    events: list[Event] = []
    with path.open("rb") as fh:
        for _number, result in events_from_json_lines(fh):
            if isinstance(result, InvalidRecord):
                raise FamaError(f"{path.name}: {result}")
            events.append(result)
    return events


def _run_pack(args: argparse.Namespace, ctx: CliContext) -> int:
    state = fold(_read_events(Path(args.events)))
    directory = load_directory(args.directory)
    request = load_request(args.request)
    prepared = args.prepared_on or request.availability.week_starts
    result = match_meetings(directory, request.preferences, request.availability, today=prepared)
    pack = build_pack(
        state,
        result.chosen,
        prepared_on=prepared,
        limit=args.limit,
        large_type=True if args.large_type else None,
        include_notes=args.include_notes,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_pack(pack), "utf-8")
    payload: dict[str, Any] = {
        "html": str(out),
        "meetings": [m.meeting.meeting_id for m in pack.meetings],
        "goals": len(pack.goals),
        "large_type": pack.large_type,
    }
    lines = [f"wrote {out}: {len(pack.meetings)} meetings, {len(pack.goals)} goals"]
    code = EXIT_OK
    if args.pdf:
        pdf = out.with_suffix(".pdf")
        try:
            print_pdf(out, pdf)
            payload["pdf"] = str(pdf)
            lines.append(f"wrote {pdf}")
        except ChromiumMissing as exc:
            payload["pdf_error"] = str(exc)
            lines.append(f"no PDF: {exc}")
            code = EXIT_PARTIAL
    ctx.emit(payload, "\n".join(lines))
    return code


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("dates are YYYY-MM-DD") from None


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", required=True, help="the client's events (JSON lines)")
    p.add_argument("--directory", required=True, help="saved meeting directory (import --out)")
    p.add_argument("--request", required=True, help="JSON with preferences and availability")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--prepared-on", type=_date, help="date printed (default: the week's start)")
    p.add_argument("--limit", type=int, default=8, help="meetings on hand-out 6a (default 8)")
    p.add_argument("--large-type", action="store_true", help="large type (literacy support)")
    p.add_argument("--include-notes", action="store_true", help="print goal descriptions too")
    p.add_argument("--pdf", action="store_true", help="also print a PDF with headless Chromium")


# ----------------------------------------------------------------------- demo


def _until_first_session(events: list[Event]) -> list[Event]:
    day = next(e.occurred_on for e in events if isinstance(e, Session1Held))
    return [e for e in events if e.occurred_on <= day]


def _demo_step(demo: DemoContext) -> None:
    folder = demo.examples / "meetings"
    directory: MeetingDirectory = demo.data["meetings"]
    clients = json.loads((folder / "clients.json").read_text("utf-8"))
    events_by_client: dict[str, list[Event]] = demo.data["events"]
    packs = demo.out / "packs"
    packs.mkdir(parents=True, exist_ok=True)
    w = demo.cli.stdout.write
    w("Client packs: meetings matched for the week after session 1 (examples/meetings)\n\n")
    rows = []
    for client_id, events in sorted(events_by_client.items()):
        profile = clients.get(client_id)
        if profile is None:
            continue
        early = _until_first_session(events)
        state = fold(early)
        session_day = early[-1].occurred_on
        availability = Availability.model_validate(
            {**profile["availability"], "week_starts": session_day + dt.timedelta(days=1)}
        )
        preferences = Preferences.model_validate(profile["preferences"])
        result = match_meetings(directory, preferences, availability, today=session_day)
        pack = build_pack(state, result.chosen, prepared_on=session_day)
        (packs / f"{client_id}.html").write_text(render_pack(pack), "utf-8")
        best = result.chosen[0] if result.chosen else None
        rows.append(
            (
                client_id,
                profile.get("note", "")[:44],
                len(result.chosen),
                len(result.excluded),
                f"{best.meeting.name} ({best.next.label()})" if best else "-",
                "large" if pack.large_type else "normal",
            )
        )
    table = render_table(
        ("client", "preferences", "can attend", "excluded", "top match", "type"), rows
    )
    # Indented, so steps whose tests find their own rows by a leading client id still can.
    w("".join("  " + line + "\n" for line in table.splitlines()))
    w(f"  packs written to {packs}\n\n")
    _demo_pairing(demo, directory, events_by_client)


def _demo_pairing(
    demo: DemoContext, directory: MeetingDirectory, events_by_client: dict[str, list[Event]]
) -> None:
    """Pair the nervous demo client with a volunteer for the meeting committed to."""
    w = demo.cli.stdout.write
    folder = demo.examples / "meetings"
    register = VolunteerRegister(
        Volunteer.model_validate(v)
        for v in json.loads((folder / "volunteers.json").read_text("utf-8"))
    )
    events = events_by_client.get("demo-c003", [])
    session2 = next((e for e in events if isinstance(e, Session2Held) and e.commitment), None)
    if session2 is None or session2.commitment is None:
        return
    before = fold([e for e in events if e.occurred_on < session2.occurred_on] + [session2])
    commitment = session2.commitment
    meeting = next((m for m in directory if m.name == commitment.meeting.name), None)
    if meeting is None:
        return
    # The first occurrence in the week after the session (the commitment's week).
    first, last = session2.occurred_on, session2.occurred_on + dt.timedelta(days=7)
    starts = sorted(
        (start, slot)
        for slot in meeting.slots
        for start in slot.occurrences(meeting.tz, first, last)
    )
    if not starts:
        return
    start, slot = starts[0]
    occurrence = Occurrence(start=start, end=start + slot.duration, mode=AttendanceMode.IN_PERSON)
    event = arrange(
        register,
        meeting,
        occurrence,
        event_id="demo-c003-ep1-pairing",
        client_id=session2.client_id,
        episode_id=session2.episode_id,
        keyworker_id=session2.keyworker_id,
        occurred_on=session2.occurred_on,
        recorded_at=session2.recorded_at,
        arrangement_id="demo-c003-ep1-pair1",
        commitment_id=commitment.commitment_id,
    )
    after = apply(before, event)
    assert after.current is not None
    w("Peer accompaniment (appendix 1), demo-c003\n")
    w(
        f"  {meeting.name}, {occurrence.label()}: paired with "
        f"{event.arrangement.volunteer_id} ({event.arrangement.volunteer_kind.value}); "
        f"recorded as {event.kind}, workflow accepted "
        f"({len(after.current.accompaniments)} arrangement)\n\n"
    )


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``fama pack``."""
    register(
        Command(
            "pack",
            "write a client's pack: hand-outs 6a, 7 and 10 as printable HTML (PDF optional)",
            _run_pack,
            _configure,
        )
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo clients' packs (order 40)."""
    register(DemoStep("packs", 40, _demo_step))
