"""Validate the recovery-support part of NDTMS rows, fama's own or a provider's. Pure.

A :class:`Validator` checks one row at a time and keeps just enough across
rows to find duplicate review ids, so one bad row never stops a batch: each
problem is a :class:`Finding` naming the record, the item and the rule code,
never the offending value. Rule codes, severities and their sources are data
(``data/validation_rules.json``); see docs/ndtms.md for the list.

The core has no clock: "not in the future" is judged against the ``today``
the caller supplies.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import cast

from fama_core.context import AGENCY_CODE
from fama_core.ndtms.tables import DatasetTable, load_rules

__all__ = ["HOST_ITEM_SHAPES", "Finding", "ItemShape", "Validator", "validate_rows"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule a record broke: which record, which item, which rule."""

    code: str
    severity: str
    record: str
    field: str | None
    message: str


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the rules make of a row whose items are exactly these, each with a value.

    Worked out once per set of items (an export's rows share a handful), so a
    row costs its values: positions of the dates and flags to check, whether
    every required item is there, whether the row is a review.
    """

    complete: bool
    """Every item the row requires is present (else the full check reports which)."""
    consent: int
    """Position of the consent item, or -1."""
    modal: int
    """Position of ``MODAL``, or -1."""
    dates: tuple[tuple[int, str], ...]
    flags: tuple[int, ...]
    is_review: bool
    w060: bool
    """A review with neither recovery-support flag (``FAMA-W060``)."""
    review_key: Callable[[Sequence[str | None]], tuple[str | None, ...]]
    """The row's ``(AGNCY, CLIENTID, EPISODID, MODID, SUBMID, SUBMODDT)`` (``None`` when absent)."""
    shaped: Callable[[Sequence[str | None]], tuple[str | None, ...]] | None
    """The row's items copied from the host (``None``: it has none)."""
    shaped_re: re.Pattern[str]
    """Their patterns joined by ``\\x1f``: one match checks them all (no item holds a control)."""


@dataclass(frozen=True, slots=True)
class ItemShape:
    """What an item copied from the host's data may look like (``FAMA-E013`` otherwise)."""

    pattern: re.Pattern[str]
    """Checked with ``fullmatch``."""
    says: str
    """The shape in words, for the finding and the docs (never the value)."""


_CODE = ItemShape(re.compile(r"[A-Za-z0-9]{1,16}"), "a code (1 to 16 letters or digits)")
_ID = r"[A-Za-z0-9][A-Za-z0-9._:\-]"
_IDENTIFIER = ItemShape(
    re.compile(_ID + "{0,63}"),
    "an identifier (1 to 64 letters, digits or . _ : -, the first a letter or digit)",
)

HOST_ITEM_SHAPES: Mapping[str, ItemShape] = {
    "agency_code": ItemShape(AGENCY_CODE, "an agency code (1 to 16 letters or digits)"),
    "discharge_reason": ItemShape(
        re.compile(r"[A-Za-z0-9]{1,32}"), "a code (1 to 32 letters or digits)"
    ),
    "modality": _CODE,
    "setting": _CODE,
    "exit_status": _CODE,
    "client_id": _IDENTIFIER,
    "treatment_episode_id": _IDENTIFIER,
    "intervention_id": _IDENTIFIER,
    "review_id": ItemShape(
        re.compile(_ID + "{0,72}"),
        "an identifier (1 to 73 letters, digits or . _ : -, the first a letter or digit)",
    ),
}
"""The shape of every item fama copies from the host's data rather than computes, by the
host attribute that fills it (a table field's ``fama_fills``).

NDTMS submissions are not formula-marked (decision X3: the file must stay byte-exact), so an
item that a spreadsheet could read as a formula (``=``, ``+``, ``-``, ``@`` first) or that is
not what its column holds is refused at its record and item instead (``FAMA-E013``, decision
E1). Codes: every code of the tables' lists (``MODAL`` 94-96, ``MODSET`` 1-8, ``MODEXIT``
A-C, the agency codes of decision O2) is letters and digits; ``DISRSN`` keeps the 32
characters ``TreatmentContext.end_reason`` allows. Identifiers: fama's ``Identifier``; a
review id may be a 64-character ``MODID`` plus ``-yyyymmdd`` (the review policy's ids).
"""


_REVIEW_KEY = ("AGNCY", "CLIENTID", "EPISODID", "MODID", "SUBMID", "SUBMODDT")
"""The items that make a review id (or date) a repeat: the intervention's keys, then the id."""


def _getter(
    keys: Sequence[str], names: Sequence[str]
) -> Callable[[Sequence[str | None]], tuple[str | None, ...]]:
    """A function of a row's values (in ``keys`` order): those of ``names`` (absent: ``None``)."""
    at = [keys.index(n) if n in keys else -1 for n in names]
    if all(i >= 0 for i in at) and len(at) > 1:
        return cast("Callable[[Sequence[str | None]], tuple[str | None, ...]]", itemgetter(*at))
    return lambda texts: tuple(texts[i] if i >= 0 else None for i in at)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""Characters no item may hold: controls and line breaks break the record."""


class Validator:
    """Checks rows against one dataset table; remembers review ids to find duplicates."""

    def __init__(
        self,
        table: DatasetTable,
        *,
        today: dt.date,
        post_treatment_modalities: Collection[str] = (),
        columns: Iterable[str] | None = None,
    ) -> None:
        self.table = table
        self.today = today
        self._rules = load_rules()
        self._null = table.file.null_value
        self._post = set(table.codes["post_treatment_modalities"].values) | set(
            post_treatment_modalities
        )
        self._ids: set[tuple[str | None, ...]] = set()
        self._dates: set[tuple[str | None, ...]] = set()
        fields = table.fields
        self._always = [f.name for f in fields if f.required == "always"]
        self._with_consent = [f.name for f in fields if f.required == "consent"]
        self._on_review = [f.name for f in fields if f.required == "review"]
        # Dates of the recovery-support rules only: a provider's DOB is not this module's business.
        self._dates_items = [
            f.name
            for f in fields
            if f.type == "date" and f.group in ("episode", "intervention", "review")
        ]
        self._flags = [f.name for f in fields if f.type == "flag"]
        self._host_shapes = {
            f.name: HOST_ITEM_SHAPES[f.fama_fills]
            for f in fields
            if f.fama_fills is not None and f.fama_fills in HOST_ITEM_SHAPES
        }
        self._kept = set(table.consent.kept_without_consent)
        self._rs = table.fields_in("recovery_support")
        self._columns = frozenset(columns if columns is not None else table.columns)
        self._flag_set = frozenset(self._flags)
        self._flag_codes = table.flag_codes
        self._kinds = dict.fromkeys(self._dates_items, "date") | dict.fromkeys(self._flags, "flag")
        self._parsed: dict[str, dt.date | None] = {}
        self._shapes: dict[tuple[str, ...], _Shape] = {}
        self._needed()

    def _needed(self) -> None:
        """The required items of the columns rows are checked against, in rule order."""
        columns = self._columns
        self._need_always = tuple(n for n in self._always if n in columns)
        self._need_consent = tuple(n for n in self._with_consent if n in columns)
        self._need_review = tuple(n for n in self._on_review if n in columns)
        self._need_all = frozenset(self._need_always + self._need_consent + self._need_review)
        # W060 needs one of these when the row is a review.
        self._w060 = tuple(n for n in ("RECMAID", "RECPEER") if n in self._rs)
        self._shapes = {}

    def _shape(self, keys: tuple[str, ...]) -> _Shape:
        """The :class:`_Shape` of rows with exactly these items (a bounded cache)."""
        shape = self._shapes.get(keys)
        if shape is not None:
            return shape
        have = set(keys)
        consent = self.table.consent.field
        is_review = "SUBMODDT" in have or "SUBMID" in have or not self._flag_set.isdisjoint(have)
        needed = set(self._need_always)
        if consent in have:
            needed.update(self._need_consent)
        if is_review:
            needed.update(self._need_review)
        kinds = self._kinds
        shaped = [k for k in keys if k in self._host_shapes]
        shape = _Shape(
            complete=needed <= have,
            consent=keys.index(consent) if consent in have else -1,
            modal=keys.index("MODAL") if "MODAL" in have else -1,
            dates=tuple((i, k) for i, k in enumerate(keys) if kinds.get(k) == "date"),
            flags=tuple(i for i, k in enumerate(keys) if kinds.get(k) == "flag"),
            is_review=is_review,
            w060=is_review and all(n not in have for n in self._w060),
            review_key=_getter(
                keys, ("AGNCY", "CLIENTID", "EPISODID", "MODID", "SUBMID", "SUBMODDT")
            ),
            shaped=_getter(keys, shaped) if shaped else None,
            shaped_re=re.compile(
                "\x1f".join(f"(?:{self._host_shapes[k].pattern.pattern})" for k in shaped)
            ),
        )
        if len(self._shapes) >= 256:  # rows have few shapes; a hostile file must not grow it
            self._shapes.clear()
        self._shapes[keys] = shape
        return shape

    def _date(self, text: str) -> dt.date | None:
        """``text`` as a date of the table's format, or ``None`` (a bounded cache)."""
        try:
            return self._parsed[text]
        except KeyError:
            pass
        if len(text) > 32:  # no date is this long; a hostile value is not kept
            return None
        if len(self._parsed) >= 8192:  # dates repeat across rows; memory must not grow
            self._parsed.clear()
        day = self._parsed[text] = self.table.parse_date(text)
        return day

    def add_post_treatment(self, modalities: Iterable[str]) -> None:
        """Treat these intervention codes as post-treatment recovery support (host's codes)."""
        self._post.update(modalities)

    def _f(self, code: str, record: str, item: str | None, message: str) -> Finding:
        return Finding(code, self._rules[code].severity, record, item, message)

    def header(self, columns: Iterable[str], *, record: str = "header") -> list[Finding]:
        """Problems with a file's header: columns the rules need but cannot find.

        The header's columns are then the ones rows are checked against (an
        item of a column the file does not have is not reported missing).
        """
        have = set(columns)
        self._columns = frozenset(have)
        self._needed()
        needed = [
            "AGNCY",
            "CLIENTID",
            self.table.consent.field,
            "SUBMODDT",
            "SUBMID",
            "MODST",
            "RECMAID",
            "RECPEER",
        ]
        return [
            self._f("FAMA-E002", record, name, f"no {name} column: rules on it are skipped")
            for name in needed
            if name in self.table.columns and name not in have
        ]

    def forget_reviews(self) -> None:
        """Forget the review ids seen so far (an export does so per client: memory stays flat)."""
        self._ids.clear()
        self._dates.clear()

    def row(
        self,
        record: str,
        values: Mapping[str, str | None],
        *,
        post_treatment: Collection[str] = (),
    ) -> list[Finding]:
        """Every problem of one row.

        ``values`` maps item names to their text; it may be sparse (an item of
        the file's columns that it lacks is empty). ``post_treatment`` adds
        post-treatment modality codes for this row alone (a client's own).
        """
        fast = self._clean_row(record, values, post_treatment)
        if fast is not None:
            return fast
        return self._full_row(record, values, post_treatment)

    def _clean_row(
        self, record: str, values: Mapping[str, str | None], post_treatment: Collection[str]
    ) -> list[Finding] | None:
        """The findings of a row every item of which has a valid value, by its :class:`_Shape`.

        ``None`` when the row has an empty item or breaks any rule checked
        before the dates' order (a control character, a missing item, consent,
        a date or flag that does not read): :meth:`_full_row` then reports it.
        Otherwise the same findings as :meth:`_full_row`, in the same order.
        """
        texts = tuple(values.values())
        if not all(texts) or self._null in texts:  # an empty item (None, "" or NA)
            return None
        shape = self._shape(tuple(values))
        if not shape.complete or _CONTROL.search("".join(texts)):  # type: ignore[arg-type]
            return None
        if shape.consent >= 0 and texts[shape.consent] != self.table.consent.given:
            return None
        if shape.shaped is not None:
            items = shape.shaped(texts)
            # No item holds a control character (checked above), so none holds the separator.
            if not shape.shaped_re.fullmatch("\x1f".join(items)):  # type: ignore[arg-type]
                return None
        parsed = self._parsed
        dates: dict[str, dt.date] = {}
        for i, name in shape.dates:
            text = texts[i]
            day = parsed.get(text) or self._date(text)  # type: ignore[arg-type]
            if day is None:
                return None
            dates[name] = day
        flag_codes = self._flag_codes
        for i in shape.flags:
            if texts[i] not in flag_codes:
                return None
        out: list[Finding] = []
        if dates:
            modal = texts[shape.modal] if shape.modal >= 0 else None
            out += self._order(record, dates, modal, post_treatment)
        if shape.is_review:
            out += self._repeated(record, shape.review_key(texts))
            if shape.w060:
                out.append(self._f("FAMA-W060", record, "RECMAID", "RECMAID and RECPEER are empty"))
        return out

    def _full_row(
        self, record: str, values: Mapping[str, str | None], post_treatment: Collection[str]
    ) -> list[Finding]:
        out: list[Finding] = []
        f = self._f
        null = self._null
        # Items with a value; empty, NA and the withheld value all count as empty.
        have: dict[str, str] = {k: v for k, v in values.items() if v and v != null}
        keys = have.keys()
        if _CONTROL.search("".join(have.values())):  # one search; per item only when found
            for name, item in have.items():
                if _CONTROL.search(item):
                    out.append(f("FAMA-E012", record, name, f"{name} holds a control character"))
        shapes = self._host_shapes
        for name, item in have.items():
            item_shape = shapes.get(name)
            if item_shape is not None and not item_shape.pattern.fullmatch(item):
                out.append(f("FAMA-E013", record, name, f"{name} is not {item_shape.says}"))
        complete = keys >= self._need_all  # every required item present: nothing to report
        if not complete:
            for name in self._need_always:
                if name not in have:
                    out.append(f("FAMA-E010", record, name, f"{name} is required"))
        rule = self.table.consent
        consent = have.get(rule.field)
        if consent is not None and consent != rule.given and consent != rule.refused:
            out.append(f("FAMA-E020", record, rule.field, "not a valid consent code"))
            return out
        if consent is not None and consent == rule.refused:
            kept = self._kept
            for name in have:
                if name not in kept:
                    out.append(f("FAMA-E021", record, name, f"{name} is sent without consent"))
            return out
        is_review = "SUBMODDT" in have or "SUBMID" in have or not self._flag_set.isdisjoint(keys)
        if not complete:
            if consent is not None:
                for name in self._need_consent:
                    if name not in have:
                        out.append(f("FAMA-E010", record, name, f"{name} is required"))
            if is_review:
                for name in self._need_review:
                    if name not in have:
                        out.append(f("FAMA-E010", record, name, f"{name} is required"))
        dates: dict[str, dt.date] = {}
        parse = self._date
        flag_codes = self._flag_codes
        kinds = self._kinds
        # One pass over the (few) items present, in their order: dates and flags.
        for name, text in have.items():
            kind = kinds.get(name)
            if kind is None:
                continue
            if kind == "date":
                day = parse(text)
                if day is None:
                    out.append(f("FAMA-E011", record, name, f"{name} is not a valid date"))
                else:
                    dates[name] = day
            elif text not in flag_codes:
                out.append(f("FAMA-E030", record, name, f"{name} is not a valid flag value"))
        if dates:
            out += self._order(record, dates, have.get("MODAL"), post_treatment)
        if is_review:
            out += self._repeats(record, have.get)
            if all(n not in have for n in self._w060):
                out.append(f("FAMA-W060", record, "RECMAID", "RECMAID and RECPEER are empty"))
        return out

    def _order(
        self,
        record: str,
        d: Mapping[str, dt.date],
        modal: str | None,
        post_treatment: Collection[str] = (),
    ) -> list[Finding]:
        out: list[Finding] = []
        f = self._f
        for a, b in (("TRIAGED", "DISD"), ("REFMODDT", "MODST"), ("MODST", "MODEND")):
            if a in d and b in d and d[a] > d[b]:
                out.append(f("FAMA-E045", record, b, f"{b} is before {a}"))
        review = d.get("SUBMODDT")
        if review is None:
            return out
        if "MODST" in d and review < d["MODST"]:
            out.append(f("FAMA-E040", record, "SUBMODDT", "review before MODST"))
        if "MODEND" in d and review > d["MODEND"]:
            out.append(f("FAMA-E041", record, "SUBMODDT", "review after MODEND"))
        if "TRIAGED" in d and review < d["TRIAGED"]:
            out.append(f("FAMA-E042", record, "SUBMODDT", "review before TRIAGED"))
        if "DISD" in d:
            post = modal is not None and (modal in self._post or modal in post_treatment)
            if not post and review > d["DISD"]:
                out.append(f("FAMA-E043", record, "SUBMODDT", "review after DISD"))
            if post and review <= d["DISD"]:
                out.append(f("FAMA-W063", record, "SUBMODDT", "post-treatment review before DISD"))
        if review > self.today:
            out.append(f("FAMA-E044", record, "SUBMODDT", "review dated after the reporting date"))
        return out

    def _repeats(self, record: str, val: Callable[[str], str | None]) -> list[Finding]:
        return self._repeated(
            record,
            (
                val("AGNCY"),
                val("CLIENTID"),
                val("EPISODID"),
                val("MODID"),
                val("SUBMID"),
                val("SUBMODDT"),
            ),
        )

    def _repeated(self, record: str, key: tuple[str | None, ...]) -> list[Finding]:
        """A review id (or date) already seen for the same intervention, and remember both."""
        out: list[Finding] = []
        review_id, review_date = key[4], key[5]
        if review_id is not None:
            ids_key = key[:5]
            if ids_key in self._ids:
                out.append(self._f("FAMA-E050", record, "SUBMID", "review id already used"))
            self._ids.add(ids_key)
        if review_date is not None:
            date_key = (*key[:4], review_date)
            if date_key in self._dates:
                out.append(self._f("FAMA-W061", record, "SUBMODDT", "second review on this date"))
            self._dates.add(date_key)
        return out


def validate_rows(
    rows: Iterable[tuple[str, Mapping[str, str | None]]],
    table: DatasetTable,
    *,
    today: dt.date,
    post_treatment_modalities: Collection[str] = (),
) -> list[Finding]:
    """Validate ``(record, values)`` pairs and return every finding, in order."""
    v = Validator(table, today=today, post_treatment_modalities=post_treatment_modalities)
    out: list[Finding] = []
    for record, values in rows:
        out += v.row(record, values)
    return out
