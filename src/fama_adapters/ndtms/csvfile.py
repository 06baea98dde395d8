"""The NDTMS extract file: quoted CSV, one header row, read and written line by line.

Reading works on raw bytes, one physical line per record, and keeps where
each field lies in the line (:class:`Cell`), so a merge can replace one
field and leave every other byte of the line as it was. A record broken
across lines, a stray quote or a line that is not UTF-8 is reported for
that line alone (``FAMA-E001``); nothing here raises on arbitrary bytes.

Writing follows the dataset table's layout: every field quoted, ``NA`` for
an empty item, ``''`` for an item withheld without consent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import BinaryIO, cast

from fama_core.errors import SubmissionError
from fama_core.ndtms.derive import SirRow
from fama_core.ndtms.tables import DatasetTable

__all__ = [
    "Cell",
    "ExtractWriter",
    "ReadProblem",
    "ReadRow",
    "TemplateLayout",
    "read_extract",
    "read_template",
    "split_line",
    "split_terminator",
]


@dataclass(frozen=True, slots=True)
class Cell:
    """One field of a line: its text and where its raw bytes lie (quotes included)."""

    value: str
    start: int
    end: int
    quoted: bool


@dataclass(frozen=True, slots=True)
class ReadRow:
    """A record read from an extract: values by column (NA and ``''`` read as ``None``)."""

    line: int
    values: dict[str, str | None]


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """A line that could not be read, and why (never its content)."""

    line: int
    reason: str


def split_terminator(raw: bytes) -> tuple[bytes, bytes]:
    """Split a physical line into its content and its terminator (``\\r\\n``, ``\\n`` or none)."""
    if raw.endswith(b"\r\n"):
        return raw[:-2], b"\r\n"
    if raw.endswith(b"\n"):
        return raw[:-1], b"\n"
    return raw, b""


def split_line(content: bytes, delimiter: int = ord(",")) -> list[Cell] | str:
    """The cells of one line's content, or the reason it cannot be read."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if "\r" in text or "\n" in text:
        return "line break inside the record"
    cells: list[Cell] = []
    delim = chr(delimiter)
    i, n = 0, len(text)
    # Offsets are kept in characters, then turned into byte offsets once at the end.
    while True:
        if i < n and text[i] == '"':
            j = i + 1
            parts: list[str] = []
            while True:
                k = text.find('"', j)
                if k < 0:
                    return "unterminated quoted field"
                parts.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                end = k + 1
                break
            if end < n and text[end] != delim:
                return "text after a closing quote"
            cells.append(Cell("".join(parts), i, end, True))
        else:
            k = text.find(delim, i)
            end = n if k < 0 else k
            value = text[i:end]
            if '"' in value:
                return "quote inside an unquoted field"
            cells.append(Cell(value, i, end, False))
        if end >= n:
            break
        i = end + 1
    if len(text) != len(content):  # non-ASCII: map character offsets to byte offsets
        cells = [_to_bytes(text, c) for c in cells]
    return cells


def _to_bytes(text: str, cell: Cell) -> Cell:
    start = len(text[: cell.start].encode("utf-8"))
    end = start + len(text[cell.start : cell.end].encode("utf-8"))
    return Cell(cell.value, start, end, cell.quoted)


def read_extract(
    lines: Iterable[bytes], table: DatasetTable
) -> Iterator[tuple[str, ...] | ReadRow | ReadProblem]:
    """Read an extract: first the header (a tuple of column names), then each record.

    ``lines`` are raw physical lines (a file opened in binary mode). Blank
    lines are skipped. A missing or unreadable header ends the read with one
    :class:`ReadProblem`.
    """
    null, withheld = table.file.null_value, table.file.withheld_value
    delim = ord(table.file.delimiter)
    header: tuple[str, ...] | None = None
    for number, raw in enumerate(lines, start=1):
        content, _ = split_terminator(raw)
        if number == 1 and content.startswith(b"\xef\xbb\xbf"):
            content = content[3:]
        if not content.strip():
            continue
        cells = split_line(content, delim)
        if isinstance(cells, str):
            yield ReadProblem(number, cells)
            if header is None:
                return
            continue
        if header is None:
            # Item names are upper case in every dataset; a provider's lower-case header matches.
            header = tuple(c.value.strip().upper() for c in cells)
            yield header
            continue
        if len(cells) != len(header):
            yield ReadProblem(number, f"{len(cells)} fields where the header has {len(header)}")
            continue
        yield ReadRow(
            number,
            {
                h: None if c.value in (null, withheld) else c.value
                for h, c in zip(header, cells, strict=True)
            },
        )
    if header is None:
        yield ReadProblem(0, "no header row")


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class TemplateLayout:
    """The layout of a provider's own extract, read from its header and first rows.

    ``fama ndtms export --template`` writes rows in it: the provider's columns
    in the provider's order (the header written back byte for byte), fama's
    items under their names, every other column empty the way the provider's
    file leaves it.
    """

    columns: tuple[str, ...]
    """The header's column names, as written."""
    header: bytes
    """The header line exactly as the provider wrote it, terminator included (no BOM)."""
    bom: bool
    quote_all: bool
    """Whether the provider quotes every field (else only where needed)."""
    null_value: str
    """What the provider writes in an empty field (``NA`` or nothing)."""
    line_terminator: str

    def matched(self, table: DatasetTable) -> dict[str, int]:
        """Table item name → its position in the template (names matched ignoring case)."""
        by_upper = {c.strip().upper(): i for i, c in enumerate(self.columns)}
        return {name: by_upper[name] for name in table.columns if name in by_upper}

    def unknown(self, table: DatasetTable) -> list[str]:
        """The template's columns the dataset table does not have (written empty)."""
        known = {c.upper() for c in table.columns}
        return [c for c in self.columns if c.strip().upper() not in known]


def read_template(
    lines: Iterable[bytes], table: DatasetTable, *, sample: int = 200
) -> TemplateLayout:
    """Read a provider's extract's layout (header and up to ``sample`` rows).

    Raises :class:`~fama_core.errors.SubmissionError` when there is no
    readable header, or it lacks an item no row can do without (the review's
    date and flags, the client). Nothing about the file's rows is kept.
    """
    delim = ord(table.file.delimiter)
    header: list[Cell] | None = None
    header_raw, bom, end = b"", False, "\n"
    quoted = unquoted = 0
    empties: dict[str, int] = {}
    seen = 0
    null = table.file.null_value
    for raw in lines:
        content, terminator = split_terminator(raw)
        if header is None:
            bom = content.startswith(b"\xef\xbb\xbf")
            content = content[3:] if bom else content
            if not content.strip():
                continue
            cells = split_line(content, delim)
            if isinstance(cells, str):
                raise SubmissionError(f"template header cannot be read: {cells}")
            header, header_raw = cells, content + (terminator or b"\n")
            end = terminator.decode() if terminator else "\n"
            continue
        if seen >= sample:
            break
        row = split_line(content, delim)
        if isinstance(row, str) or len(row) != len(header):
            continue
        seen += 1
        for c in row:
            if c.quoted:
                quoted += 1
            else:
                unquoted += 1
            if c.value in ("", null):
                empties[c.value] = empties.get(c.value, 0) + 1
    if header is None:
        raise SubmissionError("template is empty: no header row")
    columns = tuple(c.value.strip() for c in header)
    layout = TemplateLayout(
        columns=columns,
        header=header_raw,
        bom=bom,
        quote_all=(quoted > 0 and unquoted == 0) if seen else all(c.quoted for c in header),
        null_value=max(empties, key=lambda v: (empties[v], v == null)) if empties else null,
        line_terminator=end if end in ("\n", "\r\n") else "\n",
    )
    missing = [c for c in ("CLIENTID", "SUBMODDT", "RECMAID") if c not in layout.matched(table)]
    if missing:
        raise SubmissionError("template header lacks " + ", ".join(missing) + ": nothing written")
    return layout


@dataclass(frozen=True, slots=True)
class _Layout:
    """A line with its values left out: ``slots`` alternate fixed text and value places."""

    slots: list[str]
    pick: Callable[[Sequence[str]], Sequence[str]]
    """The row's values (in its items' order) for each value place, in line order."""
    quotes: int
    """Quote characters of the fixed text (a line with more has a value holding one)."""
    consent: int
    """The position of the consent item in the row, or -1 (a refusal is written cell by cell)."""


def _picker(order: list[int]) -> Callable[[Sequence[str]], Sequence[str]]:
    """A function picking ``order``'s positions out of a sequence, as a sequence."""
    if len(order) > 1:
        return cast("Callable[[Sequence[str]], Sequence[str]]", itemgetter(*order))
    return lambda texts: [texts[j] for j in order]


def _needs_quotes(value: str, delimiter: str) -> bool:
    return delimiter in value or '"' in value or value != value.strip() or value in ("", "NA")


class ExtractWriter:
    """Writes rows in a dataset's layout (or a provider's template) to a binary stream.

    Rows are sparse (only the items fama fills): each line starts from a
    pre-rendered empty row (the dataset's empty value in every column, or the
    withheld value on a row without consent) and only the items present are
    put in, so a row costs its handful of values, not all of its columns.
    """

    def __init__(
        self,
        stream: BinaryIO,
        table: DatasetTable,
        columns: Sequence[str] | None = None,
        *,
        template: TemplateLayout | None = None,
    ) -> None:
        self.stream = stream
        self.table = table
        layout = table.file
        self._sep = sep = layout.delimiter
        self._encoding = layout.encoding
        self._consent = table.consent
        self._kept = frozenset(table.consent.kept_without_consent)
        if template is not None:
            self.columns = template.columns
            self._index = template.matched(table)
            self._end = template.line_terminator
            quote_all = template.quote_all
            null_text = template.null_value
        else:
            self.columns = tuple(columns or table.columns)
            self._index = {c: i for i, c in enumerate(self.columns)}
            self._end = layout.line_terminator
            quote_all = layout.quote_all
            null_text = layout.null_value
        self._quote_all = quote_all
        null = _quote(null_text) if quote_all else null_text
        withheld = _quote(layout.withheld_value) if quote_all else layout.withheld_value
        if not quote_all and _needs_quotes(layout.withheld_value, sep):
            withheld = _quote(layout.withheld_value) if layout.withheld_value else ""
        kept_at = {self._index[c] for c in self._kept if c in self._index}
        self._empty = [null] * len(self.columns)
        self._empty_withheld = [
            null if i in kept_at else withheld for i in range(len(self.columns))
        ]
        self._layouts: dict[tuple[str, ...], _Layout | None] = {}
        self.rows = 0
        if template is not None:
            self.stream.write((b"\xef\xbb\xbf" if template.bom else b"") + template.header)
        elif layout.header:
            self._write(sep.join(_quote(c) for c in self.columns))

    def _write(self, line: str) -> None:
        self.stream.write((line + self._end).encode(self._encoding))

    def _layout(self, keys: tuple[str, ...]) -> _Layout | None:
        """The pre-rendered line of rows with exactly these items (a bounded cache).

        ``None`` when rows of these items are written cell by cell (not every
        field is quoted).
        """
        if keys in self._layouts:
            return self._layouts[keys]
        layout: _Layout | None = None
        if self._quote_all:
            placed = sorted((self._index[k], j) for j, k in enumerate(keys) if k in self._index)
            cells = self._empty.copy()
            for i, _ in placed:
                cells[i] = "\0"  # where a value goes (its quotes join the fixed text)
            joined = self._sep.join(cells)
            parts = joined.split("\0")
            n = len(placed)
            slots: list[str] = []
            for k, part in enumerate(parts):
                slots.append(('"' if k else "") + part + ('"' if k < n else ""))
                if k < n:
                    slots.append("")
            if len(parts) != n + 1:  # the empty value holds the marker: write cell by cell
                return None
            consent = keys.index(self._consent.field) if self._consent.field in keys else -1
            quotes = sum(t.count('"') for t in slots)
            order = [j for _, j in placed]
            pick = _picker(order)
            layout = _Layout(slots, pick, quotes, consent)
        if len(self._layouts) >= 256:  # rows have few shapes; memory must not grow
            self._layouts.clear()
        self._layouts[keys] = layout
        return layout

    def line(self, values: Mapping[str, str | None] | SirRow) -> str:
        """The text of one row (without its terminator); ``values`` may be sparse."""
        if isinstance(values, SirRow):
            values = values.values
        layout = self._layout(tuple(values))
        if layout is not None:
            texts = cast("tuple[str, ...]", tuple(values.values()))
            refused = layout.consent >= 0 and texts[layout.consent] == self._consent.refused
            # all(): no None (nor ""), the usual case, without comparing each value to None
            if (all(texts) or None not in texts) and not refused:  # else cell by cell
                slots = layout.slots.copy()
                slots[1::2] = layout.pick(texts)
                text = "".join(slots)
                if text.count('"') == layout.quotes:  # no value holds a quote: nothing to double
                    return text
        return self._cell_line(values)

    def _cell_line(self, values: Mapping[str, str | None]) -> str:
        """:meth:`line` cell by cell: every case (quotes to double, consent refused …)."""
        refused = values.get(self._consent.field) == self._consent.refused
        cells = (self._empty_withheld if refused else self._empty).copy()
        index = self._index
        kept = self._kept
        quote_all, sep = self._quote_all, self._sep
        for name, value in values.items():
            i = index.get(name)
            if i is None or value is None or (refused and name not in kept):
                continue
            if quote_all:
                cells[i] = '"' + value + '"' if '"' not in value else _quote(value)
            else:
                cells[i] = _quote(value) if _needs_quotes(value, sep) else value
        return sep.join(cells)

    def write(self, row: Mapping[str, str | None] | SirRow) -> None:
        """Write one row."""
        self._write(self.line(row))
        self.rows += 1

    def write_lines(self, lines: Iterable[str]) -> None:
        """Write rows already rendered by :meth:`line`, in one call (faster)."""
        batch = [line + self._end for line in lines]
        self.stream.write("".join(batch).encode(self._encoding))
        self.rows += len(batch)
