"""A tiny case-record web host embedding fama (standard library only: wsgiref).

Run it:  python examples/embedding_web_host/app.py --store sqlite:///out/web.db --port 8000

Routes (JSON in, JSON out):

    POST /clients/{id}/events   one event or a list of events for that client
                                header If-Match: <version> = the version the keyworker saw
                                201 recorded / 409 another keyworker saved first /
                                422 the workflow refused (state, event, condition) / 400 bad JSON
    GET  /clients/{id}          state (free text redacted) and history; ETag: <version>
    GET  /clients/{id}/due      what is due at the next session

The HTTP version header maps straight onto fama's optimistic concurrency: a
save based on a stale screen gets 409 and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from fama_adapters.facade import Fama
from fama_adapters.views import client_view
from fama_core.errors import (
    ConcurrencyConflict,
    FamaError,
    IdempotencyConflict,
    InvalidRecord,
    TransitionRefused,
)
from fama_core.events import event_from_mapping

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_ROUTE = re.compile(
    r"^/clients/(?P<client>[A-Za-z0-9][A-Za-z0-9._:\-]{0,63})(?P<due>/due|/events)?$"
)


def _json(start: StartResponse, status: str, body: Any, *headers: tuple[str, str]) -> list[bytes]:
    data = json.dumps(body, indent=2, default=str).encode()
    start(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers]
    )
    return [data]


def make_app(fama: Fama) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application around one :class:`Fama`."""

    def app(environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        match = _ROUTE.match(environ.get("PATH_INFO", ""))
        method = environ["REQUEST_METHOD"]
        if match is None:
            return _json(start, "404 Not Found", {"error": "no such route"})
        client, tail = match["client"], match["due"]
        if method == "GET" and tail is None:
            state = fama.state(client)
            if state.version == 0:
                return _json(start, "404 Not Found", {"error": f"no record for client {client}"})
            view = client_view(state, fama.history(client))
            return _json(start, "200 OK", view, ("ETag", f'"{state.version}"'))
        if method == "GET" and tail == "/due":
            due = fama.due_next(client)
            return _json(start, "200 OK", due.to_json(), ("ETag", f'"{due.version}"'))
        if method == "POST" and tail == "/events":
            return _post(environ, start, client)
        return _json(start, "405 Method Not Allowed", {"error": "method not allowed"})

    def _post(environ: dict[str, Any], start: StartResponse, client: str) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            raw = json.loads(environ["wsgi.input"].read(size) or b"null")
        except ValueError:
            return _json(start, "400 Bad Request", {"error": "the body is not JSON"})
        items = raw if isinstance(raw, list) else [raw]
        if_match = environ.get("HTTP_IF_MATCH", "").strip('"')
        try:
            events = [event_from_mapping(item, record=f"event {n}") for n, item in enumerate(items)]
            if any(e.client_id != client for e in events):
                return _json(
                    start, "422 Unprocessable Content", {"error": "event for another client"}
                )
            done = fama.record(events, expected_version=int(if_match) if if_match else None)
        except InvalidRecord as exc:
            return _json(start, "400 Bad Request", {"error": str(exc)})
        except TransitionRefused as exc:
            body = {
                "error": str(exc),
                "state": exc.state,
                "event": exc.event,
                "condition": exc.condition,
            }
            return _json(start, "422 Unprocessable Content", body)
        except ConcurrencyConflict as exc:
            body = {"error": str(exc), "version": exc.actual}
            return _json(start, "409 Conflict", body, ("ETag", f'"{exc.actual}"'))
        except IdempotencyConflict as exc:
            return _json(start, "409 Conflict", {"error": str(exc)})
        except FamaError as exc:
            return _json(start, "500 Internal Server Error", {"error": str(exc)})
        body = {"version": done.version, "stored": done.stored, "duplicates": done.duplicates}
        return _json(start, "201 Created", body, ("ETag", f'"{done.version}"'))

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Request lines name client ids; a real host logs them under its own policy."""


def serve(fama: Fama, host: str = "127.0.0.1", port: int = 8000) -> WSGIServer:
    """A server for the app (not yet serving: call ``serve_forever``); port 0 picks a free one."""
    return make_server(host, port, make_app(fama), handler_class=_QuietHandler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="sqlite:///out/web-host.db")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with Fama.open(args.store, create=True) as fama:
        server = serve(fama, port=args.port)
        print(f"fama web host on http://127.0.0.1:{server.server_port} (store {args.store})")
        server.serve_forever()


if __name__ == "__main__":
    main()
