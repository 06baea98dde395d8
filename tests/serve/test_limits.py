"""The limits middleware on its own: a handler that never answers gets a 503, not a hang."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

pytest.importorskip("fastapi", reason="the serve extra (FastAPI, uvicorn) is not installed")

from fama_adapters.http.limits import LimitsMiddleware  # noqa: E402


def _stuck_app(release: threading.Event, sent: list[str]):
    async def app(scope, receive, send):
        await receive()
        # Like a handler in a worker thread blocked on a slow store: it cannot be cancelled.
        await asyncio.to_thread(release.wait, 60)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})
        sent.append("late")

    return app


def test_a_request_past_its_deadline_is_answered_503_and_the_late_answer_dropped():
    release = threading.Event()
    sent: list[str] = []
    app = LimitsMiddleware(_stuck_app(release, sent), max_body=100, timeout=0.05)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/x", content=b"[]")
        release.set()
        while not sent:  # the abandoned handler finishes; its answer goes nowhere
            await asyncio.sleep(0.01)
        return response

    response = asyncio.run(go())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "urn:fama:problem:timeout"
    assert response.text.find("late") == -1


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs():
    ran: list[bool] = []

    async def app(scope, receive, send):  # pragma: no cover - must not run
        ran.append(True)

    limited = LimitsMiddleware(app, max_body=10, timeout=5)

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post("/x", content=b"x" * 11)

    response = asyncio.run(go())
    assert response.status_code == 413
    assert ran == []


def test_a_body_that_never_finishes_is_answered_408_at_the_deadline():
    # Red team: a client sending one byte now and then held its connection for ever, the
    # body being read before the deadline started.
    ran: list[bool] = []

    async def app(scope, receive, send):  # pragma: no cover - must not run
        ran.append(True)

    limited = LimitsMiddleware(app, max_body=1000, timeout=0.2)
    sent: list[dict] = []

    async def go() -> None:
        never = asyncio.Event()
        first = [True]

        async def receive():
            if first[0]:
                first[0] = False
                return {"type": "http.request", "body": b"[", "more_body": True}
            await never.wait()  # the rest of the body never comes
            return {"type": "http.disconnect"}  # pragma: no cover

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/x", "headers": []}
        # A bound on the test, not a timed assertion: before the fix this waited for ever.
        await asyncio.wait_for(limited(scope, receive, send), timeout=60)

    asyncio.run(go())
    assert ran == []
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"body-timeout" in sent[1]["body"]
