"""The access audit: who read or changed which client, when; kept apart from application logs.

One JSON object per line, appended to its own file (``fama serve --audit``),
never to the ``logging`` tree, so an operator can ship application logs to a
log service without shipping the names of the clients each person opened.
Each line carries the time (UTC), the token id and name, agency and role, the
action, the client (pseudonymous key) when there is one, the HTTP status and
the request id that the response also carries in ``X-Request-ID``. No event
content, free text or query value is ever written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

__all__ = ["AccessAudit", "AuditEntry"]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the access audit."""

    request_id: str
    action: str
    status: int
    token: str | None
    """The token's id (never the token); ``None`` when no valid token was presented."""
    name: str | None
    agency: str | None
    role: str | None
    client: str | None = None
    detail: str | None = None
    """A fixed word for what else was asked (``reveal`` …), never a value from the request."""

    def as_json(self) -> dict[str, object]:
        """The line as a JSON-ready dict, stamped with the time now (UTC)."""
        return {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "request_id": self.request_id,
            "token": self.token,
            "name": self.name,
            "agency": self.agency,
            "role": self.role,
            "action": self.action,
            "client": self.client,
            "detail": self.detail,
            "status": self.status,
        }


class AccessAudit:
    """Appends :class:`AuditEntry` lines to a file (or a stream, for tests and ``-``)."""

    def __init__(self, target: str | os.PathLike[str] | TextIO) -> None:
        self._lock = threading.Lock()
        if isinstance(target, str | os.PathLike):
            path = Path(target)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._stream: TextIO = os.fdopen(fd, "a", encoding="utf-8")
            self._owned = True
        else:
            self._stream = target
            self._owned = False

    def write(self, entry: AuditEntry) -> None:
        """Append one line and flush it (an audit line must survive a crash that follows)."""
        line = json.dumps(entry.as_json(), separators=(",", ":")) + "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        """Close the audit file (not a stream the caller passed in)."""
        if self._owned:
            self._stream.close()
