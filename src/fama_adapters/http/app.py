"""The ``fama serve`` application: the façade over HTTP/JSON, for vendors in any language.

:func:`create_app` builds a FastAPI application around a :class:`Service`
(token file, access audit, one event store per agency). Handlers are thin:
authentication, the agency scope and the role check are one dependency
(:func:`_require`), every error is a problem document
(:mod:`fama_adapters.http.problems`), and every request that touches a client
leaves a line in the access audit (:mod:`fama_adapters.http.audit`).

Agencies never share a store: the store URL names ``{agency}`` (e.g.
``sqlite:///var/fama/{agency}.db``) and a token's agency picks the store, so a
token of agency A has no path to agency B's records, whatever client id it
sends. A URL without ``{agency}`` serves exactly one agency (``agency=``).

The service keeps no state of its own between requests beyond caches of what
the store holds, so several instances can run behind a load balancer over one
PostgreSQL database.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import pathlib
import re
import tempfile
import threading
import time
import traceback
import typing
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import Body, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fama_adapters.facade import Fama
from fama_adapters.http.audit import AccessAudit, AuditEntry
from fama_adapters.http.limits import LimitsMiddleware
from fama_adapters.http.models import (
    ClientView,
    DueNextView,
    ErasureView,
    ExportSummaryView,
    Health,
    HeldCategory,
    HistoryLine,
    IntegrityProblemView,
    RecordedView,
    RuleCount,
    StoredEventView,
    SubjectAccessView,
    SubjectEventView,
    ValidationView,
    VerifyView,
    WhoAmI,
)
from fama_adapters.http.problems import PROBLEM_MEDIA_TYPE, FieldIssue, Problem, problem_for
from fama_adapters.http.report_desk import Busy, Pending, ReportDesk
from fama_adapters.http.tokens import PERMISSIONS, Action, TokenFile, TokenRecord
from fama_adapters.markup import PAGE_POLICY
from fama_adapters.meetings.store import load_directory
from fama_adapters.report.bundle import CommissioningReport
from fama_adapters.store import open_store, redact_url
from fama_adapters.views import client_view, history_view, redact
from fama_core import __version__
from fama_core.commissioning import DEFAULT_THRESHOLD, from_directory
from fama_core.directory import MeetingDirectory
from fama_core.errors import (
    AdapterError,
    ConcurrencyConflict,
    FamaError,
    StoreError,
    error_location,
    invalid_record_from_pydantic,
    plain_reason,
)
from fama_core.events import Event, event_from_mapping
from fama_core.matching import MatchRequest, MatchResult, match_meetings
from fama_core.ndtms.context import NdtmsContext
from fama_core.state import ClientState
from fama_core.workflow import fold

__all__ = ["API_PREFIX", "MAX_BATCH", "Service", "asgi", "create_app"]

API_PREFIX = "/v1"
"""Every route lives under this prefix; a breaking change gets a new one."""

_log = logging.getLogger("fama.http")

ClientId = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$",
        description="The host's pseudonymous client key (the event stream).",
    ),
]


Reveal = Annotated[
    bool,
    Query(description="Show free text (notes, goal descriptions …); noted in the access audit."),
]

MAX_BATCH = 500
"""Most events accepted in one request (a whole client's history fits many times over)."""


@dataclass
class Service:
    """What the application serves: tokens, the audit, and the per-agency stores.

    ``store_url`` may name ``{agency}``; without it, ``agency`` must be given
    and only tokens of that agency are accepted. ``host`` is the plugin host
    used to open stores (built when ``None``).
    """

    store_url: str
    tokens: TokenFile
    audit: AccessAudit
    agency: str | None = None
    create: bool = True
    max_body: int = 1_048_576
    """Largest request body accepted, in bytes."""
    timeout: float = 10.0
    """Seconds before a request is answered 503."""
    meetings: str | None = None
    """A saved meeting directory (``fama meetings import --out``); may name ``{agency}``."""
    host: Any = None
    pdf_concurrency: int = 2
    """Chromium runs printing packs at once; a request over the cap is 503 with Retry-After."""
    report_threshold: int = DEFAULT_THRESHOLD
    """The threshold of every report answer (and its protection interval): configuration, never
    a query's choice, so two answers never differ by threshold alone (decision Q3)."""
    _open: dict[str, Fama] = field(default_factory=dict)
    _directories: dict[str, tuple[tuple[int, int], MeetingDirectory]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pdf_slots: threading.BoundedSemaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if "{agency}" not in self.store_url and self.agency is None:
            raise StoreError("the store URL does not name {agency}: give the one agency it serves")
        if self.pdf_concurrency < 1:
            raise ValueError("pdf_concurrency must be at least 1")
        if self.report_threshold < DEFAULT_THRESHOLD:
            raise ValueError(f"the report threshold must be at least {DEFAULT_THRESHOLD}")
        from fama_adapters.report.ledger import ReportRefused

        self._reports: ReportDesk[Any] = ReportDesk(remember=(ReportRefused,))
        # Never a queue: a request finds a free slot at once or is told to come back.
        self._pdf_slots = threading.BoundedSemaphore(self.pdf_concurrency)

    def fama(self, agency: str) -> Fama:
        """The façade over ``agency``'s store (opened on first use)."""
        with self._lock:
            found = self._open.get(agency)
            if found is None:
                url = self.store_url.replace("{agency}", agency)
                found = self._open[agency] = Fama(
                    open_store(url, create=self.create, host=self.host)
                )
            return found

    def directory(self, agency: str) -> MeetingDirectory:
        """``agency``'s meeting directory, re-read when the file changes."""
        if self.meetings is None:
            raise _ProblemError(
                _simple(
                    409,
                    "no-meeting-directory",
                    "No meeting directory is configured",
                    "start fama serve with --meetings FILE (a saved directory from "
                    "fama meetings import --out)",
                )
            )
        path = pathlib.Path(self.meetings.replace("{agency}", agency))
        try:
            st = path.stat()
        except OSError:
            raise _ProblemError(
                _simple(
                    409,
                    "no-meeting-directory",
                    "No meeting directory for this agency",
                    "the agency's meeting directory file does not exist",
                )
            ) from None
        seen = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._directories.get(agency)
        if cached is not None and cached[0] == seen:
            return cached[1]
        loaded = load_directory(path)
        with self._lock:
            self._directories[agency] = (seen, loaded)
        return loaded

    def serves(self, agency: str) -> bool:
        """Whether this service may open ``agency``'s records at all."""
        return self.agency is None or agency == self.agency

    def describe(self) -> str:
        """The store URL without passwords (for the start-up line)."""
        return redact_url(self.store_url)

    def close(self) -> None:
        """Close every store opened and the audit file."""
        with self._lock:
            for fama in self._open.values():
                fama.close()
            self._open.clear()
        self.audit.close()


# --------------------------------------------------------------------- problems


def _problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> JSONResponse:
    problem.request_id = getattr(request.state, "request_id", None)
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


#: Seconds a caller told ``pdf-busy`` is asked to wait (a pack prints in a few seconds).
_PDF_RETRY_AFTER = 5


def _simple(status: int, name: str, title: str, detail: str) -> Problem:
    return Problem(type=f"urn:fama:problem:{name}", title=title, status=status, detail=detail)


def _problems(*statuses: int, say: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry declaring problem documents for ``statuses`` (``say``: an
    operation's own words for some of them)."""
    words = {
        400: "The request does not match the schema (each field named, no values).",
        401: "No valid bearer token.",
        403: "The token's role may not do this, or its agency is not served here.",
        404: "No such client in the token's agency.",
        409: "The record changed since it was read (send the new version), or an id was reused.",
        413: "The request body is too large.",
        422: "The workflow refused an event: the condition and how to fix the event.",
        428: "If-Match is missing where the operation cannot be undone (erasure).",
        501: "This service's machine cannot do this (no Chromium to print a PDF).",
        503: "The request timed out or the store failed; retrying is safe.",
    }
    words.update(say or {})
    return {
        s: {
            "model": Problem,
            "description": words[s],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


# --------------------------------------------------------------------- security

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A token from `fama tokens issue`, bound to one agency and one role.",
)


class _ProblemError(Exception):
    def __init__(self, problem: Problem, headers: dict[str, str] | None = None) -> None:
        self.problem = problem
        self.headers = headers


_CLIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
"""A client id as :data:`fama_core.models.Identifier` allows (the audit keeps nothing else)."""


_PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY + "; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
"""Headers of fama's own pages (pack, report): nothing loads, and no other site frames them."""


def _audited_client(request: Request) -> str | None:
    """The path's client id for the audit line, or ``None`` when it is not an identifier.

    The path is checked only after the token: a request that fails there (or one
    with no token at all) must not get its path text, which may be a name typed
    into a URL or 60 kB of filler, written into the access audit.
    """
    given = request.path_params.get("client_id")
    return given if isinstance(given, str) and _CLIENT_ID.fullmatch(given) else None


def _require(action: Action | None) -> Callable[..., TokenRecord]:
    """A dependency: the caller's token, checked for ``action``; notes the audit context.

    ``None`` only authenticates (no role check, no audit line).
    """

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> TokenRecord:
        service: Service = request.app.state.service
        noted: dict[str, Any] = {"token": None}
        if action is not None:
            noted.update(action=action.value, client=_audited_client(request))
            request.state.audit = noted
        record = service.tokens.lookup(credentials.credentials) if credentials else None
        if record is None:
            raise _ProblemError(
                _simple(
                    401,
                    "unauthenticated",
                    "A valid bearer token is needed",
                    "send Authorization: Bearer <token> with a token issued by fama tokens",
                ),
                {"WWW-Authenticate": "Bearer"},
            )
        noted["token"] = record
        if action is not None and action not in PERMISSIONS[record.role]:
            raise _ProblemError(
                _simple(
                    403,
                    "forbidden",
                    "The token's role may not do this",
                    f"a {record.role.value} token may not {action.value.replace('_', ' ')}",
                )
            )
        if not service.serves(record.agency):
            raise _ProblemError(
                _simple(
                    403,
                    "forbidden",
                    "This service does not serve the token's agency",
                    "the token's agency is not served by this service",
                )
            )
        return record

    return dependency


class _AuditMiddleware:
    """Writes the access-audit line of each request that named an action, with its status."""

    def __init__(self, app: Any, audit: Callable[[], AccessAudit]) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        written = [False]

        def write(status: int) -> None:
            written[0] = True
            state = scope.get("state", {})
            noted = state.get("audit")
            if noted is not None:
                token: TokenRecord | None = noted.get("token")
                self.audit().write(
                    AuditEntry(
                        request_id=state.get("request_id", ""),
                        action=noted["action"],
                        status=status,
                        token=token.id if token else None,
                        name=token.name if token else None,
                        agency=token.agency if token else None,
                        role=token.role.value if token else None,
                        client=noted.get("client"),
                        detail=noted.get("detail"),
                    )
                )

        async def capture(message: Any) -> None:
            # The line is written before the answer leaves: nothing is read without its
            # audit line, and a client that has its answer finds the line already there.
            if message["type"] == "http.response.start" and not written[0]:
                write(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if not written[0]:  # no answer started (the app failed, or the client left)
                write(500)


# --------------------------------------------------------------------- helpers


def _known_query(request: Request) -> None:
    """Refuse query parameters the operation does not take: a misspelt ``as_of`` must not
    silently mean today. A parameter given twice is refused too: every query parameter fama
    takes is one value, and which of two dates a server picks must not be a guess. A repeated
    parameter the operation takes is named (its name is the OpenAPI document's, decision E4);
    any other name is input, so the messages only count those, and never repeat a value."""
    known: set[str] = set()
    dates: set[str] = set()
    dependant = getattr(request.scope.get("route"), "dependant", None)
    todo = [dependant] if dependant is not None else []
    while todo:  # the operation's query parameters, its dependencies' included
        current = todo.pop()
        known.update(p.alias for p in current.query_params)
        dates.update(p.alias for p in current.query_params if dt.date in _types(p))
        todo.extend(current.dependencies)
    names = [key for key, _ in request.query_params.multi_items()]
    if len(names) != len(set(names)):
        raise _ProblemError(_repeated_query(names, known))
    if dependant is None:
        return
    bad_dates = sorted(
        key for key in dates if (v := request.query_params.get(key)) and not _ISO_DATE.fullmatch(v)
    )
    if bad_dates:  # pydantic would take a number (as_of=0.0 as 1970-01-01): schemathesis found it
        # The names are the operation's own (from its OpenAPI description), never input.
        reason = plain_reason({"type": "date_parsing"})
        issues = [
            FieldIssue(location=f"query.{key}", code="bad-date", reason=reason) for key in bad_dates
        ]
        problem = _simple(
            400,
            "bad-date",
            "A date in the query is not YYYY-MM-DD",
            "; ".join(f"{i.location}: {i.reason}" for i in issues),
        )
        raise _ProblemError(problem.model_copy(update={"problems": issues}))
    unknown = sum(1 for key in request.query_params if key not in known)
    if unknown:
        raise _ProblemError(
            _simple(
                400,
                "unknown-query-parameter",
                "A query parameter is not one this operation takes",
                f"{unknown} query parameter(s) are not in this operation's OpenAPI description",
            )
        )


def _repeated_query(names: list[str], known: set[str]) -> Problem:
    """The 400 for query parameters given more than once.

    Each repeated parameter the operation takes is named, in ``problems`` and the detail, by
    the operation's own spelling of it; repeated names it does not take are only counted.
    """
    seen: set[str] = set()
    repeated: list[str] = []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    ours = sorted(name for name in known if name in repeated)
    others = len(repeated) - len(ours)
    reason = "given more than once; each query parameter takes one value"
    issues = [FieldIssue(location=f"query.{name}", code="repeated", reason=reason) for name in ours]
    parts = [f"{i.location}: {reason}" for i in issues]
    if others:
        parts.append(
            f"{others} other query parameter(s) given more than once, which this operation "
            "does not take"
        )
    problem = _simple(
        400,
        "repeated-query-parameter",
        "A query parameter is given more than once",
        "; ".join(parts),
    )
    return problem.model_copy(update={"problems": issues})


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _types(param: Any) -> tuple[Any, ...]:
    """The types a query parameter's annotation admits (``date | None`` → date, None)."""
    annotation = param.field_info.annotation
    return typing.get_args(annotation) or (annotation,)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip()
    value = value.removeprefix("W/").strip('"')
    # isascii(): '²' is a digit to isdigit() and not to int(), a 500 before
    if not (value.isascii() and value.isdigit()) or len(value) > 12:
        raise _ProblemError(
            _simple(
                400,
                "bad-if-match",
                "If-Match is not a version",
                'If-Match must be the client\'s version as the ETag gave it, e.g. "3"',
            )
        )
    return int(value)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _not_found(client: str) -> _ProblemError:
    return _ProblemError(
        _simple(404, "no-such-client", "No such client", f"no record for client {client}")
    )


def _version_of(fama: Fama, client_id: str) -> int:
    """The client's stream version; a 404 problem when the agency holds no such client."""
    version = fama.store.version(client_id)
    if version == 0:
        raise _not_found(client_id)
    return version


def _revealed(request: Request, reveal: Reveal = False) -> bool:
    """A dependency: the ``reveal`` query flag, noted in the access audit when set.

    Declare it after the token (:func:`_require`), which opens the request's audit line.
    """
    if reveal:
        request.state.audit["detail"] = "reveal"
    return reveal


def _limit_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object for a problem the limits answer before any route runs."""
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


_LIMIT_RESPONSES: dict[str, dict[str, Any]] = {
    "408": _limit_response(
        "The request body did not arrive within the service's --timeout; the connection is "
        "closed. Send the whole body at once and retry."
    ),
    "413": _limit_response("The request body is too large."),
}
"""What :class:`~fama_adapters.http.limits.LimitsMiddleware` answers to any request, whatever
its operation, declared on every operation (decision E2); an operation's own wording wins."""


def _html(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an operation answering HTML, with problems for ``statuses``."""
    return {200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **_problems(*statuses)}


_CLIENT_READ_PROBLEMS = (400, 401, 403, 404, 503)
"""What reading one client can answer besides 200."""

_Reader = Annotated[TokenRecord, Depends(_require(Action.READ_CLIENT))]
"""The token of a route reading one client (keyworker or data lead of its agency)."""


# --------------------------------------------------------------------- the app


def create_app(service: Service) -> FastAPI:
    """The FastAPI application serving ``service`` (wrapped in its limits and audit)."""
    app = FastAPI(
        title="fama",
        version=__version__,
        summary="Facilitated Access to Mutual Aid (FAMA) records over HTTP/JSON.",
        description=(
            "Record a client's FAMA events, read the state folded from them and what is due "
            "at the next session. Every request needs a bearer token bound to one agency and "
            "one role. Errors are RFC 9457 problem documents that never quote a value. "
            "See docs/http-api.md."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        dependencies=[Depends(_known_query)],
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.service = service

    def openapi() -> dict[str, Any]:
        # Errors here are 400 problem documents, not FastAPI's default 422 validation body:
        # drop the default so the document says what the service does.
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for item in document.get("paths", {}).values():
                for op in item.values():
                    default = op.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in json.dumps(default):
                        del op["responses"]["422"]
                    # The limits read every request's body (any method, any route) before
                    # the route is known: any operation can answer 408 (a body that does not
                    # arrive in time) and 413 (a body, or its announced length, over the limit).
                    responses = op.setdefault("responses", {})
                    for status, response in _LIMIT_RESPONSES.items():
                        responses.setdefault(status, response)
            schemas = document.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # ---------------------------------------------------------------- errors

    @app.exception_handler(_ProblemError)
    async def _denied(request: Request, exc: _ProblemError) -> JSONResponse:
        return _problem_response(request, exc.problem, exc.headers)

    @app.exception_handler(FamaError)
    async def _fama_error(request: Request, exc: FamaError) -> JSONResponse:
        headers = _etag(exc.actual) if isinstance(exc, ConcurrencyConflict) else None
        return _problem_response(request, problem_for(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = []
        for err in exc.errors():
            loc = error_location(err).split(".") if err.get("loc") else []
            if loc and loc[0] in {"body", "path", "query", "header"}:
                loc = loc[1:] if loc[0] == "body" else loc
            issues.append(
                FieldIssue(
                    location=".".join(loc),
                    code=str(err.get("type", "invalid")),
                    reason=plain_reason(err),  # never the value given (a tag, a date …)
                )
            )
        problem = Problem(
            type="urn:fama:problem:invalid-record",
            title="A record does not match its schema",
            status=400,
            detail="the request does not match the schema: "
            + "; ".join(f"{i.location or '(body)'}: {i.reason}" for i in issues),
            problems=issues,
        )
        return _problem_response(request, problem)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        names = {404: "not-found", 405: "method-not-allowed"}
        problem = _simple(
            exc.status_code,
            names.get(exc.status_code, "http-error"),
            "No such route" if exc.status_code == 404 else "Request refused",
            "see the OpenAPI document at " + (app.openapi_url or ""),
        )
        return _problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The message of an unexpected error may quote data: log its type and frames only.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        _log.error("unexpected %s\n%s", type(exc).__name__, frames)
        return _problem_response(
            request,
            _simple(500, "internal", "fama failed", "an unexpected error; quote the request id"),
        )

    # ---------------------------------------------------------------- routes

    def reads_client(tail: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """The GET route ``/clients/{client_id}<tail>`` reading one client."""
        return app.get(
            f"{API_PREFIX}/clients/{{client_id}}{tail}",
            tags=["clients"],
            responses=_problems(*_CLIENT_READ_PROBLEMS),
        )

    @app.get(f"{API_PREFIX}/health", tags=["service"])
    def health() -> Health:
        """Liveness: no token needed, names no store and no agency."""
        return Health(status="ok", version=__version__)

    @app.get(f"{API_PREFIX}/whoami", tags=["service"], responses=_problems(401, 403))
    def whoami(
        token: Annotated[TokenRecord, Depends(_require(None))],
    ) -> WhoAmI:
        """The token's agency and role, and what it may do (check a token before going live)."""
        return _whoami(token)

    @app.post(
        f"{API_PREFIX}/clients/{{client_id}}/events",
        tags=["clients"],
        status_code=201,
        responses={
            200: {"description": "Every event was already recorded: nothing written."},
            **_problems(400, 401, 403, 409, 413, 422, 503),
        },
    )
    def record_events(
        request: Request,
        response: Response,
        client_id: ClientId,
        token: Annotated[TokenRecord, Depends(_require(Action.RECORD))],
        events: Annotated[
            list[Event],
            Body(
                min_length=1,
                max_length=MAX_BATCH,
                description="One client's events, in order, stored all or none.",
            ),
        ],
        if_match: Annotated[
            str | None,
            Header(
                description="The version the keyworker's screen was based on (the ETag). "
                "When the record has moved on: 409 and nothing is written.",
            ),
        ] = None,
    ) -> RecordedView:
        """Record a batch of one client's events: validated by the workflow, stored atomically.

        Sending the same events again stores nothing twice (``duplicates``).
        """
        expected = _expected_version(if_match)
        for n, event in enumerate(events):
            if event.client_id != client_id:
                raise _ProblemError(
                    Problem(
                        type="urn:fama:problem:invalid-record",
                        title="A record does not match its schema",
                        status=400,
                        detail=f"event {n}: client_id is not the client of the URL",
                        record=f"event {n}",
                        problems=[
                            FieldIssue(
                                location=f"{n}.client_id",
                                code="client_mismatch",
                                reason="every event must be for the client named in the URL",
                            )
                        ],
                    )
                )
        done = service.fama(token.agency).record(events, expected_version=expected)
        response.headers.update(_etag(done.version))
        if not done.stored:
            response.status_code = 200
        return RecordedView(
            client_id=done.client_id,
            version=done.version,
            stored=list(done.stored),
            duplicates=list(done.duplicates),
            status=done.state.status.value if done.state.status else None,
        )

    @reads_client("")
    def client_state(
        response: Response,
        client_id: ClientId,
        token: _Reader,
        reveal: Annotated[bool, Depends(_revealed)],
    ) -> ClientView:
        """The client's record: every episode, and its history (free text redacted)."""
        fama = service.fama(token.agency)
        state = fama.state(client_id)
        if state.version == 0:
            raise _not_found(client_id)
        response.headers.update(_etag(state.version))
        return ClientView.model_validate(client_view(state, fama.history(client_id), reveal=reveal))

    @reads_client("/history")
    def client_history(
        response: Response,
        client_id: ClientId,
        token: _Reader,
    ) -> list[HistoryLine]:
        """One line per stored event: version, kind, dates and ids (no content)."""
        history = service.fama(token.agency).history(client_id)
        if not history:
            raise _not_found(client_id)
        response.headers.update(_etag(history[-1].version))
        return [HistoryLine.model_validate(line) for line in history_view(history)]

    @reads_client("/events")
    def client_events(
        response: Response,
        client_id: ClientId,
        token: _Reader,
        reveal: Annotated[bool, Depends(_revealed)],
        after: Annotated[int, Query(ge=0, description="Only events after this version.")] = 0,
    ) -> list[StoredEventView]:
        """The client's stored events in order, as recorded (free text redacted)."""
        fama = service.fama(token.agency)
        _version_of(fama, client_id)
        stored = fama.store.read(client_id, after=after)
        out = []
        for s in stored:
            event = s.event()
            if not reveal:
                event = event_from_mapping(
                    redact(event.model_dump(mode="json", exclude_none=True)),
                    record=f"stored event {s.event_id}",
                )
            out.append(StoredEventView(version=s.version, stored_at=s.stored_at, event=event))
        response.headers.update(_etag(fama.store.version(client_id)))
        return out

    @app.get(
        f"{API_PREFIX}/clients/{{client_id}}/due",
        tags=["clients"],
        responses=_problems(400, 401, 403, 503),
    )
    def due_next(
        response: Response,
        client_id: ClientId,
        token: _Reader,
    ) -> DueNextView:
        """What is due at the client's next session (an unknown client: an episode to open)."""
        due = service.fama(token.agency).due_next(client_id)
        response.headers.update(_etag(due.version))
        return DueNextView.model_validate(due.to_json())

    _meeting_routes(app, service)
    _ndtms_routes(app, service)
    _report_routes(app, service)
    _record_keeping_routes(app, service)

    wrapped: Any = _AuditMiddleware(app, lambda: service.audit)
    limited = LimitsMiddleware(wrapped, max_body=service.max_body, timeout=service.timeout)
    app.state.asgi = limited
    return app


# --------------------------------------------------------------------- meetings and the pack

_Today = Annotated[
    dt.date | None,
    Query(description="Date the staleness check and the week from (default: the request's week)."),
]


_Limit = Annotated[int, Query(ge=1, le=20, description="Meetings in hand-out 6a.")]
_LargeType = Annotated[bool, Query(description="Large type whatever was recorded.")]


@dataclass(frozen=True, slots=True)
class _PackRequest:
    """What both pack routes are asked, gathered by :func:`_pack_request`."""

    match: MatchRequest
    prepared_on: dt.date | None
    limit: int
    large_type: bool


def _pack_request(
    request: Annotated[MatchRequest, Body(description="Preferences and availability.")],
    prepared_on: _Today = None,
    limit: _Limit = 8,
    large_type: _LargeType = False,
) -> _PackRequest:
    """A dependency: a pack's body and query (one declaration for HTML and PDF)."""
    return _PackRequest(request, prepared_on, limit, large_type)


def _meeting_routes(app: FastAPI, service: Service) -> None:
    @app.post(
        f"{API_PREFIX}/meetings/match",
        tags=["meetings"],
        responses=_problems(400, 401, 403, 409, 413, 503),
    )
    def match(
        token: Annotated[TokenRecord, Depends(_require(Action.MATCH))],
        request: Annotated[MatchRequest, Body(description="Preferences and availability.")],
        today: _Today = None,
    ) -> MatchResult:
        """Rank the agency's meetings the client can attend in the coming week, with reasons.

        Every meeting of the directory appears once, chosen (best first) or excluded.
        """
        directory = service.directory(token.agency)
        return match_meetings(directory, request.preferences, request.availability, today=today)

    def pack_html(agency: str, client_id: str, asked: _PackRequest) -> str:
        from fama_adapters.pack.html import build_pack, render_pack

        fama = service.fama(agency)
        state = fama.state(client_id)
        if state.version == 0:
            raise _not_found(client_id)
        directory = service.directory(agency)
        match = asked.match
        day = asked.prepared_on or match.availability.week_starts
        result = match_meetings(directory, match.preferences, match.availability, today=day)
        pack = build_pack(
            state,
            result.chosen,
            prepared_on=day,
            limit=asked.limit,
            large_type=asked.large_type or None,
        )
        return render_pack(pack)

    @app.post(
        f"{API_PREFIX}/clients/{{client_id}}/pack",
        tags=["clients"],
        response_class=HTMLResponse,
        responses=_html(400, 401, 403, 404, 409, 413, 503),
    )
    def client_pack(
        client_id: ClientId,
        token: _Reader,
        asked: Annotated[_PackRequest, Depends(_pack_request)],
    ) -> HTMLResponse:
        """The client's pack (hand-outs 6a, 7 and 10) as accessible, printable HTML."""
        return HTMLResponse(pack_html(token.agency, client_id, asked), headers=_PAGE_HEADERS)

    @app.post(
        f"{API_PREFIX}/clients/{{client_id}}/pack.pdf",
        tags=["clients"],
        response_class=Response,
        responses={
            200: {
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                "description": "The same pack printed to PDF (A4) by headless Chromium.",
            },
            **_problems(400, 401, 403, 404, 409, 413, 501, 503),
        },
    )
    def client_pack_pdf(
        client_id: ClientId,
        token: _Reader,
        asked: Annotated[_PackRequest, Depends(_pack_request)],
    ) -> Response:
        """The client's pack as a PDF, printed from the same HTML by headless Chromium.

        501 ``pdf-unavailable`` when the service's machine has no Chromium; 503
        ``pdf-busy`` (with ``Retry-After``) when ``--pdf-concurrency`` packs are being
        printed already: requests are never queued.
        """
        from fama_adapters.pack.chromium import ChromiumMissing, print_pdf

        html = pack_html(token.agency, client_id, asked)
        # A private folder (mode 0700) holds the page for the seconds Chromium needs.
        with tempfile.TemporaryDirectory(prefix="fama-pack-") as folder:
            page = pathlib.Path(folder) / "pack.html"
            page.write_text(html, "utf-8")
            if not service._pdf_slots.acquire(blocking=False):
                raise _ProblemError(
                    _simple(
                        503,
                        "pdf-busy",
                        "Too many packs are being printed",
                        f"at most {service.pdf_concurrency} packs are printed at once here; "
                        "retry after the seconds Retry-After gives, or fetch the HTML pack",
                    ),
                    {"Retry-After": str(_PDF_RETRY_AFTER)},
                )
            try:
                pdf = print_pdf(page, pathlib.Path(folder) / "pack.pdf", timeout=service.timeout)
            except ChromiumMissing:
                raise _ProblemError(
                    _simple(
                        501,
                        "pdf-unavailable",
                        "PDF printing is not available here",
                        "the service's machine has no Chromium; install it (Debian: chromium) "
                        "or fetch the HTML pack and print it",
                    )
                ) from None
            except AdapterError:
                raise _ProblemError(
                    _simple(
                        503,
                        "pdf-failed",
                        "Chromium could not print the pack",
                        "Chromium failed or ran out of time; retry, or fetch the HTML pack",
                    )
                ) from None
            finally:
                service._pdf_slots.release()
            data = pdf.read_bytes()
        return Response(
            data,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="fama-pack.pdf"'},
        )


# --------------------------------------------------------------------- NDTMS

_Dataset = Annotated[
    Literal["K", "M", "N", "O", "P", "R"],
    Query(
        description="NDTMS adult dataset version of the extract (default R, in force since "
        "1 April 2024; docs/ndtms.md, Layouts)."
    ),
]
_AsOf = Annotated[dt.date | None, Query(description="Date the checks as of (default: today).")]


_Contexts = Annotated[
    list[NdtmsContext],
    Body(
        max_length=100_000,
        description="The host's treatment contexts (one per client episode), any order.",
    ),
]


_Threshold = Annotated[
    int | None,
    Query(
        ge=DEFAULT_THRESHOLD,
        le=1000,
        description="Withhold counts of 1 to N-1 clients. The service's own threshold "
        "(`fama serve --report-threshold`, default 5) is the only one answered; leave it out.",
    ),
]
_Area = Annotated[
    str, Query(min_length=1, max_length=80, description="Name of the area or partnership.")
]
_From = Annotated[dt.date | None, Query(alias="from", description="First session-1 date.")]
_ReportTo = Annotated[
    dt.date,
    Query(
        alias="to",
        description="Last session-1 date of the period; the period must have ended (before "
        "today). Required: an answer is kept as it was given.",
    ),
]


class _Sink(io.RawIOBase):
    """A binary stream that counts nothing and keeps nothing (a summary's dry run)."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


@dataclass(frozen=True, slots=True)
class _ExportRequest:
    """What both export routes are asked, gathered by :func:`_export_request`."""

    contexts: list[NdtmsContext]
    dataset: str
    as_of: dt.date | None


def _export_request(
    contexts: _Contexts, dataset: _Dataset = "R", as_of: _AsOf = None
) -> _ExportRequest:
    """A dependency: an export's body and query (one declaration for the CSV and the summary)."""
    return _ExportRequest(contexts, dataset, as_of)


def _ndtms_routes(app: FastAPI, service: Service) -> None:
    def run_export(agency: str, asked: _ExportRequest, out: Any) -> dict[str, object]:
        from fama_adapters.ndtms.export import export
        from fama_core.ndtms.tables import load_dataset

        fama = service.fama(agency)
        ordered = sorted(asked.contexts, key=lambda c: c.client_id)
        lines = (c.model_dump_json(exclude_none=True).encode() + b"\n" for c in ordered)
        events = (e.payload.encode() + b"\n" for e in fama.store.stream_all())
        as_of = asked.as_of or dt.date.today()
        summary = export(events, lines, out, load_dataset(asked.dataset), as_of=as_of)
        return summary.as_dict()

    @app.post(
        f"{API_PREFIX}/ndtms/export",
        tags=["ndtms"],
        response_class=Response,
        responses={
            200: {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "The recovery-support review rows; X-Fama-Rejected counts "
                "clients left out (see /ndtms/export/summary for why).",
            },
            **_problems(400, 401, 403, 413, 503),
        },
    )
    def ndtms_export(
        token: Annotated[TokenRecord, Depends(_require(Action.EXPORT))],
        asked: Annotated[_ExportRequest, Depends(_export_request)],
    ) -> Response:
        """The agency's NDTMS sub-intervention review rows (RECMAID, RECPEER) as CSV."""
        out = io.BytesIO()
        summary = run_export(token.agency, asked, out)
        rejected = summary["rejected"]
        count = sum(rejected.values()) if isinstance(rejected, dict) else 0
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={
                "X-Fama-Rows": str(summary["rows_written"]),
                "X-Fama-Rejected": str(count),
                "Content-Disposition": f'attachment; filename="{token.agency}-fama-sir.csv"',
            },
        )

    @app.post(
        f"{API_PREFIX}/ndtms/export/summary",
        tags=["ndtms"],
        responses=_problems(400, 401, 403, 413, 503),
    )
    def ndtms_export_summary(
        token: Annotated[TokenRecord, Depends(_require(Action.EXPORT))],
        asked: Annotated[_ExportRequest, Depends(_export_request)],
    ) -> ExportSummaryView:
        """What an export would write: rows, clients rejected or withheld and why (no rows)."""
        return ExportSummaryView.model_validate(run_export(token.agency, asked, _Sink()))

    @app.post(
        f"{API_PREFIX}/ndtms/validate",
        tags=["ndtms"],
        responses=_problems(400, 401, 403, 413, 503),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "An NDTMS extract (any provider's), as CSV.",
            }
        },
    )
    async def ndtms_validate(
        request: Request,
        token: Annotated[TokenRecord, Depends(_require(Action.EXPORT))],
        dataset: _Dataset = "R",
        as_of: _AsOf = None,
    ) -> ValidationView:
        """Check the recovery-support part of an extract: each rule broken, counted, with rows."""
        body = await request.body()
        return await anyio.to_thread.run_sync(_validate, body, dataset, as_of)


def _validate(body: bytes, dataset: str, as_of: dt.date | None) -> ValidationView:
    from fama_adapters.ndtms.formats import validate_extract
    from fama_core.ndtms.tables import load_dataset, load_rules

    table = load_dataset(dataset)
    rules = load_rules()
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for finding in validate_extract(io.BytesIO(body), table, today=as_of or dt.date.today()):
        counts[finding.code] += 1
        if len(examples[finding.code]) < 5:
            examples[finding.code].append(
                finding.record + (f" {finding.field}" if finding.field else "")
            )
    found = [
        RuleCount(
            code=code,
            severity=rules[code].severity,
            title=rules[code].title,
            national_code=rules[code].national_code,
            count=counts[code],
            examples=examples[code],
        )
        for code in sorted(counts)
    ]
    errors = sum(counts[c] for c in counts if rules[c].severity == "error")
    return ValidationView(dataset=table.version, errors=errors, rules=found)


# --------------------------------------------------------------------- the commissioners' report


@dataclass(frozen=True, slots=True)
class _ReportQuery:
    """The query of both report routes, gathered by :func:`_report_query`."""

    as_of: dt.date | None
    period_start: dt.date | None
    period_end: dt.date
    threshold: int | None
    area: str


def _report_query(
    period_end: _ReportTo,
    as_of: _AsOf = None,
    period_start: _From = None,
    threshold: _Threshold = None,
    area: _Area = "Local area",
) -> _ReportQuery:
    """A dependency: the report's query parameters (one declaration for JSON and HTML)."""
    return _ReportQuery(as_of, period_start, period_end, threshold, area)


_REPORT_RETRY_AFTER = 10
"""Seconds a caller told ``report-pending`` or ``report-busy`` is asked to wait."""

_REPORT_PROBLEMS = (400, 401, 403, 409, 501, 503)
"""What the report routes answer besides 200."""

_REPORT_WORDS = {
    400: "The query does not match the schema; the period has not ended or is empty; or a "
    "threshold other than the service's was asked for (threshold-fixed).",
    409: "No answer can be given without undoing one already released: the records of an "
    "overlapping released period changed since (report-revision-refused), no choice of "
    "withheld counts protects this period beside the released ones (report-refused), or the "
    "service's threshold is below a released answer's (report-threshold-lowered).",
    501: "The service's store keeps no report ledger (report-ledger-unavailable).",
    503: "The protected answer is still being computed (report-pending) or another is "
    "(report-busy): ask again after Retry-After seconds; or the store failed.",
}

_REFUSALS = {
    "revision": ("report-revision-refused", "The records of a released period have changed"),
    "unprotectable": ("report-refused", "This period cannot be answered safely"),
    "threshold-lowered": (
        "report-threshold-lowered",
        "The service's threshold is below a released answer's",
    ),
}


def _report_routes(app: FastAPI, service: Service) -> None:
    def fold_store(agency: str) -> tuple[list[ClientState], list[tuple[bool, Counter[str]]]]:
        from fama_adapters.store import iter_streams

        fama = service.fama(agency)
        caseload = []
        skipped: list[tuple[bool, Counter[str]]] = []
        for _client, stored in iter_streams(fama.store.stream_all()):
            # Event by event, as fama report folds a log: an event that no longer decodes
            # or that the workflow refuses is left out and counted, the others still apply.
            # Stored events: a rule added since flags them (as every read of a store does).
            state: ClientState | None = None
            reasons: Counter[str] = Counter()
            events: list[Event] = []
            for record in stored:
                try:
                    events.append(record.event())
                except FamaError:
                    reasons["unreadable"] += 1
            try:  # the whole stream at once, as before; event by event only when refused
                state = fold(events, flag_newer_rules=True) if events else None
            except FamaError:
                state = None
                for event in events:
                    try:
                        state = fold((event,), state, flag_newer_rules=True)
                    except FamaError:
                        reasons["refused"] += 1
            if state is not None:
                caseload.append(state)
            if reasons:
                skipped.append((state is not None, reasons))
        return caseload, skipped

    def check(query: _ReportQuery) -> None:
        start, end = query.period_start, query.period_end
        if start and end < start:
            raise _ProblemError(
                _simple(400, "bad-period", "The period is empty", "'to' is before 'from'")
            )
        if end >= dt.date.today():
            raise _ProblemError(
                _simple(
                    400,
                    "bad-period",
                    "The period has not ended",
                    "'to' must be before today: an answer is kept as it was given, so a "
                    "period still taking clients would be answered only once (decision Q4)",
                )
            )
        if query.threshold is not None and query.threshold != service.report_threshold:
            raise _ProblemError(
                _simple(
                    400,
                    "threshold-fixed",
                    "The threshold is the service's",
                    f"this service answers at threshold {service.report_threshold} only (its "
                    "configuration): two answers that differ by threshold alone could be "
                    "subtracted; leave threshold out",
                )
            )

    def build(agency: str, query: _ReportQuery) -> CommissioningReport:
        from fama_adapters.report.bundle import ReportRelease, build_report, tally_not_counted
        from fama_adapters.report.ledger import (
            Question,
            ReportRefused,
            answered,
            records_digest,
            release,
        )
        from fama_adapters.store import ReportLedger
        from fama_core.commissioning import AccessReport, journey_of, journeys_from_caseload

        check(query)
        began = time.monotonic()
        store = service.fama(agency).store
        if not isinstance(store, ReportLedger):
            raise _ProblemError(
                _simple(
                    501,
                    "report-ledger-unavailable",
                    "This store keeps no report ledger",
                    "the report needs a store that keeps the answers it gave (the built-in "
                    "sqlite, postgresql and memory stores do), so that no two answers can be "
                    "subtracted",
                )
            )
        caseload, skipped = fold_store(agency)
        day = query.as_of or dt.date.today()
        meetings = (
            from_directory(service.directory(agency), week_of=day) if service.meetings else None
        )
        start, end = query.period_start, query.period_end
        threshold = service.report_threshold
        question = Question(start, end, threshold, threshold)

        def journeys_for(
            period: tuple[dt.date | None, dt.date | None],
        ) -> list[Any]:
            return journeys_from_caseload(caseload, start=period[0], end=period[1])

        def analyse(earlier: list[AccessReport]) -> AccessReport:
            return build_report(
                area=query.area,
                as_of=day,
                caseload=caseload,
                meetings=None,
                threshold=threshold,
                period_start=start,
                period_end=end,
                earlier=earlier,
            ).access

        def work() -> Any:
            return release(store, question, journeys_for, analyse)

        deadline = began + 0.8 * service.timeout
        try:
            # A question answered before is answered at once, even while another computes.
            released = answered(store, question)
            if released is None:
                # What a refusal depended on: the answers released and the records.
                every = [journey_of(e) for client in caseload for e in client.episodes]
                stamp = (
                    len(store.report_ledger()),
                    records_digest(j for j in every if j is not None),
                )
                released = service._reports.answer(agency, question.key(), work, deadline, stamp)
        except Pending:
            raise _ProblemError(
                _simple(
                    503,
                    "report-pending",
                    "The protected answer is still being computed",
                    "it must be checked against every answer already given, which takes "
                    "longer than a request may wait; it is being computed still: ask again "
                    "after the seconds Retry-After gives",
                ),
                {"Retry-After": str(_REPORT_RETRY_AFTER)},
            ) from None
        except Busy:
            raise _ProblemError(
                _simple(
                    503,
                    "report-busy",
                    "Another report answer is being computed",
                    "answers are computed one at a time, each knowing the one before; ask "
                    "again after the seconds Retry-After gives",
                ),
                {"Retry-After": str(_REPORT_RETRY_AFTER)},
            ) from None
        except ReportRefused as refused:
            if refused.kind == "busy":
                raise _ProblemError(
                    _simple(
                        503,
                        "report-busy",
                        "Other report answers kept being released",
                        refused.reason,
                    ),
                    {"Retry-After": str(_REPORT_RETRY_AFTER)},
                ) from None
            name, title = _REFUSALS[refused.kind]
            raise _ProblemError(_simple(409, name, title, refused.reason)) from None
        try:
            return build_report(
                area=query.area,
                as_of=day,
                caseload=caseload,
                meetings=meetings,
                threshold=threshold,
                period_start=start,
                period_end=end,
                sources=(f"fama serve, agency {agency}",),
                not_counted=tally_not_counted(skipped),
                access=released.access,
                release=ReportRelease(
                    number=released.entry.number,
                    released_at=released.entry.released_at,
                    repeated=released.repeated,
                ),
            )
        except ValidationError as exc:  # parameters the report's models refuse: the caller's
            raise invalid_record_from_pydantic(
                exc, record="report parameters", kind="report"
            ) from None

    @app.get(
        f"{API_PREFIX}/report",
        tags=["report"],
        responses=_problems(*_REPORT_PROBLEMS, say=_REPORT_WORDS),
    )
    def report(
        token: Annotated[TokenRecord, Depends(_require(Action.REPORT))],
        query: Annotated[_ReportQuery, Depends(_report_query)],
    ) -> CommissioningReport:
        """The commissioners' report for the token's agency: aggregates, small counts withheld.

        Every answer is kept in the service's report ledger and each new one is computed
        knowing the released answers of overlapping periods, so no two answers can be
        subtracted; the same question is answered as it was first answered.
        """
        return build(token.agency, query)

    @app.get(
        f"{API_PREFIX}/report.html",
        tags=["report"],
        response_class=HTMLResponse,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}},
            **_problems(*_REPORT_PROBLEMS, say=_REPORT_WORDS),
        },
    )
    def report_html(
        token: Annotated[TokenRecord, Depends(_require(Action.REPORT))],
        query: Annotated[_ReportQuery, Depends(_report_query)],
    ) -> HTMLResponse:
        """The same report as one self-contained HTML page (the same ledger answer)."""
        from fama_adapters.report.html import render_html

        return HTMLResponse(render_html(build(token.agency, query)), headers=_PAGE_HEADERS)


def _whoami(token: TokenRecord) -> WhoAmI:
    return WhoAmI(
        token=token.id,
        name=token.name,
        agency=token.agency,
        role=token.role.value,
        may=sorted(a.value for a in PERMISSIONS[token.role]),
    )


# --------------------------------------------------------------------- record keeping

_Seal = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9a-f]{64}$",
        description="The seal a previous verify returned: also report events removed or "
        "rewritten since.",
    ),
]


def _record_keeping_routes(app: FastAPI, service: Service) -> None:
    """Erasure, subject access and log verification: the data lead's, as on the command line."""

    @app.post(
        f"{API_PREFIX}/clients/{{client_id}}/erasure",
        tags=["record keeping"],
        responses=_problems(400, 401, 403, 404, 409, 428, 503),
    )
    def erase_client(
        response: Response,
        client_id: ClientId,
        token: Annotated[TokenRecord, Depends(_require(Action.ERASE))],
        if_match: Annotated[
            str | None,
            Header(
                description="Required: the client's version as its ETag gave it. Erasure "
                "cannot be undone; a record that moved on since it was read is a 409 and "
                "nothing is erased.",
            ),
        ] = None,
    ) -> ErasureView:
        """Erase the client's personal text for good (crypto-shredding: its key is deleted).

        The events stay with their ids, codes and dates, so counts, NDTMS history and
        the hash chain still hold; every free text and typed-in name then reads
        ``[erased]``, and the stream takes no new events. Erasing again answers 200
        with ``already`` true.
        """
        fama = service.fama(token.agency)
        version = _version_of(fama, client_id)
        if if_match is None:
            raise _ProblemError(
                _simple(
                    428,
                    "if-match-required",
                    "Erasure needs If-Match",
                    "erasure cannot be undone: send If-Match with the client's version (the "
                    "ETag of the client or its history) to confirm which record you erase",
                )
            )
        expected = _expected_version(if_match)
        if expected != version:  # early, and again inside the erasure's own transaction
            raise ConcurrencyConflict(stream=client_id, expected=expected or 0, actual=version)
        if getattr(fama.store, "erase", None) is None:
            raise _ProblemError(
                _simple(
                    409,
                    "erasure-unsupported",
                    "This store cannot erase",
                    "the agency's event store keeps no per-client keys, so nothing can be "
                    "erased from it",
                )
            )
        if not fama.can_compare_and_erase:  # a plugin store without compare-and-erase
            raise _ProblemError(
                _simple(
                    409,
                    "erasure-unsupported",
                    "This store cannot erase safely here",
                    "the agency's event store cannot check the version as it erases, so an "
                    "event recorded meanwhile could be erased too; its erase must take "
                    "expected_version (docs/embedding.md)",
                )
            )
        # Compare-and-erase: an event appended since the check above is a 409, nothing erased.
        done = fama.erase(client_id, expected_version=expected)
        response.headers.update(_etag(version))
        return ErasureView(
            client_id=done.client_id,
            events=done.events,
            erased_at=dt.datetime.fromisoformat(done.erased_at),
            already=done.already,
            wal_cleared=done.wal_cleared,
        )

    @app.get(
        f"{API_PREFIX}/clients/{{client_id}}/subject-access",
        tags=["record keeping"],
        responses=_problems(*_CLIENT_READ_PROBLEMS),
    )
    def subject_access(
        client_id: ClientId,
        token: Annotated[TokenRecord, Depends(_require(Action.SUBJECT_ACCESS))],
    ) -> SubjectAccessView:
        """Everything fama holds about the client (UK GDPR Art. 15), personal text included.

        What is held and why, when it was erased if it was, every stored event in
        full and the record folded from them. Deliver it to the subject securely.
        """
        fama = service.fama(token.agency)
        _version_of(fama, client_id)
        export = fama.subject_access(client_id)
        erased = export["erased"]
        return SubjectAccessView(
            client_id=client_id,
            agency=token.agency,
            generated_at=export["generated_at"],
            erased_at=erased["erased_at"] if erased else None,
            held=[HeldCategory.model_validate(h) for h in export["held"]],
            events=[SubjectEventView.model_validate(e) for e in export["events"]],
            episodes=export["state"]["episodes"],
        )

    @app.get(
        f"{API_PREFIX}/verify",
        tags=["record keeping"],
        responses=_problems(400, 401, 403, 503),
    )
    def verify(
        token: Annotated[TokenRecord, Depends(_require(Action.VERIFY))],
        expect_seal: _Seal = None,
    ) -> VerifyView:
        """Check the agency's hash chains: every event edited, removed or moved, every head.

        200 whatever is found: ``ok`` says whether anything was. Reads the whole
        store, so a large one may need a longer ``--timeout``.
        """
        report = service.fama(token.agency).verify()
        seal_ok = expect_seal is None or expect_seal == report.seal
        return VerifyView(
            clients=report.streams,
            events=report.events,
            ok=report.ok and seal_ok,
            problems=[IntegrityProblemView.model_validate(p.to_json()) for p in report.problems],
            seal=report.seal,
            seal_matches=None if expect_seal is None else seal_ok,
        )


def asgi(service: Service) -> Any:
    """The ASGI callable to serve: the application inside its limits and audit middleware."""
    return create_app(service).state.asgi
