"""Where the public reference data (shared/external) is, for conformance tests.

CI runs a fresh clone with ``shared/`` beside it (``<repo>/../shared/external``);
on the development machine it is ``/work/shared/external``. Tests that read it
skip with a reason when neither exists.
"""

from __future__ import annotations

from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
_CANDIDATES = (_REPO.parent / "shared" / "external", Path("/work/shared/external"))


def external(folder: str) -> Path | None:
    """``shared/external/<folder>`` when present, else ``None``."""
    for root in _CANDIDATES:
        if (root / folder).is_dir():
            return root / folder
    return None
