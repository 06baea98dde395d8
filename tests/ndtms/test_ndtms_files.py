"""The extract file: line splitting, writing and reading back, and the byte-preserving merge."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, D, context, facilitation, intervention, reviews

from fama_adapters.ndtms.csvfile import ReadProblem, ReadRow, split_line, split_terminator
from fama_adapters.ndtms.formats import NdtmsFormat
from fama_adapters.ndtms.merge import FILLED_COLUMNS, merge_extract
from fama_core.errors import SubmissionError
from fama_core.ndtms import SirRow, derive


def test_split_line_keeps_field_positions():
    cells = split_line(b'"a",b,"c""d",')
    assert isinstance(cells, list)
    assert [(c.value, c.quoted) for c in cells] == [
        ("a", True),
        ("b", False),
        ('c"d', True),
        ("", False),
    ]
    assert [(c.start, c.end) for c in cells] == [(0, 3), (4, 5), (6, 12), (13, 13)]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'"abc', "unterminated quoted field"),
        (b'"a"b', "text after a closing quote"),
        (b'a"b', "quote inside an unquoted field"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_split_line_names_what_is_wrong(raw, reason):
    assert split_line(raw) == reason


def test_split_line_offsets_are_bytes_for_non_ascii():
    (a, b) = split_line('"é","x"'.encode())
    assert (b.start, b.end) == (5, 8)


def test_terminators_are_kept():
    assert split_terminator(b"a\r\n") == (b"a", b"\r\n")
    assert split_terminator(b"a") == (b"a", b"")


def _rows():
    ctx = context(interventions=(intervention(reviews=reviews(D(2026, 2, 1), D(2026, 3, 1))),))
    return derive(ctx, facilitation((D(2026, 2, 10),), (D(2026, 1, 20),)), TABLE, as_of=AS_OF).rows


def test_written_file_is_quoted_with_header_and_na():
    buf = io.BytesIO()
    NdtmsFormat("P").write(_rows(), buf)
    header, first, *_ = buf.getvalue().decode().splitlines()
    assert header.startswith('"FINITIAL","SINITIAL"')
    assert '"NA"' in first and first.count('"') == 2 * len(TABLE.columns)


def test_consent_refused_row_writes_withheld_items_empty():
    result = derive(context(consent=False), facilitation(), TABLE, as_of=AS_OF)
    buf = io.BytesIO()
    NdtmsFormat("P").write(result.rows, buf)
    line = buf.getvalue().decode().splitlines()[1]
    cells = dict(zip(TABLE.columns, (c.value for c in split_line(line.encode())), strict=True))
    assert {k: v for k, v in cells.items() if v} == {
        "AGNCY": "AG001",
        "CLIENTID": "c1",
        "CONSENT": "N",
    }
    assert '"NA"' not in line


values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12
).filter(lambda v: v not in ("NA", ""))


@settings(max_examples=100)
@given(
    st.lists(st.dictionaries(st.sampled_from(TABLE.columns), values), max_size=5),
    st.sampled_from("KMNOP"),
)
def test_export_then_read_back_is_lossless(rows, version):
    fmt = NdtmsFormat(version)
    rows = [{**r, "CONSENT": "Y"} for r in rows]
    buf = io.BytesIO()
    fmt.write([SirRow(r, None, None) for r in rows], buf)
    items = list(fmt.read(buf.getvalue().splitlines(True)))
    assert items[0] == fmt.table.columns
    back = [i.values for i in items[1:] if isinstance(i, ReadRow)]
    assert back == [{c: r.get(c) for c in fmt.table.columns} for r in rows]


_CELL_TEXTS = st.sampled_from(["", "NA", "Y", "N", 'a "b"', '"', "x,y", " pad ", "2026-01-05"])


@settings(max_examples=300)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from([*TABLE.columns[:20], "RECMAID", "ZZZ"]),
            st.none() | _CELL_TEXTS,
            max_size=8,
        ),
        max_size=6,
    ),
    st.sampled_from("KPR"),
    st.sampled_from([None, "quoted", "plain"]),
)
def test_a_pre_rendered_line_is_the_line_written_cell_by_cell(rows, version, template):
    """ExtractWriter.line (by the row's pre-rendered layout) == the cell-by-cell line.

    Rows repeat their items' order (the layouts are reused), hold quotes,
    empty and NA values, unknown items and a refused consent; a provider's
    template quotes every field or only where needed.
    """
    from fama_adapters.ndtms.csvfile import ExtractWriter, read_template
    from fama_core.ndtms import load_dataset

    table = load_dataset(version)
    layout = None
    if template is not None:
        columns = [*reversed(table.columns), "LOCAL"]  # the provider's order, and its own column
        header = ",".join(f'"{c}"' if template == "quoted" else c for c in columns)
        layout = read_template([header.encode() + b"\n"], table)
    writer = ExtractWriter(io.BytesIO(), table, template=layout)
    for values in rows + rows:
        for consent in (None, table.consent.given, table.consent.refused):
            row = values if consent is None else {**values, table.consent.field: consent}
            assert writer.line(row) == writer._cell_line(row)


def test_reading_reports_a_bad_line_and_continues():
    buf = io.BytesIO()
    NdtmsFormat("P").write(_rows(), buf)
    lines = buf.getvalue().splitlines(True)
    lines.insert(2, b'"oops\n')
    items = list(NdtmsFormat("P").read(lines))
    assert [type(i).__name__ for i in items[1:]] == ["ReadRow", "ReadProblem", "ReadRow"]
    assert isinstance(items[2], ReadProblem) and items[2].line == 3


# ------------------------------------------------------------------------ merge


def _extract(
    rows: list[dict[str, str]], columns: list[str], *, crlf=False, bom=False, quote=True
) -> bytes:
    end = "\r\n" if crlf else "\n"

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if quote or '"' in v or "," in v else v

    text = ",".join(cell(c) for c in columns) + end
    text += "".join(",".join(cell(r.get(c, "NA")) for c in columns) + end for r in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


COLUMNS = [
    "AGNCY",
    "CLIENTID",
    "EPISODID",
    "CONSENT",
    "TRIAGED",
    "DISD",
    "MODAL",
    "MODID",
    "MODST",
    "MODEND",
    "SUBMODDT",
    "SUBMID",
    "RECPEER",
    "RECMAID",
    "RECHSE",
    "DOB",
]


def _review(client="c1", date="2026-02-01", sid="R1", **kw):
    base = {
        "AGNCY": "AG",
        "CLIENTID": client,
        "EPISODID": "E1",
        "CONSENT": "Y",
        "TRIAGED": "2026-01-01",
        "MODAL": "RECSUP",
        "MODID": "M1",
        "MODST": "2026-01-01",
        "SUBMODDT": date,
        "SUBMID": sid,
        "RECPEER": "NA",
        "RECMAID": "NA",
        "RECHSE": "Y",
        "DOB": "1980-01-01",
    }
    return base | kw


def _merge(data: bytes, fac=None, **kw):
    out = io.BytesIO()
    fac = fac if fac is not None else {"c1": facilitation((D(2026, 2, 10),), (D(2026, 1, 20),))}
    report = merge_extract(lambda: io.BytesIO(data), fac, TABLE, out, **kw)
    return out.getvalue(), report


def test_merge_fills_flags_per_review_period():
    data = _extract([_review(), _review(date="2026-03-01", sid="R2")], COLUMNS)
    merged, report = _merge(data)
    lines = merged.decode().splitlines()
    assert lines[1].endswith('"Y","N","Y","1980-01-01"')  # peer in Jan, no session before 1 Feb
    assert lines[2].endswith('"N","Y","Y","1980-01-01"')
    assert report.filled == 2 and report.unmatched == []


def test_merge_never_turns_a_providers_yes_into_no():
    data = _extract([_review(RECMAID="Y", date="2026-01-01")], COLUMNS)
    merged, report = _merge(data)
    assert merged.decode().splitlines()[1].endswith('"N","Y","Y","1980-01-01"')
    assert report.kept_yes == 1


def test_merge_reports_each_row_it_cannot_match_and_copies_it():
    data = _extract([_review(client="zz"), _review(MODST="NA")], COLUMNS)
    merged, report = _merge(data)
    assert merged == data
    assert [r for _, r in report.unmatched] == [
        "client not in fama's log",
        "no MODST: the review period cannot be placed",
    ]
    assert [n for n, _ in report.unmatched] == [2, 3]


def test_merge_leaves_non_review_and_no_consent_rows_alone():
    data = _extract([_review(SUBMODDT="NA"), _review(CONSENT="N")], COLUMNS)
    merged, report = _merge(data)
    assert merged == data and sum(report.skipped.values()) == 2


def test_merge_refuses_an_extract_without_flag_columns():
    with pytest.raises(SubmissionError, match="RECMAID"):
        _merge(_extract([_review()], [c for c in COLUMNS if c != "RECMAID"]))


def test_merge_keeps_unquoted_style_crlf_and_bom():
    data = _extract([_review()], COLUMNS, crlf=True, bom=True, quote=False)
    merged, _ = _merge(data)
    assert merged.startswith(b"\xef\xbb\xbf") and merged.endswith(b"Y,N,Y,1980-01-01\r\n")


def _cells_outside_flags(data: bytes) -> list[tuple[bytes, ...]]:
    out = []
    lines = data.splitlines(True)
    header = split_line(split_terminator(lines[0])[0].removeprefix(b"\xef\xbb\xbf"))
    assert isinstance(header, list)
    keep = [i for i, c in enumerate(header) if c.value not in FILLED_COLUMNS]
    for raw in lines[1:]:
        content, end = split_terminator(raw)
        cells = split_line(content)
        if isinstance(cells, str) or len(cells) != len(header):
            out.append((raw,))
            continue
        out.append((*(content[cells[i].start : cells[i].end] for i in keep), end))
    return out


other = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=6
)


@settings(max_examples=100)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "CLIENTID": st.sampled_from(["c1", "c2", "zz"]),
                "SUBMODDT": st.sampled_from(["2026-02-01", "2026-02-15", "NA", "bad"]),
                "SUBMID": st.sampled_from(["R1", "R2"]),
                "CONSENT": st.sampled_from(["Y", "N"]),
                "RECMAID": st.sampled_from(["Y", "N", "NA", "?"]),
                "RECPEER": st.sampled_from(["Y", "N", "NA", ""]),
                "RECHSE": other,
                "DOB": other,
                "MODST": st.sampled_from(["2026-01-01", "NA"]),
                "MODID": st.sampled_from(["M1", "M2", "M3"]),
                "MODAL": st.sampled_from(["94", "95", "96", "RECSUP"]),
                "MODEND": st.sampled_from(["NA", "2026-01-25", "2026-03-01"]),
                "DISD": st.sampled_from(["NA", "2026-02-10"]),
            }
        ),
        max_size=8,
    ),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_merge_changes_nothing_but_the_recovery_support_columns(rows, crlf, bom, quote, seed):
    full = [_review() | r for r in rows]
    data = bytearray(_extract(full, COLUMNS, crlf=crlf, bom=bom, quote=quote))
    if full and seed % 3 == 0:  # corrupt one line now and then
        lines = bytes(data).splitlines(True)
        k = random.Random(seed).randrange(1, len(lines))
        lines[k] = b'"broken' + lines[k]
        data = bytearray(b"".join(lines))
    fac = {"c1": facilitation((D(2026, 1, 20),)), "c2": facilitation((), (D(2026, 2, 3),))}
    merged, report = _merge(bytes(data), fac)
    assert _cells_outside_flags(merged) == _cells_outside_flags(bytes(data))
    assert len(merged.splitlines()) == len(bytes(data).splitlines())
    assert report.rows == len(full)


def test_merge_records_a_session_on_one_intervention_of_the_providers_rows():
    """Regression: merge set RECMAID=Y on every intervention's review covering the session."""
    rows = [
        _review(MODID="PH", MODAL="94", RECMAID="N"),
        _review(MODID="PS", MODAL="95", RECMAID="N"),
        _review(MODID="RS", MODAL="96", RECMAID="N"),
    ]
    merged, report = _merge(_extract(rows, COLUMNS), {"c1": facilitation((D(2026, 1, 20),))})
    flags = [line.split(",")[COLUMNS.index("RECMAID")] for line in merged.decode().splitlines()[1:]]
    assert flags == ['"N"', '"N"', '"Y"'] and report.filled == 3


def test_merge_reports_what_of_the_log_set_no_flag():
    """Nothing dropped silently: activities no provider row carries are counted by reason."""
    rows = [_review(date="2026-02-01", MODEND="2026-02-01")]
    fac = {
        "c1": facilitation((D(2026, 1, 20), D(2026, 3, 10))),  # the second: after MODEND
        "c9": facilitation((D(2026, 1, 20),), client_id="c9"),  # not in the extract at all
    }
    _, report = _merge(_extract(rows, COLUMNS), fac)
    assert report.unflagged == {"no_intervention": 1, "no_review_row_in_extract": 1}


def test_merge_fills_rows_whose_extract_leaves_agency_and_episode_empty():
    rows = [_review(AGNCY="NA", EPISODID="NA", RECMAID="N")]
    merged, report = _merge(_extract(rows, COLUMNS), {"c1": facilitation((D(2026, 1, 20),))})
    assert report.filled == 1 and not report.unmatched
    assert merged.decode().splitlines()[1].split(",")[COLUMNS.index("RECMAID")] == '"Y"'
