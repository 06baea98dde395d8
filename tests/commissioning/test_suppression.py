"""Small-count suppression: the engine on hand-built tables, and a property over random caseloads.

The property builds a random caseload, renders the whole report (HTML, CSV,
JSON) and checks that no count of 1 to threshold-1 clients appears anywhere
and that every shown count is the true one; ``test_attack.py`` attacks the
published files. The engine's own tables are checked here with the same
attacker's solver (attack.py): every withheld small cell keeps a range at
least the protection interval wide.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_csv, render_json
from fama_adapters.report.html import render_html
from fama_adapters.report.sample import JourneyShape, JourneySpec, area_caseload, journey_events
from fama_core.codes import AccompanimentOutcome, Obstacle
from fama_core.commissioning import (
    COUNT_MEASURES,
    Dimension,
    Relation,
    access_cells,
    analyse_access,
    is_small,
    journeys_from_caseload,
    relation_tiers,
    suppress,
)
from fama_core.commissioning.availability import DirectoryMeeting
from fama_core.workflow import fold

from .attack import table_ranges


# ------------------------------------------------------------------ the engine
def test_counts_below_the_threshold_are_withheld_and_zero_is_shown():
    published = {"a": 0, "b": 4, "c": 5}
    assert suppress(published, {}, [], 5) == {"b"}


def test_a_lone_withheld_part_beside_its_total_takes_the_smallest_other_part_with_it():
    published = {"total": 20, "x": 3, "y": 9, "z": 8}
    rel = Relation("total", ("x", "y", "z"))
    assert suppress(published, {}, [rel], 5) == {"x", "z"}


def test_a_small_hidden_difference_withholds_one_of_its_two_counts():
    published = {"introduced": 20, "committed": 17}
    hidden = {"never_committed": 3}
    rel = Relation("introduced", ("committed", "never_committed"))
    assert suppress(published, hidden, [rel], 5) == {"committed"}


def test_withheld_parts_adding_up_to_a_small_count_withhold_another():
    published = {"total": 12, "x": 2, "y": 1, "z": 9}
    rel = Relation("total", ("x", "y", "z"))
    # x + y = 3 would be given away by 12 - 9, so z goes too
    assert suppress(published, {}, [rel], 5) == {"x", "y", "z"}


def test_the_total_is_withheld_when_every_other_part_is_zero():
    published = {"total": 3, "x": 3, "y": 0}
    assert suppress(published, {}, [Relation("total", ("x", "y"))], 5) == {"total", "x"}


def test_secondary_suppression_carries_across_relations():
    # rows r1 = a + b, r2 = c + d; columns k1 = a + c, k2 = b + d; grand = r1 + r2
    published = {"a": 2, "b": 10, "c": 7, "d": 8, "r1": 12, "r2": 15, "k1": 9, "k2": 18, "g": 27}
    rels = [
        Relation("r1", ("a", "b")),
        Relation("r2", ("c", "d")),
        Relation("k1", ("a", "c")),
        Relation("k2", ("b", "d")),
        Relation("g", ("r1", "r2")),
    ]
    out = suppress(published, {}, rels, 5)
    assert {"a", "b", "c", "d"} <= out
    lo, hi = table_ranges(published, set(out), [(r.total, r.parts) for r in rels])["a"]
    assert hi - lo >= 5


def test_also_withholds_counts_whatever_their_value():
    assert suppress({"a": 0, "b": 7}, {}, [], 5, also=["a"]) == {"a"}


def test_threshold_one_withholds_nothing_and_zero_is_refused():
    assert suppress({"a": 1}, {}, [], 1) == frozenset()
    with pytest.raises(ValueError, match="at least 1"):
        suppress({"a": 1}, {}, [], 0)


# ------------------------------------------------------------------ the property
_ORGS = ("aa", "na", "smart")
_KWS = {"kw-1": "t1", "kw-2": "t1", "kw-3": None}

specs = st.builds(
    JourneySpec,
    shape=st.sampled_from(list(JourneyShape)),
    gap_days=st.sampled_from((7, 14)),
    keyworker=st.sampled_from(list(_KWS)),
    team=st.none(),
    start=st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    organisation=st.sampled_from(_ORGS),
    obstacles=st.lists(
        st.sampled_from([Obstacle.GETTING_THERE, Obstacle.MAKING_TIME]), max_size=2, unique=True
    ).map(tuple),
    accompaniment=st.none() | st.sampled_from(list(AccompanimentOutcome)),
)


def _caseload(drawn):
    states = []
    for n, spec in enumerate(drawn):
        spec = JourneySpec(**{**_asdict(spec), "team": _KWS[spec.keyworker]})
        states.append(fold(journey_events(f"p{n}", spec)))
    return states


def _asdict(spec):
    return {f: getattr(spec, f) for f in spec.__slots__}


class _PeopleText(HTMLParser):
    """Collects the text of every element with class ``people``."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []
        self._stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get("class") or "").split()
        self._stack.append("people" in classes)
        if "people" in classes:
            self.texts.append("")

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if any(self._stack):
            self.texts[-1] += data


def _allowed(value: int, threshold: int) -> bool:
    return not is_small(value, threshold)


MEETINGS = [DirectoryMeeting.weekly("m1", "aa", (1,), dt.time(19, 0))]


@settings(max_examples=40)
@given(drawn=st.lists(specs, min_size=0, max_size=24), threshold=st.integers(2, 6))
def test_no_count_below_the_threshold_appears_anywhere_and_none_can_be_worked_back(
    drawn, threshold
):
    caseload = _caseload(drawn)
    report = build_report(
        area="Property area",
        as_of=dt.date(2026, 6, 1),
        caseload=caseload,
        meetings=MEETINGS,
        threshold=threshold,
    )
    access = report.access
    cells = access_cells(journeys_from_caseload(caseload))
    raw = cells.published
    # Every shown count is the true count and is 0 or at least the threshold.
    withheld = set()
    for g in access.groups:
        for m in COUNT_MEASURES:
            key = (g.dimension.value, g.group, m)
            if g.counts[m] is None:
                withheld.add(key)
            else:
                assert g.counts[m] == raw[key]
                assert _allowed(g.counts[m], threshold), key
    for o in access.obstacles:
        assert o.clients is None or o.clients >= threshold
    # HTML: every people cell or label is '*', 'withheld' or an allowed number.
    parser = _PeopleText()
    parser.feed(render_html(report))
    for text in parser.texts:
        text = text.strip()
        assert text in ("*", "withheld") or _allowed(int(text), threshold), text
    # CSV: every count of clients is empty (withheld) or allowed.
    figures = render_csv(report)["figures.csv"]
    for row in csv.DictReader(io.StringIO(figures)):
        if row["unit"] == "clients":
            assert row["value"] == "" or _allowed(int(row["value"]), threshold), row
    # JSON: the same.
    data = json.loads(render_json(report))
    for g in data["access"]["groups"]:
        for v in g["counts"].values():
            assert v is None or _allowed(v, threshold)
    for o in data["access"]["obstacles"]:
        assert o["clients"] is None or o["clients"] >= threshold


def test_the_html_states_the_threshold_in_words_only():
    caseload = _caseload([JourneySpec(shape=JourneyShape.INTRODUCED)])
    report = build_report(area="x", as_of=dt.date(2026, 6, 1), caseload=caseload, meetings=None)
    html = render_html(report)
    assert report.access.area.counts["introduced"] is None
    assert not re.search(r'class="n people"[^>]*>1<', html)


TABLES = st.lists(
    st.lists(st.integers(0, 12), min_size=2, max_size=4), min_size=2, max_size=4
).filter(lambda rows: len({len(r) for r in rows}) == 1)
"""Random tables of counts, every row as long as the others."""


@settings(max_examples=80)
@given(TABLES, st.integers(2, 6))
def test_a_table_with_margins_never_gives_a_withheld_cell_away(rows, threshold):
    published, rels, _totals = _margins(rows)
    out = suppress(published, {}, rels, threshold)
    assert all(k in out for k, v in published.items() if is_small(v, threshold))
    ranges = table_ranges(published, set(out), [(r.total, r.parts) for r in rels])
    for key, (lo, hi) in ranges.items():
        if is_small(published[key], threshold):
            assert hi - lo >= threshold, (key, lo, hi)


# ------------------------------------------------------------------ which cells are chosen
def _margins(rows):
    """A table with row and column totals and a grand total, as a reader would add it up."""
    published, rels = {}, []
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            published[(i, j)] = v
        published[("row", i)] = sum(row)
        rels.append(Relation(("row", i), tuple((i, j) for j in range(len(row)))))
    for j in range(len(rows[0])):
        published[("col", j)] = sum(r[j] for r in rows)
        rels.append(Relation(("col", j), tuple((i, j) for i in range(len(rows)))))
    published["all"] = sum(map(sum, rows))
    rels.append(Relation("all", tuple(("row", i) for i in range(len(rows)))))
    rels.append(Relation("all", tuple(("col", j) for j in range(len(rows[0])))))
    totals = {k for k in published if not (isinstance(k[0], int) and isinstance(k[1], int))}
    return published, rels, totals


def _protected(published, withheld, rels, threshold):
    """Every small cell's range, by the attacker's own solver, is at least the threshold wide."""
    ranges = table_ranges(published, set(withheld), [(r.total, r.parts) for r in rels])
    return all(
        hi - lo >= threshold
        for key, (lo, hi) in ranges.items()
        if is_small(published[key], threshold)
    )


def test_relation_tiers_put_a_total_above_its_highest_part():
    _published, rels, _totals = _margins([[1, 2], [3, 4]])
    tiers = relation_tiers(rels)
    assert tiers[("row", 0)] == tiers[("col", 1)] == 1
    assert tiers["all"] == 2
    assert tiers.get((0, 0), 0) == 0  # an inner cell totals nothing


def test_inner_cells_protect_a_small_cell_rather_than_the_margins():
    # The small cell (0, 0) = 2 needs three more cells withheld; inner cells can do it,
    # so no row, column or grand total is withheld.
    published, rels, totals = _margins([[2, 9, 9], [9, 9, 9], [9, 9, 9]])
    out = suppress(published, {}, rels, 5)
    assert not out & totals
    assert _protected(published, out, rels, 5)


def test_a_total_is_withheld_when_no_inner_choice_protects():
    # (0, 0) = 3 beside a zero in its row: only the row total can hide it from the column.
    published, rels, _totals = _margins([[3, 0], [9, 9]])
    out = suppress(published, {}, rels, 5)
    assert _protected(published, out, rels, 5)


def test_the_demo_areas_engaged_and_closed_figures_are_published():
    # The demo area (``fama demo``) used to withhold the area-wide engaged, closed and
    # accompaniment figures when a keyworker's or team's cells protect the same counts.
    caseload = [fold(e) for e in area_caseload(240, seed=2026).values()]
    report = analyse_access(journeys_from_caseload(caseload))
    area = next(g for g in report.groups if g.dimension is Dimension.AREA)
    assert area.counts["engaged"] is not None
    assert area.counts["closed"] is not None
    assert all(v is not None for v in area.counts.values())


@settings(max_examples=60, deadline=None)
@given(TABLES, st.integers(2, 6))
def test_a_total_is_withheld_only_when_no_inner_complement_would_do(rows, threshold):
    published, rels, totals = _margins(rows)
    out = suppress(published, {}, rels, threshold)
    assert _protected(published, out, rels, threshold)
    inner = set(published) - totals
    for total in out & totals:
        if is_small(published[total], threshold):
            continue  # withheld for itself
        # Showing it while withholding every inner cell must leave some small cell exposed.
        assert not _protected(published, (out - {total}) | inner, rels, threshold), total


@given(st.lists(st.tuples(st.integers(0, 9), st.lists(st.integers(0, 9), max_size=4)), max_size=12))
def test_a_total_sits_above_every_part_when_the_relations_have_no_cycle(pairs):
    # Only relations whose parts are numbered below their total: no cycle is possible.
    rels = [Relation(t, tuple(p for p in parts if p < t)) for t, parts in pairs]
    tiers = relation_tiers(rels)
    for rel in rels:
        for part in rel.parts:
            assert tiers.get(rel.total, 0) > tiers.get(part, 0)


def test_relation_tiers_end_on_a_cycle():
    tiers = relation_tiers([Relation("a", ("b",)), Relation("b", ("a",))])
    assert set(tiers) == {"a", "b"}
