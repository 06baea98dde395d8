"""Meeting sources: the formats ``fama meetings import`` reads, as plugins register them.

A source is any object with a ``name``, a one-line ``description`` and a
``load(location, *, options, client)`` method returning an
:class:`~fama_adapters.meetings.report.ImportReport`. Built-in sources are
``meeting-guide`` (Meeting Guide JSON from a file or an http(s) URL) and
``csv`` (a hand-kept list with hand-out 6a's columns) and ``bmlt`` (a BMLT
root server's semantic API, as Narcotics Anonymous publishes); a third party
adds, say, a vendor's directory through the ``fama_register_meeting_sources``
hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import httpx

from fama_adapters.meetings.bmlt import fetch_bmlt, read_bmlt_file
from fama_adapters.meetings.csv_list import read_csv_file
from fama_adapters.meetings.hsds import read_hsds_file
from fama_adapters.meetings.meeting_guide import fetch_meeting_guide, read_meeting_guide_file
from fama_adapters.meetings.report import ImportOptions, ImportReport, MeetingFeedError
from fama_adapters.net import mask_url

__all__ = [
    "BUILTIN_SOURCES",
    "BmltSource",
    "CsvListSource",
    "HsdsSource",
    "MeetingGuideSource",
    "MeetingSource",
]


@runtime_checkable
class MeetingSource(Protocol):
    """What a plugin registers to add a meeting-list format."""

    @property
    def name(self) -> str:
        """Unique name, chosen with ``--format``."""
        ...

    @property
    def description(self) -> str:
        """One line for ``fama meetings sources``."""
        ...

    def load(
        self, location: str, *, options: ImportOptions, client: httpx.Client | None = None
    ) -> ImportReport:
        """Read every meeting at ``location`` (a path or URL); report bad entries by position."""
        ...


@dataclass(frozen=True)
class MeetingGuideSource:
    """Meeting Guide API JSON from a file or an http(s) URL."""

    name: str = "meeting-guide"
    description: str = "Meeting Guide JSON feed (code4recovery/spec), file or URL"

    def load(
        self, location: str, *, options: ImportOptions, client: httpx.Client | None = None
    ) -> ImportReport:
        """Read a feed; URLs are fetched through :mod:`fama_adapters.net` (deadline, size limit,
        same-origin redirects) with ``client``, or fama's own when none is given."""
        if location.startswith(("http://", "https://")):
            return fetch_meeting_guide(location, client, options=options)
        return read_meeting_guide_file(location, options=options)


@dataclass(frozen=True)
class CsvListSource:
    """A hand-kept local list: CSV with hand-out 6a's columns."""

    name: str = "csv"
    description: str = "hand-kept CSV list with hand-out 6a's columns"

    def load(
        self, location: str, *, options: ImportOptions, client: httpx.Client | None = None
    ) -> ImportReport:
        """Read a CSV file (URLs are not fetched for hand-kept lists)."""
        if location.startswith(("http://", "https://")):
            raise MeetingFeedError(
                source=mask_url(location), reason="CSV lists are read from files"
            )
        return read_csv_file(location, options=options)


@dataclass(frozen=True)
class BmltSource:
    """A BMLT root server (Narcotics Anonymous): its semantic API, or a saved answer."""

    name: str = "bmlt"
    description: str = "BMLT semantic API (NA): root server URL or saved GetSearchResults"

    def load(
        self, location: str, *, options: ImportOptions, client: httpx.Client | None = None
    ) -> ImportReport:
        """Fetch ``GetSearchResults`` (and ``GetFormats``) or read saved answers.

        A file's formats come from the answer itself (``get_used_formats=1``)
        or from ``options.formats``, a saved ``GetFormats`` answer.
        """
        if location.startswith(("http://", "https://")):
            return fetch_bmlt(location, client, options=options)
        return read_bmlt_file(location, formats_path=options.formats, options=options)


@dataclass(frozen=True)
class HsdsSource:
    """Open Referral HSDS 3.0 or Open Referral UK services, as a saved ``/services`` answer."""

    name: str = "hsds"
    description: str = "Open Referral HSDS 3.0 / UK profile services (saved /services answer)"

    def load(
        self, location: str, *, options: ImportOptions, client: httpx.Client | None = None
    ) -> ImportReport:
        """Read a saved answer (a local authority's directory export)."""
        if location.startswith(("http://", "https://")):
            raise MeetingFeedError(
                source=mask_url(location), reason="HSDS services are read from saved files"
            )
        return read_hsds_file(location, options=options)


BUILTIN_SOURCES: tuple[MeetingSource, ...] = (
    MeetingGuideSource(),
    CsvListSource(),
    BmltSource(),
    HsdsSource(),
)
"""The sources fama ships."""
