"""Meeting directory adapters: Meeting Guide JSON, BMLT and hand-kept CSV lists in, a directory out.

Public surface (everything a host or a third-party source needs)::

    from fama_adapters.meetings import ImportOptions, read_meeting_guide_file, fetch_meeting_guide

Each importer returns an :class:`ImportReport`; a bad entry is an
``InvalidRecord`` naming its position and the rest imports.
"""

from __future__ import annotations

from fama_adapters.meetings.bmlt import fetch_bmlt, read_bmlt, read_bmlt_file, read_bmlt_json
from fama_adapters.meetings.csv_list import (
    HANDOUT_6A_COLUMNS,
    format_when,
    parse_when,
    read_csv_file,
    read_csv_text,
    write_csv,
)
from fama_adapters.meetings.meeting_guide import (
    fetch_meeting_guide,
    meeting_to_meeting_guide,
    read_meeting_guide,
    read_meeting_guide_file,
    read_meeting_guide_json,
)
from fama_adapters.meetings.report import ImportOptions, ImportReport, MeetingFeedError
from fama_adapters.meetings.sources import MeetingSource
from fama_adapters.meetings.store import dump_directory, load_directory

__all__ = [
    "HANDOUT_6A_COLUMNS",
    "ImportOptions",
    "ImportReport",
    "MeetingFeedError",
    "MeetingSource",
    "dump_directory",
    "fetch_bmlt",
    "fetch_meeting_guide",
    "format_when",
    "load_directory",
    "meeting_to_meeting_guide",
    "parse_when",
    "read_bmlt",
    "read_bmlt_file",
    "read_bmlt_json",
    "read_csv_file",
    "read_csv_text",
    "read_meeting_guide",
    "read_meeting_guide_file",
    "read_meeting_guide_json",
    "write_csv",
]
