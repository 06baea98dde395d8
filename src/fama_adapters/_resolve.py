"""Private: looking up a server's name within the time left before a deadline.

``socket.getaddrinfo`` (the operating system's resolver) cannot be interrupted
or given a time-out from Python, so a resolver that hangs would hold a request
past its ``--timeout``. :func:`resolve` runs the lookup in a daemon thread and
waits for it at most the time left: the request then fails at its deadline as
any other slow step does. The thread finishes on its own when the resolver
answers; it is a daemon, so it never keeps a finished command alive, and at
most :data:`MAX_LOOKUPS` lookups run at once, so a resolver that hangs for
every name cannot make a long-running ``fama serve`` pile up threads (a lookup
that finds no free slot within the time left fails the same way).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any, cast

__all__ = ["MAX_LOOKUPS", "create_connection", "resolve"]

MAX_LOOKUPS = 16
"""Name lookups in flight at once, across the process."""

_SLOTS = threading.BoundedSemaphore(MAX_LOOKUPS)

Address = tuple[int, int, int, str, Any]
"""One ``getaddrinfo`` answer: family, type, protocol, canonical name, socket address."""


def _getaddrinfo(host: str, port: int) -> list[Address]:
    # looked up on the module each time, so a test can stand in for the resolver
    return cast("list[Address]", socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve(host: str, port: int, timeout: float | None) -> list[Address]:
    """The TCP addresses of ``host``, answered within ``timeout`` seconds (None: no limit).

    An address literal is answered at once. Raises :class:`TimeoutError` when
    the resolver has not answered in time, and what ``getaddrinfo`` raises
    (:class:`socket.gaierror`, an :class:`OSError`) when it fails.
    """
    if _literal(host) or timeout is None:
        return _getaddrinfo(host, port)
    if not _SLOTS.acquire(timeout=max(timeout, 0.0)):
        raise TimeoutError("no name lookup could start within the time left")
    done = threading.Event()
    answer: list[list[Address]] = []
    failure: list[OSError] = []

    def lookup() -> None:
        try:
            answer.append(_getaddrinfo(host, port))
        except OSError as exc:
            failure.append(exc)
        except Exception as exc:  # noqa: BLE001 - a broken resolver is a failed lookup
            failure.append(OSError(type(exc).__name__))
        finally:
            _SLOTS.release()
            done.set()

    threading.Thread(target=lookup, name="fama-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError("the server's name was not resolved within the time left")
    if failure:
        raise failure[0]
    return answer[0]


def create_connection(host: str, port: int, timeout: float) -> socket.socket:
    """``socket.create_connection`` with the name lookup inside ``timeout`` as well.

    Each address is tried in the resolver's order with the time left; the last
    failure is raised when none connects (:class:`TimeoutError` when time ran out).
    """
    until = time.monotonic() + timeout
    last: OSError | None = None
    for family, kind, proto, _name, sockaddr in resolve(host, port, timeout):
        left = until - time.monotonic()
        if left <= 0:
            raise TimeoutError("no connection within the time left")
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise last or OSError("the name has no address")
