"""Export from a log: the fast scan, the join with contexts, rejections, completeness, CLI."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, D, context, intervention, reviews

from fama_adapters.cli import EXIT_OK, EXIT_PARTIAL, ExitCode, main
from fama_adapters.ndtms.export import Completeness, export
from fama_adapters.ndtms.logscan import read_contexts, scan_log
from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome, CloseReason, GoalKind, Obstacle
from fama_core.events import event_to_json
from fama_core.ndtms import ReviewPolicy, facilitation_from_state
from fama_core.workflow import fold

START = D(2026, 1, 5)


def journey(client: str, start=START, *, peer=True, end="engaged"):
    b = JourneyBuilder(client, start=start, keyworker_id="kw-" + client[-1])
    m = b.meeting()
    b.open().session1().goal(GoalKind.READ_HANDOUTS).obstacle(Obstacle.GETTING_THERE)
    b.session2(commit_to=m, accompaniment=True).accompany()
    arrangement = b.events[-1].arrangement.arrangement_id
    b.accompaniment_outcome(
        arrangement, AccompanimentOutcome.ACCOMPANIED if peer else AccompanimentOutcome.CANCELLED
    )
    b.journal(m).session3(commit_to=m).journal(m).session3()
    {
        "engaged": b.engaged,
        "declined": b.declined,
        "closed": lambda: b.closed(CloseReason.TRANSFERRED),
    }[end]()
    return b.events


def log_bytes(*clients):
    return b"".join(event_to_json(e).encode() + b"\n" for events in clients for e in events)


def ctx_bytes(*ctxs):
    return b"".join(c.model_dump_json().encode() + b"\n" for c in ctxs)


def test_fast_scan_equals_the_fold_for_fama_logs():
    events = [journey("c1"), journey("c2", peer=False, end="declined")]
    scanned = {c.client_id: c.facilitation for c in scan_log(log_bytes(*events).splitlines(True))}
    for evs in events:
        assert scanned[evs[0].client_id] == facilitation_from_state(fold(evs))


def test_verify_is_accepted_and_changes_nothing():
    data = log_bytes(journey("c1")).splitlines(True)
    assert [c.facilitation for c in scan_log(data)] == [
        c.facilitation for c in scan_log(data, verify=True)
    ]


def test_a_refused_event_is_reported_on_its_own_line_and_left_out():
    events = journey("c1")
    session_2 = next(e for e in events if e.kind == "session_2_held")
    refused = [events[0], session_2]  # a session 2 straight after opening
    (log,) = scan_log(log_bytes(refused).splitlines(True))
    assert [(r.line, r.event, r.condition) for r in log.refused] == [
        (2, "session_2_held", "allowed_in_state")
    ]
    assert log.facilitation is not None and log.facilitation.sessions == ()
    assert log.refused_sessions == 1


def test_non_canonical_line_falls_back_to_full_decoding():
    events = journey("c1")
    lines = [json.dumps(json.loads(event_to_json(e)), sort_keys=True).encode() for e in events]
    (log,) = scan_log(lines)
    assert log.facilitation == facilitation_from_state(fold(events))


def test_a_bad_line_is_reported_alone_and_the_client_carries_on():
    data = log_bytes(journey("c1")).splitlines(True)
    data.insert(2, b'{"client_id":"c1","kind":"session_1_held"}\n')
    data += log_bytes(journey("c2")).splitlines(True)
    logs = list(scan_log(data))
    assert [log.client_id for log in logs] == ["c1", "c2"]
    assert [line for line, _ in logs[0].problems] == [3]
    assert logs[0].facilitation == facilitation_from_state(fold(journey("c1")))


def test_out_of_order_lines_are_reported():
    data = log_bytes(journey("c2"), journey("c1")).splitlines(True)
    (log,) = scan_log(data)
    assert log.client_id == "c2" and "ascending" in log.problems[0][1]


def test_a_misordered_line_does_not_reject_the_client_it_interrupts():
    """Regression: the line was charged to the client it interrupted, which was rejected."""
    c1, c2 = journey("c1"), journey("c2")
    data = log_bytes(c2).splitlines(True)
    data.insert(3, log_bytes([c1[0]]))
    (log,) = scan_log(data)
    assert log.facilitation == facilitation_from_state(fold(c2))
    ((line, reason),) = log.problems
    assert line == 4 and "began at line 1" in reason


def _ctx(client, **kw):
    return context(client_id=client, policy=ReviewPolicy(interval_days=14), **kw)


def test_export_joins_log_and_contexts_and_counts_rejections():
    log = log_bytes(journey("c1"), journey("c2"), journey("c4"))
    ctxs = ctx_bytes(_ctx("c1"), _ctx("c2", consent=False), _ctx("c3"))
    out = io.BytesIO()
    summary = export(log.splitlines(True), ctxs.splitlines(True), out, TABLE, as_of=D(2026, 3, 1))
    assert summary.rejected == {"no treatment context": 1}
    assert summary.withheld and summary.clients_with_rows == 2
    assert len(out.getvalue().splitlines()) == 1 + summary.rows_written


def test_a_bad_context_line_is_reported_with_its_line():
    bad = b'{"treatment": {"client_id": "c1"}}\n'
    (got,) = read_contexts([bad])
    assert got.client_id == "c1" and got.problems[0][0] == 1
    summary = export(log_bytes(journey("c1")).splitlines(True), [bad], None, TABLE, as_of=AS_OF)
    assert summary.examples["invalid context"] == ["contexts line 1"]


def test_completeness_per_keyworker():
    log = log_bytes(journey("c1"), journey("c2"))
    ended = intervention(ended_on=D(2026, 1, 10), reviews=reviews(D(2026, 1, 6)))
    ctxs = ctx_bytes(
        _ctx("c1"),
        context(client_id="c2", interventions=(ended,)),
        context(client_id="c3"),
    )
    report = Completeness()
    export(
        log.splitlines(True),
        ctxs.splitlines(True),
        None,
        TABLE,
        as_of=D(2026, 6, 1),
        completeness=report,
    )
    assert report.overall.clients_in_treatment == 3
    assert report.overall.facilitation_recorded == 2
    assert report.by_keyworker["kw-2"].reviews_missing == 1
    assert report.by_keyworker["(unassigned)"].facilitation_recorded == 0


# -------------------------------------------------------------------------- CLI


def _files(tmp_path):
    (tmp_path / "events.jsonl").write_bytes(log_bytes(journey("c1"), journey("c2")))
    (tmp_path / "contexts.jsonl").write_bytes(ctx_bytes(_ctx("c1"), _ctx("c2")))
    return tmp_path


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_export_validate_merge_completeness(tmp_path):
    d = _files(tmp_path)
    code, out, _ = run(
        "ndtms",
        "export",
        "--events",
        str(d / "events.jsonl"),
        "--contexts",
        str(d / "contexts.jsonl"),
        "--out",
        str(d / "x.csv"),
        "--as-of",
        "2026-06-01",
    )
    assert code == EXIT_OK and "rows written" in out
    code, out, _ = run("ndtms", "validate", str(d / "x.csv"), "--as-of", "2026-06-01", "--json")
    assert code == EXIT_OK and json.loads(out)["errors"] == 0
    code, out, _ = run(
        "ndtms",
        "merge",
        str(d / "x.csv"),
        "--events",
        str(d / "events.jsonl"),
        "--out",
        str(d / "m.csv"),
        "--as-of",
        "2026-06-01",
    )
    assert code == EXIT_OK and (d / "m.csv").read_bytes() == (d / "x.csv").read_bytes()
    code, out, _ = run(
        "ndtms",
        "completeness",
        "--events",
        str(d / "events.jsonl"),
        "--contexts",
        str(d / "contexts.jsonl"),
        "--extract",
        str(d / "x.csv"),
        "--as-of",
        "2026-06-01",
        "--json",
    )
    assert code == EXIT_OK and json.loads(out)["overall"]["facilitation_recorded"] == 2


def test_cli_validate_reports_per_code_and_exits_partial(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        b'"AGNCY","CLIENTID","CONSENT","RECMAID"\n"A","c1","Y","maybe"\n"A","c2","Q","Y"\n'
    )
    code, out, _ = run("ndtms", "validate", str(bad), "--as-of", "2026-06-01")
    assert code == EXIT_PARTIAL
    assert "FAMA-E030" in out and "FAMA-E020" in out


def test_cli_export_rejections_exit_partial(tmp_path):
    d = _files(tmp_path)
    (d / "contexts.jsonl").write_bytes(ctx_bytes(_ctx("c1")))
    code, out, _ = run(
        "ndtms",
        "export",
        "--events",
        str(d / "events.jsonl"),
        "--contexts",
        str(d / "contexts.jsonl"),
        "--out",
        str(d / "x.csv"),
        "--as-of",
        "2026-06-01",
    )
    assert code == EXIT_PARTIAL and "no treatment context" in out


def test_cli_missing_file_and_same_output_fail_cleanly(tmp_path):
    code, _, err = run("ndtms", "validate", str(tmp_path / "nope.csv"))
    assert code == ExitCode.USAGE and f"cannot use FILE '{tmp_path / 'nope.csv'}'" in err
    d = _files(tmp_path)
    (d / "x.csv").write_bytes(b'"RECMAID"\n')
    code, _, err = run(
        "ndtms",
        "merge",
        str(d / "x.csv"),
        "--events",
        str(d / "events.jsonl"),
        "--out",
        str(d / "x.csv"),
    )
    assert code == ExitCode.USAGE and "must not be the extract" in err


def test_cli_help_for_each_action(capsys):
    for action in ("export", "merge", "validate", "completeness"):
        code, _, _ = run("ndtms", action, "--help")
        assert code == EXIT_OK and "--dataset" in capsys.readouterr().out


def test_submission_formats_are_registered_one_per_version():
    from fama_adapters.plugins import PluginHost

    formats = PluginHost(entry_points=False).submission_formats()
    assert sorted(formats) == ["ndtms-K", "ndtms-M", "ndtms-N", "ndtms-O", "ndtms-P", "ndtms-R"]
    assert "layout as known" in formats["ndtms-K"].description
    assert "layout incomplete" in formats["ndtms-R"].description


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 5)), max_size=40),
    st.integers(1, 8),
    st.integers(1, 60),
)
def test_read_ahead_hands_on_every_log_in_order_and_holds_a_bounded_batch(sizes, clients, lines):
    """read_ahead yields the logs unchanged; what it has read and not yet handed on is one batch.

    A batch ends at ``clients`` logs or once its lines reach ``lines`` (one log of more
    lines is a batch of its own), so memory stays bounded whatever the log holds.
    """
    from fama_adapters.ndtms.export import read_ahead
    from fama_adapters.ndtms.logscan import ClientLog

    logs = [
        ClientLog(f"c{i:03d}", None, i, problems=[(i, "x")] * bad, used=used)
        for i, (used, bad) in enumerate(sizes)
    ]
    pulled = 0

    def source():
        nonlocal pulled
        for log in logs:
            pulled += 1
            yield log

    out = []
    for log in read_ahead(source(), clients=clients, lines=lines):
        held = logs[len(out) : pulled]  # read, not yet handed on (this one included)
        assert len(held) <= clients
        weight = [1 + x.used + len(x.problems) for x in held]
        assert sum(weight[:-1]) < lines  # the batch ended at the first log to reach the budget
        out.append(log)
    assert [id(x) for x in out] == [id(x) for x in logs]


# -------------------------------------------------------------------------- one declaration


def test_export_and_export_logs_declare_their_options_once():
    """`export` repeated `export_logs`' keyword arguments one by one (found by `duplicates`);
    both now take :class:`ExportOptions`, so an option added is added to both."""
    import inspect
    import typing

    from fama_adapters.ndtms.export import ExportOptions, export_logs

    for function in (export, export_logs):
        params = inspect.signature(function).parameters.values()
        (rest,) = [p for p in params if p.kind is p.VAR_KEYWORD]
        assert typing.get_type_hints(function)[rest.name] == typing.Unpack[ExportOptions]
        named = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
        assert named <= {"verify"}
    assert ExportOptions.__required_keys__ == {"as_of"}


def test_export_is_export_logs_over_the_scanned_log_with_every_option():
    from fama_adapters.ndtms.export import export_logs, read_ahead

    log = log_bytes(journey("c1"), journey("c2", peer=False, end="declined")).splitlines(True)
    ctxs = ctx_bytes(_ctx("c1"), _ctx("c2")).splitlines(True)
    results = []
    for run in (
        lambda **kw: export(log, ctxs, **kw),
        lambda **kw: export_logs(read_ahead(scan_log(log)), ctxs, **kw),
    ):
        out, explain, report, seen = io.BytesIO(), io.StringIO(), Completeness(), []
        summary = run(
            out=out,
            table=TABLE,
            as_of=D(2026, 6, 1),
            completeness=report,
            flagged={"c1": frozenset({"R1"})},
            progress=seen.append,
            explain=explain,
        )
        results.append((out.getvalue(), explain.getvalue(), summary.as_dict(), report.overall))
    assert results[0] == results[1] and results[0][0] and results[0][1]


def test_an_option_export_does_not_know_is_refused_not_ignored():
    # Review: with the options as **kwargs, a misspelled one (or a missing as_of) was ignored
    # (or a bare KeyError) where the keyword-only parameters said TypeError, naming it.
    import pytest

    from fama_adapters.ndtms.export import export_logs, read_ahead

    log = log_bytes(journey("c1")).splitlines(True)
    ctxs = ctx_bytes(_ctx("c1")).splitlines(True)
    runs = (
        lambda **kw: export(log, ctxs, None, TABLE, **kw),
        lambda **kw: export_logs(read_ahead(scan_log(log)), ctxs, None, TABLE, **kw),
    )
    for run in runs:
        with pytest.raises(TypeError, match="'explian'"):
            run(as_of=D(2026, 6, 1), explian=io.StringIO())
        with pytest.raises(TypeError, match="'as_of'"):
            run(completeness=Completeness())
        assert run(as_of=D(2026, 6, 1)).as_dict()  # the declared options still work
