"""Items fama copies from the host's data are sent only in their shape (FAMA-E013, decision E1).

An NDTMS extract is not formula-marked (X3), so a host value such as ``=HYPERLINK(…)`` in
``AGNCY`` or ``MODAL`` must never be written: the row is refused at its record and item, the
value is not shown, and the rest of the batch carries on.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, context, intervention, reviews, row

from fama_adapters.cli import EXIT_PARTIAL, main
from fama_adapters.ndtms.export import export
from fama_core.builders import JourneyBuilder
from fama_core.events import event_to_json
from fama_core.ndtms import DATASET_VERSIONS, ReviewPolicy, Validator, load_dataset
from fama_core.ndtms.validate import HOST_ITEM_SHAPES

COMPUTED = {"consent", "mutual_aid", "peer_support"}
"""Attributes whose items fama writes itself (codes of the table), not the host's text."""

SHAPED = sorted({f.name for f in TABLE.fields if f.fama_fills in HOST_ITEM_SHAPES})


def test_every_item_copied_from_the_host_has_a_shape_in_every_version():
    for version in DATASET_VERSIONS:
        for f in load_dataset(version).fields:
            if f.fama_fills and f.type != "date" and f.fama_fills not in COMPUTED:
                assert f.fama_fills in HOST_ITEM_SHAPES, (version, f.name)


def test_the_shaped_items_are_the_documented_ones():
    assert SHAPED == sorted(
        ["AGNCY", "CLIENT", "CLIENTID", "EPISODID", "DISRSN", "MODAL", "MODSET", "MODEXIT"]
        + ["MODID", "SUBMID"]
    )


def test_every_listed_code_of_the_tables_is_of_its_shape():
    attrs = {"MODAL": "modality", "MODSET": "setting", "MODEXIT": "exit_status"}
    for version in DATASET_VERSIONS:
        table = load_dataset(version)
        for column, attr in attrs.items():
            for code in table.codes[column].values:
                assert HOST_ITEM_SHAPES[attr].pattern.fullmatch(code)


def _e013(column: str, text: str) -> list[tuple[str, str | None, str]]:
    v = Validator(TABLE, today=AS_OF)
    return [
        (f.record, f.field, f.message)
        for f in v.row("line 7", row(**{column: text}))
        if f.code == "FAMA-E013"
    ]


@pytest.mark.parametrize("column", SHAPED)
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=80))
@example(text="=1+1")
@example(text="+A1")
@example(text="-2")
@example(text="@SUM(A1)")
@example(text='=HYPERLINK("http://x")')
@example(text=" =1")
@example(text="A1\n")
def test_a_host_item_is_refused_at_its_record_and_item_unless_of_its_shape(column, text):
    shape = HOST_ITEM_SHAPES[TABLE.field(column).fama_fills]
    found = _e013(column, text)
    empty = text in ("", TABLE.file.null_value)
    if empty or shape.pattern.fullmatch(text):
        assert found == []
    else:
        assert found == [("line 7", column, f"{column} is not {shape.says}")]


@pytest.mark.parametrize("column", SHAPED)
@settings(max_examples=30, deadline=None)
@given(sign=st.sampled_from("=+-@"), rest=st.text(max_size=20))
def test_nothing_that_begins_like_a_formula_passes(column, sign, rest):
    assert [field for _, field, _ in _e013(column, sign + rest)] == [column]


@pytest.mark.parametrize("column", SHAPED)
def test_the_fast_path_and_the_full_path_agree_on_a_bad_item(column):
    """A row with every item present takes the shape-cached path; it must refuse too."""
    good = {k: v for k, v in row().items() if v}
    v = Validator(TABLE, today=AS_OF, columns=list(good))
    assert v.row("r", good) == []
    bad = dict(good, **{column: "=1+1"})
    assert [f.code for f in v.row("r", bad) if f.code == "FAMA-E013"] == ["FAMA-E013"]


# ----------------------------------------------------------------------------- export


def _journey(client: str) -> bytes:
    b = JourneyBuilder(client, start=AS_OF.replace(month=1, day=5), keyworker_id="kw-1")
    b.open().session1()
    return b"".join(event_to_json(e).encode() + b"\n" for e in b.events)


def _ctx(client: str, **treatment: object) -> bytes:
    c = context(
        client_id=client,
        interventions=(intervention(reviews=reviews(AS_OF.replace(month=3, day=1))),),
        policy=ReviewPolicy(interval_days=30),
    ).model_dump(mode="json")
    c["treatment"].update(treatment.pop("treatment", {}))
    c["interventions"][0].update(treatment)
    return json.dumps(c).encode() + b"\n"


HOSTILE = "=HYPERLINK(A9)"  # short enough for every field's length limit
PLACES = [
    {"treatment": {"agency_code": HOSTILE}},
    {"modality": HOSTILE},
    {"setting": HOSTILE},
    {"exit_status": HOSTILE, "ended_on": "2026-06-01"},
    {"treatment": {"end_reason": HOSTILE, "ended_on": "2026-06-01"}},
]


COLUMN_OF = {
    "agency_code": "AGNCY",
    "modality": "MODAL",
    "setting": "MODSET",
    "exit_status": "MODEXIT",
    "end_reason": "DISRSN",
}


@pytest.mark.parametrize("where", PLACES, ids=lambda w: next(iter(w.get("treatment", w))))
def test_export_refuses_a_formula_from_the_host_and_carries_on(tmp_path, where):
    """Regression: a contexts file's formula was written into the submission as it was."""
    where = json.loads(json.dumps(where))
    events = tmp_path / "events.jsonl"
    contexts = tmp_path / "contexts.jsonl"
    out = tmp_path / "x.csv"
    events.write_bytes(_journey("c1") + _journey("c2") + _journey("c3"))
    contexts.write_bytes(_ctx("c1") + _ctx("c2", **where) + _ctx("c3"))
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["ndtms", "export", "--events", str(events), "--contexts", str(contexts)]
        + ["--out", str(out), "--as-of", "2026-06-30", "--json"],
        stdout=stdout,
        stderr=stderr,
    )
    assert code == EXIT_PARTIAL
    written = out.read_text("utf-8")
    assert "HYPERLINK" not in written and "HYPERLINK" not in stdout.getvalue() + stderr.getvalue()
    clients = [line.split(",")[TABLE.columns.index("CLIENTID")] for line in written.splitlines()]
    assert clients[1:] == ['"c1"', '"c3"']
    summary = json.loads(stdout.getvalue())
    (reason,) = [r for r in summary["rejected"] if r.startswith("row refused")]
    attr = next(k for k in {**where, **where.get("treatment", {})} if k in COLUMN_OF)
    column = COLUMN_OF[attr]
    assert reason == f"row refused: FAMA-E013 at {column}"
    assert summary["examples"][reason] == ["contexts line 2"]


def test_export_summary_names_the_item_in_python_too():
    log = _journey("c1")
    ctxs = _ctx("c1", modality="+1")
    summary = export(log.splitlines(True), ctxs.splitlines(True), None, TABLE, as_of=AS_OF)
    assert summary.rejected == {"row refused: FAMA-E013 at MODAL": 1}
