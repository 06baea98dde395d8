"""A real ``fama serve`` on loopback, started by the tests, with tokens for two agencies."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from serve_helpers import ROLES, Server, start_server, stop_server  # noqa: E402

from fama_adapters.cli import main  # noqa: E402
from fama_adapters.http.tokens import TokenFile  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    tokens = TokenFile(folder / "tokens.json")
    secret: dict[str, str] = {}
    ids: dict[str, str] = {}
    for who, (agency, role) in ROLES.items():
        secret[who], record = tokens.issue(agency=agency, role=role, name=who)
        ids[who] = record.id
    # Agency AG1 has a meeting directory; AG2 has none.
    code = main(
        [
            "meetings",
            "import",
            str(EXAMPLES / "meetings" / "aa-northbridge.json"),
            "--organisation",
            "aa",
            "--timezone",
            "Europe/London",
            "--out",
            str(folder / "meetings-AG1.json"),
        ],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert code == 0
    proc, base = start_server(
        folder,
        "--store",
        f"sqlite:///{folder}/{{agency}}.db",
        "--meetings",
        f"{folder}/meetings-{{agency}}.json",
    )
    try:
        yield Server(
            base,
            secret,
            ids,
            folder / "tokens.json",
            folder / "audit.jsonl",
            folder / "server.log",
            folder,
        )
    finally:
        stop_server(proc)
