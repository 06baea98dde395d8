"""NDTMS dataset versions as packaged, cited data: fields, codes, file layout, consent.

Each adult core dataset version (K, M, N, O, P) is one JSON file in
``fama_core/ndtms/data/``. Every field and code list names its sources and
says whether it is ``provisional`` (not confirmed against the published
business definitions). A correction is an edit of that file alone: the code
reads field names, flag values, the date format, the null value and the
consent rule from the table, never from constants of its own.

The validation rule codes live beside them in ``validation_rules.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache, lru_cache
from importlib import resources
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from fama_core.codes import VolunteerKind
from fama_core.errors import CatalogueError
from fama_core.models import FamaModel

__all__ = [
    "DATASET_VERSIONS",
    "CodeList",
    "ConsentRule",
    "DatasetTable",
    "FieldSpec",
    "FileLayout",
    "FlagValue",
    "CURRENT_VERSION",
    "InterventionChoice",
    "LayoutStatus",
    "NdtmsRules",
    "PeerSupportRule",
    "RuleSpec",
    "Source",
    "load_dataset",
    "load_rules",
    "superseded",
]

DATASET_VERSIONS: tuple[str, ...] = ("K", "M", "N", "O", "P", "R")
"""The dataset versions fama ships a table for, oldest first."""

CURRENT_VERSION = "R"
"""The version in force now (since 1 April 2024): the commands' default."""

FieldType = Literal["text", "date", "code", "flag", "id"]
Required = Literal["always", "consent", "review", "never"]


class Source(FamaModel):
    """A document or implementation a table entry is taken from."""

    title: str
    where: str
    kind: str


class FieldSpec(FamaModel):
    """One column of the extract."""

    name: str = Field(pattern=r"^[A-Z0-9_]{2,16}$", description="Column header, e.g. RECMAID.")
    group: Literal[
        "client",
        "episode",
        "intervention",
        "review",
        "pharmacological",
        "psychosocial",
        "recovery_support",
        "other",
    ]
    meaning: str
    type: FieldType
    fama_fills: str | None = Field(
        default=None, description="The attribute fama derives it from; null: fama writes NA."
    )
    required: Required = "never"
    sources: tuple[str, ...]
    provisional: bool
    note: str | None = None


class FileLayout(FamaModel):
    """How the extract file is written."""

    delimiter: str = Field(min_length=1, max_length=1)
    quote_all: bool
    header: bool
    null_value: str
    withheld_value: str
    line_terminator: Literal["\n", "\r\n"]
    encoding: str
    date_format: str
    name_pattern: str | None = Field(
        default=None,
        description="File name, e.g. {AGNCY}-{FROM:%Y%m%d}-{TO:%Y%m%d}-TREAT-IN-{VERSION}.csv",
    )
    sources: tuple[str, ...]
    provisional: tuple[str, ...] = ()
    note: str | None = None


class LayoutStatus(FamaModel):
    """How far fama's column layout of a version can be trusted, said plainly."""

    status: Literal["known", "incomplete"] = Field(
        description="known: the columns of a real extract of this version; incomplete: not the "
        "official layout (items missing or unplaced)."
    )
    note: str
    sources: tuple[str, ...]


class ConsentRule(FamaModel):
    """What may be submitted without consent."""

    field: str
    given: str
    refused: str
    kept_without_consent: tuple[str, ...]
    sources: tuple[str, ...]
    provisional: bool


class FlagValue(FamaModel):
    """A value a sub-intervention flag may take."""

    code: str
    meaning: str


class FlagValues(FamaModel):
    """The values of sub-intervention flags."""

    values: tuple[FlagValue, ...]
    sources: tuple[str, ...]
    provisional: bool


class CodeList(FamaModel):
    """A code list; empty ``values`` means not known (nothing is checked against it)."""

    values: tuple[str, ...] = ()
    meanings: dict[str, str] = Field(default_factory=dict)
    sources: tuple[str, ...]
    provisional: bool
    note: str | None = None


class InterventionChoice(FamaModel):
    """Which intervention a FAMA activity is recorded on: one, never every open one.

    Among the interventions open on the activity's day (a post-treatment one
    after discharge), the first whose ``MODAL`` comes earliest in
    ``prefer_modalities``; codes not listed come after every listed one; ties
    go to the earliest started, then the lowest ``MODID``.
    """

    prefer_modalities: tuple[str, ...] = Field(
        description="MODAL codes, most preferred first (the host's codes)."
    )
    then: Literal["earliest_started"] = Field(
        default="earliest_started", description="Tie-break after the modality order."
    )
    sources: tuple[str, ...] = ()
    provisional: bool = True
    note: str | None = None

    def rank(self, modality: str) -> int:
        """The position of ``modality`` in the order (unlisted: after every listed code)."""
        try:
            return self.prefer_modalities.index(modality)
        except ValueError:
            return len(self.prefer_modalities)

    def describe(self) -> str:
        """The rule in words, for ``--explain`` and the docs."""
        order = ", ".join(self.prefer_modalities) or "(none)"
        return f"modality order {order}, then earliest started, then lowest MODID"


class PeerSupportRule(FamaModel):
    """Which accompanied meetings are NDTMS peer support (``RECPEER``).

    An accompaniment that took place counts as peer support when its
    volunteer's kind is in ``volunteer_kinds`` or its volunteer is listed in
    ``volunteer_ids`` (the host's keys of volunteers who act for a recovery
    community organisation); any other accompaniment counts only as
    facilitation (``RECMAID``) on its meeting date.
    """

    volunteer_kinds: tuple[VolunteerKind, ...] = Field(
        description="Volunteer kinds that count (a misspelt kind is refused, not ignored)."
    )
    volunteer_ids: tuple[str, ...] = Field(
        default=(), description="The host's keys of volunteers that count, whatever their kind."
    )
    sources: tuple[str, ...] = ()
    provisional: bool = True
    note: str | None = None

    def counts(self, volunteer_kind: str, volunteer_id: str) -> bool:
        """Whether an accompaniment by this volunteer is peer support."""
        return volunteer_kind in self.volunteer_kinds or volunteer_id in self.volunteer_ids


class NdtmsRules(FamaModel):
    """A provider's override of a dataset table's derivation rules (``--rules FILE``).

    Each rule left out keeps the table's. The JSON Schema is
    ``schemas/ndtms-rules.schema.json``.
    """

    intervention_choice: InterventionChoice | None = None
    peer_support: PeerSupportRule | None = None


class DatasetTable(FamaModel):
    """One NDTMS dataset version, as fama knows it."""

    version: str
    title: str
    year: str
    effective_from: str | None = Field(default=None, description="Date the version took effect.")
    version_sources: tuple[str, ...] = Field(
        default=(), description="Where the version and its date are attested."
    )
    note: str | None = None
    provisional: bool = Field(description="True when no field table of the version was confirmed.")
    sources: dict[str, Source]
    file: FileLayout
    layout: LayoutStatus
    consent: ConsentRule
    flag_values: FlagValues
    codes: dict[str, CodeList]
    intervention_choice: InterventionChoice
    peer_support: PeerSupportRule
    fields: tuple[FieldSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> DatasetTable:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("a field is listed twice")
        cited = {s for f in self.fields for s in f.sources}
        cited |= set(self.file.sources) | set(self.consent.sources)
        cited |= set(self.flag_values.sources) | {s for c in self.codes.values() for s in c.sources}
        cited |= set(self.version_sources)
        cited |= set(self.intervention_choice.sources) | set(self.peer_support.sources)
        cited |= set(self.layout.sources)
        unknown = cited - set(self.sources)
        if unknown:
            raise ValueError("cites unknown sources: " + ", ".join(sorted(unknown)))
        for name in (self.consent.field, *self.consent.kept_without_consent):
            if name not in names:
                raise ValueError(f"consent rule names {name}, which is not a field")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Column headers in file order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The field named ``name`` (``KeyError`` when the version has none)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def fields_in(self, group: str) -> tuple[str, ...]:
        """Names of the fields of ``group`` (``recovery_support`` …)."""
        return tuple(f.name for f in self.fields if f.group == group)

    @property
    def flag_codes(self) -> frozenset[str]:
        """The valid flag values (``Y``, ``N`` …)."""
        return frozenset(v.code for v in self.flag_values.values)

    @property
    def yes(self) -> str:
        """The flag value meaning *delivered* (the first listed)."""
        return self.flag_values.values[0].code

    @property
    def no(self) -> str:
        """The flag value meaning *not delivered* (the second listed)."""
        return self.flag_values.values[1].code

    def file_name(self, agency: str, start: dt.date, end: dt.date) -> str:
        """The extract's file name for ``agency`` and the period (provisional pattern)."""
        pattern = self.file.name_pattern or "{AGNCY}-{FROM:%Y%m%d}-{TO:%Y%m%d}-{VERSION}.csv"
        return pattern.format(AGNCY=agency, FROM=start, TO=end, VERSION=self.version)

    def format_date(self, day: dt.date) -> str:
        """``day`` in the dataset's date format (years always four digits)."""
        return _format_date(self.file.date_format, day)

    def parse_date(self, text: str) -> dt.date | None:
        """A date in the dataset's format, or ``None`` when ``text`` is not one."""
        if len(text) > 32:  # no date is this long: not read, and not kept in the cache
            return None
        return _parse_date(self.file.date_format, text)

    def provisional_items(self) -> list[str]:
        """Everything in this version not confirmed, for reports and docs."""
        out = [f"field {f.name}" for f in self.fields if f.provisional]
        if self.layout.status != "known":
            out.append("layout (incomplete)")
        out += [f"file {item}" for item in self.file.provisional]
        if self.consent.provisional:
            out.append("consent rule")
        if self.flag_values.provisional:
            out.append("flag values")
        out += [f"codes {name}" for name, c in self.codes.items() if c.provisional]
        if self.intervention_choice.provisional:
            out.append("intervention choice rule")
        if self.peer_support.provisional:
            out.append("peer support rule")
        return out

    @property
    def layout_label(self) -> str:
        """The built-in layout, labelled honestly (for the commands' output)."""
        n = len(self.fields)
        if self.layout.status == "known":
            return f"built-in dataset {self.version} layout ({n} columns, as known)"
        return (
            f"built-in dataset {self.version} layout "
            f"({n} columns; incomplete, not the official one)"
        )

    def with_rules(self, rules: NdtmsRules | None) -> DatasetTable:
        """This table with a provider's rules in place of its own (``None``: unchanged)."""
        if rules is None:
            return self
        update: dict[str, object] = {}
        if rules.intervention_choice is not None:
            update["intervention_choice"] = rules.intervention_choice
        if rules.peer_support is not None:
            update["peer_support"] = rules.peer_support
        return self.model_copy(update=update) if update else self


class RuleSpec(FamaModel):
    """A validation rule: fama's code, severity and the national code once known."""

    code: str = Field(pattern=r"^FAMA-[EW]\d{3}$")
    severity: Literal["error", "warning"]
    title: str
    detail: str
    source: str
    national_code: str | None = None


@lru_cache(maxsize=8192)  # bounded: an export's dates repeat, its memory must not grow
def _format_date(fmt: str, day: dt.date) -> str:
    return day.strftime(fmt.replace("%Y", f"{day.year:04d}"))


@lru_cache(maxsize=8192)
def _parse_date(fmt: str, text: str) -> dt.date | None:
    if len(text) > 32:
        return None
    try:
        day = dt.datetime.strptime(text, fmt).date()
    except ValueError:
        return None
    # strptime accepts unpadded fields ("2026-1-5"): only the dataset's own form is a date.
    return day if _format_date(fmt, day) == text else None


def _read(name: str) -> object:
    text = resources.files("fama_core.ndtms").joinpath("data", name).read_text("utf-8")
    return json.loads(text)


@cache
def load_dataset(version: str) -> DatasetTable:
    """The packaged table of dataset ``version`` (``K`` … ``P``).

    Raises :class:`~fama_core.errors.CatalogueError` for an unknown version or
    a table that does not check out (unknown source, duplicate field).
    """
    key = version.strip().upper()
    if key not in DATASET_VERSIONS:
        raise CatalogueError(
            entry=f"dataset {version!r}", reason="unknown; choose " + ", ".join(DATASET_VERSIONS)
        )
    try:
        table = DatasetTable.model_validate(_read(f"dataset_{key}.json"))
    except ValidationError as exc:
        raise CatalogueError(entry=f"dataset_{key}.json", reason=str(exc)) from None
    if table.version != key:
        raise CatalogueError(entry=f"dataset_{key}.json", reason="names another version")
    return table


def superseded(version: str) -> tuple[str, dt.date] | None:
    """``(the next version, the date)`` by which ``version`` was superseded, when known.

    The date is the earliest known effective date of any later version (a later
    version whose date is not known is skipped: ``K`` is superseded by 1 April
    2017 at the latest, when N took effect). ``None`` for the newest version.
    """
    key = version.strip().upper()
    later = DATASET_VERSIONS[DATASET_VERSIONS.index(key) + 1 :] if key in DATASET_VERSIONS else ()
    for nxt in later:
        effective = load_dataset(nxt).effective_from
        if effective:
            return nxt, dt.date.fromisoformat(effective)
    return None


@cache
def load_rules() -> dict[str, RuleSpec]:
    """Every validation rule by code."""
    raw = _read("validation_rules.json")
    assert isinstance(raw, dict)
    rules = [RuleSpec.model_validate(r) for r in raw["rules"]]
    return {r.code: r for r in rules}
