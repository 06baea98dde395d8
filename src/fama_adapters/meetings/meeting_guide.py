"""Import meeting lists in the Meeting Guide API JSON format, from a file or a URL.

Format: code4recovery/spec README (@ 404117ad) and ``schema/meeting.schema.json``
(@ e4dab6e4): a JSON array of meetings, ``name`` and ``slug`` required; ``day``
an integer 0-6 (Sunday ``0``) or an array of them; ``time`` and ``end_time``
``HH:MM``; optional ``timezone``; ``types`` an array of codes. Beyond the spec,
as real feeds carry it (12 Step Meeting List, TSML UI): ``day`` as a string,
the ``ONL`` type, ``attendance_option``, ``updated`` as ``M/D/YYYY``.

Mapping (field → fama): ``slug`` → ``meeting_id`` (integers as text);
``day``/``time``/``end_time`` → ``slots`` (one per day); ``timezone`` (else
the import's default) → ``timezone``; ``types`` → ``features``, ``languages``
and ``unrecognised_types``; ``attendance_option`` (else derived from ``TC``,
``ONL``, a conference link and ``approximate``) → ``attendance``; ``notes`` →
``summary``; ``formatted_address`` (else ``address``, ``city``, ``state``,
``postal_code``, ``country``) → ``address``; ``entity_phone`` /
``entity_email`` → ``contact``; ``updated`` → ``last_verified``. Not kept:
``contact_N_*`` (individuals), payment handles, coordinates, ``edit_url``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from fama_adapters import net
from fama_adapters.meetings.jsonstream import NotAnArray, iter_json_array
from fama_adapters.meetings.report import (
    EntryRefused,
    ImportOptions,
    ImportReport,
    MeetingFeedError,
    resolve_zone,
    unknown_types_warning,
)
from fama_adapters.meetings.seen import SeenIds
from fama_core import safe_json
from fama_core.addresses import postcode_of, postcode_warning
from fama_core.codes import AttendanceMode
from fama_core.directory import (
    Meeting,
    Weekday,
    WeeklySlot,
    attendance_from_types,
    normalise_types,
    zone,
)
from fama_core.errors import (
    InputUnreadable,
    TransportError,
)

__all__ = [
    "fetch_meeting_guide",
    "meeting_to_meeting_guide",
    "parse_day",
    "parse_time",
    "read_meeting_guide",
    "read_meeting_guide_file",
    "read_meeting_guide_json",
]

_ATTENDANCE_OPTIONS = frozenset(m.value for m in AttendanceMode)
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)(?::00)?$")


_Bad = EntryRefused


def parse_time(value: Any, field: str = "time") -> dt.time:
    """``HH:MM`` (or ``H:MM``, ``HH:MM:00``) as a time; ``24:00`` means midnight."""
    if not isinstance(value, str):
        raise _Bad(field, "type", "must be a string HH:MM")
    found = _TIME.match(value.strip())
    if not found:
        raise _Bad(field, "format", "must be HH:MM in 24-hour time")
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour == 24:
        if minute:
            raise _Bad(field, "format", "must be HH:MM in 24-hour time")
        hour = 0
    return dt.time(hour, minute)


def _one_day(value: Any) -> Weekday:
    if isinstance(value, bool):
        raise _Bad("day", "type", "must be a number 0-6 (Sunday 0)")
    # isascii(): '²' is a digit to isdigit() and not to int(), which crashed the import
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise _Bad("day", "type", "must be a number 0-6 (Sunday 0)")
    if not 0 <= value <= 6:
        raise _Bad("day", "range", "must be 0-6 (Sunday 0 to Saturday 6)")
    return Weekday(value)


def parse_day(value: Any) -> tuple[Weekday, ...]:
    """``day`` as the spec and real feeds give it: 1, "1" or [1, 3, 5] (Sunday 0)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _Bad("day", "empty", "an empty list of days")
    days = [_one_day(v) for v in items]
    return tuple(dict.fromkeys(days))  # a repeated day is one slot, not two


def _text(raw: Mapping[str, Any], key: str, limit: int | None = None) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _Bad(key, "type", "must be a string")
    value = value.strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value or None


def _updated(raw: Mapping[str, Any], warn: list[str]) -> dt.date | None:
    value = raw.get("updated")
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10 and text[4] == "-" and text[7] == "-":
            try:  # the spec's form: the fast path, strptime is slow at feed scale
                return dt.date.fromisoformat(text[:10])
            except ValueError:
                pass
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S"):
            try:
                return dt.datetime.strptime(text, pattern).date()
            except ValueError:
                continue
    warn.append("updated: not a date fama understands; treated as never verified")
    return None


def _address(raw: Mapping[str, Any]) -> str | None:
    formatted = _text(raw, "formatted_address", 2000)
    if formatted:
        return formatted
    parts = [_text(raw, k) for k in ("address", "city", "state", "postal_code", "country")]
    return ", ".join(p for p in parts if p) or None


def _approximate(raw: Mapping[str, Any]) -> bool:
    value = raw.get("approximate")
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("yes", "true", "1")


def _entry(raw: Any, options: ImportOptions, source: str, warn: list[str]) -> tuple[Meeting, bool]:
    """Map one feed entry to a :class:`Meeting` and whether its zone was assumed (raises
    ``_Bad``)."""
    if not isinstance(raw, Mapping):
        raise _Bad("", "type", "an entry must be a JSON object")
    name = _text(raw, "name")
    if not name:
        raise _Bad("name", "missing", "name is required")
    slug = raw.get("slug")
    if isinstance(slug, bool) or not isinstance(slug, str | int) or str(slug).strip() == "":
        raise _Bad("slug", "missing", "slug is required (a string or an integer)")
    has_day, has_time = raw.get("day") is not None, raw.get("time") not in (None, "")
    slots: tuple[WeeklySlot, ...] = ()
    if has_day != has_time:
        missing = "time" if has_day else "day"
        raise _Bad(missing, "missing", "a weekly meeting needs both day and time")
    if has_day:
        start = parse_time(raw["time"])
        end_raw = raw.get("end_time")
        end = parse_time(end_raw, "end_time") if end_raw not in (None, "") else None
        if end == start:
            warn.append("end_time: equals the start time; taken as one hour")
            end = None
        slots = tuple(WeeklySlot(day=d, start=start, end=end) for d in parse_day(raw["day"]))
    try:
        tz_name, assumed = resolve_zone(_text(raw, "timezone"), options)
    except LookupError:
        raise _Bad("timezone", "missing", "no time zone in the feed and none given") from None
    try:
        zone(tz_name)
    except ValueError:
        raise _Bad("timezone", "unknown", "not a tz database time zone name") from None
    types = raw.get("types", [])
    if types is None:
        types = []
    if isinstance(types, str):
        types = [t for t in re.split(r"[,\s]+", types) if t]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise _Bad("types", "type", "must be a list of type codes")
    features, languages, unknown = normalise_types(types)
    if unknown:
        warn.append(unknown_types_warning(unknown))
    conference_url = _text(raw, "conference_url", 2000)
    conference_phone = _text(raw, "conference_phone", 100)
    option = raw.get("attendance_option")
    if isinstance(option, str) and option in _ATTENDANCE_OPTIONS:
        attendance = AttendanceMode(option)
    else:
        if option is not None:
            warn.append("attendance_option: not a known value; derived from types instead")
        attendance = attendance_from_types(
            features,
            has_conference=bool(conference_url or conference_phone),
            approximate=_approximate(raw),
        )
    contact = "; ".join(p for p in (_text(raw, "entity_phone"), _text(raw, "entity_email")) if p)
    regions = raw.get("regions")
    region = _text(raw, "region", 255)
    if region is None and isinstance(regions, list) and regions and isinstance(regions[-1], str):
        region = regions[-1][:255] or None
    address = _address(raw)
    postcode, problems = postcode_of(
        address, _text(raw, "postal_code", 16), _text(raw, "country"), tz_name
    )
    if problems:
        warn.append(postcode_warning("postal_code", problems))
    fields = {
        "meeting_id": str(slug).strip(),
        "name": name[:255],
        "organisation": options.organisation,
        "slots": slots,
        "timezone": tz_name,
        "attendance": attendance,
        "features": features,
        "languages": languages,
        "unrecognised_types": unknown,
        "summary": _text(raw, "notes", 2000),
        "group": _text(raw, "group", 255),
        "location": _text(raw, "location", 255),
        "address": address,
        "postcode": postcode,
        "region": region,
        "location_notes": _text(raw, "location_notes", 2000),
        "conference_url": conference_url,
        "conference_phone": conference_phone,
        "contact": contact or _text(raw, "website", 2000),
        "url": _text(raw, "url", 2000),
        "last_verified": _updated(raw, warn),
        "source": source[:200],
        "retrieved_at": options.retrieved_at,
    }
    return Meeting.model_validate(fields), assumed


def read_meeting_guide(
    entries: Iterable[Any], *, options: ImportOptions | None = None, source: str = "feed"
) -> ImportReport:
    """Map decoded feed entries to meetings; a bad entry is reported by position.

    ``source`` labels the meetings and the report. A repeated slug is refused
    for the later entry (the spec makes the slug unique in a feed).
    """
    options = options or ImportOptions()
    label = options.source or source
    report = ImportReport(source=label, sink=options.sink)
    seen = SeenIds()
    for position, raw in enumerate(entries):
        report.entries += 1
        record = f"meetings[{position}]"
        warn: list[str] = []
        admitted = report.admit(
            record,
            position,
            seen,
            partial(_entry, raw, options, label, warn),
            id_field="slug",
            noun="slug",
            duplicate_of=lambda earlier: f"meetings[{earlier}]",
        )
        if admitted is not None:
            report.keep(record, *admitted, warn)
    report.close()
    return report


def read_meeting_guide_json(
    text: str | bytes, *, options: ImportOptions | None = None, source: str = "feed"
) -> ImportReport:
    """Decode a Meeting Guide feed and import it (see :func:`read_meeting_guide`)."""
    try:
        data = safe_json.loads(text, source=source)
    except InputUnreadable as exc:  # not JSON, not UTF-8, nested too deeply, a huge number
        raise MeetingFeedError(source=source, reason=exc.reason) from None
    if isinstance(data, Mapping) and isinstance(data.get("meetings"), list):
        data = data["meetings"]  # some servers wrap the array; accept it
    if not isinstance(data, list):
        raise MeetingFeedError(source=source, reason="a feed must be a JSON array of meetings")
    return read_meeting_guide(data, options=options, source=source)


def read_meeting_guide_file(
    path: str | Path, *, options: ImportOptions | None = None
) -> ImportReport:
    """Import a Meeting Guide feed from a file.

    The spec's shape, a JSON array, is read entry by entry
    (:func:`~fama_adapters.meetings.jsonstream.iter_json_array`), so with
    :attr:`ImportOptions.sink` memory stays flat however large the feed; any
    other shape (a wrapped ``{"meetings": [...]}``) is read whole.
    """
    p = Path(path)
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise MeetingFeedError(source=p.name, reason=f"cannot read ({exc.strerror})") from exc
    with fh:
        try:
            entries = iter_json_array(fh, source=p.name)
            return read_meeting_guide(entries, options=options, source=p.name)
        except NotAnArray:
            pass  # not the spec's bare array: read whole below
        except UnicodeDecodeError:
            raise MeetingFeedError(source=p.name, reason="not UTF-8 text") from None
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise MeetingFeedError(source=p.name, reason=f"cannot read ({exc.strerror})") from exc
    return read_meeting_guide_json(data, options=options, source=p.name)


FEED_LIMITS = net.Limits(deadline=60.0, max_bytes=32 * 1024 * 1024)
"""Limits for fetching a feed: 60 s overall, 32 MiB, redirects on the same origin only."""


def fetch_meeting_guide(
    url: str,
    client: httpx.Client | None = None,
    *,
    options: ImportOptions | None = None,
    limits: net.Limits = FEED_LIMITS,
) -> ImportReport:
    """Fetch a feed over HTTP(S) and import it, through :func:`fama_adapters.net.request`.

    ``limits`` bound the fetch (an overall deadline, the body size, same-origin
    redirects); ``client`` is the caller's (proxies, a ``MockTransport`` in
    tests), or one of :func:`fama_adapters.net.http_client` when ``None``.
    A network failure or a non-2xx answer is a
    :class:`~fama_core.errors.TransportError`; the URL is printed masked
    (:func:`~fama_adapters.net.mask_url`) everywhere, the report's ``source`` too.
    """
    shown = net.mask_url(url)
    if not url.startswith(("http://", "https://")):
        raise MeetingFeedError(source=shown, reason="only http and https URLs are fetched")
    try:
        net.check_url(url, what=f"meeting feed {shown}")
    except net.InvalidUrl as exc:
        raise MeetingFeedError(source=shown, reason=exc.reason) from None
    response = net.request(
        "GET", url, client=client, limits=limits, headers={"Accept": "application/json"}
    )
    if not 200 <= response.status_code < 300:
        raise TransportError(f"meeting feed {shown}: HTTP {response.status_code}")
    return read_meeting_guide_json(response.content, options=options, source=shown)


def meeting_to_meeting_guide(meeting: Meeting) -> list[dict[str, Any]]:
    """A fama meeting as Meeting Guide entries (one per distinct time; days grouped).

    Used to export a directory and in the round-trip tests. A meeting whose
    slots have different times becomes several entries with slugs
    ``<id>``, ``<id>-2`` …; a meeting by appointment one entry without a day.
    """
    by_time: dict[tuple[dt.time, dt.time | None], list[int]] = {}
    for slot in meeting.slots:
        by_time.setdefault((slot.start, slot.end), []).append(int(slot.day))
    base: dict[str, Any] = {
        "name": meeting.name,
        "timezone": meeting.timezone,
        "types": list(meeting.type_codes()),
        "attendance_option": meeting.attendance.value,
    }
    for key in ("summary", "group", "location", "address", "region", "location_notes", "url"):
        value = getattr(meeting, key)
        if value is not None:
            base[{"summary": "notes", "address": "formatted_address"}.get(key, key)] = value
    if meeting.conference_url:
        base["conference_url"] = meeting.conference_url
    if meeting.conference_phone:
        base["conference_phone"] = meeting.conference_phone
    if meeting.last_verified:
        base["updated"] = f"{meeting.last_verified:%Y-%m-%d} 00:00:00"
    if not by_time:
        return [{**base, "slug": meeting.meeting_id}]
    out = []
    for n, ((start, end), days) in enumerate(sorted(by_time.items(), key=str), start=1):
        entry = {
            **base,
            "slug": meeting.meeting_id if n == 1 else f"{meeting.meeting_id}-{n}",
            "day": days if len(days) > 1 else days[0],
            "time": f"{start:%H:%M}",
        }
        if end is not None:
            entry["end_time"] = f"{end:%H:%M}"
        out.append(entry)
    return out
