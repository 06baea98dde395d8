"""The submission-format contract and its NDTMS implementation, one per dataset version.

A :class:`SubmissionFormat` writes derived rows in a national dataset's file
layout, reads such files back and validates them. :class:`NdtmsFormat` does
so for one NDTMS adult dataset version, entirely from that version's table
(:func:`fama_core.ndtms.load_dataset`), so a correction to the table changes
the output without a code change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Iterator
from typing import BinaryIO, Protocol, runtime_checkable

from fama_adapters.ndtms.csvfile import ExtractWriter, ReadProblem, ReadRow, read_extract
from fama_core.ndtms.derive import SirRow
from fama_core.ndtms.tables import DatasetTable, load_dataset
from fama_core.ndtms.validate import Finding, Validator

__all__ = ["NdtmsFormat", "SubmissionFormat", "validate_extract"]


@runtime_checkable
class SubmissionFormat(Protocol):
    """A national submission file format fama can write, read and validate."""

    name: str
    """Unique name, e.g. ``ndtms-P``."""
    description: str
    table: DatasetTable

    def write(self, rows: Iterable[SirRow], stream: BinaryIO) -> int:
        """Write a header and ``rows``; returns the number of rows written."""
        ...

    def read(self, lines: Iterable[bytes]) -> Iterator[tuple[str, ...] | ReadRow | ReadProblem]:
        """Read a file written in this format (header first, then rows or problems)."""
        ...


class NdtmsFormat:
    """One NDTMS adult dataset version as a submission format."""

    def __init__(self, version: str) -> None:
        self.table = load_dataset(version)
        self.name = f"ndtms-{self.table.version}"
        state = "provisional" if self.table.provisional else "partly confirmed"
        layout = "layout as known" if self.table.layout.status == "known" else "layout incomplete"
        self.description = (
            f"{self.table.title} ({self.table.year}), recovery support; {state}; {layout}"
        )

    def write(self, rows: Iterable[SirRow], stream: BinaryIO) -> int:
        """Write a header and ``rows`` in the dataset's layout."""
        writer = ExtractWriter(stream, self.table)
        for row in rows:
            writer.write(row)
        return writer.rows

    def read(self, lines: Iterable[bytes]) -> Iterator[tuple[str, ...] | ReadRow | ReadProblem]:
        """Read a file in the dataset's layout."""
        return read_extract(lines, self.table)


def validate_extract(
    lines: Iterable[bytes],
    table: DatasetTable,
    *,
    today: dt.date,
    post_treatment_modalities: Collection[str] = (),
) -> Iterator[Finding]:
    """Validate any extract (ours or a provider's), yielding findings as it reads.

    Never raises on the file's content: an unreadable line is a
    ``FAMA-E001`` finding for that line and the rest carries on.
    """
    validator = Validator(table, today=today, post_treatment_modalities=post_treatment_modalities)
    for item in read_extract(lines, table):
        if isinstance(item, tuple):
            yield from validator.header(item)
        elif isinstance(item, ReadProblem):
            record = f"line {item.line}" if item.line else "file"
            yield Finding("FAMA-E001", "error", record, None, item.reason)
        else:
            yield from validator.row(f"line {item.line}", item.values)
