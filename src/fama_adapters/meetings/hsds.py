"""The meeting directory as Open Referral HSDS 3.0 / Open Referral UK services, and back.

Format: Human Services Data Specification 3.0 (openreferral/specification,
branch 3.0 @ 279fd2eb, ``schema/*.json``) and the Open Referral UK profile of
HSDS 3.0 (OpenReferralUK/uk-profile @ ecdfabf7). One fama meeting is one HSDS
``service`` (the meeting) delivered by an ``organization`` (the fellowship),
with a ``service_at_location`` per place (a physical venue, a virtual one for
the online option) and one weekly ``schedule`` per distinct time: ``freq``
``WEEKLY``, ``byday`` the RRULE day codes (``MO,TH``), ``opens_at`` and
``closes_at`` local wall-clock ``HH:MM``.

Time zones, bridged (``docs/meetings.md``, ``docs/decisions.md``): HSDS 3.0's
``schedule.timezone`` is a numeric UTC offset, which cannot follow summer
time, and the UK profile drops it. fama writes **local wall-clock times** and
names the IANA zone in a ``fama`` taxonomy attribute on the service; in HSDS
3.0 output it also writes ``timezone`` as the offset in force on ``dtstart``
(the export's date), for readers that know nothing else. Reading, the IANA
attribute wins; else a numeric offset becomes a fixed ``Etc/GMT`` zone, with
a warning that summer time cannot be followed; else the import's zone.

Fields with no HSDS home travel as service ``attributes`` whose
``taxonomy_term`` is in taxonomy ``fama`` (the meeting id, the zone) or
``Meeting Guide types`` (the type codes, languages included): the UK profile
keeps ``attribute.taxonomy_term`` but not ``attribute.value``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Literal

from fama_adapters.meetings.report import (
    EntryRefused,
    ImportOptions,
    ImportReport,
    MeetingFeedError,
    resolve_zone,
)
from fama_adapters.meetings.seen import SeenIds
from fama_core.addresses import address_lines, check_postcode
from fama_core.catalogue import load_catalogue
from fama_core.codes import AttendanceMode
from fama_core.directory import Meeting, Weekday, WeeklySlot, normalise_types, zone

__all__ = [
    "BYDAY",
    "NAMESPACE",
    "Profile",
    "directory_to_hsds",
    "hsds_to_meetings",
    "meeting_to_service",
    "read_hsds_file",
]

Profile = Literal["hsds", "uk"]
"""``hsds``: full HSDS 3.0 (with ``timezone`` offsets); ``uk``: the Open Referral UK profile."""

NAMESPACE = uuid.UUID("0b5a3d52-7f0c-4d3e-9d1e-6a2f7c1e9b40")
"""Namespace of fama's HSDS ids (uuid5 of the meeting id): the same meeting, the same id."""

BYDAY: Mapping[Weekday, str] = {
    Weekday.SUNDAY: "SU",
    Weekday.MONDAY: "MO",
    Weekday.TUESDAY: "TU",
    Weekday.WEDNESDAY: "WE",
    Weekday.THURSDAY: "TH",
    Weekday.FRIDAY: "FR",
    Weekday.SATURDAY: "SA",
}
"""fama weekday → RFC 5545 ``BYDAY`` code."""
_DAY_OF = {code: day for day, code in BYDAY.items()}

_FAMA = "fama"
_TYPES = "Meeting Guide types"
_STATUS = {AttendanceMode.INACTIVE: "temporarily closed"}
_ATTENDING = {
    AttendanceMode.IN_PERSON: "In person at the venue.",
    AttendanceMode.ONLINE: "Online only.",
    AttendanceMode.HYBRID: "In person at the venue, or online.",
    AttendanceMode.INACTIVE: "Not meeting at present.",
}
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::00)?(Z|[+-]\d{2}:?\d{2})?$")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _term(meeting_id: str, taxonomy: str, code: str, name: str) -> dict[str, Any]:
    return {
        "id": _id(meeting_id, "attribute", taxonomy, code),
        "link_id": _id(meeting_id),
        "link_type": "service",
        "taxonomy_term_id": _id("term", taxonomy, code),
        "taxonomy_term": {
            "id": _id("term", taxonomy, code),
            "code": code,
            "name": name,
            "description": f"{taxonomy}: {name}",
            "taxonomy": taxonomy,
        },
    }


def _offset_hours(tz_name: str, on: dt.date) -> float:
    noon = dt.datetime.combine(on, dt.time(12), tzinfo=zone(tz_name))
    offset = noon.utcoffset() or dt.timedelta()
    return offset.total_seconds() / 3600


def _address(meeting: Meeting) -> dict[str, Any] | None:
    if not meeting.address:
        return None
    postcode = meeting.postcode or ""
    lines = list(address_lines(meeting.address, meeting.postcode, meeting.timezone))
    uk = meeting.timezone == "Europe/London" or bool(postcode and not check_postcode(postcode))
    if postcode and lines and lines[-1] == postcode:
        lines.pop()
    # A UK address: the post town is the line before the postcode. Elsewhere fama does not
    # guess which part is the city: the address stays whole in address_1.
    city = lines.pop() if uk and len(lines) > 1 else ""
    return {
        "id": _id(meeting.meeting_id, "address"),
        "location_id": _id(meeting.meeting_id, "venue"),
        "address_1": ", ".join(lines) or meeting.address,
        "city": city,
        "state_province": "",
        "postal_code": postcode,
        "country": "GB" if uk else "",
        "address_type": "physical",
    }


def meeting_to_service(
    meeting: Meeting, *, profile: Profile = "uk", on: dt.date | None = None
) -> dict[str, Any]:
    """One meeting as an HSDS ``service`` with its organisation, locations and schedules."""
    catalogue = load_catalogue()
    org = catalogue.organisations.get(meeting.organisation)
    sid = _id(meeting.meeting_id)
    on = on or dt.date.today()
    groups: dict[tuple[dt.time, dt.time | None], list[Weekday]] = {}
    for slot in meeting.slots:
        groups.setdefault((slot.start, slot.end), []).append(slot.day)
    schedules = []
    for (start, end), days in groups.items():
        schedule: dict[str, Any] = {
            "id": _id(meeting.meeting_id, "schedule", f"{start:%H:%M}", f"{end or ''}"),
            "service_id": sid,
            "freq": "WEEKLY",
            "byday": ",".join(BYDAY[d] for d in sorted(days, key=lambda d: (d - 1) % 7)),
            "opens_at": f"{start:%H:%M}",
            "description": "; ".join(WeeklySlot(day=d, start=start, end=end).label() for d in days),
            "attending_type": _ATTENDING[meeting.attendance],
        }
        if end is not None:
            schedule["closes_at"] = f"{end:%H:%M}"
        if profile == "hsds":
            schedule["timezone"] = _offset_hours(meeting.timezone, on)
            schedule["dtstart"] = on.isoformat()
        schedules.append(schedule)
    at_locations = []
    address = _address(meeting)
    if meeting.attendance is not AttendanceMode.ONLINE and (address or meeting.location):
        venue: dict[str, Any] = {
            "id": _id(meeting.meeting_id, "venue"),
            "location_type": "physical",
            "name": meeting.location or meeting.name,
        }
        if meeting.location_notes:
            venue["description"] = meeting.location_notes
        if address:
            venue["addresses"] = [address]
        at_locations.append(
            {
                "id": _id(meeting.meeting_id, "at", "venue"),
                "service_id": sid,
                "location_id": venue["id"],
                "location": venue,
            }
        )
    if meeting.attendance in (AttendanceMode.ONLINE, AttendanceMode.HYBRID):
        online: dict[str, Any] = {
            "id": _id(meeting.meeting_id, "online"),
            "location_type": "virtual",
            "name": "Online",
        }
        if meeting.conference_url:
            online["url"] = meeting.conference_url  # HSDS 3.0's place; the UK profile has none
        at_locations.append(
            {
                "id": _id(meeting.meeting_id, "at", "online"),
                "service_id": sid,
                "location_id": online["id"],
                "location": online,
            }
        )
    attributes = [
        _term(meeting.meeting_id, _FAMA, f"meeting_id:{meeting.meeting_id}", meeting.meeting_id),
        _term(meeting.meeting_id, _FAMA, f"timezone:{meeting.timezone}", meeting.timezone),
        _term(
            meeting.meeting_id,
            _FAMA,
            f"attendance:{meeting.attendance.value}",
            meeting.attendance.value,
        ),
    ]
    attributes += [_term(meeting.meeting_id, _TYPES, code, code) for code in meeting.type_codes()]
    service: dict[str, Any] = {
        "id": sid,
        "organization_id": _id("organisation", meeting.organisation),
        "name": meeting.name,
        "description": meeting.summary or f"{org.name if org else meeting.organisation} meeting",
        "status": _STATUS.get(meeting.attendance, "active"),
        "organization": {
            "id": _id("organisation", meeting.organisation),
            "name": org.name if org else meeting.organisation,
            "description": org.for_whom if org else meeting.organisation,
        },
        "schedules": schedules,
        "service_at_locations": at_locations,
        "attributes": attributes,
    }
    url = meeting.url or (
        meeting.conference_url if meeting.attendance is AttendanceMode.ONLINE else None
    )
    if url:
        service["url"] = url
    if meeting.last_verified:
        service["assured_date"] = meeting.last_verified.isoformat()
    if meeting.contact:
        service["contacts"] = [
            {"id": _id(meeting.meeting_id, "contact"), "service_id": sid, "name": meeting.contact}
        ]
    return service


def directory_to_hsds(
    meetings: Iterable[Meeting], *, profile: Profile = "uk", on: dt.date | None = None
) -> dict[str, Any]:
    """The directory as one page of the HSDS ``/services`` answer (``contents`` every service)."""
    services = [meeting_to_service(m, profile=profile, on=on) for m in meetings]
    return {
        "total_items": len(services),
        "total_pages": 1,
        "page_number": 1,
        "size": len(services),
        "first_page": True,
        "last_page": True,
        "empty": not services,
        "contents": services,
    }


_Bad = EntryRefused


def _clock(value: Any, field: str) -> dt.time:
    if not isinstance(value, str) or not (found := _CLOCK.match(value.strip())):
        raise _Bad(field, "format", "must be a time HH:MM")
    return dt.time(int(found.group(1)), int(found.group(2)))


def _terms(raw: Mapping[str, Any], taxonomy: str) -> list[str]:
    codes = []
    for attribute in raw.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, Mapping) else None
        if isinstance(term, Mapping) and term.get("taxonomy") == taxonomy:
            code = term.get("code")
            if isinstance(code, str):
                codes.append(code)
    return codes


def _fama(raw: Mapping[str, Any], key: str) -> str | None:
    for code in _terms(raw, _FAMA):
        if code.startswith(key + ":"):
            return code[len(key) + 1 :]
    return None


def _offset_zone(hours: Any) -> str | None:
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours != int(hours):
        return None
    if not -12 <= hours <= 14:
        return None
    n = int(hours)
    return "Etc/UTC" if n == 0 else f"Etc/GMT{'-' if n > 0 else '+'}{abs(n)}"  # signs inverted


def _service(raw: Any, options: ImportOptions, label: str, warn: list[str]) -> tuple[Meeting, bool]:
    if not isinstance(raw, Mapping):
        raise _Bad("", "type", "a service must be a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Bad("name", "missing", "name is required")
    sid = raw.get("id")
    meeting_id = _fama(raw, "meeting_id") or (f"hsds:{sid}" if isinstance(sid, str) else None)
    if not meeting_id:
        raise _Bad("id", "missing", "id is required")
    schedules = raw.get("schedules") or []
    if not isinstance(schedules, list):
        raise _Bad("schedules", "type", "must be a list")
    slots: list[WeeklySlot] = []
    offsets: set[Any] = set()
    for n, schedule in enumerate(schedules):
        where = f"schedules[{n}]"
        if not isinstance(schedule, Mapping):
            raise _Bad(where, "type", "a schedule must be a JSON object")
        if schedule.get("freq") != "WEEKLY" or schedule.get("interval") not in (None, 1):
            warn.append(f"{where}: not a weekly schedule; left out")
            continue
        days = [d.strip() for d in str(schedule.get("byday") or "").split(",") if d.strip()]
        if not days or any(d not in _DAY_OF for d in days):
            raise _Bad(f"{where}.byday", "format", "must be day codes MO,TU,WE,TH,FR,SA,SU")
        start = _clock(schedule.get("opens_at"), f"{where}.opens_at")
        closes = schedule.get("closes_at")
        end = _clock(closes, f"{where}.closes_at") if closes not in (None, "") else None
        if end == start:
            end = None
        offsets.add(schedule.get("timezone"))
        for code in days:
            slot = WeeklySlot(day=_DAY_OF[code], start=start, end=end)
            if slot not in slots:
                slots.append(slot)
    named = _fama(raw, "timezone")
    assumed = False
    if named is not None:
        tz_name = named
    else:
        offsets.discard(None)
        fixed = _offset_zone(next(iter(offsets))) if len(offsets) == 1 else None
        if fixed is not None and not options.timezone:
            tz_name = fixed
            warn.append("timezone: a UTC offset cannot follow summer time; taken as fixed")
        else:
            try:
                tz_name, assumed = resolve_zone(None, options)
            except LookupError:
                raise _Bad(
                    "timezone", "missing", "no time zone in the service and none given"
                ) from None
    try:
        zone(tz_name)
    except ValueError:
        raise _Bad("timezone", "unknown", "not a tz database time zone name") from None
    features, languages, unknown = normalise_types(_terms(raw, _TYPES))
    venue = online = None
    for item in raw.get("service_at_locations") or []:
        location = item.get("location") if isinstance(item, Mapping) else None
        if isinstance(location, Mapping):
            if location.get("location_type") == "virtual":
                online = location
            elif venue is None:
                venue = location
    attendance_code = _fama(raw, "attendance")
    if attendance_code in {m.value for m in AttendanceMode}:
        attendance = AttendanceMode(attendance_code)
    elif raw.get("status") == "temporarily closed":
        attendance = AttendanceMode.ONLINE if online else AttendanceMode.INACTIVE
    else:
        attendance = (
            AttendanceMode.HYBRID
            if venue and online
            else AttendanceMode.ONLINE
            if online
            else AttendanceMode.IN_PERSON
        )
    address: str | None = None
    postcode: str | None = None
    if venue is not None:
        addresses = venue.get("addresses") or []
        first = addresses[0] if addresses and isinstance(addresses[0], Mapping) else {}
        parts = [first.get(k) for k in ("address_1", "city", "state_province", "postal_code")]
        address = ", ".join(p.strip() for p in parts if isinstance(p, str) and p.strip()) or None
        published = first.get("postal_code")
        if isinstance(published, str) and published.strip():
            postcode = published.strip()[:16]
    contacts = raw.get("contacts") or []
    contact = contacts[0].get("name") if contacts and isinstance(contacts[0], Mapping) else None
    assured = raw.get("assured_date")
    try:
        verified = dt.date.fromisoformat(assured[:10]) if isinstance(assured, str) else None
    except ValueError:
        warn.append("assured_date: not a date; treated as never verified")
        verified = None
    url = raw.get("url") if isinstance(raw.get("url"), str) else None
    conference = online.get("url") if online and isinstance(online.get("url"), str) else None
    if conference is None and attendance is AttendanceMode.ONLINE:
        conference, url = url, None
    fields = {
        "meeting_id": meeting_id,
        "name": name.strip()[:255],
        "organisation": options.organisation,
        "slots": tuple(slots),
        "timezone": tz_name,
        "attendance": attendance,
        "features": features,
        "languages": languages,
        "unrecognised_types": unknown,
        "summary": raw.get("description") if isinstance(raw.get("description"), str) else None,
        "location": venue.get("name") if venue and isinstance(venue.get("name"), str) else None,
        "location_notes": venue.get("description")
        if venue and isinstance(venue.get("description"), str)
        else None,
        "address": address,
        "postcode": postcode,
        "conference_url": conference,
        "contact": contact if isinstance(contact, str) else None,
        "url": url,
        "last_verified": verified,
        "source": label[:200],
        "retrieved_at": options.retrieved_at,
    }
    return Meeting.model_validate(fields), assumed


def hsds_to_meetings(
    services: Iterable[Any], *, options: ImportOptions | None = None, source: str = "hsds"
) -> ImportReport:
    """Read HSDS services back into meetings; a bad service is reported as ``services[N]``.

    Only weekly schedules are meetings' times (a monthly one is left out with a
    warning); the organisation is the import's (``--organisation``).
    """
    options = options or ImportOptions()
    label = options.source or source
    report = ImportReport(source=label, sink=options.sink)
    seen = SeenIds()
    for position, raw in enumerate(services):
        report.entries += 1
        record = f"services[{position}]"
        warn: list[str] = []
        admitted = report.admit(
            record,
            position,
            seen,
            partial(_service, raw, options, label, warn),
            kind="service",
            id_field="id",
            duplicate_of=lambda earlier: f"services[{earlier}]",
        )
        if admitted is not None:
            report.keep(record, *admitted, warn)
    report.close()
    return report


def read_hsds_file(path: str | Path, *, options: ImportOptions | None = None) -> ImportReport:
    """Read a saved ``/services`` answer (``contents``), a list of services, or one service."""
    p = Path(path)
    try:
        data = json.loads(p.read_text("utf-8"))
    except OSError as exc:
        raise MeetingFeedError(source=p.name, reason=f"cannot read ({exc.strerror})") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError):
        raise MeetingFeedError(source=p.name, reason="not JSON fama can read") from None
    if isinstance(data, Mapping) and isinstance(data.get("contents"), list):
        data = data["contents"]
    elif isinstance(data, Mapping) and isinstance(data.get("services"), list):
        data = data["services"]
    elif isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise MeetingFeedError(source=p.name, reason="not HSDS services")
    return hsds_to_meetings(data, options=options, source=p.name)
