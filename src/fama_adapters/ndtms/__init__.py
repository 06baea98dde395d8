"""NDTMS submission adapter: write, read, validate and merge recovery-support extracts.

One plugin per dataset version (``fama_adapters.ndtms.dataset_k`` … ``_p``)
registers a :class:`~fama_adapters.ndtms.formats.NdtmsFormat`;
:mod:`fama_adapters.ndtms.plugin` adds ``fama ndtms …`` and the demo step.
"""

from fama_adapters.ndtms.csvfile import ExtractWriter, ReadProblem, ReadRow, read_extract
from fama_adapters.ndtms.export import Completeness, ExportOptions, ExportSummary, export
from fama_adapters.ndtms.formats import NdtmsFormat, SubmissionFormat, validate_extract
from fama_adapters.ndtms.logscan import read_contexts, scan_log
from fama_adapters.ndtms.merge import FILLED_COLUMNS, MergeReport, merge_extract

__all__ = [
    "FILLED_COLUMNS",
    "Completeness",
    "ExportOptions",
    "ExportSummary",
    "ExtractWriter",
    "MergeReport",
    "NdtmsFormat",
    "ReadProblem",
    "ReadRow",
    "SubmissionFormat",
    "export",
    "merge_extract",
    "read_contexts",
    "read_extract",
    "scan_log",
    "validate_extract",
]
