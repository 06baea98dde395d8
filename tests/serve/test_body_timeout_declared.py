"""Every operation declares the 408 and 413 the limits give it, as a real server does (E2).

``LimitsMiddleware`` reads each request's body under the deadline before any route is chosen, so
a body that never finishes is answered 408, and one announced over ``--max-body`` 413, on every
operation. A real ``fama serve`` with a short ``--timeout`` is sent such a request on every
operation of the checked-in OpenAPI document at once; each answer must be the problem the
document declares.
"""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from serve_helpers import start_server, stop_server  # noqa: E402

from fama_adapters.http.tokens import TokenFile  # noqa: E402

OPENAPI = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "openapi.json").read_text("utf-8")
)
MAX_BODY = 1 << 20
"""``fama serve``'s default ``--max-body``."""
OPERATIONS = sorted(
    (method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item
)


def _answer(base: str, method: str, path: str, secret: str, length: int) -> tuple[int, dict, dict]:
    """Status, headers and JSON body of the answer to a body announced as ``length`` bytes, of
    which only one is sent."""
    url = urlsplit(base)
    target = path.replace("{client_id}", "c1")
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n{{"
    )
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):  # the server closes the connection after answering
            data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return status, headers, json.loads(body)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits")
    secret, _ = TokenFile(folder / "tokens.json").issue(agency="AG1", role="data_lead", name="l")
    proc, base = start_server(
        folder, "--store", f"sqlite:///{folder}/{{agency}}.db", "--timeout", "1"
    )
    try:
        yield base, secret
    finally:
        stop_server(proc)


@pytest.mark.parametrize(
    ("status", "length", "name"),
    [(408, 100, "body-timeout"), (413, MAX_BODY + 1, "body-too-large")],
)
def test_every_operation_declares_the_limit_answers_a_real_server_gives_it(
    served, status, length, name
):
    base, secret = served
    with ThreadPoolExecutor(max_workers=len(OPERATIONS)) as pool:
        answers = list(pool.map(lambda op: _answer(base, *op, secret, length), OPERATIONS))
    problem = OPENAPI["components"]["schemas"]["Problem"]
    for (method, path), (got, headers, body) in zip(OPERATIONS, answers, strict=True):
        assert got == status, (method, path)
        declared = OPENAPI["paths"][path][method.lower()]["responses"]
        assert str(status) in declared, (method, path)
        assert headers["content-type"] in declared[str(status)]["content"], (method, path)
        assert set(problem["required"]) <= set(body) <= set(problem["properties"])
        assert body["status"] == status and body["type"] == f"urn:fama:problem:{name}"
        if status == 408:
            assert headers["connection"] == "close"
