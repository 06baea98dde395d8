"""Send FHIR R4 transaction bundles to a server, safely repeatable (httpx, synchronous).

:class:`FhirClient` POSTs a transaction Bundle to the server's base URL. Every
entry must be a conditional create (``ifNoneExist``) or conditional update, so
sending a bundle again, after a timeout or a crash, never duplicates anything:
that is what makes the retries safe. It retries with exponential back-off on
429, 408 and 5xx responses and on connection errors and timeouts, honours
``Retry-After``, and raises clear errors:

    TransportError (fama_core.errors)
    ├── FhirRefused          a 4xx: the OperationOutcome's issues, summarised
    ├── FhirUnavailable      retries exhausted, or Retry-After longer than allowed
    └── FhirResponseInvalid  a 2xx whose body is not a transaction-response Bundle
        └── FhirTransactionFailed  a response that does not confirm every entry sent

It never logs or raises resource content: logs carry the method, the entry
count, the status and the time taken; errors carry an OperationOutcome's
severity, code and element paths (string literals removed), not its
diagnostics, which servers often fill with the offending values.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from fama_adapters import net
from fama_core.errors import MappingError, TransportError

__all__ = [
    "RETRY_STATUSES",
    "EntryOutcome",
    "FhirClient",
    "FhirRefused",
    "FhirResponseInvalid",
    "FhirTransactionFailed",
    "FhirUnavailable",
    "IssueSummary",
    "TransactionOutcome",
]

log = logging.getLogger("fama.fhir")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
"""Statuses worth another attempt: the server may succeed later."""

_HINTS = {
    400: "the server could not read the bundle",
    401: "not authenticated: check the client's credentials",
    403: "not authorised to write these resources",
    404: "no FHIR endpoint at this base URL",
    409: "the write conflicts with the server's current state",
    412: "a conditional create matched more than one resource: duplicates exist already",
    422: "the server's validation refused a resource",
}

_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_PATH_END = re.compile(r"\(")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]{0,63}")
_ELEMENT_PATH = re.compile(
    r"[A-Za-z][A-Za-z0-9_]{0,63}(?:\[\d{1,6}\])?(?:\.[A-Za-z][A-Za-z0-9_]{0,63}(?:\[\d{1,6}\])?){0,31}"
)
_FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """One OperationOutcome issue without its text: severity, code, element paths."""

    severity: str
    code: str
    expression: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" at {', '.join(self.expression)}" if self.expression else ""
        return f"{self.severity}/{self.code}{where}"


def _summarise(body: Any) -> tuple[IssueSummary, ...]:
    if not isinstance(body, Mapping) or body.get("resourceType") != "OperationOutcome":
        return ()
    issues = []
    for issue in _list(body.get("issue")):
        if not isinstance(issue, Mapping):
            continue
        # Only the element path up to its first function call: its arguments may hold a
        # value, quoted or not (``identifier.where(value=…)``); XPath locations are dropped.
        paths = _list(issue.get("expression"))
        issues.append(
            IssueSummary(
                severity=_coded(issue.get("severity"), _SEVERITIES),
                code=_coded(issue.get("code"), _ISSUE_TYPES),
                expression=tuple(_path_only(p) for p in paths if isinstance(p, str) and p),
            )
        )
    return tuple(issues)


def _list(value: Any) -> list[Any]:
    """A JSON array as a list; anything else (null, object, text) as no items."""
    return value if isinstance(value, list) else []


_SEVERITIES = frozenset({"fatal", "error", "warning", "information"})
"""FHIR R4 IssueSeverity (http://hl7.org/fhir/issue-severity)."""
_ISSUE_TYPES = frozenset(
    "invalid structure required value invariant security login unknown expired forbidden "
    "suppressed processing not-supported duplicate multiple-matches not-found deleted too-long "
    "code-invalid extension too-costly business-rule conflict transient lock-error no-store "
    "exception timeout incomplete throttled informational".split()
)
"""FHIR R4 IssueType (http://hl7.org/fhir/issue-type)."""


def _coded(value: Any, codes: frozenset[str]) -> str:
    """A code from the server's closed code list, or ``?``: nothing else is repeated."""
    return value if isinstance(value, str) and value in codes else "?"


def _path_only(expression: str) -> str:
    """The element path of a FHIRPath expression, up to its first function call.

    Anything that is not a plain path (``Type.element[0].child``) is withheld:
    a server may put a value anywhere in an expression.
    """
    path = _PATH_END.split(_LITERAL.sub("'…'", expression), maxsplit=1)[0]
    return path if _ELEMENT_PATH.fullmatch(path) else "(path withheld)"


class FhirRefused(TransportError):
    """The server refused the transaction (a 4xx other than 408 and 429); nothing was written.

    ``status_code`` is the HTTP status; ``issues`` the OperationOutcome's issues
    as :class:`IssueSummary` (no diagnostics, no resource content).
    """

    def __init__(self, *, status_code: int, issues: tuple[IssueSummary, ...]) -> None:
        self.status_code = status_code
        self.issues = issues
        hint = _HINTS.get(status_code, "the server refused the request")
        detail = "; ".join(str(i) for i in issues) or "no OperationOutcome"
        super().__init__(f"FHIR server refused the transaction ({status_code}: {hint}): {detail}")


class FhirUnavailable(TransportError):
    """The server could not be reached or kept failing; sending again later is safe.

    ``attempts`` made; ``status_code`` of the last response (``None`` after a
    connection error or timeout); ``cause`` names the last failure;
    ``retry_after`` is the server's requested wait in seconds, when it gave one.
    """

    def __init__(
        self,
        *,
        attempts: int,
        status_code: int | None,
        cause: str,
        retry_after: float | None = None,
    ) -> None:
        self.attempts = attempts
        self.status_code = status_code
        self.cause = cause
        self.retry_after = retry_after
        wait = f"; the server asks to wait {retry_after:.0f} s" if retry_after else ""
        super().__init__(
            f"FHIR server unavailable after {attempts} attempt(s): {cause}{wait}; "
            "the bundle is safe to send again"
        )


class FhirResponseInvalid(TransportError):
    """The server answered 2xx with something that is not a transaction-response Bundle."""


class FhirTransactionFailed(FhirResponseInvalid):
    """A transaction-response that does not confirm every entry sent; nothing is counted.

    ``problems`` says, entry by entry (position and resource type, never a
    value), what is missing: an entry without an answer, a non-2xx status, a
    ``201`` without the location of what it created.
    """

    def __init__(self, *, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__(
            "FHIR server did not confirm the transaction: "
            + "; ".join(problems)
            + "; sending the bundle again is safe"
        )


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """The server's answer for one entry: ``201 Created``, ``200 OK`` … and where it is."""

    status: str
    location: str | None = None

    @property
    def created(self) -> bool:
        """Whether this entry created a resource (status 201)."""
        return self.status.startswith("201")


@dataclass(frozen=True, slots=True)
class TransactionOutcome:
    """What a transaction did, entry by entry, and how many attempts it took."""

    entries: tuple[EntryOutcome, ...]
    attempts: int

    @property
    def created(self) -> int:
        """How many resources the transaction created (0 when it was a resubmission)."""
        return sum(1 for e in self.entries if e.created)


_CANONICAL = re.compile(r"\?url=[^&]+&version=[^&]+$")
"""A conditional update on a canonical resource's ``url`` and ``version`` (the terminology)."""


def _check_conditional(bundle: Mapping[str, Any]) -> int:
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise MappingError("not a FHIR transaction Bundle")
    entries = _list(bundle.get("entry"))
    for index, entry in enumerate(entries):
        request = entry.get("request") if isinstance(entry, Mapping) else None
        if not isinstance(request, Mapping):
            request = {}
        method, url = request.get("method"), str(request.get("url", ""))
        # Conditional on a business identifier, or on the canonical url and version of a
        # terminology resource: a criterion such as ``_count=1`` would match any resource,
        # and ``PUT Goal?`` none in particular.
        conditional = (
            method == "POST" and "identifier=" in str(request.get("ifNoneExist") or "")
        ) or (method == "PUT" and ("?identifier=" in url or _CANONICAL.search(url) is not None))
        if not conditional:
            raise MappingError(
                f"bundle entry {index}: not a conditional create or update, "
                "so sending it again could duplicate it"
            )
    return len(entries)


def _retry_after(headers: httpx.Headers, now: Callable[[], dt.datetime]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" and "٣" are digits to isdigit(), not to float()
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now()).total_seconds())


class FhirClient:
    """Posts transaction bundles to one FHIR R4 server.

    ``base_url`` is the server's FHIR base (a transaction is POSTed to it);
    ``client`` an ``httpx.Client`` (``None``: :func:`fama_adapters.net.http_client`
    per request). Every request goes through :func:`fama_adapters.net.request`:
    ``timeout`` (default 30 s) is its overall deadline, connect to last byte;
    ``max_response_bytes`` bounds the answer; redirects are followed only on
    the same origin and only as 307/308 (a POST's body is kept).
    ``max_attempts`` bounds the attempts per bundle; waits grow from
    ``backoff`` seconds, doubling, capped at ``max_backoff``, with full jitter
    unless ``jitter`` is false. A ``Retry-After`` up to ``max_retry_after``
    seconds is honoured; a longer one ends the attempts with
    :class:`FhirUnavailable` carrying it. ``sleep`` and ``now`` are injectable
    for tests.
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client | None = None,
        *,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
        jitter: bool = True,
        timeout: float | None = None,
        max_response_bytes: int = net.DEFAULT_LIMITS.max_bytes,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = net.check_url(base_url, what="FHIR base URL").rstrip("/")
        self.client = client
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.jitter = jitter
        self.limits = net.Limits(
            deadline=net.DEFAULT_LIMITS.deadline if timeout is None else timeout,
            max_bytes=max_response_bytes,
        )
        self._sleep = sleep
        self._now = now
        self._random = random.Random()

    def _wait(self, attempt: int) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return self._random.uniform(0, ceiling) if self.jitter else ceiling

    def submit(self, bundle: Mapping[str, Any]) -> TransactionOutcome:
        """POST a transaction bundle; retry where safe; return what each entry did.

        Raises :class:`~fama_core.errors.MappingError` before sending when an
        entry is not conditional (a retry could duplicate it),
        :class:`FhirRefused` on a 4xx, :class:`FhirUnavailable` when attempts
        run out (or a redirect is refused) and :class:`FhirResponseInvalid` on
        a success that cannot be read.
        """
        count = _check_conditional(bundle)
        body = json.dumps(bundle, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": f"{_FHIR_JSON}; charset=utf-8", "Accept": _FHIR_JSON}
        status: int | None = None
        cause = ""
        for attempt in range(1, self.max_attempts + 1):
            started = time.perf_counter()
            log.info("POST transaction (%d entries), attempt %d", count, attempt)
            try:
                response = net.request(
                    "POST",
                    self.base_url,
                    client=self.client,
                    limits=self.limits,
                    content=body,
                    headers=headers,
                )
            except (net.ConnectionFailed, net.DeadlineExceeded) as exc:
                status = None
                cause = exc.cause if isinstance(exc, net.ConnectionFailed) else exc.reason
                log.warning("transaction attempt %d failed: %s", attempt, type(exc).__name__)
                if attempt < self.max_attempts:
                    self._sleep(self._wait(attempt))
                continue
            except net.RedirectRefused as exc:  # the base URL is wrong: no retry can help
                raise FhirUnavailable(
                    attempts=attempt, status_code=None, cause=exc.reason
                ) from None
            except net.ResponseTooLarge as exc:
                raise FhirResponseInvalid(
                    f"FHIR server's answer is larger than {exc.max_bytes} bytes; "
                    "the transaction may have been applied, and sending it again is safe"
                ) from None
            elapsed = (time.perf_counter() - started) * 1000
            status = response.status_code
            log.info("transaction attempt %d: %d in %.0f ms", attempt, status, elapsed)
            if 200 <= status < 300:
                return TransactionOutcome(_read_response(response, bundle), attempt)
            if status not in RETRY_STATUSES:
                raise FhirRefused(status_code=status, issues=_summarise(response.json()))
            cause = f"HTTP {status}"
            wait = _retry_after(response.headers, self._now)
            if wait is not None and wait > self.max_retry_after:
                raise FhirUnavailable(
                    attempts=attempt, status_code=status, cause=cause, retry_after=wait
                )
            if attempt < self.max_attempts:
                self._sleep(wait if wait is not None else self._wait(attempt))
        raise FhirUnavailable(attempts=self.max_attempts, status_code=status, cause=cause)


_STATUS = re.compile(r"\s*([1-5]\d\d)(?:\s|$)")
_LOCATION = re.compile(
    r"(?:.*/)?(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


def _read_response(response: net.Response, bundle: Mapping[str, Any]) -> tuple[EntryOutcome, ...]:
    """Check a transaction-response entry by entry against the request (FHIR R4 3.1.0.11).

    The response carries one entry per request entry, in the same order; each
    status must be 2xx, and a ``201`` must say where the resource was created
    (``Type/id``, of the type sent). Anything else raises
    :class:`FhirTransactionFailed` naming each bad entry by position and type.
    """
    body = response.json()
    if (
        not isinstance(body, Mapping)
        or body.get("resourceType") != "Bundle"
        or body.get("type") != "transaction-response"
    ):
        raise FhirResponseInvalid(
            f"FHIR server answered {response.status_code} without a transaction-response Bundle"
        )
    sent = _list(bundle.get("entry"))
    answers = _list(body.get("entry"))
    problems: list[str] = []
    if len(answers) != len(sent):
        problems.append(f"the server answered {len(answers)} entries for {len(sent)} sent")
    outcomes = []
    for index, request_entry in enumerate(sent):
        rtype = _resource_type(request_entry)
        where = f"entry {index} ({rtype})"
        if index >= len(answers):
            problems.append(f"{where}: no answer")
            continue
        entry = answers[index]
        answer = entry.get("response") if isinstance(entry, Mapping) else None
        if not isinstance(answer, Mapping):
            problems.append(f"{where}: the answer has no response")
            continue
        status = answer.get("status")
        match = _STATUS.match(status) if isinstance(status, str) else None
        if match is None:
            problems.append(f"{where}: the status is not an HTTP status code")
            continue
        code = int(match.group(1))
        if not 200 <= code < 300:
            problems.append(f"{where}: status {code}, not written")
            continue
        raw_location = answer.get("location")
        location = raw_location if isinstance(raw_location, str) else None
        found = _LOCATION.fullmatch(location) if location else None
        if code == 201 and (found is None or found.group("type") != rtype):
            problems.append(
                f"{where}: status 201 without a location of the resource created"
                if found is None
                else f"{where}: status 201 with the location of another resource type"
            )
            continue
        outcomes.append(EntryOutcome(status=str(code), location=location if found else None))
    if problems:
        raise FhirTransactionFailed(problems=tuple(problems))
    return tuple(outcomes)


def _resource_type(entry: Any) -> str:
    resource = entry.get("resource") if isinstance(entry, Mapping) else None
    rtype = resource.get("resourceType") if isinstance(resource, Mapping) else None
    return rtype if isinstance(rtype, str) and _TOKEN.fullmatch(rtype) else "?"
