"""Every contract between fama and its plugins, in one module.

A plugin is any object or module with functions named like the hooks below
and marked ``@hookimpl``. fama loads its built-in plugins by import path, then
every distribution's entry points in the group ``fama`` (see
:mod:`fama_adapters.plugins`), then checks that each implementation matches a
spec here, so a misspelt hook fails loudly.

Registration hooks receive a ``register`` callback rather than returning
lists: the host stays in charge of names, clashes and errors. Hook arguments
may be added in later versions, never removed or renamed (pluggy passes each
implementation only the arguments it names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from fama_adapters.cli import Command, DemoStep
    from fama_adapters.meetings.sources import MeetingSource
    from fama_adapters.ndtms.formats import SubmissionFormat
    from fama_adapters.record_systems import RecordSystem
    from fama_adapters.store import StoreFactory

__all__ = ["PROJECT", "hookimpl", "hookspec"]

PROJECT = "fama"
"""The pluggy project name, also the entry-point group."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """Add subcommands to the ``fama`` command.

    Called once when the command line starts. Call ``register`` with a
    :class:`fama_adapters.cli.Command` for each subcommand the plugin adds.
    Two plugins registering one name is a :class:`~fama_core.errors.PluginError`.
    Returns nothing.
    """


@hookspec
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Add a step to ``fama demo`` (what ``make demo`` runs).

    Called once per ``fama demo``. Call ``register`` with a
    :class:`fama_adapters.cli.DemoStep`; steps run in ``order`` (lowest
    first), each receiving the demo context (the sample caseload already
    folded, the output folder). Returns nothing.
    """


@hookspec
def fama_register_record_systems(register: Callable[[RecordSystem], None]) -> None:
    """Add a clinical record system adapter (HL7 v2, FHIR R4, a vendor's API).

    Called each time the host lists record systems (``PluginHost.record_systems``,
    ``fama plugins``), so it must be cheap and free of side effects. Call
    ``register`` with an object satisfying
    :class:`fama_adapters.record_systems.RecordSystem`; its ``name`` must be
    unique across plugins (a clash is a :class:`~fama_core.errors.PluginError`
    naming both plugins). ``outbound`` returns documents and logs nothing;
    ``inbound`` lists bad input in ``InboundResult.problems`` rather than
    raising. Returns nothing.
    """


@hookspec
def fama_register_event_stores(register: Callable[[StoreFactory], None]) -> None:
    """Add a kind of event store, opened by URL scheme (``sqlite``, ``postgresql``).

    Called whenever the host opens a store by URL
    (:func:`fama_adapters.store.open_store`). Call ``register`` with a
    :class:`fama_adapters.store.StoreFactory` whose ``scheme`` is unique
    across plugins (a clash is a :class:`~fama_core.errors.PluginError`) and
    whose ``open(url, create)`` returns an object meeting
    :class:`fama_adapters.store.EventStore`. Not ``firstresult``; returns nothing.
    """


@hookspec
def fama_register_submission_formats(register: Callable[[SubmissionFormat], None]) -> None:
    """Add a national submission format (an NDTMS dataset version, or another dataset).

    Called when the host first asks for submission formats (``fama ndtms …``,
    the demo). Call ``register`` with an object satisfying
    :class:`fama_adapters.ndtms.formats.SubmissionFormat`; its ``name`` (e.g.
    ``ndtms-P``) must be unique across plugins (a clash is a
    :class:`~fama_core.errors.PluginError`). Not ``firstresult``. Returns nothing.
    """


@hookspec
def fama_register_meeting_sources(register: Callable[[MeetingSource], None]) -> None:
    """Add a meeting-list format that ``fama meetings import`` can read.

    Called when the host first asks for meeting sources (not firstresult:
    every plugin's sources are collected). Call ``register`` with an object
    satisfying :class:`fama_adapters.meetings.sources.MeetingSource`: a
    ``name`` unique across plugins (chosen with ``--format``; a clash is a
    :class:`~fama_core.errors.PluginError`), a one-line ``description``, and
    ``load(location, *, options, client)`` returning an ``ImportReport`` in
    which each bad entry is an ``InvalidRecord`` naming its position.
    Returns nothing.
    """
