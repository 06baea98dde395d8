"""The report ledger: what ``fama serve`` answered, and how the next answer keeps it protected.

Each answer to ``GET /v1/report`` is suppressed so that no withheld count can be
worked back from it. A reader who holds several answers can subtract them
(``docs/commissioning.md``, *Two reports of overlapping periods*), so the
service keeps every answer it gave in a ledger, in the store it serves from
(:class:`~fama_adapters.store.ReportLedger`), and builds each new answer the way
``fama report --earlier`` builds a report: knowing every answer already given
whose period overlaps it, directly or through a chain of overlapping answers.
The rules (``docs/decisions.md``, Q1-Q10):

* the same question (period, threshold, protection interval) is answered from
  the ledger, word for word, whatever was recorded since: an answer, once
  released, is frozen with its release time;
* a new question is answered only while the records of every released answer
  it is linked to are as they were when that answer was given (the ledger keeps
  a digest of them); when they have changed, a new answer could be subtracted
  from the old one to show what changed (a late-recorded client, a status that
  moved), so it is refused (:class:`ReportRefused`, ``revision``);
* a new answer that no choice of withheld counts keeps protected beside the
  released ones is refused (``unprotectable``);
* answers are never computed at a threshold below one already released
  (``threshold-lowered``).

Nothing of a client reaches the ledger: it holds the published figures (a
withheld count is ``null``), the question, and a SHA-256 digest of the
period's journeys (the report's view of each client: dates, codes, keyworker
ids), kept only to tell whether they changed. The ledger sits beside the
events themselves, so whoever can read it can read the records anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from fama_adapters.store import LedgerEntry, ReportLedger
from fama_core.commissioning import AccessReport, ClientJourney, overlap_of
from fama_core.errors import ConcurrencyConflict, FamaError, InputUnreadable, StoreError

__all__ = [
    "LEDGER_ATTEMPTS",
    "Period",
    "Question",
    "Released",
    "ReportRefused",
    "answered",
    "entry_answer",
    "entry_question",
    "linked_entries",
    "records_digest",
    "release",
]

Period = tuple[dt.date | None, dt.date | None]
"""First and last session-1 day of a report; ``None`` leaves that end open."""

LEDGER_ATTEMPTS = 5
"""How often an answer is computed again because another answer was released meanwhile."""


@dataclass(frozen=True, slots=True)
class Question:
    """What a report answer depends on: its period, threshold and protection interval."""

    period_start: dt.date | None
    period_end: dt.date | None
    threshold: int
    protection: int

    @property
    def period(self) -> Period:
        """The question's period."""
        return (self.period_start, self.period_end)

    def key(self) -> str:
        """The question as the ledger keeps it (canonical JSON: equal questions, equal text)."""
        return json.dumps(
            {
                "from": None if self.period_start is None else self.period_start.isoformat(),
                "to": None if self.period_end is None else self.period_end.isoformat(),
                "threshold": self.threshold,
                "protection": self.protection,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_key(cls, text: str) -> Question:
        """The question a ledger entry answered."""
        data = json.loads(text)
        return cls(
            None if data["from"] is None else dt.date.fromisoformat(data["from"]),
            None if data["to"] is None else dt.date.fromisoformat(data["to"]),
            int(data["threshold"]),
            int(data["protection"]),
        )


@dataclass(frozen=True, slots=True)
class Released:
    """An answer and its ledger entry; ``repeated`` when it was given before."""

    access: AccessReport
    entry: LedgerEntry
    repeated: bool


class ReportRefused(FamaError):
    """No answer can be given to this question without undoing one already given.

    ``kind`` is a stable name (``revision``, ``unprotectable``,
    ``threshold-lowered``); ``reason`` says why and what to do, in words
    that quote no value; ``entries`` are the released answers concerned.
    """

    def __init__(self, *, kind: str, reason: str, entries: Sequence[LedgerEntry] = ()) -> None:
        self.kind = kind
        self.reason = reason
        self.entries = tuple(entries)
        super().__init__(reason)


def _plain(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(str(_plain(v)) for v in value)
    return value


def records_digest(journeys: Iterable[ClientJourney]) -> str:
    """A SHA-256 digest of a period's journeys, in no particular order.

    Two sets of records give the same digest exactly when the report sees
    the same clients the same way, so every figure of every period inside
    this one is the same too. Each journey is written by field name, with
    the fields that hold their default left out, so a later fama that adds a
    field to :class:`ClientJourney` (with a default) gives the same digest
    for the same records and does not turn every later question into a
    refused revision (decision Q10).
    """
    fields = [
        (f.name, f.default if f.default is not dataclasses.MISSING else _NO_DEFAULT)
        for f in dataclasses.fields(ClientJourney)
    ]
    rows = sorted(
        json.dumps(
            {
                name: _plain(value)
                for name, default in fields
                if (value := getattr(j, name)) != default
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        for j in journeys
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


_NO_DEFAULT = object()
"""Stands for "no default": a field without one is always written."""


def _damaged(entry: LedgerEntry) -> StoreError:
    return StoreError(
        f"report ledger entry {entry.number} does not read as fama wrote it (changed outside "
        "fama); no new report is answered until it is put right"
    )


def entry_question(entry: LedgerEntry) -> Question:
    """The question ``entry`` answered; :class:`StoreError` (without the entry's text) when it
    does not read as fama wrote it."""
    try:
        return Question.from_key(entry.question)
    except (ValueError, KeyError, TypeError):  # JSONDecodeError is a ValueError
        raise _damaged(entry) from None


def entry_answer(entry: LedgerEntry) -> AccessReport:
    """The access figures ``entry`` released; :class:`StoreError` (without the entry's text)
    when they do not read as fama wrote them."""
    try:
        return AccessReport.model_validate_json(entry.answer)
    except ValidationError:
        raise _damaged(entry) from None


def linked_entries(entries: Sequence[LedgerEntry], period: Period) -> list[LedgerEntry]:
    """The released answers a reader can link to ``period``: overlapping it, or overlapping an
    answer that does, and so on (a chain of overlapping periods links its ends)."""
    periods = {e.number: entry_question(e).period for e in entries}
    reached: list[Period] = [period]
    linked: dict[int, LedgerEntry] = {}
    grew = True
    while grew:
        grew = False
        for e in entries:
            if e.number in linked:
                continue
            if any(overlap_of(periods[e.number], p) is not None for p in reached):
                linked[e.number] = e
                reached.append(periods[e.number])
                grew = True
    return [linked[n] for n in sorted(linked)]


def _when(entry: LedgerEntry) -> str:
    q = entry_question(entry)
    start = "the start of the records" if q.period_start is None else q.period_start.isoformat()
    end = "the end of the records" if q.period_end is None else q.period_end.isoformat()
    return f"{start} to {end} (released {entry.released_at.date().isoformat()})"


def answered(ledger: ReportLedger, question: Question) -> Released | None:
    """The answer already given to ``question``, or ``None`` when it was never asked."""
    key = question.key()
    for entry in ledger.report_ledger():
        if entry.question == key:
            return Released(entry_answer(entry), entry, True)
    return None


def release(
    ledger: ReportLedger,
    question: Question,
    journeys_for: Callable[[Period], Sequence[ClientJourney]],
    analyse: Callable[[list[AccessReport]], AccessReport],
) -> Released:
    """The answer to ``question``: from the ledger, or computed, kept and then given.

    ``journeys_for(period)`` gives a period's journeys from the records as they
    are now; ``analyse(earlier)`` computes the access figures of ``question``
    knowing the ``earlier`` answers (``fama report --earlier``). An answer
    computed while another was released is computed again knowing it (at most
    :data:`LEDGER_ATTEMPTS` times). Raises :class:`ReportRefused` when no
    answer may be given.
    """
    key = question.key()
    for _attempt in range(LEDGER_ATTEMPTS):
        entries = ledger.report_ledger()
        for entry in entries:
            if entry.question == key:
                return Released(entry_answer(entry), entry, True)
        higher = [e for e in entries if entry_question(e).threshold > question.threshold]
        if higher:
            raise ReportRefused(
                kind="threshold-lowered",
                reason=f"answers were released at threshold "
                f"{max(entry_question(e).threshold for e in higher)}, above this "
                f"service's {question.threshold}: a lower threshold would show counts they "
                "withheld; run the service at that threshold or higher",
                entries=higher,
            )
        linked = linked_entries(entries, question.period)
        changed = [
            e for e in linked if records_digest(journeys_for(entry_question(e).period)) != e.records
        ]
        if changed:
            raise ReportRefused(
                kind="revision",
                reason="the records of a released answer this period overlaps have changed "
                "since it was given (" + "; ".join(_when(e) for e in changed[:3]) + "), so a new "
                "answer could be subtracted from it to show what changed; ask for the released "
                "period itself (it is answered as it was given), or for a period that overlaps "
                "no released one",
                entries=changed,
            )
        earlier = [entry_answer(e) for e in linked]
        try:
            access = analyse(earlier)
        except InputUnreadable as exc:
            raise ReportRefused(
                kind="unprotectable",
                reason="beside the answers already released for overlapping periods ("
                + "; ".join(_when(e) for e in linked[:3])
                + "), every choice of withheld counts for this period would give away a count "
                "they withheld; ask for a released period, or one that overlaps no released one",
                entries=linked,
            ) from exc
        digest = records_digest(journeys_for(question.period))
        try:
            entry = ledger.add_to_ledger(
                key, access.model_dump_json(), digest, expected=len(entries)
            )
        except ConcurrencyConflict:
            continue  # another answer was released meanwhile: compute again knowing it
        return Released(access, entry, False)
    raise ReportRefused(
        kind="busy",
        reason="other answers kept being released while this one was computed; ask again",
    )
