"""The HTML page, figures.csv and report.json publish the same cells (C35).

A reader holding two forms of one report must learn nothing more than from
either: every count, median and percentile withheld in one is withheld in the
others, and every shown one has the same value. The HTTP JSON is the same
``CommissioningReport`` (``tests/serve/test_report_forms_agree.py``).
"""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_csv, render_json
from fama_adapters.report.html import render_html
from fama_adapters.report.sample import area_caseload
from fama_core.commissioning import Dimension
from fama_core.workflow import fold

from .test_attack import AS_OF

_TABLES = {  # table id -> the dimensions of its rows, in order
    "funnel-table": (Dimension.AREA,),
    "accompaniment": (Dimension.AREA, Dimension.ORGANISATION),
    "by-organisation": (Dimension.ORGANISATION,),
    "by-keyworker": (Dimension.KEYWORKER,),
    "by-team": (Dimension.TEAM,),
}


class _Tables(HTMLParser):
    """Each table's rows as lists of (data-measure or None, text) cells, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str | None, str]]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._measure: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._table is not None:
            self._cell, self._measure = [], a.get("data-measure")

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td" and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append((self._measure, "".join(self._cell).strip()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module", params=[5, 3])
def report(request):
    caseload = [fold(e) for e in area_caseload(120, seed=7).values()]
    return build_report(
        area="Forms", as_of=AS_OF, caseload=caseload, meetings=None, threshold=request.param
    )


def test_html_csv_and_json_publish_the_same_counts(report):
    data = json.loads(render_json(report))["access"]
    from_json = {
        (g["dimension"], g["group"], m): v for g in data["groups"] for m, v in g["counts"].items()
    }
    from_csv = {
        (r["dimension"], r["group"], r["measure"]): (None if r["value"] == "" else int(r["value"]))
        for r in csv.DictReader(io.StringIO(render_csv(report)["figures.csv"]))
        if r["section"] == "access"
    }
    assert from_csv == from_json
    parser = _Tables()
    parser.feed(render_html(report))
    checked = 0
    for table, dims in _TABLES.items():
        groups = [g for d in dims for g in report.access.groups_of(d)]
        rows = [r for r in parser.tables[table] if r]
        assert len(rows) == len(groups), table
        for group, row in zip(groups, rows, strict=True):
            for measure, text in row:
                value = from_json[(group.dimension.value, group.group, measure)]
                assert text == ("*" if value is None else str(value)), (table, group.group)
                checked += 1
    assert checked > 100
    assert report.access.withheld == sum(v is None for v in from_json.values()) + sum(
        o.clients is None for o in report.access.obstacles
    )


def test_html_csv_and_json_publish_the_same_medians_and_obstacles(report):
    rows = list(csv.DictReader(io.StringIO(render_csv(report)["figures.csv"])))
    medians = {
        (r["dimension"], r["group"], r["measure"]): r["value"]
        for r in rows
        if r["section"] == "access_median"
    }
    for g in report.access.groups:
        for m, v in g.medians.items():
            assert medians[(g.dimension.value, g.group, m)] == ("" if v is None else str(v))
    parser = _Tables()
    parser.feed(render_html(report))
    shown = [
        [text for _m, text in row]
        for row in parser.tables["medians"]
        if row  # the header row has no td
    ]
    groups = [report.access.area, *report.access.groups_of(Dimension.ORGANISATION)]
    for group, cells in zip(groups, shown, strict=True):
        for m, text in zip(group.medians, cells, strict=True):
            assert (text == "–") == (group.medians[m] is None), (group.group, m)
    obstacles = {r["measure"]: r["value"] for r in rows if r["section"] == "obstacles"}
    assert obstacles == {
        o.obstacle.value: ("" if o.clients is None else str(o.clients))
        for o in report.access.obstacles
    }
    html_obstacles = [[t for _m, t in r] for r in parser.tables.get("obstacles", []) if r]
    assert [c[0] for c in html_obstacles] == [
        "*" if o.clients is None else str(o.clients) for o in report.access.obstacles
    ]


def test_html_csv_and_json_publish_the_same_percentiles(report):
    """Decision E5: percentiles withheld in one form are withheld in all, shown ones agree."""
    from fama_core.commissioning import percentile_clients

    rows = list(csv.DictReader(io.StringIO(render_csv(report)["figures.csv"])))
    from_csv = {
        (r["dimension"], r["group"], r["measure"]): r["value"]
        for r in rows
        if r["section"] == "access_percentile"
    }
    data = json.loads(render_json(report))["access"]
    shown = withheld = 0
    for g in data["groups"]:
        for m, q in g["quartiles"].items():
            low = from_csv[(g["dimension"], g["group"], f"{m}_p25")]
            high = from_csv[(g["dimension"], g["group"], f"{m}_p75")]
            if q is None:
                assert (low, high) == ("", ""), (g["group"], m)
                withheld += g["medians"][m] is not None
            else:
                assert (float(low), float(high)) == tuple(q), (g["group"], m)
                shown += 1
    assert shown and withheld  # both cases occur in this caseload
    parser = _Tables()
    parser.feed(render_html(report))
    cells = [[text for _m, text in row] for row in parser.tables["medians"] if row]
    groups = [report.access.area, *report.access.groups_of(Dimension.ORGANISATION)]
    for group, texts in zip(groups, cells, strict=True):
        for m, text in zip(group.medians, texts, strict=True):
            median, q = group.medians[m], group.quartiles[m]
            if median is None:
                assert text == "–"
            elif q is None:
                assert text == f"{median:g} (–)", (group.group, m)
            else:
                assert text == f"{median:g} ({q[0]:g}–{q[1]:g})", (group.group, m)
    page = render_html(report)
    threshold = report.access.threshold
    assert f"percentiles only for groups of at least {percentile_clients(threshold)}" in page
