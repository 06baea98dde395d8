"""Built-in plugin: the ``fhir-r4`` record system, the ``fama fhir`` command and a demo step.

Registered like any third-party plugin (listed in
:data:`fama_adapters.plugins.BUILTIN_PLUGINS`), so it doubles as an example.
The demo step writes each demo client's transaction Bundle and fama's
hand-out 10 Questionnaire under ``out/demo/fhir/``, then posts every bundle
twice to a loopback :class:`~fama_adapters.fhir.testing.FakeFhirServer` to
show that resubmission creates nothing.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from fama_adapters import net
from fama_adapters.cli import (
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    ExitCode,
    render_table,
)
from fama_adapters.fhir import tables
from fama_adapters.fhir.questionnaire import QUESTIONNAIRE_FILE, journal_questionnaire
from fama_adapters.hookspecs import hookimpl
from fama_adapters.record_systems import RecordSystem
from fama_core.errors import (
    FamaError,
    InputUnreadable,
    InvalidRecord,
    invalid_record_from_pydantic,
)
from fama_core.events import Event, events_from_json_lines
from fama_core.models import Organisation
from fama_core.state import ClientState
from fama_core.workflow import fold

if TYPE_CHECKING:
    from fama_adapters.fhir.mapping import WriteMode

__all__ = [
    "fama_register_commands",
    "fama_register_demo_steps",
    "fama_register_record_systems",
]


@hookimpl
def fama_register_record_systems(register: Callable[[RecordSystem], None]) -> None:
    """The FHIR R4 record system, named ``fhir-r4``."""
    from fama_adapters.fhir.adapter import FhirR4RecordSystem

    register(FhirR4RecordSystem())


def _demo(demo: DemoContext) -> None:
    import httpx

    from fama_adapters.fhir.adapter import FhirR4RecordSystem
    from fama_adapters.fhir.client import FhirClient
    from fama_adapters.fhir.testing import FakeFhirServer

    folder = demo.out / "fhir"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / QUESTIONNAIRE_FILE).write_text(
        json.dumps(journal_questionnaire(), indent=2) + "\n", "utf-8"
    )
    system = FhirR4RecordSystem()
    caseload = demo.data.get("caseload", {})
    events = demo.data.get("events", {})
    rows = []
    with FakeFhirServer() as server, httpx.Client(timeout=10.0) as http:
        client = FhirClient(server.base_url, http)
        for client_id, state in caseload.items():
            (doc,) = system.outbound(state, events.get(client_id, []))
            (folder / doc.name).write_bytes(doc.content)
            bundle = json.loads(doc.content)
            started = time.perf_counter()
            first = client.submit(bundle)
            again = client.submit(bundle)
            ms = (time.perf_counter() - started) * 1000
            kinds: dict[str, int] = {}
            for entry in bundle["entry"]:
                rtype = entry["resource"]["resourceType"]
                kinds[rtype] = kinds.get(rtype, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            rows.append((client_id, summary, first.created, again.created, f"{ms:.0f}"))
        held = server.count()
    demo.cli.stdout.write(f"FHIR R4 transaction bundles ({folder})\n\n")
    demo.cli.stdout.write(
        render_table(
            ("client", "resources", "created", "created on resubmission", "ms (both posts)"),
            rows,
        )
    )
    demo.cli.stdout.write(
        f"\nloopback FHIR server holds {held} resources after every bundle was sent twice\n\n"
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo caseload as FHIR bundles and show idempotent resubmission."""
    register(DemoStep("fhir-r4", 40, _demo))


# ------------------------------------------------------------------ fama fhir


def _caseload(
    path: Path, ctx: CliContext
) -> tuple[dict[str, tuple[ClientState, list[Event]]], int]:
    """Fold a JSON-lines event log per client; bad or refused events are reported, not fatal."""
    states: dict[str, tuple[ClientState, list[Event]]] = {}
    bad = 0
    with path.open("rb") as fh:
        for number, result in events_from_json_lines(fh):
            if isinstance(result, InvalidRecord):
                ctx.stderr.write(f"fama fhir: {result}\n")
                bad += 1
                continue
            before = states.get(result.client_id)
            try:
                # A stored log: a rule added since it was written flags the event, as a replay does.
                state = fold((result,), before[0] if before else None, flag_newer_rules=True)
            except FamaError as exc:
                ctx.stderr.write(f"fama fhir: line {number}: {exc}\n")
                bad += 1
                continue
            events = before[1] if before else []
            events.append(result)
            states[result.client_id] = (state, events)
    return states, bad


def _run_fhir(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.action == "questionnaire":
        ctx.stdout.write(json.dumps(journal_questionnaire(), indent=2) + "\n")
        return ExitCode.OK
    if args.action == "terminology":
        return _terminology(args, ctx)
    if args.action == "docs":
        target = Path(args.file)
        current = target.read_text("utf-8")
        fresh = tables.update_markdown(current)
        if args.check:
            ctx.emit(
                {"stale": fresh != current},
                f"{target} is " + ("stale" if fresh != current else "current"),
            )
            return ExitCode.PARTIAL if fresh != current else ExitCode.OK
        target.write_text(fresh, "utf-8")
        ctx.emit({"written": str(target)}, f"wrote {target}")
        return ExitCode.OK
    if args.events is None:
        ctx.stderr.write(f"fama fhir {args.action}: give the events file (JSON lines)\n")
        return ExitCode.USAGE
    from fama_adapters.fhir.mapping import client_bundle

    caseload, bad = _caseload(Path(args.events), ctx)
    write: WriteMode = "upsert" if args.upsert else "create"
    rows: list[tuple[object, ...]] = []
    failed = 0
    if args.action == "bundle":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for client_id, (state, events) in caseload.items():
            try:
                bundle = client_bundle(state, events, write=write)
            except FamaError as exc:  # one client's record must not stop the others
                failed += 1
                ctx.stderr.write(f"fama fhir bundle: client {client_id}: {exc}\n")
                continue
            name = out / f"{client_id}.fhir-bundle.json"
            name.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", "utf-8")
            rows.append((client_id, len(bundle["entry"]), str(name)))
        ctx.emit(
            [{"client": c, "entries": n, "file": f} for c, n, f in rows],
            render_table(("client", "entries", "file"), rows),
        )
    else:  # submit
        if not args.base:
            ctx.stderr.write("fama fhir submit: give --base, the FHIR server's base URL\n")
            return ExitCode.USAGE
        outcome_code = _submit(args, ctx, caseload, write, rows)
        ctx.emit(
            [{"client": c, "entries": n, "created": k, "attempts": a} for c, n, k, a in rows],
            render_table(("client", "entries", "created", "attempts"), rows),
        )
        if outcome_code is not None:
            return outcome_code
        failed = len(caseload) - len(rows)
    return ExitCode.PARTIAL if bad or failed else ExitCode.OK


def _submit(
    args: argparse.Namespace,
    ctx: CliContext,
    caseload: dict[str, tuple[ClientState, list[Event]]],
    write: WriteMode,
    rows: list[tuple[object, ...]],
) -> int | None:
    """Submit each client's bundle; ``rows`` gets one row per bundle the server confirmed.

    A server that cannot be reached or keeps failing ends the run (the other
    clients would meet the same server): exit 3, "nothing (more) could be sent",
    as ``fama hl7 send``. A refused or unconfirmed bundle is that client's
    failure and the others carry on. Returns the exit code when the run ended
    early, else ``None``.
    """
    from fama_adapters.fhir.client import FhirClient, FhirUnavailable
    from fama_adapters.fhir.mapping import client_bundle

    with net.http_client() as http:
        client = FhirClient(args.base, http, timeout=args.timeout)
        for client_id, (state, events) in caseload.items():
            try:
                outcome = client.submit(client_bundle(state, events, write=write))
            except FhirUnavailable as exc:
                left = len(caseload) - len(rows)
                ctx.stderr.write(
                    f"fama fhir submit: {net.mask_url(args.base)}: client {client_id}: {exc}; "
                    f"{left} client(s) not sent, {len(rows)} sent\n"
                )
                return ExitCode.FAILED
            except FamaError as exc:  # refused, unconfirmed or unmappable: report, carry on
                ctx.stderr.write(f"fama fhir submit: client {client_id}: {exc}\n")
                continue
            rows.append((client_id, len(outcome.entries), outcome.created, outcome.attempts))
    return None


def _terminology(args: argparse.Namespace, ctx: CliContext) -> int:
    """``fama fhir terminology``: write (or ``--check``) the CodeSystems, ValueSets and bundle."""
    from fama_adapters.fhir import terminology

    if args.dir is None and args.bundle is None:
        ctx.stderr.write("fama fhir terminology: give --dir DIR, --bundle FILE or both\n")
        return ExitCode.USAGE
    local: list[Organisation] = []
    if args.organisations is not None:
        try:
            local = _local_organisations(Path(args.organisations))
        except FamaError as exc:
            ctx.stderr.write(f"fama fhir terminology: {exc}\n")
            return ExitCode.USAGE
    try:
        resources = terminology.terminology_resources(local)
    except FamaError as exc:  # a local organisation repeating a packaged code
        ctx.stderr.write(f"fama fhir terminology: --organisations: {exc}\n")
        return ExitCode.USAGE
    wanted: dict[Path, str] = {}
    if args.dir is not None:
        folder = Path(args.dir)
        for resource in resources:
            wanted[folder / terminology.file_name(resource)] = _json_text(resource)
    if args.bundle is not None:
        wanted[Path(args.bundle)] = _json_text(terminology.terminology_bundle(resources))
    if args.check:
        stale = [str(p) for p, text in wanted.items() if not _holds(p, text)]
        if args.dir is not None:
            stale += [
                str(p)
                for p in sorted(Path(args.dir).glob("*.json"))
                if p not in wanted and p.name.split("-", 1)[0] in _TERMINOLOGY_TYPES
            ]
        ctx.emit(
            {"stale": stale},
            "stale (run `make schemas`): " + ", ".join(stale) if stale else "terminology current",
        )
        return ExitCode.PARTIAL if stale else ExitCode.OK
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    ctx.emit(
        {"written": [str(p) for p in wanted]},
        f"wrote {len(wanted)} file(s): {len(resources)} resources"
        + (f" and the bundle {args.bundle}" if args.bundle else ""),
    )
    return ExitCode.OK


_TERMINOLOGY_TYPES = frozenset({"CodeSystem", "ValueSet", "StructureDefinition", "Questionnaire"})


def _json_text(resource: object) -> str:
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text("utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _local_organisations(path: Path) -> list[Organisation]:
    """A host's organisations: a JSON list shaped as the catalogue's ``organisations.json``."""
    data = path.read_bytes()  # a path that cannot be read is named as every command names it
    try:
        raw = json.loads(data)
    except ValueError:
        raise InputUnreadable(source="--organisations", reason="not JSON") from None
    if not isinstance(raw, list):
        raise InputUnreadable(source="--organisations", reason="not a JSON list")
    out = []
    for position, item in enumerate(raw):
        try:
            out.append(Organisation.model_validate(item))
        except ValidationError as exc:
            raise invalid_record_from_pydantic(
                exc, record=f"--organisations[{position}]", kind="organisation"
            ) from None
    return out


def _configure_fhir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "action",
        choices=("bundle", "submit", "questionnaire", "terminology", "docs"),
        help="bundle: write bundles; submit: post them; questionnaire: print the hand-out 10 "
        "Questionnaire; terminology: write fama's CodeSystems and ValueSets (--dir, --bundle); "
        "docs: regenerate the tables in docs/fhir.md",
    )
    p.add_argument("events", nargs="?", help="JSON-lines event log (bundle, submit)")
    p.add_argument("--out", default="out/fhir", help="folder for bundles (default: out/fhir)")
    p.add_argument("--base", type=net.url_arg, help="FHIR server base URL (submit)")
    p.add_argument(
        "--timeout",
        type=net.timeout_arg,
        default=30.0,
        help="overall deadline of each request in seconds, connect to last byte (submit)",
    )
    p.add_argument("--upsert", action="store_true", help="conditional updates, not creates")
    p.add_argument("--file", default="docs/fhir.md", help="the doc to update (docs)")
    p.add_argument(
        "--check", action="store_true", help="docs, terminology: exit 1 when stale, write nothing"
    )
    p.add_argument(
        "--dir", help="terminology: folder for one JSON file per resource (CodeSystem, ValueSet …)"
    )
    p.add_argument(
        "--bundle", help="terminology: file for a transaction Bundle loading them all into a server"
    )
    p.add_argument(
        "--organisations",
        help="terminology: the host's own organisations (a JSON list shaped as the catalogue's) "
        "to add to the organisation CodeSystem",
    )


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``fama fhir``: bundles, submission, the Questionnaire and the mapping doc."""
    register(
        Command(
            "fhir",
            "FHIR R4: bundles (write, submit), the Questionnaire, the terminology, the docs tables",
            _run_fhir,
            _configure_fhir,
        )
    )
