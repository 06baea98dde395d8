"""Export: FAMA event log + host contexts → NDTMS review rows, streamed, with a summary.

Joins the two ascending streams client by client (:mod:`.logscan`: every
event decoded and checked by the workflow), derives each client's rows
(:func:`fama_core.ndtms.derive_client`), validates them again before writing
(a row that fails is rejected, not written) and counts what happened: rows,
treatment episodes and clients; every line, event or row rejected, each with
its own record; every FAMA activity that set no flag, with its reason.
Memory holds one client at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO, TypedDict, Unpack

from fama_adapters.ndtms.csvfile import ExtractWriter, TemplateLayout
from fama_adapters.ndtms.logscan import ClientContexts, ClientLog, read_contexts, scan_log
from fama_core.ndtms.completeness import KeyworkerCounts, NdtmsCompleteness
from fama_core.ndtms.derive import UNPLACED_CODES, derive_client, support_days
from fama_core.ndtms.tables import DatasetTable
from fama_core.ndtms.validate import Validator

__all__ = [
    "Completeness",
    "ExportOptions",
    "ExportSummary",
    "KeyworkerCounts",
    "export",
    "export_logs",
    "join_clients",
    "read_ahead",
]

_EXAMPLES = 20

Completeness = NdtmsCompleteness
"""The completeness report (:class:`fama_core.ndtms.NdtmsCompleteness`), kept under its old name."""


@dataclass
class ExportSummary:
    """What an export did: rows, episodes and clients; what was rejected or not flagged, and why."""

    rows_written: int = 0
    clients_with_rows: int = 0
    episodes_with_rows: int = 0
    """Treatment episodes (contexts) with at least one row written."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Reason → number of records (lines, refused events, rows) rejected."""
    withheld: Counter[str] = field(default_factory=Counter)
    """Reason → number of treatment episodes withheld."""
    unflagged: Counter[str] = field(default_factory=Counter)
    """Reason code → FAMA activities (sessions, accompanied meetings) that set no flag."""
    reviews_left_out: Counter[str] = field(default_factory=Counter)
    """Reason → host reviews left out because validation would refuse them."""
    older_rules: Counter[str] = field(default_factory=Counter)
    """Rule → events kept (and counted) that break a rule added after they were written."""
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Reason → up to 20 records (line numbers), never personal data."""

    def reject(self, reason: str, record: str) -> None:
        """Count a rejection and keep an example record."""
        self.rejected[reason] += 1
        self._example(reason, record)

    def _example(self, reason: str, record: str) -> None:
        examples = self.examples.setdefault(reason, [])
        if len(examples) < _EXAMPLES and record not in examples:
            examples.append(record)

    def not_flagged(self, code: str, record: str, n: int = 1) -> None:
        """Count ``n`` activities that set no flag, and keep an example record."""
        if n:
            self.unflagged[code] += n
            self._example(code, record)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "rows_written": self.rows_written,
            "clients_with_rows": self.clients_with_rows,
            "episodes_with_rows": self.episodes_with_rows,
            "rejected": dict(self.rejected),
            "withheld": dict(self.withheld),
            "unflagged": dict(self.unflagged),
            "reviews_left_out": dict(self.reviews_left_out),
            "older_rules": dict(self.older_rules),
            "examples": self.examples,
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


def _context_key(reason: str) -> str:
    if reason.startswith("contexts not in ascending"):
        return "contexts not in ascending client order"
    return reason.split(":")[0]


def _log_key(reason: str) -> str:
    if reason.startswith("log not in ascending"):
        return "log not in ascending client order"
    if reason.startswith("no client_id"):
        return "no client_id"
    return "event line invalid"


class _RequiredOptions(TypedDict):
    """``as_of``, the one option :class:`ExportOptions` requires (a class of its own, since
    ``Required[...]`` is not seen at run time under postponed annotations)."""

    as_of: dt.date


class ExportOptions(_RequiredOptions, total=False):
    """The keyword arguments :func:`export` and :func:`export_logs` share (one declaration).

    ``as_of`` is required: the date the rows are checked as of. ``completeness``
    receives the completeness report; ``flagged`` maps client ids to rule codes
    an existing extract broke, for that report. ``progress`` is called with the
    number of clients done, every 1,000 clients. ``explain`` receives one JSON
    line per row written: its line in the extract, ``MODID``, ``SUBMID`` and why
    each flag has its value. ``template`` lays the rows out as a provider's own
    extract (:func:`~fama_adapters.ndtms.csvfile.read_template`; default: the
    table's layout).
    """

    completeness: NdtmsCompleteness | None
    flagged: dict[str, frozenset[str]] | None
    progress: Callable[[int], None] | None
    explain: TextIO | None
    template: TemplateLayout | None


def _known_options(options: Mapping[str, object]) -> None:
    """Refuse, as keyword-only parameters would, an option :class:`ExportOptions` does not
    declare or a missing ``as_of`` (a misspelled option must not be ignored)."""
    unknown = sorted(
        set(options) - ExportOptions.__optional_keys__ - ExportOptions.__required_keys__
    )
    if unknown:
        raise TypeError(f"export got an unexpected keyword argument {unknown[0]!r}")
    missing = sorted(ExportOptions.__required_keys__ - set(options))
    if missing:
        raise TypeError(f"export missing required keyword argument {missing[0]!r}")


def export(
    events: Iterable[bytes],
    contexts: Iterable[bytes],
    out: BinaryIO | None,
    table: DatasetTable,
    *,
    verify: bool = True,
    **options: Unpack[ExportOptions],
) -> ExportSummary:
    """Stream rows for every client in both inputs to ``out`` (``None``: count only).

    ``events`` and ``contexts`` are the lines of the event log and of the host's
    treatment contexts, each in ascending client order. ``table`` carries the
    rules (intervention choice, peer support), a provider's own with
    :meth:`~fama_core.ndtms.DatasetTable.with_rules`. ``options`` are
    :class:`ExportOptions` (``as_of`` required). ``verify`` is accepted for
    compatibility: the workflow is always checked.
    """
    del verify
    return export_logs(read_ahead(scan_log(events)), contexts, out, table, **options)


def read_ahead(
    logs: Iterable[ClientLog], *, clients: int = 128, lines: int = 4096
) -> Iterator[ClientLog]:
    """``logs`` unchanged, each read in a small batch before the batch is handed on.

    Decoding and folding a batch of clients, then deriving, validating and
    writing their rows, keeps each phase's code and data in the processor's
    caches: about a sixth less CPU for the whole export than alternating
    client by client (measured with ``benchmarks/ndtms_export.py``). A batch
    ends at ``clients`` clients or once its clients' lines reach ``lines``,
    so memory stays bounded whatever the log holds.
    """
    batch: list[ClientLog] = []
    size = 0
    for log in logs:
        batch.append(log)
        size += 1 + log.used + len(log.problems) + len(log.refused)
        if len(batch) >= clients or size >= lines:
            yield from batch
            batch, size = [], 0
    yield from batch


def export_logs(
    logs: Iterable[ClientLog],
    contexts: Iterable[bytes],
    out: BinaryIO | None,
    table: DatasetTable,
    **options: Unpack[ExportOptions],
) -> ExportSummary:
    """:func:`export` of client logs already read (:func:`~fama_adapters.ndtms.logscan.scan_log`).

    The logs must come as ``scan_log`` yields them, in ascending client
    order; the benchmark uses this to time the export apart from decoding
    and folding the events.
    """
    _known_options(options)
    as_of = options["as_of"]
    completeness = options.get("completeness")
    flagged = options.get("flagged")
    progress = options.get("progress")
    explain = options.get("explain")
    template = options.get("template")
    summary = ExportSummary()
    writer = ExtractWriter(out, table, template=template) if out is not None else None
    validator = Validator(
        table, today=as_of, columns=template.matched(table) if template is not None else None
    )
    line_no = 1 if template is not None or table.file.header else 0
    done = 0
    batch: list[str] = []
    for client_id, log, ctxs in join_clients(iter(logs), read_contexts(contexts)):
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done)
        if ctxs is not None:
            for line, reason in ctxs.problems:
                summary.reject(_context_key(reason), f"contexts line {line}")
        refused = 0
        if log is not None:
            for line, reason in log.problems:
                summary.reject(_log_key(reason), f"events line {line}")
            for r in log.refused:
                summary.reject(r.reason, f"events line {r.line}")
            refused = len(log.refused)
            for r in log.older_rules:
                key = f"kept under an older rule: {r.event} breaks {r.condition}"
                summary.older_rules[key] += 1
                summary._example(key, f"events line {r.line}")
            if log.refused and log.refused_sessions:
                summary.not_flagged(
                    "refused", f"events line {log.refused[0].line}", log.refused_sessions
                )
        facilitation = log.facilitation if log is not None else None
        if ctxs is None or not ctxs.contexts:
            if log is not None and facilitation is not None:
                summary.reject("no treatment context", f"events line {log.first_line}")
                s, other, peer = support_days(facilitation, table.peer_support)
                summary.not_flagged(
                    "no_treatment_context",
                    f"events line {log.first_line}",
                    len(s) + len(other) + len(peer),
                )
            continue
        derivation = None
        if facilitation is not None:
            derivation = derive_client(
                ctxs.contexts, facilitation, table, as_of=as_of, explain=explain is not None
            )
            record = f"contexts line {ctxs.first_line}"
            for u in derivation.unplaced:
                if u.activity == "review":
                    summary.reviews_left_out[u.detail.split(": ", 1)[-1]] += 1
                else:
                    summary.not_flagged(u.code, record)
            written_before = summary.rows_written
            for ctx, ctx_line, d in zip(
                ctxs.contexts, ctxs.lines, derivation.derivations, strict=True
            ):
                if d.withheld:
                    summary.withheld[d.withheld] += 1
                if not d.rows:
                    continue
                post = [iv.modality for iv in ctx.interventions if iv.post_treatment]
                record = f"contexts line {ctx_line}"
                wrote_episode = False
                for row in d.rows:
                    found = validator.row(record, row.values, post_treatment=post)
                    errors = [p for p in found if p.severity == "error"] if found else found
                    if errors:
                        first = errors[0]
                        at = f" at {first.field}" if first.field else ""
                        summary.reject(f"row refused: {first.code}{at}", record)
                        carried = _carried(row.values, table)
                        summary.not_flagged("row_refused", record, carried)
                        continue
                    summary.rows_written += 1
                    wrote_episode = True
                    if writer is not None:
                        batch.append(writer.line(row.values))
                    if explain is not None:
                        explain.write(
                            json.dumps(
                                {
                                    "line": line_no + summary.rows_written,
                                    "MODID": row.intervention_id,
                                    "SUBMID": row.values.get("SUBMID"),
                                    "explain": list(row.explain),
                                }
                            )
                            + "\n"
                        )
                summary.episodes_with_rows += wrote_episode
            if summary.rows_written > written_before:
                summary.clients_with_rows += 1
            if len(batch) >= 2000 and writer is not None:
                writer.write_lines(batch)
                batch = []
        validator.forget_reviews()  # review ids are keyed by client: nothing to keep
        if completeness is not None:
            completeness.add_client(
                ctxs.contexts,
                facilitation,
                derivation,
                as_of=as_of,
                flagged=(flagged or {}).get(client_id, frozenset()),
                refused_events=refused,
            )
    if writer is not None and batch:
        writer.write_lines(batch)
    if progress is not None:
        progress(done)
    return summary


def _carried(values: object, table: DatasetTable) -> int:
    """Activities a refused row would have flagged (its yes flags), for the summary."""
    if not isinstance(values, dict):
        return 0
    return sum(values.get(n) == table.yes for n in ("RECMAID", "RECPEER"))


def unflagged_reason(code: str) -> str:
    """A sentence for an unflagged-activity reason code."""
    extra = {
        "refused": "the workflow refused the event",
        "no_treatment_context": "the client has no treatment context",
        "row_refused": "its row failed validation and was not written",
        "no_review_row_in_extract": "the extract has no review row (with consent) for the client",
    }
    return extra.get(code) or UNPLACED_CODES.get(code, code)
