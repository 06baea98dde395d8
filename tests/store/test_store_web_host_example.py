"""The web host example runs: started on 127.0.0.1 and called over HTTP with httpx."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import threading
from pathlib import Path

import httpx
import pytest

from fama_adapters.facade import Fama
from fama_adapters.store.sqlite import SqliteEventStore
from fama_core.builders import JourneyBuilder

APP = Path(__file__).parent.parent.parent / "examples" / "embedding_web_host" / "app.py"


def _load():
    spec = importlib.util.spec_from_file_location("embedding_web_host_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def client(tmp_path):
    fama = Fama(SqliteEventStore(tmp_path / "web.db"))
    server = _load().serve(fama, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10) as http:
        yield http
    server.shutdown()
    server.server_close()
    fama.close()


def events():
    b = JourneyBuilder("c-1", keyworker_id="kw-1", start=dt.date(2026, 3, 2))
    b.open().session1()
    return [json.loads(e.model_dump_json(exclude_none=True)) for e in b.events]


def test_a_keyworker_records_a_session_and_sees_what_is_due(client):
    opened, session1 = events()
    r = client.post("/clients/c-1/events", json=opened, headers={"If-Match": "0"})
    assert r.status_code == 201 and r.headers["ETag"] == '"1"'
    assert client.get("/clients/c-1/due").json()["next_session"] == "1"
    r = client.post("/clients/c-1/events", json=[session1], headers={"If-Match": '"1"'})
    assert r.status_code == 201 and r.json()["version"] == 2
    due = client.get("/clients/c-1/due").json()
    assert due["next_session"] == "2" and due["steps"][0]["id"].startswith("s2.")
    state = client.get("/clients/c-1").json()
    assert state["status"] == "introduced" and [h["version"] for h in state["history"]] == [1, 2]


def test_a_save_from_a_stale_screen_is_409_and_writes_nothing(client):
    opened, session1 = events()
    client.post("/clients/c-1/events", json=opened)
    r = client.post("/clients/c-1/events", json=session1, headers={"If-Match": "0"})
    assert r.status_code == 409 and r.headers["ETag"] == '"1"'
    assert client.get("/clients/c-1").headers["ETag"] == '"1"'


def test_an_event_the_workflow_refuses_is_422_with_the_condition(client):
    _, session1 = events()
    r = client.post("/clients/c-1/events", json=session1)
    assert r.status_code == 422 and r.json()["condition"] == "allowed_in_state"


def test_bad_json_and_invalid_events_are_400(client):
    assert client.post("/clients/c-1/events", content=b"{nope").status_code == 400
    assert client.post("/clients/c-1/events", json={"kind": "nope"}).status_code == 400


def test_sending_the_same_event_twice_is_harmless(client):
    opened, _ = events()
    client.post("/clients/c-1/events", json=opened)
    r = client.post("/clients/c-1/events", json=opened)
    assert r.status_code == 201 and r.json()["duplicates"] == ["c-1-ep1-e1"]


def test_an_unknown_client_and_route_are_404(client):
    assert client.get("/clients/nobody").status_code == 404
    assert client.get("/elsewhere").status_code == 404
