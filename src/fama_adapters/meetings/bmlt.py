"""Import Narcotics Anonymous meetings from a BMLT root server's semantic API.

Format: BMLT (Basic Meeting List Toolbox) semantic JSON interface,
``{root}/client_interface/json/?switcher=GetSearchResults`` and
``switcher=GetFormats``, as described by the server's own OpenAPI document
(bmlt-enabled/bmlt-server ``api-docs-semantic.json`` @ f44dfb95) and the
server's ``MeetingResource`` (@ 28685398). The search answer is a bare JSON
array of meetings, or ``{"meetings": [...], "formats": [...]}`` with
``get_used_formats=1``. Every value is a JSON string (``"1"``, ``"19:00:00"``);
a missing value is ``""``; fields a ``data_field_key`` leaves out are absent.

Mapping (field → fama), declared in full in ``docs/meetings.md``:
``id_bigint`` (with the root server's host) → ``meeting_id``;
``weekday_tinyint`` 1-7 with Sunday ``1`` → ``slots[].day`` (minus one);
``start_time`` → ``start``; ``start_time + duration_time`` → ``end``;
``time_zone`` (else the import's zone) → ``timezone``; ``venue_type``
1 / 2 / 3 → in person / online / hybrid; formats → ``features`` and
``languages`` through their NAWS ``world_id`` (:data:`WORLD_IDS`), never
through the server-local key strings; ``virtual_meeting_link`` /
``phone_meeting_number`` → ``conference_url`` / ``conference_phone``.
Not kept: coordinates (virtual meetings carry placeholder ones), the
``contact_*`` and ``email_contact`` fields (individuals).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from fama_adapters import net
from fama_adapters.meetings.jsonstream import NotAnArray, iter_json_array
from fama_adapters.meetings.report import (
    EntryRefused,
    ImportOptions,
    ImportReport,
    MeetingFeedError,
    resolve_zone,
)
from fama_adapters.meetings.seen import SeenIds
from fama_core import safe_json
from fama_core.addresses import postcode_of, postcode_warning
from fama_core.codes import AttendanceMode
from fama_core.directory import Meeting, MeetingFeature, Weekday, WeeklySlot, zone
from fama_core.errors import (
    InputUnreadable,
    TransportError,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FETCH_LIMITS",
    "VENUE_TYPES",
    "WORLD_IDS",
    "BmltFormat",
    "bmlt_day",
    "bmlt_end",
    "fetch_bmlt",
    "parse_formats",
    "read_bmlt",
    "read_bmlt_file",
    "read_bmlt_json",
    "search_url",
]

DEFAULT_MAX_BYTES = 50_000_000
"""Largest BMLT answer read from a URL (a whole region's meetings is a few MB)."""

_F = MeetingFeature
WORLD_IDS: Mapping[str, tuple[MeetingFeature, ...]] = {
    "BEG": (_F.NEWCOMER,),
    "CAN": (_F.CANDLELIGHT,),
    "CLOSED": (_F.CLOSED,),
    "CW": (_F.CHILD_FRIENDLY,),
    "DISC": (_F.DISCUSSION,),
    "GL": (_F.GAY, _F.LESBIAN),
    "LIT": (_F.LITERATURE,),
    "M": (_F.MEN,),
    "MED": (_F.MEDITATION,),
    "OPEN": (_F.OPEN,),
    "SMOK": (_F.SMOKING_PERMITTED,),
    "SPK": (_F.SPEAKER,),
    "STEP": (_F.STEP_STUDY,),
    "TC": (_F.TEMPORARILY_CLOSED,),
    "TRAD": (_F.TRADITION_STUDY,),
    "VM": (_F.ONLINE,),
    "W": (_F.WOMEN,),
    "WCHR": (_F.WHEELCHAIR_ACCESS,),
    "Y": (_F.YOUNG_PEOPLE,),
}
"""NAWS world id (BMLT ``GetFormats.world_id``) → fama features.

The world id is the only format code that means the same on every server.
NA-specific world ids with no fama feature (``BT`` Basic Text, ``JFT``,
``IW``, ``SPAD``, ``NS`` …) are kept in ``unrecognised_types`` as the world id,
which is also the type code BMLT's own Meeting Guide export gives them.
``HYBR`` is read as attendance only; ``LANG`` formats give languages.
"""

VENUE_TYPES: Mapping[str, AttendanceMode] = {
    "1": AttendanceMode.IN_PERSON,
    "2": AttendanceMode.ONLINE,
    "3": AttendanceMode.HYBRID,
}
"""BMLT ``venue_type`` → attendance (bmlt-server ``Meeting::VENUE_TYPE_*``)."""

_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")
_ISO_639_1 = re.compile(r"^[a-z]{2}$")
_ID = re.compile(r"^\d{1,19}$")


_Bad = EntryRefused


@dataclass(frozen=True)
class BmltFormat:
    """One entry of ``GetFormats`` (or of a search answer's ``formats``)."""

    id: str
    """Server-local numeric id, referenced by a meeting's ``format_shared_id_list``."""
    key: str
    """Server-local short code shown to users, as in a meeting's ``formats``."""
    world_id: str
    """NAWS code, portable between servers; may be empty."""
    type: str
    """``format_type_enum``: ``LANG`` marks a language format."""

    @property
    def language(self) -> str | None:
        """The ISO 639-1 code of a language format (``key_string`` ``de``, ``ES``)."""
        if self.world_id != "LANG" and self.type != "LANG":
            return None
        code = self.key.strip().lower()
        return code if _ISO_639_1.fullmatch(code) else None


def _scalar(raw: Mapping[str, Any], key: str) -> str:
    """A BMLT value as text: strings as given, integers tolerated, absent as ``""``."""
    value = raw.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool):
        raise _Bad(key, "type", "must be a string")
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise _Bad(key, "type", "must be a string")
    return value.strip()


def _clip(text: str, limit: int) -> str | None:
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_formats(entries: Any, warn: list[str]) -> dict[str, BmltFormat]:
    """``GetFormats`` entries by id; a malformed entry is skipped with a warning."""
    if isinstance(entries, Mapping) and "formats" in entries:
        entries = entries["formats"]
    if not isinstance(entries, list):
        raise MeetingFeedError(source="formats", reason="formats must be a JSON array")
    table: dict[str, BmltFormat] = {}
    for position, raw in enumerate(entries):
        try:
            if not isinstance(raw, Mapping):
                raise _Bad("", "type", "a format must be a JSON object")
            fmt = BmltFormat(
                id=_scalar(raw, "id"),
                key=_scalar(raw, "key_string"),
                world_id=_scalar(raw, "world_id").upper(),
                type=_scalar(raw, "format_type_enum").upper(),
            )
        except _Bad as bad:
            warn.append(f"formats[{position}]: {bad.problem.reason}; skipped")
            continue
        if not fmt.id:
            warn.append(f"formats[{position}]: no id; skipped")
            continue
        table.setdefault(fmt.id, fmt)
    return table


def _clock(value: str, field: str) -> tuple[int, int, int]:
    found = _CLOCK.fullmatch(value)
    if not found:
        raise _Bad(field, "format", "must be HH:MM:SS")
    return int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)


def bmlt_day(value: str) -> Weekday:
    """``weekday_tinyint`` (``"1"`` Sunday … ``"7"`` Saturday) as fama's weekday (Sunday 0)."""
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 7:
        raise _Bad("weekday_tinyint", "range", "must be 1-7 (Sunday 1 to Saturday 7)")
    return Weekday(int(value) - 1)


def bmlt_end(start: dt.time, duration: str, warn: list[str]) -> dt.time | None:
    """The end of a meeting that starts at ``start`` and lasts ``duration`` (``HH:MM[:SS]``).

    An empty or zero duration means the server's default, which the semantic
    API does not say: fama then keeps no end (an hour is assumed, as for a
    Meeting Guide feed). A duration of 24 hours or more cannot be one weekly
    slot: no end, with a warning. Otherwise the end wraps past midnight.
    """
    if not duration:
        return None
    hours, minutes, _seconds = _clock(duration, "duration_time")
    total = hours * 60 + minutes  # seconds of a duration are not meaningful for a meeting
    if total == 0:
        return None
    if total >= 24 * 60:
        warn.append("duration_time: 24 hours or more; kept without an end time")
        return None
    end = (start.hour * 60 + start.minute + total) % (24 * 60)
    return dt.time(end // 60, end % 60)


def _start(value: str, warn: list[str]) -> dt.time:
    hours, minutes, seconds = _clock(value, "start_time")
    if hours == 24 and minutes == 0 and seconds == 0:
        hours = 0
    if hours > 23:
        raise _Bad("start_time", "range", "not a time of day")
    if seconds:
        warn.append("start_time: seconds dropped")
    return dt.time(hours, minutes)


def _id_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _formats_of(
    raw: Mapping[str, Any], table: Mapping[str, BmltFormat], warn: list[str]
) -> tuple[list[BmltFormat], list[str]]:
    """The meeting's formats (by id where given, else by key) and keys that did not resolve."""
    ids = _id_list(_scalar(raw, "format_shared_id_list"))
    keys = _id_list(_scalar(raw, "formats"))
    found: list[BmltFormat] = []
    loose: list[str] = []
    if ids and table:
        for format_id in ids:
            if format_id in table:
                found.append(table[format_id])
            else:
                warn.append("format_shared_id_list: a format id is not in the formats list")
        return found, loose
    by_key = {f.key: f for f in table.values()}
    for key in keys:
        if key in by_key:
            found.append(by_key[key])
        else:
            loose.append(key)
    return found, loose


def _attendance(raw: Mapping[str, Any], world: set[str], warn: list[str]) -> AttendanceMode:
    venue = _scalar(raw, "venue_type")
    closed = "TC" in world
    if venue in VENUE_TYPES:
        mode = VENUE_TYPES[venue]
    else:
        if venue:
            warn.append("venue_type: not 1, 2 or 3; attendance derived from the formats")
        if "HYBR" in world:
            mode = AttendanceMode.HYBRID
        elif "VM" in world or _scalar(raw, "virtual_meeting_link"):
            mode = AttendanceMode.ONLINE
        else:
            mode = AttendanceMode.IN_PERSON
    if closed:  # the facility is temporarily closed: only an online option remains
        return (
            AttendanceMode.INACTIVE if mode is AttendanceMode.IN_PERSON else AttendanceMode.ONLINE
        )
    return mode


def _address(raw: Mapping[str, Any]) -> str | None:
    parts = [
        _scalar(raw, key)
        for key in (
            "location_street",
            "location_neighborhood",
            "location_municipality",
            "location_sub_province",
            "location_province",
            "location_postal_code_1",
            "location_nation",
        )
    ]
    seen: list[str] = []
    for part in parts:  # "Berlin, Berlin": a city that is its own province reads once
        if part and part not in seen:
            seen.append(part)
    return _clip(", ".join(seen), 2000)


def _host(uri: str) -> str:
    try:
        host = urlsplit(uri).hostname or ""
    except ValueError:
        return ""
    return re.sub(r"[^A-Za-z0-9.\-]", "", host)[:40]


def _meeting_id(raw: Mapping[str, Any], fallback_host: str) -> str:
    number = _scalar(raw, "id_bigint")
    if not _ID.fullmatch(number):
        raise _Bad("id_bigint", "missing", "id_bigint is required (a number)")
    host = _host(_scalar(raw, "root_server_uri")) or fallback_host
    aggregator = _scalar(raw, "root_server_id")
    prefix = "bmlt"
    if host:
        prefix += f":{host}"
    if aggregator.isascii() and aggregator.isdigit():
        prefix += f":{aggregator}"
    return f"{prefix}:{number}"


def _entry(
    raw: Any,
    table: Mapping[str, BmltFormat],
    options: ImportOptions,
    source: str,
    fallback_host: str,
    warn: list[str],
) -> tuple[Meeting, bool]:
    """Map one BMLT meeting to a :class:`Meeting` and whether its zone was assumed."""
    if not isinstance(raw, Mapping):
        raise _Bad("", "type", "a meeting must be a JSON object")
    meeting_id = _meeting_id(raw, fallback_host)
    name = _scalar(raw, "meeting_name")
    if not name:
        raise _Bad("meeting_name", "missing", "meeting_name is required")
    day_text, start_text = _scalar(raw, "weekday_tinyint"), _scalar(raw, "start_time")
    if bool(day_text) != bool(start_text):
        missing = "start_time" if day_text else "weekday_tinyint"
        raise _Bad(missing, "missing", "a weekly meeting needs both weekday and start time")
    slots: tuple[WeeklySlot, ...] = ()
    if day_text:
        day = bmlt_day(day_text)
        start = _start(start_text, warn)
        end = bmlt_end(start, _scalar(raw, "duration_time"), warn)
        slots = (WeeklySlot(day=day, start=start, end=end),)
    try:
        tz_name, assumed = resolve_zone(_scalar(raw, "time_zone"), options)
    except LookupError:
        raise _Bad("time_zone", "missing", "no time zone in the feed and none given") from None
    try:
        zone(tz_name)
    except ValueError:
        raise _Bad("time_zone", "unknown", "not a tz database time zone name") from None
    formats, loose = _formats_of(raw, table, warn)
    world = {f.world_id for f in formats if f.world_id}
    features: set[MeetingFeature] = set()
    languages: set[str] = set()
    unknown: set[str] = set()
    for fmt in formats:
        if fmt.language:
            languages.add(fmt.language)
        elif fmt.world_id in WORLD_IDS:
            features.update(WORLD_IDS[fmt.world_id])
        elif fmt.world_id and fmt.world_id not in ("HYBR", "LANG"):
            unknown.add(fmt.world_id[:32])
        elif not fmt.world_id and fmt.key:
            unknown.add(fmt.key[:32])  # a local format: kept as the server shows it
    unknown.update(k[:32] for k in loose)
    if loose:
        warn.append("formats: key strings not resolved (no formats list); kept as given")
    attendance = _attendance(raw, world, warn)
    if _scalar(raw, "published") == "0":
        warn.append("published: unpublished meeting; kept as inactive")
        attendance = AttendanceMode.INACTIVE
    online = attendance in (AttendanceMode.ONLINE, AttendanceMode.HYBRID)
    notes = [
        _scalar(raw, "location_info"),
        *(
            f"{label}: {text}"
            for label, text in (
                ("Trains", _scalar(raw, "train_lines")),
                ("Buses", _scalar(raw, "bus_lines")),
                ("Online", _scalar(raw, "virtual_meeting_additional_info")),
            )
            if text
        ),
    ]
    address = None if attendance is AttendanceMode.ONLINE else _address(raw)
    postcode, problems = (
        (None, ())
        if address is None
        else postcode_of(
            address,
            _clip(_scalar(raw, "location_postal_code_1"), 16),
            _scalar(raw, "location_nation"),
            tz_name,
        )
    )
    if problems:
        warn.append(postcode_warning("location_postal_code_1", problems))
    location = _scalar(raw, "location_text")
    fields = {
        "meeting_id": meeting_id,
        "name": name[:255],
        "organisation": options.organisation,
        "slots": slots,
        "timezone": tz_name,
        "attendance": attendance,
        "features": tuple(sorted(features, key=lambda f: f.value)),
        "languages": tuple(sorted(languages)),
        "unrecognised_types": tuple(sorted(unknown)),
        "summary": _clip(_scalar(raw, "comments"), 2000),
        "location": _clip(location, 255),
        "address": address,
        "postcode": postcode,
        "region": _clip(_scalar(raw, "service_body_name"), 255),
        "location_notes": _clip("; ".join(n for n in notes if n), 2000),
        "conference_url": _clip(_scalar(raw, "virtual_meeting_link"), 2000) if online else None,
        "conference_phone": _clip(_scalar(raw, "phone_meeting_number"), 100) if online else None,
        "source": source[:200],
        "retrieved_at": options.retrieved_at,
    }
    return Meeting.model_validate(fields), assumed


def _record(position: int, raw: Any) -> str:
    if isinstance(raw, Mapping):
        number = raw.get("id_bigint")
        if isinstance(number, str | int) and _ID.match(str(number).strip()):
            return f"meetings[{position}] (id_bigint {str(number).strip()})"
    return f"meetings[{position}]"


def read_bmlt(
    meetings: Iterable[Any],
    formats: Any = None,
    *,
    options: ImportOptions | None = None,
    source: str = "bmlt",
    fallback_host: str = "",
) -> ImportReport:
    """Map decoded BMLT meetings to fama meetings; a bad meeting is reported by position.

    ``formats`` is the server's ``GetFormats`` list (or the search answer's
    ``formats``): without it, format key strings cannot be resolved to world
    ids and are kept as unrecognised codes, with a warning. ``fallback_host``
    qualifies meeting ids when a meeting does not name its ``root_server_uri``
    (the host of the URL it was fetched from).
    """
    options = options or ImportOptions()
    label = options.source or source
    report = ImportReport(source=label, sink=options.sink)
    table = parse_formats(formats, report.warnings) if formats is not None else {}
    seen = SeenIds()
    for position, raw in enumerate(meetings):
        report.entries += 1
        record = _record(position, raw)
        warn: list[str] = []
        admitted = report.admit(
            record,
            position,
            seen,
            partial(_entry, raw, table, options, label, fallback_host, warn),
            id_field="id_bigint",
            duplicate_of=lambda earlier: f"meetings[{earlier}]",
        )
        if admitted is not None:
            report.keep(record, *admitted, warn)
    report.close()
    return report


def _decode(text: str | bytes, source: str) -> Any:
    try:
        return safe_json.loads(text, source=source)
    except InputUnreadable as exc:  # not JSON, not UTF-8, nested too deeply, a huge number
        raise MeetingFeedError(source=source, reason=exc.reason) from None


def _split(data: Any, source: str) -> tuple[list[Any], Any]:
    """The two shapes of ``GetSearchResults``: a bare array, or ``{meetings, formats}``."""
    if isinstance(data, list):
        return data, None
    if isinstance(data, Mapping):
        meetings = data.get("meetings")
        if isinstance(meetings, list):
            return meetings, data.get("formats")
        if "formats" in data:
            raise MeetingFeedError(
                source=source, reason="a formats-only answer (get_formats_only) has no meetings"
            )
    raise MeetingFeedError(
        source=source, reason="a BMLT search answer is a JSON array or {meetings, formats}"
    )


def read_bmlt_json(
    text: str | bytes,
    *,
    formats: str | bytes | None = None,
    options: ImportOptions | None = None,
    source: str = "bmlt",
    fallback_host: str = "",
) -> ImportReport:
    """Decode a ``GetSearchResults`` answer (either shape) and import it.

    ``formats`` is the text of a ``GetFormats`` answer; it is used when the
    search answer carries no ``formats`` of its own.
    """
    meetings, embedded = _split(_decode(text, source), source)
    table = embedded
    if table is None and formats is not None:
        table = _decode(formats, f"{source} formats")
    return read_bmlt(meetings, table, options=options, source=source, fallback_host=fallback_host)


def read_bmlt_file(
    path: str | Path,
    *,
    formats_path: str | Path | None = None,
    options: ImportOptions | None = None,
) -> ImportReport:
    """Import a saved ``GetSearchResults`` answer, with an optional saved ``GetFormats``.

    A bare array is read meeting by meeting (bounded memory with
    :attr:`ImportOptions.sink`); the ``{meetings, formats}`` shape is read whole.
    """
    p = Path(path)
    formats = _read(Path(formats_path)) if formats_path is not None else None
    try:
        fh = p.open(encoding="utf-8")
    except OSError as exc:
        raise MeetingFeedError(source=p.name, reason=f"cannot read ({exc.strerror})") from exc
    with fh:
        try:
            entries = iter_json_array(fh, source=p.name)
            table = _decode(formats, f"{p.name} formats") if formats is not None else None
            return read_bmlt(entries, table, options=options, source=p.name)
        except NotAnArray:
            pass  # the {meetings, formats} shape: read whole below
        except UnicodeDecodeError:
            raise MeetingFeedError(source=p.name, reason="not UTF-8 text") from None
    return read_bmlt_json(_read(p), formats=formats, options=options, source=p.name)


def _read(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except OSError as exc:
        raise MeetingFeedError(
            source=p.name, reason=f"cannot read ({exc.strerror})"
        ) from exc  # the CLI tells a path it cannot open (exit 2) by this cause


def search_url(location: str) -> str:
    """The ``GetSearchResults`` URL for a root server URL or a full search URL.

    A root server (``https://host/main_server``) gets the semantic JSON path
    and ``switcher=GetSearchResults``; ``get_used_formats=1`` is added to
    every search, so the answer carries the formats its meetings use.
    """
    parts = urlsplit(location)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    path = parts.path
    if query.get("switcher") != "GetSearchResults":
        path = path.rstrip("/") + "/client_interface/json/"
        query = {"switcher": "GetSearchResults", **query}
    query.setdefault("get_used_formats", "1")
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


FETCH_LIMITS = net.Limits(deadline=60.0, max_bytes=DEFAULT_MAX_BYTES)
"""Limits of each BMLT request: 60 s overall, 50 MB, redirects on the same origin only."""


def _get(url: str, client: httpx.Client | None, limits: net.Limits) -> bytes:
    """GET ``url`` through :func:`fama_adapters.net.request` (deadline, size, redirects)."""
    response = net.request(
        "GET", url, client=client, limits=limits, headers={"Accept": "application/json"}
    )
    if not 200 <= response.status_code < 300:
        raise TransportError(f"BMLT server {net.mask_url(url)}: HTTP {response.status_code}")
    return response.content


def fetch_bmlt(
    url: str,
    client: httpx.Client | None = None,
    *,
    options: ImportOptions | None = None,
    limits: net.Limits = FETCH_LIMITS,
) -> ImportReport:
    """Fetch a BMLT server's meetings and import them, through :func:`fama_adapters.net.request`.

    ``client`` is the caller's (proxies, a ``MockTransport`` in tests), or
    fama's own (:func:`fama_adapters.net.http_client`) when ``None``; ``limits``
    bound each request (an overall deadline, the body size, same-origin
    redirects). URLs are masked wherever they are shown.

    ``url`` is a root server (``https://host/main_server``) or a full
    ``GetSearchResults`` URL with the caller's filters (an aggregator needs at
    least one). When the answer is a bare array (no ``formats``), the
    server's ``GetFormats`` is fetched from the same root to resolve formats.
    """
    shown = net.mask_url(url)
    if not url.startswith(("http://", "https://")):
        raise MeetingFeedError(source=shown, reason="only http and https URLs are fetched")
    try:
        net.check_url(url, what=f"BMLT server {shown}")
    except net.InvalidUrl as exc:
        raise MeetingFeedError(source=shown, reason=exc.reason) from None
    search = search_url(url)
    host = _host(search)
    data = _decode(_get(search, client, limits), host)
    meetings, formats = _split(data, host)
    if formats is None and meetings:
        parts = urlsplit(search)
        formats_url = urlunsplit(
            (parts.scheme, parts.netloc, parts.path, "switcher=GetFormats", "")
        )
        formats = _decode(_get(formats_url, client, limits), host)
    return read_bmlt(meetings, formats, options=options, source=shown, fallback_host=host)
