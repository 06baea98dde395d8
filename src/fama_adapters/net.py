"""The one place fama makes HTTP requests from: a deadline, a size limit, safe redirects.

Every HTTP call fama makes (FHIR transactions, meeting feeds) goes through
:func:`request`, which bounds what a hostile or broken server can do:

* **an overall deadline** (:attr:`Limits.deadline`): from the first connect to
  the last byte of the body, redirects included. A server dripping one byte a
  second is cut off at the deadline, not kept alive by each byte. The deadline
  is exact with a client from :func:`http_client` (every socket operation is
  bounded by the time left); with a caller's own ``httpx.Client`` each
  operation is bounded by the time left when the request started and the
  deadline is checked between reads;
* **a maximum body size** (:attr:`Limits.max_bytes`), enforced while streaming:
  a ``Content-Length`` over the limit is refused before reading, and a body is
  never read past the limit;
* **redirects only to the same origin** (scheme, host and port) unless
  :attr:`Limits.cross_origin_redirects` allows more, never from https to http,
  at most :attr:`Limits.max_redirects`; a POST follows only 307 and 308 (which
  keep the method and body);
* **URLs masked** in every message (:func:`mask_url`): user info and query
  parameters whose name looks secret never reach a screen or a log, the HTTP
  libraries' own log records included (a filter on the ``httpx`` and
  ``httpcore`` loggers masks URLs and secret-looking headers).

Errors, all :class:`~fama_core.errors.AdapterError`::

    AdapterError
    ├── InvalidUrl               not an http(s) URL fama can use (bad invocation)
    └── TransportError
        └── NetError             the request failed; ``url`` is masked
            ├── DeadlineExceeded     no complete answer within the deadline
            ├── ResponseTooLarge     the body is over the size limit
            ├── RedirectRefused      a redirect elsewhere, a downgrade, or too many
            └── ConnectionFailed     no connection, or it broke

:func:`check_timeout` and :func:`check_url` validate command-line values
(``--timeout``, ``--base``); :func:`timeout_arg` and :func:`url_arg` are the
same checks as ``argparse`` types, so a bad value is a usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import re
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit

from fama_core.errors import AdapterError, TransportError

if TYPE_CHECKING:  # httpx is imported when a request is made, not to mask a URL
    import ssl

    import httpx

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_TIMEOUT",
    "ConnectionFailed",
    "DeadlineExceeded",
    "InvalidUrl",
    "Limits",
    "NetError",
    "RedirectRefused",
    "Response",
    "ResponseTooLarge",
    "check_timeout",
    "check_url",
    "http_client",
    "mask_url",
    "request",
    "timeout_arg",
    "url_arg",
]

MAX_TIMEOUT = 3600.0
"""The longest ``--timeout`` fama accepts, in seconds (an hour)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one request may take. The defaults are documented in ``docs/network.md``."""

    deadline: float = 30.0
    """Seconds from the first connect to the last byte of the body, redirects included."""
    max_bytes: int = 32 * 1024 * 1024
    """Largest body read, in bytes (after content decoding)."""
    max_redirects: int = 5
    """Redirects followed before giving up."""
    cross_origin_redirects: bool = False
    """Follow redirects to another scheme, host or port (never https to http)."""

    def __post_init__(self) -> None:
        check_timeout(self.deadline)
        if self.max_bytes < 1 or self.max_redirects < 0:
            raise ValueError("max_bytes must be positive and max_redirects not negative")


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, headers, the whole (bounded) body and the final URL."""

    status_code: int
    headers: httpx.Headers
    """The server's headers as they describe :attr:`content`: the codings fama removed are not
    named (no ``Content-Encoding``, ``Transfer-Encoding``) and ``Content-Length`` counts
    :attr:`content`."""
    content: bytes
    url: str
    """Where the answer finally came from (after redirects); not masked, mask it to print."""

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None


# ----------------------------------------------------------------------- errors


class InvalidUrl(AdapterError):
    """A URL fama cannot use. ``what`` names the argument; the URL itself is not quoted."""

    def __init__(self, *, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


class NetError(TransportError):
    """An HTTP request failed; ``url`` is the masked URL, ``reason`` a sentence."""

    def __init__(self, *, url: str, reason: str) -> None:
        self.url = mask_url(url)
        self.reason = reason
        super().__init__(f"{self.url}: {reason}")


class DeadlineExceeded(NetError):
    """No complete answer within the deadline (``deadline`` seconds)."""

    def __init__(self, *, url: str, deadline: float) -> None:
        self.deadline = deadline
        super().__init__(url=url, reason=f"no complete answer within {deadline:g} s")


class ResponseTooLarge(NetError):
    """The body is larger than ``max_bytes``; reading stopped there."""

    def __init__(self, *, url: str, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(url=url, reason=f"the answer is larger than {max_bytes} bytes")


class RedirectRefused(NetError):
    """A redirect fama will not follow (another origin, a downgrade, too many, a bad target)."""


class ConnectionFailed(NetError):
    """No connection could be made, it broke, or an operation timed out before the deadline.

    ``cause`` names the underlying failure (``ConnectError``, ``ReadTimeout`` …).
    """

    def __init__(self, *, url: str, cause: str) -> None:
        self.cause = cause
        super().__init__(url=url, reason=f"the request failed ({cause})")


# ------------------------------------------------------------------- validation


def check_timeout(value: float | str, *, what: str = "--timeout") -> float:
    """A timeout in seconds: a finite number above 0 and at most :data:`MAX_TIMEOUT`.

    Raises :class:`ValueError` naming ``what`` otherwise (``-1``, ``0``, ``nan``,
    ``inf`` are all refused: none of them is a deadline).
    """
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: give a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_TIMEOUT:
        raise ValueError(f"{what}: give a number of seconds above 0 and at most {MAX_TIMEOUT:g}")
    return seconds


def timeout_arg(value: str) -> float:
    """``argparse`` type for ``--timeout``: :func:`check_timeout`, a usage error otherwise."""
    try:
        return check_timeout(value, what="seconds")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def check_url(url: str, *, what: str = "URL") -> str:
    """An absolute http(s) URL with a host, or :class:`InvalidUrl` saying what is wrong.

    The URL is not quoted in the error: it may carry a password or a token.
    """
    if not isinstance(url, str) or not url:
        raise InvalidUrl(what=what, reason="give an http:// or https:// URL")
    if _CONTROL.search(url):
        raise InvalidUrl(what=what, reason="a URL may not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidUrl(
            what=what, reason="not a valid URL (check the host, its brackets and the port)"
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidUrl(what=what, reason="only http:// and https:// URLs are supported")
    if not parts.hostname:
        raise InvalidUrl(what=what, reason="the URL has no host")
    if port == 0:
        raise InvalidUrl(what=what, reason="port 0 is not a port a server listens on")
    return url


def url_arg(value: str) -> str:
    """``argparse`` type for a base or feed URL: :func:`check_url`, a usage error otherwise."""
    try:
        return check_url(value, what="URL")
    except InvalidUrl as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


DEFAULT_LIMITS = Limits()
"""30 s, 32 MiB, 5 redirects on the same origin."""


# ---------------------------------------------------------------------- masking

_SECRET_NAME = re.compile(
    r"pass|pwd|token|key|secret|sig|auth|credential|session|jwt|bearer|cookie|otp|code",
    re.IGNORECASE,
)
_MASK = "***"
_DSN_PAIR = re.compile(r"(\b[a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\s]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _mask_pairs(query: str) -> str:
    if not query:
        return query
    out = []
    for part in query.split("&"):
        name, eq, _value = part.partition("=")
        out.append(f"{name}={_MASK}" if eq and _secret_name(name) else part)
    return "&".join(out)


def _printable(text: str, *, spaces: bool = True) -> str:
    """Percent-encode controls (and spaces) so a URL cannot move a terminal's cursor."""
    pattern = _UNPRINTABLE if spaces else _CONTROLS
    return pattern.sub(lambda m: quote(m.group(), safe=""), text)


def mask_url(url: str) -> str:
    """``url`` safe to print: user info and secret-looking query parameters masked.

    * ``user:password@`` becomes ``user:***@``; in an http(s) URL a user name
      alone becomes ``***@`` too (a token is often sent as the user name), while
      elsewhere (``postgresql://fama@db``) a user name alone is a role and kept;
    * a query or fragment parameter whose name contains ``pass``, ``pwd``,
      ``token``, ``key``, ``secret``, ``sig``, ``auth``, ``credential``,
      ``session``, ``jwt``, ``bearer``, ``cookie``, ``otp`` or ``code`` keeps
      its name and loses its value;
    * a libpq keyword/value string (``host=db password=…``) is masked the same
      way, key by key;
    * controls and spaces are percent-encoded. The URL is masked as text, never
      parsed and rebuilt, so a URL too broken to parse is masked all the same.

    >>> mask_url("https://ann:pw@feeds.example/meetings?key=abc&day=1")
    'https://ann:***@feeds.example/meetings?key=***&day=1'
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        if "=" in url:  # libpq "keyword=value ..." connection string
            return _printable(_DSN_PAIR.sub(_mask_dsn_pair, url), spaces=False)
        return _printable(url)
    cut = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if 0 <= found < cut:
            cut = found
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        userinfo, _, hostport = authority.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            authority = f"{user}:{_MASK}@{hostport}"
        elif scheme.lower() in ("http", "https"):
            authority = f"{_MASK}@{hostport}"
    path, fragment_mark, fragment = tail.partition("#")
    path, query_mark, query = path.partition("?")
    if "=" in fragment:
        fragment = _mask_pairs(fragment)
    masked = (
        f"{scheme}://{authority}{path}{query_mark}{_mask_pairs(query)}{fragment_mark}{fragment}"
    )
    return _printable(masked)


def _mask_dsn_pair(match: re.Match[str]) -> str:
    return f"{match.group(1)}={_MASK}" if _secret_name(match.group(1)) else match.group(0)


# --------------------------------------------------------------- library logs

_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s'"<>]+""")
_HEADER_IN_TEXT = re.compile(r"""\(b'([^']{1,100})', b'([^']*)'\)""")
_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
"""The loggers of the HTTP libraries under :func:`request` (httpx logs each URL at INFO)."""


def _mask_header(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    if _secret_name(name):
        value = _MASK
    elif name.lower() in ("location", "content-location") and "://" not in value:
        path, mark, query = value.partition("?")  # a relative reference: mask its query
        value = path + mark + _mask_pairs(query)
    return f"(b'{name}', b'{value}')"


def _mask_text(text: str) -> str:
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group()), text)
    return _HEADER_IN_TEXT.sub(_mask_header, text)


class _MaskSecrets(logging.Filter):
    """Masks URLs and secret-looking headers in the HTTP libraries' own log records.

    httpx logs every request's URL at INFO (``HTTP Request: GET https://…?token=…``)
    and httpcore every response's headers at DEBUG (``Set-Cookie``, a ``Location``
    with a token): a host that turns logging up must not find a secret there.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_mask_text(str(a)) if "://" in str(a) else a for a in record.args)
        if isinstance(record.msg, str) and ("://" in record.msg or "b'" in record.msg):
            record.msg = _mask_text(record.msg)
        return True


def _install_log_masking() -> None:
    for name in _HTTP_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, _MaskSecrets) for f in target.filters):
            target.addFilter(_MaskSecrets())


_install_log_masking()


def http_client(*, proxy: str | None = None, verify: bool | ssl.SSLContext = True) -> httpx.Client:
    """An ``httpx.Client`` on which :func:`request` enforces its deadline exactly.

    ``verify`` is httpx's: ``True`` (the system's CA certificates, through
    certifi), or an ``ssl.SSLContext`` (a hospital's own CA). Environment proxies
    are not read (a transport of one's own turns them off in httpx); give
    ``proxy`` to use one.
    """
    from fama_adapters._deadline import deadline_client

    return deadline_client(proxy=proxy, verify=verify)


# ---------------------------------------------------------------------- request

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80 if scheme == "http" else None)
    return scheme, (parts.hostname or "").lower(), port


def _redirect_target(current: str, response: httpx.Response, method: str, limits: Limits) -> str:
    location = response.headers.get("Location")
    if not location:
        raise RedirectRefused(url=current, reason="a redirect without a Location")
    try:
        target = check_url(urljoin(current, location.strip()), what="redirect")
    except InvalidUrl as exc:
        raise RedirectRefused(
            url=current, reason=f"a redirect to a bad URL ({exc.reason})"
        ) from None
    if method != "GET" and response.status_code not in (307, 308):
        raise RedirectRefused(
            url=current,
            reason=f"HTTP {response.status_code} would turn the {method} into a GET; "
            "give the new URL instead",
        )
    here, there = _origin(current), _origin(target)
    if here[0] == "https" and there[0] != "https":
        raise RedirectRefused(url=current, reason="a redirect from https to http")
    if here != there and not limits.cross_origin_redirects:
        raise RedirectRefused(
            url=current,
            reason=f"a redirect to another origin ({mask_url(target)}) is not followed",
        )
    return target


_PIECE = 64 * 1024
"""The most one content-decoding step hands on at a time, in bytes."""
_MAX_CODINGS = 2
"""Content codings read on one answer (``gzip, gzip`` is legal; a deeper stack is an attack)."""
_ACCEPT_ENCODING = "gzip, deflate"
"""The content codings fama asks for and decodes itself, bounded (:func:`_decoders`)."""


class _Inflate:
    """One gzip or deflate layer, decoded in pieces of at most :data:`_PIECE` bytes.

    httpx decodes each network chunk whole: 64 kB of ``gzip`` can become 64 MB,
    and ``gzip, gzip`` turns a few hundred bytes into gigabytes before any size
    limit is looked at. Here no step ever produces more than one piece.
    """

    def __init__(self, coding: str) -> None:
        self.coding = coding
        # deflate is meant to be zlib-wrapped, but servers send it raw too (as httpx allows)
        self._wbits = 16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._d = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (raises :class:`zlib.error` on a broken stream)."""
        while True:
            if self._d.eof:
                return  # bytes after the end of the stream are ignored, as httpx does
            try:
                out = self._d.decompress(data, _PIECE)
            except zlib.error:
                if self._started or self._wbits != zlib.MAX_WBITS:
                    raise
                self._wbits = -zlib.MAX_WBITS  # raw deflate, without the zlib header
                self._d = zlib.decompressobj(self._wbits)
                out = self._d.decompress(data, _PIECE)
            self._started = True
            if out:
                yield out
            data = self._d.unconsumed_tail
            if not data and len(out) < _PIECE:
                return


def _decoders(response: httpx.Response, url: str) -> list[_Inflate]:
    """The decoders for the answer's ``Content-Encoding``, outermost coding first."""
    names = [
        n.strip().lower()
        for n in response.headers.get("Content-Encoding", "").split(",")
        if n.strip() and n.strip().lower() != "identity"
    ]
    if len(names) > _MAX_CODINGS:
        raise NetError(url=url, reason=f"the answer is encoded more than {_MAX_CODINGS} times")
    if any(n not in ("gzip", "x-gzip", "deflate") for n in names):
        # the coding's name comes from the server: it is not repeated
        raise NetError(
            url=url, reason="the answer uses a content coding fama does not read (not gzip)"
        )
    return [_Inflate(n) for n in reversed(names)]


def _decoded(chunk: bytes, decoders: list[_Inflate]) -> Iterator[bytes]:
    """``chunk`` through every decoder, lazily: at most one piece per layer is held."""
    pieces: Iterator[bytes] = iter((chunk,))
    for decoder in decoders:
        pieces = _through(decoder, pieces)
    return pieces


def _through(decoder: _Inflate, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)


def _with_accept_encoding(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's headers, asking for only the codings :func:`_read_body` decodes."""
    out = dict(headers or {})
    if not any(name.lower() == "accept-encoding" for name in out):
        out["Accept-Encoding"] = _ACCEPT_ENCODING
    return out


def _read_body(response: httpx.Response, url: str, limits: Limits) -> bytes:
    from fama_adapters._deadline import expired

    declared = response.headers.get("Content-Length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limits.max_bytes:
        raise ResponseTooLarge(url=url, max_bytes=limits.max_bytes)
    import httpx

    try:
        # A transport that read the body itself (httpx.MockTransport) hands it over decoded.
        chunks: Iterable[bytes] = (response.content,)
        decoders: list[_Inflate] = []
    except httpx.ResponseNotRead:
        # Raw bytes, decoded here in bounded pieces, so the limit holds on what is decoded.
        chunks = response.iter_raw()
        decoders = _decoders(response, url)
    body = bytearray()
    try:
        for chunk in chunks:
            for piece in _decoded(chunk, decoders) if decoders else (chunk,):
                body += piece
                if len(body) > limits.max_bytes:
                    raise ResponseTooLarge(url=url, max_bytes=limits.max_bytes)
            if expired():
                raise DeadlineExceeded(url=url, deadline=limits.deadline)
    except zlib.error:
        raise NetError(url=url, reason="the answer's gzip or deflate coding is broken") from None
    return bytes(body)


def _describing(headers: httpx.Headers, body: bytes, method: str) -> httpx.Headers:
    """The answer's headers, as they describe the body fama hands on (decision E3).

    fama hands on the whole body, decoded: the content and transfer codings it
    removed are no longer named (``Content-Encoding``, ``Transfer-Encoding``), and
    ``Content-Length`` then counts the bytes handed on. A caller who saw
    ``Content-Encoding: gzip`` would otherwise inflate the body a second time, or
    trust a length that is the wire's. The answer to a ``HEAD`` has no body, so its
    ``Content-Length`` is dropped when it counted coded bytes.
    """
    coded = any(
        n.strip() and n.strip().lower() != "identity"
        for v in headers.get_list("Content-Encoding")
        for n in v.split(",")
    )
    framed = "Transfer-Encoding" in headers
    if not coded and not framed and "Content-Encoding" not in headers:
        return headers
    out = headers.copy()
    for name in ("Content-Encoding", "Transfer-Encoding"):
        if name in out:
            del out[name]
    if method == "HEAD":
        if coded and "Content-Length" in out:
            del out["Content-Length"]
    elif coded or framed:
        out["Content-Length"] = str(len(body))
    return out


def _within(timeout: httpx.Timeout, remaining: float) -> httpx.Timeout:
    """The client's own time-outs, none longer than the time left."""
    import httpx

    def cut(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return httpx.Timeout(
        connect=cut(timeout.connect),
        read=cut(timeout.read),
        write=cut(timeout.write),
        pool=cut(timeout.pool),
    )


def request(
    method: str,
    url: str,
    *,
    client: httpx.Client | None = None,
    limits: Limits = DEFAULT_LIMITS,
    content: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Make one HTTP request within ``limits`` and return the complete response.

    Any status is returned (the caller decides what a 4xx means); a body, a
    redirect chain or a wait beyond the limits raises a :class:`NetError`
    subclass naming the masked URL. Without ``client`` a fresh
    :func:`http_client` is used and closed.
    """
    import httpx

    from fama_adapters._deadline import deadline

    check_url(url)
    method = method.upper()
    if client is None:
        with http_client() as own:
            return request(method, url, client=own, limits=limits, content=content, headers=headers)
    at = time.monotonic() + limits.deadline
    current = url
    with deadline(at):
        for _hop in range(limits.max_redirects + 1):
            remaining = at - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(url=current, deadline=limits.deadline)
            try:
                asked = client.build_request(
                    method,
                    current,
                    content=content,
                    headers=_with_accept_encoding(headers),
                    timeout=_within(client.timeout, remaining),
                )
            except (httpx.InvalidURL, UnicodeError):
                # Neither is an httpx.HTTPError: a host whose IDNA A-label is invalid
                # (xn--zz) raises idna's IDNAError, a UnicodeError, from here.
                raise ConnectionFailed(url=current, cause="InvalidURL") from None
            try:
                try:
                    answer = client.send(asked, stream=True, follow_redirects=False)
                except (httpx.InvalidURL, UnicodeError):
                    # httpx parses a redirect's Location even when not following it: a
                    # server's "Location: javascript:1" raised InvalidURL out of request(),
                    # "Location: http://xn--zz.invalid/" idna's IDNAError (a UnicodeError).
                    raise RedirectRefused(
                        url=current, reason="a redirect to a URL that cannot be used"
                    ) from None
                with contextlib.closing(answer) as response:
                    if response.status_code in _REDIRECTS:
                        current = _redirect_target(current, response, method, limits)
                        continue
                    body = _read_body(response, current, limits)
                    headers = _describing(response.headers, body, method)
                    return Response(response.status_code, headers, body, current)
            except httpx.TimeoutException as exc:
                # Every operation is bounded by the time left, so a time-out at the
                # deadline is the deadline; an earlier one is the client's own time-out.
                if time.monotonic() >= at - 0.01:
                    raise DeadlineExceeded(url=current, deadline=limits.deadline) from None
                raise ConnectionFailed(url=current, cause=type(exc).__name__) from None
            except httpx.HTTPError as exc:
                raise ConnectionFailed(url=current, cause=type(exc).__name__) from None
    raise RedirectRefused(url=url, reason=f"more than {limits.max_redirects} redirects")
