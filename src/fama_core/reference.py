"""``docs/event-reference.md``, generated from the code and the catalogue: what a vendor writes.

Each event kind's required and optional fields (from the pydantic models), those of the
objects events carry and the codes their fields take, each
session's steps (from the catalogue, required or optional), the organisation
codes, and one complete valid journey per ending, built with
:class:`~fama_core.builders.JourneyBuilder` and checked by the workflow before
it is printed. ``fama docs`` writes it; a test fails when it is stale.
"""

from __future__ import annotations

import datetime as dt
import enum
import typing
from typing import Any

from pydantic import BaseModel

from fama_core.builders import JourneyBuilder
from fama_core.catalogue import load_catalogue
from fama_core.codes import OPTIONAL_STEPS, CloseReason, GoalKind, SessionStage
from fama_core.events import _EVENT_CLASSES, event_to_json
from fama_core.workflow import FIXES, GUARDS, NEWER_RULES, TRANSITIONS, fold

__all__ = ["event_reference_markdown", "sample_endings"]

_ENVELOPE = ("event_id", "client_id", "episode_id", "keyworker_id", "occurred_on", "recorded_at")


def _fields_table() -> str:
    rows = [
        "| event kind | required fields (besides the envelope) | optional fields |",
        "|---|---|---|",
    ]
    for cls in _EVENT_CLASSES:
        fields = cls.model_fields
        kind = fields["kind"].default
        required = [n for n, f in fields.items() if f.is_required() and n not in _ENVELOPE]
        optional = [
            n
            for n, f in fields.items()
            if not f.is_required() and n not in ("kind", "schema_version")
        ]
        rows.append(
            f"| `{kind}` | {', '.join(f'`{n}`' for n in required) or '-'} | "
            f"{', '.join(f'`{n}`' for n in optional) or '-'} |"
        )
    return "\n".join(rows) + "\n"


def _inner(annotation: Any, kind: type) -> list[Any]:
    """The classes of ``kind`` an annotation holds (through Optional, tuple, Annotated …)."""
    if isinstance(annotation, type) and issubclass(annotation, kind):
        return [annotation]
    found: list[Any] = []
    for arg in typing.get_args(annotation):
        found += _inner(arg, kind)
    return found


def _carried() -> dict[type[BaseModel], list[str]]:
    """Each object an event carries, with the paths it is found at, in first-seen order."""
    where: dict[type[BaseModel], list[str]] = {}

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            for inner in _inner(field.annotation, BaseModel):
                paths = where.setdefault(inner, [])
                if f"{prefix}{name}" not in paths:
                    paths.append(f"{prefix}{name}")
                walk(inner, f"{prefix}{name}.")

    for cls in _EVENT_CLASSES:
        walk(cls, "")
    return where


def _objects_table() -> str:
    rows = [
        "| object | found at | required fields | optional fields |",
        "|---|---|---|---|",
    ]
    for model, paths in _carried().items():
        fields = model.model_fields
        required = [n for n, f in fields.items() if f.is_required()]
        optional = [n for n, f in fields.items() if not f.is_required()]
        rows.append(
            f"| `{model.__name__}` | {', '.join(f'`{p}`' for p in sorted(set(paths)))} | "
            f"{', '.join(f'`{n}`' for n in required) or '-'} | "
            f"{', '.join(f'`{n}`' for n in optional) or '-'} |"
        )
    return "\n".join(rows) + "\n"


def _codes_table() -> str:
    rows = ["| field | codes |", "|---|---|"]
    seen: set[str] = set()
    owners: list[tuple[str, type[BaseModel]]] = [
        (str(cls.model_fields["kind"].default), cls) for cls in _EVENT_CLASSES
    ]
    owners += [(model.__name__, model) for model in _carried()]
    for owner, model in owners:
        for name, field in model.model_fields.items():
            for codes in _inner(field.annotation, enum.Enum):
                label = f"`{name}` ({owner})"
                if label in seen or (name == "kind" and model in _EVENT_CLASSES):
                    continue
                seen.add(label)
                rows.append(f"| {label} | {', '.join(f'`{c.value}`' for c in codes)} |")
    return "\n".join(rows) + "\n"


def _steps_table() -> str:
    catalogue = load_catalogue()
    rows = ["| session | step | title | |", "|---|---|---|---|"]
    for stage in SessionStage:
        for entry in catalogue.steps_of(stage):
            need = "optional" if entry.id in OPTIONAL_STEPS else "required"
            rows.append(f"| {stage.value} | `{entry.id.value}` | {entry.title} | {need} |")
    return "\n".join(rows) + "\n"


def _organisations_table() -> str:
    rows = ["| code | organisation | approach | for |", "|---|---|---|---|"]
    for code, org in load_catalogue().organisations.items():
        rows.append(f"| `{code}` | {org.name} | {org.approach.value} | {org.audience.value} |")
    return "\n".join(rows) + "\n"


def _rules_table() -> str:
    rows = [
        "| event kind | rule | what it checks | what makes a refused event pass |",
        "|---|---|---|---|",
    ]
    generic = ("same_episode", "not_before_opening")
    for t in TRANSITIONS:
        for name in t.guards:
            if name in generic:
                continue
            checks = (GUARDS[name].__doc__ or "").strip()
            newer = " (newer rule: stored events that break it replay flagged)" * (
                name in NEWER_RULES
            )
            rows.append(f"| `{t.event}` | `{name}`{newer} | {checks} | {FIXES[name]} |")
    return "\n".join(rows) + "\n"


def sample_endings() -> dict[str, JourneyBuilder]:
    """One complete journey per ending (engaged, declined, closed), valid under the workflow."""
    start = dt.date(2026, 3, 2)
    engaged = JourneyBuilder("c-1042", keyworker_id="kw-7", start=start)
    meeting = engaged.meeting("Monday Lunchtime Newcomers", "aa")
    engaged.open().session1().goal(GoalKind.READ_HANDOUTS)
    engaged.session2(commit_to=meeting).session3(commit_to=meeting)
    engaged.journal(meeting, days_after=5, contacts=1).session3().engaged("aa")
    declined = JourneyBuilder("c-1043", keyworker_id="kw-7", start=start)
    declined.open().session1().session2(reason="not ready this month").declined()
    closed = JourneyBuilder("c-1044", keyworker_id="kw-7", start=start)
    closed.open().session1().closed(CloseReason.TRANSFERRED)
    return {"engaged": engaged, "declined": declined, "closed": closed}


def _journeys() -> str:
    parts = []
    for ending, b in sample_endings().items():
        state = fold(b.events)  # refuses, so an invalid sample cannot be printed
        assert state.status is not None and state.status.value == ending
        lines = "\n".join(event_to_json(e) for e in b.events)
        parts.append(f"### Ends {ending}\n\n```json\n{lines}\n```\n")
    return "\n".join(parts)


def event_reference_markdown() -> str:
    """The whole of ``docs/event-reference.md``."""
    return (
        "# Event reference\n\n"
        "Generated by `fama docs` from the event models, the catalogue and the workflow; do not "
        "edit by hand. A test fails when this file is stale. Every event also carries the "
        "envelope: " + ", ".join(f"`{n}`" for n in _ENVELOPE) + ". `docs/events.md` explains "
        "them; `schemas/event.schema.json` is the full schema.\n\n"
        "## Fields of each event kind\n\n" + _fields_table() + "\n"
        "## Fields of the objects events carry\n\n" + _objects_table() + "\n"
        "## Codes a field takes\n\n"
        "Fields whose value is one of a list of codes (step ids are listed under the steps of "
        "each session below; organisation codes after them).\n\n" + _codes_table() + "\n"
        "## Steps of each session\n\n"
        "A session record lists every required step of its session once, each `done`, "
        "`not_done` or `not_applicable`; an optional step may be listed once.\n\n"
        + _steps_table()
        + "\n## Rules that ask for more than the fields above\n\n"
        "The workflow checks each event against the client's record so far; a refused event "
        "names its rule (`TransitionRefused`, `condition`) and says what would make it pass "
        "(`fix`). Every event except `episode_opened` must also name the current episode "
        "(`same_episode`: " + FIXES["same_episode"] + ") and not be dated before it was opened "
        "(`not_before_opening`).\n\n" + _rules_table() + "\n## Organisation codes\n\n"
        "The packaged codes; a host may add its own (`Catalogue.with_organisations`).\n\n"
        + _organisations_table()
        + "\n## One complete journey per ending\n\n"
        "Each is accepted by the workflow as it stands (JSON lines, one event a line).\n\n"
        + _journeys()
    )
