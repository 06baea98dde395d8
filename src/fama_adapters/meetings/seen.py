"""Which meeting ids an import has met, and where: exact, in a few dozen bytes per meeting.

An import refuses a repeated id and names the entry that had it first. A
``dict`` of id to position costs about 130 bytes a meeting in CPython, which
alone would take a million-row import past its memory budget; :class:`SeenIds`
keeps the same answer in flat arrays (an open-addressing table of entry
numbers, the ids' UTF-8 bytes end to end, and their positions), about 40
bytes plus the id's length per meeting. Lookups compare the ids themselves,
so the answer is exact, never a hash guess.
"""

from __future__ import annotations

from array import array

__all__ = ["SeenIds"]

_EMPTY = -1


class SeenIds:
    """A set of ids, each with the position where it was first seen."""

    def __init__(self, capacity: int = 1 << 10) -> None:
        size = 1
        while size < capacity * 2:
            size <<= 1
        self._slots = array("q", [_EMPTY]) * size
        self._hashes = array("q")
        self._starts = array("q", [0])
        self._positions = array("q")
        self._text = bytearray()

    def __len__(self) -> int:
        return len(self._positions)

    def _key(self, n: int) -> bytes:
        return bytes(self._text[self._starts[n] : self._starts[n + 1]])

    def _find(self, key: bytes, hashed: int) -> int:
        """The slot holding ``key``, or the empty slot where it would go."""
        mask = len(self._slots) - 1
        slot = hashed & mask
        while True:
            n = self._slots[slot]
            if n == _EMPTY or (self._hashes[n] == hashed and self._key(n) == key):
                return slot
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        size = len(self._slots) * 2
        mask = size - 1
        slots = array("q", [_EMPTY]) * size
        for n, hashed in enumerate(self._hashes):
            slot = hashed & mask
            while slots[slot] != _EMPTY:
                slot = (slot + 1) & mask
            slots[slot] = n
        self._slots = slots

    def add(self, key: str, position: int) -> int | None:
        """Record ``key`` at ``position``; if it was seen before, the earlier position instead."""
        data = key.encode("utf-8", "surrogatepass")
        hashed = hash(data)
        slot = self._find(data, hashed)
        n = self._slots[slot]
        if n != _EMPTY:
            return self._positions[n]
        n = len(self._positions)
        self._slots[slot] = n
        self._hashes.append(hashed)
        self._text += data
        self._starts.append(len(self._text))
        self._positions.append(position)
        if len(self._positions) * 2 > len(self._slots):
            self._grow()
        return None
