"""Loading plugins: built-ins by import path, then the ``fama`` entry-point group.

One :class:`PluginHost` per host object (never a module global), so tests and
embedding hosts stay apart. Only this class touches ``pm.hook``; everything
else calls its typed methods.

Set ``FAMA_BLOCK_PLUGINS`` to a comma-separated list of entry-point names to
skip them, or to ``*`` to load no third-party plugin at all.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy

from fama_adapters import hookspecs
from fama_core.errors import PluginError

__all__ = ["BUILTIN_PLUGINS", "PluginHost", "PluginInfo"]

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


class PluginHost:
    """A plugin manager with fama's hookspecs and typed accessors for each hook."""

    def __init__(
        self, *, builtins: Iterable[str] = BUILTIN_PLUGINS, entry_points: bool = True
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        for path in builtins:
            self.register(importlib.import_module(path), name=path, source="builtin")
        if entry_points:
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        blocked = {b.strip() for b in os.environ.get("FAMA_BLOCK_PLUGINS", "").split(",")}
        if "*" in blocked:
            return
        for ep in entry_points(group=hookspecs.PROJECT):
            if ep.name in blocked or ep.value in self._info:
                continue  # blocked, or a built-in already registered by import path
            try:
                plugin = ep.load()
            except Exception as exc:  # any import-time failure: name the plugin, fail loudly
                raise PluginError(f"plugin {ep.name} failed to load: {type(exc).__name__}") from exc
            dist = ep.dist
            where = f"entry point {dist.name} {dist.version}" if dist else "entry point"
            self.register(plugin, name=ep.name, source=where)

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
        """Every loaded plugin, in load order."""
        return list(self._info.values())

    def _call_each(
        self, hook: str | Any, make_register: Callable[[str], Callable[..., None]]
    ) -> None:
        """Call a registration hook one plugin at a time, through pluggy.

        Going through pluggy keeps its calling rules: an implementation receives
        only the arguments it names (so hooks may gain arguments), and wrappers
        work. Each plugin gets its own ``register``; an error inside a plugin
        becomes a :class:`PluginError` naming it.
        """
        name = hook if isinstance(hook, str) else hook.name
        caller = getattr(self.pm.hook, name)
        plugins = [impl.plugin_name for impl in caller.get_hookimpls()]  # load order
        for plugin_name in dict.fromkeys(plugins):
            others = [self.pm.get_plugin(p) for p in self._info if p != plugin_name]
            subset = self.pm.subset_hook_caller(name, remove_plugins=[o for o in others if o])
            try:
                subset(register=make_register(plugin_name))
            except PluginError:
                raise
            except Exception as exc:  # a third party's bug must name the third party
                raise PluginError(
                    f"plugin {plugin_name} failed in {name}: {type(exc).__name__}"
                ) from exc

    def _collect(self, hook: str | Any, key: Callable[[_T], str], what: str) -> dict[str, _T]:
        """Call a registration hook plugin by plugin, refusing two registrations of one name.

        ``hook`` is the hook's name (or its ``pm.hook`` caller). Each implementation
        gets its own ``register`` so a clash names both plugins.
        """
        found: dict[str, _T] = {}
        owner: dict[str, str] = {}

        def make_register(plugin_name: str) -> Callable[[_T], None]:
            def register(item: _T) -> None:
                try:
                    k = key(item)
                except AttributeError:
                    raise PluginError(
                        f"plugin {plugin_name} registered a {what} without a name"
                    ) from None
                if k in found:
                    raise PluginError(
                        f"two plugins register the {what} {k!r}: {owner[k]} and {plugin_name}; "
                        "block the third-party one with FAMA_BLOCK_PLUGINS (built-ins cannot be)"
                    )
                found[k] = item
                owner[k] = plugin_name

            return register

        self._call_each(hook, make_register)
        return found

    def registrations(self) -> dict[str, list[str]]:
        """What each plugin registers, by plugin name (``record system hl7v2`` …)."""
        out: dict[str, list[str]] = {name: [] for name in self._info}
        for hook_name, what, attribute in _REGISTRATION_HOOKS:

            def make_register(
                plugin_name: str, _w: str = what, _a: str = attribute
            ) -> Callable[[Any], None]:
                def register(item: Any) -> None:
                    out.setdefault(plugin_name, []).append(f"{_w} {getattr(item, _a, '?')}")

                return register

            self._call_each(hook_name, make_register)
        return out

    def commands(self) -> dict[str, Any]:
        """Subcommands registered by plugins, by name."""
        return self._collect("fama_register_commands", lambda c: c.name, "command")

    def demo_steps(self) -> list[Any]:
        """Demo steps registered by plugins, in order."""
        steps: dict[str, Any] = self._collect(
            "fama_register_demo_steps", lambda s: s.name, "demo step"
        )
        return sorted(steps.values(), key=lambda s: (s.order, s.name))

    def record_systems(self) -> dict[str, Any]:
        """Record-system adapters registered by plugins, by name."""
        return self._collect(
            self.pm.hook.fama_register_record_systems, lambda r: r.name, "record system"
        )

    def event_stores(self) -> dict[str, Any]:
        """Event-store factories registered by plugins, by URL scheme."""
        return self._collect(
            self.pm.hook.fama_register_event_stores, lambda f: f.scheme, "event store scheme"
        )

    def submission_formats(self) -> dict[str, Any]:
        """Submission formats (NDTMS dataset versions …) registered by plugins, by name."""
        return self._collect(
            self.pm.hook.fama_register_submission_formats, lambda f: f.name, "submission format"
        )

    def meeting_sources(self) -> dict[str, Any]:
        """Meeting-list formats registered by plugins, by name (``meeting-guide``, ``csv`` …)."""
        return self._collect(
            self.pm.hook.fama_register_meeting_sources, lambda s: s.name, "meeting source"
        )
