"""Every operation that can answer 408 declares it, as a real server answers it (decision L2).

``LimitsMiddleware`` reads each request's body under the deadline before any route is chosen, so
a body that never finishes is answered 408 on every operation. A real ``fama serve`` with a short
``--timeout`` is sent, on every operation of the checked-in OpenAPI document at once, a request
announcing a body it never finishes; each answer must be the 408 problem the document declares.
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
OPERATIONS = sorted(
    (method.upper(), path) for path, item in OPENAPI["paths"].items() for method in item
)


def _unfinished(base: str, method: str, path: str, secret: str) -> tuple[int, dict, dict]:
    """Status, headers and JSON body of the answer to a body announced but never finished."""
    url = urlsplit(base)
    target = path.replace("{client_id}", "c1")
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: {url.hostname}\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{"
    )
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        sock.sendall(head.encode())
        data = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its 408
            data += chunk
    header, _, body = data.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return status, headers, json.loads(body)


def test_every_operation_declares_the_408_a_real_server_gives_it(tmp_path):
    secret, _ = TokenFile(tmp_path / "tokens.json").issue(
        agency="AG1", role="data_lead", name="lead"
    )
    proc, base = start_server(
        tmp_path, "--store", f"sqlite:///{tmp_path}/{{agency}}.db", "--timeout", "1"
    )
    try:
        with ThreadPoolExecutor(max_workers=len(OPERATIONS)) as pool:
            answers = list(pool.map(lambda op: _unfinished(base, *op, secret), OPERATIONS))
    finally:
        stop_server(proc)
    problem = OPENAPI["components"]["schemas"]["Problem"]
    for (method, path), (status, headers, body) in zip(OPERATIONS, answers, strict=True):
        assert status == 408, (method, path)
        declared = OPENAPI["paths"][path][method.lower()]["responses"]
        assert "408" in declared, (method, path)
        media = headers["content-type"]
        assert media in declared["408"]["content"], (method, path)
        assert set(problem["required"]) <= set(body) <= set(problem["properties"])
        assert body["status"] == 408 and body["type"] == "urn:fama:problem:body-timeout"
        assert headers["connection"] == "close"
