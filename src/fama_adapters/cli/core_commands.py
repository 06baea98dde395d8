"""Built-in plugin: the core subcommands (``schema``, ``docs``, ``plugins``, ``demo``).

Registered like any third-party plugin, through :mod:`fama_adapters.hookspecs`,
so it doubles as a worked example of adding commands and demo steps.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fama_adapters.cli import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    render_table,
)
from fama_adapters.hookspecs import hookimpl
from fama_core.codes import AccompanimentOutcome, GoalStatus
from fama_core.diagram import workflow_markdown
from fama_core.errors import FamaError, InvalidRecord
from fama_core.events import Event, events_from_json_lines
from fama_core.schema import all_schemas
from fama_core.state import ClientState
from fama_core.workflow import apply

__all__ = ["fama_register_commands", "fama_register_demo_steps", "load_journeys"]


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def _stale(expected: dict[str, str], folder: Path) -> list[str]:
    """Names whose file under ``folder`` is missing or differs (and extra files)."""
    stale = [
        n
        for n, text in expected.items()
        if not (folder / n).is_file() or (folder / n).read_text("utf-8") != text
    ]
    if folder.is_dir():
        stale += [p.name for p in folder.glob("*.schema.json") if p.name not in expected]
    return sorted(stale)


def _run_schema(args: argparse.Namespace, ctx: CliContext) -> int:
    texts = {name: _dump(schema) for name, schema in all_schemas().items()}
    folder = Path(args.dir)
    if args.check:
        stale = _stale(texts, folder)
        ctx.emit(
            {"stale": stale},
            "schemas are current"
            if not stale
            else "stale schemas (run `fama schema --write`): " + ", ".join(stale),
        )
        return EXIT_PARTIAL if stale else EXIT_OK
    if args.write:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.schema.json"):
            if old.name not in texts:
                old.unlink()
        for name, text in texts.items():
            (folder / name).write_text(text, "utf-8")
        ctx.emit({"written": sorted(texts)}, f"wrote {len(texts)} schemas to {folder}")
        return EXIT_OK
    name = args.name or "event.schema.json"
    if name not in texts:
        ctx.stderr.write(f"fama schema: no schema {name}; choose from {', '.join(texts)}\n")
        return EXIT_FAILED
    ctx.stdout.write(texts[name])
    return EXIT_OK


def _configure_schema(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="print one schema (default: event.schema.json)")
    p.add_argument("--dir", default="schemas", help="schema folder (default: schemas)")
    p.add_argument("--write", action="store_true", help="write every schema into --dir")
    p.add_argument("--check", action="store_true", help="exit 1 when --dir is stale")


def _run_docs(args: argparse.Namespace, ctx: CliContext) -> int:
    from fama_core.reference import event_reference_markdown

    pages = {
        Path(args.dir) / "workflow.md": workflow_markdown(),
        Path(args.dir) / "event-reference.md": event_reference_markdown(),
    }
    if args.check:
        stale = [
            str(t) for t, text in pages.items() if not t.is_file() or t.read_text("utf-8") != text
        ]
        ctx.emit(
            {"stale": bool(stale), "files": stale},
            "stale: " + ", ".join(stale) if stale else "docs are current",
        )
        return EXIT_PARTIAL if stale else EXIT_OK
    for target, text in pages.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        ctx.emit({"written": str(target)}, f"wrote {target}")
    return EXIT_OK


def _configure_docs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default="docs", help="docs folder (default: docs)")
    p.add_argument("--check", action="store_true", help="exit 1 when a generated doc is stale")


def _run_plugins(args: argparse.Namespace, ctx: CliContext) -> int:
    infos = ctx.host.plugins()
    registers = ctx.host.registrations()
    failures = ctx.host.failures  # after registrations(): a hook may set a plugin aside
    infos = [i for i in infos if i.name not in {f.name for f in failures}]
    ctx.emit(
        [
            {"name": i.name, "source": i.source, "registers": registers.get(i.name, [])}
            for i in infos
        ]
        + [
            {"name": f.name, "source": f.source, "registers": [], "error": f.error}
            for f in failures
        ],
        render_table(
            ("plugin", "from", "registers"),
            [(i.name, i.source, ", ".join(registers.get(i.name, [])) or "-") for i in infos]
            + [(f.name, f.source, f"NOT LOADED: {f.error}") for f in failures],
        ),
    )
    return EXIT_OK


# ----------------------------------------------------------------------- demo


def load_journeys(folder: Path) -> list[tuple[str, str, list[Event]]]:
    """Read ``journeys.json`` and each journey's JSON-lines file from ``folder``.

    Returns ``(name, title, events)`` per journey. A bad line is a
    :class:`FamaError` naming the file and line: the samples must be valid.
    """
    index = json.loads((folder / "journeys.json").read_text("utf-8"))
    out = []
    for item in index:
        path = folder / item["file"]
        events: list[Event] = []
        with path.open("rb") as fh:
            for _number, result in events_from_json_lines(fh):
                if isinstance(result, InvalidRecord):
                    raise FamaError(f"{path.name}: {result}")
                events.append(result)
        out.append((item["file"].removesuffix(".jsonl"), item["title"], events))
    return out


def _path(events: list[Event]) -> tuple[str, ClientState]:
    state: ClientState | None = None
    steps: list[str] = []
    for event in events:
        before = state.status if state is not None else None
        state = apply(state, event)
        if state.status != before or event.kind.startswith("session_"):
            label = {"session_1_held": "S1", "session_2_held": "S2", "session_3_held": "S3"}.get(
                event.kind, ""
            )
            steps.append(f"{label}:{state.status}" if label else str(state.status))
    assert state is not None
    return " → ".join(steps), state


def _journeys_step(demo: DemoContext) -> None:
    rows = []
    caseload: dict[str, ClientState] = {}
    events_by_client: dict[str, list[Event]] = {}
    for _name, title, events in load_journeys(demo.examples / "journeys"):
        path, state = _path(events)
        caseload[state.client_id] = state
        events_by_client[state.client_id] = events
        ep = state.current
        assert ep is not None
        achieved = sum(1 for g in ep.goals if g.status is GoalStatus.ACHIEVED)
        accompanied = sum(
            1 for a in ep.accompaniments if a.outcome is AccompanimentOutcome.ACCOMPANIED
        )
        rows.append(
            (
                state.client_id,
                title,
                path,
                ep.status,
                len(ep.sessions),
                f"{achieved}/{len(ep.goals)}",
                ep.attended_meetings,
                accompanied,
            )
        )
    demo.data["caseload"] = caseload
    demo.data["events"] = events_by_client
    demo.cli.stdout.write("FAMA sample journeys (examples/journeys)\n\n")
    demo.cli.stdout.write(
        render_table(
            (
                "client",
                "journey",
                "path (S = session)",
                "final",
                "sessions",
                "goals achieved",
                "meetings",
                "accompanied",
            ),
            rows,
        )
    )
    demo.cli.stdout.write("\n")


def _run_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    demo = DemoContext(examples=Path(args.examples), out=Path(args.out), cli=ctx)
    demo.out.mkdir(parents=True, exist_ok=True)
    for step in ctx.host.demo_steps():
        step.run(demo)
    ctx.stdout.write(f"demo outputs in {demo.out}\n")
    return EXIT_OK


def _configure_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--examples", default="examples", help="examples folder (default: examples)")
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """The core subcommands."""
    register(
        Command("schema", "print, write or check the JSON Schemas", _run_schema, _configure_schema)
    )
    register(
        Command(
            "docs", "write or check docs generated from the workflow", _run_docs, _configure_docs
        )
    )
    register(Command("plugins", "list loaded plugins and where they come from", _run_plugins))
    register(
        Command(
            "demo",
            "run the sample journeys and every plugin's demo step",
            _run_demo,
            _configure_demo,
        )
    )


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """The first demo step: the sample journeys through the workflow."""
    register(DemoStep("journeys", 10, _journeys_step))
