"""A tiny FHIR R4 server on loopback, for tests and the demo (stdlib ``http.server``).

:class:`FakeFhirServer` accepts transaction Bundles at its base URL and
honours what fama's client relies on: conditional create (``ifNoneExist``:
an existing match is reused, not duplicated), conditional update (PUT
``Type?identifier=…``, or ``Type?url=…&version=…`` for the terminology),
``412`` when a condition matches several resources, and rewriting of
``urn:uuid`` references to the ids it assigns. ``GET /Type?identifier=system|value``
and ``GET /Type`` search what it holds.

Tests script failures with :meth:`FakeFhirServer.fail_next` (a status, an
optional ``Retry-After``, an OperationOutcome) and :attr:`FakeFhirServer.delay`
(seconds to stall before answering). It binds 127.0.0.1 only, on a free port.
Not a FHIR server for anything else: no validation, no persistence.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeFhirServer", "ScriptedFailure"]


@dataclass(frozen=True)
class ScriptedFailure:
    """A response the server gives instead of processing the next request."""

    status: int
    retry_after: str | None = None
    outcome: dict[str, Any] | None = None


@dataclass
class _Store:
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    next_id: int = 1

    def search(self, rtype: str, query: str) -> list[dict[str, Any]]:
        params = parse_qs(query)
        if "url" in params:  # a canonical resource (CodeSystem, ValueSet …) by url and version
            url, version = params["url"][0], params.get("version", [None])[0]
            return [
                r
                for r in self.resources.get(rtype, {}).values()
                if r.get("url") == url and (version is None or r.get("version") == version)
            ]
        wanted = params.get("identifier", [None])[0]
        found = []
        for resource in self.resources.get(rtype, {}).values():
            idents = resource.get("identifier", [])
            if isinstance(idents, dict):
                idents = [idents]
            if wanted is None or any(
                f"{i.get('system')}|{i.get('value')}" == wanted for i in idents
            ):
                found.append(resource)
        return found


class FakeFhirServer:
    """A threaded loopback FHIR server for one test; use it as a context manager."""

    def __init__(self) -> None:
        self.store = _Store()
        self.requests: list[tuple[str, str]] = []
        self.delay = 0.0
        self._failures: list[ScriptedFailure] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The server's FHIR base URL (``http://127.0.0.1:<port>/fhir``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/fhir"

    def fail_next(self, *failures: ScriptedFailure) -> None:
        """Answer the next requests with these failures, in order, before working again."""
        with self._lock:
            self._failures.extend(failures)

    def count(self, rtype: str | None = None) -> int:
        """How many resources the server holds (of one type, or all)."""
        with self._lock:
            if rtype is not None:
                return len(self.store.resources.get(rtype, {}))
            return sum(len(v) for v in self.store.resources.values())

    def resources(self) -> Iterator[dict[str, Any]]:
        """Every resource held, as stored (references rewritten to ``Type/id``)."""
        with self._lock:
            items = [r for by_id in self.store.resources.values() for r in by_id.values()]
        return iter(items)

    def __enter__(self) -> FakeFhirServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    # ------------------------------------------------------------------ handling

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
                """Silence the default stderr access log."""

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _scripted(self) -> bool:
                with server._lock:
                    failure = server._failures.pop(0) if server._failures else None
                if server.delay:
                    time.sleep(server.delay)
                if failure is None:
                    return False
                headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                self._send(failure.status, failure.outcome or _outcome("exception"), headers)
                return True

            def do_GET(self) -> None:
                """Search: ``/fhir/Type`` or ``/fhir/Type?identifier=system|value``."""
                server.requests.append(("GET", self.path))
                if self._scripted():
                    return
                parts = urlsplit(self.path)
                rtype = parts.path.rstrip("/").rsplit("/", 1)[-1]
                with server._lock:
                    found = server.store.search(rtype, parts.query)
                self._send(
                    200,
                    {
                        "resourceType": "Bundle",
                        "type": "searchset",
                        "total": len(found),
                        "entry": [{"resource": r} for r in found],
                    },
                )

            def do_POST(self) -> None:
                """A transaction at the base URL."""
                server.requests.append(("POST", self.path))
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if self._scripted():
                    return
                try:
                    bundle = json.loads(raw)
                except ValueError:
                    self._send(400, _outcome("structure"))
                    return
                if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
                    self._send(400, _outcome("structure"))
                    return
                with server._lock:
                    status, body = _transaction(server.store, bundle)
                self._send(status, body)

        return Handler


def _outcome(code: str, diagnostics: str = "") -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": "error", "code": code}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {k: _rewrite(v, ids) for k, v in node.items()}
        ref = out.get("reference")
        if isinstance(ref, str) and ref in ids:
            out["reference"] = ids[ref]
        return out
    if isinstance(node, list):
        return [_rewrite(v, ids) for v in node]
    return node


def _transaction(store: _Store, bundle: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Process a transaction all or nothing; returns (HTTP status, body)."""
    plan: list[tuple[str, str, dict[str, Any] | None, str]] = []  # type, id, to store, status
    ids: dict[str, str] = {}
    fresh = store.next_id
    for entry in bundle.get("entry", []):
        resource, request = entry.get("resource", {}), entry.get("request", {})
        rtype = resource.get("resourceType", "")
        method, url = request.get("method"), request.get("url", "")
        condition = request.get("ifNoneExist") if method == "POST" else None
        if method == "PUT" and "?" in url:
            rtype, condition = url.split("?", 1)
        matches = store.search(rtype, condition) if condition else []
        if len(matches) > 1:
            return 412, _outcome("duplicate")
        if matches:
            rid = str(matches[0]["id"])
            keep = resource if method == "PUT" else None
            status = "200 OK"
        else:
            rid, fresh = str(fresh), fresh + 1
            keep, status = resource, "201 Created"
        if entry.get("fullUrl"):
            ids[entry["fullUrl"]] = f"{rtype}/{rid}"
        plan.append((rtype, rid, keep, status))
    store.next_id = fresh
    answers = []
    for rtype, rid, keep, status in plan:
        key = f"{rtype}/{rid}"
        if keep is not None:
            stored = _rewrite(dict(keep), ids)
            stored["id"] = rid
            store.versions[key] = store.versions.get(key, 0) + 1
            stored["meta"] = {"versionId": str(store.versions[key])}
            store.resources.setdefault(rtype, {})[rid] = stored
        version = store.versions.get(key, 1)
        answers.append({"response": {"status": status, "location": f"{key}/_history/{version}"}})
    return 200, {"resourceType": "Bundle", "type": "transaction-response", "entry": answers}
