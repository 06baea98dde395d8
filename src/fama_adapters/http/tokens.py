"""Bearer tokens for ``fama serve``: issued once, stored hashed, each bound to one agency and role.

A token is ``fama_`` followed by 43 URL-safe characters (256 random bits),
shown once when issued and never stored: the token file keeps its SHA-256
digest. A slow password hash buys nothing for a secret this long (nobody can
guess 256 bits, however fast the hash) and would cost every request.

The token file is JSON, written with mode 0600::

    {"format": 1, "tokens": [{"id": "t-3f2a9c1d", "name": "kw-7 laptop",
      "agency": "AG001", "role": "keyworker", "sha256": "…", "issued_at": "…"}]}

Roles (what each may do is :data:`PERMISSIONS`):

* ``keyworker`` records events and reads the clients of its agency;
* ``data_lead`` does the same, produces NDTMS extracts, and alone erases a client, exports
  what is held about one (subject access) and verifies the log;
* ``commissioner`` sees aggregate figures only, never a client.

The service re-reads the file when it changes, so a revoked token stops
working without a restart.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from fama_core import safe_json
from fama_core.context import AGENCY_CODE
from fama_core.errors import FamaError, InputUnreadable

__all__ = [
    "AGENCY_PATTERN",
    "PERMISSIONS",
    "Action",
    "Role",
    "TokenError",
    "TokenFile",
    "TokenRecord",
    "hash_token",
]

AGENCY_PATTERN = AGENCY_CODE
"""An agency code (NDTMS ``AGNCY``, :data:`fama_core.context.AGENCY_CODE`): letters and digits,
so it is safe in a store URL or path. Use ``fullmatch``."""

_TOKEN_PREFIX = "fama_"
_TOKEN_ID = re.compile(r"t-[0-9a-f]{1,16}")
"""What a token id looks like (``t-`` and hex), the only form an error repeats."""


class TokenError(FamaError):
    """The token file is unreadable, or a token request is malformed (never says which token)."""


class Role(enum.StrEnum):
    """Who a token speaks for."""

    KEYWORKER = "keyworker"
    DATA_LEAD = "data_lead"
    COMMISSIONER = "commissioner"


class Action(enum.StrEnum):
    """What a request does, as the permissions table and the access audit name it."""

    RECORD = "record"
    READ_CLIENT = "read_client"
    EXPORT = "export"
    MATCH = "match"
    REPORT = "report"
    ERASE = "erase"
    SUBJECT_ACCESS = "subject_access"
    VERIFY = "verify"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.KEYWORKER: frozenset({Action.RECORD, Action.READ_CLIENT, Action.MATCH}),
    Role.DATA_LEAD: frozenset(
        {
            Action.RECORD,
            Action.READ_CLIENT,
            Action.MATCH,
            Action.EXPORT,
            Action.REPORT,
            Action.ERASE,
            Action.SUBJECT_ACCESS,
            Action.VERIFY,
        }
    ),
    Role.COMMISSIONER: frozenset({Action.REPORT}),
}
"""What each role may do. A commissioner never reads or writes a client.

Erasure, subject access exports and log verification are the data lead's alone: they
answer to the organisation's data protection duties (an erasure cannot be undone, an
export hides nothing, a verification names every client whose chain is broken), not to a
keyworker's casework (docs/decisions.md, P8)."""


def hash_token(token: str) -> str:
    """The SHA-256 hex digest a token file stores for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One issued token as the file keeps it (no secret)."""

    id: str
    name: str
    agency: str
    role: Role
    sha256: str
    issued_at: str

    def as_json(self) -> dict[str, str]:
        """The record as the token file stores it."""
        return {
            "id": self.id,
            "name": self.name,
            "agency": self.agency,
            "role": self.role.value,
            "sha256": self.sha256,
            "issued_at": self.issued_at,
        }


def _record(item: object, n: int) -> TokenRecord:
    if not isinstance(item, dict):
        raise TokenError(f"token file: entry {n} is not an object")
    try:
        record = TokenRecord(
            id=str(item["id"]),
            name=str(item.get("name", "")),
            agency=str(item["agency"]),
            role=Role(item["role"]),
            sha256=str(item["sha256"]),
            issued_at=str(item.get("issued_at", "")),
        )
    except KeyError as exc:
        raise TokenError(f"token file: entry {n} has no {exc.args[0]}") from None
    except ValueError:
        raise TokenError(f"token file: entry {n} has an unknown role") from None
    if not AGENCY_PATTERN.fullmatch(record.agency):
        raise TokenError(f"token file: entry {n} has an agency code that is not 1-16 letters")
    if not re.fullmatch(r"[0-9a-f]{64}", record.sha256):
        raise TokenError(f"token file: entry {n} has no SHA-256 digest")
    if record.issued_at:  # printed by `fama tokens list`: never an arbitrary value
        try:
            dt.datetime.fromisoformat(record.issued_at)
        except ValueError:
            raise TokenError(
                f"token file: entry {n} has an issue time that is not a date"
            ) from None
    return record


class TokenFile:
    """The token file: issue, list, revoke, and look up a presented token.

    Lookups re-read the file when its modification time or size changed.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._by_hash: dict[str, TokenRecord] = {}

    # ---------------------------------------------------------------- reading

    def records(self) -> list[TokenRecord]:
        """Every token in the file (an empty list when the file does not exist)."""
        if not self.path.exists():
            return []
        try:
            raw = safe_json.loads(self.path.read_bytes(), source=self.path.name)
        except OSError as exc:  # the CLI tells a path it cannot open (exit 2) by this cause
            raise TokenError(f"token file {self.path} is not readable JSON") from exc
        except InputUnreadable:  # not JSON, nested too deeply (a RecursionError before)
            raise TokenError(f"token file {self.path} is not readable JSON") from None
        items = raw.get("tokens") if isinstance(raw, dict) else None
        if not isinstance(items, list):
            raise TokenError(f"token file {self.path} has no tokens list")
        records = [_record(item, n) for n, item in enumerate(items)]
        if len({r.id for r in records}) != len(records):
            raise TokenError(f"token file {self.path} repeats a token id")
        return records

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            seen = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            seen = (0, 0)
        if seen != self._seen:
            self._by_hash = {r.sha256: r for r in self.records()}
            self._seen = seen

    def check(self) -> int:
        """Read the file now (a start-up check); the number of tokens in it."""
        with self._lock:
            self._seen = None
            self._refresh()
            return len(self._by_hash)

    def lookup(self, token: str) -> TokenRecord | None:
        """The record of a presented token, or ``None`` when it is unknown or revoked."""
        if not token.startswith(_TOKEN_PREFIX) or len(token) > 128:
            return None
        digest = hash_token(token)
        with self._lock:
            self._refresh()
            found = self._by_hash.get(digest)
        # compare_digest keeps the final comparison constant-time.
        if found is not None and secrets.compare_digest(found.sha256, digest):
            return found
        return None

    # ---------------------------------------------------------------- writing

    def _write(self, records: list[TokenRecord]) -> None:
        body = json.dumps({"format": 1, "tokens": [r.as_json() for r in records]}, indent=2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body + "\n")
        os.replace(tmp, self.path)

    def issue(self, *, agency: str, role: Role | str, name: str = "") -> tuple[str, TokenRecord]:
        """Add a token; returns ``(token, record)``. The token is shown once, never stored."""
        if not AGENCY_PATTERN.fullmatch(agency):
            raise TokenError("an agency code is 1 to 16 letters or digits (NDTMS AGNCY)")
        try:
            role = Role(role)
        except ValueError:
            raise TokenError(
                "unknown role; choose one of " + ", ".join(r.value for r in Role)
            ) from None
        if len(name) > 80:
            raise TokenError("a token name is at most 80 characters")
        with self._lock:
            records = self.records()
            token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
            record = TokenRecord(
                id="t-" + secrets.token_hex(4),
                name=name,
                agency=agency,
                role=role,
                sha256=hash_token(token),
                issued_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
            self._write([*records, record])
            self._seen = None
        return token, record

    def revoke(self, token_id: str) -> TokenRecord:
        """Remove the token with id ``token_id``; :class:`TokenError` when there is none."""
        with self._lock:
            records = self.records()
            kept = [r for r in records if r.id != token_id]
            if len(kept) == len(records):
                # The id is echoed only when it looks like one: what was typed may be the
                # bearer token itself, pasted by mistake, and a secret must not be printed.
                shown = token_id if _TOKEN_ID.fullmatch(token_id) else "given"
                raise TokenError(
                    f"no token has the id {shown} (ids look like t-1a2b3c4d: fama tokens list)"
                )
            self._write(kept)
            self._seen = None
        return next(r for r in records if r.id == token_id)
