"""A one-line progress bar for long work, drawn only when a person is watching.

``fama`` shows it when its standard output is a terminal and ``--json`` was
not given; piped or scripted runs get none, so their output stays exactly the
documented format. The bar is drawn on standard error, redrawn at most ten
times a second, and erased when the work ends.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO

from fama_adapters.cli import CliContext

__all__ = ["Progress", "progress_for"]

_WIDTH = 30


class Progress:
    """``update(done)`` as work advances; ``close()`` (or leaving the ``with``) erases the bar.

    With ``total`` unknown (``None``) it shows a count instead of a bar.
    A disabled bar does nothing at all.
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        stream: TextIO,
        *,
        enabled: bool = True,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.interval = interval
        self._last = float("-inf")
        self._drawn = 0

    def line(self, done: int) -> str:
        """The text of the bar for ``done`` units of work."""
        if not self.total:
            return f"{self.label} {done:,}"
        share = min(done / self.total, 1.0)
        filled = int(share * _WIDTH)
        bar = "#" * filled + "." * (_WIDTH - filled)
        return f"{self.label} [{bar}] {share:4.0%} {done:,}/{self.total:,}"

    def update(self, done: int, *, force: bool = False) -> None:
        """Redraw for ``done`` units, unless drawn less than ``interval`` seconds ago."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        text = self.line(done)
        self.stream.write("\r" + text.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(text)

    def close(self) -> None:
        """Erase the bar so the command's own output starts on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def progress_for(ctx: CliContext, label: str, total: int | None) -> Progress:
    """A bar on ``ctx.stderr``, enabled only when stdout is a terminal and not ``--json``."""
    return Progress(label, total, ctx.stderr, enabled=ctx.interactive and not ctx.json)
