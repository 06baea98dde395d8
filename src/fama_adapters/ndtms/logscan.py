"""Read a FAMA event log (JSON lines) and the host's contexts, one client at a time.

Both inputs are streamed in ascending client-id order (what an event store
exports stream by stream), so an export holds one client in memory at a time.

The log scan has two modes:

- **fast** (default): fama's own log, whose events the workflow accepted when
  they were appended. Each line in fama's canonical form (``event_to_json``:
  envelope first, identifiers that cannot hold quotes) is projected straight
  onto what NDTMS needs (session dates, peer accompaniment, episode ends)
  without building the event; any other line is decoded and validated in
  full. A line that does not decode is reported and the client rejected.
- **verify**: every line decoded and the client's log folded through the
  workflow; a client whose log the workflow refuses is rejected with the
  refusal (state, event, condition; never free text).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fama_core.errors import FamaError, InvalidRecord
from fama_core.events import Event, event_from_json
from fama_core.ndtms.context import NdtmsContext
from fama_core.ndtms.derive import Facilitation, FacilitationBuilder, facilitation_from_state
from fama_core.workflow import fold

__all__ = ["ClientContexts", "ClientLog", "read_contexts", "scan_log"]

_ID = rb"([A-Za-z0-9][A-Za-z0-9._:\-]{0,63})"
_PREFIX = re.compile(
    rb'\{"event_id":"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}","client_id":"'
    + _ID
    + rb'","episode_id":"'
    + _ID
    + rb'","keyworker_id":"'
    + _ID
    + rb'","occurred_on":"(\d{4}-\d\d-\d\d)",'
    rb'"recorded_at":"[^"\\]*",(?:"kind":"([a-z0-9_]+)")?'
)
_SESSION = re.compile(rb'"kind":"session_[123]_held"')
_ENDS = {
    b"engagement_confirmed": "engaged",
    b"client_declined": "declined",
    b"episode_closed": "closed",
}
_IGNORED = frozenset({b"goal_set", b"goal_updated", b"journal_entry_recorded", b"obstacle_raised"})


@dataclass
class ClientLog:
    """One client's projection, or why the client is rejected."""

    client_id: str
    facilitation: Facilitation | None
    first_line: int
    problems: list[tuple[int, str]] = field(default_factory=list)
    """``(line, reason)`` for each line that could not be used."""


class _Order(FamaError):
    pass


_CLIENT = re.compile(rb'"client_id"\s*:\s*"' + _ID + rb'"')


def _client_of(raw: bytes) -> str | None:
    m = _CLIENT.search(raw)
    return m.group(1).decode() if m else None


def _apply_event(b: FacilitationBuilder, e: Event) -> None:
    kind = e.kind
    if kind == "episode_opened":
        b.opened(e.episode_id, e.keyworker_id, e.occurred_on)
    elif kind.startswith("session_"):
        b.session(e.episode_id, e.occurred_on)
    elif kind == "accompaniment_arranged":
        b.arranged(e.episode_id, e.arrangement.arrangement_id, e.arrangement.date)  # type: ignore[union-attr]
    elif kind == "accompaniment_concluded":
        b.concluded(e.episode_id, e.result.arrangement_id, e.result.outcome.value)  # type: ignore[union-attr]
    elif kind in ("engagement_confirmed", "client_declined", "episode_closed"):
        b.ended(e.episode_id, {v.decode(): s for v, s in _ENDS.items()}[kind], e.occurred_on)


_BLANK = frozenset(b" \t\r\n")
_DAYS: dict[bytes, dt.date] = {}


def _day(text: bytes) -> dt.date:
    day = _DAYS.get(text)
    if day is None:
        if len(_DAYS) > 20_000:  # a bounded cache: a log's dates repeat, memory must not grow
            _DAYS.clear()
        day = _DAYS[text] = dt.date.fromisoformat(text.decode())
    return day


def _fast(b: FacilitationBuilder, raw: bytes, number: int, m: re.Match[bytes] | None) -> str | None:
    """Project one line onto ``b`` (``m``: its canonical-prefix match); a problem or ``None``."""
    if m is None or not raw.endswith((b"}\n", b"}", b"}\r\n")):
        return _slow(b, raw, number)
    kind = m.group(5)
    if kind in _IGNORED:
        return None
    try:
        day = _day(m.group(4))
    except ValueError:
        return "occurred_on is not a valid date"
    if kind is None:
        if _SESSION.search(raw, m.end()):
            b.session(m.group(2).decode(), day)
            return None
        return _slow(b, raw, number)
    if kind == b"episode_opened":
        b.opened(m.group(2).decode(), m.group(3).decode(), day)
    elif kind in _ENDS:
        b.ended(m.group(2).decode(), _ENDS[kind], day)
    else:  # accompaniment events carry what the prefix does not: decode them in full
        return _slow(b, raw, number)
    return None


def _slow(b: FacilitationBuilder, raw: bytes, number: int) -> str | None:
    try:
        event = event_from_json(raw, record=f"line {number}")
    except InvalidRecord as exc:
        return "; ".join(f"{p.location or 'event'}: {p.code}" for p in exc.problems)
    _apply_event(b, event)
    return None


def scan_log(lines: Iterable[bytes], *, verify: bool = False) -> Iterator[ClientLog]:
    """Yield each client's :class:`ClientLog`, in log order (ascending client id expected).

    A line out of client order is reported in the client it interrupts and
    not used; a blank line is skipped.
    """
    current: ClientLog | None = None
    builder: FacilitationBuilder | None = None
    events: list[Event] = []
    last_id: str | None = None

    def finish() -> ClientLog | None:
        if current is None:
            return None
        if verify and not current.problems:
            try:
                state = fold(events)
                current.facilitation = facilitation_from_state(state)
            except FamaError as exc:
                current.problems.append((current.first_line, _refusal(exc)))
        elif builder is not None and not current.problems:
            current.facilitation = builder.build()
        return current

    last_raw, last_decoded = b"", ""
    for number, raw in enumerate(lines, start=1):
        if (not raw or raw[0] in _BLANK) and not raw.strip():
            continue
        prefix = None if verify else _PREFIX.match(raw)
        if prefix is not None:
            raw_id = prefix.group(1)  # decode each client's id once, not once per line
            if raw_id != last_raw:
                last_raw, last_decoded = raw_id, raw_id.decode()
            client: str | None = last_decoded
        else:
            client = _client_of(raw)
        if client is None:
            if current is not None:
                current.problems.append((number, "no client_id: line cannot be used"))
            else:
                yield ClientLog("", None, number, [(number, "no client_id: line cannot be used")])
            continue
        if client != last_id:
            if last_id is not None and client < last_id:
                if current is not None:
                    current.problems.append((number, "log not in ascending client order"))
                continue
            done = finish()
            if done is not None:
                yield done
            current = ClientLog(client, None, number)
            builder = FacilitationBuilder(client)
            events = []
            last_id = client
        assert current is not None and builder is not None
        if verify:
            try:
                events.append(event_from_json(raw, record=f"line {number}"))
            except InvalidRecord as exc:
                current.problems.append(
                    (number, "; ".join(f"{p.location or 'event'}: {p.code}" for p in exc.problems))
                )
        else:
            problem = _fast(builder, raw, number, prefix)
            if problem:
                current.problems.append((number, problem))
    done = finish()
    if done is not None:
        yield done


def _refusal(exc: FamaError) -> str:
    condition = getattr(exc, "condition", None)
    event = getattr(exc, "event", None)
    if condition and event:
        return f"workflow refused {event}: {condition}"
    return type(exc).__name__


@dataclass
class ClientContexts:
    """The treatment contexts of one client (one per treatment episode)."""

    client_id: str
    contexts: list[NdtmsContext]
    first_line: int
    problems: list[tuple[int, str]] = field(default_factory=list)


def read_contexts(lines: Iterable[bytes]) -> Iterator[ClientContexts]:
    """Read a contexts file (JSON lines of :class:`NdtmsContext`), grouped by client.

    A line that does not validate is reported by line number and field
    (``ClientContexts`` with the client id when it can be found, else ``""``).
    """
    current: ClientContexts | None = None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            ctx = NdtmsContext.model_validate_json(raw)
        except ValueError as exc:
            reason = _context_problem(exc)
            client = _context_client(raw)
            if current is not None and current.client_id == client:
                current.problems.append((number, reason))
                continue
            if current is not None:
                yield current
            current = ClientContexts(client, [], number, [(number, reason)])
            continue
        if current is not None and current.client_id == ctx.client_id:
            current.contexts.append(ctx)
            continue
        if current is not None:
            yield current
        current = ClientContexts(ctx.client_id, [ctx], number)
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
