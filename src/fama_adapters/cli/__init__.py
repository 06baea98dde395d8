"""The ``fama`` command: one entry point whose subcommands come from plugins.

Exit codes (stable, for scripts) are :class:`~fama_adapters.cli.exit_codes.ExitCode`:
0 done, 1 some records refused, 2 bad invocation or unreadable input, 3 nothing
could be done, 70 internal error, 130 interrupted (``docs/cli.md`` has the table).

No traceback reaches a user: an error that escapes a subcommand becomes a
message naming the command and the error class, never a value, with the exit
code for its kind; ``FAMA_DEBUG=1`` adds the traceback (which may show values).

Every subcommand takes ``--json`` for machine-readable output. Output for
people redacts free text by default; submissions carry only what they must.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from fama_adapters.cli.exit_codes import ExitCode, exit_code_for
from fama_core.errors import FamaError

if TYPE_CHECKING:
    from fama_adapters.plugins import PluginHost

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "CliContext",
    "Command",
    "DemoContext",
    "DemoStep",
    "ExitCode",
    "main",
    "printable",
    "render_table",
]

# The names plugins used before :class:`ExitCode`; kept so third-party plugins still import.
EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED = (
    ExitCode.OK,
    ExitCode.PARTIAL,
    ExitCode.USAGE,
    ExitCode.FAILED,
)

DISTRIBUTION = "fama-mutual-aid"
"""The name fama is published under (``fama`` on the index is an unrelated project)."""

REPORT_HINT = (
    "please report it to the fama maintainers with the command line (not the input: "
    "it may hold personal data) and the output of `fama plugins`; "
    "FAMA_DEBUG=1 shows the traceback"
)


@dataclass
class CliContext:
    """What a subcommand receives besides its arguments."""

    host: PluginHost
    """The :class:`~fama_adapters.plugins.PluginHost`: the command's own plugin and third-party
    plugins are loaded; other built-ins are imported when a hook they implement is first
    called through it, so every accessor answers as if all were loaded."""
    stdout: TextIO
    stderr: TextIO
    json: bool = False

    def emit(self, payload: Any, text: str) -> None:
        """Print ``payload`` as JSON when ``--json`` was given, else ``text``, made printable."""
        if self.json:
            self.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        else:
            text = printable(text)
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


_TERMINAL_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: controls shown as escapes, lines and tabs kept.

    A meeting name from a feed may carry ESC, BEL or C1 sequences (set the
    window title, clear the screen, make a hidden link) or a bidirectional
    override that shows text backwards; printed as they are, the terminal would
    obey them. Each becomes its Python escape (``\\x1b``, ``\\u202e``), so it is
    seen, not obeyed; so does a lone surrogate, which no terminal encoding can
    write. ``--json`` output needs no such care: JSON escapes them.

    >>> printable("Hall\\x1b[2J")
    'Hall\\\\x1b[2J'
    """
    if _TERMINAL_CONTROL.search(text) is None:
        return text
    return _TERMINAL_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with a header rule, for terminals and logs."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _parser(commands: dict[str, Command], only: str | None = None) -> argparse.ArgumentParser:
    """The ``fama`` parser; with ``only``, just that subcommand's (building every
    subcommand's parser is most of the start-up time of a short command)."""
    parser = argparse.ArgumentParser(
        prog="fama",
        description="Facilitated Access to Mutual Aid: workflow, records, NDTMS and adapters.",
        epilog="Exit codes: "
        + "; ".join(f"{code.value} {code.meaning}" for code in ExitCode)
        + " (docs/cli.md).",
    )
    parser.add_argument("--version", action="version", version=f"fama {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in sorted(commands) if only is None else [only]:
        command = commands[name]
        p = sub.add_parser(name, help=command.help, description=command.description or command.help)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        command.configure(p)
        p.set_defaults(_fama_labels=_labels(p), _fama_words=_words(p))
    return parser


def _version() -> str:
    """The installed distribution's version (the package's own when run from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        from fama_core import __version__

        return __version__


def _overview(argv: list[str], err: TextIO) -> ExitCode:
    """``fama --help`` (or no command): list the commands without importing built-in plugins.

    Built-in commands come from :data:`fama_adapters.plugins.BUILTIN_COMMANDS`; third-party
    plugins are loaded as usual (and a broken one reported), since only they know theirs.
    """
    from fama_adapters.plugins import BUILTIN_COMMANDS, PluginHost

    third_party = PluginHost(builtins=())
    listing = {name: command.help for name, command in third_party.commands().items()}
    listing.update({name: text for name, (_plugin, text) in BUILTIN_COMMANDS.items()})
    for failure in third_party.failures:
        err.write(f"fama: {failure.describe()}\n")
    parser = _parser({name: Command(name, text, _not_run) for name, text in listing.items()})
    try:
        parser.parse_args(argv)
    except SystemExit as exc:
        return ExitCode.OK if exc.code == 0 else ExitCode.USAGE
    return ExitCode.USAGE  # pragma: no cover - argparse always exits here


def _not_run(args: argparse.Namespace, ctx: CliContext) -> int:  # pragma: no cover
    """Stands for a command in the ``--help`` overview; never run."""
    return ExitCode.USAGE


def _debug() -> bool:
    return os.environ.get("FAMA_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


# OS errors that mean "that path cannot be used", i.e. a bad invocation, not a failure of fama.
_PATH_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.EACCES,
        errno.EPERM,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EEXIST,
        errno.EROFS,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


def _labels(
    parser: argparse.ArgumentParser, inherited: dict[str, str] | None = None
) -> dict[str, str]:
    """``dest`` → how the user wrote it (``--events``, ``FILE``), for every argument of a parser.

    Each action of a command with actions (``fama ndtms merge``) gets its own table as a
    default, so ``merge``'s ``EXTRACT`` is not named after ``completeness``'s ``--extract``.
    """
    labels: dict[str, str] = dict(inherited or {})
    nested: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # argparse's documented-by-use registry of arguments
        if isinstance(action, argparse._SubParsersAction):  # `fama meetings import --out`
            nested.extend(action.choices.values())
        elif action.option_strings:
            labels[action.dest] = max(action.option_strings, key=len)
        else:
            labels[action.dest] = str(action.metavar or action.dest).upper()
    for sub in nested:
        sub.set_defaults(_fama_labels=_labels(sub, labels))
    return labels


def _shown_path(path: str) -> str:
    """A path quoted as Python quotes text: every character that is not printable (a control,
    a line break, a bidirectional override, a byte the file system could not decode) is
    escaped, so a file name cannot write to the terminal; a very long one is shortened."""
    if len(path) > _LONGEST_PATH_SHOWN:
        path = path[:60] + "…" + path[-60:]
    return repr(path)


_LONGEST_PATH_SHOWN = 160


def _words(parser: argparse.ArgumentParser) -> list[str]:
    """The ``dest`` of each positional argument that picks an action (``fama ndtms export``,
    ``fama hl7 read``), so a message names the whole command."""
    return [a.dest for a in parser._actions if not a.option_strings and a.choices is not None]


def _command_name(args: argparse.Namespace) -> str:
    """``ndtms export`` for ``fama ndtms export …``: the command and the action it took."""
    words = [getattr(args, dest, None) for dest in getattr(args, "_fama_words", [])]
    return " ".join([args.command, *(w for w in words if isinstance(w, str))])


def _which_path(args: argparse.Namespace, filename: object) -> str:
    """The argument whose path ``filename`` is, or is under, with the path: ``FILE
    'visits.jsonl'``, ``'out/a/x.csv', a path under --out``.

    The path is shown as the user gave it on the command line, so they can see which of
    several they mistyped; a path that is none of the arguments and under none of them is
    not shown (it did not come from the command line). ``docs/decisions.md``, O4.
    """
    unknown = "a file or folder"
    if not isinstance(filename, str | bytes | os.PathLike):
        return unknown
    try:
        name = os.fsdecode(filename)
        target = Path(name).absolute()
    except (TypeError, ValueError):
        return unknown
    labels: dict[str, str] = getattr(args, "_fama_labels", {})
    found = unknown
    for dest, value in sorted(vars(args).items()):
        if dest in ("command", "_fama_labels", "_fama_words"):
            continue
        for one in value if isinstance(value, list) else [value]:
            if not isinstance(one, str | Path) or str(one) in ("", "-"):
                continue
            try:
                given = Path(one).absolute()
            except (TypeError, ValueError):  # pragma: no cover - NUL in a path
                continue
            label = labels.get(dest, dest)
            if target == given:
                return f"{label} {_shown_path(str(one))}"
            if given in target.parents:
                found = f"{_shown_path(name)}, a path under {label}"
            elif target in given.parents:  # creating the folders that lead to it
                found = f"{_shown_path(name)}, a folder on the way to {label}"
    return found


def _os_error_message(exc: OSError, args: argparse.Namespace) -> str:
    where = _which_path(args, exc.filename)
    reason = exc.strerror or type(exc).__name__
    return f"cannot use {where}: {reason} ({type(exc).__name__})"


def _unencodable_path(exc: Exception, args: argparse.Namespace) -> str | None:
    """The message for a path of the command line that no file name can be (a lone
    surrogate, which ``open`` cannot encode), or ``None`` when ``exc`` is something else."""
    if not isinstance(exc, UnicodeEncodeError) or not isinstance(exc.object, str):
        return None
    where = _which_path(args, exc.object)
    if where == "a file or folder":  # not a path the user gave: a bug, said as one
        return None
    return f"cannot use {where}: it holds a character no file name can hold (UnicodeEncodeError)"


def _run_guarded(command: Command, args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    """Run a subcommand; whatever escapes it becomes a message and an :class:`ExitCode`."""
    name = _command_name(args)
    err = ctx.stderr
    try:
        code = command.run(args, ctx)
    except FamaError as exc:
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno in _PATH_ERRNOS:
            # A path an adapter could not open: said as every command says it, when it is
            # one the user gave; the adapter's own words otherwise.
            where = _which_path(args, cause.filename)
            said = _os_error_message(cause, args) if where != "a file or folder" else str(exc)
            err.write(f"fama {name}: {printable(said)}\n")
            return ExitCode.USAGE
        err.write(f"fama {name}: {printable(str(exc))}\n")
        return exit_code_for(exc)
    except KeyboardInterrupt:
        err.write(f"fama {name}: interrupted\n")
        return ExitCode.INTERRUPTED
    except OSError as exc:
        if _debug():
            traceback.print_exc(file=err)
        err.write(f"fama {name}: {_os_error_message(exc, args)}\n")
        return ExitCode.USAGE if exc.errno in _PATH_ERRNOS else ExitCode.FAILED
    except Exception as exc:  # the last resort: never a traceback, never a value
        if _debug():
            traceback.print_exc(file=err)
        unusable = _unencodable_path(exc, args)
        if unusable is not None:
            err.write(f"fama {name}: {unusable}\n")
            return ExitCode.USAGE
        owner = ctx.host.owner("fama_register_commands", args.command)
        if owner is not None and owner.source.startswith("entry point"):
            # Another party's code failed: name it, so the report goes to the right people.
            err.write(
                f"fama {name}: the command comes from plugin {owner.name} ({owner.source}), "
                f"which failed ({type(exc).__name__}); report it to that plugin's maintainers "
                f"(FAMA_DEBUG=1 shows the traceback), or block it with "
                f"FAMA_BLOCK_PLUGINS={owner.name}\n"
            )
            return ExitCode.INTERNAL
        err.write(f"fama {name}: internal error ({type(exc).__name__}); {REPORT_HINT}\n")
        return ExitCode.INTERNAL
    try:
        return ExitCode(code)
    except ValueError:
        err.write(
            f"fama {name}: internal error (the command returned exit code {code!r}, "
            f"which is not in the table); {REPORT_HINT}\n"
        )
        return ExitCode.INTERNAL


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    host: PluginHost | None = None,
) -> ExitCode:
    """Run the ``fama`` command; returns its :class:`ExitCode` (see the module docstring)."""
    from fama_adapters import logsafe
    from fama_adapters.plugins import PluginHost

    logsafe.install()  # secrets in URLs never reach a log record, at any level
    out, err = stdout or sys.stdout, stderr or sys.stderr
    given = list(sys.argv[1:] if argv is None else argv)
    if host is None and all(a in ("-h", "--help", "--version") for a in given):
        return _overview(given, err)
    try:
        # A built-in command imports its own plugin; the others load when a hook of theirs
        # is first called (ctx.host.meeting_sources() …), so `fama fhir` skips HTTP and SciPy.
        fast = None if host is not None or not given else PluginHost.for_command(given[0])
        host = fast or host or PluginHost()
        commands: dict[str, Command] = fast.loaded_commands() if fast else host.commands()
    except FamaError as exc:
        err.write(f"fama: {exc}\n")
        return ExitCode.FAILED
    except Exception as exc:  # a plugin that fails to load in an unexpected way
        if _debug():
            traceback.print_exc(file=err)
        err.write(
            f"fama: internal error while loading plugins ({type(exc).__name__}); {REPORT_HINT}\n"
        )
        return ExitCode.INTERNAL
    for failure in host.failures:
        err.write(f"fama: {failure.describe()}\n")
    given = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(commands, only=given[0] if given and given[0] in commands else None)
    try:
        args = parser.parse_args(given)
    except SystemExit as exc:
        return ExitCode.OK if exc.code == 0 else ExitCode.USAGE
    ctx = CliContext(host=host, stdout=out, stderr=err, json=bool(getattr(args, "json", False)))
    return _run_guarded(commands[args.command], args, ctx)
