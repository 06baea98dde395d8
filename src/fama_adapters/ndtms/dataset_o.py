"""Built-in plugin: NDTMS adult dataset O as a submission format (``ndtms-O``)."""

from __future__ import annotations

from collections.abc import Callable

from fama_adapters.hookspecs import hookimpl
from fama_adapters.ndtms.formats import NdtmsFormat, SubmissionFormat

__all__ = ["fama_register_submission_formats"]


@hookimpl
def fama_register_submission_formats(register: Callable[[SubmissionFormat], None]) -> None:
    """Register dataset O."""
    register(NdtmsFormat("O"))
