"""CSV cells that a spreadsheet cannot run: the one place fama neutralises formulas.

Excel, LibreOffice and Google Sheets read a cell that begins with ``=``, ``+``,
``-`` or ``@`` (and, after a tab, a line break or spaces, the same; and their
fullwidth forms) as a formula, so
an answer such as ``=HYPERLINK("http://…", "click")`` in a file fama wrote would
run on a commissioner's machine (OWASP, "CSV Injection"). Every CSV fama writes
*for people* passes its cells through :func:`neutralise`, which prefixes such a
cell with an apostrophe, the spreadsheets' own "this is text" mark. NDTMS
submissions are not written through it: their format is fixed and validated.

:func:`restore` undoes it when fama reads back a file it wrote (a hand-kept
meeting list), so a round trip changes nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = ["FORMULA_STARTS", "neutralise", "people_csv_writer", "restore"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""First characters that make a spreadsheet treat a cell as a formula.

Besides OWASP's list: a line feed (as a carriage return), and the fullwidth
``＝ ＋ － ＠``, which East Asian editions of Excel read as their ASCII forms.
Whitespace in front does not make a cell safe: LibreOffice's "trim spaces"
import option removes it, so ``" =1+1"`` is marked too.
"""

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _needs_mark(text: str) -> bool:
    # Apostrophes already in front count too, so that restore() can tell fama's mark from the
    # writer's own: "'=x" is written "''=x" and read back as "'=x".
    rest = text.lstrip("'")
    if _PLAIN_NUMBER.fullmatch(rest):
        return False
    return rest.startswith(FORMULA_STARTS) or rest.lstrip().startswith(FORMULA_STARTS)


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet: a text cell that starts a formula gets a ``'``.

    Numbers (and text that is only a number, such as ``-3``) are left alone:
    they cannot carry a formula.
    """
    if isinstance(value, str) and _needs_mark(value):
        return "'" + value
    return value


def restore(cell: str) -> str:
    """The text :func:`neutralise` was given, for a cell read back from a file fama wrote."""
    if cell.startswith("'") and _needs_mark(cell[1:]):
        return cell[1:]
    return cell


class _PeopleWriter:
    """A :func:`csv.writer` whose every cell goes through :func:`neutralise`."""

    def __init__(self, out: TextIO, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def people_csv_writer(out: TextIO, **options: Any) -> _PeopleWriter:
    """A CSV writer for files people open in a spreadsheet (``options`` as :func:`csv.writer`)."""
    return _PeopleWriter(out, **options)
