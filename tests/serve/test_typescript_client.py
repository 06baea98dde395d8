"""A non-Python client, generated from the OpenAPI document, records a journey and reads it back.

``clients/typescript`` is what a vendor on Node would write: types generated from
``schemas/openapi.json`` by openapi-typescript, requests made by openapi-fetch, compiled by
tsc with strict checks (a document that no longer fits the client fails here), then run by
Node against the real ``fama serve`` on loopback. It skips, saying why, without Node or the
client's packages (``.ci/run`` installs both: ``npm ci`` in ``clients/typescript``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fama_core.events import event_from_mapping
from fama_core.workflow import fold

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
MODULES = CLIENT / "node_modules"

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(
        not (MODULES / "openapi-typescript").is_dir() or not (MODULES / "openapi-fetch").is_dir(),
        reason="the TypeScript client's packages are absent: run npm ci in clients/typescript",
    ),
]


def _node(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [shutil.which("node") or "node", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The client generated from the checked-in document and compiled, in a scratch copy."""
    work = tmp_path_factory.mktemp("ts-client")
    for name in ("package.json", "tsconfig.json"):
        shutil.copy(CLIENT / name, work / name)
    shutil.copytree(CLIENT / "src", work / "src", ignore=shutil.ignore_patterns("fama-api.d.ts"))
    (work / "node_modules").symlink_to(MODULES, target_is_directory=True)
    _node(
        str(MODULES / "openapi-typescript" / "bin" / "cli.js"),
        str(ROOT / "schemas" / "openapi.json"),
        "-o",
        "src/fama-api.d.ts",
        cwd=work,
    )
    _node(str(MODULES / "typescript" / "bin" / "tsc"), "-p", "tsconfig.json", cwd=work)
    return work


def test_a_typescript_client_records_a_journey_and_reads_it_back(server, built):
    out = _node(
        "dist/journey.js",
        server.base,
        "ts-client-1",
        cwd=built,
        env={"FAMA_TOKEN": server.tokens["kw_a"]},
    )
    result = json.loads(out)
    sent = [event_from_mapping(e) for e in result["sent"]]
    expected = fold(sent)
    assert result["recorded"]["stored"] == [e.event_id for e in sent]
    assert result["recorded"]["version"] == expected.version == 2
    assert result["etag"] == '"2"'
    assert result["state"] == {"version": 2, "status": expected.status.value}
    assert [event_from_mapping(e) for e in result["stored"]] == sent
    assert result["stale"]["status"] == 409
    assert result["stale"]["problem"]["type"] == "urn:fama:problem:version-conflict"
