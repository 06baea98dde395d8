"""Save and load a normalised meeting directory as one JSON file.

The file is fama's own: ``{"format": "fama-meetings/1", "meetings": [...]}``,
each meeting as :class:`fama_core.directory.Meeting` dumps it (its JSON Schema
is ``schemas/meeting.schema.json``). ``fama meetings import --out`` writes it;
``fama meetings match`` and ``fama pack`` read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TextIO

from pydantic import ValidationError

from fama_adapters.meetings.report import MeetingFeedError
from fama_core import safe_json
from fama_core.directory import LANGUAGE_CODES, Meeting, MeetingDirectory
from fama_core.errors import CatalogueError, InputUnreadable

__all__ = ["FORMAT", "DirectoryWriter", "dump_directory", "load_directory"]

FORMAT = "fama-meetings/1"
"""The format tag of a saved directory."""


def dump_directory(meetings: Iterable[Meeting]) -> str:
    """The directory as JSON text."""
    items = [json.loads(m.model_dump_json(exclude_none=True)) for m in meetings]
    return json.dumps({"format": FORMAT, "meetings": items}, indent=1, ensure_ascii=False) + "\n"


class DirectoryWriter:
    """Write a directory file meeting by meeting, in bounded memory, replacing it atomically.

    ``with DirectoryWriter(path) as out: out.write(meeting)``: the meetings go
    to ``<path>.part`` as they come and the file replaces ``path`` only when the
    block ends without an error, so a failed import never leaves half a
    directory where the previous one was. The content is the same
    ``fama-meetings/1`` document :func:`dump_directory` writes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._part = self.path.with_name(self.path.name + ".part")
        self._fh: TextIO | None = None
        self.written = 0

    def __enter__(self) -> DirectoryWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self._part.open("w", encoding="utf-8")
        self._fh.write(f'{{"format": "{FORMAT}", "meetings": [')
        return self

    def write(self, meeting: Meeting) -> None:
        """Append one meeting."""
        assert self._fh is not None, "use DirectoryWriter in a with block"
        self._fh.write(
            ("\n" if not self.written else ",\n") + meeting.model_dump_json(exclude_none=True)
        )
        self.written += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._fh is not None
        if kind is not None:
            self._fh.close()
            self._part.unlink(missing_ok=True)
            return
        self._fh.write("\n]}\n")
        self._fh.close()
        os.replace(self._part, self.path)


def load_directory(path: str | Path) -> MeetingDirectory:
    """Read a saved directory; any invalid meeting is a :class:`MeetingFeedError`.

    A saved directory was validated when imported, so an error here means the
    file was edited or damaged: it is refused whole, naming the position.
    """
    p = Path(path)
    try:
        data = safe_json.loads(p.read_bytes(), source=p.name)
    except OSError as exc:
        raise MeetingFeedError(
            source=p.name, reason=f"cannot read ({type(exc).__name__})"
        ) from exc  # the CLI tells a path it cannot open (exit 2) by this cause
    except InputUnreadable as exc:  # not JSON, nested too deeply, a huge number
        raise MeetingFeedError(source=p.name, reason=exc.reason) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MeetingFeedError(source=p.name, reason=f"not a {FORMAT} directory file")
    directory = MeetingDirectory()
    known_languages = set(LANGUAGE_CODES.values())
    for position, raw in enumerate(data.get("meetings", [])):
        try:
            meeting = Meeting.model_validate(raw)
            if not known_languages.issuperset(meeting.languages):  # an import never writes one
                raise CatalogueError(entry=f"meetings[{position}]", reason="unknown language")
            directory.add(meeting)
        except (ValidationError, CatalogueError):
            raise MeetingFeedError(
                source=p.name, reason=f"meetings[{position}] is not a valid meeting"
            ) from None
    return directory
