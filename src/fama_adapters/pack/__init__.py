"""The client pack: hand-outs 6a, 7 and 10 as one printable, accessible HTML page.

See :mod:`fama_adapters.pack.html` for the page and
:mod:`fama_adapters.pack.chromium` for PDF printing with headless Chromium.
"""

from __future__ import annotations

from fama_adapters.pack.html import PALETTE, ClientPack, build_pack, render_pack

__all__ = ["PALETTE", "ClientPack", "build_pack", "render_pack"]
