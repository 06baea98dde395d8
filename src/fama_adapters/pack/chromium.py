"""Headless Chromium, when installed: print the pack to PDF, screenshot it, dump its DOM.

fama has no PDF library dependency: WeasyPrint needs Pango and its system
libraries, and ReportLab would mean laying the hand-outs out twice. Where a
host has Chromium (Debian package ``chromium``), its print engine renders the
very HTML that was tested, so ``fama pack --pdf`` uses it and says so when it
is absent. Each call runs a fresh profile in a temporary folder, with no
network features, and never touches anything but the files named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fama_core.errors import AdapterError

__all__ = ["ChromiumMissing", "dump_dom", "find_chromium", "print_pdf", "screenshot"]

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


class ChromiumMissing(AdapterError):
    """No Chromium executable was found (install the Debian package ``chromium``)."""


def find_chromium() -> str | None:
    """Path of a Chromium executable (``FAMA_CHROMIUM`` overrides), or ``None``."""
    override = os.environ.get("FAMA_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[bytes]:
    exe = find_chromium()
    if exe is None:
        raise ChromiumMissing("Chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="fama-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise AdapterError(f"Chromium did not finish within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise AdapterError(f"Chromium failed with exit code {done.returncode}")
    return done


def print_pdf(html: Path, pdf: Path, *, timeout: float = 90.0) -> Path:
    """Print ``html`` to ``pdf`` with Chromium's print engine (A4 from the page's CSS)."""
    _run(
        ["--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}", html.resolve().as_uri()],
        timeout=timeout,
    )
    if not pdf.is_file():
        raise AdapterError("Chromium wrote no PDF")
    return pdf


def screenshot(
    html: Path, png: Path, *, width: int = 1000, height: int = 1400, timeout: float = 90.0
) -> Path:
    """Screenshot the top ``width`` x ``height`` pixels of ``html`` to ``png``."""
    _run(
        [
            f"--screenshot={png.resolve()}",
            f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ],
        timeout=timeout,
    )
    if not png.is_file():
        raise AdapterError("Chromium wrote no screenshot")
    return png


def dump_dom(html: Path, *, timeout: float = 90.0) -> str:
    """The DOM as Chromium parsed it (serialised HTML), for accessibility checks."""
    return _run(["--dump-dom", html.resolve().as_uri()], timeout=timeout).stdout.decode("utf-8")
