"""A report ledger entry changed outside fama is a store problem, never an internal error.

The ledger is append-only under fama, but a row can still be inserted around it (a restore
gone wrong, a hand-made fix). ``GET /v1/report`` reads every entry for every new question, so
an entry that does not read as fama wrote it would otherwise fail every answer with a 500
(``internal``); it is 503 ``store-unavailable`` instead, and nothing of the row is shown.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_report_ledger_attack import Q1, _clients, _Service  # noqa: E402

from fama_adapters.report.ledger import Question, release  # noqa: E402
from fama_adapters.store.memory import MemoryEventStore  # noqa: E402
from fama_core.errors import StoreError  # noqa: E402

DAMAGED = [
    (Question(*Q1, 5, 5).key(), "Alice Smith"),
    ("Alice Smith", "{}"),
    ('{"from":"Alice Smith","to":null,"threshold":5,"protection":5}', "{}"),
    ('["Alice Smith"]', "{}"),
]


@pytest.mark.parametrize(("question", "answer"), DAMAGED)
def test_a_damaged_entry_is_a_store_error_without_its_text(question, answer):
    store = MemoryEventStore()
    store.add_to_ledger(question, answer, "digest", expected=0)
    with pytest.raises(StoreError) as caught:
        release(store, Question(*Q1, 5, 5), lambda period: [], lambda earlier: None)  # type: ignore[arg-type,return-value]
    assert "entry 1" in str(caught.value) and "Alice" not in str(caught.value)


def test_over_http_a_damaged_entry_is_503_store_unavailable(tmp_path):
    service = _Service(tmp_path)
    try:
        with service.agency("DMG", _clients("kw-1", "t1", 6, dt.date(2026, 2, 2))) as http:
            conn = sqlite3.connect(tmp_path / "DMG.db")
            conn.execute(
                "INSERT INTO fama_report_ledger VALUES (1, ?, ?, 'Alice Smith', 'd', 'x')",
                (dt.datetime.now(dt.UTC).isoformat(), Question(*Q1, 5, 5).key()),
            )
            conn.commit()
            conn.close()
            asked = {"from": Q1[0].isoformat(), "to": Q1[1].isoformat()}
            r = http.get("/v1/report", params=asked)  # answered from the damaged entry
            assert r.status_code == 503, r.text
            assert r.json()["type"] == "urn:fama:problem:store-unavailable"
            assert "Alice" not in r.text
            overlapping = {"from": "2026-02-01", "to": "2026-04-30"}
            r = http.get("/v1/report", params=overlapping)
            assert r.status_code in (409, 503), r.text  # never 500
            assert "Alice" not in r.text
    finally:
        service.stop()
