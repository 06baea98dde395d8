"""Merge: fill the recovery-support flags of a provider's existing extract from fama's log.

Only the ``RECMAID`` and ``RECPEER`` fields of review rows change, and only
their bytes: every other field, the quoting, the line ends and any byte-order
mark are copied as they were (the merge works on raw lines and field
positions, never on a re-serialised CSV).

Rules (docs/ndtms.md): a review row's period runs from the previous review of
the same agency, client, episode and intervention in the extract (the first:
from ``MODST``) to its ``SUBMODDT``, clipped to the treatment episode (after
``DISD`` for post-treatment modalities). fama sets *yes* where it holds a FAMA
session (``RECMAID``) or an accompanied meeting (``RECPEER``) in the period,
*no* otherwise, and never turns a provider's *yes* into *no* (the provider may
know of support fama does not). Rows it cannot match are copied unchanged and
reported.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from fama_adapters.ndtms.csvfile import Cell, split_line, split_terminator
from fama_core.errors import SubmissionError
from fama_core.ndtms.derive import Facilitation
from fama_core.ndtms.tables import DatasetTable

__all__ = ["FILLED_COLUMNS", "MergeReport", "merge_extract"]

FILLED_COLUMNS: tuple[str, ...] = ("RECMAID", "RECPEER")
"""The only columns a merge may change."""


@dataclass
class MergeReport:
    """What a merge did, row by row where it could not."""

    rows: int = 0
    filled: int = 0
    """Review rows whose flags fama set."""
    changed: int = 0
    """Rows whose bytes changed."""
    kept_yes: int = 0
    """Flags the provider set to yes where fama has nothing: kept."""
    unmatched: list[tuple[int, str]] = field(default_factory=list)
    """``(line, reason)`` per row fama could not match (never the row's content)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows deliberately left alone (not a review row, no consent), by reason."""

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "rows": self.rows,
            "filled": self.filled,
            "changed": self.changed,
            "kept_yes": self.kept_yes,
            "unmatched": [{"line": n, "reason": r} for n, r in self.unmatched],
            "skipped": dict(self.skipped),
        }


def _header(lines: Iterable[bytes], table: DatasetTable) -> tuple[dict[str, int], bool]:
    for raw in lines:
        content, _ = split_terminator(raw)
        bom = content.startswith(b"\xef\xbb\xbf")
        cells = split_line(content[3:] if bom else content, ord(table.file.delimiter))
        if isinstance(cells, str):
            raise SubmissionError(f"extract header cannot be read: {cells}")
        return {c.value.strip(): i for i, c in enumerate(cells)}, bom
    raise SubmissionError("extract is empty: no header row")


def _val(
    cells: list[Cell], cols: Mapping[str, int], name: str, nulls: Collection[str]
) -> str | None:
    i = cols.get(name)
    if i is None:
        return None
    v = cells[i].value.strip()
    return None if v in nulls else v


def merge_extract(
    open_extract: Callable[[], BinaryIO],
    facilitation: Mapping[str, Facilitation],
    table: DatasetTable,
    out: BinaryIO,
    *,
    post_treatment_modalities: Collection[str] = (),
) -> MergeReport:
    """Write ``open_extract()``'s lines to ``out`` with review flags filled from ``facilitation``.

    ``open_extract`` opens the extract; it is called three times (header,
    then a pass to learn each intervention's review dates, then the merge) and
    each stream is closed after use. ``facilitation`` maps CLIENTID to the
    client's FAMA record. Raises :class:`SubmissionError` only when the
    header is unreadable or lacks the flag columns: then nothing is written.
    """
    with open_extract() as fh:
        cols, _ = _header(fh, table)
    missing = [c for c in (*FILLED_COLUMNS, "CLIENTID", "SUBMODDT") if c not in cols]
    if missing:
        raise SubmissionError("extract header lacks " + ", ".join(missing) + ": nothing merged")
    nulls = {table.file.null_value, table.file.withheld_value}
    delim = ord(table.file.delimiter)
    post = set(post_treatment_modalities) | set(table.codes["post_treatment_modalities"].values)

    def key(cells: list[Cell]) -> tuple[str | None, ...]:
        return tuple(
            _val(cells, cols, n, nulls) for n in ("AGNCY", "CLIENTID", "EPISODID", "MODID")
        )

    # Pass 1: review dates per intervention, to find each review's period.
    reviews: dict[tuple[str | None, ...], list[dt.date]] = defaultdict(list)
    with open_extract() as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                continue
            cells = split_line(split_terminator(raw)[0], delim)
            if isinstance(cells, str) or len(cells) != len(cols):
                continue
            text = _val(cells, cols, "SUBMODDT", nulls)
            day = table.parse_date(text) if text else None
            if day is not None:
                reviews[key(cells)].append(day)
    for days in reviews.values():
        days.sort()

    report = MergeReport()
    with open_extract() as fh:
        _merge_lines(fh, out, report, cols, reviews, key, facilitation, table, post)
    return report


def _merge_lines(
    lines: Iterable[bytes],
    out: BinaryIO,
    report: MergeReport,
    cols: Mapping[str, int],
    reviews: Mapping[tuple[str | None, ...], list[dt.date]],
    key: Callable[[list[Cell]], tuple[str | None, ...]],
    facilitation: Mapping[str, Facilitation],
    table: DatasetTable,
    post: Collection[str],
) -> None:
    nulls = {table.file.null_value, table.file.withheld_value}
    delim = ord(table.file.delimiter)
    consent = table.consent
    yes, no = table.yes, table.no
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            out.write(raw)
            continue
        content, end = split_terminator(raw)
        if not content.strip():
            out.write(raw)
            continue
        report.rows += 1
        cells = split_line(content, delim)
        if isinstance(cells, str) or len(cells) != len(cols):
            reason = cells if isinstance(cells, str) else "wrong number of fields"
            report.unmatched.append((number, f"row cannot be read: {reason}"))
            out.write(raw)
            continue
        review_text = _val(cells, cols, "SUBMODDT", nulls)
        if review_text is None:
            report.skipped["not a review row"] += 1
            out.write(raw)
            continue
        if _val(cells, cols, consent.field, nulls) != consent.given:
            report.skipped["no consent"] += 1
            out.write(raw)
            continue
        client = _val(cells, cols, "CLIENTID", nulls)
        f = facilitation.get(client) if client else None
        if f is None:
            report.unmatched.append((number, "client not in fama's log"))
            out.write(raw)
            continue
        period = _period(cells, cols, nulls, table, reviews.get(key(cells), []), post)
        if isinstance(period, str):
            report.unmatched.append((number, period))
            out.write(raw)
            continue
        lo, hi = period
        found = {
            "RECMAID": lo <= hi and bisect_left(f.sessions, lo) < bisect_right(f.sessions, hi),
            "RECPEER": lo <= hi
            and bisect_left(f.peer_support, lo) < bisect_right(f.peer_support, hi),
        }
        new = content
        # Replace from the rightmost cell first so earlier offsets stay valid.
        for name in sorted(FILLED_COLUMNS, key=lambda n: -cols[n]):
            cell = cells[cols[name]]
            current = cell.value.strip()
            if current == yes and not found[name]:
                report.kept_yes += 1
                continue
            value = yes if found[name] else no
            if value == current:
                continue
            text = f'"{value}"' if cell.quoted else value
            new = new[: cell.start] + text.encode("utf-8") + new[cell.end :]
        report.filled += 1
        if new != content:
            report.changed += 1
        out.write(new + end)


def _period(
    cells: list[Cell],
    cols: Mapping[str, int],
    nulls: Collection[str],
    table: DatasetTable,
    days: list[dt.date],
    post: Collection[str],
) -> tuple[dt.date, dt.date] | str:
    def date(name: str) -> dt.date | None | str:
        text = _val(cells, cols, name, nulls)
        if text is None:
            return None
        day = table.parse_date(text)
        return day if day is not None else f"{name} is not a valid date"

    review, start, end = date("SUBMODDT"), date("MODST"), date("MODEND")
    triaged, discharged = date("TRIAGED"), date("DISD")
    for value in (review, start, end, triaged, discharged):
        if isinstance(value, str):
            return value
    assert isinstance(review, dt.date)
    if start is None:
        return "no MODST: the review period cannot be placed"
    assert isinstance(start, dt.date)
    i = bisect_left(days, review)
    lo = days[i - 1] + dt.timedelta(days=1) if i > 0 else start
    lo, hi = max(lo, start), review
    if isinstance(end, dt.date):
        hi = min(hi, end)
    modal = _val(cells, cols, "MODAL", nulls)
    if modal is not None and modal in post:
        if isinstance(discharged, dt.date):
            lo = max(lo, discharged + dt.timedelta(days=1))
    else:
        if isinstance(triaged, dt.date):
            lo = max(lo, triaged)
        if isinstance(discharged, dt.date):
            hi = min(hi, discharged)
    return lo, hi
