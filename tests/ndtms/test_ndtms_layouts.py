"""Layouts: a provider's extract as template, honest labels, dataset R, superseded versions."""

from __future__ import annotations

import io

import pytest
from ndtms_factories import D, context, intervention, reviews

from fama_adapters.cli import ExitCode, main
from fama_adapters.ndtms.csvfile import ReadProblem, read_extract, read_template, split_line
from fama_adapters.ndtms.export import export
from fama_adapters.ndtms.formats import validate_extract
from fama_adapters.ndtms.merge import merge_extract
from fama_core.builders import JourneyBuilder
from fama_core.errors import SubmissionError
from fama_core.events import event_to_json
from fama_core.ndtms import DATASET_VERSIONS, load_dataset
from fama_core.ndtms.tables import CURRENT_VERSION, superseded

R = load_dataset("R")
AS_OF = D(2026, 6, 30)

# A provider's extract: its own order, an item fama's tables lack (SWSYS), lower-case RECPEER,
# nothing quoted, empty fields left empty, CRLF and a byte-order mark.
PROVIDER = (
    b"\xef\xbb\xbfAGNCY,CLIENTID,SWSYS,CONSENT,EPISODID,TRIAGED,MODAL,MODID,MODST,SUBMODDT,"
    b"SUBMID,recpeer,RECMAID,DOB\r\n"
    b"AG001,c0,CaseSys 4.2,Y,E0,2026-01-01,96,M0,2026-01-01,2026-03-01,R0,,N,1980-01-01\r\n"
)


def _inputs():
    b = JourneyBuilder("c1", start=D(2026, 2, 2))
    m = b.meeting()
    b.open().session1().session2(commit_to=m)
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 1, 31), D(2026, 2, 28))),))
    events = [event_to_json(e).encode() + b"\n" for e in b.events]
    return events, [ctx.model_dump_json().encode() + b"\n"]


def test_template_layout_is_read_from_the_providers_header_and_rows():
    layout = read_template(io.BytesIO(PROVIDER), R)
    assert layout.columns[2] == "SWSYS" and layout.bom and layout.line_terminator == "\r\n"
    assert not layout.quote_all and layout.null_value == ""
    assert layout.matched(R)["RECPEER"] == 11 and layout.unknown(R) == ["SWSYS"]


def test_export_writes_rows_in_the_providers_own_layout():
    events, ctxs = _inputs()
    out = io.BytesIO()
    summary = export(
        events, ctxs, out, R, as_of=AS_OF, template=read_template(io.BytesIO(PROVIDER), R)
    )
    data = out.getvalue()
    header = PROVIDER.split(b"\r\n")[0] + b"\r\n"
    assert data.startswith(header) and summary.rows_written == 2
    lines = data[len(header) :].split(b"\r\n")[:-1]
    assert lines[1] == b"AG001,c1,,Y,E1,2026-01-01,RECSUP,M1,2026-01-01,2026-02-28,R2,N,Y,"
    # What fama writes in the provider's layout, its own validator (and merge) accept.
    findings = [f for f in validate_extract(io.BytesIO(data), R, today=AS_OF)]
    assert [f.code for f in findings if f.severity == "error"] == []
    read = list(read_extract(io.BytesIO(data), R))
    assert read[0][11] == "RECPEER" and all(not isinstance(i, ReadProblem) for i in read)


def test_merge_of_an_export_in_the_providers_layout_changes_nothing():
    events, ctxs = _inputs()
    out = io.BytesIO()
    export(events, ctxs, out, R, as_of=AS_OF, template=read_template(io.BytesIO(PROVIDER), R))
    from fama_adapters.ndtms.logscan import scan_log

    facilitation = {log.client_id: log.facilitation for log in scan_log(events)}
    merged = io.BytesIO()
    report = merge_extract(lambda: io.BytesIO(out.getvalue()), facilitation, R, merged)
    assert merged.getvalue() == out.getvalue() and report.filled == 2 and not report.unmatched


def test_a_template_without_the_review_items_is_refused():
    with pytest.raises(SubmissionError, match="lacks SUBMODDT, RECMAID"):
        read_template(io.BytesIO(b"AGNCY,CLIENTID\r\n"), R)
    with pytest.raises(SubmissionError, match="no header"):
        read_template(io.BytesIO(b""), R)


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _files(tmp_path):
    events, ctxs = _inputs()
    (tmp_path / "e.jsonl").write_bytes(b"".join(events))
    (tmp_path / "c.jsonl").write_bytes(b"".join(ctxs))
    (tmp_path / "provider.csv").write_bytes(PROVIDER)
    return ["--events", str(tmp_path / "e.jsonl"), "--contexts", str(tmp_path / "c.jsonl")]


def test_the_command_says_which_layout_it_used(tmp_path):
    inputs = _files(tmp_path)
    out = str(tmp_path / "x.csv")
    code, text, _ = _run("ndtms", "export", *inputs, "--out", out, "--as-of", "2026-06-30")
    assert code == ExitCode.OK
    assert text.startswith("dataset R; layout: built-in dataset R layout (146 columns; incomplete")
    code, text, _ = _run(
        "ndtms", "export", *inputs, "--out", out, "--dataset", "K", "--as-of", "2016-06-30"
    )
    assert "built-in dataset K layout (144 columns, as known)" in text
    template = str(tmp_path / "provider.csv")
    code, text, _ = _run(
        "ndtms", "export", *inputs, "--out", out, "--template", template, "--as-of", "2026-06-30"
    )
    assert code == ExitCode.OK and f"the provider's template {template} (14 columns" in text
    assert (tmp_path / "x.csv").read_bytes().startswith(PROVIDER.split(b"\n")[0])
    (tmp_path / "bad.csv").write_bytes(b"AGNCY\n")
    code, _, err = _run(
        "ndtms", "export", *inputs, "--out", out, "--template", str(tmp_path / "bad.csv")
    )
    assert code == ExitCode.FAILED and "template header lacks" in err


def test_dataset_r_is_the_current_default_with_its_provisional_items_named():
    assert DATASET_VERSIONS[-1] == CURRENT_VERSION == "R"
    assert R.effective_from == "2024-04-01" and R.layout.status == "incomplete"
    items = R.provisional_items()
    assert "layout (incomplete)" in items and "field RECMAID" in items
    assert all(f.provisional for f in R.fields)
    assert load_dataset("K").layout.status == "known"


def test_a_superseded_version_warns_when_the_reporting_date_is_after_it(tmp_path):
    assert superseded("P") == ("R", D(2024, 4, 1)) and superseded("R") is None
    assert superseded("K") == ("N", D(2017, 4, 1))  # M's date is not known: N's bounds it
    inputs = _files(tmp_path)
    out = str(tmp_path / "x.csv")
    _, _, err = _run(
        "ndtms", "export", *inputs, "--out", out, "--dataset", "P", "--as-of", "2026-06-30"
    )
    assert "warning: dataset P was superseded by dataset R on 2024-04-01" in err
    _, _, err = _run(
        "ndtms", "export", *inputs, "--out", out, "--dataset", "P", "--as-of", "2024-03-31"
    )
    assert "warning" not in err
    _, _, err = _run("ndtms", "export", *inputs, "--out", out, "--as-of", "2026-06-30")
    assert "warning" not in err
    cells = split_line((tmp_path / "x.csv").read_bytes().splitlines()[0])
    assert len(cells) == len(R.columns)
