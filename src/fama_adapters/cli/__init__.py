"""The ``fama`` command: one entry point whose subcommands come from plugins.

Exit codes (stable, for scripts):

====  =====================================================================
0     success
1     finished, but some records were refused or invalid (each reported)
2     usage error (bad arguments)
3     fama error: nothing (more) could be done; the message says why
====  =====================================================================

Every subcommand takes ``--json`` for machine-readable output. Output for
people redacts free text by default; submissions carry only what they must.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from fama_core.errors import FamaError

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "CliContext",
    "Command",
    "DemoContext",
    "DemoStep",
    "main",
    "render_table",
]

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


@dataclass
class CliContext:
    """What a subcommand receives besides its arguments."""

    host: Any
    """The :class:`~fama_adapters.plugins.PluginHost` with every plugin loaded."""
    stdout: TextIO
    stderr: TextIO
    json: bool = False

    def emit(self, payload: Any, text: str) -> None:
        """Print ``payload`` as JSON when ``--json`` was given, else ``text``."""
        if self.json:
            self.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        else:
            self.stdout.write(text if text.endswith("\n") else text + "\n")

    @property
    def interactive(self) -> bool:
        """Whether output goes to a terminal (progress bars only then)."""
        return bool(getattr(self.stdout, "isatty", lambda: False)())


@dataclass(frozen=True)
class Command:
    """A subcommand contributed by a plugin."""

    name: str
    help: str
    run: Callable[[argparse.Namespace, CliContext], int]
    """Does the work; returns an exit code."""
    configure: Callable[[argparse.ArgumentParser], None] = lambda parser: None
    """Adds the subcommand's arguments."""
    description: str = ""


@dataclass
class DemoContext:
    """Shared by the steps of ``fama demo``."""

    examples: Path
    out: Path
    cli: CliContext
    data: dict[str, Any] = field(default_factory=dict)
    """What earlier steps leave for later ones (``caseload``: the folded journeys …)."""


@dataclass(frozen=True)
class DemoStep:
    """A step of ``fama demo``: ``run(context)`` prints and writes what it shows."""

    name: str
    order: int
    run: Callable[[DemoContext], None]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with a header rule, for terminals and logs."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _parser(commands: dict[str, Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fama",
        description="Facilitated Access to Mutual Aid: workflow, records, NDTMS and adapters.",
        epilog="Exit codes: 0 ok, 1 some records refused, 2 usage error, 3 failed.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(commands):
        command = commands[name]
        p = sub.add_parser(name, help=command.help, description=command.description or command.help)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        command.configure(p)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    host: Any = None,
) -> int:
    """Run the ``fama`` command; returns the exit code (see the module docstring)."""
    from fama_adapters.plugins import PluginHost

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        host = host or PluginHost()
        commands: dict[str, Command] = host.commands()
    except FamaError as exc:
        err.write(f"fama: {exc}\n")
        return EXIT_FAILED
    parser = _parser(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    ctx = CliContext(host=host, stdout=out, stderr=err, json=bool(getattr(args, "json", False)))
    try:
        return commands[args.command].run(args, ctx)
    except FamaError as exc:
        err.write(f"fama {args.command}: {exc}\n")
        return EXIT_FAILED
