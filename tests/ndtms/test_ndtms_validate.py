"""Each validation rule with a failing and a passing case, and validation never raising."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ndtms_factories import AS_OF, TABLE, row

from fama_adapters.ndtms.formats import validate_extract
from fama_core.ndtms import Validator, load_rules


def codes(
    *rows: dict[str, str | None], today: dt.date = AS_OF, post: tuple[str, ...] = ()
) -> list[str]:
    v = Validator(TABLE, today=today, post_treatment_modalities=post)
    out: list[str] = []
    for i, r in enumerate(rows):
        out += [f.code for f in v.row(f"row {i}", r)]
    return out


def test_a_complete_review_row_passes_every_rule():
    assert codes(row()) == []


# Each case: (code, a row breaking only that rule). The passing case is row() itself.
FAILING = [
    ("FAMA-E010", row(AGNCY=None)),
    ("FAMA-E010", row(CLIENTID="NA")),
    ("FAMA-E010", row(EPISODID=None)),
    ("FAMA-E010", row(SUBMID=None)),
    ("FAMA-E010", row(MODST=None)),
    ("FAMA-E011", row(SUBMODDT="01/03/2026")),
    ("FAMA-E011", row(TRIAGED="2026-02-31")),
    ("FAMA-E020", row(CONSENT="maybe")),
    ("FAMA-E030", row(RECMAID="yes")),
    ("FAMA-E030", row(RECPEER="1")),
    ("FAMA-E040", row(SUBMODDT="2025-12-31", TRIAGED="2025-12-01")),
    ("FAMA-E041", row(MODEND="2026-02-01")),
    ("FAMA-E042", row(TRIAGED="2026-03-02", MODST="2026-03-01", SUBMODDT="2026-03-01")),
    ("FAMA-E043", row(DISD="2026-02-01", MODEND="2026-04-01")),
    ("FAMA-E044", row(SUBMODDT="2027-01-01", MODST="2026-01-01")),
    ("FAMA-E045", row(MODEND="2025-01-01", SUBMODDT="2025-01-01", MODST="2026-01-01")),
    ("FAMA-E045", row(REFMODDT="2026-01-02")),
    ("FAMA-W060", row(RECMAID=None, RECPEER=None, PSYSTP="Y")),
]


@pytest.mark.parametrize(
    ("code", "bad"), FAILING, ids=[f"{c}-{i}" for i, (c, _) in enumerate(FAILING)]
)
def test_each_rule_fails_its_bad_row(code, bad):
    assert code in codes(bad)


def test_consent_refused_allows_only_agency_client_and_consent():
    ok = {c: None for c in TABLE.columns} | {"AGNCY": "A", "CLIENTID": "c1", "CONSENT": "N"}
    assert codes(ok) == []
    assert codes(ok | {"RECMAID": "Y"}) == ["FAMA-E021"]


def test_consent_refused_row_does_not_need_review_items():
    assert codes({"AGNCY": "A", "CLIENTID": "c1", "CONSENT": "N", "SUBMODDT": ""}) == []


def test_consent_is_required():
    assert "FAMA-E010" in codes(row(CONSENT=None))


def test_duplicate_review_id_in_one_intervention_is_an_error():
    assert codes(row(), row(SUBMODDT="2026-04-01")) == ["FAMA-E050"]


def test_same_review_id_in_another_intervention_is_fine():
    assert codes(row(), row(MODID="M2")) == []


def test_two_reviews_on_one_date_warn():
    assert codes(row(), row(SUBMID="R2")) == ["FAMA-W061"]


def test_post_treatment_review_after_discharge_is_allowed_for_the_hosts_code():
    late = row(DISD="2026-02-01", MODAL="POST")
    assert "FAMA-E043" in codes(late)
    assert codes(late, post=("POST",)) == []


def test_post_treatment_review_before_discharge_warns():
    early = row(DISD="2026-06-01", MODAL="POST")
    assert codes(early, post=("POST",)) == ["FAMA-W063"]


def test_review_on_the_reporting_date_is_not_in_the_future():
    assert codes(row(SUBMODDT="2026-12-31")) == []


def test_a_row_without_review_items_needs_no_review_items():
    assert codes(row(SUBMODDT=None, SUBMID=None, RECMAID=None, RECPEER=None, MODID=None)) == []


def test_findings_never_quote_the_value():
    bad = row(RECMAID="secret-value", SUBMODDT="secret-date")
    for f in Validator(TABLE, today=AS_OF).row("r", bad):
        assert "secret" not in f.message


def test_every_code_used_is_declared_with_severity_matching_its_letter():
    rules = load_rules()
    for code, _ in FAILING:
        assert code in rules
    for code, rule in rules.items():
        assert (rule.severity == "error") == (code[5] == "E")


def _file(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def _header() -> str:
    return ",".join(f'"{c}"' for c in TABLE.columns)


def _line(values: dict[str, str | None]) -> str:
    return ",".join(f'"{values[c] if values[c] is not None else "NA"}"' for c in TABLE.columns)


def test_unreadable_line_is_reported_and_the_rest_validated():
    data = _file(_header(), '"broken', _line(row(RECMAID="X")))
    found = [
        (f.code, f.record) for f in validate_extract(data.splitlines(True), TABLE, today=AS_OF)
    ]
    assert ("FAMA-E001", "line 2") in found
    assert ("FAMA-E030", "line 3") in found


def test_wrong_number_of_fields_is_e001():
    data = _file(_header(), '"a","b"')
    assert [f.code for f in validate_extract(data.splitlines(True), TABLE, today=AS_OF)] == [
        "FAMA-E001"
    ]


def test_header_without_flag_columns_is_e002_and_full_header_passes():
    data = _file('"AGNCY","CLIENTID","CONSENT"', '"A","c1","N"')
    found = [f.code for f in validate_extract(data.splitlines(True), TABLE, today=AS_OF)]
    assert found.count("FAMA-E002") >= 2
    good = _file(_header(), _line(row()))
    assert list(validate_extract(good.splitlines(True), TABLE, today=AS_OF)) == []


def test_empty_file_is_one_e001():
    assert [f.code for f in validate_extract([], TABLE, today=AS_OF)] == ["FAMA-E001"]


@settings(max_examples=150)
@given(st.binary(max_size=400))
def test_validation_never_raises_on_arbitrary_bytes(data):
    list(validate_extract(data.splitlines(True), TABLE, today=AS_OF))


@settings(max_examples=100)
@given(
    st.lists(
        st.lists(st.text(max_size=8), min_size=0, max_size=40).map(
            lambda cells: ",".join('"' + c.replace('"', '""') + '"' for c in cells)
        ),
        max_size=5,
    )
)
def test_validation_never_raises_on_arbitrary_quoted_rows(lines):
    data = _file(_header(), *lines)
    list(validate_extract(data.splitlines(True), TABLE, today=AS_OF))


# ------------------------------------------------ the shape fast path against the full check

_TEXTS = [
    "",
    "NA",
    "Y",
    "N",
    "yes",
    "2026-01-05",
    "2026-1-5",
    "2025-12-31",
    "2027-02-01",
    "2026-02-31",
    "AG001",
    "c2",
    "a\nb",
    "\x7f",
    "POST",
    "R1",
    "R2",
]


@st.composite
def _near_valid_rows(draw):
    """A sparse valid review row, often changed: items dropped, emptied, replaced or added."""
    base = {k: v for k, v in row().items() if v is not None}
    extra = draw(
        st.dictionaries(
            st.sampled_from(["DISD", "DISRSN", "MODEND", "REFMODDT", "FAOMODDT", "MODSET"]),
            st.sampled_from(["2026-02-01", "2026-06-30", "2025-12-01", "80", "S1"]),
            max_size=4,
        )
    )
    values: dict[str, str | None] = {**base, **extra}
    for name in draw(st.lists(st.sampled_from(sorted(values)), max_size=2)):
        values.pop(name, None)
    changes = draw(
        st.dictionaries(
            st.sampled_from([*TABLE.columns[:12], "CONSENT", "SUBMODDT", "RECMAID", "ZZZ"]),
            st.none() | st.sampled_from(_TEXTS),
            max_size=2,
        )
    )
    values.update(changes)
    return values


@settings(max_examples=400)
@given(
    st.lists(st.tuples(_near_valid_rows(), st.sampled_from([(), ("POST",)])), max_size=5),
    st.sampled_from(["K", "P", "R"]),
    st.none() | st.lists(st.sampled_from(["AGNCY", "CLIENTID", "SUBMID", "MODST"]), max_size=3),
)
def test_the_shape_fast_path_finds_what_the_full_check_finds(rows, version, header):
    """Validator.row (by the row's shape) == the full item-by-item check, finding for finding.

    The review-id memory is exercised too (rows repeat ids), and so is a
    header that leaves columns out.
    """
    from fama_core.ndtms import load_dataset

    table = load_dataset(version)
    fast, full = (Validator(table, today=AS_OF, post_treatment_modalities=("X",)) for _ in "ab")
    if header is not None:
        columns = [c for c in table.columns if c not in header]
        assert fast.header(columns) == full.header(columns)
    for i, (values, post) in enumerate(rows):
        want = full._full_row(f"row {i}", values, post)
        assert fast.row(f"row {i}", values, post_treatment=post) == want


def test_a_long_value_in_a_date_item_is_not_kept_by_the_date_caches():
    """A hostile extract's long "dates" are refused without filling the caches with them."""
    from fama_core.ndtms.tables import _parse_date

    v = Validator(TABLE, today=AS_OF)
    v.row("row", row())  # the row's real dates are read, and kept
    before = _parse_date.cache_info().currsize
    for i in range(50):
        found = v.row(f"row {i}", row(SUBMODDT="2026-03-01" + "x" * (40 + i)))
        assert "FAMA-E011" in [f.code for f in found]
    assert _parse_date.cache_info().currsize == before
    assert not any(len(text) > 32 for text in v._parsed)
