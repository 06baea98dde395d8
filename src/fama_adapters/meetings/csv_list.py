"""Import a hand-kept local meeting list: a CSV with hand-out 6a's columns.

Hand-out 6a ("Local mutual aid group information", completed locally) has four
columns: *Group name*, *Summary description*, *When & where*, *Contact
details*. A CSV with those headers (any order, case-insensitive) imports;
optional columns add what 6a leaves to the reader: *Organisation* (else the
import's default), *Meeting ID* (else made from the name), *Types* (Meeting
Guide codes, space or comma separated), *Attendance* (in person / online /
hybrid), *Time zone*, *Online link*, *Last verified* (``YYYY-MM-DD`` or
``DD/MM/YYYY``).

*When & where* reads as people write it: days, a start time and an optional
end time, then a comma and the place — ``Tuesdays 7.30pm-9pm, St Mary's
Hall, Church Lane``; ``Mon & Thu 19:00, Quaker Meeting House``; ``Sat 10am,
Online``. Days: names or three-letter abbreviations, plural or not, joined
by ``&``, ``and``, ``/`` or ``+``. Times: ``19:30``, ``19.30``, ``7.30pm``,
``7pm``, ``noon``, ``midnight``. ``By appointment`` is a meeting without a
weekly time. :func:`format_when` writes the same grammar back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from fama_adapters.meetings.report import (
    EntryRefused,
    ImportOptions,
    ImportReport,
    MeetingFeedError,
    resolve_zone,
    unknown_types_warning,
)
from fama_adapters.meetings.seen import SeenIds
from fama_adapters.spreadsheet import people_csv_writer, restore
from fama_core.addresses import postcode_of, postcode_warning
from fama_core.codes import AttendanceMode
from fama_core.directory import Meeting, Weekday, WeeklySlot, normalise_types, zone
from fama_core.errors import FieldProblem, InvalidRecord

__all__ = [
    "HANDOUT_6A_COLUMNS",
    "OPTIONAL_COLUMNS",
    "format_when",
    "parse_when",
    "read_csv_file",
    "read_csv_lines",
    "read_csv_text",
    "write_csv",
]

HANDOUT_6A_COLUMNS = ("Group name", "Summary description", "When & where", "Contact details")
"""The four columns of hand-out 6a, required in every hand-kept list."""

OPTIONAL_COLUMNS = (
    "Organisation",
    "Meeting ID",
    "Types",
    "Attendance",
    "Time zone",
    "Online link",
    "Last verified",
)
"""Columns fama reads when present."""

_DAYS = {
    "sun": Weekday.SUNDAY,
    "mon": Weekday.MONDAY,
    "tue": Weekday.TUESDAY,
    "tues": Weekday.TUESDAY,
    "wed": Weekday.WEDNESDAY,
    "thu": Weekday.THURSDAY,
    "thur": Weekday.THURSDAY,
    "thurs": Weekday.THURSDAY,
    "fri": Weekday.FRIDAY,
    "sat": Weekday.SATURDAY,
}
_DAY_WORD = r"(?:[A-Za-z]+)"
_TIME_WORD = r"(?:noon|midnight|\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?)"
_WHEN = re.compile(
    rf"^\s*(?P<days>{_DAY_WORD}(?:\s*(?:&|and|/|\+)\s*{_DAY_WORD})*)\s+"
    rf"(?:at\s+)?(?P<start>{_TIME_WORD})"
    rf"(?:\s*(?:-|–|to)\s*(?P<end>{_TIME_WORD}))?\s*(?:,\s*(?P<where>.*))?$",
    re.IGNORECASE,
)
_ATTENDANCE = {
    "in person": AttendanceMode.IN_PERSON,
    "in_person": AttendanceMode.IN_PERSON,
    "online": AttendanceMode.ONLINE,
    "hybrid": AttendanceMode.HYBRID,
    "inactive": AttendanceMode.INACTIVE,
}


_Bad = EntryRefused


def _day(word: str) -> Weekday:
    key = word.strip().lower().rstrip(".")
    for full in ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"):
        if key in (full, full + "s"):
            return _DAYS[full[:3]]
    if key.endswith("s") and key[:-1] in _DAYS:
        key = key[:-1]
    if key not in _DAYS:
        raise _Bad("When & where", "day", "a day must be a weekday name such as Tuesday or Tue")
    return _DAYS[key]


def _time(text: str) -> dt.time:
    t = text.strip().lower().replace(" ", "")
    if t == "noon":
        return dt.time(12, 0)
    if t == "midnight":
        return dt.time(0, 0)
    found = re.fullmatch(r"(\d{1,2})(?:[:.](\d{2}))?(am|pm)?", t)
    if not found:
        raise _Bad("When & where", "time", "a time must look like 19:30, 7.30pm or 7pm")
    hour, minute, half = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise _Bad("When & where", "time", "an am/pm hour must be 1-12")
        hour = hour % 12 + (12 if half == "pm" else 0)
    elif found.group(2) is None:
        raise _Bad("When & where", "time", "a time without am/pm needs minutes (19:00)")
    if hour > 23 or minute > 59:
        raise _Bad("When & where", "time", "not a time of day")
    return dt.time(hour, minute)


def _group(text: str, *, last: bool) -> tuple[tuple[WeeklySlot, ...], str | None]:
    found = _WHEN.match(text)
    if not found or (found.group("where") and not last):
        raise _Bad(
            "When & where", "format", "expected days and a time, e.g. 'Tuesdays 19:30, Hall'"
        )
    words = re.split(r"\s*(?:&|\band\b|/|\+)\s*", found.group("days"), flags=re.I)
    days = [_day(w) for w in words]
    start = _time(found.group("start"))
    end = _time(found.group("end")) if found.group("end") else None
    if end == start:
        raise _Bad("When & where", "time", "the end time equals the start time")
    slots = tuple(WeeklySlot(day=d, start=start, end=end) for d in dict.fromkeys(days))
    return slots, (found.group("where") or "").strip() or None


def parse_when(text: str) -> tuple[tuple[WeeklySlot, ...], str | None]:
    """Read a *When & where* cell into weekly slots and the place (see module doc).

    Several times go in one cell separated by ``;`` (``Mon 19:00; Sat 10am,
    Hall``); the place follows the last one.
    """
    stripped = text.strip()
    if stripped.lower().startswith("by appointment"):
        rest = stripped[len("by appointment") :].strip()
        rest = rest[1:].strip() if rest.startswith(",") else rest  # the one separating comma
        return (), rest or None
    parts = stripped.split(";")
    slots: list[WeeklySlot] = []
    where: str | None = None
    for n, part in enumerate(parts):
        found, where = _group(part, last=n == len(parts) - 1)
        slots.extend(s for s in found if s not in slots)
    return tuple(slots), where


def format_when(slots: Iterable[WeeklySlot], where: str | None = None) -> str:
    """Write slots and a place as a *When & where* cell (the inverse of :func:`parse_when`).

    Slots sharing a time are joined (``Monday & Thursday 19:00``); groups with
    different times are separated by ``; ``.
    """
    groups: dict[tuple[dt.time, dt.time | None], list[Weekday]] = {}
    for slot in slots:
        groups.setdefault((slot.start, slot.end), []).append(slot.day)
    if not groups:
        text = "By appointment"
    else:
        parts = []
        for (start, end), days in groups.items():
            part = " & ".join(d.label for d in days) + f" {start:%H:%M}"
            if end is not None:
                part += f"-{end:%H:%M}"
            parts.append(part)
        text = "; ".join(parts)
    return f"{text}, {where}" if where else text


def _slug(name: str, position: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50] or "meeting"
    return f"{base}-{position}"


def _verified(text: str) -> dt.date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise _Bad("Last verified", "format", "a date must be YYYY-MM-DD or DD/MM/YYYY")


def _row(
    row: Mapping[str, str],
    position: int,
    options: ImportOptions,
    source: str,
    warn: list[str] | None = None,
) -> tuple[Meeting, bool]:
    """Map one row to a :class:`Meeting` and whether its zone was assumed (raises ``_Bad``)."""

    def cell(name: str) -> str:
        return restore(row.get(name.lower()) or "").strip()  # undo write_csv's formula mark

    name = cell("Group name")
    if not name:
        raise _Bad("Group name", "missing", "group name is required")
    slots, where = parse_when(cell("When & where"))
    try:
        tz_name, assumed = resolve_zone(cell("Time zone"), options)
    except LookupError:
        raise _Bad("Time zone", "missing", "no time zone in the list and none given") from None
    try:
        zone(tz_name)
    except ValueError:
        raise _Bad("Time zone", "unknown", "not a tz database time zone name") from None
    features, languages, unknown = normalise_types(re.split(r"[,\s]+", cell("Types")))
    link = cell("Online link") or None
    attendance_text = cell("Attendance").lower()
    if attendance_text:
        if attendance_text not in _ATTENDANCE:
            raise _Bad("Attendance", "value", "must be in person, online, hybrid or inactive")
        attendance = _ATTENDANCE[attendance_text]
    elif where and where.lower() == "online":
        attendance = AttendanceMode.ONLINE
    else:
        attendance = AttendanceMode.HYBRID if link else AttendanceMode.IN_PERSON
    address = None if attendance is AttendanceMode.ONLINE else where
    postcode, problems = postcode_of(address, None, None, tz_name)
    if problems and warn is not None:
        warn.append(postcode_warning("When & where", problems))
    verified = cell("Last verified")
    meeting = Meeting(
        meeting_id=cell("Meeting ID") or _slug(name, position),
        name=name,
        organisation=cell("Organisation").lower() or options.organisation,
        slots=slots,
        timezone=tz_name,
        attendance=attendance,
        features=features,
        languages=languages,
        unrecognised_types=unknown,
        summary=cell("Summary description") or None,
        location=None,
        address=address,
        postcode=postcode,
        conference_url=link,
        contact=cell("Contact details") or None,
        last_verified=_verified(verified) if verified else None,
        source=source[:200],
        retrieved_at=options.retrieved_at,
    )
    return meeting, assumed


def _rows(
    reader: csv.DictReader[str], report: ImportReport
) -> Iterator[tuple[int, dict[str | Any, str | Any]]]:
    """``(row number, row)`` of each row the csv module can parse; a row it cannot (a field over
    ``csv.field_size_limit()``, a NUL byte) is refused as a problem and the rest carry on."""
    number = 1
    while True:
        number += 1
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.entries += 1
            reason = (
                f"a field longer than {csv.field_size_limit()} characters"
                if "field limit" in str(exc)
                else "not a CSV row this reader can parse"
            )
            report.problems.append(
                InvalidRecord(
                    record=f"row {number}",
                    kind="meeting",
                    problems=[FieldProblem("", "csv_invalid", reason)],
                )
            )
            continue
        yield number, raw


def read_csv_text(
    text: str, *, options: ImportOptions | None = None, source: str = "list.csv"
) -> ImportReport:
    """Import a hand-kept list; a bad row is reported as ``row N`` (header is row 1)."""
    return read_csv_lines(io.StringIO(text.lstrip("\ufeff")), options=options, source=source)


def read_csv_lines(
    lines: Iterable[str], *, options: ImportOptions | None = None, source: str = "list.csv"
) -> ImportReport:
    """Import a hand-kept list read line by line (a file opened with ``newline=""``).

    Rows are read and mapped one at a time, so with :attr:`ImportOptions.sink`
    the memory an import takes does not grow with the list.
    """
    options = options or ImportOptions()
    label = options.source or source
    reader = csv.DictReader(lines)
    try:
        headers = {h.strip().lower() for h in reader.fieldnames or ()}
    except csv.Error:
        raise MeetingFeedError(source=label, reason="the header row is not readable CSV") from None
    missing = [c for c in HANDOUT_6A_COLUMNS if c.lower() not in headers]
    if missing:
        raise MeetingFeedError(source=label, reason="missing column(s): " + ", ".join(missing))
    report = ImportReport(source=label, sink=options.sink)
    seen = SeenIds()
    for number, raw in _rows(reader, report):
        row = {(k or "").strip().lower(): v or "" for k, v in raw.items() if isinstance(v, str)}
        if not any(v.strip() for v in row.values()):
            continue
        report.entries += 1
        record = f"row {number}"
        warn: list[str] = []
        admitted = report.admit(
            record,
            number,
            seen,
            partial(_row, row, number, options, label, warn),
            id_field="Meeting ID",
            duplicate_of=lambda earlier: f"row {earlier}",
        )
        if admitted is None:
            continue
        meeting, zone_assumed = admitted
        if meeting.unrecognised_types:
            warn.insert(0, unknown_types_warning(meeting.unrecognised_types))
        report.keep(record, meeting, zone_assumed, warn)
    report.close()
    return report


def read_csv_file(path: str | Path, *, options: ImportOptions | None = None) -> ImportReport:
    """Import a hand-kept list from a UTF-8 CSV file."""
    p = Path(path)
    try:
        # Streamed: a list of a million rows is read a row at a time (utf-8-sig drops a BOM).
        fh = p.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise MeetingFeedError(
            source=p.name, reason=f"cannot read ({type(exc).__name__})"
        ) from exc  # the CLI tells a path it cannot open (exit 2) by this cause
    with fh:
        try:
            return read_csv_lines(fh, options=options, source=p.name)
        except UnicodeDecodeError as exc:
            raise MeetingFeedError(
                source=p.name, reason=f"cannot read ({type(exc).__name__})"
            ) from exc


def write_csv(meetings: Iterable[Meeting]) -> str:
    """Write meetings as a hand-kept list (6a's columns and the optional ones)."""
    out = io.StringIO()
    writer = people_csv_writer(out, lineterminator="\n")  # formulas neutralised, read back
    writer.writerow([*HANDOUT_6A_COLUMNS, *OPTIONAL_COLUMNS])
    for m in meetings:
        where = "Online" if m.attendance is AttendanceMode.ONLINE else m.address
        writer.writerow(
            [
                m.name,
                m.summary or "",
                format_when(m.slots, where),
                m.contact or "",
                m.organisation,
                m.meeting_id,
                " ".join(m.type_codes()),
                m.attendance.value.replace("_", " "),
                m.timezone,
                m.conference_url or "",
                f"{m.last_verified:%Y-%m-%d}" if m.last_verified else "",
            ]
        )
    return out.getvalue()
