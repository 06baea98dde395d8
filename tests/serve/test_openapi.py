"""The OpenAPI document is an artefact: generated, checked in, and current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from fama_adapters.cli import main  # noqa: E402
from fama_adapters.http.plugin import OPENAPI_PATH, openapi_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_openapi_document_is_current():
    assert (ROOT / OPENAPI_PATH).read_text("utf-8") == openapi_text(), (
        "schemas/openapi.json is stale: run make schemas"
    )


def test_openapi_check_reports_a_stale_document(tmp_path, capsys):
    stale = tmp_path / "openapi.json"
    stale.write_text("{}", "utf-8")
    assert main(["openapi", "--check", str(stale)]) == 1
    assert main(["openapi", "--write", str(stale)]) == 0
    assert main(["openapi", "--check", str(stale)]) == 0


def test_every_operation_declares_its_problems_and_security():
    doc = json.loads(openapi_text())
    assert doc["openapi"].startswith("3.1")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.endswith("/health"):
                continue
            assert op.get("security") == [{"bearer": []}], (method, path)
            assert "401" in op["responses"], (method, path)
            problem = op["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
