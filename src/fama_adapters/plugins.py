"""Loading plugins: built-ins by import path, then the ``fama`` entry-point group.

One :class:`PluginHost` per host object (never a module global), so tests and
embedding hosts stay apart. Only this class touches ``pm.hook``; everything
else calls its typed methods.

Set ``FAMA_BLOCK_PLUGINS`` to a comma-separated list of entry-point names to
skip them, or to ``*`` to load no third-party plugin at all.

A third-party plugin (one loaded from an entry point) that fails to import,
implements a hook fama does not define, raises inside a registration hook or
claims a name another plugin has is set aside and listed in
:attr:`PluginHost.failures` with its name and its error; every other plugin
keeps working, and ``fama`` says which plugin failed and how to block it.
Built-in plugins and plugins registered by code still fail loudly with a
:class:`~fama_core.errors.PluginError`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from fama_adapters import hookspecs
from fama_core.errors import PluginError

if TYPE_CHECKING:
    from fama_adapters.cli import Command, DemoStep
    from fama_adapters.meetings.sources import MeetingSource
    from fama_adapters.ndtms.formats import SubmissionFormat
    from fama_adapters.record_systems import RecordSystem
    from fama_adapters.store import StoreFactory

__all__ = [
    "BUILTIN_COMMANDS",
    "BUILTIN_HOOKS",
    "BUILTIN_PLUGINS",
    "PluginFailure",
    "PluginHost",
    "PluginInfo",
]

BUILTIN_PLUGINS: tuple[str, ...] = (
    "fama_adapters.cli.core_commands",
    "fama_adapters.fhir.plugin",
    "fama_adapters.store.plugin",
    "fama_adapters.ndtms.plugin",
    "fama_adapters.ndtms.dataset_k",
    "fama_adapters.ndtms.dataset_m",
    "fama_adapters.ndtms.dataset_n",
    "fama_adapters.ndtms.dataset_o",
    "fama_adapters.ndtms.dataset_p",
    "fama_adapters.ndtms.dataset_r",
    "fama_adapters.meetings.plugin",
    "fama_adapters.pack.plugin",
    "fama_adapters.hl7v2.plugin",
    "fama_adapters.report.plugin",
    "fama_adapters.http.plugin",
)
"""Import paths of the plugins that ship with fama."""

BUILTIN_COMMANDS: Mapping[str, tuple[str, str]] = {
    "backup": (
        "fama_adapters.store.plugin",
        "copy a SQLite store to a new file while it is being written, and verify the copy",
    ),
    "demo": (
        "fama_adapters.cli.core_commands",
        "run the sample journeys and every plugin's demo step",
    ),
    "docs": (
        "fama_adapters.cli.core_commands",
        "write or check docs generated from the workflow",
    ),
    "erase": (
        "fama_adapters.store.plugin",
        "erase a client's personal text for good (deletes its key; --yes --expect-version N)",
    ),
    "fhir": (
        "fama_adapters.fhir.plugin",
        "FHIR R4: bundles (write, submit), the Questionnaire, the terminology, the docs tables",
    ),
    "hl7": (
        "fama_adapters.hl7v2.plugin",
        "send HL7 v2 messages over MLLP, or read treatment context from ADT files",
    ),
    "init": (
        "fama_adapters.store.plugin",
        "create an event store (or check one exists)",
    ),
    "meetings": (
        "fama_adapters.meetings.plugin",
        "import meeting lists and match meetings to a client",
    ),
    "migrate": (
        "fama_adapters.store.plugin",
        "bring the store to this fama's layout (or --check whether one is pending)",
    ),
    "ndtms": (
        "fama_adapters.ndtms.plugin",
        "NDTMS recovery support: export, merge, validate, completeness",
    ),
    "openapi": (
        "fama_adapters.http.plugin",
        "print, write or check the OpenAPI document of fama serve",
    ),
    "pack": (
        "fama_adapters.pack.plugin",
        "write a client's pack: hand-outs 6a, 7 and 10 as printable HTML (PDF optional)",
    ),
    "plugins": (
        "fama_adapters.cli.core_commands",
        "list loaded plugins and where they come from",
    ),
    "record": (
        "fama_adapters.store.plugin",
        "append events from a JSON-lines file or stdin, reporting each refused line",
    ),
    "replay": (
        "fama_adapters.store.plugin",
        "fold every client's events and summarise by status",
    ),
    "report": (
        "fama_adapters.report.plugin",
        "write the commissioners' report (HTML, CSV, JSON)",
    ),
    "restore": (
        "fama_adapters.store.plugin",
        "make a SQLite store from a backup file, after verifying the backup",
    ),
    "schema": (
        "fama_adapters.cli.core_commands",
        "print, write or check the JSON Schemas",
    ),
    "serve": (
        "fama_adapters.http.plugin",
        "serve the records over HTTP/JSON (OpenAPI), for vendors in any language",
    ),
    "show": (
        "fama_adapters.store.plugin",
        "a client's state, goals, journal, what is due next and history",
    ),
    "subject-export": (
        "fama_adapters.store.plugin",
        "everything fama holds about a client, in plain words (or --json)",
    ),
    "tokens": (
        "fama_adapters.http.plugin",
        "issue, list or revoke the bearer tokens of fama serve",
    ),
    "verify": (
        "fama_adapters.store.plugin",
        "check every stream's hash chain: report edited, removed or moved events",
    ),
}
"""Each built-in command: the plugin that registers it and its one-line help.

``fama --help`` lists commands from here instead of importing every built-in plugin
(and what they import: the report's SciPy, FHIR models, HTTP clients), so the overview
costs little more than starting Python. Tested equal to what the plugins register.
"""

_COMMANDS = "fama_register_commands"
_DEMO = "fama_register_demo_steps"
_SYSTEMS = "fama_register_record_systems"
_STORES = "fama_register_event_stores"
_FORMATS = "fama_register_submission_formats"
_SOURCES = "fama_register_meeting_sources"

BUILTIN_HOOKS: Mapping[str, frozenset[str]] = {
    "fama_adapters.cli.core_commands": frozenset({_COMMANDS, _DEMO}),
    "fama_adapters.fhir.plugin": frozenset({_COMMANDS, _DEMO, _SYSTEMS}),
    "fama_adapters.store.plugin": frozenset({_COMMANDS, _DEMO, _STORES}),
    "fama_adapters.ndtms.plugin": frozenset({_COMMANDS, _DEMO}),
    "fama_adapters.ndtms.dataset_k": frozenset({_FORMATS}),
    "fama_adapters.ndtms.dataset_m": frozenset({_FORMATS}),
    "fama_adapters.ndtms.dataset_n": frozenset({_FORMATS}),
    "fama_adapters.ndtms.dataset_o": frozenset({_FORMATS}),
    "fama_adapters.ndtms.dataset_p": frozenset({_FORMATS}),
    "fama_adapters.ndtms.dataset_r": frozenset({_FORMATS}),
    "fama_adapters.meetings.plugin": frozenset({_COMMANDS, _DEMO, _SOURCES}),
    "fama_adapters.pack.plugin": frozenset({_COMMANDS, _DEMO}),
    "fama_adapters.hl7v2.plugin": frozenset({_COMMANDS, _DEMO, _SYSTEMS}),
    "fama_adapters.report.plugin": frozenset({_COMMANDS, _DEMO}),
    "fama_adapters.http.plugin": frozenset({_COMMANDS, _DEMO}),
}
"""The hooks each built-in plugin implements (tested equal to its module).

A host whose built-ins are *deferred* (:meth:`PluginHost.for_command`) imports
a built-in plugin only when a hook it implements is first called, so running
``fama fhir`` does not import the report's, the HL7 or the HTTP stack.
"""

_T = TypeVar("_T")

_REGISTRATION_HOOKS: tuple[tuple[str, str, str], ...] = (
    ("fama_register_commands", "command", "name"),
    ("fama_register_demo_steps", "demo step", "name"),
    ("fama_register_record_systems", "record system", "name"),
    ("fama_register_event_stores", "event store", "scheme"),
    ("fama_register_submission_formats", "submission format", "name"),
    ("fama_register_meeting_sources", "meeting source", "name"),
)
"""Registration hooks, what they register and the attribute naming it (for ``fama plugins``)."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """A loaded plugin: its name and where it came from."""

    name: str
    source: str
    """``builtin`` or ``entry point <dist name> <version>``."""


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """A third-party plugin set aside: its name, where it came from, and what went wrong."""

    name: str
    source: str
    error: str
    """The error's class and message (the plugin's own text, at most 300 characters)."""

    def describe(self) -> str:
        """One line for a terminal: the plugin, its error, and how to block it."""
        return (
            f"plugin {self.name} ({self.source}) is not loaded: {self.error}; "
            f"the other plugins work; to stop this message set FAMA_BLOCK_PLUGINS={self.name}"
        )


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class PluginHost:
    """A plugin manager with fama's hookspecs and typed accessors for each hook."""

    def __init__(
        self,
        *,
        builtins: Iterable[str] = BUILTIN_PLUGINS,
        entry_points: bool = True,
        deferred: Iterable[str] = (),
    ) -> None:
        """Load ``builtins`` (import paths) now, then the entry-point group.

        ``deferred`` names built-in plugins (keys of :data:`BUILTIN_HOOKS`) to import
        only when a hook they implement is first called; :meth:`plugins` and
        :meth:`registrations` import them all.
        """
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self.failures: list[PluginFailure] = []
        """Third-party plugins set aside, each with its error (see the module docstring)."""
        builtins = tuple(builtins)
        self._deferred: list[str] = [p for p in deferred if p not in builtins]
        for path in builtins:
            self.register(importlib.import_module(path), name=path, source="builtin")
        if entry_points:
            self._load_entry_points()

    @classmethod
    def for_command(cls, name: str) -> PluginHost | None:
        """A host for running the built-in command ``name``: its own plugin and the
        third-party plugins loaded, every other built-in deferred until a hook it
        implements is called. ``None`` when ``name`` is not a built-in command."""
        owner = BUILTIN_COMMANDS.get(name)
        if owner is None:
            return None
        return cls(builtins=(owner[0],), deferred=BUILTIN_PLUGINS)

    def _load_deferred(self, hook: str | None) -> None:
        """Import the deferred built-ins implementing ``hook`` (every one for ``None``)."""
        due = [p for p in self._deferred if hook is None or hook in BUILTIN_HOOKS.get(p, (hook,))]
        for path in due:
            self._deferred.remove(path)
            self.register(importlib.import_module(path), name=path, source="builtin")

    def _load_entry_points(self) -> None:
        blocked = {b.strip() for b in os.environ.get("FAMA_BLOCK_PLUGINS", "").split(",")}
        if "*" in blocked:
            return
        for ep in entry_points(group=hookspecs.PROJECT):
            if ep.name in blocked or ep.value in self._info or ep.value in BUILTIN_PLUGINS:
                continue  # blocked, or a built-in (registered by import path only)
            dist = ep.dist
            where = f"entry point {dist.name} {dist.version}" if dist else "entry point"
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name, source=where)
            except Exception as exc:  # a third party's failure: set it aside, name it, go on
                self.failures.append(PluginFailure(ep.name, where, _error_text(exc)))

    def register(self, plugin: object, *, name: str, source: str = "registered") -> None:
        """Register a plugin object or module under ``name``."""
        if name in self._info:
            raise PluginError(f"two plugins are named {name}")
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {name}: {exc}") from None
        except ValueError:  # pluggy: this object is already registered under another name
            raise PluginError(f"plugin {name} is already registered under another name") from None
        self._info[name] = PluginInfo(name, source)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError:
            self.unregister(name)
            raise PluginError(
                f"plugin {name} implements a hook fama does not define "
                "(a misspelt hook name, or a plugin for a newer fama)"
            ) from None

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name``; :class:`PluginError` when there is none."""
        if name not in self._info:
            raise PluginError(f"no plugin is registered as {name}")
        self.pm.unregister(name=name)
        del self._info[name]

    def plugins(self) -> list[PluginInfo]:
        """Every plugin (deferred built-ins imported now): built-ins first, in their order."""
        self._load_deferred(None)
        return [self._info[name] for name in self._in_order()]

    def _in_order(self) -> list[str]:
        """Plugin names, built-ins in :data:`BUILTIN_PLUGINS` order, then as loaded."""
        rank = {path: n for n, path in enumerate(BUILTIN_PLUGINS)}
        return sorted(self._info, key=lambda name: rank.get(name, len(rank)))

    def _third_party(self, plugin_name: str) -> bool:
        info = self._info.get(plugin_name)
        return info is not None and info.source.startswith("entry point")

    def _call_each(
        self,
        hook: str | Any,
        make_register: Callable[[str], Callable[..., None]],
        settle: Callable[[str, bool], None] = lambda plugin, ok: None,
    ) -> None:
        """Call a registration hook one plugin at a time, through pluggy.

        Going through pluggy keeps its calling rules: an implementation receives
        only the arguments it names (so hooks may gain arguments), and wrappers
        work. Each plugin gets its own ``register``; ``settle(plugin, ok)`` is
        called after each plugin's call. A third-party plugin that raises is set
        aside (:attr:`failures`); any other plugin's error is a
        :class:`PluginError` naming it.
        """
        name = hook if isinstance(hook, str) else hook.name
        self._load_deferred(name)
        caller = getattr(self.pm.hook, name)
        implementers = {impl.plugin_name for impl in caller.get_hookimpls()}
        for plugin_name in [p for p in self._in_order() if p in implementers]:
            if plugin_name not in self._info:
                continue  # set aside earlier in this call
            others = [self.pm.get_plugin(p) for p in self._info if p != plugin_name]
            subset = self.pm.subset_hook_caller(name, remove_plugins=[o for o in others if o])
            try:
                subset(register=make_register(plugin_name))
            except Exception as exc:
                settle(plugin_name, False)
                if self._third_party(plugin_name):
                    source = self._info[plugin_name].source
                    self.failures.append(
                        PluginFailure(plugin_name, source, f"in {name}: {_error_text(exc)}")
                    )
                    self.unregister(plugin_name)
                    continue
                if isinstance(exc, PluginError):
                    raise
                raise PluginError(  # a plugin registered by code: name it, fail loudly
                    f"plugin {plugin_name} failed in {name}: {type(exc).__name__}"
                ) from exc
            settle(plugin_name, True)

    def _collect(self, hook: str | Any, key: Callable[[_T], str], what: str) -> dict[str, _T]:
        """Call a registration hook plugin by plugin, refusing two registrations of one name.

        ``hook`` is the hook's name (or its ``pm.hook`` caller). Each implementation
        gets its own ``register`` so a clash names both plugins. What a plugin
        registered counts only once its whole call succeeded.
        """
        found: dict[str, _T] = {}
        owner: dict[str, str] = {}
        pending: dict[str, _T] = {}

        def make_register(plugin_name: str) -> Callable[[_T], None]:
            pending.clear()

            def register(item: _T) -> None:
                try:
                    k = key(item)
                except AttributeError:
                    raise PluginError(
                        f"plugin {plugin_name} registered a {what} without a name"
                    ) from None
                if k in found or k in pending:
                    first = owner.get(k, plugin_name)
                    raise PluginError(
                        f"two plugins register the {what} {k!r}: {first} and {plugin_name}; "
                        "block the third-party one with FAMA_BLOCK_PLUGINS (built-ins cannot be)"
                    )
                pending[k] = item

            return register

        hook_name = hook if isinstance(hook, str) else hook.name

        def settle(plugin_name: str, ok: bool) -> None:
            if ok:
                found.update(pending)
                owner.update(dict.fromkeys(pending, plugin_name))
                self._owners.update({(hook_name, k): plugin_name for k in pending})
            pending.clear()

        self._call_each(hook, make_register, settle)
        return found

    def registrations(self) -> dict[str, list[str]]:
        """What each plugin registers, by plugin name (``record system hl7v2`` …)."""
        self._load_deferred(None)
        out: dict[str, list[str]] = {name: [] for name in self._in_order()}
        for hook_name, what, attribute in _REGISTRATION_HOOKS:

            def make_register(
                plugin_name: str, _w: str = what, _a: str = attribute
            ) -> Callable[[Any], None]:
                def register(item: Any) -> None:
                    out.setdefault(plugin_name, []).append(f"{_w} {getattr(item, _a, '?')}")

                return register

            self._call_each(hook_name, make_register)
        return out

    def commands(self) -> dict[str, Command]:
        """Subcommands registered by plugins, by name."""
        return self._collect("fama_register_commands", _name, "command")

    def loaded_commands(self) -> dict[str, Command]:
        """Subcommands of the plugins loaded so far (deferred built-ins left unimported)."""
        deferred, self._deferred = self._deferred, []
        try:
            return self.commands()
        finally:
            self._deferred = deferred

    def demo_steps(self) -> list[DemoStep]:
        """Demo steps registered by plugins, in order."""
        steps: dict[str, DemoStep] = self._collect("fama_register_demo_steps", _name, "demo step")
        return sorted(steps.values(), key=lambda s: (s.order, s.name))

    def record_systems(self) -> dict[str, RecordSystem]:
        """Record-system adapters registered by plugins, by name."""
        return self._collect("fama_register_record_systems", _name, "record system")

    def event_stores(self) -> dict[str, StoreFactory]:
        """Event-store factories registered by plugins, by URL scheme."""
        return self._collect("fama_register_event_stores", lambda f: f.scheme, "event store scheme")

    def submission_formats(self) -> dict[str, SubmissionFormat]:
        """Submission formats (NDTMS dataset versions …) registered by plugins, by name."""
        return self._collect("fama_register_submission_formats", _name, "submission format")

    def meeting_sources(self) -> dict[str, MeetingSource]:
        """Meeting-list formats registered by plugins, by name (``meeting-guide``, ``csv`` …)."""
        return self._collect("fama_register_meeting_sources", _name, "meeting source")

    def owner(self, hook: str, name: str) -> PluginInfo | None:
        """The plugin that registered ``name`` in the last call of ``hook`` (e.g. a command)."""
        plugin = self._owners.get((hook, name))
        return self._info.get(plugin) if plugin else None


def _name(item: Any) -> str:
    return str(item.name)
