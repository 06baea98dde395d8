"""The suppression engine against its reference copy: the same cells withheld, always.

``suppression_reference.py`` is the suppression module as it was; every
programme here is solved by both, and the withheld sets (or the refusal,
``Unprotectable``) must be identical. The programmes are the ones the report
really builds: every call ``analyse_access`` makes is answered by both (the
report is then built from today's answer), over random caseloads of one to
three reports each knowing the ones before it (keyworkers in several teams,
thresholds 2 to 6), the attack tests' hand-made cases and the demo area; and
over hand-built tables with fixed counts and floors, called directly. The
larger three-report case is ``benchmarks/report_protected.py``'s, which asserts
the same equality. ``--hypothesis-seed`` and a larger ``max_examples`` run it
wider before a change to the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.report.bundle import build_report
from fama_adapters.report.sample import JourneyShape, JourneySpec, area_caseload, journey_events
from fama_core.codes import AccompanimentOutcome, Obstacle
from fama_core.commissioning import Relation, access, suppression
from fama_core.errors import InputUnreadable
from fama_core.workflow import fold

from . import suppression_reference as reference

AS_OF = dt.date(2026, 6, 1)


def _both(*args: Any, **kwargs: Any) -> frozenset[Any]:
    """Today's answer, after checking that the reference gives the same (or refuses too)."""
    try:
        old: object = reference.suppress(*args, **kwargs)
    except reference.Unprotectable:
        old = "refused"
    try:
        new = suppression.suppress(*args, **kwargs)
    except suppression.Unprotectable:
        assert old == "refused", "today refuses where the reference withheld cells"
        raise
    assert old != "refused", "the reference refuses where today withholds cells"
    assert new == old, f"withheld differently: {sorted(map(repr, new ^ old))}"  # type: ignore[operator]
    CALLS.append(len(new))
    return new


CALLS: list[int] = []
"""How many programmes were compared (a test that compared none proves nothing)."""


@contextmanager
def _compared() -> Iterator[None]:
    real = access.suppress
    access.suppress = _both  # type: ignore[assignment]
    before = len(CALLS)
    try:
        yield
    finally:
        access.suppress = real
    assert len(CALLS) > before, "no programme was compared"


def _series(caseload, periods, threshold=5):
    """Reports of ``periods`` in order, each knowing the ones published before it."""
    published = []
    for start, end in periods:
        try:
            report = build_report(
                area="Compared area",
                as_of=AS_OF,
                caseload=caseload,
                meetings=None,
                threshold=threshold,
                period_start=start,
                period_end=end,
                earlier=[r.access for r in published],
            )
        except InputUnreadable:  # refused by both (Unprotectable from _both): not published
            continue
        published.append(report)
    return published


_PERIODS = st.sampled_from(
    [
        (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 2, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 2, 15), dt.date(2026, 4, 30)),
        (None, None),
        (dt.date(2026, 3, 1), None),
    ]
)
_PLACES = st.lists(
    st.tuples(
        st.sampled_from(["kw-1", "kw-2", "kw-3", "kw-4", "kw-5"]),
        st.sampled_from(["t1", "t2", "t3", None]),
    ),
    min_size=1,
    max_size=6,
    unique=True,
)
_SPECS = st.builds(
    JourneySpec,
    shape=st.sampled_from([s for s in JourneyShape if s != "closed_before_session_1"]),
    gap_days=st.sampled_from((7, 14)),
    start=st.dates(dt.date(2026, 1, 1), dt.date(2026, 4, 30)),
    organisation=st.sampled_from(("aa", "na", "smart")),
    obstacles=st.lists(
        st.sampled_from([Obstacle.GETTING_THERE, Obstacle.MAKING_TIME]), max_size=2, unique=True
    ).map(tuple),
    accompaniment=st.none() | st.sampled_from(list(AccompanimentOutcome)),
)


@settings(max_examples=6, deadline=None)
@given(
    drawn=st.lists(st.tuples(_SPECS, st.integers(0, 5)), min_size=0, max_size=30),
    places=_PLACES,
    periods=st.lists(_PERIODS, min_size=1, max_size=3),
    threshold=st.integers(2, 6),
)
def test_random_caseloads_and_several_reports_withhold_the_same_cells(
    drawn, places, periods, threshold
):
    caseload = []
    for n, (spec, pick) in enumerate(drawn):
        keyworker, team = places[pick % len(places)]
        fields = {f: getattr(spec, f) for f in spec.__slots__}
        moved = JourneySpec(**{**fields, "keyworker": keyworker, "team": team})
        caseload.append(fold(journey_events(f"d{n}", moved)))
    with _compared():
        _series(caseload, periods, threshold)


def _clients(keyworker, team, n, *, start):
    spec = JourneySpec(shape=JourneyShape.INTRODUCED, keyworker=keyworker, team=team, start=start)
    return [fold(journey_events(f"{keyworker}-{team}-{i}-{start}", spec)) for i in range(n)]


def test_the_attack_tests_differencing_cases_withhold_the_same_cells():
    caseload = [
        *_clients("kw-1", "t1", 7, start=dt.date(2026, 2, 2)),
        *_clients("kw-1", "t1", 2, start=dt.date(2026, 4, 6)),
        *_clients("kw-2", "t1", 9, start=dt.date(2026, 2, 3)),
        *_clients("kw-2", "t1", 6, start=dt.date(2026, 4, 7)),
        *_clients("kw-2", "t1", 3, start=dt.date(2026, 1, 12)),
        *_clients("kw-1", "t1", 8, start=dt.date(2026, 5, 12)),
    ]
    q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    with _compared():
        _series(caseload, [q1, (dt.date(2026, 1, 1), dt.date(2026, 4, 30))])
        _series(caseload, [q1, (dt.date(2026, 2, 1), dt.date(2026, 5, 31)), (None, None)])


def test_the_demo_area_withholds_the_same_cells():
    caseload = [fold(e) for e in area_caseload(240, seed=2026).values()]
    with _compared():
        _series(caseload, [(None, None)])


# ------------------------------------------------------------------ hand-built tables
@st.composite
def _tables(draw):
    """A table with row and column totals and a grand total, some counts fixed or floored."""
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    inner = {(r, c): draw(st.integers(0, 12)) for r in range(rows) for c in range(cols)}
    published: dict[Any, int] = {("cell", r, c): v for (r, c), v in inner.items()}
    relations = []
    for r in range(rows):
        published[("row", r, 0)] = sum(inner[(r, c)] for c in range(cols))
        relations.append(Relation(("row", r, 0), tuple(("cell", r, c) for c in range(cols))))
    for c in range(cols):
        published[("col", 0, c)] = sum(inner[(r, c)] for r in range(rows))
        relations.append(Relation(("col", 0, c), tuple(("cell", r, c) for r in range(rows))))
    published[("all", 0, 0)] = sum(inner.values())
    relations.append(Relation(("all", 0, 0), tuple(("row", r, 0) for r in range(rows))))
    keys = sorted(published)
    moved = draw(st.lists(st.sampled_from(keys), unique=True, max_size=2))
    fixed = {k: published.pop(k) for k in moved if len(published) > 1}
    floors = {k: 1 for k in draw(st.lists(st.sampled_from(keys), max_size=3)) if published.get(k)}
    also = draw(st.lists(st.sampled_from(sorted(published)), max_size=2))
    return published, relations, fixed, floors, also


@settings(max_examples=60, deadline=None)
@given(table=_tables(), threshold=st.integers(1, 6), protection=st.none() | st.integers(1, 6))
def test_hand_built_tables_withhold_the_same_cells(table, threshold, protection):
    published, relations, fixed, floors, also = table
    try:
        _both(
            published,
            {},
            relations,
            threshold,
            also=also,
            protection=protection,
            floors=floors,
            fixed=fixed,
        )
    except suppression.Unprotectable:
        pass
