"""The commissioners' report: one self-contained HTML page plus the same figures as CSV and JSON.

Build a :class:`CommissioningReport` with :func:`build_report` (it runs the
analyses of :mod:`fama_core.commissioning`), then :func:`write_report` writes
``report.html``, ``report.json`` and the CSV files. ``fama report`` and
``make demo`` do both; :mod:`fama_adapters.report.plugin` registers them.
"""

from fama_adapters.report.bundle import CommissioningReport, build_report
from fama_adapters.report.export import REPORT_FILES, render_csv, render_json, write_report
from fama_adapters.report.html import render_html

__all__ = [
    "REPORT_FILES",
    "CommissioningReport",
    "build_report",
    "render_csv",
    "render_html",
    "render_json",
    "write_report",
]
