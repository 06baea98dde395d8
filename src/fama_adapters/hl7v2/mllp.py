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

import re
import select
import socket
import time
from dataclasses import dataclass
from types import TracebackType

from fama_adapters._resolve import create_connection
from fama_adapters.hl7v2.er7 import ParsedMessage, declared_codec, parse
from fama_core.errors import MappingError, TransportError

__all__ = [
    "END_BLOCK",
    "FRAMING_BYTE",
    "MAX_ACK_BYTES",
    "START_BLOCK",
    "Ack",
    "AckRejected",
    "MllpClient",
    "ack_reason",
    "frame",
]

MAX_ACK_BYTES = 1024 * 1024
"""The largest acknowledgement read; a receiver sending more without an end block is cut off."""

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"


def frame(message: str) -> bytes:
    """Wrap one ER7 message in MLLP start and end blocks, in the character set MSH-18 declares.

    A message carrying a start (VT, 0x0B) or end (FS, 0x1C) block byte is
    refused with :class:`~fama_core.errors.MappingError`: framed, it would end
    early and what follows would reach the receiver as a message of its own.
    fama's encoder escapes both (``\\X0B\\``, ``\\X1C\\``); a message that still
    has one was made or changed elsewhere. A message declaring ISO 8859-1 (or -15)
    is sent as Latin-1, the bytes it was read from; one with a character that
    set cannot hold is refused (MSH-18), never sent as UTF-8 under a Latin-1 label.
    """
    if "\x0b" in message or "\x1c" in message:
        raise MappingError(FRAMING_BYTE)
    try:
        body = message.encode(declared_codec(message))
    except UnicodeEncodeError:
        raise MappingError(
            "MSH-18: the message declares ISO 8859-1 but holds characters outside it; "
            "it was not sent"
        ) from None
    return START_BLOCK + body + END_BLOCK


FRAMING_BYTE = (
    "the message contains an MLLP framing byte (VT 0x0B or FS 0x1C), which would split "
    "its frame; it was not sent"
)
"""Why a message carrying a framing byte is refused (sending and reading alike)."""


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: MSA-1 code, MSA-2 control id acknowledged, MSA-3 text.

    ``reason`` is what the receiver said about a refusal, made safe to print
    (:func:`ack_reason`): the ERR segments' codes and locations and MSA-3's
    text, quoted, without control characters, cut to a line.
    """

    code: str
    control_id: str
    text: str = ""
    reason: str = ""

    @property
    def accepted(self) -> bool:
        """AA or CA."""
        return self.code in ("AA", "CA")


class AckRejected(TransportError):
    """The receiver answered AE/AR (or CE/CR). ``code``, ``control_id`` and ``reason`` say which.

    ``reason`` is the receiver's own account (ERR-3 code, ERR-2 location, ERR-4
    severity, MSA-3 text), sanitised by :func:`ack_reason`; empty when it gave none.
    """

    def __init__(self, *, code: str, control_id: str, attempts: int, reason: str = "") -> None:
        self.code = code
        self.control_id = control_id
        self.attempts = attempts
        self.reason = reason
        kind = "error" if code in ("AE", "CE") else "reject"
        said = f": {reason}" if reason else ""
        super().__init__(
            f"message {_shown_id(control_id)}: receiver answered {code} (application {kind}) "
            f"after {attempts} attempt(s){said}"
        )


_SAFE_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,20}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_REASON_TEXT = 120
"""Characters of a receiver's free text shown at most."""


def _quoted(text: str) -> str:
    """A receiver's free text as one printable, quoted line of bounded length."""
    flat = " ".join(_UNPRINTABLE.sub(" ", text).split())
    if len(flat) > _REASON_TEXT:
        flat = flat[: _REASON_TEXT - 1] + "…"
    return '"' + flat.replace('"', "'") + '"'


def _code(value: str) -> str:
    return value if _SAFE_CODE.fullmatch(value) else "?"


_SAFE_CONTROL_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def _shown_id(control_id: str) -> str:
    """MSH-10 as an error message may show it: an id, or ``(not an id)``.

    MSH-10 is the sender's free text as far as the wire goes; one that is not an
    id may be a name, or escape sequences that would drive the terminal printing it.
    """
    return control_id if _SAFE_CONTROL_ID.fullmatch(control_id) else "(not an id)"


def ack_reason(msg: ParsedMessage) -> str:
    """Why a receiver refused a message, safe to print: codes as codes, text quoted.

    Each ERR segment gives ERR-3 (HL7 error code, table 0357, and its text),
    ERR-2 (segment^sequence^field) and ERR-4 (severity); v2.3-style ERR-1
    (segment^sequence^field^code) is read too. MSA-3 adds its text. A code is
    shown only when it looks like one; text is quoted on one line, control and
    bidirectional-override characters replaced, at most 120 characters: the
    receiver's words may echo a value from the message, so they are never
    printed as if they were fama's.
    """
    parts: list[str] = []
    for err in msg.all("ERR"):
        code, text = err.get(3, 1), err.get(3, 2)
        where = [err.get(2, 1), err.get(2, 2), err.get(2, 3)]
        if not code and err.get(1, 4):  # HL7 v2.3 ERR-1: location and code in one field
            code, text = err.get(1, 4, 1), err.get(1, 4, 2)
            where = [err.get(1, 1), err.get(1, 2), err.get(1, 3)]
        bits = []
        if code:
            bits.append(f"error {_code(code)}" + (f" {_quoted(text)}" if text else ""))
        if any(where):
            bits.append("at " + "-".join(_code(w) for w in where if w))
        severity = err.get(4)
        if severity:
            bits.append(f"severity {_code(severity)}")
        if bits:
            parts.append(" ".join(bits))
    msa = msg.first("MSA")
    text = msa.get(3) if msa is not None else ""
    if text:
        parts.append(_quoted(text))
    return "; ".join(parts)


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
        deadline: float | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline = (
            deadline
            if deadline is not None
            else timeout * (retries + 1) + backoff * retries * (retries + 1) / 2
        )
        """Seconds one :meth:`send` may take in all, attempts and waits included."""
        self._until = 0.0
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

    def _left(self, cap: float) -> float:
        """Seconds for the next operation: ``cap``, cut to what is left of the send's deadline."""
        remaining = self._until - time.monotonic()
        if remaining <= 0:
            raise _Retry(f"no acknowledgement within the deadline of {self.deadline:g} s")
        return min(cap, remaining)

    def _connect(self) -> socket.socket:
        if self._sock is not None and not self._buffer and self._peer_closed():
            self.close()
        if self._sock is None:
            try:
                # the name lookup is bounded too (docs/network.md)
                self._sock = create_connection(self.host, self.port, self._left(self.timeout))
            except OSError as exc:
                raise _Retry(f"cannot connect ({type(exc).__name__})") from None
        self._sock.settimeout(self._left(self.timeout))
        return self._sock

    def _read_frame(self, sock: socket.socket) -> bytes:
        deadline = time.monotonic() + self._left(self.timeout)
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
            if len(self._buffer) > MAX_ACK_BYTES and END_BLOCK not in self._buffer:
                raise _Retry(f"an acknowledgement larger than {MAX_ACK_BYTES} bytes")
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
        ack = Ack(
            msa.get(1),
            msa.get(2),
            msa.get(3),
            "" if msa.get(1) in ("AA", "CA") else ack_reason(msg),
        )
        if ack.control_id != control_id:
            raise _Retry("the acknowledgement is for another message")
        return ack

    def send(self, message: str) -> Ack:
        """Send one ER7 message and wait for its accepting ACK (see the module docstring)."""
        payload = frame(message)  # refuses a framing byte before anything is parsed or sent
        control_id = parse(message).control_id
        if not control_id:
            raise MappingError("MSH-10: a message to send needs a control id")
        self._until = time.monotonic() + self.deadline
        attempts = 0
        last = ""
        reason = ""
        stale_retried = False
        while attempts <= self.retries:
            if attempts and self.backoff:
                wait = self.backoff * attempts
                if time.monotonic() + wait >= self._until:
                    last = f"{last}; no time left for another attempt within {self.deadline:g} s"
                    break
                time.sleep(wait)
            attempts += 1
            try:
                ack = self._attempt(payload, control_id)
            except _Retry as retry:
                self.close()
                last = retry.reason
                if retry.stale and not stale_retried:
                    stale_retried = True  # reconnect and resend at once, once per message
                    attempts -= 1
                if time.monotonic() >= self._until:
                    break
                continue
            if ack.accepted:
                return ack
            if ack.code in ("AE", "CE"):
                raise AckRejected(
                    code=ack.code, control_id=control_id, attempts=attempts, reason=ack.reason
                )
            if ack.code in ("AR", "CR"):
                last, reason = ack.code, ack.reason
                continue
            self.close()
            last = "the acknowledgement code is not one of AA, AE, AR, CA, CE, CR"
        if last in ("AR", "CR"):
            raise AckRejected(code=last, control_id=control_id, attempts=attempts, reason=reason)
        raise TransportError(f"message {_shown_id(control_id)}: {last} after {attempts} attempt(s)")
