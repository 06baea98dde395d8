"""Request limits for a service that takes hostile input as the normal case.

:class:`LimitsMiddleware` is plain ASGI, outermost, so nothing else runs on a
request it refuses:

* a body larger than ``max_body`` bytes is refused with 413, whether it
  announces its length (refused before a byte is read) or streams it chunked
  (refused when the count passes the limit);
* a request that takes longer than ``timeout`` seconds gets 503 with
  ``Retry-After``. A write that was already under way finishes or not as a
  whole (appends are atomic) and a retry with the same event ids is stored
  once, so a client may always retry;
* every response carries ``X-Request-ID`` (the caller's, when it is a short
  token, else a new one), the id the access audit and the logs use.

It also writes the application log line of each request: method, route
template (never the path, which names a client), status and duration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["LimitsMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("fama.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _consume(task: asyncio.Future[None]) -> None:
    """Retrieve an abandoned handler's outcome so asyncio does not report it as lost."""
    if not task.cancelled() and task.exception() is not None:
        _log.error("an abandoned request failed: %s", type(task.exception()).__name__)


def _problem_body(status: int, name: str, title: str, detail: str, request_id: str) -> bytes:
    return json.dumps(
        {
            "type": f"urn:fama:problem:{name}",
            "title": title,
            "status": status,
            "detail": detail,
            "request_id": request_id,
        }
    ).encode()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods the request log names; HTTP lets a client send any token there, a name included."""


class LimitsMiddleware:
    """Body-size and time limits, request ids and the value-free request log."""

    def __init__(self, app: ASGIApp, *, max_body: int, timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_sent: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_sent.append(int(message["status"]))
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    # Health records must not sit in a proxy's or browser's cache.
                    (b"cache-control", b"no-store"),
                    # A JSON answer holding client text is never sniffed into HTML by a browser.
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        async def refuse(status: int, name: str, title: str, detail: str, *extra: Any) -> None:
            body = _problem_body(status, name, title, detail, request_id)
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                        *extra,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        async def too_large() -> None:
            await refuse(
                413,
                "body-too-large",
                "The request body is too large",
                f"the body may be at most {self.max_body} bytes",
            )
            self._log(scope, 413, started, request_id)

        declared = headers.get("content-length")
        if declared is not None and (
            not (declared.isascii() and declared.isdigit()) or int(declared) > self.max_body
        ):
            await too_large()
            return

        # Read the whole body first (it is small by construction), so an oversized
        # chunked body is refused before any handler sees a byte of it.
        chunks: list[bytes] = []

        async def read_body() -> bool:
            """Whether the whole body arrived (not when the client left or sent too much)."""
            received = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return False  # the client went away
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body:
                    await too_large()
                    return False
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return True

        # The body has the same deadline as the answer: a client sending a byte now and
        # then would otherwise hold its connection (and a --limit-concurrency place) forever.
        try:
            complete = await asyncio.wait_for(read_body(), timeout=self.timeout)
        except TimeoutError:
            await refuse(
                408,
                "body-timeout",
                "The request body did not arrive in time",
                f"the whole body must arrive within {self.timeout:g} s",
                (b"connection", b"close"),
            )
            self._log(scope, 408, started, request_id)
            return
        if not complete:
            return
        body = b"".join(chunks)
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        timed_out = False

        async def guarded_send(message: Message) -> None:
            if not timed_out:
                await send_with_id(message)

        # A handler running in a worker thread cannot be cancelled, so the answer
        # is not tied to it: after the deadline the client gets 503 and whatever
        # the handler sends later is dropped.
        task = asyncio.ensure_future(self.app(scope, replay_receive, guarded_send))
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if task in done:
            try:
                task.result()
            except Exception as exc:  # already answered 500 by the app; keep values out of logs
                _log.error("request=%s failed: %s", request_id, type(exc).__name__)
        else:
            timed_out = True
            task.add_done_callback(_consume)
            if not status_sent:
                status_sent.append(503)
                body503 = _problem_body(
                    503,
                    "timeout",
                    "The request took too long",
                    f"no answer within {self.timeout:g} s; retrying with the same event ids "
                    "is safe (an event is stored once)",
                    request_id,
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [
                            (b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body503)).encode()),
                            (b"retry-after", b"1"),
                            (b"x-request-id", request_id.encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body503})
        self._log(scope, status_sent[0] if status_sent else 500, started, request_id)

    @staticmethod
    def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "(no route)"
        method = scope.get("method", "-")
        _log.info(
            "%s %s %d %.1fms request=%s",
            method if method in _METHODS else "(other method)",
            template,
            status,
            (time.perf_counter() - started) * 1000,
            request_id,
        )
