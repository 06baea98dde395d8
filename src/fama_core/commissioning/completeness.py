"""NDTMS recording per keyworker, for the commissioners' report: counts of clients, suppressed.

The commissioners' guide asks that recovery support be "routinely and robustly
completed" in NDTMS and that commissioners use "audit teams to ensure the data
is a true reflection of activity". :func:`fama_core.ndtms.ndtms_completeness`
counts every client in treatment (from the host's NDTMS contexts), including
clients fama holds no FAMA record for, under one keyworker each. This module
publishes those counts per keyworker and overall with the report's small-count
suppression: they are counts of people, and add up.

Relations a reader knows (and suppression protects against): in every row,
clients in treatment = facilitation recorded + no facilitation in treatment;
clients with no FAMA record are among those with no facilitation; every
measure of the keyworkers adds up to the overall row.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import Field

from fama_core.commissioning.suppression import (
    DEFAULT_THRESHOLD,
    Relation,
    check_relations,
    suppress,
)
from fama_core.errors import FieldProblem, InvalidRecord
from fama_core.models import FamaModel

__all__ = [
    "COMPLETENESS_MEASURES",
    "OVERALL",
    "CompletenessFigures",
    "CompletenessRow",
    "analyse_completeness",
]

COMPLETENESS_MEASURES: tuple[str, ...] = (
    "clients_in_treatment",
    "facilitation_recorded",
    "no_facilitation_in_treatment",
    "no_fama_record",
    "reviews_missing",
)
"""The counts published per keyworker (names as ``fama ndtms completeness`` writes them)."""

OVERALL = "all keyworkers"
"""The label of the overall row."""

_Key = tuple[str, str]


class CompletenessRow(FamaModel):
    """One keyworker's NDTMS recording (or everyone's); ``None`` means withheld."""

    keyworker: str
    counts: dict[str, int | None]
    recorded_percent: float | None = Field(
        description="Facilitation recorded as a share of clients in treatment; None when "
        "either count is withheld or nobody is in treatment."
    )


class CompletenessFigures(FamaModel):
    """NDTMS recording per keyworker, safe to publish."""

    threshold: int
    protection: int
    overall: CompletenessRow
    keyworkers: tuple[CompletenessRow, ...]
    withheld: int


def _counts(data: object, where: str) -> dict[str, int]:
    if not isinstance(data, Mapping):
        raise InvalidRecord(
            record=where,
            kind="NDTMS completeness",
            problems=[FieldProblem("", "type", "must be an object of counts")],
        )
    out: dict[str, int] = {}
    for m in COMPLETENESS_MEASURES:
        value = data.get(m)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidRecord(
                record=where,
                kind="NDTMS completeness",
                problems=[FieldProblem(m, "missing", "needs a whole number of clients")],
            )
        out[m] = value
    return out


def analyse_completeness(
    data: object,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    protection: int | None = None,
    record: str = "completeness",
) -> CompletenessFigures:
    """Publishable per-keyworker NDTMS recording from ``fama ndtms completeness --json``.

    ``data`` is that JSON decoded (``overall`` and ``by_keyworker``). Counts
    that do not add up (a file edited by hand, or from another run) are an
    :class:`~fama_core.errors.InvalidRecord` naming the field, never a value.
    """
    if not isinstance(data, Mapping):
        raise InvalidRecord(
            record=record,
            kind="NDTMS completeness",
            problems=[FieldProblem("", "type", "must be a JSON object")],
        )
    overall = _counts(data.get("overall"), f"{record}: overall")
    by_kw_raw = data.get("by_keyworker") or {}
    if not isinstance(by_kw_raw, Mapping):
        raise InvalidRecord(
            record=record,
            kind="NDTMS completeness",
            problems=[FieldProblem("by_keyworker", "type", "must be an object of keyworkers")],
        )
    by_kw = {str(k): _counts(v, f"{record}: by_keyworker") for k, v in by_kw_raw.items()}
    published: dict[_Key, int] = {(OVERALL, m): v for m, v in overall.items()}
    for kw, counts in by_kw.items():
        published.update({(kw, m): v for m, v in counts.items()})
    hidden: dict[_Key, int] = {}
    relations: list[Relation[_Key]] = []
    rows = [OVERALL, *sorted(by_kw)]
    for row in rows:
        relations.append(
            Relation(
                (row, "clients_in_treatment"),
                ((row, "facilitation_recorded"), (row, "no_facilitation_in_treatment")),
            )
        )
        hidden[(row, "fama_record_not_facilitated")] = (
            published[(row, "no_facilitation_in_treatment")] - published[(row, "no_fama_record")]
        )
        relations.append(
            Relation(
                (row, "no_facilitation_in_treatment"),
                ((row, "no_fama_record"), (row, "fama_record_not_facilitated")),
            )
        )
    if by_kw:
        for m in (*COMPLETENESS_MEASURES, "fama_record_not_facilitated"):
            relations.append(Relation((OVERALL, m), tuple((kw, m) for kw in sorted(by_kw))))
    values = {**published, **hidden}
    broken = check_relations(values, relations)
    if broken or any(v < 0 for v in hidden.values()):
        raise InvalidRecord(
            record=record,
            kind="NDTMS completeness",
            problems=[
                FieldProblem(
                    "by_keyworker",
                    "inconsistent",
                    "the counts do not add up (keyworkers to overall, or in treatment to "
                    "recorded plus not recorded)",
                )
            ],
        )
    tiny = [
        (row, m)
        for row in rows
        if 0 < published[(row, "clients_in_treatment")] < threshold
        for m in COMPLETENESS_MEASURES
    ]
    withheld = suppress(published, hidden, relations, threshold, also=tiny, protection=protection)

    def figure(row: str) -> CompletenessRow:
        counts = {
            m: None if (row, m) in withheld else published[(row, m)] for m in COMPLETENESS_MEASURES
        }
        treated, recorded = counts["clients_in_treatment"], counts["facilitation_recorded"]
        share = 100.0 * recorded / treated if treated and recorded is not None else None
        return CompletenessRow(keyworker=row, counts=counts, recorded_percent=share)

    return CompletenessFigures(
        threshold=threshold,
        protection=threshold if protection is None else protection,
        overall=figure(OVERALL),
        keyworkers=tuple(figure(kw) for kw in sorted(by_kw)),
        withheld=len(withheld),
    )
