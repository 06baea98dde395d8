"""Built-in plugin: NDTMS adult dataset R as a submission format (``ndtms-R``).

Dataset R has been current since 1 April 2024. Its specification could not
be read, so its table is P's, every item provisional and the layout marked
incomplete (``DatasetTable.layout``).
"""

from __future__ import annotations

from collections.abc import Callable

from fama_adapters.hookspecs import hookimpl
from fama_adapters.ndtms.formats import NdtmsFormat, SubmissionFormat

__all__ = ["fama_register_submission_formats"]


@hookimpl
def fama_register_submission_formats(register: Callable[[SubmissionFormat], None]) -> None:
    """Register dataset R."""
    register(NdtmsFormat("R"))
