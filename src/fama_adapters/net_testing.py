"""Hostile HTTP servers on loopback, to test what reads through :mod:`fama_adapters.net`.

:class:`LoopbackHttpServer` speaks just enough HTTP/1.1 over raw sockets (so it
can misbehave below the level ``http.server`` allows) and answers each path
with a scripted behaviour:

* :class:`Answer` a status, headers and a body;
* :class:`Drip` a body (or the headers too) one byte every ``interval`` seconds;
* :class:`Huge` ``size`` bytes, with or without a ``Content-Length``;
* :class:`Redirect` a 3xx to a ``Location``.

With ``tls`` (a server-side ``ssl.SSLContext``) it speaks https. It binds
127.0.0.1 only, on a free port, and records each request's method,
path and body (:attr:`LoopbackHttpServer.requests`). A dripping handler stops
when the client goes away or the server is closed.
"""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Answer", "Behaviour", "Drip", "Huge", "LoopbackHttpServer", "Redirect"]


@dataclass(frozen=True)
class Answer:
    """A plain answer, framed by its ``Content-Length``.

    ``headers`` are added (a ``Transfer-Encoding`` among them replaces the
    ``Content-Length``: ``body`` is then sent as given, framed by the test).
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Drip:
    """``body`` sent one byte every ``interval`` seconds; with ``headers_too`` the headers also."""

    body: bytes = b"[" + b" " * 100_000 + b"]"
    interval: float = 0.2
    headers_too: bool = False


@dataclass(frozen=True)
class Huge:
    """``size`` bytes of JSON-ish filler, sent as fast as the client reads."""

    size: int
    declare_length: bool = True


@dataclass(frozen=True)
class Redirect:
    """A redirect."""

    location: str
    status: int = 302


Behaviour = Answer | Drip | Huge | Redirect


def _head(status: int, headers: Mapping[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class LoopbackHttpServer:
    """A threaded loopback server; use it as a context manager. Unknown paths get 404."""

    def __init__(
        self, routes: Mapping[str, Behaviour] | None = None, *, tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes: dict[str, Behaviour] = dict(routes or {})
        self.tls = tls
        """A server-side TLS context: the server speaks https (its URL says so)."""
        self.requests: list[tuple[str, str, bytes]] = []
        self._stop = threading.Event()
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._handle(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._tcp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._tcp.daemon_threads = True
        self._thread = threading.Thread(target=self._tcp.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with ``tls``); add a path."""
        host, port = self._tcp.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def __enter__(self) -> LoopbackHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._tcp.shutdown()
        self._tcp.server_close()
        self._thread.join()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        sock = raw
        try:
            if self.tls is not None:
                sock = self.tls.wrap_socket(raw, server_side=True)
            self._serve(sock)
        except OSError:
            return
        finally:
            if sock is not raw:  # the TLS socket owns the connection now
                sock.close()

    def _serve(self, sock: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        self.requests.append((method, path, body))
        self._answer(sock, self.routes.get(path))

    def _answer(self, sock: socket.socket, behaviour: Behaviour | None) -> None:
        if behaviour is None:
            sock.sendall(_head(404, {"Content-Length": "0", "Connection": "close"}))
        elif isinstance(behaviour, Answer):
            headers = {"Content-Length": str(len(behaviour.body)), "Connection": "close"}
            if any(k.lower() == "transfer-encoding" for k in behaviour.headers):
                del headers["Content-Length"]
            headers.update(behaviour.headers)
            sock.sendall(_head(behaviour.status, headers) + behaviour.body)
        elif isinstance(behaviour, Redirect):
            headers = {"Location": behaviour.location, "Content-Length": "0"}
            headers["Connection"] = "close"
            sock.sendall(_head(behaviour.status, headers))
        elif isinstance(behaviour, Huge):
            headers = {"Content-Type": "application/json", "Connection": "close"}
            if behaviour.declare_length:
                headers["Content-Length"] = str(behaviour.size)
            sock.sendall(_head(200, headers))
            block = b" " * 65536
            left = behaviour.size
            while left > 0 and not self._stop.is_set():
                sock.sendall(block[: min(left, len(block))])
                left -= len(block)
        else:
            head = _head(200, {"Content-Length": str(len(behaviour.body)), "Connection": "close"})
            if not behaviour.headers_too:
                sock.sendall(head)
                head = b""
            for byte in head + behaviour.body:
                if self._stop.wait(behaviour.interval):
                    return
                sock.sendall(bytes([byte]))
