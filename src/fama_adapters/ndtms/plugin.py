"""Built-in plugin: the ``fama ndtms`` commands and the NDTMS demo step.

``fama ndtms export``       events + contexts → review rows (streamed), summary of rejections
``fama ndtms merge``        fill RECMAID / RECPEER of a provider's extract from the log
``fama ndtms validate``     any extract → a report per rule code
``fama ndtms completeness`` per keyworker and overall: facilitation recorded, reviews missing,
                            invalid flags

Inputs: the event log as JSON lines and the contexts as JSON lines of
:class:`fama_core.ndtms.NdtmsContext`, both in ascending client-id order
(docs/ndtms.md, "Contexts file").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fama_adapters.cli import (
    CliContext,
    Command,
    DemoContext,
    DemoStep,
    ExitCode,
    render_table,
)
from fama_adapters.hookspecs import hookimpl
from fama_adapters.ndtms.csvfile import TemplateLayout, read_template
from fama_adapters.ndtms.export import Completeness, ExportSummary, export, unflagged_reason
from fama_adapters.ndtms.formats import validate_extract
from fama_adapters.ndtms.logscan import scan_log
from fama_adapters.ndtms.merge import merge_extract
from fama_core.context import TreatmentContext
from fama_core.errors import FamaError
from fama_core.events import event_to_json
from fama_core.ndtms.context import Intervention, NdtmsContext, ReviewPoint, ReviewPolicy
from fama_core.ndtms.derive import Facilitation
from fama_core.ndtms.tables import (
    CURRENT_VERSION,
    DATASET_VERSIONS,
    DatasetTable,
    NdtmsRules,
    load_dataset,
    load_rules,
    superseded,
)

__all__ = ["demo_contexts", "fama_register_commands", "fama_register_demo_steps"]

DEFAULT_VERSION = CURRENT_VERSION


@contextmanager
def _open_in(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
    else:
        with open(path, "rb") as fh:
            yield fh


class _BadRules(FamaError):
    """The --rules file cannot be used (the reason names fields, never values)."""


def _table(args: argparse.Namespace) -> DatasetTable:
    table = load_dataset(args.dataset)
    path = getattr(args, "rules", None)
    if not path:
        return table
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        rules = NdtmsRules.model_validate_json(raw)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        where = (
            "; ".join(
                ".".join(str(x) for x in e.get("loc", ())) + ": " + str(e.get("type", ""))
                for e in errors(include_input=False, include_url=False, include_context=False)
            )
            if callable(errors)
            else "not valid"
        )
        raise _BadRules(f"--rules: not a rules file: {where}") from None
    return table.with_rules(rules)


def _as_of(args: argparse.Namespace) -> dt.date:
    return dt.date.fromisoformat(args.as_of) if args.as_of else dt.date.today()


def _progress(ctx: CliContext) -> Callable[[int], None] | None:
    if not ctx.interactive:
        return None

    def show(done: int) -> None:
        ctx.stderr.write(f"\r{done:,} clients")
        ctx.stderr.flush()

    return show


def _summary_text(summary: dict[str, Any], out: str) -> str:
    rows, episodes, clients = (
        summary["rows_written"],
        summary["episodes_with_rows"],
        summary["clients_with_rows"],
    )
    lines = [
        f"{rows:,} rows written to {out} for {episodes:,} treatment "
        f"episode{'s' if episodes != 1 else ''} of {clients:,} client{'s' if clients != 1 else ''}"
    ]
    examples = summary["examples"]

    def eg(reason: str) -> str:
        return ", ".join(examples.get(reason, [])[:3])

    rejected = summary["rejected"]
    lines.append(f"rejected: {sum(rejected.values()):,}")
    for reason, n in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:>7,}  {reason}  (e.g. {eg(reason)})")
    unflagged = summary["unflagged"]
    lines.append(f"FAMA activities that set no flag: {sum(unflagged.values()):,}")
    for code, n in sorted(unflagged.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {n:>7,}  {code}: {unflagged_reason(code)}  (e.g. {eg(code)})")
    for reason, n in sorted(summary.get("older_rules", {}).items()):
        lines.append(f"{n:,} {reason}  (e.g. {eg(reason)})")
    for reason, n in sorted(summary["reviews_left_out"].items()):
        lines.append(f"review left out: {n:,}  {reason}")
    for reason, n in sorted(summary["withheld"].items()):
        lines.append(f"withheld: {n:,}  {reason}")
    return "\n".join(lines)


def _warnings(table: DatasetTable, as_of: dt.date) -> list[str]:
    """Warnings about the dataset chosen: superseded by the reporting date."""
    later = superseded(table.version)
    if later is not None and as_of >= later[1]:
        version, day = later
        return [
            f"dataset {table.version} was superseded by dataset {version} on {day.isoformat()} "
            f"and the reporting date is {as_of.isoformat()}: choose --dataset {version} unless "
            f"the submission is for an earlier period"
        ]
    return []


def _layout(table: DatasetTable, template: TemplateLayout | None, name: str) -> dict[str, Any]:
    if template is None:
        return {
            "source": "built-in",
            "label": table.layout_label,
            "status": table.layout.status,
            "columns": len(table.columns),
        }
    matched = template.matched(table)
    filled = [c for c in matched if table.field(c).fama_fills]
    unknown = template.unknown(table)
    lacks = [f.name for f in table.fields if f.fama_fills and f.name not in matched]
    label = (
        f"the provider's template {name} ({len(template.columns)} columns: {len(filled)} "
        f"filled by fama, {len(unknown)} not in dataset {table.version}'s table, written empty)"
    )
    return {
        "source": "template",
        "label": label,
        "columns": len(template.columns),
        "filled": filled,
        "not_in_table": len(unknown),
        "fama_items_not_in_template": lacks,
    }


def _run_export(args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    table = _table(args)
    as_of = _as_of(args)
    explain_path = args.explain
    template = None
    if args.template:
        with open(args.template, "rb") as fh:
            template = read_template(fh, table)
    warnings = _warnings(table, as_of)
    with (
        _open_in(args.events) as events,
        open(args.contexts, "rb") as contexts,
        open(args.out, "wb") as out,
        open(explain_path, "w", encoding="utf-8") if explain_path else _nothing() as explain,
    ):
        summary = export(
            events,
            contexts,
            out,
            table,
            as_of=as_of,
            progress=_progress(ctx),
            explain=explain,
            template=template,
        )
    if ctx.interactive:
        ctx.stderr.write("\n")
    layout = _layout(table, template, args.template or "")
    payload = summary.as_dict() | {
        "dataset": table.version,
        "layout": layout,
        "warnings": warnings,
    }
    text = f"dataset {table.version}; layout: {layout['label']}\n" + _summary_text(
        payload, args.out
    )
    if layout.get("fama_items_not_in_template"):
        text += "\nfama items the template has no column for: " + ", ".join(
            layout["fama_items_not_in_template"]
        )
    if explain_path:
        text += f"\nwhy each flag: {explain_path}"
    ctx.emit(payload, text)
    return _exit(summary)


def _exit(summary: ExportSummary) -> ExitCode:
    return ExitCode.PARTIAL if summary.rejected else ExitCode.OK


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _facilitation(path: str, verify: bool) -> tuple[dict[str, Facilitation], int]:
    found: dict[str, Facilitation] = {}
    rejected = 0
    with _open_in(path) as fh:
        for log in scan_log(fh, verify=verify):
            if log.facilitation is not None:
                found[log.client_id] = log.facilitation
            else:
                rejected += 1
    return found, rejected


def _run_merge(args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    table = _table(args)
    if Path(args.out).resolve() == Path(args.extract).resolve():
        ctx.stderr.write("fama ndtms merge: --out must not be the extract itself\n")
        return ExitCode.USAGE
    facilitation, rejected = _facilitation(args.events, args.verify)
    with open(args.out, "wb") as out:
        report = merge_extract(
            lambda: open(args.extract, "rb"),  # noqa: SIM115 - merge_extract closes it
            facilitation,
            table,
            out,
            post_treatment_modalities=args.post_treatment_modal,
        )
    payload = report.as_dict() | {"clients_in_log": len(facilitation), "log_rejected": rejected}
    reasons = Counter(r for _, r in report.unmatched)
    text = [
        f"{report.rows:,} rows; {report.filled:,} review rows filled, {report.changed:,} changed;"
        f" provider's yes kept {report.kept_yes:,} times; written to {args.out}",
        f"unmatched: {len(report.unmatched):,}",
        *(f"  {n:>7,}  {r}" for r, n in reasons.most_common()),
        *(f"skipped: {n:,}  {r}" for r, n in sorted(report.skipped.items())),
        f"FAMA activities that set no flag: {sum(report.unflagged.values()):,}",
        *(
            f"  {n:>7,}  {code}: {unflagged_reason(code)}"
            for code, n in sorted(report.unflagged.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    ]
    ctx.emit(payload, "\n".join(text))
    return ExitCode.PARTIAL if report.unmatched else ExitCode.OK


def _run_validate(args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    table = _table(args)
    rules = load_rules()
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    with _open_in(args.file) as fh:
        for finding in validate_extract(
            fh, table, today=_as_of(args), post_treatment_modalities=args.post_treatment_modal
        ):
            counts[finding.code] += 1
            if len(examples[finding.code]) < 5:
                examples[finding.code].append(
                    finding.record + (f" {finding.field}" if finding.field else "")
                )
    report: list[dict[str, Any]] = [
        {
            "code": code,
            "severity": rules[code].severity,
            "title": rules[code].title,
            "national_code": rules[code].national_code,
            "count": counts[code],
            "examples": examples[code],
        }
        for code in sorted(counts)
    ]
    errors = sum(counts[c] for c in counts if rules[c].severity == "error")
    text = f"{args.file}: dataset {table.version}; {errors:,} errors, "
    text += f"{sum(counts.values()) - errors:,} warnings\n"
    if report:
        text += render_table(
            ("code", "severity", "count", "rule", "e.g."),
            [
                (r["code"], r["severity"], r["count"], r["title"], "; ".join(r["examples"][:2]))
                for r in report
            ],
        )
    ctx.emit({"dataset": table.version, "errors": errors, "rules": report}, text)
    return ExitCode.PARTIAL if errors else ExitCode.OK


def _flagged_clients(path: str, table: DatasetTable, today: dt.date) -> dict[str, frozenset[str]]:
    """CLIENTID → flag rule codes its rows broke, from an existing extract."""
    from fama_adapters.ndtms.csvfile import ReadRow, read_extract
    from fama_core.ndtms.validate import Validator

    validator = Validator(table, today=today)
    out: dict[str, set[str]] = defaultdict(set)
    with open(path, "rb") as fh:
        for item in read_extract(fh, table):
            if isinstance(item, tuple):
                validator.header(item)
            if not isinstance(item, ReadRow):
                continue
            client = item.values.get("CLIENTID")
            for f in validator.row(f"line {item.line}", item.values):
                if client and f.code in ("FAMA-E030", "FAMA-W060"):
                    out[client].add(f.code)
    return {k: frozenset(v) for k, v in out.items()}


_COMPLETENESS_COLUMNS = (
    ("clients in treatment", "clients_in_treatment"),
    ("no FAMA record", "no_fama_record"),
    ("facilitation recorded", "facilitation_recorded"),
    ("no facilitation in treatment", "no_facilitation_in_treatment"),
    ("reviews missing", "reviews_missing"),
    ("reviews pending", "reviews_pending"),
    ("events refused", "refused_events"),
    ("invalid flags", "invalid_flags"),
    ("flags empty", "flags_empty"),
    ("not submittable", "not_submittable"),
)


def completeness_text(report: Completeness) -> str:
    """The completeness report as a table for people (keyworker ids and counts only)."""
    headers = ("keyworker", *(h for h, _ in _COMPLETENESS_COLUMNS))
    rows = [
        (k, *(getattr(c, a) for _, a in _COMPLETENESS_COLUMNS))
        for k, c in sorted(report.by_keyworker.items())
    ]
    o = report.overall
    rows.append(("(overall)", *(getattr(o, a) for _, a in _COMPLETENESS_COLUMNS)))
    return render_table(headers, rows)


def _run_completeness(args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    table = _table(args)
    today = _as_of(args)
    flagged = _flagged_clients(args.extract, table, today) if args.extract else None
    report = Completeness()
    with _open_in(args.events) as events, open(args.contexts, "rb") as contexts:
        summary = export(
            events,
            contexts,
            None,
            table,
            as_of=today,
            completeness=report,
            flagged=flagged,
        )
    payload = report.as_dict() | {
        "rejected": dict(summary.rejected),
        "examples": summary.examples,
    }
    text = completeness_text(report)
    rejected = summary.rejected
    if rejected:
        text += f"\n\nrecords rejected (not counted above): {sum(rejected.values()):,}"
        for reason, n in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])):
            ex = ", ".join(summary.examples.get(reason, [])[:3])
            text += f"\n  {n:>7,}  {reason}  (e.g. {ex})"
    ctx.emit(payload, text)
    return _exit(summary)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )
    p.add_argument(
        "--dataset",
        default=DEFAULT_VERSION,
        choices=DATASET_VERSIONS,
        help=f"NDTMS dataset version (default {DEFAULT_VERSION})",
    )
    p.add_argument("--as-of", help="reporting date YYYY-MM-DD (default: today)")
    p.add_argument(
        "--rules",
        metavar="FILE",
        help="a provider's rules (JSON, schemas/ndtms-rules.schema.json): which intervention "
        "carries facilitation, which accompaniment is peer support",
    )


def _log_inputs(p: argparse.ArgumentParser, contexts: bool = True) -> None:
    p.add_argument(
        "--events",
        required=True,
        help="FAMA event log, JSON lines in ascending client order ('-': stdin)",
    )
    if contexts:
        p.add_argument(
            "--contexts",
            required=True,
            help="treatment contexts, JSON lines in the same order (docs/ndtms.md)",
        )
    p.add_argument(
        "--verify",
        action="store_true",
        help="accepted for compatibility: every event is always checked by the workflow",
    )


def _configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="ndtms_command", metavar="ACTION", required=True)
    e = sub.add_parser(
        "export",
        help="derive review rows from the event log",
        description="Stream events + contexts to an extract of review rows.",
    )
    _common(e)
    _log_inputs(e)
    e.add_argument("--out", required=True, help="extract file to write")
    e.add_argument(
        "--template",
        metavar="EXTRACT",
        help="write rows in the layout of the provider's own extract (its header, order, "
        "quoting and empty value); default: the built-in layout of --dataset",
    )
    e.add_argument(
        "--explain",
        metavar="FILE",
        help="write why each row's flags have their values (JSON lines, one per row)",
    )
    m = sub.add_parser(
        "merge",
        help="fill RECMAID/RECPEER of an existing extract",
        description="Fill the recovery-support flags of a provider's extract "
        "from fama's event log; every other byte is kept.",
    )
    _common(m)
    m.add_argument("extract", help="the provider's extract")
    _log_inputs(m, contexts=False)
    m.add_argument("--out", required=True, help="merged extract to write")
    m.add_argument(
        "--post-treatment-modal",
        action="append",
        default=[],
        metavar="CODE",
        help="MODAL code of post-treatment recovery support (repeatable)",
    )
    v = sub.add_parser(
        "validate",
        help="validate an extract, ours or a provider's",
        description="Report every recovery-support rule broken, per code.",
    )
    _common(v)
    v.add_argument("file", help="extract to validate ('-': stdin)")
    v.add_argument(
        "--post-treatment-modal",
        action="append",
        default=[],
        metavar="CODE",
        help="MODAL code of post-treatment recovery support (repeatable)",
    )
    c = sub.add_parser(
        "completeness",
        help="per-keyworker completeness of recovery support",
        description="Clients in treatment with facilitation recorded, reviews "
        "missing, invalid flags: per keyworker and overall.",
    )
    _common(c)
    _log_inputs(c)
    c.add_argument("--extract", help="the provider's extract, to count invalid or empty flags")


def _run(args: argparse.Namespace, ctx: CliContext) -> ExitCode:
    runner = {
        "export": _run_export,
        "merge": _run_merge,
        "validate": _run_validate,
        "completeness": _run_completeness,
    }[args.ndtms_command]
    if getattr(args, "json", False):
        ctx.json = True
    if args.as_of:
        try:
            dt.date.fromisoformat(args.as_of)
        except ValueError:  # the value is not repeated
            ctx.stderr.write(f"fama ndtms {args.ndtms_command}: --as-of is not a date YYYY-MM-DD\n")
            return ExitCode.USAGE
    for warning in _warnings(load_dataset(args.dataset), _as_of(args)):
        ctx.stderr.write(f"fama ndtms {args.ndtms_command}: warning: {warning}\n")
    # A path that cannot be opened (exit 2, naming its argument) and a rules file whose content
    # cannot be used (a FamaError, exit 3) are reported by the command line's guard.
    return runner(args, ctx)


@hookimpl
def fama_register_commands(register: Callable[[Command], None]) -> None:
    """``fama ndtms``."""
    register(
        Command(
            "ndtms",
            "NDTMS recovery support: export, merge, validate, completeness",
            _run,
            _configure,
            description=__doc__ or "",
        )
    )


# ----------------------------------------------------------------------- demo

DEMO_AS_OF = dt.date(2026, 6, 30)
"""The demo's reporting date (fixed, so the demo's outputs do not change by the day)."""


def demo_contexts(caseload: dict[str, Any]) -> list[NdtmsContext]:
    """Treatment contexts for the demo caseload, as a host would supply them."""
    out = []
    for n, (client_id, state) in enumerate(sorted(caseload.items())):
        first = state.episodes[0]
        last = state.episodes[-1]
        start = first.opened_on - dt.timedelta(days=14)
        transferred = last.close_reason is not None and last.close_reason.value == "transferred"
        ended = last.ended_on if transferred else None
        out.append(
            NdtmsContext(
                treatment=TreatmentContext(
                    client_id=client_id,
                    treatment_episode_id=f"TE{n + 1:04d}",
                    agency_code="DEMO01",
                    started_on=start,
                    ended_on=ended,
                    end_reason="TRANSFER" if ended else None,
                    transferred=transferred,
                    consent_to_share=n != 1,  # one client refused consent, to show the rule
                ),
                interventions=(_demo_intervention(n, start, ended, last),),
                review_policy=ReviewPolicy(interval_days=28),
                keyworker_id=first.keyworker_id,
            )
        )
    return out


def _demo_intervention(n: int, start: dt.date, ended: dt.date | None, last: Any) -> Intervention:
    """The demo's interventions: review policy for most; one host whose reviews stopped early."""
    mid = f"TE{n + 1:04d}-M1"
    if n == 3:  # reviewed once, then ended with no review after its later sessions: "missing"
        return Intervention(
            intervention_id=mid,
            modality="96",
            started_on=start,
            ended_on=last.sessions[-1].held_on + dt.timedelta(days=7),
            reviews=(
                ReviewPoint(review_id=f"{mid}-R1", reviewed_on=start + dt.timedelta(days=14)),
            ),
        )
    return Intervention(intervention_id=mid, modality="96", started_on=start, ended_on=ended)


def _demo_step(demo: DemoContext) -> None:
    folder = demo.out / "ndtms"
    folder.mkdir(parents=True, exist_ok=True)
    events_path, contexts_path = folder / "events.jsonl", folder / "contexts.jsonl"
    with events_path.open("w", encoding="utf-8") as fh:
        for client_id in sorted(demo.data["events"]):
            for event in demo.data["events"][client_id]:
                fh.write(event_to_json(event) + "\n")
    contexts = demo_contexts(demo.data["caseload"])
    with contexts_path.open("w", encoding="utf-8") as fh:
        for c in contexts:
            fh.write(c.model_dump_json(exclude_none=True) + "\n")
    table = load_dataset(DEFAULT_VERSION)
    extract = folder / f"extract-{table.version}.csv"
    report = Completeness()
    with (
        events_path.open("rb") as ev,
        contexts_path.open("rb") as cx,
        extract.open("wb") as out,
    ):
        summary = export(ev, cx, out, table, as_of=DEMO_AS_OF, completeness=report)
    text = completeness_text(report)
    (folder / "completeness.txt").write_text(text, "utf-8")
    (folder / "completeness.json").write_text(
        json.dumps(report.as_dict(), indent=2) + "\n", "utf-8"
    )
    with extract.open("rb") as fh:
        findings = list(validate_extract(fh, table, today=DEMO_AS_OF))
    w = demo.cli.stdout.write
    w(f"NDTMS recovery support (dataset {table.version}, as of {DEMO_AS_OF})\n\n")
    w(_summary_text(summary.as_dict(), str(extract)) + "\n")
    w(f"validation of the extract: {len(findings)} findings\n\n")
    w(text + "\n")


@hookimpl
def fama_register_demo_steps(register: Callable[[DemoStep], None]) -> None:
    """Write the demo caseload's NDTMS extract and completeness report."""
    register(DemoStep("ndtms", 40, _demo_step))
