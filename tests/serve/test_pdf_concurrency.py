"""Printing packs to PDF runs at most ``pdf_concurrency`` Chromiums; more is 503, never queued.

A fake printer stands in for Chromium: it holds its slot until the test lets
it go, so the interleaving is exact, with no timing in any assertion.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path

import httpx
import pytest
from serve_helpers import opened

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from fama_adapters.cli import main  # noqa: E402
from fama_adapters.http.app import Service, create_app  # noqa: E402
from fama_adapters.http.audit import AccessAudit  # noqa: E402
from fama_adapters.http.tokens import TokenFile  # noqa: E402
from fama_adapters.pack import chromium  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _request() -> dict:
    raw = json.loads((EXAMPLES / "meetings" / "clients.json").read_text("utf-8"))["demo-c001"]
    return {
        "preferences": raw["preferences"],
        "availability": {**raw["availability"], "week_starts": "2026-03-03"},
    }


class FakePrinter:
    """Holds every print until released; counts how many ran at once."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __call__(self, page: Path, out: Path, *, timeout: float) -> Path:
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.entered.release()
        try:
            assert self.release.wait(30), "the test never released the printer"
            out.write_bytes(b"%PDF-1.4 fake\n")
            return out
        finally:
            with self._lock:
                self.running -= 1


def _service(tmp_path: Path, cap: int) -> tuple[Service, str]:
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
            str(tmp_path / "meetings-AG1.json"),
        ],
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert code == 0
    tokens = TokenFile(tmp_path / "tokens.json")
    secret, _ = tokens.issue(agency="AG1", role="keyworker", name="kw")
    service = Service(
        store_url=f"sqlite:///{tmp_path}/{{agency}}.db",
        tokens=tokens,
        audit=AccessAudit(io.StringIO()),
        meetings=f"{tmp_path}/meetings-{{agency}}.json",
        pdf_concurrency=cap,
        timeout=60,
    )
    service.fama("AG1").record(opened("pdf-c").events)
    return service, secret


@pytest.mark.parametrize("cap", [1, 2])
def test_over_the_cap_is_503_with_retry_after_and_the_cap_is_never_passed(
    tmp_path, monkeypatch, cap
):
    printer = FakePrinter()
    monkeypatch.setattr(chromium, "print_pdf", printer)
    service, secret = _service(tmp_path, cap)

    async def go() -> tuple[list[httpx.Response], httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://127.0.0.1",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        ) as http:

            def post() -> asyncio.Task[httpx.Response]:
                return asyncio.ensure_future(
                    http.post("/v1/clients/pdf-c/pack.pdf", json=_request())
                )

            holding = [post() for _ in range(cap)]
            for _ in range(cap):  # every slot is taken by a print in progress
                assert await asyncio.to_thread(printer.entered.acquire, True, 30)
            busy = await post()
            printer.release.set()
            done = [await task for task in holding]
            after = await post()  # the slots are free again
            return done, busy, after

    done, busy, after = asyncio.run(go())
    assert [r.status_code for r in done] == [200] * cap
    assert all(r.content.startswith(b"%PDF-") for r in done)
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"].isdigit()
    assert busy.json()["type"] == "urn:fama:problem:pdf-busy"
    assert after.status_code == 200
    assert printer.most == cap


def test_a_failed_print_gives_its_slot_back(tmp_path, monkeypatch):
    def broken(page: Path, out: Path, *, timeout: float) -> Path:
        from fama_core.errors import AdapterError

        raise AdapterError("chromium crashed")

    monkeypatch.setattr(chromium, "print_pdf", broken)
    service, secret = _service(tmp_path, 1)

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://127.0.0.1",
            headers={"Authorization": f"Bearer {secret}"},
        ) as http:
            codes = []
            for _ in range(3):
                r = await http.post("/v1/clients/pdf-c/pack.pdf", json=_request())
                codes.append(r.json()["type"])
            return codes

    assert asyncio.run(go()) == ["urn:fama:problem:pdf-failed"] * 3


def test_the_cap_must_be_at_least_one(tmp_path):
    code = main(
        ["serve", "--pdf-concurrency", "0", "--tokens", str(tmp_path / "t.json")],
        stdout=io.StringIO(),
        stderr=(err := io.StringIO()),
    )
    assert code == 2 and "--pdf-concurrency" in err.getvalue()
