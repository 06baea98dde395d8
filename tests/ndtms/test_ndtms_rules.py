"""The rules a submission depends on: one intervention per activity, peer support, refusals.

Each test names the rule (docs/ndtms.md, docs/decisions.md "NDTMS") it holds fama to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json

from hypothesis import example, given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, D, context, facilitation, intervention, reviews

from fama_adapters.cli import EXIT_OK, EXIT_PARTIAL, main
from fama_adapters.ndtms.export import export
from fama_adapters.ndtms.logscan import read_contexts
from fama_core.builders import JourneyBuilder
from fama_core.codes import AccompanimentOutcome, VolunteerKind
from fama_core.context import TreatmentContext
from fama_core.events import event_to_json
from fama_core.ndtms import (
    Intervention,
    InterventionChoice,
    NdtmsContext,
    NdtmsRules,
    PeerSupportRule,
    ReviewPoint,
    ReviewPolicy,
    Validator,
    derive,
    derive_client,
    facilitation_from_state,
    ndtms_completeness,
)
from fama_core.workflow import fold

REVIEW = reviews(D(2026, 3, 1))


def yes_rows(result, name="RECMAID"):
    return [r.intervention_id for r in result.rows if r.values[name] == "Y"]


def three_open(**kw):
    """Pharmacological, psychosocial and recovery support interventions, all open."""
    return context(
        interventions=(
            intervention(intervention_id="PH", modality="94", reviews=REVIEW),
            intervention(intervention_id="PS", modality="95", reviews=REVIEW),
            intervention(intervention_id="RS", modality="96", reviews=REVIEW),
        ),
        **kw,
    )


# ------------------------------------------------------------ once, on the right intervention


def test_a_session_is_flagged_on_one_intervention_not_on_every_open_one():
    """Regression: one session set RECMAID=Y on the reviews of 94, 95 and 96 alike."""
    result = derive(three_open(), facilitation((D(2026, 2, 10),)), TABLE, as_of=AS_OF)
    assert yes_rows(result) == ["RS"]
    assert [r.values["RECMAID"] for r in result.rows] == ["N", "N", "Y"]


def test_without_recovery_support_open_the_psychosocial_intervention_carries_it():
    ctx = context(
        interventions=(
            intervention(intervention_id="PH", modality="94", reviews=REVIEW),
            intervention(intervention_id="PS", modality="95", reviews=REVIEW),
            intervention(
                intervention_id="RS", modality="96", reviews=REVIEW, ended_on=D(2026, 2, 1)
            ),
        )
    )
    assert yes_rows(derive(ctx, facilitation((D(2026, 2, 10),)), TABLE, as_of=AS_OF)) == ["PS"]


def test_codes_the_rule_does_not_list_go_to_the_earliest_started():
    ctx = context(
        interventions=(
            intervention(intervention_id="B", modality="LOC2", started_on=D(2026, 1, 9)),
            intervention(intervention_id="A", modality="LOC1", started_on=D(2026, 1, 2)),
        ),
        policy=ReviewPolicy(interval_days=60),
    )
    result = derive(ctx, facilitation((D(2026, 2, 10),)), TABLE, as_of=AS_OF)
    assert set(yes_rows(result)) == {"A"}


def test_a_provider_overrides_the_choice_in_configuration():
    rules = NdtmsRules(intervention_choice=InterventionChoice(prefer_modalities=("94",)))
    result = derive(
        three_open(), facilitation((D(2026, 2, 10),)), TABLE.with_rules(rules), as_of=AS_OF
    )
    assert yes_rows(result) == ["PH"]


def test_the_choice_rule_is_declared_in_every_dataset_table():
    assert TABLE.intervention_choice.prefer_modalities == ("96", "95", "94")
    assert "intervention choice rule" in TABLE.provisional_items()
    assert "cg-2014" in TABLE.intervention_choice.sources


def test_explain_says_which_intervention_carries_it_and_why():
    result = derive(three_open(), facilitation((D(2026, 2, 10),)), TABLE, as_of=AS_OF, explain=True)
    by_id = {r.intervention_id: r.explain for r in result.rows}
    assert any("rather than on MODID PH, PS" in line for line in by_id["RS"])
    assert any("recorded on MODID RS instead" in line for line in by_id["PS"])
    assert by_id["RS"][0].startswith("RECMAID=Y: 1 FAMA session")


@st.composite
def _interventions(draw):
    out = []
    for k in range(draw(st.integers(1, 4))):
        start = D(2026, 1, 1) + dt.timedelta(days=draw(st.integers(0, 60)))
        length = draw(st.one_of(st.none(), st.integers(0, 200)))
        end = None if length is None else start + dt.timedelta(days=length)
        offsets = draw(st.lists(st.integers(0, 260), max_size=5, unique=True))
        out.append(
            Intervention(
                intervention_id=f"M{k}",
                modality=draw(st.sampled_from(["94", "95", "96", "LOCAL"])),
                started_on=start,
                ended_on=end,
                post_treatment=draw(st.booleans()),
                reviews=tuple(
                    ReviewPoint(review_id=f"R{j}", reviewed_on=start + dt.timedelta(days=o))
                    for j, o in enumerate(offsets)
                ),
            )
        )
    return tuple(out)


@given(
    ivs=_interventions(),
    cycles=st.integers(0, 4),
    gap=st.integers(1, 40),
    discharged=st.one_of(st.none(), st.integers(20, 200)),
)
@settings(max_examples=150, deadline=None)
def test_any_journey_any_overlap_each_session_is_flagged_on_exactly_one_review(
    ivs, cycles, gap, discharged
):
    b = JourneyBuilder("c1", start=D(2026, 1, 5), gap_days=gap)
    m = b.meeting()
    b.open().session1().session2(commit_to=m)
    for _ in range(cycles):
        b.session3(commit_to=m)
    f = facilitation_from_state(fold(b.events))
    ended = None if discharged is None else D(2026, 1, 1) + dt.timedelta(days=discharged)
    ctx = context(interventions=ivs, ended=ended)
    full = derive(ctx, f, TABLE, as_of=AS_OF)
    flagged = {
        (r.intervention_id, r.values["SUBMID"]) for r in full.rows if r.values["RECMAID"] == "Y"
    }
    union: set[tuple[str | None, str | None]] = set()
    for day in f.sessions:
        alone = derive(ctx, dataclasses.replace(f, sessions=(day,)), TABLE, as_of=AS_OF)
        ys = {
            (r.intervention_id, r.values["SUBMID"])
            for r in alone.rows
            if r.values["RECMAID"] == "Y"
        }
        unplaced = [u for u in alone.unplaced if u.activity == "session"]
        assert (
            len(ys) + len(unplaced) == 1
        )  # flagged once, or reported once: never twice, never lost
        union |= ys
    assert flagged == union


# ---------------------------------------------------------------------------- peer support


def _accompanied_journey(kind: VolunteerKind, volunteer: str = "vol-1"):
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m, accompaniment=True).accompany(volunteer, kind=kind)
    arrangement = b.events[-1].arrangement.arrangement_id
    b.accompaniment_outcome(arrangement, AccompanimentOutcome.ACCOMPANIED)
    return facilitation_from_state(fold(b.events))


def _ctx_for_meeting():
    # Sessions on 5 and 12 January; the accompanied meeting on 15 January, alone in its period.
    return context(interventions=(intervention(reviews=reviews(D(2026, 1, 13), D(2026, 2, 1))),))


def test_only_a_recovery_community_organisations_accompaniment_is_peer_support():
    """Regression: RECPEER was Y for any accompaniment, whoever went along (cg-2014)."""
    champion = derive(
        _ctx_for_meeting(),
        _accompanied_journey(VolunteerKind.RECOVERY_CHAMPION),
        TABLE,
        as_of=AS_OF,
    )
    assert [r.values["RECPEER"] for r in champion.rows] == ["N", "N"]
    # ... it counts as facilitation on its meeting date instead.
    assert [r.values["RECMAID"] for r in champion.rows] == ["Y", "Y"]
    rco = derive(
        _ctx_for_meeting(),
        _accompanied_journey(VolunteerKind.RECOVERY_COMMUNITY_ORGANISATION),
        TABLE,
        as_of=AS_OF,
    )
    assert [r.values["RECPEER"] for r in rco.rows] == ["N", "Y"]
    assert [r.values["RECMAID"] for r in rco.rows] == ["Y", "N"]


def test_the_peer_support_rule_is_configurable_by_kind_and_by_volunteer():
    by_kind = TABLE.with_rules(
        NdtmsRules(peer_support=PeerSupportRule(volunteer_kinds=("peer_support_programme",)))
    )
    f = _accompanied_journey(VolunteerKind.PEER_SUPPORT_PROGRAMME)
    assert yes_rows(derive(_ctx_for_meeting(), f, by_kind, as_of=AS_OF), "RECPEER") == ["M1"]
    by_id = TABLE.with_rules(
        NdtmsRules(peer_support=PeerSupportRule(volunteer_kinds=(), volunteer_ids=("vol-rco",)))
    )
    f = _accompanied_journey(VolunteerKind.GROUP_MEMBER, "vol-rco")
    assert yes_rows(derive(_ctx_for_meeting(), f, by_id, as_of=AS_OF), "RECPEER") == ["M1"]
    f = _accompanied_journey(VolunteerKind.GROUP_MEMBER, "vol-other")
    assert yes_rows(derive(_ctx_for_meeting(), f, by_id, as_of=AS_OF), "RECPEER") == []


# ------------------------------------------------------------------ refusals and the summary


def _log(*events):
    return [event_to_json(e).encode() + b"\n" for e in events]


def _ctx_line(ctx):
    return [ctx.model_dump_json().encode() + b"\n"]


def test_a_session_the_workflow_refuses_never_sets_a_flag():
    """Regression: the default export counted a session 3 held before any session 2."""
    b = JourneyBuilder("c1", start=D(2026, 1, 5), gap_days=30)
    b.open().session1().session3()  # 5 January, then 4 February: refused
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 1, 31), D(2026, 3, 1))),))
    out = io.BytesIO()
    summary = export(_log(*b.events), _ctx_line(ctx), out, TABLE, as_of=AS_OF)
    rows = out.getvalue().decode().splitlines()[1:]
    recmaid = TABLE.columns.index("RECMAID")
    assert [r.split(",")[recmaid] for r in rows] == ['"Y"', '"N"']  # session 1 still counts
    (reason,) = summary.rejected
    assert reason.startswith("workflow refused session_3_held")
    assert summary.examples[reason] == ["events line 3"]
    assert summary.unflagged == {"refused": 1}


def test_only_what_depends_on_a_refused_event_is_held_back():
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3(commit_to=m)
    events = list(b.events)
    session_2 = next(i for i, e in enumerate(events) if e.kind == "session_2_held")
    bad = events[session_2].model_copy(update={"episode_id": "another"})
    events[session_2] = bad
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 3, 1))),))
    summary = export(_log(*events), _ctx_line(ctx), None, TABLE, as_of=AS_OF)
    # The session 2 (wrong episode) is refused, and the session 3 that needed it; session 1 counts.
    assert sum(summary.rejected.values()) == 2 and summary.rows_written == 1
    assert summary.unflagged == {"refused": 2}


def test_facilitation_after_discharge_without_post_treatment_is_in_the_summary(tmp_path):
    """Regression: such sessions disappeared from the command line (`rejected: 0`)."""
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m).session3()
    ctx = context(ended=D(2026, 1, 13), interventions=(intervention(reviews=REVIEW[:0]),))
    ctx = context(
        ended=D(2026, 1, 13),
        interventions=(intervention(ended_on=D(2026, 1, 13), reviews=reviews(D(2026, 1, 13))),),
    )
    (tmp_path / "e.jsonl").write_bytes(b"".join(_log(*b.events)))
    (tmp_path / "c.jsonl").write_bytes(b"".join(_ctx_line(ctx)))
    code, out = _run(
        "ndtms", "export", "--events", str(tmp_path / "e.jsonl"), "--contexts",
        str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "x.csv"), "--as-of", "2026-06-01",
    )  # fmt: skip
    assert code == EXIT_OK
    assert "FAMA activities that set no flag: 1" in out
    assert "outside_treatment: after discharge" in out or "outside_treatment" in out


def test_one_client_with_two_treatment_episodes_is_one_client(tmp_path):
    """Regression: one client with two treatment episodes was reported "for 2 clients"."""
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m)
    first = context(
        ended=D(2026, 1, 10),
        interventions=(intervention(ended_on=D(2026, 1, 10), reviews=reviews(D(2026, 1, 10))),),
    )
    second_t = first.treatment.model_copy(
        update={"treatment_episode_id": "E2", "started_on": D(2026, 1, 11), "ended_on": None}
    )
    second = NdtmsContext(
        treatment=second_t,
        interventions=(
            intervention(intervention_id="M2", started_on=D(2026, 1, 11), reviews=REVIEW),
        ),
    )
    (tmp_path / "e.jsonl").write_bytes(b"".join(_log(*b.events)))
    (tmp_path / "c.jsonl").write_bytes(b"".join(_ctx_line(first) + _ctx_line(second)))
    code, out = _run(
        "ndtms", "export", "--events", str(tmp_path / "e.jsonl"), "--contexts",
        str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "x.csv"), "--as-of", "2026-06-01",
    )  # fmt: skip
    assert code == EXIT_OK
    assert "2 rows written" in out and "for 2 treatment episodes of 1 client" in out
    # Each session is placed by the episode it belongs to, not reported outside the other.
    assert "FAMA activities that set no flag: 0" in out


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


# --------------------------------------------------------------------- hostile and odd input


def test_dates_at_the_end_of_time_do_not_stop_the_batch():
    """Regression: dates near 9999-12-31 raised OverflowError and stopped the batch."""
    last = dt.date.max
    far = context(
        client_id="c1",
        started=D(9999, 12, 1),
        interventions=(intervention(started_on=D(9999, 12, 1), reviews=reviews(last)),),
    )
    policy = context(
        client_id="c2",
        started=D(9999, 10, 1),
        interventions=(intervention(started_on=D(9999, 10, 1)),),
        policy=ReviewPolicy(interval_days=91),
    )
    f1 = facilitation((last,), client_id="c1")
    assert yes_rows(derive(far, f1, TABLE, as_of=last)) == ["M1"]
    assert len(derive(policy, facilitation(client_id="c2"), TABLE, as_of=last).rows) == 1
    b = JourneyBuilder("c3", start=D(2026, 1, 5))
    b.open().session1()
    ctxs = (
        _ctx_line(far)
        + _ctx_line(policy)
        + _ctx_line(context(client_id="c3", policy=ReviewPolicy()))
    )
    summary = export(_log(*b.events), ctxs, None, TABLE, as_of=last)
    assert summary.clients_with_rows == 1 and not summary.rejected


def test_contexts_out_of_order_are_reported_with_both_line_numbers():
    lines = _ctx_line(context(client_id="c2")) + _ctx_line(context(client_id="c1"))
    (got,) = read_contexts(lines)
    ((line, reason),) = got.problems
    assert line == 2 and "began at line 1" in reason and "ascending" in reason
    summary = export([], lines, None, TABLE, as_of=AS_OF)
    assert summary.examples["contexts not in ascending client order"] == ["contexts line 2"]


def test_code_fields_with_line_breaks_never_reach_a_row():
    """Regression: modality, agency and end reason took line breaks; rows then failed checks."""
    good = context(client_id="c1").model_dump(mode="json")
    for path in (
        ("interventions", 0, "modality"),
        ("treatment", "agency_code"),
        ("treatment", "end_reason"),
    ):
        bad = json.loads(json.dumps(good))
        target = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = "9\n6"
        (got,) = read_contexts([json.dumps(bad).encode()])
        ((line, reason),) = got.problems
        assert line == 1 and ".".join(str(p) for p in path) in reason and "9\n6" not in reason


def test_validation_refuses_a_control_character_in_any_item():
    v = Validator(TABLE, today=AS_OF)
    findings = v.row("line 2", {"AGNCY": "AG\x00", "CLIENTID": "c1", "CONSENT": "Y"})
    assert [(f.code, f.field) for f in findings if f.code == "FAMA-E012"] == [
        ("FAMA-E012", "AGNCY")
    ]
    assert all("AG\x00" not in f.message for f in findings)


def test_post_treatment_codes_do_not_leak_between_clients():
    """Regression: one client's post-treatment code let another's review after DISD pass."""
    v = Validator(TABLE, today=AS_OF)
    row = {
        "AGNCY": "A", "CLIENTID": "c1", "EPISODID": "E1", "CONSENT": "Y", "TRIAGED": "2026-01-01",
        "DISD": "2026-02-01", "MODAL": "PT", "MODID": "M1", "MODST": "2026-01-01",
        "SUBMODDT": "2026-03-01", "SUBMID": "R1", "RECMAID": "Y", "RECPEER": "N",
    }  # fmt: skip
    assert "FAMA-E043" not in [f.code for f in v.row("a", row, post_treatment=("PT",))]
    other = dict(row, CLIENTID="c2")
    assert "FAMA-E043" in [f.code for f in v.row("b", other)]


def test_unpadded_dates_are_not_dates_of_the_dataset():
    """Regression: 2026-1-5 passed FAMA-E011."""
    v = Validator(TABLE, today=AS_OF)
    row = {"AGNCY": "A", "CLIENTID": "c1", "CONSENT": "Y", "TRIAGED": "2026-1-5"}
    assert [f.field for f in v.row("l", row) if f.code == "FAMA-E011"] == ["TRIAGED"]
    assert TABLE.parse_date("2026-01-05") == D(2026, 1, 5)


def test_a_corrupted_line_is_refused_as_record_refuses_it():
    """Regression (issue 11, item 8): the default export accepted `"done\\u0000"`."""
    b = JourneyBuilder("c1", start=D(2026, 1, 5))
    m = b.meeting()
    b.open().session1().session2(commit_to=m)
    lines = _log(*b.events)
    assert b'"done"' in lines[2]
    lines[2] = lines[2].replace(b'"done"', b'"done\\u0000"', 1)
    ctx = context(interventions=(intervention(reviews=REVIEW),))
    summary = export(lines, _ctx_line(ctx), None, TABLE, as_of=AS_OF)
    assert summary.examples["event line invalid"] == ["events line 3"]


def test_completeness_on_garbage_says_so_and_exits_partial(tmp_path):
    """Regression (issue 11, item 6): zeros and exit 0, rejected lines shown only with --json."""
    (tmp_path / "e.jsonl").write_bytes(b"garbage\n{not json\n")
    (tmp_path / "c.jsonl").write_bytes(b"more garbage\n")
    code, out = _run(
        "ndtms", "completeness", "--events", str(tmp_path / "e.jsonl"), "--contexts",
        str(tmp_path / "c.jsonl"), "--as-of", "2026-06-01",
    )  # fmt: skip
    assert code == EXIT_PARTIAL
    assert "records rejected (not counted above): 3" in out
    assert "events line 1" in out and "contexts line 1" in out


# ---------------------------------------------------------------------------- completeness


def test_completeness_counts_clients_in_treatment_with_no_fama_record_per_keyworker():
    def ctx(client, keyworker):
        c = context(client_id=client)
        return c.model_copy(update={"keyworker_id": keyworker})

    b = JourneyBuilder("c1", start=D(2026, 1, 5), keyworker_id="kw-9")
    b.open().session1()
    recorded = facilitation_from_state(fold(b.events))
    report = ndtms_completeness(
        [
            ([ctx("c1", "kw-a")], recorded),
            ([ctx("c2", "kw-a")], None),
            ([ctx("c3", "kw-b")], None),
            ([ctx("c3b", "kw-b"), ctx("c3b", "kw-b")], None),  # two episodes: one client
        ],
        TABLE,
        as_of=AS_OF,
    )
    assert report.overall.clients_in_treatment == 4
    assert report.overall.no_fama_record == 3
    assert report.by_keyworker["kw-a"].no_fama_record == 1
    assert report.by_keyworker["kw-a"].facilitation_recorded == 1
    assert report.by_keyworker["kw-b"].no_facilitation_in_treatment == 2


def test_derive_client_reports_each_unplaced_activity_once():
    ctx_a = context(
        ended=D(2026, 1, 31),
        interventions=(intervention(ended_on=D(2026, 1, 31), reviews=reviews(D(2026, 1, 20))),),
    )
    t = TreatmentContext(
        client_id="c1", treatment_episode_id="E2", agency_code="AG001",
        started_on=D(2026, 3, 1), consent_to_share=True,
    )  # fmt: skip
    ctx_b = NdtmsContext(treatment=t, interventions=(intervention(started_on=D(2026, 3, 1)),))
    f = facilitation((D(2026, 1, 10), D(2026, 1, 25), D(2026, 2, 15), D(2026, 3, 10)))
    result = derive_client([ctx_a, ctx_b], f, TABLE, as_of=AS_OF)
    assert sorted((u.on, u.code) for u in result.unplaced) == [
        (D(2026, 1, 25), "no_review"),
        (D(2026, 2, 15), "outside_treatment"),
        (D(2026, 3, 10), "pending"),
    ]


def test_cli_rules_file_and_explain(tmp_path):
    b = JourneyBuilder("c1", start=D(2026, 2, 5))
    b.open().session1()
    (tmp_path / "e.jsonl").write_bytes(b"".join(_log(*b.events)))
    (tmp_path / "c.jsonl").write_bytes(b"".join(_ctx_line(three_open())))
    rules = {"intervention_choice": {"prefer_modalities": ["95"]}}
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    argv = ["ndtms", "export", "--events", str(tmp_path / "e.jsonl"), "--contexts"]
    argv += [str(tmp_path / "c.jsonl"), "--out", str(tmp_path / "x.csv"), "--as-of", "2026-06-01"]
    code, out = _run(
        *argv, "--rules", str(tmp_path / "rules.json"), "--explain", str(tmp_path / "w")
    )
    assert code == EXIT_OK
    why = [json.loads(line) for line in (tmp_path / "w").read_text().splitlines()]
    assert [w["line"] for w in why] == [2, 3, 4]
    carried = [w["MODID"] for w in why if w["explain"][0].startswith("RECMAID=Y")]
    assert carried == ["PS"]
    (tmp_path / "rules.json").write_text('{"intervention_choice": {"prefer": 1}}')
    code, out = _run(*argv, "--rules", str(tmp_path / "rules.json"))
    assert code == 3 and "--rules: not a rules file" in out and "prefer" in out


# ----------------------------------------------------------------------- parsers (properties)


@given(st.lists(st.binary(max_size=80), max_size=6))
@settings(max_examples=150, deadline=None)
def test_reading_a_template_never_fails_except_as_a_submission_error(lines):
    from fama_adapters.ndtms.csvfile import read_template
    from fama_core.errors import SubmissionError

    try:
        layout = read_template([line + b"\n" for line in lines], TABLE)
    except SubmissionError:
        return
    assert {"CLIENTID", "SUBMODDT", "RECMAID"} <= set(layout.matched(TABLE))


_CLIENTS = st.sampled_from(["c1", "c2", "c3", "c4"])


@given(st.lists(_CLIENTS, max_size=8), st.lists(st.integers(0, 7), max_size=3))
@settings(max_examples=150, deadline=None)
def test_every_contexts_line_is_used_or_reported_once(clients, garbage_at):
    lines = [_ctx_line(context(client_id=c))[0] for c in clients]
    for k in garbage_at:
        lines.insert(min(k, len(lines)), b"{not json\n")
    got = list(read_contexts(lines))
    used = sum(len(g.contexts) for g in got)
    reported = sum(len(g.problems) for g in got)
    assert used + reported == len(lines)
    ids = [g.client_id for g in got if g.contexts]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # ascending, each client once


@given(
    st.lists(st.sampled_from(["c1", "c2", "c3"]), min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 40), st.binary(max_size=40)), max_size=3),
)
@example(["c1"], [(0, b"\x0b")])  # a vertical tab is not blank: read, and reported
@example(["c1"], [(0, b"\t\x0b")])
@settings(max_examples=100, deadline=None)
def test_every_event_line_is_used_refused_or_reported(clients, junk):
    from fama_adapters.ndtms.logscan import scan_log

    lines: list[bytes] = []
    for c in clients:
        b = JourneyBuilder(c, start=D(2026, 1, 5))
        m = b.meeting()
        b.open().session1().session2(commit_to=m).session3()
        lines += _log(*b.events)
    for at, raw in junk:
        lines.insert(min(at, len(lines)), raw.replace(b"\n", b" ") + b"\n")
    logs = list(scan_log(lines))
    blank = sum(1 for line in lines if not line.strip(b" \t\r\n"))  # what the scan skips
    accounted = sum(len(log.problems) + len(log.refused) + log.used for log in logs)
    assert accounted + blank == len(lines)  # every line used, refused or reported: none dropped
    assert all(line > 0 for log in logs for line, _ in log.problems)


def test_an_old_log_kept_under_an_older_rule_counts_and_is_reported():
    """A session 3 straight after a session-1 commitment was allowed before issue 10: the
    workflow's replay keeps it, flagged; NDTMS counts it (it was delivered) and says so."""
    from fama_core.codes import ExperienceLevel

    b = JourneyBuilder("c1", start=D(2026, 1, 5), gap_days=30)
    m = b.meeting()
    b.open().session1(experience=ExperienceLevel.SOME, commit_to=m).session3()
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 1, 31), D(2026, 3, 1))),))
    out = io.BytesIO()
    summary = export(_log(*b.events), _ctx_line(ctx), out, TABLE, as_of=AS_OF)
    assert not summary.rejected and summary.unflagged == {}
    ((reason, n),) = summary.older_rules.items()
    assert n == 1 and "session_3_held breaks follows_session_2_or_3" in reason
    assert summary.examples[reason] == ["events line 3"]
    recmaid = TABLE.columns.index("RECMAID")
    rows = out.getvalue().decode().splitlines()[1:]
    assert [r.split(",")[recmaid] for r in rows] == ['"Y"', '"Y"']


def test_a_misspelt_volunteer_kind_in_the_rules_is_refused_not_ignored():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        NdtmsRules.model_validate({"peer_support": {"volunteer_kinds": ["recovery_comunity_org"]}})
    rule = NdtmsRules.model_validate(
        {"peer_support": {"volunteer_kinds": ["recovery_community_organisation"]}}
    ).peer_support
    assert rule is not None and rule.counts("recovery_community_organisation", "v1")
