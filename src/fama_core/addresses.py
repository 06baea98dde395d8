"""UK postal addresses: find and check a postcode, and lay an address out the UK way.

Pure. A postcode is *checked*, never rewritten: meeting lists keep the address
as the group published it, and a keyworker reads a warning when its postcode
is not one (a typo, a US ZIP code in a feed taken for British). The checks
follow the format the postcode bodies publish (Royal Mail's Postcode Address
File programmers' guide, as summarised in the GOV.UK / ONS bulk data
standard): an *outward code* (area: one or two letters; district: a digit,
then a digit or a letter) and an *inward code* (a digit and two letters),
with the letters each position may hold, and the outward code's area among
the UK's postcode areas (:data:`POSTCODE_AREAS`, with the Crown
Dependencies, which Royal Mail serves, and BFPO).

The UK way of showing an address (Royal Mail's addressing guidance): one
element per line, the post town, then the postcode on its own line, and no
country line for a UK address.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = [
    "POSTCODE_AREAS",
    "address_lines",
    "UK_COUNTRY_NAMES",
    "PostcodeProblem",
    "check_postcode",
    "find_postcode",
    "is_uk_country",
    "normalise_postcode",
    "postcode_of",
    "postcode_warning",
    "uk_address_lines",
]

POSTCODE_AREAS = frozenset(
    """AB AL B BA BB BD BF BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL
    DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW
    KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH
    RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF
    WN WR WS WV YO ZE""".split()
)
"""Postcode areas of the UK, the Channel Islands (GY, JE), the Isle of Man (IM) and BFPO (BF)."""

UK_COUNTRY_NAMES = frozenset(
    {
        "uk",
        "u.k.",
        "gb",
        "gbr",
        "great britain",
        "united kingdom",
        "england",
        "scotland",
        "wales",
        "cymru",
        "northern ireland",
    }
)
"""How feeds name the UK in a country field (compared case-insensitively)."""

# Letters each position may hold (PAF programmers' guide): not Q, V, X first; not I, J, Z
# second; the third of A9A and the fourth of AA9A from short lists; the inward letters never
# C, I, K, M, O or V.
_FIRST = "ABCDEFGHIJKLMNOPRSTUWYZ"
_SECOND = "ABCDEFGHKLMNOPQRSTUVWXY"
_THIRD = "ABCDEFGHJKPSTUW"
_FOURTH = "ABEHMNPRVWXY"
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"
_SHAPE = re.compile(r"^([A-Z]{1,2})([0-9])([0-9A-Z]?) ?([0-9])([A-Z]{2})$")
_LOOSE = re.compile(r"\b([A-Z]{1,2}[0-9][0-9A-Z]?) ?([0-9][A-Z]{2})\b", re.IGNORECASE)


class PostcodeProblem(StrEnum):
    """Why a postcode does not check out (stable codes for reports)."""

    FORMAT = "format"
    """Not the shape of a UK postcode (outward code, space, digit and two letters)."""
    AREA = "area"
    """The letters before the first digit are not a UK postcode area."""
    OUTWARD = "outward"
    """The outward code uses a letter that position never holds."""
    INWARD = "inward"
    """The inward code uses a letter postcodes never hold (C, I, K, M, O, V)."""


def normalise_postcode(text: str) -> str:
    """Upper case with one space before the inward code (``nb12aa`` → ``NB1 2AA``)."""
    compact = re.sub(r"\s+", "", text).upper()
    if len(compact) >= 5:
        return f"{compact[:-3]} {compact[-3:]}"
    return compact


def check_postcode(text: str) -> tuple[PostcodeProblem, ...]:
    """The problems with a UK postcode; empty when it checks out.

    Case and spacing are forgiven (``ne14st`` is ``NE1 4ST``). ``GIR 0AA``,
    the one historic exception to the format, is accepted.
    """
    code = normalise_postcode(text)
    if code == "GIR 0AA":
        return ()
    found = _SHAPE.match(code)
    if not found:
        return (PostcodeProblem.FORMAT,)
    area, district, extra, _sector, unit = found.groups()
    problems: list[PostcodeProblem] = []
    if area not in POSTCODE_AREAS:
        problems.append(PostcodeProblem.AREA)
    letters_ok = area[0] in _FIRST and (len(area) == 1 or area[1] in _SECOND)
    if extra.isalpha():
        letters_ok = letters_ok and extra in (_THIRD if len(area) == 1 else _FOURTH)
    if not letters_ok:
        problems.append(PostcodeProblem.OUTWARD)
    if any(letter not in _INWARD for letter in unit):
        problems.append(PostcodeProblem.INWARD)
    del district
    return tuple(problems)


def find_postcode(address: str) -> str | None:
    """The last thing in a one-line address shaped like a UK postcode, as written; else ``None``."""
    matches = list(_LOOSE.finditer(address))
    return matches[-1].group(0) if matches else None


def is_uk_country(country: str | None) -> bool:
    """Whether a feed's country field names the UK."""
    return country is not None and country.strip().lower() in UK_COUNTRY_NAMES


def uk_address_lines(address: str, postcode: str | None = None) -> tuple[str, ...]:
    """A one-line address laid out the UK way: one element a line, the postcode last, no country.

    The parts are the address's comma-separated elements as published; a
    trailing UK country name is dropped; the postcode (``postcode``, else the
    one found in the address) is taken out of the line it shares with the town
    and put on its own line, as published. Nothing else is changed.
    """
    parts = [p.strip() for p in address.split(",") if p.strip()]
    while parts and is_uk_country(parts[-1]):
        parts.pop()
    code = postcode or find_postcode(", ".join(parts))
    if code:
        for n in range(len(parts) - 1, -1, -1):
            if code in parts[n]:
                rest = parts[n].replace(code, " ").strip(" ,")
                parts[n : n + 1] = [rest] if rest else []
                break
        parts.append(code.strip())
    return tuple(parts)


def postcode_of(
    address: str | None, published: str | None, country: str | None, timezone: str
) -> tuple[str | None, tuple[PostcodeProblem, ...]]:
    """A meeting's postcode as published, and what is wrong with it when it is meant to be British.

    ``published`` is the feed's own postcode field; otherwise, for a UK
    address, the postcode written in ``address``. A meeting counts as in the
    UK when its ``country`` says so, or names no country and its zone is
    ``Europe/London``; only then is the postcode checked (a US ZIP code in a
    feed without a country, taken as London, shows up as a ``format`` problem).
    """
    uk = is_uk_country(country) or (not (country or "").strip() and timezone == "Europe/London")
    code = (published or "").strip() or None
    if code is None and uk and address:
        code = find_postcode(address)
    if code is None or not uk:
        return code, ()
    return code, check_postcode(code)


_WHY = {
    PostcodeProblem.FORMAT: "not shaped like a UK postcode",
    PostcodeProblem.AREA: "its area is not a UK postcode area",
    PostcodeProblem.OUTWARD: "its outward code has a letter that position never holds",
    PostcodeProblem.INWARD: "its inward code has a letter postcodes never use",
}


def postcode_warning(field: str, problems: tuple[PostcodeProblem, ...]) -> str:
    """An import warning for a postcode that does not check out; never quotes the value."""
    why = "; ".join(_WHY[p] for p in problems)
    return f"{field}: the postcode is kept as published but {why}"


def address_lines(address: str, postcode: str | None, timezone: str) -> tuple[str, ...]:
    """How a meeting's address is shown: the UK way for a UK address, else as published.

    A meeting is taken as in the UK when its postcode checks out or its zone
    is ``Europe/London``; any other address stays the one line it was.
    """
    uk = timezone == "Europe/London" or (postcode is not None and not check_postcode(postcode))
    return uk_address_lines(address, postcode) if uk else (address,)
