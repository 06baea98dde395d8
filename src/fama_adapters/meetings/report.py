"""What an import returns: the meetings read, each refused entry, and warnings.

A bad entry never stops an import: it becomes an
:class:`~fama_core.errors.InvalidRecord` naming its position
(``meetings[40]``, ``row 12``) and the failing field, and the rest imports.
Only a feed that cannot be read at all (not JSON, not a list, an HTTP error)
raises :class:`MeetingFeedError`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar

from pydantic import ValidationError

from fama_core.directory import DEFAULT_MAX_AGE_DAYS, Meeting
from fama_core.errors import (
    FieldProblem,
    InvalidRecord,
    MappingError,
    invalid_record_from_pydantic,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from fama_adapters.meetings.seen import SeenIds

_T = TypeVar("_T")

__all__ = [
    "FALLBACK_TIMEZONE",
    "KEPT",
    "KeptList",
    "ImportOptions",
    "ImportReport",
    "MeetingFeedError",
    "SHOWN_TYPE_CODE",
    "SHOWN_TYPE_CODES",
    "assumed_zone_warning",
    "resolve_zone",
    "unknown_types_warning",
]

FALLBACK_TIMEZONE = "Europe/London"
"""The zone taken, with a warning, for meetings whose source names none and no default."""


class MeetingFeedError(MappingError):
    """A whole feed could not be read (``source`` names it, ``reason`` says why)."""

    def __init__(self, *, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"meeting feed {source}: {reason}")


@dataclass(frozen=True)
class ImportOptions:
    """How to read a feed: what the feed itself does not say."""

    organisation: str = "aa"
    """Organisation of the feed's meetings (Meeting Guide feeds are one organisation's)."""
    timezone: str | None = None
    """Zone of meetings that name none (``--timezone``, or the sources file's ``timezone``).

    Without it such meetings are taken as :data:`FALLBACK_TIMEZONE` and the
    report warns, naming the source; with :attr:`strict` each is refused.
    """
    source: str | None = None
    """Label kept on each meeting (default: the file name or URL)."""
    strict: bool = False
    """Refuse a meeting whose zone is neither in the feed nor given (``--strict``)."""
    formats: str | None = None
    """BMLT: a saved ``GetFormats`` answer, for search results that carry no formats."""
    retrieved_at: dt.datetime | None = None
    """When the source was read, kept on each meeting as its provenance."""
    sink: Callable[[Meeting], None] | None = field(default=None, compare=False)
    """Where each meeting goes as it is read (a directory file being written).

    With a sink the report keeps no meetings, only counts, so an import's
    memory does not grow with the feed (``fama meetings import --out``).
    A source that ignores it returns its meetings in the report as before.
    """


def resolve_zone(given: str | None, options: ImportOptions) -> tuple[str, bool]:
    """The zone of one meeting and whether it was assumed.

    ``given`` is the feed's own zone; else the import's; else
    :data:`FALLBACK_TIMEZONE` (assumed). Raises :class:`LookupError` instead of
    assuming when ``options.strict``.
    """
    if given:
        return given, False
    if options.timezone:
        return options.timezone, False
    if options.strict:
        raise LookupError("no time zone")
    return FALLBACK_TIMEZONE, True


def assumed_zone_warning(source: str, count: int) -> str:
    """The one warning an import gives when ``count`` meetings had their zone assumed."""
    return (
        f"{source}: {count} meeting(s) name no time zone and none was given "
        f"(--timezone, or 'timezone' in the sources file); taken as {FALLBACK_TIMEZONE}"
    )


SHOWN_TYPE_CODE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,15}")
"""A feed's type code a warning may repeat: 1 to 16 ASCII letters, digits, ``.``, ``_``, ``-``.

Every Meeting Guide, BMLT and HSDS code fits (``12x12``, ``AL-AN``, ``LGBTQ``); anything else a
feed puts there (markup, controls, bidirectional overrides, long text) is counted, never shown.
"""

SHOWN_TYPE_CODES: Final = 10
"""At most this many unknown codes are named in one warning; the rest are counted."""


def unknown_types_warning(codes: Iterable[str]) -> str:
    """The warning for type codes fama does not know (kept on the meeting as given).

    Only codes matching :data:`SHOWN_TYPE_CODE` are named, at most
    :data:`SHOWN_TYPE_CODES` of them; the others are counted, so nothing a
    hostile feed writes there reaches a terminal or a log.
    """
    codes = list(codes)
    safe = [c for c in codes if SHOWN_TYPE_CODE.fullmatch(c)]
    named = safe[:SHOWN_TYPE_CODES]
    text = "types: codes fama does not know kept as given"
    if named:
        text += ": " + ", ".join(named)
    more = len(safe) - len(named)
    if more:
        text += f"; {more} more"
    hidden = len(codes) - len(safe)
    if hidden:
        text += (
            f"; {hidden} not shown (not a code of up to 16 letters, digits, . _ or -)"
            if named or more
            else f": {hidden} not shown (not a code of up to 16 letters, digits, . _ or -)"
        )
    return text


KEPT = 10_000
"""Problems and warnings an import keeps, each; beyond that they are only counted.

A feed with one systematic fault (a million rows with the same bad postcode)
would otherwise hold a million messages: memory would grow with the feed.
"""


class KeptList(list[_T]):
    """A list that keeps its first ``limit`` items and counts the rest in ``dropped``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def append(self, item: _T) -> None:
        """Keep ``item`` while under the limit, else count it."""
        if len(self) < self.limit:
            super().append(item)
        else:
            self.dropped += 1

    def extend(self, items: Iterable[_T]) -> None:
        """Append each of ``items``."""
        for item in items:
            self.append(item)


class EntryRefused(Exception):
    """One field of one feed entry is wrong: the entry is refused with this problem.

    Raised by each reader's mapping of one entry and turned into an
    :class:`~fama_core.errors.InvalidRecord` by :meth:`ImportReport.admit`.
    """

    def __init__(self, field: str, code: str, reason: str) -> None:
        super().__init__(reason)
        self.problem = FieldProblem(field, code, reason)


@dataclass
class ImportReport:
    """The outcome of one import."""

    source: str
    meetings: list[Meeting] = field(default_factory=list)
    problems: list[InvalidRecord] = field(default_factory=lambda: KeptList(KEPT))
    """Each refused entry (the first :data:`KEPT`; ``refused`` in :meth:`summary` counts all)."""
    warnings: list[str] = field(default_factory=lambda: KeptList(KEPT))
    """Each warning (the first :data:`KEPT`; ``warnings`` in :meth:`summary` counts all)."""
    entries: int = 0
    """How many entries the feed held (meetings + problems)."""
    sink: Callable[[Meeting], None] | None = field(default=None, repr=False, compare=False)
    """From :attr:`ImportOptions.sink`: meetings go there, not to ``meetings``."""
    passed_on: int = 0
    """How many meetings went to the sink."""
    zones_assumed: int = field(default=0, compare=False)
    """How many kept meetings had their time zone assumed (one warning for all: :meth:`close`)."""

    def add(self, meeting: Meeting) -> None:
        """Keep one imported meeting, or pass it to the sink."""
        if self.sink is None:
            self.meetings.append(meeting)
        else:
            self.sink(meeting)
            self.passed_on += 1

    def keep(self, record: str, meeting: Meeting, zone_assumed: bool, warn: Iterable[str]) -> None:
        """Keep a meeting :meth:`admit` let through, with its entry's warnings naming ``record``."""
        self.add(meeting)
        self.warnings.extend(f"{record}: {w}" for w in warn)
        self.zones_assumed += zone_assumed

    def close(self) -> None:
        """End the import: the one warning for every meeting whose time zone was assumed."""
        if self.zones_assumed:
            self.warnings.append(assumed_zone_warning(self.source, self.zones_assumed))

    def admit(
        self,
        record: str,
        position: int,
        seen: SeenIds,
        build: Callable[[], tuple[Meeting, bool]],
        *,
        kind: str = "meeting",
        id_field: str,
        noun: str = "id",
        duplicate_of: Callable[[int], str],
    ) -> tuple[Meeting, bool] | None:
        """Map one entry with ``build`` (its meeting, and whether its zone was assumed).

        A refused field (:class:`EntryRefused`), an invalid meeting, or an id already
        seen at an earlier position becomes a problem naming ``record`` and ``None``
        is returned, so the import carries on. ``duplicate_of`` names the entry that
        used the id first (``meetings[3]``, ``row 4``); ``id_field`` is the feed's
        field for the id and ``noun`` what the message calls it.
        """
        try:
            meeting, zone_assumed = build()
        except EntryRefused as bad:
            self.problems.append(InvalidRecord(record=record, kind=kind, problems=[bad.problem]))
            return None
        except ValidationError as exc:
            self.problems.append(invalid_record_from_pydantic(exc, record=record, kind=kind))
            return None
        earlier = seen.add(meeting.meeting_id, position)
        if earlier is not None:
            reason = f"{noun} already used by {duplicate_of(earlier)}"
            problem = FieldProblem(id_field, "duplicate", reason)
            self.problems.append(InvalidRecord(record=record, kind=kind, problems=[problem]))
            return None
        return meeting, zone_assumed

    @property
    def imported(self) -> int:
        """How many meetings were imported (kept or passed on)."""
        return len(self.meetings) + self.passed_on

    def stale(self, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> list[Meeting]:
        """Imported meetings whose listing is older than ``max_age_days``."""
        return [m for m in self.meetings if m.is_stale(today, max_age_days)]

    def summary(self, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> dict[str, int]:
        """Counts for a report line or ``--json``."""
        return {
            "entries": self.entries,
            "imported": self.imported,
            "refused": len(self.problems) + getattr(self.problems, "dropped", 0),
            "warnings": len(self.warnings) + getattr(self.warnings, "dropped", 0),
            "stale": len(self.stale(today, max_age_days)),
        }
