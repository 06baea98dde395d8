"""The meeting directory: local mutual aid meetings, normalised, with their age.

Pure model, no I/O: adapters (``fama_adapters.meetings``) read Meeting Guide
feeds and hand-kept lists into these models. The vocabulary follows the
Meeting Guide API (code4recovery/spec, README and ``data/types.json`` @ 404117ad):
days are numbered Sunday ``0`` to Saturday ``6``, times are local ``HH:MM`` in
the meeting's time zone, and the type codes map onto :class:`MeetingFeature`
and ISO 639-1 language codes through :data:`TYPE_CODES` and
:data:`LANGUAGE_CODES`. A code fama does not know is kept, not dropped
(``Meeting.unrecognised_types``), so a feed's meaning is never lost.

A meeting's contact is what its group or service entity publishes for the
meeting (a listing URL, an e-mail or telephone of the group or intergroup);
fama never copies the per-person ``contact_N_*`` fields of a feed
(``docs/decisions.md``, meetings section).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from enum import IntEnum, StrEnum
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, StringConstraints, field_validator, model_validator

from fama_core.codes import AttendanceMode
from fama_core.errors import CatalogueError
from fama_core.models import FamaModel, Identifier, MeetingRef, OrganisationCode

__all__ = [
    "DEFAULT_MAX_AGE_DAYS",
    "LANGUAGE_CODES",
    "TYPE_CODES",
    "Meeting",
    "MeetingDirectory",
    "MeetingFeature",
    "TimeZoneName",
    "Weekday",
    "WeeklySlot",
    "attendance_from_types",
    "normalise_types",
    "type_codes_of",
    "zone",
]

DEFAULT_MAX_AGE_DAYS = 365
"""A listing not verified within this many days is flagged stale (configurable per call)."""


class Weekday(IntEnum):
    """Day of the week as the Meeting Guide API numbers it: Sunday ``0`` to Saturday ``6``."""

    SUNDAY = 0
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6

    @classmethod
    def of(cls, date: dt.date) -> Weekday:
        """The weekday of a date (Python counts Monday ``0``; the spec counts Sunday ``0``)."""
        return cls((date.weekday() + 1) % 7)

    @property
    def label(self) -> str:
        """The day's English name, as a client reads it (``Monday``)."""
        return self.name.capitalize()


@cache
def zone(name: str) -> ZoneInfo:
    """The tz-database zone named ``name``; :class:`ValueError` when unknown.

    A name longer than any in the database (or with a NUL) is refused before
    the zone files are searched: the OS would fail with "file name too long".
    """
    if not name or len(name) > 64 or "\x00" in name:
        raise ValueError("not a tz database time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("not a tz database time zone name") from None


def _check_zone(name: str) -> str:
    zone(name)
    return name


TimeZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
"""A tz database name such as ``Europe/London`` (validated where used)."""


class WeeklySlot(FamaModel):
    """One weekly occurrence: a day, a local start time and an optional end time.

    An ``end`` earlier than ``start`` means the meeting runs past midnight into
    the next day (``23:00``-``00:30``). An ``end`` equal to ``start`` is refused:
    it is either a zero-length or a 24-hour meeting and neither is credible.
    Without ``end`` the meeting is taken to last an hour, as the spec says.
    """

    day: Weekday
    start: dt.time = Field(description="Local start time (minutes precision, no zone).")
    end: dt.time | None = Field(default=None, description="Local end time; earlier = next day.")

    @field_validator("start", "end")
    @classmethod
    def _minutes_only(cls, value: dt.time | None) -> dt.time | None:
        if value is not None and (value.second or value.microsecond or value.tzinfo):
            raise ValueError("times are local HH:MM, without seconds or a zone")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> WeeklySlot:
        if self.end is not None and self.end == self.start:
            raise ValueError("end time equals start time")
        return self

    @property
    def duration(self) -> dt.timedelta:
        """How long the meeting lasts (an hour when the feed gives no end)."""
        if self.end is None:
            return dt.timedelta(hours=1)
        minutes = (self.end.hour * 60 + self.end.minute) - (
            self.start.hour * 60 + self.start.minute
        )
        return dt.timedelta(minutes=minutes % (24 * 60))

    @property
    def crosses_midnight(self) -> bool:
        """Whether the meeting ends on the day after it starts."""
        start = dt.timedelta(hours=self.start.hour, minutes=self.start.minute)
        return start + self.duration > dt.timedelta(days=1)

    def occurrences(self, tz: ZoneInfo, first: dt.date, last: dt.date) -> Iterator[dt.datetime]:
        """Start of each occurrence on a date from ``first`` to ``last`` (inclusive), aware.

        Local times that a clock change skips or repeats are resolved as
        :mod:`zoneinfo` does (``fold=0``): a 01:30 meeting on the night the
        clocks go forward starts at 02:30 summer time.
        """
        offset = (self.day - Weekday.of(first)) % 7
        day = first + dt.timedelta(days=offset)
        while day <= last:
            local = dt.datetime.combine(day, self.start, tzinfo=tz)
            # Normalise through UTC so a skipped local time lands on a real instant.
            yield local.astimezone(dt.UTC).astimezone(tz)
            day += dt.timedelta(days=7)

    def label(self) -> str:
        """``Tuesday 19:30-21:00`` for a hand-out."""
        text = f"{self.day.label} {self.start:%H:%M}"
        if self.end is not None:
            text += f"-{self.end:%H:%M}"
        return text


class MeetingFeature(StrEnum):
    """What a meeting is like: fama's names for the Meeting Guide type codes.

    Source: code4recovery/spec README "Meeting Types" and "Proposed New Types"
    (@ 404117ad), plus ``ONL`` that 12 Step Meeting List feeds carry. Language
    codes are not features; they map to :data:`LANGUAGE_CODES`.
    """

    OPEN = "open"
    """Anyone may attend, including supporters and professionals (``O``)."""
    CLOSED = "closed"
    """For people who have a desire to stop (``C``)."""
    NEWCOMER = "newcomer"
    """Beginners' or newcomers' meeting (``BE``)."""
    WOMEN = "women"
    MEN = "men"
    LGBTQ = "lgbtq"
    GAY = "gay"
    LESBIAN = "lesbian"
    BISEXUAL = "bisexual"
    TRANSGENDER = "transgender"
    NON_BINARY = "non_binary"
    YOUNG_PEOPLE = "young_people"
    SENIORS = "seniors"
    PEOPLE_OF_COLOUR = "people_of_colour"
    NATIVE_AMERICAN = "native_american"
    INDIGENOUS = "indigenous"
    PROFESSIONALS = "professionals"
    WHEELCHAIR_ACCESS = "wheelchair_access"
    WHEELCHAIR_BATHROOM = "wheelchair_bathroom"
    SIGN_LANGUAGE_ASL = "sign_language_asl"
    SIGN_LANGUAGE_QUEBEC = "sign_language_quebec"
    SIGN_LANGUAGE_RUSSIAN = "sign_language_russian"
    DEAF_HARD_OF_HEARING = "deaf_hard_of_hearing"
    BLIND_VISUALLY_IMPAIRED = "blind_visually_impaired"
    FRAGRANCE_FREE = "fragrance_free"
    CHILD_FRIENDLY = "child_friendly"
    BABYSITTING = "babysitting"
    SECULAR = "secular"
    DUAL_DIAGNOSIS = "dual_diagnosis"
    SPEAKER = "speaker"
    DISCUSSION = "discussion"
    CROSS_TALK = "cross_talk"
    STEP_STUDY = "step_study"
    TRADITION_STUDY = "tradition_study"
    STEPS_AND_TRADITIONS = "steps_and_traditions"
    STEP_11_MEDITATION = "step_11_meditation"
    MEDITATION = "meditation"
    BIG_BOOK = "big_book"
    AS_BILL_SEES_IT = "as_bill_sees_it"
    DAILY_REFLECTIONS = "daily_reflections"
    LIVING_SOBER = "living_sober"
    GRAPEVINE = "grapevine"
    LITERATURE = "literature"
    BIRTHDAY = "birthday"
    BREAKFAST = "breakfast"
    CANDLELIGHT = "candlelight"
    OUTDOOR = "outdoor"
    SMOKING_PERMITTED = "smoking_permitted"
    PROOF_OF_ATTENDANCE = "proof_of_attendance"
    DIGITAL_BASKET = "digital_basket"
    LONERS = "loners"
    CONCURRENT_AL_ANON = "concurrent_al_anon"
    CONCURRENT_ALATEEN = "concurrent_alateen"
    ONLINE = "online"
    """Has an online option (``ONL``; 12 Step Meeting List, beyond the spec)."""
    TEMPORARILY_CLOSED = "temporarily_closed"
    """The venue is temporarily closed (``TC``)."""


_F = MeetingFeature
TYPE_CODES: Mapping[str, MeetingFeature] = {
    "11": _F.STEP_11_MEDITATION,
    "12x12": _F.STEPS_AND_TRADITIONS,
    "A": _F.SECULAR,
    "ABSI": _F.AS_BILL_SEES_IT,
    "AL": _F.CONCURRENT_ALATEEN,
    "AL-AN": _F.CONCURRENT_AL_ANON,
    "ASL": _F.SIGN_LANGUAGE_ASL,
    "B": _F.BIG_BOOK,
    "BA": _F.BABYSITTING,
    "BE": _F.NEWCOMER,
    "BI": _F.BISEXUAL,
    "BRK": _F.BREAKFAST,
    "BV-I": _F.BLIND_VISUALLY_IMPAIRED,
    "C": _F.CLOSED,
    "CAN": _F.CANDLELIGHT,
    "CF": _F.CHILD_FRIENDLY,
    "D": _F.DISCUSSION,
    "D-HOH": _F.DEAF_HARD_OF_HEARING,
    "DB": _F.DIGITAL_BASKET,
    "DD": _F.DUAL_DIAGNOSIS,
    "DR": _F.DAILY_REFLECTIONS,
    "FF": _F.FRAGRANCE_FREE,
    "G": _F.GAY,
    "GR": _F.GRAPEVINE,
    "H": _F.BIRTHDAY,
    "L": _F.LESBIAN,
    "LGBTQ": _F.LGBTQ,
    "LIT": _F.LITERATURE,
    "LO-I": _F.LONERS,
    "LS": _F.LIVING_SOBER,
    "M": _F.MEN,
    "MED": _F.MEDITATION,
    "N": _F.NATIVE_AMERICAN,
    "NB": _F.NON_BINARY,
    "NDG": _F.INDIGENOUS,
    "O": _F.OPEN,
    "ONL": _F.ONLINE,
    "OUT": _F.OUTDOOR,
    "P": _F.PROFESSIONALS,
    "POA": _F.PROOF_OF_ATTENDANCE,
    "POC": _F.PEOPLE_OF_COLOUR,
    "QSL": _F.SIGN_LANGUAGE_QUEBEC,
    "RSL": _F.SIGN_LANGUAGE_RUSSIAN,
    "SEN": _F.SENIORS,
    "SM": _F.SMOKING_PERMITTED,
    "SP": _F.SPEAKER,
    "ST": _F.STEP_STUDY,
    "T": _F.TRANSGENDER,
    "TC": _F.TEMPORARILY_CLOSED,
    "TR": _F.TRADITION_STUDY,
    "W": _F.WOMEN,
    "X": _F.WHEELCHAIR_ACCESS,
    "XB": _F.WHEELCHAIR_BATHROOM,
    "XT": _F.CROSS_TALK,
    "Y": _F.YOUNG_PEOPLE,
}
"""Meeting Guide type code → :class:`MeetingFeature` (every non-language code of the spec)."""

LANGUAGE_CODES: Mapping[str, str] = {
    "AF": "af",
    "AM": "am",
    "AR": "ar",
    "BG": "bg",
    "DA": "da",
    "DE": "de",
    "EL": "el",
    "EN": "en",
    "FA": "fa",
    "FI": "fi",
    "FR": "fr",
    "HE": "he",
    "HI": "hi",
    "HR": "hr",
    "HU": "hu",
    "IS": "is",
    "ITA": "it",
    "JA": "ja",
    "KA": "ka",
    "KOR": "ko",
    "LT": "lt",
    "ML": "ml",
    "MT": "mt",
    "NE": "ne",
    "NL": "nl",
    "NO": "no",
    "POL": "pl",
    "POR": "pt",
    "PUN": "pa",
    "RUS": "ru",
    "S": "es",
    "SK": "sk",
    "SL": "sl",
    "SV": "sv",
    "TH": "th",
    "TL": "tl",
    "TUR": "tr",
    "UK": "uk",
}
"""Meeting Guide language type code → ISO 639-1 code (``S`` is Spanish, ``UK`` Ukrainian)."""

_CODE_OF_FEATURE = {feature: code for code, feature in TYPE_CODES.items()}
_CODE_OF_LANGUAGE = {iso: code for code, iso in LANGUAGE_CODES.items()}
assert len(_CODE_OF_FEATURE) == len(TYPE_CODES) == len(MeetingFeature)
assert len(_CODE_OF_LANGUAGE) == len(LANGUAGE_CODES)

_TypeCode = Annotated[str, StringConstraints(min_length=1, max_length=32)]


def normalise_types(
    codes: Iterable[str],
) -> tuple[tuple[MeetingFeature, ...], tuple[str, ...], tuple[str, ...]]:
    """Split Meeting Guide type codes into ``(features, languages, unrecognised)``.

    Each part is sorted and free of repeats, so the result is canonical: the
    same set of codes in any order, repeated or not, gives the same triple.
    Codes are matched exactly as the spec writes them (``12x12``, ``AL-AN``);
    an upper-case form of a known code is accepted too, since feeds vary.
    """
    features: set[MeetingFeature] = set()
    languages: set[str] = set()
    unknown: set[str] = set()
    for raw in codes:
        code = raw.strip()
        if not code:
            continue
        key = code if code in TYPE_CODES or code in LANGUAGE_CODES else code.upper()
        if key == "12X12":
            key = "12x12"
        if key in TYPE_CODES:
            features.add(TYPE_CODES[key])
        elif key in LANGUAGE_CODES:
            languages.add(LANGUAGE_CODES[key])
        else:
            unknown.add(code)
    return (
        tuple(sorted(features, key=lambda f: f.value)),
        tuple(sorted(languages)),
        tuple(sorted(unknown)),
    )


def type_codes_of(
    features: Iterable[MeetingFeature],
    languages: Iterable[str] = (),
    unrecognised: Iterable[str] = (),
) -> tuple[str, ...]:
    """The Meeting Guide type codes for fama's features and languages (inverse of the above)."""
    codes = {_CODE_OF_FEATURE[f] for f in features}
    # a language fama has no Meeting Guide code for (an edited saved directory) is left out
    codes |= {_CODE_OF_LANGUAGE[lang] for lang in languages if lang in _CODE_OF_LANGUAGE}
    codes |= set(unrecognised)
    return tuple(sorted(codes))


def attendance_from_types(
    features: Iterable[MeetingFeature], *, has_conference: bool, approximate: bool
) -> AttendanceMode:
    """Derive in-person / online / hybrid / inactive as 12 Step Meeting List does.

    ``TC`` + online → online; ``TC`` alone → inactive; online + a real
    address → hybrid (online when the address is approximate); otherwise in
    person (inactive when the address is only approximate). A conference URL or
    telephone counts as the online option even without ``ONL`` (fama's decision:
    older feeds such as the San José sample carry the link but not the code).
    """
    found = set(features)
    online = MeetingFeature.ONLINE in found or has_conference
    closed = MeetingFeature.TEMPORARILY_CLOSED in found
    if closed:
        return AttendanceMode.ONLINE if online else AttendanceMode.INACTIVE
    if online:
        return AttendanceMode.ONLINE if approximate else AttendanceMode.HYBRID
    return AttendanceMode.INACTIVE if approximate else AttendanceMode.IN_PERSON


_Text = Annotated[str, StringConstraints(max_length=2000)]
_Short = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Meeting(FamaModel):
    """A weekly mutual aid meeting as listed locally (hand-out 6a), normalised.

    ``slots`` is empty for a meeting "by appointment" (the spec allows one
    without a day and time); such meetings are kept in the directory but never
    offered by matching. ``last_verified`` is the feed's ``updated`` date (or
    a hand-kept list's *last verified* column).
    """

    meeting_id: Identifier = Field(description="The feed's slug (unique in the directory).")
    name: _Short
    organisation: OrganisationCode = Field(description="aa, na, ca, smart, al-anon …")
    slots: tuple[WeeklySlot, ...] = Field(default=(), description="Weekly occurrences.")
    timezone: TimeZoneName = Field(description="tz database zone of the local times.")
    attendance: AttendanceMode
    features: tuple[MeetingFeature, ...] = ()
    languages: tuple[str, ...] = Field(default=(), description="ISO 639-1 codes; empty = local.")
    unrecognised_types: tuple[_TypeCode, ...] = Field(
        default=(), description="Type codes fama does not know, kept as the feed gave them."
    )
    summary: _Text | None = Field(default=None, description="Summary description (6a).")
    group: _Short | None = None
    location: _Short | None = Field(default=None, description="Building or landmark.")
    address: _Text | None = Field(default=None, description="Postal address, one line.")
    postcode: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        default=None,
        description="The postcode as published (checked on import, never rewritten).",
    )
    region: _Short | None = None
    location_notes: _Text | None = None
    conference_url: _Text | None = None
    conference_phone: Annotated[str, StringConstraints(max_length=100)] | None = None
    contact: _Text | None = Field(
        default=None, description="The group's or intergroup's published contact (6a)."
    )
    url: _Text | None = Field(default=None, description="The meeting's listing on its website.")
    last_verified: dt.date | None = None
    source: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Which feed or list the meeting came from."
    )
    retrieved_at: dt.datetime | None = Field(
        default=None,
        description="When fama last read the meeting from its source (provenance, UTC).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("slots")
    @classmethod
    def _distinct_slots(cls, value: tuple[WeeklySlot, ...]) -> tuple[WeeklySlot, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a weekly slot is listed twice")
        return value

    @property
    def by_appointment(self) -> bool:
        """No weekly day and time: contact the group to arrange."""
        return not self.slots

    @property
    def tz(self) -> ZoneInfo:
        """The meeting's time zone."""
        return zone(self.timezone)

    def has(self, feature: MeetingFeature) -> bool:
        """Whether the meeting carries ``feature``."""
        return feature in self.features

    def age_days(self, today: dt.date) -> int | None:
        """Days since the listing was last verified; ``None`` when never."""
        if self.last_verified is None:
            return None
        return (today - self.last_verified).days

    def is_stale(self, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> bool:
        """Not verified within ``max_age_days`` of ``today`` (never verified is stale)."""
        age = self.age_days(today)
        return age is None or age > max_age_days

    def ref(self) -> MeetingRef:
        """A :class:`~fama_core.models.MeetingRef` naming this meeting in an event."""
        return MeetingRef(
            meeting_id=self.meeting_id,
            name=self.name[:200],
            organisation=self.organisation,
            attendance_mode=self.attendance,
        )

    def type_codes(self) -> tuple[str, ...]:
        """The meeting's Meeting Guide type codes."""
        return type_codes_of(self.features, self.languages, self.unrecognised_types)

    def when_and_where(self) -> str:
        """The "When & where" cell of hand-out 6a."""
        when = "; ".join(s.label() for s in self.slots) or "By appointment"
        where = [p for p in (self.location, self.address) if p]
        if self.attendance is AttendanceMode.ONLINE:
            where = ["Online"]
        elif self.attendance is AttendanceMode.HYBRID:
            where.append("or online")
        return when + (", " + ", ".join(where) if where else "")


class MeetingDirectory:
    """Meetings by id, in the order they were added; ids are unique.

    Adding a meeting whose id is already present raises
    :class:`~fama_core.errors.CatalogueError`: two listings of one slug would
    make a ``MeetingRef`` ambiguous. Importers check this per entry and report
    the clash with the entry's position instead.
    """

    def __init__(self, meetings: Iterable[Meeting] = ()) -> None:
        self._by_id: dict[str, Meeting] = {}
        for meeting in meetings:
            self.add(meeting)

    def add(self, meeting: Meeting) -> None:
        """Add one meeting; a repeated id is a :class:`CatalogueError`."""
        if meeting.meeting_id in self._by_id:
            raise CatalogueError(entry=f"meetings/{meeting.meeting_id}", reason="listed twice")
        self._by_id[meeting.meeting_id] = meeting

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Meeting]:
        return iter(self._by_id.values())

    def get(self, meeting_id: str) -> Meeting | None:
        """The meeting with this id, or ``None``."""
        return self._by_id.get(meeting_id)

    def stale(
        self, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS
    ) -> tuple[Meeting, ...]:
        """Meetings whose listing is older than ``max_age_days`` (or never verified)."""
        return tuple(m for m in self if m.is_stale(today, max_age_days))

    def organisations(self) -> tuple[str, ...]:
        """The organisation codes present, sorted."""
        return tuple(sorted({m.organisation for m in self}))
