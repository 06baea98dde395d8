"""NDTMS recording per keyworker on the report: shown, suppressed, and attacked independently."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_csv
from fama_adapters.report.html import render_html
from fama_core.commissioning import analyse_completeness
from fama_core.errors import InvalidRecord

from .attack import attack_recording

AS_OF = dt.date(2026, 6, 1)


def _counts(recorded, not_recorded, no_record, missing):
    return {
        "clients_in_treatment": recorded + not_recorded,
        "facilitation_recorded": recorded,
        "no_facilitation_in_treatment": not_recorded,
        "no_fama_record": no_record,
        "reviews_missing": missing,
        "reviews_pending": 0,
    }


def _file(by_keyworker):
    overall = {
        k: sum(c[k] for c in by_keyworker.values())
        for k in next(iter(by_keyworker.values()), _counts(0, 0, 0, 0))
    }
    return {"overall": overall, "by_keyworker": by_keyworker}


def _report(data, threshold=5):
    return build_report(
        area="x", as_of=AS_OF, caseload=[], meetings=None, completeness=data, threshold=threshold
    )


def test_per_keyworker_recording_is_on_the_page_with_small_counts_withheld():
    data = _file({"kw-a": _counts(20, 9, 6, 0), "kw-b": _counts(12, 2, 1, 1)})
    report = _report(data)
    kw_b = {r.keyworker: r for r in report.completeness.keyworkers}["kw-b"]
    assert kw_b.counts["no_facilitation_in_treatment"] is None
    assert report.completeness.overall.counts["clients_in_treatment"] == 43
    html = render_html(report)
    assert 'id="ndtms-recording"' in html and "kw-a" in html


def test_clients_with_no_fama_record_count_in_treatment():
    data = _file({"kw-a": _counts(10, 10, 10, 0)})
    row = analyse_completeness(data).overall
    assert row.counts["no_fama_record"] == 10 and row.recorded_percent == 50.0


def test_counts_that_do_not_add_up_are_refused_by_field():
    data = _file({"kw-a": _counts(10, 10, 10, 0)})
    data["overall"]["clients_in_treatment"] += 1
    with pytest.raises(InvalidRecord, match="by_keyworker"):
        analyse_completeness(data)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["kw-1", "kw-2", "kw-3", "kw-4", "(unassigned)"]),
        st.tuples(
            st.integers(0, 15), st.integers(0, 15), st.integers(0, 15), st.integers(0, 6)
        ).filter(lambda t: t[2] <= t[1] and t[3] <= t[0]),
        min_size=1,
    ),
    st.integers(2, 6),
)
def test_nothing_of_the_recording_table_can_be_worked_back(drawn, threshold):
    data = _file({k: _counts(*v) for k, v in drawn.items()})
    shown = render_csv(_report(data, threshold))["figures.csv"]
    truth = render_csv(_report(data, 1))["figures.csv"]
    assert attack_recording(shown, truth, threshold=threshold, protection=threshold) == []


@settings(max_examples=30)
@given(
    st.recursive(
        st.integers() | st.text(max_size=5) | st.none(),
        lambda c: st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    )
)
def test_any_other_document_is_an_invalid_record_not_a_crash(data):
    try:
        analyse_completeness(data)
    except InvalidRecord:
        pass
