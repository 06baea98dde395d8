"""Merge: fill the recovery-support flags of a provider's existing extract from fama's log.

Only the ``RECMAID`` and ``RECPEER`` fields of review rows change, and only
their bytes: every other field, the quoting, the line ends and any byte-order
mark are copied as they were (the merge works on raw lines and field
positions, never on a re-serialised CSV).

Rules (docs/ndtms.md): a first pass reads the extract's treatment episodes,
interventions and reviews; fama then derives each client's flags with the
same rules as an export (:func:`fama_core.ndtms.derive_client`: each FAMA
activity on one intervention, chosen by the table's rule; peer support by
the table's rule), and the second pass writes them. fama never turns a
provider's *yes* into *no* (the provider may know of support fama does not).
Rows it cannot match are copied unchanged and reported.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

from fama_adapters.ndtms.csvfile import Cell, split_line, split_terminator
from fama_core.context import TreatmentContext
from fama_core.errors import SubmissionError
from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint
from fama_core.ndtms.derive import Facilitation, derive_client, support_days
from fama_core.ndtms.tables import DatasetTable

__all__ = ["FILLED_COLUMNS", "MergeReport", "merge_extract"]

FILLED_COLUMNS: tuple[str, ...] = ("RECMAID", "RECPEER")
"""The only columns a merge may change."""


@dataclass
class MergeReport:
    """What a merge did, row by row where it could not."""

    rows: int = 0
    filled: int = 0
    """Review rows whose flags fama set."""
    changed: int = 0
    """Rows whose bytes changed."""
    kept_yes: int = 0
    """Flags the provider set to yes where fama has nothing: kept."""
    unmatched: list[tuple[int, str]] = field(default_factory=list)
    """``(line, reason)`` per row fama could not match (never the row's content)."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Rows deliberately left alone (not a review row, no consent), by reason."""
    unflagged: Counter[str] = field(default_factory=Counter)
    """Reason code → FAMA activities in the log that set no flag in the extract (a client the
    extract has no review row for: ``no_review_row_in_extract``)."""

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "rows": self.rows,
            "filled": self.filled,
            "changed": self.changed,
            "kept_yes": self.kept_yes,
            "unmatched": [{"line": n, "reason": r} for n, r in self.unmatched],
            "skipped": dict(self.skipped),
            "unflagged": dict(self.unflagged),
        }


def _header(lines: Iterable[bytes], table: DatasetTable) -> tuple[dict[str, int], bool]:
    for raw in lines:
        content, _ = split_terminator(raw)
        bom = content.startswith(b"\xef\xbb\xbf")
        cells = split_line(content[3:] if bom else content, ord(table.file.delimiter))
        if isinstance(cells, str):
            raise SubmissionError(f"extract header cannot be read: {cells}")
        # Item names are upper case in every dataset; a provider's lower-case header matches.
        return {c.value.strip().upper(): i for i, c in enumerate(cells)}, bom
    raise SubmissionError("extract is empty: no header row")


def _val(
    cells: list[Cell], cols: Mapping[str, int], name: str, nulls: Collection[str]
) -> str | None:
    i = cols.get(name)
    if i is None or i >= len(cells):  # a row shorter than the header (an IndexError before)
        return None
    v = cells[i].value.strip()
    return None if v in nulls else v


_Key = tuple[str | None, ...]
"""(AGNCY, CLIENTID, EPISODID, MODID, SUBMID, SUBMODDT) of a review row."""


@dataclass
class _Iv:
    modality: str
    started_on: dt.date
    ended_on: dt.date | None
    post: bool
    reviews: dict[str, dt.date] = field(default_factory=dict)


@dataclass
class _Episode:
    agency: str | None
    episode_id: str | None
    triaged: dt.date | None
    discharged: dt.date | None
    interventions: dict[str, _Iv] = field(default_factory=dict)


class _Reader:
    """Reads the review rows of the extract: their structure, or why one cannot be placed."""

    def __init__(self, cols: Mapping[str, int], table: DatasetTable, post: Collection[str]) -> None:
        self.cols = cols
        self.table = table
        self.post = post
        self.nulls = {table.file.null_value, table.file.withheld_value}
        self.clients: dict[str, dict[tuple[str | None, str | None], _Episode]] = defaultdict(dict)

    def val(self, cells: list[Cell], name: str) -> str | None:
        return _val(cells, self.cols, name, self.nulls)

    def date(self, cells: list[Cell], name: str) -> dt.date | None | str:
        text = self.val(cells, name)
        if text is None:
            return None
        day = self.table.parse_date(text)
        return day if day is not None else f"{name} is not a valid date"

    def key(self, cells: list[Cell], line: int) -> _Key:
        return (
            self.val(cells, "AGNCY"),
            self.val(cells, "CLIENTID"),
            self.val(cells, "EPISODID"),
            self.val(cells, "MODID") or f"(line {line})",
            self.val(cells, "SUBMID") or f"(line {line})",
            self.val(cells, "SUBMODDT"),
        )

    def add(self, cells: list[Cell], line: int) -> str | None:
        """Record one review row; the reason it cannot be placed, or ``None``."""
        got = {n: self.date(cells, n) for n in ("SUBMODDT", "MODST", "MODEND", "TRIAGED", "DISD")}
        for value in got.values():
            if isinstance(value, str):
                return value
        review, start = got["SUBMODDT"], got["MODST"]
        if start is None:
            return "no MODST: the review period cannot be placed"
        assert isinstance(review, dt.date) and isinstance(start, dt.date)
        end, triaged, discharged = got["MODEND"], got["TRIAGED"], got["DISD"]
        assert not isinstance(end, str) and not isinstance(triaged, str)
        assert not isinstance(discharged, str)
        agency, client, episode_id, mid, rid, _ = self.key(cells, line)
        assert client is not None and mid is not None and rid is not None
        ep = self.clients[client].get((agency, episode_id))
        if ep is None:
            ep = self.clients[client][(agency, episode_id)] = _Episode(
                agency, episode_id, triaged, discharged
            )
        modal = self.val(cells, "MODAL") or ""
        iv = ep.interventions.get(mid)
        if iv is None:
            iv = ep.interventions[mid] = _Iv(modal, start, end, modal in self.post)
        iv.reviews.setdefault(rid, review)
        return None

    def contexts(self, client: str) -> list[NdtmsContext]:
        """The client's treatment episodes as contexts (built without validation: the
        provider's data is what it is; a review validation would refuse is left out)."""
        out = []
        for n, ep in enumerate(self.clients.get(client, {}).values()):
            ivs = []
            for mid, iv in ep.interventions.items():
                ivs.append(
                    Intervention.model_construct(
                        intervention_id=mid,
                        modality=iv.modality,
                        setting=None,
                        referred_on=None,
                        first_offered_on=None,
                        started_on=iv.started_on,
                        ended_on=iv.ended_on,
                        exit_status=None,
                        post_treatment=iv.post,
                        reviews=tuple(
                            ReviewPoint.model_construct(review_id=rid, reviewed_on=day)
                            for rid, day in iv.reviews.items()
                        ),
                    )
                )
            starts = [iv.started_on for iv in ep.interventions.values()]
            treatment = TreatmentContext.model_construct(
                client_id=client,
                treatment_episode_id=ep.episode_id or f"episode-{n}",
                agency_code=ep.agency or "(none)",
                started_on=ep.triaged or min(starts),
                ended_on=ep.discharged,
                end_reason=None,
                transferred=False,
                merged_into=None,
                consent_to_share=True,
            )
            out.append(
                NdtmsContext.model_construct(
                    treatment=treatment,
                    interventions=tuple(ivs),
                    review_policy=None,
                    keyworker_id=None,
                )
            )
        return out


def merge_extract(
    open_extract: Callable[[], BinaryIO],
    facilitation: Mapping[str, Facilitation],
    table: DatasetTable,
    out: BinaryIO,
    *,
    post_treatment_modalities: Collection[str] = (),
) -> MergeReport:
    """Write ``open_extract()``'s lines to ``out`` with review flags filled from ``facilitation``.

    ``open_extract`` opens the extract; it is called three times (header,
    then a pass to learn each client's episodes, interventions and reviews,
    then the merge) and each stream is closed after use. ``facilitation``
    maps CLIENTID to the client's FAMA record. Raises :class:`SubmissionError`
    only when the header is unreadable or lacks the flag columns: then nothing
    is written.
    """
    with open_extract() as fh:
        cols, _ = _header(fh, table)
    missing = [c for c in (*FILLED_COLUMNS, "CLIENTID", "SUBMODDT") if c not in cols]
    if missing:
        raise SubmissionError("extract header lacks " + ", ".join(missing) + ": nothing merged")
    delim = ord(table.file.delimiter)
    post = set(post_treatment_modalities) | set(table.codes["post_treatment_modalities"].values)
    reader = _Reader(cols, table, post)
    consent = table.consent

    # Pass 1: the structure of every review row fama may fill.
    problems: dict[int, str] = {}
    with open_extract() as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                continue
            cells = split_line(split_terminator(raw)[0], delim)
            if isinstance(cells, str) or len(cells) != len(cols):
                continue
            if reader.val(cells, "SUBMODDT") is None:
                continue
            if reader.val(cells, consent.field) != consent.given:
                continue
            client = reader.val(cells, "CLIENTID")
            if client is None or client not in facilitation:
                continue
            why = reader.add(cells, number)
            if why is not None:
                problems[number] = why

    # fama's flags per review, with the same rules as an export.
    report = MergeReport()
    flags: dict[_Key, tuple[bool, bool]] = {}
    yes = table.yes
    for client, episodes in reader.clients.items():
        contexts = reader.contexts(client)
        derived = derive_client(contexts, facilitation[client], table, as_of=dt.date.max)
        # Keys as the extract's rows have them (an AGNCY or EPISODID the extract leaves empty
        # stands in the context under a placeholder), so the episode is taken from the reader.
        for ep, d in zip(episodes.values(), derived.derivations, strict=True):
            for row in d.rows:
                v = row.values
                key = (
                    ep.agency,
                    client,
                    ep.episode_id,
                    row.intervention_id,
                    v.get("SUBMID"),
                    v.get("SUBMODDT"),
                )
                flags[key] = (v.get("RECMAID") == yes, v.get("RECPEER") == yes)
        for u in derived.unplaced:
            if u.activity != "review":
                report.unflagged[u.code] += 1
    for client, f in facilitation.items():  # nothing of the log is dropped silently
        if client not in reader.clients:
            n = sum(len(days) for days in support_days(f, table.peer_support))
            if n:
                report.unflagged["no_review_row_in_extract"] += n
    with open_extract() as fh:
        _merge_lines(fh, out, report, reader, flags, problems, facilitation, table)
    return report


def _merge_lines(
    lines: Iterable[bytes],
    out: BinaryIO,
    report: MergeReport,
    reader: _Reader,
    flags: Mapping[_Key, tuple[bool, bool]],
    problems: Mapping[int, str],
    facilitation: Mapping[str, Facilitation],
    table: DatasetTable,
) -> None:
    cols = reader.cols
    delim = ord(table.file.delimiter)
    consent = table.consent
    yes, no = table.yes, table.no
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            out.write(raw)
            continue
        content, end = split_terminator(raw)
        if not content.strip():
            out.write(raw)
            continue
        report.rows += 1
        cells = split_line(content, delim)
        if isinstance(cells, str) or len(cells) != len(cols):
            reason = cells if isinstance(cells, str) else "wrong number of fields"
            report.unmatched.append((number, f"row cannot be read: {reason}"))
            out.write(raw)
            continue
        if reader.val(cells, "SUBMODDT") is None:
            report.skipped["not a review row"] += 1
            out.write(raw)
            continue
        if reader.val(cells, consent.field) != consent.given:
            report.skipped["no consent"] += 1
            out.write(raw)
            continue
        client = reader.val(cells, "CLIENTID")
        if not client or client not in facilitation:
            report.unmatched.append((number, "client not in fama's log"))
            out.write(raw)
            continue
        if number in problems:
            report.unmatched.append((number, problems[number]))
            out.write(raw)
            continue
        found_flags = flags.get(reader.key(cells, number))
        if found_flags is None:
            report.unmatched.append(
                (number, "review cannot be placed: outside its intervention or treatment episode")
            )
            out.write(raw)
            continue
        found = dict(zip(FILLED_COLUMNS, found_flags, strict=True))
        new = content
        # Replace from the rightmost cell first so earlier offsets stay valid.
        for name in sorted(FILLED_COLUMNS, key=lambda n: -cols[n]):
            cell = cells[cols[name]]
            current = cell.value.strip()
            if current == yes and not found[name]:
                report.kept_yes += 1
                continue
            value = yes if found[name] else no
            if value == current:
                continue
            text = f'"{value}"' if cell.quoted else value
            new = new[: cell.start] + text.encode("utf-8") + new[cell.end :]
        report.filled += 1
        if new != content:
            report.changed += 1
        out.write(new + end)
