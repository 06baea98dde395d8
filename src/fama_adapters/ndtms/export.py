"""Export: FAMA event log + host contexts → NDTMS review rows, streamed, with a summary.

Joins the two ascending streams client by client (:mod:`.logscan`), derives
each client's rows (:func:`fama_core.ndtms.derive`), validates them again
before writing (a row that fails is rejected, not written) and counts what
happened for the summary and the completeness report. Memory holds one
client at a time.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from fama_adapters.ndtms.csvfile import ExtractWriter
from fama_adapters.ndtms.logscan import ClientContexts, ClientLog, read_contexts, scan_log
from fama_core.ndtms.derive import Derivation, Facilitation, derive
from fama_core.ndtms.tables import DatasetTable
from fama_core.ndtms.validate import Validator

__all__ = ["Completeness", "ExportSummary", "KeyworkerCounts", "export", "join_clients"]

_EXAMPLES = 20


@dataclass
class ExportSummary:
    """What an export did: rows written, clients rejected or withheld, and why."""

    rows_written: int = 0
    clients_with_rows: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    """Reason → number of clients (or lines) rejected."""
    withheld: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Reason → up to 20 records (line numbers), never personal data."""

    def reject(self, reason: str, record: str) -> None:
        """Count a rejection and keep an example record."""
        self.rejected[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < _EXAMPLES:
            examples.append(record)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "rows_written": self.rows_written,
            "clients_with_rows": self.clients_with_rows,
            "rejected": dict(self.rejected),
            "withheld": dict(self.withheld),
            "examples": self.examples,
        }


@dataclass
class KeyworkerCounts:
    """Completeness counts for one keyworker (or everyone)."""

    clients_in_treatment: int = 0
    facilitation_recorded: int = 0
    reviews_missing: int = 0
    """Clients with facilitation that no review carries though the intervention ended."""
    reviews_pending: int = 0
    invalid_flags: int = 0
    """Clients with a review row whose RECMAID / RECPEER is invalid (from an extract)."""
    flags_empty: int = 0
    """Clients with a review row leaving RECMAID and RECPEER empty (from an extract)."""
    not_submittable: int = 0
    """Clients for whom nothing can be submitted (consent, agency …)."""

    def as_dict(self) -> dict[str, int]:
        """JSON form."""
        return dict(self.__dict__)


@dataclass
class Completeness:
    """The audit the commissioners' guide asks for, per keyworker and overall."""

    by_keyworker: dict[str, KeyworkerCounts] = field(default_factory=dict)
    overall: KeyworkerCounts = field(default_factory=KeyworkerCounts)

    def add(
        self,
        keyworker: str,
        derivation: Derivation | None,
        facilitated: bool,
        flagged: frozenset[str] = frozenset(),
    ) -> None:
        """Count one client in treatment."""
        for counts in (self.by_keyworker.setdefault(keyworker, KeyworkerCounts()), self.overall):
            counts.clients_in_treatment += 1
            counts.facilitation_recorded += facilitated
            if derivation is not None:
                counts.reviews_missing += derivation.reviews_missing > 0
                counts.reviews_pending += any(u.code == "pending" for u in derivation.unplaced)
                counts.not_submittable += derivation.withheld is not None and not derivation.rows
            counts.invalid_flags += "FAMA-E030" in flagged
            counts.flags_empty += "FAMA-W060" in flagged

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "overall": self.overall.as_dict(),
            "by_keyworker": {k: v.as_dict() for k, v in sorted(self.by_keyworker.items())},
        }


def join_clients(
    log: Iterator[ClientLog], contexts: Iterator[ClientContexts]
) -> Iterator[tuple[str, ClientLog | None, ClientContexts | None]]:
    """Merge-join two ascending client streams: ``(client_id, log or None, contexts or None)``."""
    a, b = next(log, None), next(contexts, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.client_id < b.client_id):
            assert a is not None
            yield a.client_id, a, None
            a = next(log, None)
        elif a is None or b.client_id < a.client_id:
            yield b.client_id, None, b
            b = next(contexts, None)
        else:
            yield a.client_id, a, b
            a, b = next(log, None), next(contexts, None)


def _facilitated_in(f: Facilitation | None, ctx_start: dt.date, ctx_end: dt.date | None) -> bool:
    if f is None:
        return False
    return any(ctx_start <= d and (ctx_end is None or d <= ctx_end) for d in f.sessions)


def export(
    events: Iterable[bytes],
    contexts: Iterable[bytes],
    out: BinaryIO | None,
    table: DatasetTable,
    *,
    as_of: dt.date,
    verify: bool = False,
    completeness: Completeness | None = None,
    flagged: dict[str, frozenset[str]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportSummary:
    """Stream rows for every client in both inputs to ``out`` (``None``: count only).

    ``flagged`` maps client ids to rule codes an existing extract broke, for
    the completeness report. ``progress`` is called with the number of
    clients done, every 1,000 clients.
    """
    summary = ExportSummary()
    writer = ExtractWriter(out, table) if out is not None else None
    validator = Validator(table, today=as_of)
    done = 0
    batch: list[str] = []
    for client_id, log, ctxs in join_clients(
        scan_log(events, verify=verify), read_contexts(contexts)
    ):
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)
        if ctxs is not None:
            for line, reason in ctxs.problems:
                summary.reject(reason.split(":")[0], f"contexts line {line}")
        if log is not None and log.problems:
            for line, reason in log.problems[:1]:
                summary.reject(_reason_key(reason), f"events line {line}")
            continue
        facilitation = log.facilitation if log is not None else None
        if ctxs is None or not ctxs.contexts:
            if log is not None:
                summary.reject("no treatment context", f"events line {log.first_line}")
            continue
        validator.forget_reviews()  # review ids are keyed by client: nothing to keep
        for ctx in ctxs.contexts:
            t = ctx.treatment
            derivation = None
            if facilitation is not None:
                derivation = derive(ctx, facilitation, table, as_of=as_of)
                if derivation.withheld:
                    summary.withheld[derivation.withheld] += 1
                lines = []
                validator.add_post_treatment(
                    iv.modality for iv in ctx.interventions if iv.post_treatment
                )
                for row in derivation.rows:
                    problems = [
                        p
                        for p in validator.row(f"contexts line {ctxs.first_line}", row.values)
                        if p.severity == "error"
                    ]
                    if problems:
                        summary.reject(problems[0].code, f"contexts line {ctxs.first_line}")
                        continue
                    if writer is not None:
                        lines.append(writer.line(row))
                if lines:
                    summary.clients_with_rows += 1
                    summary.rows_written += len(lines)
                    batch += lines
                    if len(batch) >= 2000 and writer is not None:
                        writer.write_lines(batch)
                        batch = []
            if completeness is not None:
                keyworker = (
                    (
                        facilitation.keyworker_id
                        if facilitation and facilitation.keyworker_id
                        else None
                    )
                    or ctx.keyworker_id
                    or "(unassigned)"
                )
                completeness.add(
                    keyworker,
                    derivation,
                    _facilitated_in(facilitation, t.started_on, t.ended_on),
                    (flagged or {}).get(client_id, frozenset()),
                )
    if writer is not None and batch:
        writer.write_lines(batch)
    if progress is not None:
        progress(done)
    return summary


def _reason_key(reason: str) -> str:
    if reason.startswith("workflow refused"):
        return reason
    if "ascending client order" in reason:
        return "log not in ascending client order"
    if reason.startswith("no client_id"):
        return "no client_id"
    return "event line invalid"
