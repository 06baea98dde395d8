"""No sequence of ``GET /v1/report`` requests narrows a withheld count (decisions Q1-Q9).

A real ``fama serve`` is started on loopback over a store of fictional clients. A commissioner
asks it for overlapping periods, the same period again, and other thresholds; every answer it
gives (200) goes to the attacker of ``tests/commissioning/attack.py``, which reads only the
published CSV and JSON, cuts the periods into atoms and solves its own integer programmes. The
judge builds the same periods with nothing withheld to know which counts were small. Before the
ledger, the second answer of the first test gave away a keyworker's 2 April clients.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import start_server, stop_server

from fama_adapters.http.tokens import TokenFile
from fama_adapters.report.bundle import CommissioningReport, build_report
from fama_adapters.report.export import render_csv, render_json
from fama_adapters.report.sample import JourneyShape, JourneySpec, journey_events
from fama_adapters.store import open_store
from fama_core.workflow import fold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from commissioning.attack import atoms_of, attack, read_report  # noqa: E402

AS_OF = dt.date(2026, 7, 31)
Q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
JAN_APR = (dt.date(2026, 1, 1), dt.date(2026, 4, 30))
FEB_MAY = (dt.date(2026, 2, 1), dt.date(2026, 5, 31))
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def _clients(keyworker, team, n, start, shape=JourneyShape.INTRODUCED):
    spec = JourneySpec(shape=shape, keyworker=keyworker, team=team, start=start)
    return {
        f"{keyworker}-{team}-{shape}-{start}-{i}": journey_events(
            f"{keyworker}-{team}-{shape}-{start}-{i}", spec
        )
        for i in range(n)
    }


def _differencing_caseload():
    """kw-1: 7 clients in Q1 and 9 from January to April, so April's 2 are one subtraction
    away; kw-2 beside it (the closing note's case)."""
    return {
        **_clients("kw-1", "t1", 7, dt.date(2026, 2, 2)),
        **_clients("kw-1", "t1", 2, dt.date(2026, 4, 6)),
        **_clients("kw-2", "t1", 9, dt.date(2026, 2, 3)),
        **_clients("kw-2", "t1", 6, dt.date(2026, 4, 7)),
        **_clients("kw-2", "t1", 3, dt.date(2026, 1, 12)),
        **_clients("kw-1", "t1", 8, dt.date(2026, 5, 12)),
    }


class _Service:
    """A real server over a folder of per-agency SQLite stores; one commissioner per agency."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder = folder
        self.tokens = TokenFile(folder / "tokens.json")
        self.tokens.issue(agency="AG0", role="commissioner", name="first")
        self.proc, self.base = start_server(
            folder, "--store", f"sqlite:///{folder}/{{agency}}.db", *(extra or ("--timeout", "60"))
        )

    def agency(self, code: str, caseload: dict) -> httpx.Client:
        store = open_store(f"sqlite:///{self.folder}/{code}.db", create=True)
        for client, events in caseload.items():
            store.append(client, events, expected_version=0)
        store.close()
        secret, _ = self.tokens.issue(agency=code, role="commissioner", name=f"comm {code}")
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {secret}"}, timeout=120
        )

    def stop(self) -> None:
        stop_server(self.proc)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = _Service(tmp_path_factory.mktemp("ledger"))
    try:
        yield running
    finally:
        running.stop()


def _ask(http: httpx.Client, period, **extra) -> httpx.Response:
    """One question; a 503 telling to come back is asked again (the answer is being computed)."""
    params = {"as_of": AS_OF.isoformat(), **extra}
    if period[0] is not None:
        params["from"] = period[0].isoformat()
    if period[1] is not None:
        params["to"] = period[1].isoformat()
    for _ in range(60):
        r = http.get("/v1/report", params=params)
        if r.status_code != 503:
            return r
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] in (
            "urn:fama:problem:report-pending",
            "urn:fama:problem:report-busy",
        )
        time.sleep(min(int(r.headers["retry-after"]), 2))
    raise AssertionError("the answer never came")


def _published(report: CommissioningReport):
    return read_report(render_csv(report)["figures.csv"], render_json(report))


def _findings(caseload: dict, answers: list[CommissioningReport]) -> list[str]:
    """What the attacker works out from every answer given, judged against the true counts."""
    states = [fold(events) for events in caseload.values()]

    def truth(period):
        return _published(
            build_report(
                area="judge",
                as_of=AS_OF,
                caseload=states,
                meetings=None,
                threshold=1,
                period_start=period[0],
                period_end=period[1],
            )
        )

    periods = [(a.access.period_start, a.access.period_end) for a in answers]
    return attack(
        *(_published(a) for a in answers),
        truth=[truth(p) for p in periods],
        overlapping=True,
        atom_truth={span: truth(span) for span in atoms_of(periods)},
    )


def test_overlapping_periods_and_thresholds_asked_over_http_give_nothing_away(service):
    caseload = _differencing_caseload()
    answers: dict[object, CommissioningReport] = {}
    asked: list[CommissioningReport] = []
    refused: list[dict] = []
    with service.agency("AG7", caseload) as http:
        for period, extra in [
            (Q1, {}),
            (JAN_APR, {}),
            (Q1, {"threshold": "6"}),
            (FEB_MAY, {}),
            (JAN_APR, {"threshold": "7"}),
            (MARCH, {}),
            (Q1, {"area": "Asked again"}),
        ]:
            r = _ask(http, period, **extra)
            if r.status_code == 200:
                report = CommissioningReport.model_validate(r.json())
                asked.append(report)
                # One answer per ledger entry (before the ledger: every answer was new).
                number = (r.json().get("release") or {}).get("number", len(asked))
                answers[number] = report
            else:
                refused.append(r.json())
    given_answers = list(answers.values())
    assert len(given_answers) >= 2
    assert _findings(caseload, given_answers) == []
    # The ledger's own promises: another threshold is refused, the same question is answered
    # as it was, and the second period was computed knowing the first.
    assert {p["type"] for p in refused} <= {
        "urn:fama:problem:threshold-fixed",
        "urn:fama:problem:report-refused",
    }
    assert any(p["type"] == "urn:fama:problem:threshold-fixed" for p in refused)
    first = [a for a in asked if (a.access.period_start, a.access.period_end) == Q1]
    assert len({a.access.model_dump_json() for a in first}) == 1
    assert {a.release.repeated for a in first} == {False, True}
    assert all("Alice" not in p["detail"] for p in refused)


def test_the_same_question_after_new_records_is_answered_as_it_was_and_a_revision_is_refused(
    service,
):
    caseload = _differencing_caseload()
    with service.agency("AG8", caseload) as http:
        first = _ask(http, Q1)
        assert first.status_code == 200, first.text
        # A session 1 recorded late, inside Q1: the records of a released period changed.
        late = _clients("kw-1", "t1", 1, dt.date(2026, 3, 9))
        store = open_store(f"sqlite:///{service.folder}/AG8.db")
        for client, events in late.items():
            store.append(client, events, expected_version=0)
        store.close()
        again = _ask(http, Q1, area="Later")
        assert again.status_code == 200
        assert again.json()["access"] == first.json()["access"]
        assert again.json()["release"]["repeated"] is True
        assert again.json()["release"]["released_at"] == first.json()["release"]["released_at"]
        revised = _ask(http, JAN_APR)
        assert revised.status_code == 409
        problem = revised.json()
        assert problem["type"] == "urn:fama:problem:report-revision-refused"
        assert "2026-01-01 to 2026-03-31" in problem["detail"]
        # A period apart from every released one is still answered, from today's records.
        apart = _ask(http, (dt.date(2026, 5, 1), dt.date(2026, 6, 30)))
        assert apart.status_code == 200, apart.text
    assert _findings({**caseload, **late}, [CommissioningReport.model_validate(apart.json())]) == []


def test_the_ledger_survives_a_restart_of_the_service(tmp_path):
    caseload = _differencing_caseload()
    running = _Service(tmp_path)
    try:
        with running.agency("AG9", caseload) as http:
            first = _ask(http, Q1)
            assert first.status_code == 200
    finally:
        running.stop()
    proc, base = start_server(tmp_path, "--store", f"sqlite:///{tmp_path}/{{agency}}.db")
    try:
        secret, _ = running.tokens.issue(agency="AG9", role="commissioner", name="after")
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=120
        ) as http:
            again = _ask(http, Q1)
            second = _ask(http, JAN_APR)
    finally:
        stop_server(proc)
    assert second.status_code == 200
    answers = [CommissioningReport.model_validate(r.json()) for r in (first, second)]
    assert _findings(caseload, answers) == []
    assert again.json()["release"] == {**first.json()["release"], "repeated": True}
    assert answers[1].release.number == 2


_PERIODS = st.sampled_from([Q1, JAN_APR, FEB_MAY, MARCH, (None, dt.date(2026, 2, 28))])
_SHAPES = st.sampled_from(
    [
        JourneyShape.INTRODUCED,
        JourneyShape.COMMITTED,
        JourneyShape.ENGAGED,
        JourneyShape.MISSED_THEN_DECLINED,
        JourneyShape.ATTENDED_THEN_CLOSED,
    ]
)
_GROUPS = st.lists(
    st.tuples(
        st.sampled_from(["kw-1", "kw-2", "kw-3"]),
        st.sampled_from(["t1", "t2"]),
        st.integers(1, 8),
        st.dates(dt.date(2026, 1, 1), dt.date(2026, 5, 31)),
        _SHAPES,
    ),
    min_size=1,
    max_size=6,
)
_SEEN = [0]


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    groups=_GROUPS,
    asked=st.lists(st.tuples(_PERIODS, st.sampled_from([None, "5", "6"])), min_size=2, max_size=5),
)
def test_no_sequence_of_requests_narrows_a_withheld_count(service, groups, asked):
    caseload: dict = {}
    for kw, team, n, start, shape in groups:
        caseload.update(_clients(kw, team, n, start, shape))
    _SEEN[0] += 1
    answers: dict[int, CommissioningReport] = {}
    with service.agency(f"H{_SEEN[0]}", caseload) as http:
        for period, threshold in asked:
            extra = {} if threshold is None else {"threshold": threshold}
            r = _ask(http, period, **extra)
            if r.status_code == 200:
                report = CommissioningReport.model_validate(r.json())
                number = (r.json().get("release") or {}).get("number", len(answers) + 100)
                answers[number] = report
            else:
                assert r.status_code in (400, 409), r.text
    if answers:
        assert _findings(caseload, list(answers.values())) == []


def test_a_released_answer_is_given_at_once_while_another_is_still_computed(tmp_path):
    """A protected computation past the deadline is 503 report-pending and carries on; a
    question answered before is still answered at once meanwhile (not 503 report-busy), and
    the pending one is in the ledger when asked again."""
    from fama_adapters.report.sample import area_caseload

    caseload = area_caseload(40, seed=11)
    running = _Service(tmp_path, "--timeout", "1")
    try:
        with running.agency("AGP", caseload) as http:
            first = _ask(http, Q1)  # asked again until computed
            assert first.status_code == 200, first.text
            slow = http.get("/v1/report", params={"from": "2026-01-01", "to": "2026-04-30"})
            again = http.get("/v1/report", params={"from": "2026-01-01", "to": "2026-03-31"})
            later = _ask(http, JAN_APR)
    finally:
        running.stop()
    # Knowing Q1, January-April takes seconds (benchmarks/serve_load.py --report): past 0.8 s.
    assert slow.status_code == 503, slow.text
    assert slow.json()["type"] == "urn:fama:problem:report-pending"
    assert int(slow.headers["retry-after"]) > 0
    assert again.status_code == 200, again.text
    assert again.json()["release"] == {**first.json()["release"], "repeated": True}
    assert later.status_code == 200 and later.json()["release"]["number"] == 2
