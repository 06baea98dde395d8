"""No free text and no secret reaches a log, even at DEBUG (issue 11, "must show").

Every free-text field of a caseload carries a canary, and so do the secrets a
user may put in a URL (a store password, a feed's user info and token). Then
the commands that read, store, send and report them run with every logger at
DEBUG (fama's own, httpx's, the root logger) and the captured log records are
searched for the canaries.
"""

from __future__ import annotations

import http.server
import json
import logging
import socket
import string
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.fhir.testing import FakeFhirServer
from fama_adapters.logsafe import install, mask_secrets
from fama_core.builders import JourneyBuilder
from fama_core.codes import GoalKind, Obstacle
from fama_core.events import event_to_json

from .corpus import EXAMPLES, build, run

TEXT = "QZLOGTEXT"
SECRET = "QZLOGSECRET"
FREE_TEXT = {"note", "description", "reactions", "benefits", "disadvantages", "response", "reason"}


def _plant(value: Any) -> Any:
    """Free text everywhere it may be: every step gets a note, every journal entry reactions."""
    if isinstance(value, list):
        return [_plant(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _plant(v) for k, v in value.items()}
    if "step" in out and "status" in out:
        out["note"] = f"{TEXT} step note"
    if "entry_id" in out:
        out.update(reactions=f"{TEXT} r", benefits=[f"{TEXT} b"], disadvantages=[f"{TEXT} d"])
    for key in FREE_TEXT & set(out):
        if isinstance(out[key], str) and not (key == "reason" and "_" in out[key]):
            out[key] = f"{TEXT} {key}"
    return out


def _caseload(folder: Path) -> Path:
    lines = []
    for n in range(3):
        b = JourneyBuilder(f"log-c{n}", keyworker_id="kw-1")
        m = b.meeting()
        b.open().session1().goal(GoalKind.READ_HANDOUTS, description=f"{TEXT} goal")
        b.obstacle(Obstacle.GETTING_THERE, response=f"{TEXT} response")
        b.session2(commit_to=m).journal(m)
        if n == 2:
            b.declined(reason=f"{TEXT} declined")
        lines += [json.dumps(_plant(json.loads(event_to_json(e)))) for e in b.events]
    path = folder / "canary-events.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


class _Feed(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass


def _mllp_listener() -> tuple[int, threading.Thread, socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            buffer = b""
            while b"\x1c\r" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            control = buffer.split(b"\r")[0].split(b"|")[9].decode()
            ack = f"MSH|^~\\&|R||FAMA||20260105090000+0000||ACK^A01^ACK|a1|P|2.5\rMSA|AA|{control}"
            conn.sendall(b"\x0b" + ack.encode() + b"\x1c\r")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server.getsockname()[1], thread, server


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root logger: fama.*, httpx, httpcore propagate to it
    for name in ("fama", "fama.fhir", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


def test_no_free_text_or_secret_reaches_the_logs_at_debug(tmp_path, debug_logs):
    valid = build(tmp_path / "valid")
    events = _caseload(tmp_path)
    codes: dict[str, int] = {}
    db = tmp_path / "fama.db"
    store = f"sqlite:///{db}"
    codes["init"] = run("init", "--store", store)[0]
    codes["record"] = run("record", str(events), "--store", store)[0]
    codes["show"] = run("show", "log-c0", "--store", store)[0]
    codes["replay"] = run("replay", "--store", store)[0]
    codes["bundle"] = run("fhir", "bundle", str(events), "--out", str(tmp_path / "b"))[0]
    with FakeFhirServer() as server:
        codes["submit"] = run("fhir", "submit", str(events), "--base", server.base_url)[0]
    codes["report"] = run("report", "--events", str(events), "--out", str(tmp_path / "r"))[0]
    codes["ndtms"] = run(
        "ndtms",
        "export",
        "--events",
        str(events),
        "--contexts",
        str(valid / "contexts.jsonl"),
        "--out",
        str(tmp_path / "x.csv"),
        "--as-of",
        "2026-06-01",
    )[0]
    # a store URL with a password: refused (no such server), never logged or printed
    code, out, err = run("replay", "--store", f"postgresql://fama:{SECRET}@127.0.0.1:1/fama")
    codes["postgres"] = code
    assert SECRET not in out + err
    # a meeting feed behind user info and a token
    (tmp_path / "feed.json").write_bytes(
        (EXAMPLES / "meetings" / "aa-northbridge.json").read_bytes()
    )
    handler = type(
        "Feed",
        (_Feed,),
        {"__init__": lambda self, *a, **k: _Feed.__init__(self, *a, directory=str(tmp_path), **k)},
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        port = httpd.server_address[1]
        url = f"http://user:{SECRET}@127.0.0.1:{port}/feed.json?token={SECRET}"
        code, out, err = run("meetings", "import", url)
        codes["feed"] = code
    finally:
        httpd.shutdown()
        httpd.server_close()
    # an HL7 message whose patient name is free text, sent to a loopback MLLP listener
    adt = (
        (valid / "adt.hl7")
        .read_text("utf-8")
        .replace("PID|||c-1^^^FAMA^PI||", f"PID|||c-1^^^FAMA^PI||{TEXT}^NAME")
    )
    (tmp_path / "adt.hl7").write_text(adt, "utf-8")
    port, listener, sock = _mllp_listener()
    try:
        codes["hl7"] = run("hl7", "send", str(tmp_path / "adt.hl7"), "--port", str(port))[0]
    finally:
        sock.close()
    assert codes["record"] == 0 and codes["submit"] == 0 and codes["hl7"] == 0, codes
    assert codes["feed"] in (0, 1), codes  # fetched: httpx logged the request
    logged = "\n".join(
        f"{r.name} {r.levelname} {r.getMessage()} {r.args!r}" for r in debug_logs.records
    )
    assert debug_logs.records, "nothing was logged: the test would prove nothing"
    assert TEXT not in logged
    assert SECRET not in logged


secrets = st.text(alphabet=string.ascii_letters + string.digits + "-._~!$'()*+,", min_size=6)


@given(secret=secrets, name=st.sampled_from(["token", "api_key", "password", "sig", "X-Auth"]))
def test_mask_secrets_hides_passwords_and_secret_parameters(secret, name):
    url = f"https://me:{secret}@feeds.example/a.json?page=2&{name}={secret}#x"
    masked = mask_secrets(f"HTTP Request: GET {url} 200")
    assert secret not in masked
    assert "page=2" in masked and "feeds.example/a.json" in masked


def test_the_filter_rewrites_records_of_the_loggers_it_is_on(caplog):
    install()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info("GET %s", f"http://u:{SECRET}@h/?token={SECRET}")
    assert SECRET not in caplog.text and "u:***@h" in caplog.text
