"""The Python API a host embeds: record events, read a client's state, see what is due next.

:class:`Fama` wraps an :class:`~fama_adapters.store.EventStore`. Every write
goes through the workflow first: the client's stream is folded, the batch is
applied with :func:`fama_core.workflow.apply`, and a refused event raises
:class:`~fama_core.errors.TransitionRefused` before anything is written. The
batch is then appended atomically at the version it was validated against,
so a keyworker who decided on stale information gets a
:class:`~fama_core.errors.ConcurrencyConflict` rather than a silent overwrite.

>>> import datetime as dt
>>> from fama_adapters.facade import Fama
>>> from fama_adapters.store.memory import MemoryEventStore
>>> from fama_core.builders import JourneyBuilder
>>> fama = Fama(MemoryEventStore())
>>> b = JourneyBuilder("c-1", keyworker_id="kw-1", start=dt.date(2026, 3, 2))
>>> _ = b.open().session1()
>>> fama.record(b.events).version
2
>>> fama.due_next("c-1").next_session
'2'
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fama_adapters.store import (
    AppendResult,
    Erasure,
    EventStore,
    StoredEvent,
    iter_streams,
    open_store,
    utc_now,
)
from fama_adapters.store.integrity import VerifyReport, verify_events
from fama_core.catalogue import Catalogue, StepEntry, load_catalogue
from fama_core.codes import EpisodeStatus, GoalStatus, SessionStage
from fama_core.engagement import DEFAULT_ENGAGEMENT, EngagementCriterion
from fama_core.errors import (
    ClientErased,
    ConcurrencyConflict,
    FamaError,
    IdempotencyConflict,
    InvalidRecord,
    StoreError,
    TransitionRefused,
)
from fama_core.events import Event, EventBase
from fama_core.refresh import MeetingAlert, MeetingChange, alerts_for
from fama_core.state import (
    STATE_ADAPTER,
    AccompanimentState,
    ClientState,
    CommitmentState,
    GoalState,
)
from fama_core.workflow import allowed_events, apply, fold, initial

if TYPE_CHECKING:
    from fama_adapters.plugins import PluginHost

__all__ = [
    "DueNext",
    "Fama",
    "LineProblem",
    "RecordReport",
    "Recorded",
    "ReplayFlag",
    "ReplayProblem",
    "ReplaySummary",
]

_NEXT_STAGE: dict[EpisodeStatus, SessionStage] = {
    EpisodeStatus.OPENED: SessionStage.INTRODUCTION,
    EpisodeStatus.INTRODUCED: SessionStage.ENGAGEMENT,
    EpisodeStatus.UNCOMMITTED: SessionStage.ENGAGEMENT,
    EpisodeStatus.COMMITTED: SessionStage.REVIEW,
}
"""Which session the guide has next in each open state (decisions: the event store, 5).

A commitment made at session 1 is reviewed at session 2, not 3: see :func:`_next_stage`.
"""


def _next_stage(status: EpisodeStatus, last_stage: SessionStage | None) -> SessionStage | None:
    if status is EpisodeStatus.COMMITTED and last_stage is SessionStage.INTRODUCTION:
        return SessionStage.ENGAGEMENT
    return _NEXT_STAGE.get(status)


_HELD: list[dict[str, str]] = [
    {
        "what": "your client key, and the keys of the keyworkers and volunteers involved",
        "why": "to keep your FAMA record together and say who recorded each part",
    },
    {
        "what": "dates of sessions, meetings and changes",
        "why": "the record of your FAMA sessions; NDTMS returns and service counts",
    },
    {
        "what": "codes: the steps of each session, goals, obstacles, mutual aid organisations, "
        "outcomes",
        "why": "the record of your FAMA sessions; NDTMS returns and service counts",
    },
    {
        "what": "what was written down: notes, goal descriptions, journal reactions, benefits "
        "and difficulties, responses to obstacles, meeting names",
        "why": "the record of your FAMA sessions, for your keyworker",
    },
]
"""The categories a subject access export explains (docs/data-protection.md has the detail)."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """What :meth:`Fama.record` did."""

    client_id: str
    version: int
    """The client's stream version after the write."""
    stored: tuple[str, ...]
    """Ids of the events written."""
    duplicates: tuple[str, ...]
    """Ids of events already recorded: not written again."""
    state: ClientState


@dataclass(frozen=True, slots=True)
class DueNext:
    """What is due at a client's next session, for a keyworker's screen."""

    client_id: str
    version: int
    """The stream version this was worked out from (send it back as the expected version)."""
    status: str | None
    """The current episode's status; ``None`` when the client has no episode."""
    episode_id: str | None
    next_session: str | None
    """``"1"``, ``"2"`` or ``"3"``; ``None`` when no episode is open."""
    commitment_to_review: CommitmentState | None
    goals_to_review: tuple[GoalState, ...]
    """Agreed goals: the next session must review each of them."""
    goals_proposed: tuple[GoalState, ...]
    """Proposed goals, to agree or withdraw."""
    open_accompaniments: tuple[AccompanimentState, ...]
    """Peer accompaniments whose outcome is not yet recorded."""
    allowed_events: tuple[str, ...]
    """Event kinds the workflow accepts next (before its guards)."""
    steps: tuple[StepEntry, ...]
    """The steps of the next session, from the catalogue, in the guide's order."""
    meeting_alerts: tuple[MeetingAlert, ...] = ()
    """The open commitment's or accompaniments' meetings that a refresh found changed or removed."""

    def to_json(self, *, reveal: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; goal descriptions are redacted unless ``reveal``."""

        def goal(g: GoalState) -> dict[str, Any]:
            return {
                "goal_id": g.goal.goal_id,
                "kind": g.goal.kind.value,
                "status": g.status.value,
                "target_date": g.goal.target_date.isoformat() if g.goal.target_date else None,
                "meeting": g.goal.meeting.name if g.goal.meeting else None,
                "description": (g.goal.description if reveal else "[redacted]")
                if g.goal.description
                else None,
            }

        c = self.commitment_to_review
        return {
            "client_id": self.client_id,
            "version": self.version,
            "status": self.status,
            "episode_id": self.episode_id,
            "next_session": self.next_session,
            "commitment_to_review": None
            if c is None
            else {
                "commitment_id": c.commitment.commitment_id,
                "meeting": c.commitment.meeting.name,
                "organisation": c.commitment.meeting.organisation,
                "planned_date": c.commitment.planned_date.isoformat(),
                "accompaniment_requested": c.commitment.accompaniment_requested,
                "made_in_session": c.made_in_session,
            },
            "goals_to_review": [goal(g) for g in self.goals_to_review],
            "goals_proposed": [goal(g) for g in self.goals_proposed],
            "open_accompaniments": [
                {
                    "arrangement_id": a.arrangement.arrangement_id,
                    "meeting": a.arrangement.meeting.name,
                    "date": a.arrangement.date.isoformat(),
                }
                for a in self.open_accompaniments
            ],
            "allowed_events": list(self.allowed_events),
            "steps": [{"id": s.id.value, "title": s.title} for s in self.steps],
            "meeting_alerts": [
                a.model_dump(mode="json", exclude_none=True) for a in self.meeting_alerts
            ],
        }


@dataclass(frozen=True, slots=True)
class LineProblem:
    """A record of an import that was not stored, and why (no personal data)."""

    line: int
    event_id: str | None
    error: str
    """The error's class name (``InvalidRecord``, ``TransitionRefused`` …)."""
    condition: str | None
    """For a refusal, the workflow's unmet condition."""
    message: str


@dataclass
class RecordReport:
    """What :meth:`Fama.record_lines` did with a whole file.

    ``problems`` lists the refused lines, unless the caller streamed them to
    ``on_problem``; ``refused`` counts them either way.
    """

    recorded: int = 0
    duplicates: int = 0
    clients: set[str] = field(default_factory=set)
    problems: list[LineProblem] = field(default_factory=list)
    refused: int = 0
    _sink: Callable[[LineProblem], None] | None = field(default=None, repr=False, compare=False)
    _held: list[LineProblem] = field(default_factory=list, repr=False, compare=False)

    def refuse(self, problem: LineProblem) -> None:
        """Count a refused line; keep it, or hold it for the sink until the next flush."""
        self.refused += 1
        (self._held if self._sink is not None else self.problems).append(problem)

    def release(self) -> None:
        """Pass held problems to the sink in line order (after a flush no earlier one can come)."""
        if self._sink is None:
            return
        self._held.sort(key=lambda p: p.line)
        for problem in self._held:
            self._sink(problem)
        self._held.clear()


@dataclass(frozen=True, slots=True)
class ReplayProblem:
    """A stored stream that no longer folds (written by another tool or an older fama)."""

    client_id: str
    version: int
    error: str
    message: str


@dataclass(frozen=True, slots=True)
class ReplayFlag:
    """A stored event kept as recorded although it breaks a rule added since it was written.

    The client still replays; the flag is also on its episode's ``breaches``
    (``docs/decisions.md``, W6).
    """

    client_id: str
    episode_id: str
    event_id: str
    event: str
    """The event kind."""
    rule: str
    """The guard it breaks (see ``fama_core.workflow.NEWER_RULES``)."""
    detail: str
    """Why, in plain words: ids, fields and counts, never record text."""


@dataclass
class ReplaySummary:
    """What :meth:`Fama.replay` found: clients and events, clients by status, problems.

    ``flagged`` lists each stored event that breaks a rule added after it was
    written; its client replays all the same.
    """

    clients: int = 0
    events: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    problems: list[ReplayProblem] = field(default_factory=list)
    flagged: list[ReplayFlag] = field(default_factory=list)


def _problem(line: int, event_id: str | None, exc: FamaError) -> LineProblem:
    return LineProblem(
        line, event_id, type(exc).__name__, getattr(exc, "condition", None), str(exc)
    )


class Fama:
    """fama embedded in a host: the workflow in front of an event store.

    Keeps a bounded cache of folded states; each read still asks the store for
    events newer than the cached version, so several processes can share one
    store. Safe to share between threads (a web host's request threads).
    """

    def __init__(
        self,
        store: EventStore,
        *,
        catalogue: Catalogue | None = None,
        cache_size: int = 1024,
        engagement: EngagementCriterion = DEFAULT_ENGAGEMENT,
    ) -> None:
        self.store = store
        self.engagement = engagement
        """The provider's engagement criterion (:mod:`fama_core.engagement`)."""
        self.catalogue = catalogue or load_catalogue()
        self._cache: OrderedDict[str, ClientState] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, create: bool = False, host: PluginHost | None = None) -> Fama:
        """A :class:`Fama` on the store at ``url`` (see :func:`fama_adapters.store.open_store`).

        A built-in store (``sqlite``, ``postgresql``, ``memory``) opens without loading
        any plugin; pass ``host`` to reach a store a plugin provides.

        >>> with Fama.open("memory://") as fama:
        ...     fama.due_next("c-1").allowed_events
        ('episode_opened',)
        """
        return cls(open_store(url, create=create, host=host))

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Fama:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    def _remember(self, state: ClientState) -> None:
        with self._cache_lock:
            current = self._cache.get(state.client_id)
            if current is not None and current.version > state.version:
                return  # another thread already cached a newer state
            self._cache[state.client_id] = state
            self._cache.move_to_end(state.client_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _forget(self, client_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(client_id, None)

    def state(self, client_id: str) -> ClientState:
        """The client's state folded from the store (an empty state for an unknown client)."""
        with self._cache_lock:
            cached = self._cache.get(client_id)
        newer = self.store.read(client_id, after=cached.version if cached else 0)
        if not newer:
            return cached if cached is not None else initial(client_id)
        # Stored events were accepted when written: a rule added since flags them
        # on their episode instead of making the client unreadable.
        state = fold(
            (e.event() for e in newer), cached, criterion=self.engagement, flag_newer_rules=True
        )
        self._remember(state)
        return state

    def verify(self) -> VerifyReport:
        """Check the store's hash chains (every stream, every head); see
        :mod:`fama_adapters.store.integrity`. A store without a ``verify`` of its
        own has its chains checked from :meth:`~fama_adapters.store.EventStore.stream_all`."""
        own = getattr(self.store, "verify", None)
        if own is not None:
            report: VerifyReport = own()
            return report
        return verify_events(self.store.stream_all())

    @property
    def can_compare_and_erase(self) -> bool:
        """Whether the store's ``erase`` checks an expected version in its own transaction.

        The built-in stores do; a plugin store written before ``expected_version``
        existed does not, and an erasure confirmed by version is then refused rather
        than raced.
        """
        own = getattr(self.store, "erase", None)
        if own is None:
            return False
        try:
            return "expected_version" in inspect.signature(own).parameters
        except (TypeError, ValueError):
            return False

    def erase(self, client_id: str, *, expected_version: int | None = None) -> Erasure:
        """Erase the client's personal text for good (crypto-shredding: the store deletes the
        client's key). The events stay, with ids, codes and dates, so counts and NDTMS history
        still add up and the hash chain still verifies; every free text and typed-in name then
        reads as ``[erased]``. Raises :class:`StoreError` for an unknown client or a store
        that keeps no keys. See ``docs/data-protection.md``.

        ``expected_version`` (the version the caller read) is checked by the store inside
        the erasure's own transaction: a stream that moved on raises
        :class:`~fama_core.errors.ConcurrencyConflict` and nothing is erased."""
        own = getattr(self.store, "erase", None)
        if own is None:
            raise StoreError(f"{self.store.url}: this store keeps no keys, so it cannot erase")
        if expected_version is None:
            result: Erasure = own(client_id)
        elif not self.can_compare_and_erase:
            raise StoreError(
                f"{self.store.url}: this store cannot check the version as it erases, so it "
                "cannot erase a record confirmed by version"
            )
        else:
            result = own(client_id, expected_version=expected_version)
        self._forget(client_id)
        return result

    def _refuse_if_erased(self, client_id: str) -> None:
        erasure_of = getattr(self.store, "erasure", None)
        if erasure_of is not None and erasure_of(client_id) is not None:
            raise ClientErased(client_id=client_id)

    def subject_access(self, client_id: str) -> dict[str, Any]:
        """Everything fama holds about a client, for a subject access request (UK GDPR Art. 15).

        Returns a JSON-ready dict: the categories of data and where they are
        kept, whether and when the client was erased, the folded state, and
        every stored event in full (personal text included: this is the
        subject's own data; deliver it securely). Raises :class:`StoreError`
        for an unknown client.
        """
        stored = self.store.read(client_id)
        if not stored:
            raise StoreError(f"no events for client {client_id} in {self.store.url}")
        erasure_of = getattr(self.store, "erasure", None)
        erased: Erasure | None = erasure_of(client_id) if erasure_of is not None else None
        state = self.state(client_id)
        return {
            "client_id": client_id,
            "store": self.store.url,
            "generated_at": utc_now().isoformat(),
            "erased": None
            if erased is None
            else {"erased_at": erased.erased_at, "events": erased.events},
            "held": _HELD,
            "events": [
                {
                    "version": e.version,
                    "kind": e.kind,
                    "occurred_on": e.occurred_on.isoformat(),
                    "recorded_at": e.recorded_at.isoformat(),
                    "stored_at": e.stored_at.isoformat(),
                    "event": json.loads(e.payload),
                }
                for e in stored
            ],
            "state": STATE_ADAPTER.dump_python(state, mode="json"),
        }

    def history(self, client_id: str) -> list[StoredEvent]:
        """The client's stored events, in order."""
        return self.store.read(client_id)

    # ------------------------------------------------------------------ writing

    def record(
        self, events: Event | Iterable[Event], *, expected_version: int | None = None
    ) -> Recorded:
        """Validate a batch of one client's events against the workflow and store it atomically.

        ``expected_version`` is the version the keyworker's decision was based
        on (e.g. :attr:`DueNext.version`); when the stream has moved on,
        :class:`ConcurrencyConflict` and nothing is written. Without it the
        batch is validated against the latest state, and re-validated if
        another writer gets in between. Raises :class:`TransitionRefused` or
        :class:`IdempotencyConflict` for the first event the workflow refuses,
        before anything is written.
        """
        batch = [events] if isinstance(events, EventBase) else list(events)
        if not batch:
            raise StoreError("record needs at least one event")
        client_id = batch[0].client_id
        for attempt in (1, 2, 3):
            state = self.state(client_id)
            if expected_version is not None and state.version != expected_version:
                raise ConcurrencyConflict(
                    stream=client_id, expected=expected_version, actual=state.version
                )
            new = state
            try:
                for event in batch:
                    new = apply(new, event, criterion=self.engagement)
            except IdempotencyConflict:
                self._refuse_if_erased(client_id)
                raise
            try:
                result = self.store.append(client_id, batch, expected_version=state.version)
            except ConcurrencyConflict:
                self._forget(client_id)
                if expected_version is not None or attempt == 3:
                    raise
                continue
            if result.version == new.version:
                self._remember(new)
            else:  # pragma: no cover - a store that miscounts; fall back to reading it
                self._forget(client_id)
                new = self.state(client_id)
            return Recorded(client_id, result.version, result.stored, result.duplicates, new)
        raise AssertionError("unreachable")  # pragma: no cover

    def record_lines(
        self,
        numbered: Iterable[tuple[int, Event | InvalidRecord]],
        *,
        progress: Callable[[int], None] | None = None,
        flush_every: int = 500,
        on_problem: Callable[[LineProblem], None] | None = None,
    ) -> RecordReport:
        """Record a file of events for many clients, reporting each bad line and carrying on.

        ``numbered`` yields ``(line, event or InvalidRecord)`` as
        :func:`fama_core.events.events_from_json_lines` does. Each event is
        checked against its client's state including the lines before it; a
        refused line is reported (line, error, condition) and skipped, so later
        lines of that client are judged without it. Accepted events are stored
        every ``flush_every`` events, one atomic batch per client, all in one
        transaction when the store has ``append_many``.
        ``progress(n)`` is called with the number of lines read so far.
        With ``on_problem``, each refused line is passed to it (in line order,
        after the flush that settles it) instead of being kept in the report, so
        memory stays bounded whatever the size of the file and however many of
        its lines are refused.
        """
        report = RecordReport(_sink=on_problem)
        base: dict[str, ClientState] = {}
        working: dict[str, ClientState] = {}
        pending: dict[str, list[tuple[int, Event]]] = {}
        count = 0

        def flush() -> None:
            if pending and not self._flush_together(pending, base, working, report):
                for client_id, items in pending.items():
                    self._flush_client(
                        client_id, items, base[client_id], working[client_id], report
                    )
            base.clear()
            working.clear()
            pending.clear()
            report.release()

        for done, (line, item) in enumerate(numbered, start=1):
            if progress is not None:
                progress(done)
            if isinstance(item, InvalidRecord):
                report.refuse(_problem(line, item.event_id, item))
                if len(report._held) >= flush_every:
                    flush()  # settles what is pending, so the held lines can be passed on
                    count = 0
                continue
            client_id = item.client_id
            report.clients.add(client_id)
            state = working.get(client_id)
            if state is None:
                state = base[client_id] = working[client_id] = self.state(client_id)
            try:
                new = apply(state, item, criterion=self.engagement)
            except (TransitionRefused, IdempotencyConflict) as exc:
                report.refuse(_problem(line, item.event_id, exc))
                if len(report._held) >= flush_every:
                    flush()
                    count = 0
                continue
            if new is state:
                report.duplicates += 1
                continue
            working[client_id] = new
            pending.setdefault(client_id, []).append((line, item))
            count += 1
            if count >= flush_every:
                flush()
                count = 0
        flush()
        report.problems.sort(key=lambda p: p.line)
        return report

    def _flush_together(
        self,
        pending: dict[str, list[tuple[int, Event]]],
        base: dict[str, ClientState],
        working: dict[str, ClientState],
        report: RecordReport,
    ) -> bool:
        """Store every client's pending events in one transaction, when the store can.

        False when the store has no ``append_many`` or a batch conflicted (then
        nothing was written and the caller stores client by client).
        """
        append_many = getattr(self.store, "append_many", None)
        if append_many is None or len(pending) == 1:
            return False
        batches = [
            (client_id, [e for _, e in items], base[client_id].version)
            for client_id, items in pending.items()
        ]
        try:
            results: list[AppendResult] = append_many(batches)
        except (ConcurrencyConflict, IdempotencyConflict):
            return False
        for result in results:
            report.recorded += len(result.stored)
            report.duplicates += len(result.duplicates)
            if result.version == working[result.client_id].version:
                self._remember(working[result.client_id])
            else:  # pragma: no cover - a store that miscounts
                self._forget(result.client_id)
        return True

    def _flush_client(
        self,
        client_id: str,
        items: list[tuple[int, Event]],
        base: ClientState,
        working: ClientState,
        report: RecordReport,
    ) -> None:
        try:
            result = self.store.append(
                client_id, [e for _, e in items], expected_version=base.version
            )
        except (ConcurrencyConflict, IdempotencyConflict):
            # Someone else wrote to this client meanwhile, or an id is used in
            # another client's stream: record one by one, judging each again.
            self._forget(client_id)
            for line, event in items:
                try:
                    done = self.record(event)
                except FamaError as exc:
                    report.refuse(_problem(line, event.event_id, exc))
                else:
                    report.recorded += len(done.stored)
                    report.duplicates += len(done.duplicates)
            return
        report.recorded += len(result.stored)
        report.duplicates += len(result.duplicates)
        if result.version == working.version:
            self._remember(working)
        else:  # pragma: no cover - a store that miscounts
            self._forget(client_id)

    # ------------------------------------------------------------------ reading for people

    def due_next(self, client_id: str, *, meeting_changes: Iterable[MeetingChange] = ()) -> DueNext:
        """What is due at the client's next session: reviews, goals, steps, allowed events.

        ``meeting_changes`` (from ``fama meetings refresh``) adds an alert for
        each open commitment or accompaniment whose meeting changed or went.
        """
        state = self.state(client_id)
        ep = state.current
        allowed = allowed_events(state)
        if ep is None:
            return DueNext(
                client_id, state.version, None, None, None, None, (), (), (), allowed, ()
            )
        stage = _next_stage(ep.status, ep.sessions[-1].stage if ep.sessions else None)
        return DueNext(
            client_id,
            state.version,
            ep.status.value,
            ep.episode_id,
            stage.value if stage else None,
            ep.outstanding_commitment,
            tuple(g for g in ep.goals if g.status is GoalStatus.AGREED),
            tuple(g for g in ep.goals if g.status is GoalStatus.PROPOSED),
            tuple(a for a in ep.accompaniments if a.outcome is None),
            allowed,
            self.catalogue.steps_of(stage) if stage else (),
            alerts_for(state, meeting_changes),
        )

    def replay(self, *, progress: Callable[[int], None] | None = None) -> ReplaySummary:
        """Fold every stream in the store; count clients by status and list streams that fail."""
        summary = ReplaySummary()
        done = 0
        for client_id, stored in iter_streams(self.store.stream_all()):
            summary.clients += 1
            summary.events += len(stored)
            done += len(stored)
            try:
                state = fold(
                    (e.event() for e in stored), criterion=self.engagement, flag_newer_rules=True
                )
            except FamaError as exc:
                summary.problems.append(
                    ReplayProblem(
                        client_id,
                        _failing_version(stored, self.engagement),
                        type(exc).__name__,
                        str(exc),
                    )
                )
                key = "unreadable"
            else:
                key = state.status.value if state.status is not None else "none"
                summary.flagged.extend(
                    ReplayFlag(client_id, ep.episode_id, b.event_id, b.event, b.condition, b.detail)
                    for ep in state.episodes
                    for b in ep.breaches
                )
            summary.by_status[key] = summary.by_status.get(key, 0) + 1
            if progress is not None:
                progress(done)
        return summary


def _failing_version(stored: Sequence[StoredEvent], criterion: EngagementCriterion) -> int:
    """The version of the first stored event that does not decode or apply (as replay does)."""
    state: ClientState | None = None
    for e in stored:
        try:
            state = fold([e.event()], state, criterion=criterion, flag_newer_rules=True)
        except FamaError:
            return e.version
    return 0  # pragma: no cover - only called after fold failed
