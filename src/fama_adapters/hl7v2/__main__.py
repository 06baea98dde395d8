"""``python -m fama_adapters.hl7v2 docs/hl7v2.md``: regenerate the mapping tables in that page."""

from __future__ import annotations

import sys
from pathlib import Path

from fama_adapters.hl7v2.tables import render_into

if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/hl7v2.md")
    target.write_text(render_into(target.read_text("utf-8")), "utf-8")
