"""Erasure by crypto-shredding: each client's personal text is stored encrypted under a key of
its own, kept apart from the events; erasing the client deletes the key.

Which fields are personal text is the core's decision (:mod:`fama_core.personal`:
free text and typed-in names, found from the models); this module does the
cryptography, with AES-256-GCM from the ``cryptography`` package (a
well-kept library: fama writes no cryptographic primitive of its own).

In a stored event each personal text becomes the JSON string
``"fama-enc/1/<base64url(nonce ‖ ciphertext ‖ tag)>"``: a fresh 96-bit nonce
per value, the client and event ids as associated data (so a value moved to
another event or client does not open). Everything else in the event (ids,
codes, dates, counts) stays as written, so the workflow still folds, the
counts and NDTMS history still add up, and the hash chain covers the stored
form: erasing a key changes no stored byte of any event, so chains verify
before and after.

Opening a stored event replaces each token by its text; without the key (an
erased client) by :data:`~fama_core.personal.ERASED`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from fama_adapters.store.integrity import GENESIS, event_hash
from fama_core.errors import StoreError
from fama_core.personal import ERASED, PERSONAL_FIELDS, map_personal_text

__all__ = [
    "TOKEN_PREFIX",
    "KeyCache",
    "erased_form",
    "needs_sealing",
    "new_key",
    "open_payload",
    "reseal_streams",
    "seal_payload",
]

TOKEN_PREFIX: Final = "fama-enc/1/"
"""Marks an encrypted value. ``/`` is in no identifier or code, so no plain value can start so."""

_TOKEN = re.compile(r'"fama-enc/1/([A-Za-z0-9_\-]+={0,2})"')
_NONCE = 12


_LEAVES: Final[dict[str, tuple[str, ...]]] = {
    kind: tuple(sorted({f'"{p.rsplit(".", 1)[-1].removesuffix("[]")}":' for p in paths}))
    for kind, paths in PERSONAL_FIELDS.items()
}


def needs_sealing(kind: str, payload: str) -> bool:
    """Whether an event's JSON may hold personal text: a cheap look for its fields' names,
    so events without any (most of them) are stored without parsing them again."""
    return any(leaf in payload for leaf in _LEAVES.get(kind, ()))


def new_key() -> bytes:
    """A new random 256-bit key for one client."""
    return AESGCM.generate_key(bit_length=256)


class KeyCache:
    """``AESGCM`` objects by key, so a stream's events do not each set one up (bounded)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._ciphers: dict[bytes, AESGCM] = {}

    def __call__(self, key: bytes) -> AESGCM:
        cipher = self._ciphers.get(key)
        if cipher is None:
            if len(self._ciphers) >= self._size:
                self._ciphers.clear()
            cipher = self._ciphers[key] = AESGCM(key)
        return cipher


_CIPHERS = KeyCache()


def _aad(client_id: str, event_id: str) -> bytes:
    return f"{client_id}\x00{event_id}".encode()


def seal_payload(payload: str, key: bytes, client_id: str, event_id: str) -> str:
    """The stored form of one event's JSON: every personal text encrypted under ``key``.

    An event with no personal text is returned as it is.
    """
    data = json.loads(payload)
    cipher = _CIPHERS(key)
    aad = _aad(client_id, event_id)
    changed = False

    def encrypt(text: str) -> str:
        nonlocal changed
        changed = True
        nonce = os.urandom(_NONCE)
        sealed = cipher.encrypt(nonce, text.encode("utf-8"), aad)
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    out = map_personal_text(data, encrypt)
    if not changed:
        return payload
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def open_payload(stored: str, key: bytes | None, client_id: str, event_id: str) -> str:
    """One stored event's JSON with its personal text readable again (or erased, without a key).

    A value that does not open with the client's key was changed outside
    fama: :class:`~fama_core.errors.StoreError` naming the event, not the value.
    """
    if TOKEN_PREFIX not in stored:
        return stored
    if key is None:
        return _TOKEN.sub(_ERASED_JSON, stored)
    cipher = _CIPHERS(key)
    aad = _aad(client_id, event_id)

    def decrypt(match: re.Match[str]) -> str:
        try:
            raw = base64.urlsafe_b64decode(match.group(1))
            text = cipher.decrypt(raw[:_NONCE], raw[_NONCE:], aad).decode("utf-8")
        except (InvalidTag, ValueError):
            raise StoreError(
                f"stored event {client_id} {event_id}: an encrypted field does not open with "
                "its client's key; it was changed outside fama (run `fama verify`)"
            ) from None
        return json.dumps(text, ensure_ascii=False)

    return _TOKEN.sub(decrypt, stored)


_ERASED_JSON: Final[Callable[[re.Match[str]], str]] = lambda _m: json.dumps(ERASED)  # noqa: E731


def erased_form(payload: str) -> str:
    """``payload`` (readable JSON) with every personal text replaced as erasure leaves it."""
    data: Any = json.loads(payload)
    return json.dumps(
        map_personal_text(data, lambda _text: ERASED), ensure_ascii=False, separators=(",", ":")
    )


Resealed = tuple[list[tuple[str, str, str, Any]], dict[str, tuple[int, str]], dict[str, bytes]]


def reseal_streams(
    rows: Iterable[tuple[Any, str, int, str, dt.datetime, str, str, str]],
) -> Resealed:
    """Encrypt the personal text of events stored in plain (a store migrating to encryption).

    ``rows`` are ``(position, client_id, version, event_id, stored_at, payload,
    prev_hash, hash)`` ordered by client and version. Each stream's chain is
    checked first (a stream that does not verify is a
    :class:`~fama_core.errors.StoreError`: settle it with ``fama verify``
    before migrating, so re-sealing never launders an edit); then each client
    gets a key, each payload its sealed form and the chain is computed again
    over it. Returns the row updates ``(payload, prev_hash, hash, position)``,
    the new heads and the keys.
    """
    updates: list[tuple[str, str, str, Any]] = []
    heads: dict[str, tuple[int, str]] = {}
    keys: dict[str, bytes] = {}
    checked: dict[str, str] = {}
    for position, client_id, version, event_id, stored_at, payload, prev_hash, hash_ in rows:
        expected_prev = checked.get(client_id, GENESIS)
        if prev_hash != expected_prev or hash_ != event_hash(
            prev_hash, client_id, version, event_id, stored_at, payload
        ):
            raise StoreError(
                f"stream {client_id} does not verify at version {version}; run `fama verify` "
                "and settle it before migrating (nothing was changed)"
            )
        checked[client_id] = hash_
        key = keys.get(client_id)
        if key is None:
            key = keys[client_id] = new_key()
        sealed = seal_payload(payload, key, client_id, event_id)
        prev = heads.get(client_id, (0, GENESIS))[1]
        current = event_hash(prev, client_id, version, event_id, stored_at, sealed)
        updates.append((sealed, prev, current, position))
        heads[client_id] = (version, current)
    return updates, heads, keys
