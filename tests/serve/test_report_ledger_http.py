"""The report ledger's refusals over HTTP, in-process (decisions Q1, Q3, Q4).

The attacker against a real server is ``test_report_ledger_attack.py``; these check the
answers a vendor's client switches on: the status, the problem type, plain words, nothing of a
record, and that nothing is kept when nothing is answered.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io

import httpx
import pytest
from serve_helpers import opened

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from fama_adapters.cli import main  # noqa: E402
from fama_adapters.facade import Fama  # noqa: E402
from fama_adapters.http.app import Service, create_app  # noqa: E402
from fama_adapters.http.audit import AccessAudit  # noqa: E402
from fama_adapters.http.tokens import TokenFile  # noqa: E402
from fama_adapters.store import ReportLedger, open_store  # noqa: E402
from fama_adapters.store.memory import MemoryEventStore  # noqa: E402

PERIOD = {"from": "2026-01-01", "to": "2026-03-31"}


def _service(tmp_path, threshold=5):
    tokens = TokenFile(tmp_path / "tokens.json")
    secret, _ = tokens.issue(agency="AG1", role="commissioner", name="comm")
    service = Service(
        store_url=f"sqlite:///{tmp_path}/{{agency}}.db",
        tokens=tokens,
        audit=AccessAudit(io.StringIO()),
        timeout=60,
        report_threshold=threshold,
    )
    return service, secret


def _get(service, secret, params, path="/v1/report"):
    async def go():
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://127.0.0.1",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        ) as http:
            return await http.get(path, params=params)

    return asyncio.run(go())


class _NoLedger:
    """A vendor's store that keeps events and nothing else."""

    def __init__(self) -> None:
        self._inner = MemoryEventStore()
        self.url = "vendor://"

    def __getattr__(self, name):
        if name in ("report_ledger", "add_to_ledger"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_that_keeps_no_ledger_answers_501_and_says_why(tmp_path, monkeypatch):
    service, secret = _service(tmp_path)
    store = _NoLedger()
    assert not isinstance(store, ReportLedger)
    fama = Fama(store)
    fama.record(opened("nl-1").events)
    monkeypatch.setattr(service, "fama", lambda agency: fama)
    r = _get(service, secret, PERIOD)
    assert r.status_code == 501, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:fama:problem:report-ledger-unavailable"
    assert "nl-1" not in r.text


def test_a_service_below_a_released_threshold_answers_no_new_question(tmp_path):
    service, secret = _service(tmp_path, threshold=7)
    service.fama("AG1").record(opened("th-1").events)
    first = _get(service, secret, PERIOD)
    assert first.status_code == 200, first.text
    service.close()
    lowered, secret = _service(tmp_path, threshold=5)
    refused = _get(lowered, secret, {"from": "2026-01-01", "to": "2026-04-30"})
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:fama:problem:report-threshold-lowered"
    assert "threshold 7" in problem["detail"] and "th-1" not in refused.text
    # The question answered at 7 is a different question at 5: refused too, nothing kept.
    assert _get(lowered, secret, PERIOD).status_code == 409
    store = open_store(f"sqlite:///{tmp_path}/AG1.db")
    try:
        assert len(store.report_ledger()) == 1
    finally:
        store.close()
    lowered.close()


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"from": "2026-01-01"}, "invalid-record"),  # no end: required
        ({"to": (dt.date.today()).isoformat()}, "bad-period"),  # today: not ended
        ({"from": "2026-03-01", "to": "2026-02-01"}, "bad-period"),
        ({**PERIOD, "threshold": "9"}, "threshold-fixed"),
    ],
)
def test_a_period_that_cannot_be_kept_as_given_is_refused_before_anything_is_computed(
    tmp_path, params, kind
):
    service, secret = _service(tmp_path)
    for path in ("/v1/report", "/v1/report.html"):
        r = _get(service, secret, params, path)
        assert r.status_code == 400, r.text
        assert r.json()["type"] == f"urn:fama:problem:{kind}"
    store = open_store(f"sqlite:///{tmp_path}/AG1.db", create=True)
    try:
        assert store.report_ledger() == []
    finally:
        store.close()
    service.close()


def test_the_threshold_the_service_uses_is_accepted_when_named(tmp_path):
    service, secret = _service(tmp_path, threshold=6)
    r = _get(service, secret, {**PERIOD, "threshold": "6"})
    again = _get(service, secret, PERIOD)
    assert r.status_code == 200, r.text
    assert r.json()["access"]["threshold"] == 6
    assert again.json()["release"]["repeated"] is True
    service.close()


def test_fama_serve_refuses_a_report_threshold_below_five(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["serve", "--tokens", str(tmp_path / "t.json"), "--report-threshold", "4"],
        stdout=out,
        stderr=err,
    )
    assert code == 2
    assert "--report-threshold must be at least 5" in err.getvalue()


def test_a_refused_question_asked_again_on_the_same_records_is_refused_without_computing(
    tmp_path, monkeypatch
):
    from fama_adapters.report import bundle
    from fama_core.errors import InputUnreadable

    service, secret = _service(tmp_path)
    service.fama("AG1").record(opened("rf-1").events)
    calls = []

    def unprotectable(*args, **kwargs):
        calls.append(1)
        raise InputUnreadable(source="earlier reports", reason="cannot be kept protected")

    monkeypatch.setattr(bundle, "analyse_access", unprotectable)
    first = _get(service, secret, PERIOD)
    again = _get(service, secret, PERIOD)
    assert [first.status_code, again.status_code] == [409, 409], first.text
    assert again.json()["type"] == "urn:fama:problem:report-refused"
    assert len(calls) == 1
    service.fama("AG1").record(opened("rf-2").events)  # the records changed: computed again
    assert _get(service, secret, PERIOD).status_code == 409
    assert len(calls) == 2
    service.close()
