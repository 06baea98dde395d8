"""A loopback MLLP receiver for tests and the demo: hl7apy's own MLLP server, validating.

:func:`loopback_receiver` starts ``hl7apy.mllp.MLLPServer`` on 127.0.0.1 (a free
port) in a thread. Each message of a fama structure is parsed by hl7apy at
STRICT validation and answered ``AA``; anything else, or a message hl7apy
refuses, is answered ``AE``. It is an independent peer: none of fama's code
reads the messages it receives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoopbackReceiver", "loopback_receiver"]

_KINDS = (
    "PGL^PC6^PGL_PC6",
    "PGL^PC7^PGL_PC6",
    "PGL^PC8^PGL_PC6",
    "REF^I12^REF_I12",
    "ORU^R01^ORU_R01",
)


@dataclass
class LoopbackReceiver:
    """Where the receiver listens and what it answered (control id, MSA-1 code), in order."""

    host: str
    port: int
    answers: list[tuple[str, str]] = field(default_factory=list)


def _ack(code: str, incoming: str) -> str:
    fields = incoming.split("\r", 1)[0].split("|")
    control_id = fields[9] if len(fields) > 9 else ""
    return (
        "\x0bMSH|^~\\&|LOOPBACK||FAMA||20260101000000+0000||ACK^^ACK|ack-1|P|2.5\r"
        f"MSA|{code}|{control_id}\x1c\r"
    )


@contextmanager
def loopback_receiver() -> Iterator[LoopbackReceiver]:
    """Run the receiver for the ``with`` block; it stops and frees its port afterwards."""
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.mllp import AbstractErrorHandler, AbstractHandler, MLLPServer
    from hl7apy.parser import parse_message

    state = LoopbackReceiver("127.0.0.1", 0)
    lock = threading.Lock()

    def answer(code: str, incoming: str) -> str:
        reply = _ack(code, incoming)
        with lock:
            state.answers.append((reply.split("|")[-1].rstrip("\x1c\r"), code))
        return reply

    class Validate(AbstractHandler):  # type: ignore[misc]
        def reply(self) -> str:
            try:
                parsed: Any = parse_message(
                    self.incoming_message,
                    validation_level=VALIDATION_LEVEL.STRICT,
                    find_groups=True,
                )
                parsed.validate()
            except Exception:  # hl7apy's own verdict: answer AE, as a real receiver would
                return answer("AE", self.incoming_message)
            return answer("AA", self.incoming_message)

    class Refuse(AbstractErrorHandler):  # type: ignore[misc]
        def reply(self) -> str:
            return answer("AE", self.incoming_message)

    handlers: dict[str, tuple[type, ...]] = {kind: (Validate,) for kind in _KINDS}
    handlers["ERR"] = (Refuse,)
    server = MLLPServer("127.0.0.1", 0, handlers, timeout=5)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
