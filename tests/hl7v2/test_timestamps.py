"""HL7 v2.5 TS and DT values as fama reads them (review: valid values were refused or misread)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fama_adapters.hl7v2.er7 import parse_date, parse_timestamp
from fama_core.errors import MappingError

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("202401011234+0000", dt.datetime(2024, 1, 1, 12, 34, tzinfo=dt.UTC)),
        ("20240101123456-0500", dt.datetime(2024, 1, 1, 17, 34, 56, tzinfo=dt.UTC)),
        ("20240101123456.25+0100", dt.datetime(2024, 1, 1, 11, 34, 56, 250000, tzinfo=dt.UTC)),
        ("20240701", dt.datetime(2024, 6, 30, 23, 0, tzinfo=dt.UTC)),
        ("202407011200", dt.datetime(2024, 7, 1, 11, 0, tzinfo=dt.UTC)),
    ],
)
def test_every_precision_of_a_timestamp_is_read(raw, expected):
    assert parse_timestamp(raw, what="MSH-7", zone=LONDON) == expected


@pytest.mark.parametrize(
    "raw", ["", "2024", "202401", "20241301", "2024010112345", "x", "20240101+1"]
)
def test_what_is_not_a_timestamp_is_a_mapping_error_naming_the_field(raw):
    with pytest.raises(MappingError, match="MSH-7"):
        parse_timestamp(raw, what="MSH-7", zone=LONDON)


@given(
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.integers(-12 * 60, 14 * 60),
)
def test_a_second_precision_timestamp_with_offset_round_trips(when, offset_minutes):
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    aware = when.replace(microsecond=0, tzinfo=zone)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    raw = aware.strftime("%Y%m%d%H%M%S") + f"{sign}{hours:02d}{minutes:02d}"
    assert parse_timestamp(raw, what="MSH-7", zone=LONDON) == aware


def test_a_date_of_month_precision_asks_for_the_day():
    with pytest.raises(MappingError, match="GOL-8: needs a date to the day"):
        parse_date("202401", what="GOL-8")
