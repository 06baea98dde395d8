"""HL7 v2 ER7 ("pipe and hat") encoding: escaping, a message model to build, and a reader.

HL7 v2.5, chapter 2, section 2.7 (message construction rules). A message is
built as :class:`Segment` tuples of raw (unescaped) values and encoded in one
pass; reading splits on the delimiters that the message's own MSH declares and
unescapes every leaf. Escape sequences: ``\\F\\`` field, ``\\S\\`` component,
``\\T\\`` subcomponent, ``\\R\\`` repetition, ``\\E\\`` escape, and hex data
(``\\Xhh\\``, section 2.7.5) for every C0 control character and DEL: carriage
return and line feed would end a segment, and VT (0x0B) and FS (0x1C) are the
MLLP frame's start and end blocks, so a raw one in a value would let free text
end the message and start a forged one. No byte below 0x20, and no DEL, is
ever written raw: every value is text again after :func:`unescape`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fama_core.errors import MappingError

__all__ = [
    "Component",
    "Field",
    "ParsedMessage",
    "ParsedSegment",
    "Segment",
    "declared_codec",
    "encode",
    "escape",
    "format_date",
    "format_timestamp",
    "parse",
    "parse_date",
    "parse_timestamp",
    "unescape",
]

Component = str | tuple[str, ...]
"""A component: one value, or a tuple of subcomponents."""

Field = str | tuple[Component, ...] | list[str | tuple[Component, ...]]
"""A field: one value, a tuple of components, or a list of repetitions."""

Segment = tuple[str, tuple[Field, ...]]
"""``(segment id, fields from field 1)``; MSH's fields start at MSH-3 (1 and 2 are fixed)."""

_LATIN_1_SETS = frozenset({"8859/1", "8859/15"})
"""MSH-18 values whose messages are Latin-1 on the wire (read and sent so)."""


def declared_codec(message: str) -> str:
    """The Python codec of the character set a message's MSH-18 declares: ``latin-1`` for
    ISO 8859-1 or -15, else ``utf-8`` (of which ASCII, the v2.5 default, is a subset).

    ``message`` is the message as text, or its bytes decoded as Latin-1 (which keeps each
    byte as one character), so reading (:func:`~fama_adapters.hl7v2.adapter.decode_message`)
    and sending (:func:`~fama_adapters.hl7v2.mllp.frame`) read MSH-18 the same way.
    """
    first = message.split("\r", 1)[0].split("\n", 1)[0]
    fields = first.split(first[3]) if first.startswith("MSH") and len(first) > 3 else []
    # ASCII blanks only, as bytes.strip() took them: a Latin-1 0xA0 is not stripped.
    declared = fields[17].split("^")[0].strip(" \t\n\r\x0b\x0c") if len(fields) > 17 else ""
    return "latin-1" if declared in _LATIN_1_SETS else "utf-8"


SEGMENT_END = "\r"
ENCODING_CHARACTERS = "^~\\&"

_NEEDS_ESCAPE = re.compile(r"[|^~\\&\x00-\x1f\x7f]")
_ESCAPES = {
    "\\": "\\E\\",
    "|": "\\F\\",
    "^": "\\S\\",
    "&": "\\T\\",
    "~": "\\R\\",
}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\X{ord(char):02X}\\"


def escape(text: str) -> str:
    """Escape a raw value for ER7 with the default delimiters.

    The delimiters get their named escapes; every C0 control (CR, LF, tab, VT,
    FS …) and DEL a hex escape, so nothing in a value can end a segment or an
    MLLP frame.

    >>> escape("a|b^c")
    'a\\\\F\\\\b\\\\S\\\\c'
    """
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(_escape_one, text)


def _encode_component(value: Component) -> str:
    if isinstance(value, str):
        return escape(value)
    return "&".join([escape(v) for v in value]).rstrip("&")


def _encode_repetition(value: str | tuple[Component, ...]) -> str:
    if isinstance(value, str):
        return escape(value)
    return "^".join([_encode_component(c) for c in value]).rstrip("^")


def _encode_field(value: Field) -> str:
    if isinstance(value, str):
        return escape(value) if value else ""
    if isinstance(value, list):
        return "~".join([_encode_repetition(r) for r in value])
    return _encode_repetition(value)


def encode(segments: Sequence[Segment]) -> str:
    """Encode segments as one ER7 message: CR between segments, trailing empties dropped.

    The first segment must be ``MSH``; its tuple starts at MSH-3.
    """
    out: list[str] = []
    for seg_id, fields in segments:
        encoded = [_encode_field(f) for f in fields]
        while encoded and not encoded[-1]:
            encoded.pop()
        if seg_id == "MSH":
            out.append("MSH|" + ENCODING_CHARACTERS + ("|" + "|".join(encoded) if encoded else ""))
        else:
            out.append(seg_id + ("|" + "|".join(encoded) if encoded else ""))
    return SEGMENT_END.join(out)


# ---------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class _Delimiters:
    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str


def unescape(text: str, delims: _Delimiters | None = None) -> str:
    """Undo ER7 escaping (the inverse of :func:`escape`, for any delimiters).

    Unknown escape sequences (formatting such as ``\\.br\\``, highlighting
    ``\\H\\``) are kept as written: fama does not interpret formatting.
    """
    d = delims or _DEFAULT
    if d.escape not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != d.escape:
            out.append(ch)
            i += 1
            continue
        end = text.find(d.escape, i + 1)
        if end < 0:
            out.append(text[i:])
            break
        code = text[i + 1 : end]
        simple = {
            "F": d.field,
            "S": d.component,
            "T": d.subcomponent,
            "R": d.repetition,
            "E": d.escape,
        }
        if code in simple:
            out.append(simple[code])
        elif code.startswith("X") and len(code) > 1 and len(code) % 2 == 1:
            try:
                data = bytes.fromhex(code[1:])
            except ValueError:
                out.append(text[i : end + 1])
            else:
                # Hex data are bytes of the message's character set: UTF-8 for what fama
                # writes (single bytes below 0x80 are the same in every set), else Latin-1.
                try:
                    out.append(data.decode("utf-8"))
                except UnicodeDecodeError:
                    out.append(data.decode("latin-1"))
        else:
            out.append(text[i : end + 1])
        i = end + 1
    return "".join(out)


_DEFAULT = _Delimiters("|", "^", "~", "\\", "&")


@dataclass(frozen=True, slots=True)
class ParsedSegment:
    """A segment as read: raw (still escaped) fields, read through :meth:`get`."""

    id: str
    fields: tuple[str, ...]
    """Field 0 is the segment id; for MSH, field 1 is the field separator, 2 the encoding chars."""
    delimiters: _Delimiters

    def raw(self, number: int) -> str:
        """Field ``number`` as written (escaped), or ``""``."""
        return self.fields[number] if number < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        """The repetitions of field ``number`` (raw), none when empty."""
        raw = self.raw(number)
        return raw.split(self.delimiters.repetition) if raw else []

    def get(self, number: int, component: int = 1, subcomponent: int = 1, rep: int = 0) -> str:
        """One value, unescaped: field ``number``, its ``component`` and ``subcomponent``.

        Positions are 1-based as in the standard; a missing value is ``""``.
        """
        reps = self.repetitions(number)
        if rep >= len(reps):
            return ""
        return self.component_of(reps[rep], component, subcomponent)

    def component_of(self, repetition: str, component: int = 1, subcomponent: int = 1) -> str:
        """Unescaped ``component.subcomponent`` of one raw repetition."""
        d = self.delimiters
        comps = repetition.split(d.component)
        if component > len(comps):
            return ""
        subs = comps[component - 1].split(d.subcomponent)
        if subcomponent > len(subs):
            return ""
        return unescape(subs[subcomponent - 1], d)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """A message as read: its segments in order."""

    segments: tuple[ParsedSegment, ...]

    @property
    def msh(self) -> ParsedSegment:
        """The message header."""
        return self.segments[0]

    @property
    def message_type(self) -> tuple[str, str, str]:
        """MSH-9: message code, trigger event and structure (``ADT``, ``A01``, ``ADT_A01``)."""
        return (self.msh.get(9, 1), self.msh.get(9, 2), self.msh.get(9, 3))

    @property
    def control_id(self) -> str:
        """MSH-10, the message control id."""
        return self.msh.get(10)

    def all(self, seg_id: str) -> list[ParsedSegment]:
        """Every segment with this id, in order."""
        return [s for s in self.segments if s.id == seg_id]

    def first(self, seg_id: str) -> ParsedSegment | None:
        """The first segment with this id, or ``None``."""
        for s in self.segments:
            if s.id == seg_id:
                return s
        return None


def parse(message: str | bytes) -> ParsedMessage:
    """Read an ER7 message; segment ends may be CR, LF or CRLF.

    Raises :class:`~fama_core.errors.MappingError` when it does not start with
    an MSH segment declaring its delimiters.
    """
    text = message.decode("utf-8") if isinstance(message, bytes) else message
    text = text.strip("\x0b\x1c\r\n")
    if not text.startswith("MSH") or len(text) < 8:
        raise MappingError("not an HL7 v2 message: it does not start with an MSH segment")
    fs = text[3]
    enc = text[4:8]
    if len(set(fs + enc)) != 5:
        raise MappingError("not an HL7 v2 message: MSH-1/MSH-2 delimiters are not distinct")
    d = _Delimiters(fs, enc[0], enc[1], enc[2], enc[3])
    lines = [ln for ln in re.split(r"\r\n|\r|\n", text) if ln]
    segments = []
    for ln in lines:
        parts = ln.split(fs)
        if parts[0] == "MSH":
            parts = ["MSH", fs, *parts[1:]]
        segments.append(ParsedSegment(parts[0], tuple(parts), d))
    return ParsedMessage(tuple(segments))


# ------------------------------------------------------------------ dates, times


def format_date(value: dt.date | None) -> str:
    """``YYYYMMDD`` (HL7 DT / TS to day precision), or ``""``."""
    return value.strftime("%Y%m%d") if value is not None else ""


def format_timestamp(value: dt.datetime) -> str:
    """``YYYYMMDDHHMMSS+ZZZZ`` (HL7 TS with its offset); naive times are refused."""
    if value.tzinfo is None:
        raise MappingError("a timestamp for HL7 needs a time zone")
    return value.strftime("%Y%m%d%H%M%S%z")


def parse_date(value: str, *, what: str) -> dt.date | None:
    """The date part of an HL7 DT/TS value, ``None`` when empty.

    ``what`` names the field in the :class:`MappingError` raised for a bad value.
    """
    if not value:
        return None
    digits = value[:8]
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        # A DT of year or month precision is valid HL7 but names no day; fama's dates
        # are days, so it asks for one rather than invent it.
        raise MappingError(f"{what}: needs a date to the day (YYYYMMDD)") from None


_TS = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?([+-]\d{4})?"
)


def parse_timestamp(value: str, *, what: str, zone: dt.tzinfo) -> dt.datetime:
    """An HL7 v2.5 TS (``YYYYMMDD[HH[MM[SS[.S…]]]][+/-ZZZZ]``) as an aware datetime.

    Parts left out are zero; without an offset the time is read in ``zone``
    (the sender's local time, as the standard says). Day precision is the least
    fama accepts; ``what`` names the field in the :class:`MappingError`.
    """
    match = _TS.fullmatch(value)
    if match is None:
        raise MappingError(f"{what}: not an HL7 timestamp (YYYYMMDD[HHMM[SS[.S]]][+ZZZZ])")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        when = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise MappingError(f"{what}: not a real date and time") from None
    if offset is None:
        return when.replace(tzinfo=zone)
    sign = 1 if offset[0] == "+" else -1
    delta = dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    return when.replace(tzinfo=dt.timezone(sign * delta))
