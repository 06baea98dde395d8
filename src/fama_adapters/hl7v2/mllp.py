"""An MLLP client: send HL7 v2 messages over TCP and check each acknowledgement.

MLLP (HL7 v2.5, appendix C, minimal lower layer protocol) frames a message as
``<VT> message <FS><CR>``. The receiver answers with an ACK whose MSA-1 says:

* ``AA`` / ``CA`` accepted: :meth:`MllpClient.send` returns the :class:`Ack`;
* ``AE`` / ``CE`` application error: the content is wrong, resending the same
  content cannot help, so :class:`AckRejected` is raised at once;
* ``AR`` / ``CR`` reject: the receiver would not take it now; the *same*
  message (same control id, so the receiver can drop a duplicate) is resent up
  to ``retries`` times, then :class:`AckRejected` is raised.

No answer within ``timeout`` seconds, a dropped connection, or an ACK for
another control id: the connection is closed and the same message resent;
after ``retries`` the last failure is a :class:`~fama_core.errors.TransportError`.
The connection is kept between messages; many receivers close it after each
ACK, so a kept connection found closed is reopened before sending, and a
message lost to a connection that closed just then is resent at once (once per
message, not counted as a retry).
Message content is never logged or put in an error.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from fama_adapters.hl7v2.er7 import parse
from fama_core.errors import MappingError, TransportError

__all__ = ["END_BLOCK", "START_BLOCK", "Ack", "AckRejected", "MllpClient", "frame"]

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"


def frame(message: str) -> bytes:
    """Wrap one ER7 message in MLLP start and end blocks."""
    return START_BLOCK + message.encode("utf-8") + END_BLOCK


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: MSA-1 code, MSA-2 control id acknowledged, MSA-3 text."""

    code: str
    control_id: str
    text: str = ""

    @property
    def accepted(self) -> bool:
        """AA or CA."""
        return self.code in ("AA", "CA")


class AckRejected(TransportError):
    """The receiver answered AE/AR (or CE/CR). ``code`` and ``control_id`` say which."""

    def __init__(self, *, code: str, control_id: str, attempts: int) -> None:
        self.code = code
        self.control_id = control_id
        self.attempts = attempts
        kind = "error" if code in ("AE", "CE") else "reject"
        super().__init__(
            f"message {control_id}: receiver answered {code} (application {kind}) "
            f"after {attempts} attempt(s)"
        )


class _Retry(Exception):
    """Internal: this attempt failed in a way a resend may cure."""

    def __init__(self, reason: str, *, stale: bool = False) -> None:
        self.reason = reason
        self.stale = stale
        """The kept connection had been closed by the receiver before anything came back."""


class MllpClient:
    """A blocking MLLP client for one receiver; use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a later send reconnects)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer = b""

    def _peer_closed(self) -> bool:
        """Whether the receiver closed the kept connection (many close after each ACK)."""
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], 0)
        if not readable:
            return False
        try:
            return self._sock.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _connect(self) -> socket.socket:
        if self._sock is not None and not self._buffer and self._peer_closed():
            self.close()
        if self._sock is None:
            try:
                self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            except OSError as exc:
                raise _Retry(f"cannot connect ({type(exc).__name__})") from None
            self._sock.settimeout(self.timeout)
        return self._sock

    def _read_frame(self, sock: socket.socket) -> bytes:
        deadline = time.monotonic() + self.timeout
        while END_BLOCK not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Retry(f"no acknowledgement within {self.timeout:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise _Retry(f"no acknowledgement within {self.timeout:g} s") from None
            except OSError as exc:
                raise _Retry(f"connection failed ({type(exc).__name__})") from None
            if not chunk:
                raise _Retry("connection closed before the acknowledgement")
            self._buffer += chunk
        data, _, self._buffer = self._buffer.partition(END_BLOCK)
        start = data.find(START_BLOCK)
        return data[start + 1 :] if start >= 0 else data

    def _attempt(self, payload: bytes, control_id: str) -> Ack:
        reused = self._sock is not None
        sock = self._connect()
        try:
            sock.sendall(payload)
        except OSError as exc:
            raise _Retry(f"send failed ({type(exc).__name__})", stale=reused) from None
        try:
            raw = self._read_frame(sock)
        except _Retry as retry:
            # A receiver that closes after each ACK can race our check in _connect: the
            # message went to a closed connection and was never read. Not a real attempt.
            closed = retry.reason.startswith(("connection closed", "connection failed"))
            raise _Retry(retry.reason, stale=reused and closed and not self._buffer) from None
        try:
            msg = parse(raw)
        except (MappingError, UnicodeDecodeError):
            raise _Retry("the acknowledgement is not an HL7 message") from None
        msa = msg.first("MSA")
        if msa is None:
            raise _Retry("the acknowledgement has no MSA segment")
        ack = Ack(msa.get(1), msa.get(2), msa.get(3))
        if ack.control_id != control_id:
            raise _Retry("the acknowledgement is for another message")
        return ack

    def send(self, message: str) -> Ack:
        """Send one ER7 message and wait for its accepting ACK (see the module docstring)."""
        control_id = parse(message).control_id
        if not control_id:
            raise MappingError("MSH-10: a message to send needs a control id")
        payload = frame(message)
        attempts = 0
        last = ""
        stale_retried = False
        while attempts <= self.retries:
            if attempts and self.backoff:
                time.sleep(self.backoff * attempts)
            attempts += 1
            try:
                ack = self._attempt(payload, control_id)
            except _Retry as retry:
                self.close()
                last = retry.reason
                if retry.stale and not stale_retried:
                    stale_retried = True  # reconnect and resend at once, once per message
                    attempts -= 1
                continue
            if ack.accepted:
                return ack
            if ack.code in ("AE", "CE"):
                raise AckRejected(code=ack.code, control_id=control_id, attempts=attempts)
            if ack.code in ("AR", "CR"):
                last = ack.code
                continue
            self.close()
            last = "the acknowledgement code is not one of AA, AE, AR, CA, CE, CR"
        if last in ("AR", "CR"):
            raise AckRejected(code=last, control_id=control_id, attempts=attempts)
        raise TransportError(f"message {control_id}: {last} after {attempts} attempt(s)")
