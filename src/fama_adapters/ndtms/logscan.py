"""Read a FAMA event log (JSON lines) and the host's contexts, one client at a time.

Both inputs are streamed in ascending client-id order (what an event store
exports stream by stream), so an export holds one client in memory at a time.

The workflow is always checked: every line is decoded and validated as an
event, and each client's events are folded through the workflow's public
:func:`~fama_core.workflow.fold`, as a stored log is replayed. An event
the workflow refuses is reported on its own line with the rule it broke
(:class:`Refusal`) and left out; the client's other events still count, and
what depended on the refused one is refused in turn by the workflow itself.
A line that does not decode is reported on its own line the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fama_core.errors import IdempotencyConflict, InvalidRecord, TransitionRefused
from fama_core.events import Event, event_from_json
from fama_core.ndtms.context import NdtmsContext
from fama_core.ndtms.derive import Facilitation, facilitation_from_state
from fama_core.state import ClientState
from fama_core.workflow import fold

__all__ = ["ClientContexts", "ClientLog", "Refusal", "checked_fold", "read_contexts", "scan_log"]

_ID = rb"([A-Za-z0-9][A-Za-z0-9._:\-]{0,63})"
_CLIENT = re.compile(rb'"client_id"\s*:\s*"' + _ID + rb'"')
_BLANK = b" \t\r\n"
"""A line of only these is blank (skipped); any other byte makes it a line to read."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event the workflow refused: its line, kind and the rule (never its content)."""

    line: int
    event: str
    condition: str
    """The workflow's name for the unmet condition (``sessions_in_order`` …)."""
    state: str

    @property
    def reason(self) -> str:
        """``workflow refused <event>: <condition>``."""
        return f"workflow refused {self.event}: {self.condition}"


@dataclass
class ClientLog:
    """One client's projection, and every line that could not be used, each on its own."""

    client_id: str
    facilitation: Facilitation | None
    """``None`` when none of the client's events could be used."""
    first_line: int
    problems: list[tuple[int, str]] = field(default_factory=list)
    """``(line, reason)`` for each line that could not be read (never its content)."""
    refused: list[Refusal] = field(default_factory=list)
    """Events the workflow refused, each with its line and rule."""
    used: int = 0
    """Events the workflow took (every line is used, refused or a problem)."""
    older_rules: list[Refusal] = field(default_factory=list)
    """Events kept although they break a rule added after they were written (the workflow's
    replay of a stored log flags them; they count, and are reported)."""

    @property
    def refused_sessions(self) -> int:
        """FAMA sessions among the refused events: held back, never counted."""
        return sum(1 for r in self.refused if r.event.startswith("session_"))


def _client_of(raw: bytes) -> str | None:
    m = _CLIENT.search(raw)
    return m.group(1).decode() if m else None


def checked_fold(
    items: list[tuple[int, Event]],
) -> tuple[ClientState | None, list[Refusal]]:
    """Fold ``(line, event)`` pairs through the workflow, leaving out each refused event.

    The log is a stored one, so it is replayed as the workflow replays stored
    logs (``flag_newer_rules``: an event that breaks only a rule added after
    it was written is kept and flagged on its episode). The whole log is
    folded at once (:func:`~fama_core.workflow.fold`); only when it is refused
    is it folded event by event, so that each refused event is found,
    reported and skipped while the events before it, and after it that do not
    depend on it, still count.
    """
    return _checked_fold([line for line, _ in items], [e for _, e in items])


def _checked_fold(
    lines: list[int], events: list[Event]
) -> tuple[ClientState | None, list[Refusal]]:
    """:func:`checked_fold` of the events and their lines kept apart (no pair per line)."""
    if not events:
        return None, []
    try:
        return fold(events, flag_newer_rules=True), []
    except (TransitionRefused, IdempotencyConflict):
        pass
    state: ClientState | None = None
    refused: list[Refusal] = []
    for line, event in zip(lines, events, strict=True):
        try:
            state = fold((event,), state, flag_newer_rules=True)
        except TransitionRefused as exc:
            refused.append(Refusal(line, event.kind, exc.condition, exc.state))
        except IdempotencyConflict:
            refused.append(Refusal(line, event.kind, "event_id_reused", ""))
    return state, refused


def _older_rules(state: ClientState, numbers: list[int], events: list[Event]) -> list[Refusal]:
    """The events kept under rules newer than they are, with their lines."""
    breaches = [b for ep in state.episodes for b in ep.breaches]
    if not breaches:
        return []
    lines = {e.event_id: line for line, e in zip(numbers, events, strict=True)}
    return [Refusal(lines.get(b.event_id, 0), b.event, b.condition, "") for b in breaches]


def _decode_problem(exc: InvalidRecord) -> str:
    return "event line invalid: " + "; ".join(
        f"{p.location or 'event'}: {p.code}" for p in exc.problems
    )


def scan_log(lines: Iterable[bytes], *, verify: bool = True) -> Iterator[ClientLog]:
    """Yield each client's :class:`ClientLog`, in log order (ascending client id expected).

    Every line is decoded and every client folded through the workflow
    (``verify`` is accepted for compatibility: checking is always on). A
    line out of client order is reported with its own line number and the
    line where the later client began, and not used; a blank line is skipped.
    """
    del verify  # always on
    current: ClientLog | None = None
    numbers: list[int] = []  # the line of each event, kept apart: no pair built per line
    events: list[Event] = []

    def finish() -> ClientLog | None:
        if current is None:
            return None
        state, refused = _checked_fold(numbers, events)
        current.refused = refused
        current.used = len(events) - len(refused)
        current.facilitation = facilitation_from_state(state) if state is not None else None
        if state is not None:
            current.older_rules = _older_rules(state, numbers, events)
        return current

    for number, raw in enumerate(lines, start=1):
        if raw[:1] != b"{" and not raw.strip(_BLANK):  # an event line starts with its brace
            continue
        event: Event | None = None
        problem: str | None = None
        try:
            event = event_from_json(raw)  # the line number is kept apart, for the report
            client: str | None = event.client_id
        except InvalidRecord as exc:
            problem = _decode_problem(exc)
            client = _client_of(raw)
        if client is None:
            reason = "no client_id: line cannot be used"
            if current is not None:
                current.problems.append((number, reason))
            else:
                yield ClientLog("", None, number, [(number, reason)])
            continue
        if current is None or client != current.client_id:
            if current is not None and client < current.client_id:
                current.problems.append(
                    (
                        number,
                        "log not in ascending client order: the line is for a client before "
                        f"the one that began at line {current.first_line}",
                    )
                )
                continue
            done = finish()
            if done is not None:
                yield done
            current = ClientLog(client, None, number)
            numbers, events = [], []
        if event is not None:
            numbers.append(number)
            events.append(event)
        else:
            assert problem is not None
            current.problems.append((number, problem))
    done = finish()
    if done is not None:
        yield done


@dataclass
class ClientContexts:
    """The treatment contexts of one client (one per treatment episode)."""

    client_id: str
    contexts: list[NdtmsContext]
    first_line: int
    problems: list[tuple[int, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    """The line of each context in ``contexts``."""


def read_contexts(lines: Iterable[bytes]) -> Iterator[ClientContexts]:
    """Read a contexts file (JSON lines of :class:`NdtmsContext`), grouped by client.

    A line that does not validate is reported by line number and field
    (``ClientContexts`` with the client id when it can be found, else ``""``).
    A line for a client before the current one (the file is not in ascending
    client order) is reported with both line numbers and not used.
    """
    current: ClientContexts | None = None
    for number, raw in enumerate(lines, start=1):
        if raw[:1] != b"{" and not raw.strip():  # a context line starts with its brace
            continue
        try:
            ctx = NdtmsContext.model_validate_json(raw)
        except ValueError as exc:
            reason = _context_problem(exc)
            client = _context_client(raw)
            if current is not None and (current.client_id == client or not client):
                current.problems.append((number, reason))
                continue
            if current is not None and client < current.client_id:
                current.problems.append((number, reason))
                continue
            if current is not None:
                yield current
            current = ClientContexts(client, [], number, [(number, reason)])
            continue
        if current is not None and current.client_id == ctx.client_id:
            current.contexts.append(ctx)
            current.lines.append(number)
            continue
        if current is not None and ctx.client_id < current.client_id:
            current.problems.append(
                (
                    number,
                    "contexts not in ascending client order: the line is for a client before "
                    f"the one that began at line {current.first_line}",
                )
            )
            continue
        if current is not None:
            yield current
        current = ClientContexts(ctx.client_id, [ctx], number, lines=[number])
    if current is not None:
        yield current


def _context_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = [
            ".".join(str(x) for x in e.get("loc", ())) + ": " + str(e.get("type", "invalid"))
            for e in errors(include_input=False, include_url=False, include_context=False)
        ]
        return "invalid context: " + "; ".join(parts)
    return "invalid context"


def _context_client(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        cid = data["treatment"]["client_id"]
    except (ValueError, KeyError, TypeError, RecursionError):  # a deeply nested line is bad input
        return ""
    return cid if isinstance(cid, str) and re.fullmatch(r"[A-Za-z0-9._:\-]{1,64}", cid) else ""
