"""Read the entries of a JSON array one by one from a file, in bounded memory.

A Meeting Guide feed (and a bare BMLT answer) is one JSON array; reading it
with ``json.loads`` holds the whole text and every decoded entry at once, so a
250 MB feed took gigabytes. :func:`iter_json_array` reads the file in chunks and
decodes one entry at a time with the standard decoder
(:meth:`json.JSONDecoder.raw_decode`), so memory is bounded by the chunk size
plus the largest entry (:data:`MAX_ENTRY_CHARS`), whatever the file's size.

Entries are held to fama's nesting limit (:data:`fama_core.safe_json.MAX_DEPTH`,
the array counting as one level), as every JSON input is. Anything that is
not a well-formed array stops the read with
:class:`~fama_adapters.meetings.report.MeetingFeedError` naming the entry's
position (``meetings[N]``), never its content; entries before it have been
yielded already. A file whose first value is not an array is left to the
caller (:class:`NotAnArray`), which reads it whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from fama_adapters.meetings.report import MeetingFeedError
from fama_core.safe_json import MAX_DEPTH, nesting_depth

__all__ = ["CHUNK_CHARS", "MAX_ENTRY_CHARS", "NotAnArray", "iter_json_array"]

CHUNK_CHARS = 1 << 16
"""Characters read at a time."""

MAX_ENTRY_CHARS = 4 * 1024 * 1024
"""The largest single entry read (a meeting is a few hundred characters)."""

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"
_NUMBER_TAIL = frozenset("0123456789.eE+-")


class NotAnArray(Exception):
    """The file's first value is not a JSON array (internal: the caller reads it whole)."""


class _Reader:
    """A text buffer over a file, trimmed as entries are consumed."""

    def __init__(self, fh: TextIO, chunk: int) -> None:
        self.fh = fh
        self.chunk = chunk
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines = 0  # newlines in the text already dropped
        self.column = 0  # characters after the last dropped newline

    def more(self) -> bool:
        """Read another chunk; ``False`` at the end of the file."""
        if self.eof:
            return False
        text = self.fh.read(self.chunk)
        if not text:
            self.eof = True
            return False
        if self.pos > self.chunk:  # drop what has been consumed, so the buffer stays small
            dropped = self.buf[: self.pos]
            newline = dropped.rfind("\n")
            self.lines += dropped.count("\n")
            self.column = len(dropped) - newline - 1 if newline >= 0 else self.column + len(dropped)
            self.buf = self.buf[self.pos :]
            self.pos = 0
        self.buf += text
        return True

    def where(self, index: int) -> str:
        """``(line L, column C)`` of a buffer index, counted from the file's start."""
        newline = self.buf.rfind("\n", 0, index)
        column = index - newline if newline >= 0 else self.column + index + 1
        return f"(line {self.lines + self.buf.count(chr(10), 0, index) + 1}, column {column})"

    def skip_space(self) -> str:
        """The next non-space character ('' at the end), without consuming it."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""


def iter_json_array(
    fh: TextIO,
    *,
    source: str,
    record: str = "meetings",
    chunk: int = CHUNK_CHARS,
    max_entry: int = MAX_ENTRY_CHARS,
) -> Iterator[Any]:
    """Yield each entry of the JSON array that ``fh`` holds.

    Raises :class:`NotAnArray` before yielding anything when the first value
    is not an array, and :class:`MeetingFeedError` (``source``, the entry's
    position as ``record[N]``) when the text is not a well-formed array, an
    entry is nested too deeply, holds a number too long to convert, or is
    longer than ``max_entry`` characters.
    """
    reader = _Reader(fh, chunk)
    reader.more()
    if reader.buf.startswith("\ufeff"):
        reader.pos = 1
    first = reader.skip_space()
    if first != "[":
        raise NotAnArray
    reader.pos += 1
    position = 0
    if reader.skip_space() == "]":
        reader.pos += 1
        _expect_end(reader, source)
        return
    while True:
        where = f"{record}[{position}]"
        while True:
            try:
                value, end = _DECODER.raw_decode(reader.buf, reader.pos)
            except json.JSONDecodeError as exc:
                if not _incomplete(exc, len(reader.buf)) or not reader.more():
                    at = reader.where(min(exc.pos, len(reader.buf)))
                    raise MeetingFeedError(
                        source=source, reason=f"not valid JSON {at} in {where}"
                    ) from None
                if len(reader.buf) - reader.pos > max_entry:
                    raise MeetingFeedError(
                        source=source, reason=f"{where} is longer than {max_entry} characters"
                    ) from None
                continue  # the entry ran past the buffer: read on and decode it again
            except RecursionError:
                raise MeetingFeedError(
                    source=source, reason=f"{where} is nested too deeply"
                ) from None
            except ValueError:  # a number beyond Python's digit limit
                raise MeetingFeedError(
                    source=source, reason=f"{where} holds a number too long to read"
                ) from None
            if _may_continue(value, reader.buf, end) and reader.more():
                continue  # a number cut at the chunk's edge ("12" of "123", "1." of "1.5")
            break
        if nesting_depth(value, MAX_DEPTH - 1) > MAX_DEPTH - 1:  # the array itself is one level
            raise MeetingFeedError(source=source, reason=f"JSON nested more than {MAX_DEPTH} deep")
        reader.pos = end
        yield value
        position += 1
        following = reader.skip_space()
        if following == ",":
            reader.pos += 1
            reader.skip_space()
            continue
        if following == "]":
            reader.pos += 1
            _expect_end(reader, source)
            return
        at = reader.where(reader.pos)
        raise MeetingFeedError(source=source, reason=f"not valid JSON {at} after {where}")


def _incomplete(exc: json.JSONDecodeError, size: int) -> bool:
    """Whether a decoding error may only mean the entry continues past the buffer.

    The decoder reports a cut-off entry at (or a few characters before) the
    buffer's end, or at the start of an unterminated string; an error well
    inside the buffer is the text's own.
    """
    return exc.msg.startswith("Unterminated string") or exc.pos >= size - 16


def _may_continue(value: Any, buf: str, end: int) -> bool:
    """Whether a number decoded near the buffer's end might be longer in the file."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return all(c in _NUMBER_TAIL for c in buf[end:])


def _expect_end(reader: _Reader, source: str) -> None:
    if reader.skip_space() != "":
        at = reader.where(reader.pos)
        raise MeetingFeedError(source=source, reason=f"not valid JSON {at} after the array")
