"""Helpers for the ``fama serve`` tests: start a real server on loopback, build journeys."""

from __future__ import annotations

import datetime as dt
import json
import os
import selectors
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from fama_core.builders import JourneyBuilder
from fama_core.events import Event, event_to_json


@dataclass
class Server:
    """A running ``fama serve`` and what the tests need to talk to it."""

    base: str
    tokens: dict[str, str]
    token_ids: dict[str, str]
    token_file: Path
    audit: Path
    log: Path
    folder: Path

    def client(self, who: str | None, headers: dict | None = None) -> httpx.Client:
        sent = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base, headers={**sent, **(headers or {})}, timeout=30)

    def audit_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.read_text("utf-8").splitlines()]


ROLES = {
    "kw_a": ("AG1", "keyworker"),
    "lead_a": ("AG1", "data_lead"),
    "comm_a": ("AG1", "commissioner"),
    "kw_b": ("AG2", "keyworker"),
    "lead_b": ("AG2", "data_lead"),
    "comm_c": ("AG3", "commissioner"),  # its own report ledger, for tests of query words
}


def start_server(folder: Path, *extra: str, env: dict[str, str] | None = None) -> tuple:
    """Start ``fama serve --port 0`` in ``folder``; returns (process, base URL)."""
    cmd = [
        sys.executable,
        "-c",
        "import sys; from fama_adapters.cli import main; sys.exit(main())",
        "serve",
        "--port",
        "0",
        "--tokens",
        str(folder / "tokens.json"),
        "--audit",
        str(folder / "audit.jsonl"),
        *extra,
    ]
    log = (folder / "server.log").open("ab")
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=folder,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    log.close()  # the server has its own copy
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    # Generous: a busy shared machine can take many seconds to import the stack.
    if sel.select(timeout=120):
        line = proc.stdout.readline()
    sel.close()
    text = line.decode()
    if not text.startswith("fama serve on "):
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise RuntimeError(
            "fama serve did not start: " + (folder / "server.log").read_text(errors="replace")
        )
    base = text.split()[3]
    return proc, base.removesuffix("/v1")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def as_json(events: list[Event]) -> list[dict]:
    return [json.loads(event_to_json(e)) for e in events]


def opened(client_id: str, *, keyworker: str = "kw-1") -> JourneyBuilder:
    """A journey with its episode opened and session 1 held (two events)."""
    b = JourneyBuilder(client_id, keyworker_id=keyworker, start=dt.date(2026, 3, 2))
    b.open().session1()
    return b


def report_agency(server: Server, code: str, caseload: dict | None = None) -> httpx.Client:
    """A commissioner's client for a new agency ``code`` of the shared ``server``, its store
    holding ``caseload`` (client id → events).

    Each agency has a report ledger of its own (decision Q1): a test that asks the shared
    server for a report answers no other test's question, and no other test's recording
    revises a period it was answered.
    """
    from fama_adapters.http.tokens import TokenFile
    from fama_adapters.store import open_store

    directory = server.folder / "meetings-AG1.json"
    if directory.exists():  # the shared server has a meeting directory per agency
        (server.folder / f"meetings-{code}.json").write_bytes(directory.read_bytes())
    store = open_store(f"sqlite:///{server.folder}/{code}.db", create=True)
    try:
        for client, events in (caseload or {}).items():
            store.append(client, events, expected_version=0)
    finally:
        store.close()
    secret, _ = TokenFile(server.token_file).issue(
        agency=code, role="commissioner", name=f"comm {code}"
    )
    return httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )
