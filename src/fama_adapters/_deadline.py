"""Private: an httpx transport whose every socket operation ends by the request's deadline.

The name lookup included: :func:`fama_adapters._resolve.resolve` waits for the
resolver at most the time left, then each address is connected to in turn.

:mod:`fama_adapters.net` sets the deadline (a context variable) around each
request; httpx and httpcore are imported here, only when a request is made, so
that importing :mod:`fama_adapters.net` for :func:`~fama_adapters.net.mask_url`
stays cheap.
"""

from __future__ import annotations

import contextvars
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

from fama_adapters._resolve import Address, resolve

__all__ = ["deadline", "deadline_client", "expired"]

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "fama_net_deadline", default=None
)


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the current request's deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("the request's deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every read and write ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _addresses(answers: list[Address]) -> list[str]:
    """The address literals of a lookup, in order, each once (IPv6 with its zone)."""
    out: list[str] = []
    for family, _kind, _proto, _name, sockaddr in answers:
        address = str(sockaddr[0])
        if family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3]:
            address = f"{address}%{sockaddr[3]}"
        if address not in out:
            out.append(address)
    return out


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own network backend, with every socket operation bounded by the deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:  # the name lookup counts against the deadline too (docs/network.md)
            addresses = resolve(host, port, _bounded(timeout, httpcore.ConnectTimeout))
        except TimeoutError:
            raise httpcore.ConnectTimeout("the name was not resolved in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(type(exc).__name__) from None
        last: httpcore.ConnectError | None = None
        for address in _addresses(addresses):
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            try:
                inner = self._inner.connect_tcp(
                    address, port, bounded, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # the next address, as create_connection does
                last = exc
                continue
            return _DeadlineStream(inner)
        raise last or httpcore.ConnectError("the name has no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over :class:`_DeadlineBackend`.

    httpx does not take a network backend, so the pool it builds gets one here;
    ``tests/test_net.py`` (the slow-drip server) fails if a new httpx stops
    honouring it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool: Any = self._pool
        pool._network_backend = _DeadlineBackend(pool._network_backend)


def deadline_client(
    *, proxy: str | None = None, verify: bool | ssl.SSLContext = True
) -> httpx.Client:
    """An ``httpx.Client`` whose socket operations honour :func:`deadline`."""
    transport = _DeadlineTransport(proxy=proxy, verify=verify)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False)


def expired() -> bool:
    """Whether the current request's deadline has passed."""
    at = _DEADLINE.get()
    return at is not None and time.monotonic() > at


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every socket operation in the block by ``at`` (a ``time.monotonic()`` value)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)
