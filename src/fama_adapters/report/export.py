"""The report's figures as CSV and JSON files, and the writer of the whole report folder.

The CSV files are tidy (one figure a row) so a commissioner's analyst can pivot
them; a withheld count has an empty ``value`` and ``status`` ``withheld``.
``report.json`` is the :class:`~fama_adapters.report.bundle.CommissioningReport`
itself. All are built from published figures only.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from fama_adapters.report.bundle import CommissioningReport
from fama_adapters.report.html import render_html
from fama_adapters.spreadsheet import people_csv_writer
from fama_core.commissioning import (
    COMPLETENESS_MEASURES,
    COUNT_MEASURES,
    MEDIAN_MEASURES,
    WEEKDAYS,
)

__all__ = ["REPORT_FILES", "render_csv", "render_json", "write_report"]

REPORT_FILES: tuple[str, ...] = (
    "report.html",
    "report.json",
    "figures.csv",
    "gaps.csv",
    "self_assessment.csv",
    "action_plan.csv",
)
"""The files :func:`write_report` writes."""


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = people_csv_writer(buffer, lineterminator="\n")  # formulas neutralised
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _figures(report: CommissioningReport) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    av = report.availability
    if av is not None:
        for c in av.grid:
            rows.append(
                ("availability_grid", c.kind.value, WEEKDAYS[c.weekday - 1], c.band.value)
                + (c.meetings, "meetings", "shown")
            )
        for o in av.organisations:
            for measure in ("in_person", "online", "women_only", "weekdays_covered"):
                unit = "weekdays" if measure == "weekdays_covered" else "meetings"
                rows.append(
                    ("availability_organisation", "organisation", o.code, measure)
                    + (getattr(o, measure), unit, "shown")
                )
    for g in report.access.groups:
        for m in COUNT_MEASURES:
            v = g.counts[m]
            rows.append(
                ("access", g.dimension.value, g.group, m, v, "clients")
                + ("withheld" if v is None else "shown",)
            )
        for m in MEDIAN_MEASURES:
            d = g.medians[m]
            rows.append(
                ("access_median", g.dimension.value, g.group, m, d, "days")
                + ("withheld" if d is None else "shown",)
            )
            q = g.quartiles.get(m)
            for name, value in (("p25", q[0] if q else None), ("p75", q[1] if q else None)):
                rows.append(
                    ("access_percentile", g.dimension.value, g.group, f"{m}_{name}", value, "days")
                    + ("withheld" if value is None else "shown",)
                )
    if report.completeness is not None:
        rec = report.completeness
        for row, dimension in ((rec.overall, "area"), *((k, "keyworker") for k in rec.keyworkers)):
            for m in COMPLETENESS_MEASURES:
                v = row.counts[m]
                rows.append(
                    ("ndtms_completeness", dimension, row.keyworker, m, v, "clients")
                    + ("withheld" if v is None else "shown",)
                )
    for ob in report.access.obstacles:
        rows.append(
            ("obstacles", "area", "all", ob.obstacle.value, ob.clients, "clients")
            + ("withheld" if ob.clients is None else "shown",)
        )
    return rows


def _gaps(report: CommissioningReport) -> list[tuple[object, ...]]:
    av = report.availability
    if av is None:
        return []
    rows: list[tuple[object, ...]] = [
        ("no_local_meeting", code, "", "") for code in av.no_local_meeting
    ]
    rows += [("online_only", code, "", "") for code in av.online_only]
    rows += [
        ("no_meeting_" + g.gap.value, g.kind.value, WEEKDAYS[g.weekday - 1], "")
        for g in av.time_gaps
    ]
    rows += [
        (
            "not_verified_recently",
            s.organisation,
            "",
            f"{s.meeting_id} last verified "
            + (s.last_verified.isoformat() if s.last_verified else "never"),
        )
        for s in av.stale
    ]
    return rows


def render_csv(report: CommissioningReport) -> dict[str, str]:
    """Each CSV file of the report by name."""
    sa = report.assessment
    return {
        "figures.csv": _csv(
            ("section", "dimension", "group", "measure", "value", "unit", "status"),
            _figures(report),
        ),
        "gaps.csv": _csv(("gap", "subject", "weekday", "detail"), _gaps(report)),
        "self_assessment.csv": _csv(
            (
                "question",
                "theme",
                "answer",
                "source",
                "evidence",
                "heading",
                "question_source",
                "local_addition",
            ),
            (
                (
                    i.question.id,
                    i.question.theme,
                    i.answer.value,
                    i.source.value,
                    i.evidence,
                    i.question.heading.value,
                    i.question.source,
                    "yes" if i.question.local_addition else "no",
                )
                for i in sa.items
            ),
        ),
        "action_plan.csv": _csv(
            ("id", "gap", "action", "lead", "due", "status", "overdue"),
            (
                (a.id, a.gap, a.action, a.lead, a.due, a.status.value, "yes" if a.overdue else "no")
                for a in sa.plan
            ),
        ),
    }


def render_json(report: CommissioningReport) -> str:
    """The whole report as indented JSON."""
    return report.model_dump_json(indent=2) + "\n"


def write_report(report: CommissioningReport, folder: Path) -> list[Path]:
    """Write every file of :data:`REPORT_FILES` into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {"report.html": render_html(report), "report.json": render_json(report)}
    texts.update(render_csv(report))
    paths = []
    for name in REPORT_FILES:
        path = folder / name
        path.write_text(texts[name], "utf-8")
        paths.append(path)
    return paths
