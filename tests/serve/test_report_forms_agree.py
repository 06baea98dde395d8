"""``GET /v1/report`` publishes the same cells as ``fama report`` for the same events (C35).

Two forms of one report that withheld different cells would let a reader
combine them; the HTTP JSON is built by the same ``build_report`` from the
same folded streams, and this checks it on a real server.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
from serve_helpers import start_server, stop_server

from fama_adapters.http.tokens import TokenFile
from fama_adapters.report.bundle import build_report
from fama_adapters.report.export import render_json
from fama_adapters.report.sample import area_caseload
from fama_adapters.store import open_store
from fama_core.workflow import fold


def test_the_http_report_withholds_exactly_what_fama_report_withholds(tmp_path):
    caseload = area_caseload(60, seed=11)
    store = open_store(f"sqlite:///{tmp_path}/AG7.db", create=True)
    for client, events in caseload.items():
        store.append(client, events, expected_version=0)
    store.close()
    secret, _record = TokenFile(tmp_path / "tokens.json").issue(
        agency="AG7", role="commissioner", name="comm"
    )
    proc, base = start_server(tmp_path, "--store", f"sqlite:///{tmp_path}/{{agency}}.db")
    params = {"as_of": "2026-07-31", "from": "2026-02-01", "to": "2026-05-31"}
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=120
        ) as http:
            r = http.get("/v1/report", params=params)
    finally:
        stop_server(proc)
    assert r.status_code == 200, r.text
    local = build_report(
        area="Local area",
        as_of=dt.date(2026, 7, 31),
        caseload=[fold(e) for e in caseload.values()],
        meetings=None,
        period_start=dt.date(2026, 2, 1),
        period_end=dt.date(2026, 5, 31),
    )
    served = r.json()["access"]
    assert served == json.loads(render_json(local))["access"]
    assert served["withheld"] > 0
